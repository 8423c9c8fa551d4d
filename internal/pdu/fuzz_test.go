package pdu

import (
	"bytes"
	"errors"
	"testing"

	"myelin/internal/mjson"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// fuzzSeeds returns valid events of several shapes for version v, plus a
// few invalid ones, as seeds for FuzzParse.
func fuzzSeeds(t testing.TB, v *spec.RoomVersion) [][]byte {
	var out [][]byte
	for _, b := range []Builder{
		{Type: "m.room.message", Content: map[string]any{"body": "hi ü 🎉", "msgtype": "m.text"}, Unsigned: map[string]any{"age": 5}},
		{Type: spec.MRoomCreate, StateKey: strp(""), Depth: 1, Content: map[string]any{"room_version": v.ID, "creator": "@alice:example.org"}},
		{Type: spec.MRoomMember, StateKey: strp("@bob:example.org"), Content: map[string]any{
			"membership": "invite", "join_authorised_via_users_server": "@c:example.org",
			"third_party_invite": map[string]any{"display_name": "b", "signed": map[string]any{"token": "t", "mxid": "@bob:example.org"}}}},
		{Type: spec.MRoomRedaction, Redacts: "$x:example.org", Content: map[string]any{"reason": "r"}},
		{Type: spec.MRoomPowerLevels, StateKey: strp(""), Content: map[string]any{"users": map[string]any{"@alice:example.org": 100}, "ban": 50, "invite": 0, "x": []any{1, "2"}}},
		{Type: spec.MRoomJoinRules, StateKey: strp(""), Content: map[string]any{"join_rule": "restricted", "allow": []any{}}},
	} {
		out = append(out, buildTest(t, v, b).JSON())
	}
	out = append(out, []byte(`{}`), []byte(`{"type":"m.room.message","content":{}}`), []byte(`[1,2]`))
	return out
}

// FuzzParse checks, for any input and room version: Parse does not panic
// and fails only with ErrInvalidEvent; an accepted event reparses (from its
// JSON and from its canonical form) to the same event ID; its redaction
// parses with the same event ID; and the other entry points do not panic.
func FuzzParse(f *testing.F) {
	versions := spec.RoomVersions()
	for i, v := range versions {
		for _, s := range fuzzSeeds(f, v) {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, vi uint8, data []byte) {
		v := versions[int(vi)%len(versions)]
		_, _ = Redact(v, data)
		e, err := Parse(v, data)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("error does not wrap ErrInvalidEvent: %v", err)
			}
			return
		}
		again, err := Parse(v, e.JSON())
		if err != nil || again.EventID() != e.EventID() || again.RoomID() != e.RoomID() {
			t.Fatalf("reparse of JSON: %v", err)
		}
		canon, err := mjson.CanonicalLenient(data)
		if err != nil {
			t.Fatalf("accepted input is not JSON: %v", err)
		}
		c, err := Parse(v, canon)
		if err != nil || c.EventID() != e.EventID() || !bytes.Equal(c.ReferenceHash(), e.ReferenceHash()) {
			t.Fatalf("parse of canonical form: %v", err)
		}
		r, err := e.Redact()
		if err != nil {
			t.Fatalf("redact: %v", err)
		}
		if r.EventID() != e.EventID() || r.RoomID() != e.RoomID() {
			t.Fatalf("redacted event ID %s != %s", r.EventID(), e.EventID())
		}
		rr, err := r.Redact()
		if err != nil || !bytes.Equal(rr.JSON(), r.JSON()) {
			t.Fatalf("redaction is not idempotent: %v", err)
		}
		if ours, theirs := e.CheckContentHash(), signing.CheckContentHash(data, v.StrictCanonicalJSON); (ours == nil) != (theirs == nil) {
			t.Fatalf("CheckContentHash %v, signing.CheckContentHash %v", ours, theirs)
		}
		_, _ = e.Membership()
		if _, err := AuthEventTypes(v, e.Type(), e.StateKey(), e.Sender(), e.Content()); err != nil &&
			!(e.Type() == spec.MRoomMember && e.StateKey() == nil) {
			t.Fatalf("AuthEventTypes: %v", err)
		}
	})
}
