package signing

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Appendix "Cryptographic Test Vectors".
const (
	vectorSeed   = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
	vectorServer = "domain"
)

func vectorKey(t testing.TB) Key {
	t.Helper()
	seed, err := DecodeBase64(vectorSeed)
	if err != nil {
		t.Fatal(err)
	}
	k, err := KeyFromSeed("1", seed)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != "ed25519:1" {
		t.Fatalf("key ID %q", k.ID)
	}
	return k
}

// jsonEqual compares two JSON texts semantically.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestVectorJSONSigning(t *testing.T) {
	k := vectorKey(t)
	tests := []struct{ in, want string }{
		{`{}`, `{
    "signatures": {
        "domain": {
            "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
        }
    }
}`},
		{`{
    "one": 1,
    "two": "Two"
}`, `{
    "one": 1,
    "signatures": {
        "domain": {
            "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
        }
    },
    "two": "Two"
}`},
	}
	for _, tc := range tests {
		got, err := SignJSON([]byte(tc.in), vectorServer, k)
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, got, tc.want)
		if err := VerifyJSON(got, vectorServer, k.ID, k.Public()); err != nil {
			t.Fatalf("VerifyJSON(own output): %v", err)
		}
		if err := VerifyJSON([]byte(tc.want), vectorServer, k.ID, k.Public()); err != nil {
			t.Fatalf("VerifyJSON(spec output): %v", err)
		}
	}
}

// signEvent is the specification's hash_and_sign_event for events whose
// redaction only empties content (the test vectors' shapes).
func signEvent(t *testing.T, k Key, event []byte, redactContent bool) []byte {
	t.Helper()
	hashed, err := AddContentHash(event, true)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(hashed, &obj); err != nil {
		t.Fatal(err)
	}
	redacted := obj
	if redactContent {
		redacted = map[string]json.RawMessage{}
		for k, v := range obj {
			redacted[k] = v
		}
		redacted["content"] = json.RawMessage(`{}`)
	}
	rb, _ := json.Marshal(redacted)
	signed, err := SignJSON(rb, vectorServer, k)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]json.RawMessage
	if err := json.Unmarshal(signed, &s); err != nil {
		t.Fatal(err)
	}
	obj["signatures"] = s["signatures"]
	out, _ := json.Marshal(obj)
	if err := CheckContentHash(out, true); err != nil {
		t.Fatalf("CheckContentHash(signed event): %v", err)
	}
	if err := VerifyJSON(rb, vectorServer, k.ID, k.Public()); err == nil {
		t.Fatal("unsigned redacted event verified")
	}
	if err := VerifyJSON(signed, vectorServer, k.ID, k.Public()); err != nil {
		t.Fatalf("VerifyJSON(signed redacted event): %v", err)
	}
	return out
}

func TestVectorEventSigning(t *testing.T) {
	k := vectorKey(t)
	minimal := `{
    "room_id": "!x:domain",
    "sender": "@a:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "signatures": {},
    "hashes": {},
    "type": "X",
    "content": {},
    "prev_events": [],
    "auth_events": [],
    "depth": 3,
    "unsigned": {
        "age_ts": 1000000
    }
}`
	jsonEqual(t, signEvent(t, k, []byte(minimal), false), `{
    "auth_events": [],
    "content": {},
    "depth": 3,
    "hashes": {
        "sha256": "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"
    },
    "origin": "domain",
    "origin_server_ts": 1000000,
    "prev_events": [],
    "room_id": "!x:domain",
    "sender": "@a:domain",
    "signatures": {
        "domain": {
            "ed25519:1": "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg"
        }
    },
    "type": "X",
    "unsigned": {
        "age_ts": 1000000
    }
}`)
	message := `{
    "content": {
        "body": "Here is the message content"
    },
    "event_id": "$0:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "type": "m.room.message",
    "room_id": "!r:domain",
    "sender": "@u:domain",
    "signatures": {},
    "unsigned": {
        "age_ts": 1000000
    }
}`
	jsonEqual(t, signEvent(t, k, []byte(message), true), `{
    "content": {
        "body": "Here is the message content"
    },
    "event_id": "$0:domain",
    "hashes": {
        "sha256": "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"
    },
    "origin": "domain",
    "origin_server_ts": 1000000,
    "type": "m.room.message",
    "room_id": "!r:domain",
    "sender": "@u:domain",
    "signatures": {
        "domain": {
            "ed25519:1": "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA"
        }
    },
    "unsigned": {
        "age_ts": 1000000
    }
}`)
}

// The example of appendix "Signing Details" is illustrative: its signature
// does not verify with the key it publishes (checked when writing this test),
// so only its shape is checked.
func TestSigningDetailsExampleShape(t *testing.T) {
	ex := []byte(`{
   "name": "example.org",
   "signing_keys": {"ed25519:1": "XSl0kuyvrXNj6A+7/tkrB9sxSbRi08Of5uRhxOqZtEQ"},
   "unsigned": {"age_ts": 922834800000},
   "signatures": {"example.org": {"ed25519:1": "s76RUgajp8w172am0zQb/iPTHsRnb4SkrzGoeCOSFfcBY2V/1c8QfrmdXHpvnc2jK5BD1WiJIxiMW95fMjK7Bw"}}
}`)
	ids, err := SignatureKeyIDs(ex, "example.org")
	if err != nil || len(ids) != 1 || ids[0] != "ed25519:1" {
		t.Fatalf("SignatureKeyIDs = %v, %v", ids, err)
	}
}

func TestUnpaddedBase64Examples(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy",
	} {
		if got := EncodeBase64([]byte(in)); got != want {
			t.Errorf("EncodeBase64(%q) = %q, want %q", in, got, want)
		}
		back, err := DecodeBase64(want)
		if err != nil || string(back) != in {
			t.Errorf("DecodeBase64(%q) = %q, %v", want, back, err)
		}
	}
}
