package e2ee

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"myelin/internal/mjson"
)

// sign returns obj with the signature of signer's key keyID added.
func sign(t *testing.T, obj map[string]any, signer, keyID string, priv ed25519.PrivateKey) json.RawMessage {
	t.Helper()
	bare := map[string]any{}
	for k, v := range obj {
		if k != "signatures" && k != "unsigned" {
			bare[k] = v
		}
	}
	raw, _ := json.Marshal(bare)
	canon, err := mjson.Canonical(raw)
	if err != nil {
		t.Fatal(err)
	}
	sig := base64.RawStdEncoding.EncodeToString(ed25519.Sign(priv, canon))
	obj["signatures"] = map[string]any{signer: map[string]string{keyID: sig}}
	raw, _ = json.Marshal(obj)
	return raw
}

func TestVerifySignature(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	pubB64 := base64.RawStdEncoding.EncodeToString(pub)
	_, other, _ := ed25519.GenerateKey(nil)
	// Key IDs of device IDs and cross-signing keys need not be what
	// server key IDs are ([A-Za-z0-9_]).
	for _, keyID := range []string{"ed25519:" + pubB64, "ed25519:my-device.1", "ed25519:ABC"} {
		raw := sign(t, map[string]any{"user_id": "@a:b", "n": 1, "unsigned": map[string]any{"x": 1}}, "@a:b", keyID, priv)
		o, err := parseObject(raw, "x")
		if err != nil {
			t.Fatal(err)
		}
		// unsigned is not covered by the signature.
		o["unsigned"] = json.RawMessage(`{"changed":true}`)
		if err := verifySignature(o, "@a:b", keyID, pub); err != nil {
			t.Errorf("verifySignature(%s) = %v", keyID, err)
		}
		if err := verifySignature(o, "@a:b", keyID, other.Public().(ed25519.PublicKey)); err == nil {
			t.Errorf("verifySignature(%s) with another key succeeded", keyID)
		}
		if err := verifySignature(o, "@other:b", keyID, pub); !errors.Is(err, errNoSignature) {
			t.Errorf("verifySignature(other signer) = %v", err)
		}
		o["n"] = json.RawMessage(`2`)
		if err := verifySignature(o, "@a:b", keyID, pub); err == nil {
			t.Errorf("verifySignature(%s) of changed content succeeded", keyID)
		}
	}
	forged := sign(t, map[string]any{"n": 1}, "@a:b", "ed25519:K", other)
	o, _ := parseObject(forged, "x")
	if err := signatureError("x", verifySignature(o, "@a:b", "ed25519:K", pub)); err == nil {
		t.Fatal("forged signature verified")
	}
}

func TestSameSignedContent(t *testing.T) {
	a, _ := parseObject(json.RawMessage(`{"k":1,"b":[1,2],"signatures":{"@a:b":{"x":"y"}}}`), "a")
	b, _ := parseObject(json.RawMessage(`{"b":[1,2],"k":1,"unsigned":{"z":1}}`), "b")
	c, _ := parseObject(json.RawMessage(`{"b":[2,1],"k":1}`), "c")
	if !sameSignedContent(a, b) || sameSignedContent(a, c) {
		t.Fatal("sameSignedContent compares more or less than the signed content")
	}
}

func TestParseVersion(t *testing.T) {
	for v, want := range map[string]bool{"1": true, "42": true, "0": false, "-1": false, "01": false, "+1": false, "": false, "x": false, "99999999999999999999": false} {
		if _, ok := parseVersion(v); ok != want {
			t.Errorf("parseVersion(%q) = %v, want %v", v, ok, want)
		}
	}
}
