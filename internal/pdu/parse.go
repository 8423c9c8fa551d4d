package pdu

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"myelin/internal/spec"
)

// Limits from the client-server API, "Size limits", and the PDU formats.
const (
	// MaxEventSize is the largest an event may be, in bytes of canonical
	// JSON including signatures.
	MaxEventSize = 65536
	// MaxKeyLength bounds type and state_key, in bytes.
	MaxKeyLength = 255
	// maxDepthLenient is the depth limit of room versions 1–5, 2^63-1.
	maxDepthLenient = 1<<63 - 1
	// maxDepthStrict is the depth limit from v6 on, 2^53-1 ("v6 enforces
	// Canonical JSON and therefore needs a depth limit change").
	maxDepthStrict = 1<<53 - 1
	// MaxPrevEvents and MaxAuthEvents are the format's limits on the
	// number of prev_events and auth_events. Builder enforces them;
	// Parse does not (see decodeRefs).
	MaxPrevEvents = 20
	MaxAuthEvents = 10
)

// Parse validates a PDU received for room version v and computes its event
// ID. It checks, per the version's event format: the JSON (strict
// canonical-JSON number rules from v6 on, and no duplicate keys or invalid
// UTF-8 in any version), the size (at most MaxEventSize bytes as canonical
// JSON), the required keys and their JSON types, the lengths of type,
// state_key, sender, room_id and event IDs, the grammar of sender (a
// historical user ID), of room_id and of the referenced event IDs, the
// depth range, the shape of prev_events/auth_events (pairs with hashes in
// v1/v2, plain IDs after), hashes and signatures, and in v12 that the
// create event has no room_id and every other event a room ID of the hash
// form.
//
// Parse does not check signatures, the content hash (see CheckContentHash)
// or the authorisation rules. The returned Event keeps raw as it is (raw is
// not copied: the caller must not modify it afterwards). Every error wraps
// ErrInvalidEvent and is a *FormatError naming the field or rule.
func Parse(v *spec.RoomVersion, raw []byte) (*Event, error) {
	if v == nil {
		return nil, formatErr("room_version", "no room version")
	}
	canon, err := canonicalize(v, raw)
	if err != nil {
		return nil, formatErrWrap("json", "not acceptable JSON for room version "+v.ID, err)
	}
	if len(canon) > MaxEventSize {
		return nil, formatErr("size", fmt.Sprintf("%d bytes of canonical JSON, more than %d", len(canon), MaxEventSize))
	}
	ms, err := splitObject(canon)
	if err != nil {
		return nil, formatErrWrap("json", "event", err)
	}
	e := &Event{version: v, raw: raw, canon: canon, members: ms}
	if bytes.Equal(raw, canon) {
		e.raw = canon
	}
	if err := e.decodeFields(); err != nil {
		return nil, err
	}
	if err := e.computeIDs(); err != nil {
		return nil, err
	}
	return e, nil
}

// decodeFields decodes and checks the top-level keys.
func (e *Event) decodeFields() error {
	// The keys every event has in every version; whether room_id and
	// event_id are required depends on the version and the event.
	required := [...]string{"type", "sender", "origin_server_ts", "content", "depth", "hashes", "signatures", "prev_events", "auth_events"}
	var seen [len(required)]bool
	hasRoomID, hasEventID := false, false
	for _, m := range e.members {
		for i, k := range required {
			if m.key == k {
				seen[i] = true
			}
		}
		hasRoomID = hasRoomID || m.key == "room_id"
		hasEventID = hasEventID || m.key == "event_id"
		if err := e.decodeField(m); err != nil {
			return err
		}
	}
	for i, k := range required {
		if !seen[i] {
			return formatErr(k, "missing")
		}
	}
	if e.version.EventIDFormat == spec.EventIDOpaque && !hasEventID {
		return formatErr("event_id", "missing")
	}
	if err := e.checkRoomID(hasRoomID); err != nil {
		return err
	}
	return e.decodeTypeSpecific()
}

