package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"myelin/internal/mjson"
)

func TestParseKeyID(t *testing.T) {
	good := map[string][2]string{
		"ed25519:1":           {"ed25519", "1"},
		"ed25519:a_AbC1":      {"ed25519", "a_AbC1"},
		"curve25519:x":        {"curve25519", "x"},
		"signed_curve25519:_": {"signed_curve25519", "_"},
	}
	for in, want := range good {
		alg, ver, err := ParseKeyID(in)
		if err != nil || alg != want[0] || ver != want[1] {
			t.Errorf("ParseKeyID(%q) = %q, %q, %v", in, alg, ver, err)
		}
	}
	for _, in := range []string{"", "ed25519", "ed25519:", ":1", "ed25519:a-b", "ed25519:a:b", "ed25519:a b", "ed25519:é"} {
		if _, _, err := ParseKeyID(in); !errors.Is(err, ErrInvalidKeyID) {
			t.Errorf("ParseKeyID(%q) error = %v", in, err)
		}
	}
}

func TestKeys(t *testing.T) {
	k, err := GenerateKey(strings.NewReader(strings.Repeat("x", 64)), "v1")
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != "ed25519:v1" || len(k.Public()) != ed25519.PublicKeySize {
		t.Fatalf("GenerateKey = %+v", k)
	}
	k2, err := KeyFromSeed("v1", k.Private.Seed())
	if err != nil || !bytes.Equal(k2.Private, k.Private) {
		t.Fatalf("KeyFromSeed round trip: %v", err)
	}
	if _, err := GenerateKey(strings.NewReader(""), "v1"); err == nil {
		t.Error("GenerateKey with empty rand: no error")
	}
	if _, err := GenerateKey(strings.NewReader(strings.Repeat("x", 64)), "v-1"); !errors.Is(err, ErrInvalidKeyID) {
		t.Errorf("GenerateKey bad version: %v", err)
	}
	if _, err := KeyFromSeed("1", make([]byte, 31)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("KeyFromSeed short seed: %v", err)
	}
}

func TestDecodeBase64(t *testing.T) {
	want := []byte{0xfb, 0xff, 0xbf, 0x01}
	for _, in := range []string{"+/+/AQ", "+/+/AQ==", "-_-_AQ", "-_-_AQ=="} {
		got, err := DecodeBase64(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("DecodeBase64(%q) = %x, %v", in, got, err)
		}
	}
	for _, in := range []string{"+_AQ", "AQ=", "AQ===", "A", "AQ\n", "A Q", "!!", "AQ=A"} {
		if _, err := DecodeBase64(in); !errors.Is(err, ErrBadBase64) {
			t.Errorf("DecodeBase64(%q) error = %v", in, err)
		}
	}
	if got := EncodeBase64URL(want); got != "-_-_AQ" {
		t.Errorf("EncodeBase64URL = %q", got)
	}
}

func TestSignJSONErrors(t *testing.T) {
	k := vectorKey(t)
	tests := []struct {
		in   string
		want error
	}{
		{`[]`, ErrNotObject},
		{`"x"`, ErrNotObject},
		{`{`, mjson.ErrSyntax},
		{`{"a":1,"a":2}`, mjson.ErrDuplicateKey},
		{`{"signatures":[]}`, ErrMalformed},
		{`{"signatures":{"domain":"x"}}`, ErrMalformed},
	}
	for _, tc := range tests {
		if _, err := SignJSON([]byte(tc.in), "domain", k); !errors.Is(err, tc.want) {
			t.Errorf("SignJSON(%s) error = %v, want %v", tc.in, err, tc.want)
		}
	}
	bad := k
	bad.ID = "curve25519:1"
	if _, err := SignJSON([]byte(`{}`), "domain", bad); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("SignJSON with curve25519 key ID: %v", err)
	}
	bad = k
	bad.Private = bad.Private[:10]
	if _, err := SignJSON([]byte(`{}`), "domain", bad); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("SignJSON with short key: %v", err)
	}
	if _, err := SignJSON([]byte(`{}`), "bad\xff", k); !errors.Is(err, mjson.ErrInvalidUTF8) {
		t.Errorf("SignJSON with non-UTF-8 server name: %v", err)
	}
}

