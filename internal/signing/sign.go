package signing

import (
	"crypto/ed25519"
	"fmt"

	"myelin/internal/mjson"
)

// SignJSON signs the JSON object obj as serverName with key (appendix "Signing
// Details"): the signature covers the canonical form of obj without its
// "signatures" and "unsigned" members. It returns the canonical JSON of obj
// with the signature stored under signatures[serverName][key.ID]; other
// signatures (including other keys of serverName) and "unsigned" are kept, and
// an existing signature under the same key ID is replaced.
//
// Errors: mjson sentinels if obj is not valid JSON; ErrNotObject; ErrMalformed
// if "signatures" or signatures[serverName] is not an object;
// ErrInvalidKeyID, ErrUnsupportedAlgorithm or ErrInvalidKey for an unusable
// key; mjson.ErrInvalidUTF8 if serverName is not UTF-8.
func SignJSON(obj []byte, serverName string, key Key) ([]byte, error) {
	if err := checkSigningKey(key); err != nil {
		return nil, fmt.Errorf("signing: sign JSON: %w", err)
	}
	o, err := parseObject(obj, false)
	if err != nil {
		return nil, fmt.Errorf("signing: sign JSON: %w", err)
	}
	signed := o.appendWithout(make([]byte, 0, len(obj)), "signatures", "unsigned")
	sig := EncodeBase64(ed25519.Sign(key.Private, signed))
	out, err := addSignature(o, serverName, key.ID, sig)
	if err != nil {
		return nil, fmt.Errorf("signing: sign JSON: %w", err)
	}
	return out, nil
}

func checkSigningKey(key Key) error {
	alg, _, err := ParseKeyID(string(key.ID))
	if err != nil {
		return err
	}
	if alg != AlgorithmEd25519 {
		return fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
	}
	if len(key.Private) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: private key is %d bytes", ErrInvalidKey, len(key.Private))
	}
	return nil
}

// addSignature returns the canonical JSON of o with signatures[server][keyID]
// set to sig.
func addSignature(o object, server string, keyID KeyID, sig string) ([]byte, error) {
	sigs, err := subObject(o.get("signatures"), "signatures")
	if err != nil {
		return nil, err
	}
	mine, err := subObject(sigs.get(server), "signatures of "+server)
	if err != nil {
		return nil, err
	}
	// {"keyID":"sig", other keys of server}
	entry := []byte{'{'}
	if entry, err = mjson.AppendString(entry, string(keyID)); err != nil {
		return nil, err
	}
	entry = append(entry, ':', '"')
	entry = append(entry, sig...)
	entry = append(entry, '"')
	entry = appendOthers(entry, mine, string(keyID))
	entry = append(entry, '}')
	// {"server":entry, other servers}
	all := []byte{'{'}
	if all, err = mjson.AppendString(all, server); err != nil {
		return nil, err
	}
	all = append(all, ':')
	all = append(all, entry...)
	all = appendOthers(all, sigs, server)
	all = append(all, '}')
	// {"signatures":all, other members}
	out := make([]byte, 0, len(all)+64+sumLen(o))
	out = append(out, `{"signatures":`...)
	out = append(out, all...)
	out = appendOthers(out, o, "signatures")
	out = append(out, '}')
	// Re-canonicalize to put the new members in order; everything is already
	// canonical so this only sorts.
	return mjson.CanonicalLenient(out)
}

// subObject splits value as an object; a nil value is an empty object.
func subObject(value []byte, what string) (object, error) {
	if value == nil {
		return nil, nil
	}
	sub, err := splitObject(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not an object", ErrMalformed, what)
	}
	return sub, nil
}

// appendOthers appends ","+span for each member of o not named skip.
func appendOthers(dst []byte, o object, skip string) []byte {
	for _, f := range o {
		if keyIs(f.key, skip) {
			continue
		}
		dst = append(dst, ',')
		dst = append(dst, f.span...)
	}
	return dst
}

func sumLen(o object) int {
	n := 0
	for _, f := range o {
		n += len(f.span) + 1
	}
	return n
}

// VerifyJSON checks that obj carries a valid signature by serverName with the
// key keyID whose public key is pub (appendix "Checking for a Signature").
//
// Errors: mjson sentinels if obj is not valid JSON; ErrNotObject;
// ErrMissingSignature if signatures[serverName][keyID] is absent;
// ErrMalformed if the signatures member or the signature has the wrong shape;
// ErrBadBase64; ErrUnsupportedAlgorithm if keyID is not an ed25519 key ID;
// ErrInvalidKey if pub has the wrong size; ErrBadSignature if the signature
// does not verify.
func VerifyJSON(obj []byte, serverName string, keyID KeyID, pub ed25519.PublicKey) error {
	o, err := parseObject(obj, false)
	if err != nil {
		return fmt.Errorf("signing: verify JSON: %w", err)
	}
	sig, err := findSignature(o, serverName, keyID)
	if err != nil {
		return fmt.Errorf("signing: verify JSON: %w", err)
	}
	signed := o.appendWithout(make([]byte, 0, len(obj)), "signatures", "unsigned")
	if err := verify(pub, keyID, signed, sig); err != nil {
		return fmt.Errorf("signing: verify JSON from %q with %q: %w", serverName, keyID, err)
	}
	return nil
}

// findSignature returns the base64 text of signatures[server][keyID].
func findSignature(o object, server string, keyID KeyID) (string, error) {
	sigs, err := subObject(o.get("signatures"), "signatures")
	if err != nil {
		return "", err
	}
	mine, err := subObject(sigs.get(server), "signatures of "+server)
	if err != nil {
		return "", err
	}
	v := mine.get(string(keyID))
	if v == nil {
		return "", fmt.Errorf("%w: no signature from %q with key %q", ErrMissingSignature, server, keyID)
	}
	return stringValue(v)
}

// verify checks an ed25519 signature given in base64.
func verify(pub ed25519.PublicKey, keyID KeyID, message []byte, sig64 string) error {
	alg, _, err := ParseKeyID(string(keyID))
	if err != nil {
		return err
	}
	if alg != AlgorithmEd25519 {
		return fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key is %d bytes", ErrInvalidKey, len(pub))
	}
	sig, err := DecodeBase64(sig64)
	if err != nil {
		return err
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes", ErrBadSignature, len(sig))
	}
	if !ed25519.Verify(pub, message, sig) {
		return ErrBadSignature
	}
	return nil
}

// SignatureKeyIDs returns the IDs of the keys with which serverName has signed
// obj, in canonical (sorted) order; it returns an empty result if there are
// none. Errors: mjson sentinels, ErrNotObject, or ErrMalformed if signatures
// or signatures[serverName] is not an object.
func SignatureKeyIDs(obj []byte, serverName string) ([]KeyID, error) {
	o, err := parseObject(obj, false)
	if err != nil {
		return nil, fmt.Errorf("signing: signature key IDs: %w", err)
	}
	sigs, err := subObject(o.get("signatures"), "signatures")
	if err != nil {
		return nil, fmt.Errorf("signing: signature key IDs: %w", err)
	}
	mine, err := subObject(sigs.get(serverName), "signatures of "+serverName)
	if err != nil {
		return nil, fmt.Errorf("signing: signature key IDs: %w", err)
	}
	ids := make([]KeyID, 0, len(mine))
	for _, f := range mine {
		id, err := stringValue(append(append([]byte{'"'}, f.key...), '"'))
		if err != nil {
			return nil, fmt.Errorf("signing: signature key IDs: %w", err)
		}
		ids = append(ids, KeyID(id))
	}
	return ids, nil
}
