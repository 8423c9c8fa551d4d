package pdu

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"myelin/internal/signing"
	"myelin/internal/spec"
)

// ErrContentHash is wrapped by CheckContentHash when the event's content
// hash does not match. Such an event must be redacted before further
// processing ("Validating hashes and signatures on received events").
var ErrContentHash = errors.New("content hash mismatch")

// ContentHash returns the SHA-256 content hash of the event raw ("Calculating
// the content hash for an event"), read with the JSON rules of room version
// v. It fails, wrapping ErrInvalidEvent, if raw is not a JSON object
// acceptable for v.
func ContentHash(v *spec.RoomVersion, raw []byte) ([]byte, error) {
	sum, err := signing.ContentHash(raw, v.StrictCanonicalJSON)
	if err != nil {
		return nil, formatErrWrap("json", "not an acceptable JSON object for room version "+v.ID, err)
	}
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
	return referenceHash(v, ms)
}

// referenceHash returns the reference hash of a canonical event. It is
// signing.ReferenceHash of the redacted event, computed on members that are
// already canonical instead of re-encoding them (Parse's hot path);
// TestReferenceHashMatchesSigning checks that the two agree.
func referenceHash(v *spec.RoomVersion, ms []member) ([]byte, error) {
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
// wrapping ErrContentHash (with signing.ErrBadBase64 when the stored hash is
// not base64). It agrees with signing.CheckContentHash on the event's JSON,
// computed on the already canonical members.
func (e *Event) CheckContentHash() error {
	hashes, err := splitObject(lookup(e.members, "hashes"))
	if err != nil {
		return fmt.Errorf("event %s: %w: no hashes", e.eventID, ErrContentHash)
	}
	// Parse has checked that hashes.sha256 is a string.
	s, _ := decodeString(lookup(hashes, "sha256"))
	want, err := signing.DecodeBase64(s)
	if err != nil {
		return fmt.Errorf("event %s: %w: %w", e.eventID, ErrContentHash, err)
	}
	got := sha256.Sum256(encodeObject(without(e.members, "unsigned", "signatures", "hashes")))
	if !bytes.Equal(got[:], want) {
		return fmt.Errorf("event %s: %w", e.eventID, ErrContentHash)
	}
	return nil
}