func TestSignJSONKeepsOthers(t *testing.T) {
	k := vectorKey(t)
	in := `{"unsigned":{"x":1},"signatures":{"domain":{"ed25519:old":"AAAA"},"other":{"ed25519:z":"BBBB"}},"a":1.5}`
	out, err := SignJSON([]byte(in), "domain", k)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":1.5,"signatures":{"domain":{"ed25519:1":"` + signatureOf(out, "domain", k.ID) + `","ed25519:old":"AAAA"},"other":{"ed25519:z":"BBBB"}},"unsigned":{"x":1}}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	// Signing again with the same key replaces the signature (same bytes:
	// ed25519 is deterministic).
	again, err := SignJSON(out, "domain", k)
	if err != nil || !bytes.Equal(again, out) {
		t.Fatalf("re-sign changed output: %s, %v", again, err)
	}
	ids, err := SignatureKeyIDs(out, "domain")
	if err != nil || len(ids) != 2 || ids[0] != "ed25519:1" || ids[1] != "ed25519:old" {
		t.Fatalf("SignatureKeyIDs = %v, %v", ids, err)
	}
	if ids, err := SignatureKeyIDs(out, "nobody"); err != nil || len(ids) != 0 {
		t.Fatalf("SignatureKeyIDs(nobody) = %v, %v", ids, err)
	}
}