// decodeField decodes one top-level key. Keys the format does not define
// are kept in the JSON and otherwise ignored.
func (e *Event) decodeField(m member) error {
	v := e.version
	switch m.key {
	case "type":
		s, err := boundedString(m, MaxKeyLength)
		e.typ = s
		return err
	case "state_key":
		s, err := boundedString(m, MaxKeyLength)
		e.stateKey = &s
		return err
	case "sender":
		s, ok := decodeString(m.value)
		if !ok {
			return formatErr("sender", "not a string")
		}
		if _, err := spec.ParseHistoricalUserID(s); err != nil {
			return formatErrWrap("sender", "not a user ID", err)
		}
		e.sender = s
	case "room_id":
		s, ok := decodeString(m.value)
		if !ok {
			return formatErr("room_id", "not a string")
		}
		e.roomID = s
	case "origin_server_ts":
		n, ok := decodeInt(m.value)
		if !ok {
			return formatErr("origin_server_ts", "not an integer")
		}
		e.ts = n
	case "content":
		if !isObject(m.value) {
			return formatErr("content", "not an object")
		}
		e.content = m.value
	case "depth":
		return e.decodeDepth(m.value)
	case "prev_events":
		ids, err := e.decodeRefs("prev_events", m.value)
		e.prevEvents = ids
		return err
	case "auth_events":
		ids, err := e.decodeRefs("auth_events", m.value)
		e.authEvents = ids
		return err
	case "hashes":
		return checkHashes(m.value)
	case "signatures":
		return checkSignatures(m.value)
	case "event_id":
		if v.EventIDFormat != spec.EventIDOpaque {
			// The v3+ formats define no event_id. Like any unknown key a
			// stray one is kept, and as the redaction algorithms keep
			// event_id it is covered by the reference hash
			// (gomatrixserverlib deletes it first; see TestStrayEventID).
			return nil
		}
		s, ok := decodeString(m.value)
		if !ok {
			return formatErr("event_id", "not a string")
		}
		if err := checkEventID(v, s); err != nil {
			return formatErrWrap("event_id", "bad event ID", err)
		}
		e.eventID = s
	case "redacts":
		if v.RedactsInContent {
			return nil // not part of the v11+ format; content.redacts counts
		}
		if _, ok := decodeString(m.value); !ok {
			return formatErr("redacts", "not a string")
		}
	case "unsigned":
		if !isObject(m.value) {
			return formatErr("unsigned", "not an object")
		}
		e.unsigned = m.value
	case "origin":
		// Deprecated and unchecked; kept for Origin.
		if s, ok := decodeString(m.value); ok {
			e.origin = s
		}
	}
	return nil
}

// boundedString decodes a string member of at most max bytes.
func boundedString(m member, max int) (string, error) {
	s, ok := decodeString(m.value)
	if !ok {
		return "", formatErr(m.key, "not a string")
	}
	if len(s) > max {
		return "", formatErr(m.key, fmt.Sprintf("longer than %d bytes", max))
	}
	return s, nil
}

// decodeDepth decodes depth: an integer from 0 to 2^63-1 (v1–v5) or
// 2^53-1 (v6+). Negative depths are rejected: depth counts from the create
// event up.
func (e *Event) decodeDepth(raw []byte) error {
	n, ok := decodeInt(raw)
	if !ok {
		return formatErr("depth", "not an integer")
	}
	max := int64(maxDepthLenient)
	if e.version.StrictCanonicalJSON {
		max = maxDepthStrict
	}
	if n < 0 || n > max {
		return formatErr("depth", fmt.Sprintf("%d is outside [0, %d]", n, max))
	}
	e.depth = n
	return nil
}

// decodeRefs decodes prev_events or auth_events: [[id, {hashes}], ...] in
// v1/v2, [id, ...] after.
func (e *Event) decodeRefs(field string, raw []byte) ([]string, error) {
	elems, ok := splitArray(raw)
	if !ok {
		return nil, formatErr(field, "not an array")
	}
	ids := make([]string, 0, len(elems))
	for i, el := range elems {
		id, err := e.decodeRef(el)
		if err != nil {
			return nil, formatErrWrap(field, fmt.Sprintf("entry %d", i), err)
		}
		ids = append(ids, id)
	}
	// NOTSPEC: the formats say prev_events "must contain less than or
	// equal to 20 events" and auth_events 10. gomatrixserverlib does not
	// enforce this on receipt, and dropping events that other servers
	// accept would split our view of the DAG from theirs, so Parse accepts
	// longer lists (the auth rules reject auth_events beyond the
	// selection); Builder never produces them.
	return ids, nil
}

// decodeRef decodes one prev_events or auth_events entry to its event ID.
func (e *Event) decodeRef(el []byte) (string, error) {
	idRaw := el
	if e.version.EventIDFormat == spec.EventIDOpaque {
		pair, ok := splitArray(el)
		if !ok || len(pair) != 2 {
			return "", errors.New("not an [event ID, hashes] pair")
		}
		if err := checkHashes(pair[1]); err != nil {
			return "", err
		}
		idRaw = pair[0]
	}
	id, ok := decodeString(idRaw)
	if !ok {
		return "", errors.New("event ID is not a string")
	}
	if err := checkEventID(e.version, id); err != nil {
		return "", err
	}
	return id, nil
}

// checkHashes checks an event hash object: {"sha256": string, ...}.
func checkHashes(raw []byte) error {
	ms, err := splitObject(raw)
	if err != nil {
		return formatErr("hashes", "not an object")
	}
	h := lookup(ms, "sha256")
	if h == nil {
		return formatErr("hashes", "no sha256")
	}
	if _, ok := decodeString(h); !ok {
		return formatErr("hashes", "sha256 is not a string")
	}
	return nil
}

