// Package pdu handles persistent data units (room events) for every room
// version: parsing and validating received events while keeping the bytes
// they arrived with, computing event IDs and v12 room IDs, redacting, and
// building and signing new local events.
//
// It does no I/O. Room-version differences come from spec.RoomVersion.
package pdu

import (
	"encoding/json"

	"myelin/internal/spec"
)

// Event is a parsed, validated PDU. It is immutable: accessors return values
// decoded once at parse time, and JSON returns the exact bytes the event was
// parsed from (never re-marshalled), which are what hashes and signatures
// cover.
//
// The zero Event is not valid; get one from Parse or a Builder.
type Event struct {
	version *spec.RoomVersion
	raw     []byte // the event as received or built, canonical JSON for v6+

	eventID  string
	roomID   string
	typ      string
	stateKey *string
	sender   string
	content  json.RawMessage
	redacts  string
	origin   string
	ts       int64
	depth    int64

	prevEvents []string
	authEvents []string

	rejected bool

	unsigned json.RawMessage // the unsigned object, or nil

	canon   []byte   // raw in canonical form (the same slice when raw is canonical)
	members []member // canon's top-level members, in canonical order
	refHash []byte   // the reference hash (SHA-256)

	membership    string // content.membership of an m.room.member event
	hasMembership bool   // whether membership is present and a string
	redacted      bool   // produced by Event.Redact
}

// Version returns the room version the event was parsed for.
func (e *Event) Version() *spec.RoomVersion { return e.version }

// JSON returns the event's bytes as received or built. Callers must not
// modify the slice.
func (e *Event) JSON() []byte { return e.raw }

// EventID returns the event ID: the event_id field in v1/v2, the reference
// hash from v3 on.
func (e *Event) EventID() string { return e.eventID }

// RoomID returns the room ID. For a v12 create event, which carries no
// room_id, it is the ID derived from the event's own ID.
func (e *Event) RoomID() string { return e.roomID }

// Type returns the event type.
func (e *Event) Type() string { return e.typ }

// StateKey returns the state key, or nil for a non-state event.
func (e *Event) StateKey() *string { return e.stateKey }

// IsState reports whether the event has a state key.
func (e *Event) IsState() bool { return e.stateKey != nil }

// StateKeyEquals reports whether the event is a state event with state key s.
func (e *Event) StateKeyEquals(s string) bool { return e.stateKey != nil && *e.stateKey == s }

// Sender returns the sender's user ID as it appears in the event.
func (e *Event) Sender() string { return e.sender }

// Content returns the raw JSON of the content object.
func (e *Event) Content() json.RawMessage { return e.content }

// Redacts returns the ID of the event an m.room.redaction redacts: the
// top-level field before v11, content.redacts from v11 on. It is "" for
// other events.
func (e *Event) Redacts() string { return e.redacts }

// Unsigned returns the unsigned object (canonical JSON), or nil if the
// event has none. It is not covered by hashes or signatures.
func (e *Event) Unsigned() json.RawMessage { return e.unsigned }

// Origin returns the deprecated top-level origin field, if any.
func (e *Event) Origin() string { return e.origin }

// OriginServerTS returns origin_server_ts in milliseconds.
func (e *Event) OriginServerTS() int64 { return e.ts }

// Depth returns the event's depth.
func (e *Event) Depth() int64 { return e.depth }

// PrevEventIDs returns the IDs of the event's prev_events.
func (e *Event) PrevEventIDs() []string { return e.prevEvents }

// AuthEventIDs returns the IDs of the event's auth_events.
func (e *Event) AuthEventIDs() []string { return e.authEvents }

// StateTuple returns the (type, state_key) pair of a state event.
func (e *Event) StateTuple() spec.StateKeyTuple {
	if e.stateKey == nil {
		return spec.StateKeyTuple{Type: e.typ}
	}
	return spec.StateKeyTuple{Type: e.typ, StateKey: *e.stateKey}
}
