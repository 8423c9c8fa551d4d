package signing

import (
	"errors"
	"testing"
)

func TestParseXMatrix(t *testing.T) {
	full := XMatrix{Origin: "origin.hs.example.com", Destination: "destination.hs.example.com", KeyID: "ed25519:key1", Signature: "ABCDEF"}
	tests := []struct {
		name   string
		header string
		want   XMatrix
	}{
		{"spec example", `X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF"`, full},
		{"order free", `X-Matrix sig="ABCDEF",key="ed25519:key1",destination="destination.hs.example.com",origin="origin.hs.example.com"`, full},
		{"scheme case", `x-matrix origin="origin.hs.example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF"`, full},
		{"name case", `X-Matrix ORIGIN="origin.hs.example.com",Destination="destination.hs.example.com",kEy="ed25519:key1",SIG="ABCDEF"`, full},
		{"spaces", `X-Matrix   origin = "origin.hs.example.com" ,	destination="destination.hs.example.com" , key="ed25519:key1",sig= "ABCDEF"`, full},
		{"unquoted tokens and colons", `X-Matrix origin=origin.hs.example.com,destination=destination.hs.example.com,key=ed25519:key1,sig=ABCDEF`, full},
		{"escapes", `X-Matrix origin="origin.hs.\example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABC\DEF"`, full},
		{"empty elements", `X-Matrix ,origin="origin.hs.example.com",,destination="destination.hs.example.com", ,key="ed25519:key1",sig="ABCDEF",`, full},
		{"unknown ignored", `X-Matrix origin="origin.hs.example.com",foo="b,a\"r",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF",signature=x`, full},
		{"no destination", `X-Matrix origin=o,key="ed25519:k",sig=s`, XMatrix{Origin: "o", KeyID: "ed25519:k", Signature: "s"}},
		{"quoted comma and port", `X-Matrix origin="[::1]:8448",key="ed25519:k",sig="a,b"`, XMatrix{Origin: "[::1]:8448", KeyID: "ed25519:k", Signature: "a,b"}},
		{"surrounding whitespace", " \tX-Matrix origin=o,key=ed25519:k,sig=s\t ", XMatrix{Origin: "o", KeyID: "ed25519:k", Signature: "s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseXMatrix(tc.header)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			h, err := got.Header()
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseXMatrix(h)
			if err != nil || again != got {
				t.Fatalf("round trip %q → %+v, %v", h, again, err)
			}
		})
	}
}

