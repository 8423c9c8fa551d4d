package pdu

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"myelin/internal/mjson"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// ErrBuild is wrapped by every error Builder.Build returns for inputs that
// cannot make a valid event.
var ErrBuild = errors.New("cannot build event")

// Builder describes a new local event. Build turns it into a hashed, signed
// event in the format of a room version.
type Builder struct {
	// Type is the event type.
	Type string
	// StateKey is the state key of a state event, nil otherwise.
	StateKey *string
	// Sender is the sending user's ID.
	Sender string
	// RoomID is the room ID. It must be empty for the create event of a
	// version whose create event has no room_id (v12); the room ID then
	// derives from the event ID.
	RoomID string
	// Content is the content object: a json.RawMessage or []byte holding a
	// JSON object, or any value encoding/json marshals to an object. Nil
	// means {}.
	Content any
	// Redacts is the ID of the event an m.room.redaction redacts. It is
	// written to the top level before v11 and to content.redacts from v11
	// on (where a content.redacts already present must be equal to it).
	Redacts string
	// PrevEvents and AuthEvents are the IDs of the event's prev and auth
	// events; nil means none. At most MaxPrevEvents and MaxAuthEvents.
	PrevEvents, AuthEvents []string
	// ReferenceHashes maps the ID of each prev and auth event to its
	// reference hash (Event.ReferenceHash). Only room versions 1 and 2 need
	// it, for their [event ID, hashes] pairs.
	ReferenceHashes map[string][]byte
	// Depth is the event's depth.
	Depth int64
	// OriginServerTS is the creation time, in milliseconds since the epoch.
	OriginServerTS int64
	// Unsigned is the unsigned object (not covered by hashes or
	// signatures), or nil for none; same forms as Content.
	Unsigned any
	// Rand is the source of the random part of v1/v2 event IDs; nil means
	// crypto/rand. Tests set it for deterministic IDs.
	Rand io.Reader
}

// Build makes the event in the format of room version v: it lays out the
// fields (v1/v2: a random "$opaque:origin" event_id and [ID, hashes] pairs
// for prev/auth events; v11+: redacts in content; v12 create: no room_id),
// adds the content hash, signs the redacted event as origin with key, and
// parses the result with Parse, so the returned event is exactly what Parse
// accepts. Errors wrap ErrBuild (also for a key that is not an ed25519
// private key), or ErrInvalidEvent when the laid-out event
// fails Parse's checks (bad IDs, sizes, depth, ...).
func (b *Builder) Build(v *spec.RoomVersion, origin spec.ServerName, key signing.Key) (*Event, error) {
	if v == nil {
		return nil, fmt.Errorf("%w: no room version", ErrBuild)
	}
	ms, err := b.members(v, origin)
	if err != nil {
		return nil, err
	}
	if ms, err = hashMembers(v, ms); err != nil {
		return nil, err
	}
	if ms, err = signMembers(v, ms, origin, key); err != nil {
		return nil, err
	}
	return Parse(v, encodeObject(ms))
}

