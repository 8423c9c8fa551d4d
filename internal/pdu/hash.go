package pdu

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"myelin/internal/spec"
)

// ErrContentHash is wrapped by CheckContentHash when the event's content
// hash does not match. Such an event must be redacted before further
// processing ("Validating hashes and signatures on received events").
var ErrContentHash = errors.New("content hash mismatch")

// contentHash returns the SHA-256 content hash of a canonical event: the
// hash of the event without unsigned, signatures and hashes
// (server-server API, "Calculating the content hash for an event").
func contentHash(ms []member) [sha256.Size]byte {
	return sha256.Sum256(encodeObject(without(ms, "unsigned", "signatures", "hashes")))
}

// ContentHash returns the SHA-256 content hash of the event raw, read with
// the JSON rules of room version v. It fails, wrapping ErrInvalidEvent, if
// raw is not a JSON object acceptable for v.
func ContentHash(v *spec.RoomVersion, raw []byte) ([]byte, error) {
	ms, err := canonicalMembers(v, raw)
	if err != nil {
		return nil, err
	}
	sum := contentHash(ms)
	return sum[:], nil
}

// ReferenceHash returns the SHA-256 reference hash of the event raw for
// room version v: the hash of the redacted event without signatures and
// unsigned ("Calculating the reference hash for an event"). It fails,
// wrapping ErrInvalidEvent, if raw is not a JSON object acceptable for v or
// its type or content has the wrong JSON type.
func ReferenceHash(v *spec.RoomVersion, raw []byte) ([]byte, error) {
	ms, err := canonicalMembers(v, raw)
	if err != nil {
		return nil, err
	}
	red, err := redactMembers(v.Redaction, ms)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(encodeObject(without(red, "signatures", "unsigned")))
	return sum[:], nil
}

func canonicalMembers(v *spec.RoomVersion, raw []byte) ([]member, error) {
	canon, err := canonicalize(v, raw)
	if err != nil {
		return nil, formatErrWrap("json", "not acceptable JSON for room version "+v.ID, err)
	}
	ms, err := splitObject(canon)
	if err != nil {
		return nil, formatErrWrap("json", "event", err)
	}
	return ms, nil
}

// ReferenceHash returns the event's SHA-256 reference hash. From room
// version 3 on the event ID encodes it; in v1/v2 it is what other events'
// prev_events and auth_events pairs carry. Callers must not modify the
// slice.
func (e *Event) ReferenceHash() []byte { return e.refHash }

// CheckContentHash recomputes the content hash and compares it with
// hashes.sha256. It returns nil if they match, and otherwise an error
// wrapping ErrContentHash (also when the stored hash is not valid unpadded
// base64).
func (e *Event) CheckContentHash() error {
	want, err := e.claimedContentHash()
	if err != nil {
		return fmt.Errorf("event %s: %w: %v", e.eventID, ErrContentHash, err)
	}
	got := contentHash(e.members)
	if !bytes.Equal(got[:], want) {
		return fmt.Errorf("event %s: %w", e.eventID, ErrContentHash)
	}
	return nil
}

// claimedContentHash decodes hashes.sha256, which Parse has checked is a
// string.
func (e *Event) claimedContentHash() ([]byte, error) {
	hs, err := splitObject(lookup(e.members, "hashes"))
	if err != nil {
		return nil, err
	}
	s, _ := decodeString(lookup(hs, "sha256"))
	return decodeBase64(s)
}

// decodeBase64 decodes unpadded standard base64, also accepting padding as
// the appendix asks ("Unpadded Base64": implementations SHOULD accept input
// with or without padding).
// NOTSPEC: the URL-safe alphabet is accepted too, as gomatrixserverlib does.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.StdEncoding, base64.RawURLEncoding, base64.URLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%q is not base64", s)
}
