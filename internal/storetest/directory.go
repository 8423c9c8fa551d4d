package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// dirState is a state event for testDirectory's rooms.
type dirState struct {
	typ, stateKey, membership, json string
}

// dirRoom creates a room whose current state is the given events, in one
// write transaction, and returns it.
func dirRoom(t *testing.T, s Store, roomID string, events []dirState) store.Room {
	t.Helper()
	ctx := context.Background()
	room, _, err := s.CreateRoom(ctx, store.Room{ID: roomID, Version: "10"}, func(w store.RoomWriter) error {
		var tuples []spec.StateKeyTuple
		for _, ev := range events {
			tuples = append(tuples, spec.StateKeyTuple{Type: ev.typ, StateKey: ev.stateKey})
		}
		keys, err := w.InternStateKeys(ctx, tuples)
		if err != nil {
			return err
		}
		state := store.StateMap{}
		for i, ev := range events {
			nid, err := w.InsertEvent(ctx, store.NewEvent{ID: fmt.Sprintf("$%s-%d", roomID[1:], i), Type: ev.typ,
				StateKeyNID: keys[i], Sender: "@alice:test", Membership: ev.membership, Depth: int64(i + 1), JSON: []byte(ev.json)})
			if err != nil {
				return err
			}
			state[keys[i]] = nid
		}
		snap, err := w.NewSnapshot(ctx, 0, store.StateMap{}, state)
		if err != nil {
			return err
		}
		return w.SetCurrentState(ctx, snap, state)
	})
	if err != nil {
		t.Fatalf("creating %s: %v", roomID, err)
	}
	return room
}

func testDirectory(t *testing.T, s Store) {
	ctx := context.Background()
	if got, err := s.PublishedRooms(ctx, []string{"m.room.name"}); err != nil || len(got) != 0 {
		t.Fatalf("PublishedRooms(empty) = %+v, %v", got, err)
	}
	member := func(user, membership string) dirState {
		return dirState{"m.room.member", user, membership, fmt.Sprintf(`{"content":{"membership":%q}}`, membership)}
	}
	pub := dirRoom(t, s, "!pub:test", []dirState{
		{"m.room.create", "", "", `{"content":{"type":"m.space"}}`},
		{"m.room.name", "", "", `{"content":{"name":"Public"}}`},
		{"m.room.topic", "", "", `{"content":{"topic":"about"}}`},
		{"org.example.keyed", "k", "", `{"content":{}}`},
		member("@alice:test", "join"), member("@bob:test", "join"), member("@carol:test", "invite"), member("@dan:test", "leave"),
	})
	priv := dirRoom(t, s, "!priv:test", []dirState{
		{"m.room.name", "", "", `{"content":{"name":"Private"}}`}, member("@alice:test", "join"),
	})
	bare := dirRoom(t, s, "!bare:test", nil)
	for _, r := range []store.Room{pub, bare} {
		if err := s.SetRoomVisibility(ctx, r.NID, "public"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.PublishedRooms(ctx, []string{"m.room.name", "m.room.create", "org.example.keyed", "m.room.avatar"})
	if err != nil || len(got) != 2 {
		t.Fatalf("PublishedRooms = %+v, %v", got, err)
	}
	slices.SortFunc(got, func(a, b store.PublishedRoom) int { return -cmp.Compare(a.RoomID, b.RoomID) })
	p, b := got[0], got[1]
	if p.RoomID != "!pub:test" || p.Version != "10" || p.JoinedMembers != 2 || len(p.State) != 2 {
		t.Fatalf("published room = %+v", p)
	}
	slices.SortFunc(p.State, func(a, b store.PublishedState) int { return cmp.Compare(a.Type, b.Type) })
	if p.State[0].Type != "m.room.create" || string(p.State[0].JSON) != `{"content":{"type":"m.space"}}` ||
		p.State[1].Type != "m.room.name" || string(p.State[1].JSON) != `{"content":{"name":"Public"}}` || p.State[1].Redacted {
		t.Fatalf("published room state = %+v", p.State)
	}
	if b.RoomID != "!bare:test" || b.JoinedMembers != 0 || len(b.State) != 0 {
		t.Fatalf("bare published room = %+v", b)
	}
	// Without state types, only the rooms and counts.
	if got, err := s.PublishedRooms(ctx, nil); err != nil || len(got) != 2 || len(got[0].State)+len(got[1].State) != 0 {
		t.Fatalf("PublishedRooms(no types) = %+v, %v", got, err)
	}

	// The state of chosen rooms, published or not.
	states, err := s.PublishedRoomsState(ctx, []string{"!pub:test", "!priv:test", "!bare:test", "!nope:test"}, []string{"m.room.name", "m.room.topic"})
	if err != nil || len(states) != 2 || len(states["!pub:test"]) != 2 || len(states["!priv:test"]) != 1 ||
		string(states["!priv:test"][0].JSON) != `{"content":{"name":"Private"}}` || states["!priv:test"][0].Type != "m.room.name" {
		t.Fatalf("PublishedRoomsState = %+v, %v", states, err)
	}
	if states, err := s.PublishedRoomsState(ctx, nil, []string{"m.room.name"}); err != nil || len(states) != 0 {
		t.Fatalf("PublishedRoomsState(no rooms) = %+v, %v", states, err)
	}
	if states, err := s.PublishedRoomsState(ctx, []string{"!pub:test"}, nil); err != nil || len(states) != 0 {
		t.Fatalf("PublishedRoomsState(no types) = %+v, %v", states, err)
	}

	// A redaction of a current state event is reported.
	_, err = s.WriteRoom(ctx, pub.NID, func(w store.RoomWriter) error {
		_, err := w.InsertEvent(ctx, store.NewEvent{ID: "$redact", Type: "m.room.redaction", Sender: "@alice:test", Depth: 20,
			StateBefore: pub.Snapshot, StateAfter: pub.Snapshot, JSON: []byte(`{}`), Redacts: "$pub:test-1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.PublishedRooms(ctx, []string{"m.room.name"})
	for _, r := range got {
		if r.RoomID == "!pub:test" && (len(r.State) != 1 || !r.State[0].Redacted) {
			t.Fatalf("redacted name = %+v", r.State)
		}
	}
	if states, _ := s.PublishedRoomsState(ctx, []string{"!pub:test"}, []string{"m.room.name"}); len(states["!pub:test"]) != 1 || !states["!pub:test"][0].Redacted {
		t.Fatalf("PublishedRoomsState(redacted name) = %+v", states)
	}

	// Unpublishing removes a room; publishing adds one.
	if err := s.SetRoomVisibility(ctx, pub.NID, "private"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRoomVisibility(ctx, priv.NID, "public"); err != nil {
		t.Fatal(err)
	}
	got, err = s.PublishedRooms(ctx, []string{"m.room.name"})
	if err != nil || len(got) != 2 {
		t.Fatalf("PublishedRooms after changes = %+v, %v", got, err)
	}
	ids := []string{got[0].RoomID, got[1].RoomID}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"!bare:test", "!priv:test"}) {
		t.Fatalf("published rooms = %v", ids)
	}
	if err := s.SetRoomVisibility(ctx, 1<<40, "public"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetRoomVisibility(absent room) = %v, want ErrNotFound", err)
	}
}