// members lays out every field except hashes and signatures.
func (b *Builder) members(v *spec.RoomVersion, origin spec.ServerName) ([]member, error) {
	isCreate := b.Type == spec.MRoomCreate && b.StateKey != nil && *b.StateKey == ""
	if b.Redacts != "" && b.Type != spec.MRoomRedaction {
		return nil, fmt.Errorf("%w: redacts set on a %s event", ErrBuild, b.Type)
	}
	if len(b.PrevEvents) > MaxPrevEvents || len(b.AuthEvents) > MaxAuthEvents {
		return nil, fmt.Errorf("%w: %d prev_events and %d auth_events, at most %d and %d",
			ErrBuild, len(b.PrevEvents), len(b.AuthEvents), MaxPrevEvents, MaxAuthEvents)
	}
	content, err := b.content(v)
	if err != nil {
		return nil, err
	}
	prev, err := b.refs(v, b.PrevEvents)
	if err != nil {
		return nil, fmt.Errorf("%w: prev_events: %w", ErrBuild, err)
	}
	auth, err := b.refs(v, b.AuthEvents)
	if err != nil {
		return nil, fmt.Errorf("%w: auth_events: %w", ErrBuild, err)
	}
	strs := map[string]string{"type": b.Type, "sender": b.Sender}
	switch {
	case v.CreateEventHasNoRoomID && isCreate:
		if b.RoomID != "" {
			return nil, fmt.Errorf("%w: a room version %s create event has no room_id", ErrBuild, v.ID)
		}
	default:
		strs["room_id"] = b.RoomID
	}
	if b.StateKey != nil {
		strs["state_key"] = *b.StateKey
	}
	if b.Redacts != "" && !v.RedactsInContent {
		strs["redacts"] = b.Redacts
	}
	if v.EventIDFormat == spec.EventIDOpaque {
		id, err := b.opaqueEventID(origin)
		if err != nil {
			return nil, err
		}
		strs["event_id"] = id
	}
	ms := []member{
		newMember("content", content),
		newMember("prev_events", prev),
		newMember("auth_events", auth),
		newMember("depth", []byte(fmt.Sprint(b.Depth))),
		newMember("origin_server_ts", []byte(fmt.Sprint(b.OriginServerTS))),
	}
	for k, s := range strs {
		enc, err := mjson.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBuild, k, err)
		}
		ms = append(ms, newMember(k, enc))
	}
	if b.Unsigned != nil {
		u, err := objectJSON(v, b.Unsigned)
		if err != nil {
			return nil, fmt.Errorf("%w: unsigned: %w", ErrBuild, err)
		}
		ms = append(ms, newMember("unsigned", u))
	}
	sortMembers(ms)
	return ms, nil
}

// content returns the canonical content, with redacts added from v11 on.
func (b *Builder) content(v *spec.RoomVersion) ([]byte, error) {
	c := b.Content
	if c == nil {
		c = json.RawMessage("{}")
	}
	content, err := objectJSON(v, c)
	if err != nil {
		return nil, fmt.Errorf("%w: content: %w", ErrBuild, err)
	}
	if b.Redacts == "" || !v.RedactsInContent {
		return content, nil
	}
	cms, err := splitObject(content)
	if err != nil {
		return nil, fmt.Errorf("%w: content: %w", ErrBuild, err)
	}
	redacts, err := mjson.Marshal(b.Redacts)
	if err != nil {
		return nil, fmt.Errorf("%w: redacts: %w", ErrBuild, err)
	}
	if old := lookup(cms, "redacts"); old != nil {
		if string(old) != string(redacts) {
			return nil, fmt.Errorf("%w: content.redacts differs from Redacts", ErrBuild)
		}
		return content, nil
	}
	cms = append(cms, newMember("redacts", redacts))
	sortMembers(cms)
	return encodeObject(cms), nil
}

// objectJSON returns x (raw JSON or a value to marshal) as a canonical JSON
// object under the number rules of v.
func objectJSON(v *spec.RoomVersion, x any) ([]byte, error) {
	var raw []byte
	switch t := x.(type) {
	case json.RawMessage:
		raw = t
	case []byte:
		raw = t
	default:
		var err error
		if raw, err = json.Marshal(x); err != nil {
			return nil, err
		}
	}
	canon, err := canonicalize(v, raw)
	if err != nil {
		return nil, err
	}
	if !isObject(canon) {
		return nil, errNotObject
	}
	return canon, nil
}

// refs encodes prev_events or auth_events for the version.
func (b *Builder) refs(v *spec.RoomVersion, ids []string) ([]byte, error) {
	if ids == nil {
		ids = []string{}
	}
	if v.EventIDFormat != spec.EventIDOpaque {
		return mjson.Marshal(ids)
	}
	pairs := make([][2]any, 0, len(ids))
	for _, id := range ids {
		h, ok := b.ReferenceHashes[id]
		if !ok {
			return nil, fmt.Errorf("no reference hash for %q", id)
		}
		pairs = append(pairs, [2]any{id, map[string]string{"sha256": signing.EncodeBase64(h)}})
	}
	return mjson.Marshal(pairs)
}

