package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// roomEvent inserts an event with fake JSON (the store does not parse it).
func roomEvent(t *testing.T, ctx context.Context, w store.RoomWriter, id string, e store.NewEvent) int64 {
	t.Helper()
	e.ID = id
	if e.Type == "" {
		e.Type = "m.room.message"
	}
	if e.Sender == "" {
		e.Sender = "@alice:test"
	}
	e.JSON = []byte(fmt.Sprintf(`{"event_id":%q}`, id))
	nid, err := w.InsertEvent(ctx, e)
	if err != nil {
		t.Fatalf("InsertEvent(%s): %v", id, err)
	}
	return nid
}

func testRoomsBasics(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.RoomByID(ctx, "!nope:test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RoomByID(absent) = %v, want ErrNotFound", err)
	}
	var createNID, joinNID, msgNID int64
	var memberKey int64
	room, written, err := s.CreateRoom(ctx, store.Room{ID: "!r:test", Version: "10", CreatedTS: 5}, func(w store.RoomWriter) error {
		keys, err := w.InternStateKeys(ctx, []spec.StateKeyTuple{{Type: "m.room.create"}, {Type: "m.room.member", StateKey: "@alice:test"}})
		if err != nil {
			return err
		}
		memberKey = keys[1]
		// Interning again returns the same NIDs.
		again, err := w.InternStateKeys(ctx, []spec.StateKeyTuple{{Type: "m.room.member", StateKey: "@alice:test"}})
		if err != nil || again[0] != keys[1] {
			t.Errorf("InternStateKeys again = %v, %v; want %d", again, err, keys[1])
		}
		createNID = roomEvent(t, ctx, w, "$create", store.NewEvent{Type: "m.room.create", StateKeyNID: keys[0], Depth: 1})
		s1, err := w.NewSnapshot(ctx, 0, store.StateMap{}, store.StateMap{keys[0]: createNID})
		if err != nil {
			return err
		}
		if err := w.SetStateAfter(ctx, createNID, s1); err != nil {
			return err
		}
		joinNID = roomEvent(t, ctx, w, "$join", store.NewEvent{Type: "m.room.member", StateKeyNID: keys[1], Membership: "join",
			Depth: 2, StateBefore: s1, PrevIDs: []string{"$create"}, AuthIDs: []string{"$create"}})
		base := store.StateMap{keys[0]: createNID}
		s2, err := w.NewSnapshot(ctx, s1, base, store.StateMap{keys[1]: joinNID})
		if err != nil {
			return err
		}
		if err := w.SetStateAfter(ctx, joinNID, s2); err != nil {
			return err
		}
		msgNID = roomEvent(t, ctx, w, "$msg", store.NewEvent{Depth: 3, StateBefore: s2, StateAfter: s2, PrevIDs: []string{"$join"},
			Txn: &store.Txn{UserID: "@alice:test", DeviceID: "DEV", Key: "send/m1", ID: "m1"}})
		if err := w.SetCurrentState(ctx, s2, store.StateMap{keys[0]: createNID, keys[1]: joinNID}); err != nil {
			return err
		}
		if err := w.SetExtremities(ctx, nil, []int64{msgNID}); err != nil {
			return err
		}
		if id, ok, err := w.TxnEvent(ctx, store.Txn{UserID: "@alice:test", DeviceID: "DEV", Key: "send/m1"}); err != nil || !ok || id != "$msg" {
			t.Errorf("TxnEvent in transaction = %q, %v, %v", id, ok, err)
		}
		return w.CreateAlias(ctx, "#r:test", "@alice:test")
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(written.Positions) != 3 || written.Positions[0] >= written.Positions[1] || written.Positions[1] >= written.Positions[2] {
		t.Fatalf("positions = %v, want 3 increasing", written.Positions)
	}
	if room.NID == 0 || room.Snapshot == 0 || room.Visibility != "private" {
		t.Fatalf("CreateRoom = %+v", room)
	}
	if _, _, err := s.CreateRoom(ctx, store.Room{ID: "!r:test", Version: "10"}, func(store.RoomWriter) error { return nil }); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateRoom(twice) = %v, want ErrConflict", err)
	}
	got, err := s.RoomByID(ctx, "!r:test")
	if err != nil || got != room {
		t.Fatalf("RoomByID = %+v, %v; want %+v", got, err, room)
	}

	evs, err := s.EventsByID(ctx, []string{"$msg", "$join", "$absent"})
	if err != nil || len(evs) != 2 {
		t.Fatalf("EventsByID = %+v, %v", evs, err)
	}
	byID := map[string]store.Event{}
	for _, e := range evs {
		byID[e.ID] = e
	}
	if m := byID["$msg"]; m.TxnID != "m1" || m.TxnDevice != "DEV" || m.Pos != written.Positions[2] || m.StateKey != nil || m.NID != msgNID {
		t.Fatalf("message event = %+v", m)
	}
	if j := byID["$join"]; j.StateKey == nil || *j.StateKey != "@alice:test" || j.Membership != "join" || j.StateAfter == j.StateBefore {
		t.Fatalf("join event = %+v", j)
	}
	st, err := s.Snapshot(ctx, room.Snapshot)
	if err != nil || len(st) != 2 || st[memberKey] != joinNID || !slices.Contains(slices.Collect(maps.Values(st)), createNID) {
		t.Fatalf("Snapshot = %v, %v", st, err)
	}
	cur, err := s.CurrentState(ctx, room.NID, nil)
	if err != nil || len(cur) != 2 {
		t.Fatalf("CurrentState = %+v, %v", cur, err)
	}
	members, err := s.CurrentState(ctx, room.NID, []string{"m.room.member"})
	if err != nil || len(members) != 1 || members[0].EventNID != joinNID || members[0].StateKey.StateKey != "@alice:test" || members[0].NID != memberKey {
		t.Fatalf("CurrentState(member) = %+v, %v", members, err)
	}
	ms, err := s.UserMemberships(ctx, "@alice:test")
	if err != nil || len(ms) != 1 || ms[0].Membership != "join" || ms[0].RoomID != "!r:test" || ms[0].EventPos != written.Positions[1] {
		t.Fatalf("UserMemberships = %+v, %v", ms, err)
	}
	if m, err := s.RoomMembership(ctx, room.NID, "@alice:test"); err != nil || m.EventNID != joinNID {
		t.Fatalf("RoomMembership = %+v, %v", m, err)
	}
	if _, err := s.RoomMembership(ctx, room.NID, "@bob:test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RoomMembership(absent) = %v", err)
	}
	if ev, err := s.LastMembershipEvent(ctx, room.NID, "@alice:test", "join"); err != nil || ev.ID != "$join" {
		t.Fatalf("LastMembershipEvent = %+v, %v", ev, err)
	}
	if ev, err := s.LatestEventAt(ctx, room.NID, written.Positions[1]); err != nil || ev.ID != "$join" {
		t.Fatalf("LatestEventAt = %+v, %v", ev, err)
	}
	keys, err := s.StateKeyNIDs(ctx, []spec.StateKeyTuple{{Type: "m.room.member", StateKey: "@alice:test"}, {Type: "x"}})
	if err != nil || len(keys) != 1 || keys[spec.StateKeyTuple{Type: "m.room.member", StateKey: "@alice:test"}] != memberKey {
		t.Fatalf("StateKeyNIDs = %v, %v", keys, err)
	}
	if ks, err := s.StateKeys(ctx, []int64{memberKey}); err != nil || len(ks) != 1 || ks[0].StateKey != "@alice:test" {
		t.Fatalf("StateKeys = %+v, %v", ks, err)
	}

	// A failed write transaction stores nothing.
	boom := errors.New("boom")
	_, err = s.WriteRoom(ctx, room.NID, func(w store.RoomWriter) error {
		roomEvent(t, ctx, w, "$lost", store.NewEvent{Depth: 4, StateBefore: room.Snapshot, StateAfter: room.Snapshot})
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WriteRoom = %v, want boom", err)
	}
	if evs, _ := s.EventsByID(ctx, []string{"$lost"}); len(evs) != 0 {
		t.Fatal("an event of a failed transaction was stored")
	}
	if _, err := s.WriteRoom(ctx, 999999, func(store.RoomWriter) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("WriteRoom(absent) = %v, want ErrNotFound", err)
	}

	// Extremities, transaction IDs, the message read back inside a write.
	_, err = s.WriteRoom(ctx, room.NID, func(w store.RoomWriter) error {
		x, err := w.Extremities(ctx)
		if err != nil || len(x) != 1 || x[0].EventID != "$msg" || x[0].Depth != 3 {
			t.Errorf("Extremities = %+v, %v", x, err)
		}
		_, err = w.InsertEvent(ctx, store.NewEvent{ID: "$dup-txn", Type: "m", Sender: "@alice:test", JSON: []byte("{}"),
			Txn: &store.Txn{UserID: "@alice:test", DeviceID: "DEV", Key: "send/m1", ID: "m1"}})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("InsertEvent(same transaction) = %v, want ErrConflict", err)
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("expected the rollback error")
	}
	if _, err := s.WriteRoom(ctx, room.NID, func(w store.RoomWriter) error {
		_, err := w.InsertEvent(ctx, store.NewEvent{ID: "$msg", Type: "m", Sender: "@a:test", JSON: []byte("{}")})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("InsertEvent(existing ID) = %v, want ErrConflict", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Aliases.
	if a, err := s.AliasRoom(ctx, "#r:test"); err != nil || a.RoomID != "!r:test" || a.Creator != "@alice:test" {
		t.Fatalf("AliasRoom = %+v, %v", a, err)
	}
	if err := s.CreateAlias(ctx, store.Alias{Alias: "#r:test", RoomNID: room.NID, Creator: "@b:test"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAlias(taken) = %v", err)
	}
	if err := s.CreateAlias(ctx, store.Alias{Alias: "#a:test", RoomNID: room.NID, Creator: "@b:test"}); err != nil {
		t.Fatal(err)
	}
	if as, err := s.RoomAliases(ctx, room.NID); err != nil || !slices.Equal(as, []string{"#a:test", "#r:test"}) {
		t.Fatalf("RoomAliases = %v, %v", as, err)
	}
	if err := s.DeleteAlias(ctx, "#a:test"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAlias(ctx, "#a:test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteAlias(absent) = %v", err)
	}
	room2, _, err := s.CreateRoom(ctx, store.Room{ID: "!r2:test", Version: "10", Visibility: "public"}, func(store.RoomWriter) error { return nil })
	if err != nil || room2.Visibility != "public" {
		t.Fatalf("CreateRoom(public) = %+v, %v", room2, err)
	}
	if err := s.MoveAliases(ctx, room.NID, room2.NID); err != nil {
		t.Fatal(err)
	}
	if a, err := s.AliasRoom(ctx, "#r:test"); err != nil || a.RoomID != "!r2:test" {
		t.Fatalf("AliasRoom after move = %+v, %v", a, err)
	}
	if err := s.SetRoomVisibility(ctx, room2.NID, "private"); err != nil {
		t.Fatal(err)
	}
	if rs, err := s.RoomsByNID(ctx, []int64{room.NID, room2.NID}); err != nil || len(rs) != 2 {
		t.Fatalf("RoomsByNID = %+v, %v", rs, err)
	}
}

// testRoomsMemberships drives memberships through current-state changes,
// including forgetting, and the membership and timeline queries.
func testRoomsMemberships(t *testing.T, s Store) {
	ctx := context.Background()
	n := 0
	// member writes one member event for user and makes it current.
	member := func(w store.RoomWriter, user, membership string) {
		t.Helper()
		keys, err := w.InternStateKeys(ctx, []spec.StateKeyTuple{{Type: "m.room.member", StateKey: user}})
		if err != nil {
			t.Fatal(err)
		}
		n++
		room := w.Room()
		base, err := w.Snapshot(ctx, room.Snapshot)
		if err != nil {
			t.Fatal(err)
		}
		nid := roomEvent(t, ctx, w, fmt.Sprintf("$m%d", n), store.NewEvent{Type: "m.room.member", StateKeyNID: keys[0],
			Membership: membership, Depth: int64(n), StateBefore: room.Snapshot, StateAfter: room.Snapshot})
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
	}
	room, _, err := s.CreateRoom(ctx, store.Room{ID: "!m:test", Version: "10"}, func(w store.RoomWriter) error {
		member(w, "@alice:test", "join")
		member(w, "@bob:test", "invite")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	write := func(fn func(w store.RoomWriter)) {
		t.Helper()
		if _, err := s.WriteRoom(ctx, room.NID, func(w store.RoomWriter) error { fn(w); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	write(func(w store.RoomWriter) { member(w, "@bob:test", "join") })
	write(func(w store.RoomWriter) { member(w, "@bob:test", "leave") })
	joined, err := s.RoomMemberships(ctx, room.NID, []string{"join"})
	if err != nil || len(joined) != 1 || joined[0].UserID != "@alice:test" {
		t.Fatalf("RoomMemberships(join) = %+v, %v", joined, err)
	}
	if err := s.ForgetRoom(ctx, room.NID, "@bob:test"); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetRoom(ctx, room.NID, "@carol:test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ForgetRoom(no membership) = %v", err)
	}
	if m, _ := s.RoomMembership(ctx, room.NID, "@bob:test"); !m.Forgotten || m.Membership != "leave" {
		t.Fatalf("membership after forget = %+v", m)
	}
	// A ban keeps the room forgotten; an invite brings it back.
	write(func(w store.RoomWriter) { member(w, "@bob:test", "ban") })
	if m, _ := s.RoomMembership(ctx, room.NID, "@bob:test"); !m.Forgotten || m.Membership != "ban" {
		t.Fatalf("membership after ban = %+v", m)
	}
	write(func(w store.RoomWriter) { member(w, "@bob:test", "invite") })
	if m, _ := s.RoomMembership(ctx, room.NID, "@bob:test"); m.Forgotten || m.Membership != "invite" {
		t.Fatalf("membership after invite = %+v", m)
	}
	all, err := s.RoomMemberships(ctx, room.NID, nil)
	if err != nil || len(all) != 2 {
		t.Fatalf("RoomMemberships = %+v, %v", all, err)
	}

	evs, err := s.MembershipEvents(ctx, "@bob:test", 0, 1<<60)
	if err != nil || len(evs) != 5 {
		t.Fatalf("MembershipEvents = %d events, %v; want 5", len(evs), err)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Pos <= evs[i-1].Pos {
			t.Fatalf("MembershipEvents not oldest first: %d then %d", evs[i-1].Pos, evs[i].Pos)
		}
	}
	if ev, err := s.LastMembershipEvent(ctx, room.NID, "@bob:test", "join"); err != nil || ev.Membership != "join" {
		t.Fatalf("LastMembershipEvent = %+v, %v", ev, err)
	}
	if _, err := s.LastMembershipEvent(ctx, room.NID, "@carol:test", "join"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastMembershipEvent(none) = %v", err)
	}
	// Removing a key through a state change removes the membership.
	write(func(w store.RoomWriter) {
		keys, _ := w.InternStateKeys(ctx, []spec.StateKeyTuple{{Type: "m.room.member", StateKey: "@bob:test"}})
		cur, _ := w.Snapshot(ctx, w.Room().Snapshot)
		snap, err := w.NewSnapshot(ctx, w.Room().Snapshot, cur, store.StateMap{keys[0]: 0})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.SetCurrentState(ctx, snap, store.StateMap{keys[0]: 0}); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := s.RoomMembership(ctx, room.NID, "@bob:test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("membership of a removed key = %v, want ErrNotFound", err)
	}
	if cur, _ := s.CurrentState(ctx, room.NID, []string{"m.room.member"}); len(cur) != 1 {
		t.Fatalf("current members after removal = %+v", cur)
	}
}

// testRoomsTimeline checks RoomEvents' window per room.
func testRoomsTimeline(t *testing.T, s Store) {
	ctx := context.Background()
	var rooms []store.Room
	for r := 0; r < 3; r++ {
		room, _, err := s.CreateRoom(ctx, store.Room{ID: fmt.Sprintf("!t%d:test", r), Version: "10"}, func(w store.RoomWriter) error {
			for i := 0; i < 5; i++ {
				roomEvent(t, ctx, w, fmt.Sprintf("$t%d-%d", r, i), store.NewEvent{Depth: int64(i + 1)})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, room)
	}
	nids := []int64{rooms[0].NID, rooms[2].NID}
	all, err := s.RoomEvents(ctx, nids, 0, 1<<60, 0)
	if err != nil || len(all) != 10 {
		t.Fatalf("RoomEvents(no limit) = %d, %v", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Pos >= all[i-1].Pos {
			t.Fatal("RoomEvents is not newest first")
		}
	}
	last2, err := s.RoomEvents(ctx, nids, 0, 1<<60, 2)
	if err != nil || len(last2) != 4 {
		t.Fatalf("RoomEvents(limit 2) = %d, %v", len(last2), err)
	}
	got := map[string]bool{}
	for _, e := range last2 {
		got[e.ID] = true
	}
	for _, want := range []string{"$t0-3", "$t0-4", "$t2-3", "$t2-4"} {
		if !got[want] {
			t.Fatalf("RoomEvents(limit 2) lacks %s: %v", want, got)
		}
	}
	// A window: after the second event of room 0, up to its fourth.
	ev1, _ := s.EventsByID(ctx, []string{"$t0-1", "$t0-3"})
	slices.SortFunc(ev1, func(a, b store.Event) int { return int(a.Pos - b.Pos) })
	mid, err := s.RoomEvents(ctx, []int64{rooms[0].NID}, ev1[0].Pos, ev1[1].Pos, 10)
	if err != nil || len(mid) != 2 || mid[0].ID != "$t0-3" || mid[1].ID != "$t0-2" {
		t.Fatalf("RoomEvents(window) = %+v, %v", mid, err)
	}
}

// testSnapshotDeltas stores hundreds of snapshots derived from random
// earlier ones (a DAG, as forks and state resolution make) with random
// additions, replacements and removals, and checks that every snapshot
// reads back exactly.
func testSnapshotDeltas(t *testing.T, s Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	type snap struct {
		nid   int64
		state store.StateMap
	}
	snaps := []snap{{0, store.StateMap{}}}
	room, _, err := s.CreateRoom(ctx, store.Room{ID: "!snap:test", Version: "10"}, func(w store.RoomWriter) error {
		for i := 0; i < 400; i++ {
			// Mostly extend the latest snapshot; sometimes fork from an
			// older one.
			parent := snaps[len(snaps)-1]
			if rng.IntN(5) == 0 {
				parent = snaps[rng.IntN(len(snaps))]
			}
			changes := store.StateMap{}
			for c := 0; c < 1+rng.IntN(3); c++ {
				k := int64(1 + rng.IntN(60))
				if _, ok := parent.state[k]; ok && rng.IntN(4) == 0 {
					changes[k] = 0
				} else {
					changes[k] = int64(1 + rng.IntN(1000))
				}
			}
			if rng.IntN(40) == 0 { // a big change, as a resolution may make
				for k := int64(1); k < 40; k++ {
					changes[k] = int64(1000 + rng.IntN(1000))
				}
			}
			nid, err := w.NewSnapshot(ctx, parent.nid, parent.state, changes)
			if err != nil {
				return err
			}
			next := maps.Clone(parent.state)
			for k, ev := range changes {
				if ev == 0 {
					delete(next, k)
				} else {
					next[k] = ev
				}
			}
			snaps = append(snaps, snap{nid, next})
			// Reads inside the transaction see the new snapshot.
			if i%50 == 0 {
				got, err := w.Snapshot(ctx, nid)
				if err != nil || !maps.Equal(got, next) {
					t.Errorf("Snapshot in transaction %d = %v, %v", nid, got, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range snaps[1:] {
		got, err := s.Snapshot(ctx, sn.nid)
		if err != nil {
			t.Fatalf("Snapshot(%d): %v", sn.nid, err)
		}
		if !maps.Equal(got, sn.state) {
			t.Fatalf("Snapshot(%d) = %v, want %v", sn.nid, got, sn.state)
		}
	}
	if got, err := s.Snapshot(ctx, 0); err != nil || len(got) != 0 {
		t.Fatalf("Snapshot(0) = %v, %v", got, err)
	}
	if _, err := s.Snapshot(ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Snapshot(absent) = %v, want ErrNotFound", err)
	}
	// Memoized resolutions.
	_, err = s.WriteRoom(ctx, room.NID, func(w store.RoomWriter) error {
		in := []int64{snaps[3].nid, snaps[9].nid}
		if _, ok, err := w.Resolution(ctx, in); err != nil || ok {
			t.Errorf("Resolution(new) = %v, %v", ok, err)
		}
		if err := w.SaveResolution(ctx, in, snaps[12].nid); err != nil {
			return err
		}
		if err := w.SaveResolution(ctx, in, snaps[12].nid); err != nil {
			return err
		}
		if got, ok, err := w.Resolution(ctx, in); err != nil || !ok || got != snaps[12].nid {
			t.Errorf("Resolution = %d, %v, %v", got, ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testConcurrentRoomWrites has many goroutines write to one room at once:
// every event persists, with distinct stream positions that increase in
// commit order, and each writer sees the previous writers' extremity.
func testConcurrentRoomWrites(t *testing.T, s Store) {
	ctx := context.Background()
	room, _, err := s.CreateRoom(ctx, store.Room{ID: "!c:test", Version: "10"}, func(w store.RoomWriter) error {
		nid := roomEvent(t, ctx, w, "$c0", store.NewEvent{Depth: 1})
		return w.SetExtremities(ctx, nil, []int64{nid})
	})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 10
	var mu sync.Mutex
	var positions []int64
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("$c-%d-%d", g, i)
				written, err := s.WriteRoom(ctx, room.NID, func(w store.RoomWriter) error {
					x, err := w.Extremities(ctx)
					if err != nil {
						return err
					}
					if len(x) != 1 {
						return fmt.Errorf("%d extremities, want 1: writers of one room overlapped", len(x))
					}
					nid, err := w.InsertEvent(ctx, store.NewEvent{ID: id, Type: "m", Sender: "@a:test", Depth: x[0].Depth + 1,
						JSON: []byte("{}"), PrevIDs: []string{x[0].EventID}})
					if err != nil {
						return err
					}
					return w.SetExtremities(ctx, []int64{x[0].EventNID}, []int64{nid})
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				positions = append(positions, written.Positions...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(positions) != writers*each {
		t.Fatalf("%d positions, want %d", len(positions), writers*each)
	}
	slices.Sort(positions)
	if len(slices.Compact(slices.Clone(positions))) != len(positions) {
		t.Fatal("two events share a stream position")
	}
	evs, err := s.RoomEvents(ctx, []int64{room.NID}, 0, 1<<60, 0)
	if err != nil || len(evs) != writers*each+1 {
		t.Fatalf("RoomEvents = %d events, %v", len(evs), err)
	}
	// Stream order is commit order: each event's depth is one more than
	// the previous event's.
	for i := 1; i < len(evs); i++ {
		if evs[i-1].Depth != evs[i].Depth+1 {
			t.Fatalf("stream order differs from commit order at %s (depth %d) after depth %d", evs[i].ID, evs[i].Depth, evs[i-1].Depth)
		}
	}
}
