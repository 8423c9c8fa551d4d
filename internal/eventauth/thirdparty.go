package eventauth

import (
	"crypto/ed25519"
	"errors"

	"myelin/internal/signing"
)

// thirdPartySignatureValid applies "if any signature in signed matches any
// public key in the m.room.third_party_invite event, allow": the keys are
// content.public_key and each content.public_keys[].public_key (base64).
// Signatures are checked as signed JSON (appendix "Signing JSON"): over
// signed without its signatures and unsigned members.
func thirdPartySignatureValid(signed, tpiContent []byte) bool {
	keys := thirdPartyPublicKeys(tpiContent)
	if len(keys) == 0 {
		return false
	}
	sigs := [...]field{{name: "signatures"}}
	if getFields(signed, sigs[:]) != nil || !isObject(sigs[0].raw) {
		return false
	}
	valid := false
	_ = eachMember(sigs[0].raw, func(serverKey []byte, _ bool, byKey []byte) error {
		server, ok := decodeString(serverKey)
		if !ok || !isObject(byKey) {
			return nil
		}
		return eachMember(byKey, func(idKey []byte, _ bool, _ []byte) error {
			keyID, ok := decodeString(idKey)
			if !ok {
				return nil
			}
			for _, pub := range keys {
				if signing.VerifyJSON(signed, server, signing.KeyID(keyID), pub) == nil {
					valid = true
					return errStop
				}
			}
			return nil
		})
	})
	return valid
}

// errStop ends an iteration early.
var errStop = errors.New("stop")

// thirdPartyPublicKeys returns the decodable ed25519 public keys of an
// m.room.third_party_invite content.
func thirdPartyPublicKeys(content []byte) []ed25519.PublicKey {
	var keys []ed25519.PublicKey
	add := func(raw []byte) {
		s, ok := decodeString(raw)
		if !ok {
			return
		}
		if b, err := signing.DecodeBase64(s); err == nil && len(b) == ed25519.PublicKeySize {
			keys = append(keys, ed25519.PublicKey(b))
		}
	}
	f := [...]field{{name: "public_key"}, {name: "public_keys"}}
	if getFields(content, f[:]) != nil {
		return nil
	}
	if f[0].raw != nil {
		add(f[0].raw)
	}
	if f[1].raw != nil {
		_ = eachElement(f[1].raw, func(el []byte) error {
			k := [...]field{{name: "public_key"}}
			if isObject(el) && getFields(el, k[:]) == nil && k[0].raw != nil {
				add(k[0].raw)
			}
			return nil
		})
	}
	return keys
}
