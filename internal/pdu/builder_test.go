package pdu

import (
	"bytes"
	"errors"
	"testing"

	"myelin/internal/spec"
)

func strp(s string) *string { return &s }

// testRoom builds a create event and a message for every version and
// checks that what Build returns parses to the same event.
func TestBuildParseRoundTrip(t *testing.T) {
	key := specKey(t)
	for _, v := range spec.RoomVersions() {
		create := &Builder{
			Type: spec.MRoomCreate, StateKey: strp(""), Sender: "@alice:example.org",
			Content: map[string]any{"room_version": v.ID}, Depth: 1, OriginServerTS: 1700000000000,
			Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 64)),
		}
		if !v.CreateEventHasNoRoomID {
			create.RoomID = "!room:example.org"
		}
		ce, err := create.Build(v, "example.org", key)
		if err != nil {
			t.Fatalf("v%s: build create: %v", v.ID, err)
		}
		if v.CreateEventHasNoRoomID && ce.RoomID() != RoomIDForCreate(ce.EventID()) {
			t.Errorf("v%s: create room ID %q, event ID %q", v.ID, ce.RoomID(), ce.EventID())
		}
		msg := &Builder{
			Type: "m.room.message", Sender: "@alice:example.org", RoomID: ce.RoomID(),
			Content:    map[string]any{"body": "hi", "msgtype": "m.text"},
			PrevEvents: []string{ce.EventID()}, AuthEvents: []string{ce.EventID()},
			ReferenceHashes: map[string][]byte{ce.EventID(): ce.ReferenceHash()},
			Depth:           2, OriginServerTS: 1700000000001,
		}
		if v.CreateEventHasNoRoomID {
			msg.AuthEvents = nil
		}
		me, err := msg.Build(v, "example.org", key)
		if err != nil {
			t.Fatalf("v%s: build message: %v", v.ID, err)
		}
		for _, e := range []*Event{ce, me} {
			again, err := Parse(v, e.JSON())
			if err != nil {
				t.Fatalf("v%s: reparse: %v", v.ID, err)
			}
			if again.EventID() != e.EventID() || again.RoomID() != e.RoomID() {
				t.Errorf("v%s: reparse changed IDs", v.ID)
			}
			if err := e.CheckContentHash(); err != nil {
				t.Errorf("v%s: %v", v.ID, err)
			}
			r, err := e.Redact()
			if err != nil {
				t.Fatalf("v%s: redact: %v", v.ID, err)
			}
			if r.EventID() != e.EventID() {
				t.Errorf("v%s: redacted ID %s != %s", v.ID, r.EventID(), e.EventID())
			}
			if e.Type() == "m.room.message" && !errors.Is(r.CheckContentHash(), ErrContentHash) {
				t.Errorf("v%s: redacted message still matches its content hash", v.ID)
			}
		}
		t.Logf("v%s: %s", v.ID, me.JSON())
	}
}
