package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// syncEv is an event for syncRoom.add: a state event when key is set.
type syncEv struct {
	id, sender string
	key        *spec.StateKeyTuple
	membership string
	ts         int64
}

func msgEv(id, sender string, ts int64) syncEv { return syncEv{id: id, sender: sender, ts: ts} }

func memberEv(id, sender, target, membership string) syncEv {
	return syncEv{id: id, sender: sender, key: &spec.StateKeyTuple{Type: "m.room.member", StateKey: target}, membership: membership}
}

// syncRoom is a room built through the store's write API, with its state
// tracked the way the room engine does it.
type syncRoom struct {
	nid   int64
	state store.StateMap // current state
	snap  int64
	// ev holds every event added: NID, position and snapshots.
	ev map[string]store.Event
}

func newSyncRoom(t *testing.T, s Store, id string, evs ...syncEv) *syncRoom {
	t.Helper()
	r := &syncRoom{state: store.StateMap{}, ev: map[string]store.Event{}}
	ctx := context.Background()
	room, written, err := s.CreateRoom(ctx, store.Room{ID: id, Version: "10", CreatedTS: 1}, func(w store.RoomWriter) error {
		return r.write(t, ctx, w, evs)
	})
	if err != nil {
		t.Fatalf("CreateRoom(%s): %v", id, err)
	}
	r.nid = room.NID
	r.positions(evs, written)
	return r
}

func (r *syncRoom) add(t *testing.T, s Store, evs ...syncEv) {
	t.Helper()
	ctx := context.Background()
	written, err := s.WriteRoom(ctx, r.nid, func(w store.RoomWriter) error { return r.write(t, ctx, w, evs) })
	if err != nil {
		t.Fatalf("WriteRoom: %v", err)
	}
	r.positions(evs, written)
}

func (r *syncRoom) positions(evs []syncEv, written store.Written) {
	for i, e := range evs {
		se := r.ev[e.id]
		se.Pos = written.Positions[i]
		r.ev[e.id] = se
	}
}

func (r *syncRoom) write(t *testing.T, ctx context.Context, w store.RoomWriter, evs []syncEv) error {
	changes := store.StateMap{}
	for _, e := range evs {
		ne := store.NewEvent{Type: "m.room.message", Sender: e.sender, OriginTS: e.ts, Membership: e.membership,
			StateBefore: r.snap, StateAfter: r.snap}
		var key int64
		if e.key != nil {
			keys, err := w.InternStateKeys(ctx, []spec.StateKeyTuple{*e.key})
			if err != nil {
				return err
			}
			key = keys[0]
			ne.Type, ne.StateKeyNID = e.key.Type, key
		}
		nid := roomEvent(t, ctx, w, e.id, ne)
		se := store.Event{NID: nid, ID: e.id, StateBefore: r.snap, StateAfter: r.snap}
		if key != 0 {
			snap, err := w.NewSnapshot(ctx, r.snap, r.state, store.StateMap{key: nid})
			if err != nil {
				return err
			}
			if err := w.SetStateAfter(ctx, nid, snap); err != nil {
				return err
			}
			next := maps.Clone(r.state)
			next[key] = nid
			r.state, r.snap = next, snap
			changes[key] = nid
			se.StateAfter = snap
		}
		r.ev[e.id] = se
	}
	if len(changes) == 0 {
		return nil
	}
	return w.SetCurrentState(ctx, r.snap, changes)
}

