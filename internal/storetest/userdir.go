package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// stateWrite makes a state event with the given content current in the
// room being written.
func stateWrite(t *testing.T, ctx context.Context, w store.RoomWriter, id, typ, stateKey, membership, content string) int64 {
	t.Helper()
	keys, err := w.InternStateKeys(ctx, []spec.StateKeyTuple{{Type: typ, StateKey: stateKey}})
	if err != nil {
		t.Fatal(err)
	}
	room := w.Room()
	base, err := w.Snapshot(ctx, room.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	nid, err := w.InsertEvent(ctx, store.NewEvent{ID: id, Type: typ, StateKeyNID: keys[0], Sender: "@alice:test",
		Membership: membership, Depth: 1, StateBefore: room.Snapshot, StateAfter: room.Snapshot,
		JSON: fmt.Appendf(nil, `{"event_id":%q,"type":%q,"state_key":%q,"content":%s}`, id, typ, stateKey, content)})
	if err != nil {
		t.Fatalf("InsertEvent(%s): %v", id, err)
	}
	change := store.StateMap{keys[0]: nid}
	snap, err := w.NewSnapshot(ctx, room.Snapshot, base, change)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetStateAfter(ctx, nid, snap); err != nil {
		t.Fatal(err)
	}
	if err := w.SetCurrentState(ctx, snap, change); err != nil {
		t.Fatal(err)
	}
	return nid
}

// testUserDirectoryScope checks OpenRooms and the scope of SearchProfiles:
// a searcher finds the users of open rooms and those sharing a joined room
// with them, never users who only share an invite or a left room.
func testUserDirectoryScope(t *testing.T, s Store) {
	ctx := context.Background()
	mustAccount(t, s, "alice", "bob", "carol", "dave", "eve", "frank")
	n := 0
	room := func(id string, states ...[4]string) int64 {
		t.Helper()
		r, _, err := s.CreateRoom(ctx, store.Room{ID: id, Version: "10"}, func(w store.RoomWriter) error {
			for _, st := range states {
				n++
				stateWrite(t, ctx, w, fmt.Sprintf("$u%d", n), st[0], st[1], st[2], st[3])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return r.NID
	}
	join := func(user string) [4]string {
		return [4]string{"m.room.member", user, "join", `{"membership":"join"}`}
	}
	public := room("!public:test", [4]string{"m.room.join_rules", "", "", `{"join_rule":"public"}`}, join("@alice:test"))
	readable := room("!readable:test", [4]string{"m.room.join_rules", "", "", `{"join_rule":"invite"}`},
		[4]string{"m.room.history_visibility", "", "", `{"history_visibility":"world_readable"}`}, join("@dave:test"))
	room("!private:test", [4]string{"m.room.join_rules", "", "", `{"join_rule":"invite"}`},
		join("@bob:test"), join("@carol:test"), [4]string{"m.room.member", "@eve:test", "invite", `{"membership":"invite"}`})
	// A knock room with a join rule of the wrong type is not open.
	room("!odd:test", [4]string{"m.room.join_rules", "", "", `{"join_rule":["public"]}`}, join("@frank:test"))

	open, err := s.OpenRooms(ctx)
	if err != nil || !slices.Equal(open, []int64{public, readable}) {
		t.Fatalf("OpenRooms = %v, %v; want [%d %d]", open, err, public, readable)
	}
	search := func(searcher string) string {
		t.Helper()
		res, err := s.SearchProfiles(ctx, "", &store.DirectoryScope{Searcher: searcher, Server: "test", OpenRooms: open}, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range res {
			out = append(out, p.Localpart)
		}
		return fmt.Sprint(out)
	}
	for searcher, want := range map[string]string{
		"@bob:test":    "[alice carol dave]", // open rooms, and carol through the shared room; not himself
		"@carol:test":  "[alice bob dave]",
		"@eve:test":    "[alice dave]", // an invite shares nothing
		"@alice:test":  "[alice dave]", // in an open room herself
		"@nobody:test": "[alice dave]",
	} {
		if got := search(searcher); got != want {
			t.Errorf("search by %s = %s, want %s", searcher, got, want)
		}
	}
	// Without open rooms, only shared rooms count.
	res, err := s.SearchProfiles(ctx, "", &store.DirectoryScope{Searcher: "@bob:test", Server: "test"}, 10)
	if err != nil || len(res) != 1 || res[0].Localpart != "carol" {
		t.Fatalf("search without open rooms = %+v, %v", res, err)
	}
}
