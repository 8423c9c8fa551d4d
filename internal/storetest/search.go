package storetest

import (
	"context"
	"fmt"
	"testing"

	"myelin/internal/store"
)

// testSearch checks the search index: words matched as substrings of the
// lower-cased value, keys, type and sender filters, room bounds, paging,
// counting, and redacted events left out.
func testSearch(t *testing.T, s Store) {
	ctx := context.Background()
	type ev struct {
		id, typ, sender, key, value, redacts string
	}
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
				ne := store.NewEvent{ID: e.id, Type: e.typ, Sender: e.sender, Depth: int64(i + 1), Redacts: e.redacts,
					JSON: fmt.Appendf(nil, `{"event_id":%q}`, e.id)}
				if e.key != "" {
					ne.Search = []store.SearchText{{Key: e.key, Value: e.value}}
				}
				if _, err := w.InsertEvent(ctx, ne); err != nil {
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
	const body, name = "content.body", "content.name"
	r1 := write("!s1:test", []ev{
		{id: "$a", key: body, value: "hello world"},
		{id: "$b", key: body, value: "message number 4", sender: "@bob:test"},
		{id: "$c", key: body, value: "message number 14"},
		{id: "$n", typ: "m.room.name", key: name, value: "the hello room"},
		{id: "$d", key: body, value: "100% sure_thing"},
		{id: "$e", key: body, value: "hello, to be redacted"},
		{id: "$red", typ: "m.room.redaction", redacts: "$e"},
	})
	r2 := write("!s2:test", []ev{{id: "$x", key: body, value: "hello there"}, {id: "$y", key: body, value: "hello again"}})
	all := []int64{r1.NID, r2.NID}
	ids := func(evs []store.Event) string {
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		name  string
		q     store.SearchQuery
		want  string
		count int
	}{
		{"one word, all keys", store.SearchQuery{Words: []string{"hello"}}, "[$y $x $n $a]", 4},
		{"body only", store.SearchQuery{Words: []string{"hello"}, Keys: []string{body}}, "[$y $x $a]", 3},
		{"every word", store.SearchQuery{Words: []string{"message", "4"}}, "[$c $b]", 2},
		{"wildcards literal", store.SearchQuery{Words: []string{"%"}}, "[$d]", 1},
		{"underscore literal", store.SearchQuery{Words: []string{"e_t"}}, "[$d]", 1},
		{"senders", store.SearchQuery{Words: []string{"message"}, Senders: []string{"@bob:test"}}, "[$b]", 1},
		{"not senders", store.SearchQuery{Words: []string{"message"}, NotSenders: []string{"@bob:test"}}, "[$c]", 1},
		{"types glob", store.SearchQuery{Words: []string{"hello"}, Types: []string{"m.room.n*"}}, "[$n]", 1},
		{"not types", store.SearchQuery{Words: []string{"hello"}, NotTypes: []string{"m.room.message"}}, "[$n]", 1},
		{"no types", store.SearchQuery{Words: []string{"hello"}, Types: []string{}}, "[]", 0},
		{"page", store.SearchQuery{Words: []string{"hello"}, Limit: 2}, "[$y $x]", 4},
		{"no words", store.SearchQuery{}, "[]", 0},
	} {
		if tc.q.Limit == 0 {
			tc.q.Limit = 10
		}
		tc.q.Rooms = all
		got, count, err := s.SearchEvents(ctx, tc.q)
		if err != nil || ids(got) != tc.want || count != tc.count {
			t.Errorf("%s: SearchEvents = %s (%d), %v; want %s (%d)", tc.name, ids(got), count, err, tc.want, tc.count)
		}
	}
	// Before pages on; bounds cut a room off at a position.
	first, _, _ := s.SearchEvents(ctx, store.SearchQuery{Rooms: all, Words: []string{"hello"}, Limit: 2})
	next, _, err := s.SearchEvents(ctx, store.SearchQuery{Rooms: all, Words: []string{"hello"}, Limit: 2, Before: first[1].Pos - 1})
	if err != nil || ids(next) != "[$n $a]" {
		t.Errorf("second page = %s, %v", ids(next), err)
	}
	bounded, count, err := s.SearchEvents(ctx, store.SearchQuery{Rooms: all, Words: []string{"hello"}, Limit: 10,
		Bounds: map[int64]int64{r2.NID: first[1].Pos}})
	if err != nil || ids(bounded) != "[$x $n $a]" || count != 3 {
		t.Errorf("bounded = %s (%d), %v", ids(bounded), count, err)
	}
	if got, _, _ := s.SearchEvents(ctx, store.SearchQuery{Rooms: []int64{r2.NID}, Words: []string{"world"}, Limit: 10}); len(got) != 0 {
		t.Errorf("search of another room found %s", ids(got))
	}
}