func TestParseXMatrixRejects(t *testing.T) {
	for _, h := range []string{
		``,
		`X-Matrix`,
		`X-Matrix `,
		`Bearer abc`,
		`X-Matrixorigin=o,key=ed25519:k,sig=s`,
		`X-Matrix,origin=o,key=ed25519:k,sig=s`,
		`X-Matrix	origin=o,key=ed25519:k,sig=s`, // RFC 9110: 1*SP after the scheme
		`X-Matrix key=ed25519:k,sig=s`,
		`X-Matrix origin=o,sig=s`,
		`X-Matrix origin=o,key=ed25519:k`,
		`X-Matrix origin="",key=ed25519:k,sig=s`,
		`X-Matrix origin=o,origin=o,key=ed25519:k,sig=s`,
		`X-Matrix origin=o,ORIGIN=p,key=ed25519:k,sig=s`,
		`X-Matrix origin=o,destination=d,Destination=d,key=ed25519:k,sig=s`,
		`X-Matrix origin=o,key=ed25519:k,sig=s,sig=s`,
		`X-Matrix origin=o key=ed25519:k,sig=s`,
		`X-Matrix origin="o,key=ed25519:k,sig=s`,
		`X-Matrix origin="o\`,
		"X-Matrix origin=\"o\x01\",key=ed25519:k,sig=s",
		`X-Matrix origin=o/x,key=ed25519:k,sig=s`,
		`X-Matrix origin=,key=ed25519:k,sig=s`,
		`X-Matrix =o,key=ed25519:k,sig=s`,
		`X-Matrix origin,key=ed25519:k,sig=s`,
		`X-Matrix origin=o,key=k,sig=s`,
		`X-Matrix origin=o,key="ed25519:k-1",sig=s`,
		`X-Matrix origin=o;key=ed25519:k,sig=s`,
	} {
		if x, err := ParseXMatrix(h); !errors.Is(err, ErrInvalidXMatrix) {
			t.Errorf("ParseXMatrix(%q) = %+v, %v; want ErrInvalidXMatrix", h, x, err)
		}
	}
}

func TestSignVerifyRequest(t *testing.T) {
	k := vectorKey(t)
	body := []byte(`{"pdus": [{"n": 1.5, "b": 2}], "edus": []}`)
	h, err := SignRequest(k, "origin.example", "dest.example", "PUT", "/_matrix/federation/v1/send/1?x=%20", body)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ParseXMatrix(h)
	if err != nil {
		t.Fatal(err)
	}
	if x.Origin != "origin.example" || x.Destination != "dest.example" || x.KeyID != k.ID {
		t.Fatalf("header %q parsed to %+v", h, x)
	}
	pub := k.Public()
	if err := VerifyRequest(x, pub, "dest.example", "PUT", "/_matrix/federation/v1/send/1?x=%20", body); err != nil {
		t.Fatal(err)
	}
	// The same body re-serialized differently still verifies.
	if err := VerifyRequest(x, pub, "dest.example", "PUT", "/_matrix/federation/v1/send/1?x=%20", []byte(`{"edus":[],"pdus":[{"b":2,"n":1.5}]}`)); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name                    string
		x                       XMatrix
		dest, method, uri, body string
		want                    error
	}{
		{"wrong destination", x, "other.example", "PUT", "/_matrix/federation/v1/send/1?x=%20", string(body), ErrWrongDestination},
		{"method", x, "dest.example", "POST", "/_matrix/federation/v1/send/1?x=%20", string(body), ErrBadSignature},
		{"uri", x, "dest.example", "PUT", "/_matrix/federation/v1/send/1?x=+", string(body), ErrBadSignature},
		{"body", x, "dest.example", "PUT", "/_matrix/federation/v1/send/1?x=%20", `{"pdus":[]}`, ErrBadSignature},
		{"no body", x, "dest.example", "PUT", "/_matrix/federation/v1/send/1?x=%20", ``, ErrBadSignature},
		{"origin", XMatrix{Origin: "evil.example", Destination: x.Destination, KeyID: x.KeyID, Signature: x.Signature}, "dest.example", "PUT", "/_matrix/federation/v1/send/1?x=%20", string(body), ErrBadSignature},
		{"sig base64", XMatrix{Origin: x.Origin, Destination: x.Destination, KeyID: x.KeyID, Signature: "!!"}, "dest.example", "PUT", "/_matrix/federation/v1/send/1?x=%20", string(body), ErrBadBase64},
		{"algorithm", XMatrix{Origin: x.Origin, Destination: x.Destination, KeyID: "curve25519:1", Signature: x.Signature}, "dest.example", "PUT", "/_matrix/federation/v1/send/1?x=%20", string(body), ErrUnsupportedAlgorithm},
	}
	for _, tc := range bad {
		err := VerifyRequest(tc.x, pub, tc.dest, tc.method, tc.uri, []byte(tc.body))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	// Without a destination parameter (older servers), our own name is used.
	noDest := x
	noDest.Destination = ""
	if err := VerifyRequest(noDest, pub, "dest.example", "PUT", "/_matrix/federation/v1/send/1?x=%20", body); err != nil {
		t.Fatal(err)
	}
	// GET without a body.
	h, err = SignRequest(k, "origin.example", "dest.example", "GET", "/_matrix/key/v2/server", nil)
	if err != nil {
		t.Fatal(err)
	}
	x, _ = ParseXMatrix(h)
	if err := VerifyRequest(x, pub, "dest.example", "GET", "/_matrix/key/v2/server", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := SignRequest(k, "origin.example", "dest\r\nX: y", "GET", "/", nil); !errors.Is(err, ErrInvalidXMatrix) {
		t.Errorf("header injection: %v", err)
	}
}