func eventIDs(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func testSyncReads(t *testing.T, s Store) {
	ctx := context.Background()
	if pos, err := s.StreamPositions(ctx); err != nil || pos["events"] != 0 {
		t.Fatalf("StreamPositions(empty) = %v, %v", pos, err)
	}
	const alice, bob, carol, dave = "@alice:test", "@bob:test", "@carol:test", "@dave:test"
	create := syncEv{id: "$a-create", sender: alice, key: &spec.StateKeyTuple{Type: "m.room.create"}, ts: 10}
	a := newSyncRoom(t, s, "!a:test", create, memberEv("$a-alice", alice, alice, "join"))
	b := newSyncRoom(t, s, "!b:test", syncEv{id: "$b-create", sender: bob, key: &spec.StateKeyTuple{Type: "m.room.create"}, ts: 10},
		memberEv("$b-bob", bob, bob, "join"))
	for i := range 5 {
		a.add(t, s, msgEv(fmt.Sprintf("$a-m%d", i), alice, int64(100+10*i)))
	}
	b.add(t, s, msgEv("$b-m0", bob, 100), memberEv("$b-alice", alice, alice, "join"), msgEv("$b-m1", alice, 120))
	a.add(t, s, memberEv("$a-carol", alice, carol, "invite"), memberEv("$a-dave", dave, dave, "join"))
	a.add(t, s, memberEv("$a-dave-leave", dave, dave, "leave"), msgEv("$a-last", alice, 500))

	pos, err := s.StreamPositions(ctx)
	last := a.ev["$a-last"].Pos
	if err != nil || pos["events"] != last {
		t.Fatalf("StreamPositions = %v, %v; want events at %d", pos, err, last)
	}

	t.Run("RangeEvents", func(t *testing.T) {
		got, err := s.RangeEvents(ctx, []store.EventRange{
			{RoomNID: a.nid, After: 0, UpTo: last, Limit: 3},
			{RoomNID: b.nid, After: 0, UpTo: b.ev["$b-alice"].Pos, Limit: 10},
		}, false)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"$a-last", "$a-dave-leave", "$a-dave", "$b-alice", "$b-m0", "$b-bob", "$b-create"}
		if ids := eventIDs(got); !slices.Equal(ids, want) {
			t.Fatalf("RangeEvents(backward) = %v, want %v", ids, want)
		}
		got, err = s.RangeEvents(ctx, []store.EventRange{
			{RoomNID: a.nid, After: a.ev["$a-m1"].Pos, UpTo: last, Limit: 2},
			{RoomNID: b.nid, After: b.ev["$b-m0"].Pos, UpTo: last, Limit: 0}, // no limit: nothing
		}, true)
		if err != nil {
			t.Fatal(err)
		}
		if ids := eventIDs(got); !slices.Equal(ids, []string{"$a-m2", "$a-m3"}) {
			t.Fatalf("RangeEvents(forward) = %v", ids)
		}
		// An empty range, unknown rooms and more ranges than one query
		// takes.
		ranges := []store.EventRange{{RoomNID: a.nid, After: last, UpTo: last, Limit: 5}}
		for i := range 150 {
			ranges = append(ranges, store.EventRange{RoomNID: int64(1_000_000 + i), After: 0, UpTo: last, Limit: 5})
		}
		ranges = append(ranges, store.EventRange{RoomNID: b.nid, After: 0, UpTo: last, Limit: 2})
		got, err = s.RangeEvents(ctx, ranges, false)
		if err != nil {
			t.Fatal(err)
		}
		if ids := eventIDs(got); !slices.Equal(ids, []string{"$b-m1", "$b-alice"}) {
			t.Fatalf("RangeEvents(many ranges) = %v", ids)
		}
		if got[0].StateKey != nil || got[1].StateKey == nil || *got[1].StateKey != alice || got[1].Membership != "join" {
			t.Fatalf("RangeEvents rows = %+v", got)
		}
	})

	t.Run("Snapshots", func(t *testing.T) {
		nids := []int64{0, a.snap, b.snap, a.ev["$a-alice"].StateAfter, a.ev["$a-dave"].StateAfter, 987654321, a.snap}
		got, err := s.Snapshots(ctx, nids)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got[987654321]; ok || len(got) != 5 || len(got[0]) != 0 {
			t.Fatalf("Snapshots = %d maps (%v)", len(got), slices.Collect(maps.Keys(got)))
		}
		for _, n := range nids[1:5] {
			one, err := s.Snapshot(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got[n], one) {
				t.Errorf("Snapshots[%d] = %v, Snapshot = %v", n, got[n], one)
			}
		}
		if !maps.Equal(got[a.snap], a.state) {
			t.Errorf("Snapshots[current] = %v, want %v", got[a.snap], a.state)
		}
	})

	t.Run("RoomSummaries", func(t *testing.T) {
		got, err := s.RoomSummaries(ctx, []int64{a.nid, b.nid, a.nid}, alice)
		if err != nil || len(got) != 2 {
			t.Fatalf("RoomSummaries = %+v, %v", got, err)
		}
		if sa := got[0]; sa.RoomNID != a.nid || sa.Joined != 1 || sa.Invited != 1 || !slices.Equal(sa.Heroes, []string{carol}) {
			t.Errorf("summary of a = %+v", sa)
		}
		if sb := got[1]; sb.RoomNID != b.nid || sb.Joined != 2 || sb.Invited != 0 || !slices.Equal(sb.Heroes, []string{bob}) {
			t.Errorf("summary of b = %+v", sb)
		}
		// Without joined or invited others, the heroes are those who left.
		got, err = s.RoomSummaries(ctx, []int64{a.nid}, carol)
		if err != nil || !slices.Equal(got[0].Heroes, []string{alice}) {
			t.Fatalf("summary of a for carol = %+v, %v", got, err)
		}
		lone := newSyncRoom(t, s, "!lone:test", memberEv("$l-alice", alice, alice, "join"), memberEv("$l-dave", dave, dave, "join"))
		lone.add(t, s, memberEv("$l-dave-leave", dave, dave, "leave"))
		got, err = s.RoomSummaries(ctx, []int64{lone.nid}, alice)
		if err != nil || got[0].Joined != 1 || !slices.Equal(got[0].Heroes, []string{dave}) {
			t.Fatalf("summary of a room with only a former member = %+v, %v", got, err)
		}
	})

	t.Run("SharedRoomUsers", func(t *testing.T) {
		got, err := s.SharedRoomUsers(ctx, alice)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, []string{alice, bob}) {
			t.Fatalf("SharedRoomUsers(alice) = %v, %v", got, err)
		}
		if got, err := s.SharedRoomUsers(ctx, carol); err != nil || len(got) != 0 {
			t.Fatalf("SharedRoomUsers(invited only) = %v, %v", got, err)
		}
	})

	t.Run("EventsByTimestamp", func(t *testing.T) {
		got, err := s.EventsByTimestamp(ctx, a.nid, 115, last, true, 2)
		if err != nil || !slices.Equal(eventIDs(got), []string{"$a-m2", "$a-m3"}) {
			t.Fatalf("EventsByTimestamp(forward) = %v, %v", eventIDs(got), err)
		}
		got, err = s.EventsByTimestamp(ctx, a.nid, 115, last, false, 2)
		if err != nil || !slices.Equal(eventIDs(got), []string{"$a-m1", "$a-m0"}) {
			t.Fatalf("EventsByTimestamp(backward) = %v, %v", eventIDs(got), err)
		}
		// upTo hides later events.
		got, err = s.EventsByTimestamp(ctx, a.nid, 450, a.ev["$a-m4"].Pos, true, 5)
		if err != nil || len(got) != 0 {
			t.Fatalf("EventsByTimestamp(after upTo) = %v, %v", eventIDs(got), err)
		}
	})
}
