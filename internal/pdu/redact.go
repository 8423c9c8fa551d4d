package pdu

import (
	"fmt"

	"myelin/internal/spec"
)

// keptTopLevel returns the top-level keys a redaction keeps under
// algorithm alg (rooms fragments v1-redactions and v11-redactions).
func keptTopLevel(alg spec.RedactionAlgorithm, key string) bool {
	switch key {
	case "event_id", "type", "room_id", "sender", "state_key", "content",
		"hashes", "signatures", "depth", "prev_events", "auth_events",
		"origin_server_ts":
		return true
	case "prev_state", "origin", "membership":
		// v11: "The top-level origin, membership, and prev_state properties
		// are no longer protected from redaction."
		return alg < spec.RedactionV11
	}
	return false
}

// keepAllContent is the marker for an event type whose whole content
// survives redaction (m.room.create from v11 on).
const keepAllContent = "*"

// keptContent returns the content keys a redaction keeps for an event of
// type typ under algorithm alg. A result of {keepAllContent} keeps the whole
// content. The special handling of third_party_invite in v11 member events
// is in redactContent.
func keptContent(alg spec.RedactionAlgorithm, typ string) []string {
	switch typ {
	case spec.MRoomMember:
		if alg >= spec.RedactionV9 {
			return []string{"membership", "join_authorised_via_users_server"}
		}
		return []string{"membership"}
	case spec.MRoomCreate:
		if alg >= spec.RedactionV11 {
			return []string{keepAllContent}
		}
		return []string{"creator"}
	case spec.MRoomJoinRules:
		if alg >= spec.RedactionV8 {
			return []string{"join_rule", "allow"}
		}
		return []string{"join_rule"}
	case spec.MRoomPowerLevels:
		keys := []string{"ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"}
		if alg >= spec.RedactionV11 {
			keys = append(keys, "invite")
		}
		return keys
	case spec.MRoomAliases:
		if alg == spec.RedactionV1 {
			return []string{"aliases"}
		}
	case spec.MRoomHistoryVisibility:
		return []string{"history_visibility"}
	case spec.MRoomRedaction:
		if alg >= spec.RedactionV11 {
			return []string{"redacts"}
		}
	}
	return nil
}

// Redact applies the redaction algorithm of room version v to the event raw
// and returns the result as canonical JSON. raw need not be a valid event,
// only a JSON object whose content, if present, is an object; the output of
// Redact is the input of signing and of the reference hash. It returns an
// error wrapping ErrInvalidEvent if raw is not acceptable JSON for v (see
// Parse), is not an object, or has a type or content of the wrong JSON type.
func Redact(v *spec.RoomVersion, raw []byte) ([]byte, error) {
	canon, err := canonicalize(v, raw)
	if err != nil {
		return nil, formatErrWrap("json", "not acceptable JSON for room version "+v.ID, err)
	}
	ms, err := splitObject(canon)
	if err != nil {
		return nil, formatErrWrap("json", "event", err)
	}
	red, err := redactMembers(v.Redaction, ms)
	if err != nil {
		return nil, err
	}
	return encodeObject(red), nil
}

// redactMembers returns the members of a canonical event object that
// survive redaction, in canonical order.
func redactMembers(alg spec.RedactionAlgorithm, ms []member) ([]member, error) {
	typ := ""
	if raw := lookup(ms, "type"); raw != nil {
		s, ok := decodeString(raw)
		if !ok {
			return nil, formatErr("type", "not a string")
		}
		typ = s
	}
	out := make([]member, 0, len(ms))
	for _, m := range ms {
		if !keptTopLevel(alg, m.key) {
			continue
		}
		if m.key == "content" {
			c, err := redactContent(alg, typ, m.value)
			if err != nil {
				return nil, err
			}
			m.value = c
		}
		out = append(out, m)
	}
	return out, nil
}

// redactContent strips a canonical content object down to the keys kept
// for events of type typ.
func redactContent(alg spec.RedactionAlgorithm, typ string, content []byte) ([]byte, error) {
	cms, err := splitObject(content)
	if err != nil {
		return nil, formatErrWrap("content", "not an object", err)
	}
	keep := keptContent(alg, typ)
	if len(keep) == 1 && keep[0] == keepAllContent {
		return content, nil
	}
	out := make([]member, 0, len(keep))
	for _, m := range cms {
		if contains(keep, m.key) {
			out = append(out, m)
			continue
		}
		if alg >= spec.RedactionV11 && typ == spec.MRoomMember && m.key == "third_party_invite" {
			// v11: "it allows the signed key of the third_party_invite key":
			// an object third_party_invite stays, holding only signed.
			if tpi, err := splitObject(m.value); err == nil {
				var kept []member
				if signed := lookup(tpi, "signed"); signed != nil {
					kept = []member{newMember("signed", signed)}
				}
				m.value = encodeObject(kept)
				out = append(out, m)
			}
		}
	}
	return encodeObject(out), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Redact returns the redacted form of the event: the same event ID, room
// and auth-relevant fields, with everything else stripped by the room
// version's redaction algorithm. It fails only if the redacted JSON does
// not parse, which cannot happen for an event returned by Parse.
func (e *Event) Redact() (*Event, error) {
	red, err := redactMembers(e.version.Redaction, e.members)
	if err != nil {
		return nil, fmt.Errorf("redact %s: %w", e.eventID, err)
	}
	r, err := Parse(e.version, encodeObject(red))
	if err != nil {
		return nil, fmt.Errorf("redact %s: %w", e.eventID, err)
	}
	r.redacted = true
	return r, nil
}

// Redacted reports whether the event was produced by Event.Redact.
func (e *Event) Redacted() bool { return e.redacted }
