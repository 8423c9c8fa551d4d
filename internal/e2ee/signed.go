package e2ee

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"myelin/internal/mjson"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// object is a JSON object whose members are kept as raw JSON.
type object map[string]json.RawMessage

// parseObject decodes a JSON object; anything else is 400 M_BAD_JSON.
func parseObject(raw json.RawMessage, what string) (object, error) {
	var o object
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &o) != nil || o == nil {
		return nil, spec.BadJSON("%s must be a JSON object", what)
	}
	return o, nil
}

// field decodes member name into v; a missing member is 400 M_BAD_JSON
// when required, and a member of the wrong type always is.
func (o object) field(name string, v any, required bool, what string) error {
	raw, ok := o[name]
	if !ok || string(raw) == "null" {
		if required {
			return spec.BadJSON("%s: %s is required", what, name)
		}
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return spec.BadJSON("%s: %s has the wrong type", what, name)
	}
	return nil
}

// canonical returns the canonical JSON of o.
func (o object) canonical() ([]byte, error) {
	raw, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	out, err := mjson.CanonicalLenient(raw)
	if err != nil {
		return nil, spec.BadJSON("invalid JSON value: %v", err)
	}
	return out, nil
}

// without returns a copy of o without the named members.
func (o object) without(names ...string) object {
	out := make(object, len(o))
	for k, v := range o {
		out[k] = v
	}
	for _, n := range names {
		delete(out, n)
	}
	return out
}

// sameSignedContent reports whether a and b are equal once their
// "signatures" and "unsigned" members are left out: the content signatures
// cover.
func sameSignedContent(a, b object) bool {
	ca, err1 := a.without("signatures", "unsigned").canonical()
	cb, err2 := b.without("signatures", "unsigned").canonical()
	return err1 == nil && err2 == nil && bytes.Equal(ca, cb)
}

// signatures is the "signatures" member: signer → key ID → signature.
type signatures map[string]map[string]string

// signaturesOf decodes o's "signatures" (absent: none); a wrong shape is
// 400 M_BAD_JSON.
func signaturesOf(o object, what string) (signatures, error) {
	var sigs signatures
	if err := o.field("signatures", &sigs, false, what); err != nil {
		return nil, err
	}
	return sigs, nil
}

// errNoSignature reports that the expected signature is absent.
var errNoSignature = errors.New("signature missing")

// verifySignature checks the signature signatures[signer][keyID] of o
// with the ed25519 public key pub. It returns errNoSignature if there is
// none, or the verification error.
//
// Verification is signing.VerifyJSON's. That function takes key IDs of
// the form server keys have ("ed25519:" and [A-Za-z0-9_]), which device IDs
// and cross-signing keys (whose IDs are unpadded base64) need not follow;
// since signatures are not part of the signed bytes, the signature is
// checked under a stand-in key ID, with the same result.
func verifySignature(o object, signer, keyID string, pub ed25519.PublicKey) error {
	sigs, err := signaturesOf(o, "signed object")
	if err != nil {
		return err
	}
	sig, ok := sigs[signer][keyID]
	if !ok {
		return errNoSignature
	}
	const standIn = signing.KeyID("ed25519:k")
	withSig := o.without("signatures")
	sigJSON, err := json.Marshal(map[string]map[string]string{signer: {string(standIn): sig}})
	if err != nil {
		return fmt.Errorf("encoding signature: %w", err)
	}
	withSig["signatures"] = sigJSON
	raw, err := json.Marshal(withSig)
	if err != nil {
		return fmt.Errorf("encoding signed object: %w", err)
	}
	return signing.VerifyJSON(raw, signer, standIn, pub)
}

// decodeKey decodes an unpadded base64 key of size bytes; anything else is
// 400 M_INVALID_PARAM.
func decodeKey(b64 string, size int, what string) ([]byte, error) {
	key, err := signing.DecodeBase64(b64)
	if err != nil || len(key) != size {
		return nil, spec.InvalidParam("%s is not a %d-byte unpadded base64 key", what, size)
	}
	return key, nil
}

// validBase64 reports whether s is non-empty base64.
func validBase64(s string) bool {
	b, err := signing.DecodeBase64(s)
	return err == nil && len(b) > 0
}

// ed25519Key decodes an ed25519 public key.
func ed25519Key(b64, what string) (ed25519.PublicKey, error) {
	k, err := decodeKey(b64, ed25519.PublicKeySize, what)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(k), nil
}