// opaqueEventIDChars is the alphabet of the random part of v1/v2 event IDs.
const opaqueEventIDChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// opaqueEventIDLength is the number of random characters, about 107 bits.
const opaqueEventIDLength = 18

// opaqueEventID makes a v1/v2 event ID, "$" + random + ":" + origin.
func (b *Builder) opaqueEventID(origin spec.ServerName) (string, error) {
	r := b.Rand
	if r == nil {
		r = rand.Reader
	}
	out := make([]byte, 0, opaqueEventIDLength)
	buf := make([]byte, 32)
	for len(out) < opaqueEventIDLength {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("%w: event ID randomness: %w", ErrBuild, err)
		}
		for _, c := range buf {
			// Rejection sampling keeps the characters uniform.
			if c < 248 && len(out) < opaqueEventIDLength {
				out = append(out, opaqueEventIDChars[c%62])
			}
		}
	}
	return "$" + string(out) + ":" + string(origin), nil
}

// encodeEventID encodes a reference hash as an event ID for the version
// (v3+).
func encodeEventID(v *spec.RoomVersion, refHash []byte) string {
	if v.EventIDFormat == spec.EventIDHashStd {
		return "$" + signing.EncodeBase64(refHash)
	}
	return "$" + signing.EncodeBase64URL(refHash)
}

// AddContentHash returns the event raw with hashes set to {"sha256": its
// content hash}, as canonical JSON under the rules of room version v (like
// the specification's example code, any other hashes are replaced). It
// fails, wrapping ErrInvalidEvent, if raw is not a JSON object acceptable
// for v.
func AddContentHash(v *spec.RoomVersion, raw []byte) ([]byte, error) {
	out, err := signing.AddContentHash(raw, v.StrictCanonicalJSON)
	if err != nil {
		return nil, formatErrWrap("json", "not an acceptable JSON object for room version "+v.ID, err)
	}
	return out, nil
}

// hashMembers sets the hashes of a canonical event to its content hash.
func hashMembers(v *spec.RoomVersion, ms []member) ([]member, error) {
	out, err := AddContentHash(v, encodeObject(ms))
	if err != nil {
		return nil, err
	}
	return splitObject(out)
}

// Sign returns the event raw with a signature by serverName with key added
// to its signatures, as canonical JSON under the rules of room version v.
// The signature covers the redacted event without signatures and unsigned
// ("Adding hashes and signatures to outgoing events"); existing signatures
// and hashes are kept, so a second server can countersign (as the invited
// server does for an invite). It fails, wrapping ErrInvalidEvent, if raw is
// not an object acceptable for v or its signatures is not an object, and
// ErrBuild if key is not an ed25519 private key.
func Sign(v *spec.RoomVersion, raw []byte, serverName spec.ServerName, key signing.Key) ([]byte, error) {
	ms, err := canonicalMembers(v, raw)
	if err != nil {
		return nil, err
	}
	if ms, err = signMembers(v, ms, serverName, key); err != nil {
		return nil, err
	}
	return encodeObject(ms), nil
}

// signMembers adds a signature by serverName with key to a canonical event:
// it signs the redacted event and copies the resulting signatures back.
func signMembers(v *spec.RoomVersion, ms []member, serverName spec.ServerName, key signing.Key) ([]member, error) {
	red, err := redactMembers(v.Redaction, ms)
	if err != nil {
		return nil, err
	}
	signed, err := signing.SignJSON(encodeObject(red), string(serverName), key)
	if err != nil {
		if errors.Is(err, signing.ErrMalformed) {
			return nil, formatErrWrap("signatures", "not an object of objects", err)
		}
		return nil, fmt.Errorf("%w: sign: %w", ErrBuild, err)
	}
	sms, err := splitObject(signed)
	if err != nil {
		return nil, fmt.Errorf("%w: sign: %w", ErrBuild, err)
	}
	return setMember(ms, newMember("signatures", lookup(sms, "signatures"))), nil
}

// setMember returns ms with m replacing the member of the same key, or
// added, in canonical order. ms is not modified.
func setMember(ms []member, m member) []member {
	out := append(without(ms, m.key), m)
	sortMembers(out)
	return out
}
