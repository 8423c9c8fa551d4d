package signing

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"myelin/internal/mjson"
)

// The strict argument of the hash functions selects mjson.Canonical (strict
// canonical JSON, room versions 6 and later) or mjson.CanonicalLenient (room
// versions 1 to 5, whose events may hold non-compliant numbers). The two give
// identical bytes for input both accept; strict additionally rejects the
// input with the mjson sentinel error.

// ContentHash returns the content hash of event (server-server API,
// "Calculating the content hash for an event"): SHA-256 of the canonical JSON
// of the event without its "unsigned", "signatures" and "hashes" members.
// Errors: mjson sentinels, ErrNotObject.
func ContentHash(event []byte, strict bool) ([32]byte, error) {
	o, err := parseObject(event, strict)
	if err != nil {
		return [32]byte{}, fmt.Errorf("signing: content hash: %w", err)
	}
	return contentHash(o), nil
}

func contentHash(o object) [32]byte {
	return sha256.Sum256(o.appendWithout(nil, "unsigned", "signatures", "hashes"))
}

// AddContentHash computes the content hash of event and returns the canonical
// JSON of event with "hashes" set to {"sha256": <unpadded base64 hash>}, as the
// specification's example code does (any previous "hashes" member is
// replaced). Errors as ContentHash.
func AddContentHash(event []byte, strict bool) ([]byte, error) {
	o, err := parseObject(event, strict)
	if err != nil {
		return nil, fmt.Errorf("signing: add content hash: %w", err)
	}
	h := contentHash(o)
	out := make([]byte, 0, len(event)+64)
	out = append(out, `{"hashes":{"sha256":"`...)
	out = append(out, EncodeBase64(h[:])...)
	out = append(out, `"}`...)
	out = appendOthers(out, o, "hashes")
	out = append(out, '}')
	return mjson.CanonicalLenient(out)
}

// CheckContentHash verifies that event's hashes.sha256 matches its content
// hash. Errors: mjson sentinels, ErrNotObject, ErrMissingHash if there is no
// hashes.sha256 string, ErrBadBase64 if it does not decode, ErrHashMismatch.
func CheckContentHash(event []byte, strict bool) error {
	o, err := parseObject(event, strict)
	if err != nil {
		return fmt.Errorf("signing: check content hash: %w", err)
	}
	want, err := sha256Hash(o)
	if err != nil {
		return fmt.Errorf("signing: check content hash: %w", err)
	}
	got := contentHash(o)
	if !bytes.Equal(got[:], want) {
		return fmt.Errorf("signing: check content hash: %w", ErrHashMismatch)
	}
	return nil
}

// sha256Hash returns the decoded hashes.sha256 of o.
func sha256Hash(o object) ([]byte, error) {
	hashes := o.get("hashes")
	if hashes == nil {
		return nil, fmt.Errorf("%w: no hashes", ErrMissingHash)
	}
	h, err := splitObject(hashes)
	if err != nil {
		return nil, fmt.Errorf("%w: hashes is not an object", ErrMissingHash)
	}
	v := h.get("sha256")
	if v == nil {
		return nil, fmt.Errorf("%w: no hashes.sha256", ErrMissingHash)
	}
	s, err := stringValue(v)
	if err != nil {
		return nil, fmt.Errorf("%w: hashes.sha256 is not a string", ErrMissingHash)
	}
	return DecodeBase64(s)
}

// ReferenceHash returns the reference hash of an event (server-server API,
// "Calculating the reference hash for an event"): SHA-256 of the canonical JSON
// of the event without "signatures" and "unsigned". redactedEvent must already
// have been put through the room version's redaction algorithm (package pdu
// does that); this function does not redact.
//
// Earlier spec versions also removed a top-level "age_ts"; the spec (v1.7)
// dropped that step as extraneous, because no room version's redaction
// algorithm keeps a top-level "age_ts". It is therefore not removed here.
//
// Errors: mjson sentinels, ErrNotObject.
func ReferenceHash(redactedEvent []byte, strict bool) ([32]byte, error) {
	o, err := parseObject(redactedEvent, strict)
	if err != nil {
		return [32]byte{}, fmt.Errorf("signing: reference hash: %w", err)
	}
	return sha256.Sum256(o.appendWithout(nil, "signatures", "unsigned")), nil
}
