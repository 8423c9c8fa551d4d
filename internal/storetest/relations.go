package storetest

import (
	"context"
	"fmt"
	"testing"

	"myelin/internal/store"
)

// testRelations checks the relations index: children by parent, type and
// depth, pagination bounds, threads, and that relations across rooms, to
// unknown parents or from redacted children are ignored.
func testRelations(t *testing.T, s Store) {
	ctx := context.Background()
	type ev struct {
		id, typ, sender string
		rel             *store.Relation
		redacts         string
	}
	rel := func(typ, target string) *store.Relation { return &store.Relation{RelType: typ, TargetID: target} }
	write := func(roomID string, evs []ev) store.Room {
		t.Helper()
		r, _, err := s.CreateRoom(ctx, store.Room{ID: roomID, Version: "10"}, func(w store.RoomWriter) error {
			for i, e := range evs {
				if e.typ == "" {
					e.typ = "m.room.message"
				}
				if e.sender == "" {
					e.sender = "@alice:test"
				}
				_, err := w.InsertEvent(ctx, store.NewEvent{ID: e.id, Type: e.typ, Sender: e.sender, Depth: int64(i + 1),
					Relation: e.rel, Redacts: e.redacts, JSON: fmt.Appendf(nil, `{"event_id":%q}`, e.id)})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	room := write("!rel:test", []ev{
		{id: "$root"},
		{id: "$t1", rel: rel("m.thread", "$root")},
		{id: "$t2", typ: "m.dummy", sender: "@bob:test", rel: rel("m.thread", "$root")},
		{id: "$e1", rel: rel("m.replace", "$root")},
		{id: "$r1", rel: rel("m.reference", "$t1")},
		{id: "$x1", rel: rel("m.thread", "$nope")},
		{id: "$t3", sender: "@carol:test", rel: rel("m.thread", "$root")},
		{id: "$red", typ: "m.room.redaction", redacts: "$t3"},
	})
	write("!other:test", []ev{{id: "$o1", rel: rel("m.thread", "$root")}})
	all, err := s.EventsByID(ctx, []string{"$t1", "$t2", "$e1", "$r1"})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int64{}
	nid := map[string]int64{}
	for _, e := range all {
		pos[e.ID], nid[e.ID] = e.Pos, e.NID
	}
	ids := func(evs []store.Event) string {
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		name string
		q    store.RelationsQuery
		want string
	}{
		{"direct", store.RelationsQuery{Depth: 1, Limit: 10}, "[$e1 $t2 $t1]"},
		{"rel type", store.RelationsQuery{RelType: "m.thread", Depth: 1, Limit: 10}, "[$t2 $t1]"},
		{"rel and event type", store.RelationsQuery{RelType: "m.thread", EventType: "m.room.message", Depth: 1, Limit: 10}, "[$t1]"},
		{"recursive", store.RelationsQuery{Depth: 3, Limit: 10}, "[$r1 $e1 $t2 $t1]"},
		{"recursive filtered", store.RelationsQuery{RelType: "m.thread", Depth: 3, Limit: 10}, "[$t2 $t1]"},
		{"forward page", store.RelationsQuery{Depth: 1, Forward: true, Limit: 2}, "[$t1 $t2]"},
		{"forward after", store.RelationsQuery{Depth: 1, Forward: true, After: pos["$t1"], Limit: 10}, "[$t2 $e1]"},
		{"backward up to", store.RelationsQuery{Depth: 1, UpTo: pos["$t2"], Limit: 10}, "[$t2 $t1]"},
		{"window", store.RelationsQuery{Depth: 1, After: pos["$t1"], UpTo: pos["$t2"], Limit: 10}, "[$t2]"},
	} {
		tc.q.RoomNID, tc.q.TargetID = room.NID, "$root"
		got, err := s.RelatedEvents(ctx, tc.q)
		if err != nil || ids(got) != tc.want {
			t.Errorf("%s: RelatedEvents = %s, %v; want %s", tc.name, ids(got), err, tc.want)
		}
	}
	if got, err := s.RelatedEvents(ctx, store.RelationsQuery{RoomNID: room.NID, TargetID: "$nope", Depth: 1, Limit: 10}); err != nil || len(got) != 1 {
		t.Errorf("children of an unknown event = %s, %v (the index keeps them)", ids(got), err)
	}

	roots, err := s.ThreadRoots(ctx, store.ThreadsQuery{RoomNID: room.NID, Limit: 10})
	if err != nil || len(roots) != 1 || roots[0].LatestPos != pos["$t2"] {
		t.Fatalf("ThreadRoots = %+v, %v; want $root with latest %d", roots, err, pos["$t2"])
	}
	for _, tc := range []struct {
		q    store.ThreadsQuery
		want int
	}{
		{store.ThreadsQuery{Participant: "@bob:test", Limit: 10}, 1},
		{store.ThreadsQuery{Participant: "@alice:test", Limit: 10}, 1}, // sent the root
		{store.ThreadsQuery{Participant: "@carol:test", Limit: 10}, 0}, // only a redacted reply
		{store.ThreadsQuery{UpTo: pos["$t2"] - 1, Limit: 10}, 0},
		{store.ThreadsQuery{UpTo: pos["$t2"], Limit: 10}, 1},
		{store.ThreadsQuery{Limit: 0}, 0},
	} {
		tc.q.RoomNID = room.NID
		if got, err := s.ThreadRoots(ctx, tc.q); err != nil || len(got) != tc.want {
			t.Errorf("ThreadRoots(%+v) = %+v, %v; want %d", tc.q, got, err, tc.want)
		}
	}

	sums, err := s.ThreadSummaries(ctx, []string{"$root", "$t1", "$nope"}, "@bob:test")
	if err != nil || len(sums) != 1 {
		t.Fatalf("ThreadSummaries = %+v, %v", sums, err)
	}
	if sum := sums["$root"]; sum.Count != 2 || sum.LatestNID != nid["$t2"] || !sum.Participated {
		t.Errorf("summary of $root = %+v, want 2 replies, latest $t2, participated", sum)
	}
	if sums, _ := s.ThreadSummaries(ctx, []string{"$root"}, "@carol:test"); sums["$root"].Participated {
		t.Errorf("carol participated through a redacted reply")
	}
	refs, err := s.RelationChildren(ctx, []string{"$root", "$t1"}, "m.reference")
	if err != nil || len(refs) != 1 || refs[0] != (store.RelationChild{TargetID: "$t1", EventNID: nid["$r1"], EventID: "$r1"}) {
		t.Errorf("RelationChildren(m.reference) = %+v, %v", refs, err)
	}
	edits, err := s.RelationChildren(ctx, []string{"$root"}, "m.replace")
	if err != nil || len(edits) != 1 || edits[0].EventID != "$e1" {
		t.Errorf("RelationChildren(m.replace) = %+v, %v", edits, err)
	}
}