// checkSignatures checks {server: {key ID: signature string}}.
func checkSignatures(raw []byte) error {
	servers, err := splitObject(raw)
	if err != nil {
		return formatErr("signatures", "not an object")
	}
	for _, s := range servers {
		keys, err := splitObject(s.value)
		if err != nil {
			return formatErr("signatures", fmt.Sprintf("%q is not an object", s.key))
		}
		for _, k := range keys {
			if _, ok := decodeString(k.value); !ok {
				return formatErr("signatures", fmt.Sprintf("%q %q is not a string", s.key, k.key))
			}
		}
	}
	return nil
}

// checkEventID checks an event ID against the version's format: "$opaque:
// domain" in v1/v2, "$" and 43 characters of (URL-safe from v4) unpadded
// base64 after.
func checkEventID(v *spec.RoomVersion, id string) error {
	if _, err := spec.ParseEventID(id); err != nil {
		return err
	}
	switch v.EventIDFormat {
	case spec.EventIDOpaque:
		i := strings.IndexByte(id, ':')
		if i < 0 {
			return fmt.Errorf("event ID %q has no domain", id)
		}
		if _, err := spec.ParseServerName(id[i+1:]); err != nil {
			return fmt.Errorf("event ID %q: %w", id, err)
		}
	case spec.EventIDHashStd:
		if !isHash(id[1:], base64.RawStdEncoding) {
			return fmt.Errorf("event ID %q is not a base64 SHA-256 hash", id)
		}
	default:
		if !isHash(id[1:], base64.RawURLEncoding) {
			return fmt.Errorf("event ID %q is not a URL-safe base64 SHA-256 hash", id)
		}
	}
	return nil
}

// isHash reports whether s is the unpadded base64 encoding, in enc, of 32
// bytes, written canonically (no stray bits in the last character).
func isHash(s string, enc *base64.Encoding) bool {
	if len(s) != 43 {
		return false
	}
	b, err := enc.Strict().DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// checkRoomID checks room_id for the version and the kind of event.
func (e *Event) checkRoomID(present bool) error {
	v := e.version
	if v.CreateEventHasNoRoomID && e.isCreate() {
		if present {
			// v12 PDU format: room_id is "Omitted from m.room.create
			// events" (auth rule 1.2 also rejects it).
			return formatErr("room_id", "must be absent from a v"+v.ID+" create event")
		}
		return nil
	}
	if !present {
		return formatErr("room_id", "missing")
	}
	if _, err := spec.ParseRoomID(e.roomID); err != nil {
		return formatErrWrap("room_id", "bad room ID", err)
	}
	hasDomain := strings.IndexByte(e.roomID, ':') >= 0
	switch v.RoomIDFormat {
	case spec.RoomIDCreateHash:
		if hasDomain {
			return formatErr("room_id", "must be the create event's hash in room version "+v.ID)
		}
	default:
		if !hasDomain {
			return formatErr("room_id", "must have a domain in room version "+v.ID)
		}
	}
	return nil
}

// isCreate reports whether the event is a room's create event: type
// m.room.create with an empty state key.
func (e *Event) isCreate() bool {
	return e.typ == spec.MRoomCreate && e.StateKeyEquals("")
}

// decodeTypeSpecific decodes the fields that Event exposes for particular
// event types: redacts of m.room.redaction (top-level before v11,
// content.redacts after) and membership of m.room.member.
func (e *Event) decodeTypeSpecific() error {
	switch e.typ {
	case spec.MRoomRedaction:
		if !e.version.RedactsInContent {
			// decodeField has checked that it is a string, if present.
			e.redacts, _ = decodeString(lookup(e.members, "redacts"))
			return nil
		}
		cms, err := splitObject(e.content)
		if err != nil {
			return formatErr("content", "not an object")
		}
		if r := lookup(cms, "redacts"); r != nil {
			// Content is not validated: a non-string redacts redacts
			// nothing.
			e.redacts, _ = decodeString(r)
		}
	case spec.MRoomMember:
		cms, err := splitObject(e.content)
		if err != nil {
			return formatErr("content", "not an object")
		}
		if m := lookup(cms, "membership"); m != nil {
			e.membership, e.hasMembership = decodeString(m)
		}
	}
	return nil
}

// computeIDs computes the reference hash, the event ID from v3 on, and
// the room ID of a v12 create event.
func (e *Event) computeIDs() error {
	ref, err := referenceHash(e.version, e.members)
	if err != nil {
		return err
	}
	e.refHash = ref
	if e.version.EventIDFormat != spec.EventIDOpaque {
		e.eventID = encodeEventID(e.version, e.refHash)
	}
	if e.version.CreateEventHasNoRoomID && e.isCreate() {
		e.roomID = RoomIDForCreate(e.eventID)
	}
	return nil
}

// RoomIDForCreate returns the room ID that a v12 create event with the
// given event ID defines: the event ID with the sigil "!" instead of "$".
func RoomIDForCreate(createEventID string) string {
	return "!" + strings.TrimPrefix(createEventID, "$")
}

// CreateEventIDForRoom returns the event ID of the create event of a room
// whose ID is of the hash form (v12): the room ID with the sigil "$".
func CreateEventIDForRoom(roomID string) string {
	return "$" + strings.TrimPrefix(roomID, "!")
}