func TestVerifyJSONErrors(t *testing.T) {
	k := vectorKey(t)
	signed, err := SignJSON([]byte(`{"a":"b"}`), "domain", k)
	if err != nil {
		t.Fatal(err)
	}
	sig := signatureOf(signed, "domain", k.ID)
	pub := k.Public()
	tests := []struct {
		name  string
		obj   string
		keyID KeyID
		pub   ed25519.PublicKey
		want  error
	}{
		{"no signatures", `{"a":"b"}`, k.ID, pub, ErrMissingSignature},
		{"no server", `{"a":"b","signatures":{"x":{}}}`, k.ID, pub, ErrMissingSignature},
		{"no key", string(signed), "ed25519:2", pub, ErrMissingSignature},
		{"signatures not object", `{"a":"b","signatures":"x"}`, k.ID, pub, ErrMalformed},
		{"signature not string", `{"a":"b","signatures":{"domain":{"ed25519:1":5}}}`, k.ID, pub, ErrMalformed},
		{"bad base64", `{"a":"b","signatures":{"domain":{"ed25519:1":"!!!"}}}`, k.ID, pub, ErrBadBase64},
		{"short signature", `{"a":"b","signatures":{"domain":{"ed25519:1":"AAAA"}}}`, k.ID, pub, ErrBadSignature},
		{"tampered", strings.Replace(string(signed), `"b"`, `"c"`, 1), k.ID, pub, ErrBadSignature},
		{"short public key", string(signed), k.ID, pub[:5], ErrInvalidKey},
		{"unsupported algorithm", `{"a":"b","signatures":{"domain":{"x:1":"` + sig + `"}}}`, "x:1", pub, ErrUnsupportedAlgorithm},
		{"not an object", `[1]`, k.ID, pub, ErrNotObject},
		{"not JSON", `{"a"}`, k.ID, pub, mjson.ErrSyntax},
	}
	for _, tc := range tests {
		if err := VerifyJSON([]byte(tc.obj), "domain", tc.keyID, tc.pub); !errors.Is(err, tc.want) {
			t.Errorf("%s: VerifyJSON error = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Escaped spellings of the same names are the same members.
	escaped := strings.Replace(string(signed), `"signatures"`, `"\u0073ignatures"`, 1)
	escaped = strings.Replace(escaped, `"domain"`, `"d\u006fmain"`, 1)
	if err := VerifyJSON([]byte(escaped), "domain", k.ID, pub); err != nil {
		t.Errorf("escaped names: %v", err)
	}
}

// TestPaddedSignature pins the known oracle deviation: a padded base64
// signature verifies (appendix "Unpadded Base64": decoders SHOULD accept
// padding), although gomatrixserverlib rejects it.
func TestPaddedSignature(t *testing.T) {
	k := vectorKey(t)
	signed, err := SignJSON([]byte(`{"a":"b"}`), "domain", k)
	if err != nil {
		t.Fatal(err)
	}
	sig := signatureOf(signed, "domain", k.ID)
	padded := bytes.Replace(signed, []byte(sig), []byte(sig+"=="), 1)
	if err := VerifyJSON(padded, "domain", k.ID, k.Public()); err != nil {
		t.Fatalf("padded signature rejected: %v", err)
	}
}

func TestContentHash(t *testing.T) {
	ev := []byte(`{"type":"m.room.message","content":{"body":"hi","n":1.5},"unsigned":{"age":1},"signatures":{"x":{}},"hashes":{"sha256":"old","other":"y"}}`)
	want := sha256.Sum256([]byte(`{"content":{"body":"hi","n":1.5},"type":"m.room.message"}`))
	got, err := ContentHash(ev, false)
	if err != nil || got != want {
		t.Fatalf("ContentHash = %x, %v; want %x", got, err, want)
	}
	if _, err := ContentHash(ev, true); !errors.Is(err, mjson.ErrFloat) {
		t.Fatalf("strict ContentHash of a float: %v", err)
	}
	withHash, err := AddContentHash(ev, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(withHash, []byte(`"hashes":{"sha256":"`+EncodeBase64(want[:])+`"}`)) {
		t.Fatalf("AddContentHash = %s", withHash)
	}
	if err := CheckContentHash(withHash, false); err != nil {
		t.Fatal(err)
	}
	// Changing unsigned or signatures keeps the hash valid; content does not.
	changed := bytes.Replace(withHash, []byte(`"age":1`), []byte(`"age":2`), 1)
	if err := CheckContentHash(changed, false); err != nil {
		t.Fatal(err)
	}
	changed = bytes.Replace(withHash, []byte(`"hi"`), []byte(`"ho"`), 1)
	if err := CheckContentHash(changed, false); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("tampered content: %v", err)
	}
	for in, want := range map[string]error{
		`{"a":1}`:                          ErrMissingHash,
		`{"hashes":[]}`:                    ErrMissingHash,
		`{"hashes":{}}`:                    ErrMissingHash,
		`{"hashes":{"sha256":1}}`:          ErrMissingHash,
		`{"hashes":{"sha256":"!!"}}`:       ErrBadBase64,
		`{"hashes":{"sha256":"AAAA"}}`:     ErrHashMismatch,
		`[]`:                               ErrNotObject,
		`{"hashes":{"sha256":"x"},"a":-0}`: mjson.ErrNegativeZero,
	} {
		if err := CheckContentHash([]byte(in), true); !errors.Is(err, want) {
			t.Errorf("CheckContentHash(%s) = %v, want %v", in, err, want)
		}
	}
}

func TestReferenceHash(t *testing.T) {
	ev := []byte(`{"type":"m.room.create","content":{"creator":"@a:b"},"unsigned":{"age":1},"signatures":{"x":{}},"hashes":{"sha256":"h"},"age_ts":5}`)
	want := sha256.Sum256([]byte(`{"age_ts":5,"content":{"creator":"@a:b"},"hashes":{"sha256":"h"},"type":"m.room.create"}`))
	got, err := ReferenceHash(ev, true)
	if err != nil || got != want {
		t.Fatalf("ReferenceHash = %x, %v", got, err)
	}
	if _, err := ReferenceHash([]byte(`{"a":1e3}`), true); !errors.Is(err, mjson.ErrFloat) {
		t.Fatalf("strict ReferenceHash: %v", err)
	}
	if _, err := ReferenceHash([]byte(`{"a":1e3}`), false); err != nil {
		t.Fatalf("lenient ReferenceHash: %v", err)
	}
}
