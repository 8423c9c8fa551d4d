package directory

import (
	"fmt"
	"slices"
	"testing"

	"myelin/internal/store"
)

func roomsOf(members ...int) []Room {
	var out []Room
	for i, m := range members {
		out = append(out, Room{RoomID: fmt.Sprintf("!r%d:x", i), NumJoinedMembers: m})
	}
	slices.SortFunc(out, func(a, b Room) int { return cursorOf(a).compare(cursorOf(b)) })
	return out
}

func ids(p Page) []string {
	var out []string
	for _, r := range p.Chunk {
		out = append(out, r.RoomID)
	}
	return out
}

func TestPaginate(t *testing.T) {
	rooms := roomsOf(5, 3, 3, 9, 1)
	// Sorted: !r3 (9), !r0 (5), !r1 (3), !r2 (3), !r4 (1).
	p := paginate(rooms, nil, 2)
	if !slices.Equal(ids(p), []string{"!r3:x", "!r0:x"}) || p.PrevBatch != "" || p.NextBatch == "" || p.TotalRoomCountEstimate != 5 {
		t.Fatalf("first page = %+v", p)
	}
	var pages [][]string
	for since := p.NextBatch; since != ""; {
		c, err := parseCursor(since)
		if err != nil {
			t.Fatal(err)
		}
		p = paginate(rooms, &c, 2)
		pages = append(pages, ids(p))
		since = p.NextBatch
	}
	if len(pages) != 2 || !slices.Equal(pages[0], []string{"!r1:x", "!r2:x"}) || !slices.Equal(pages[1], []string{"!r4:x"}) {
		t.Fatalf("next pages = %v", pages)
	}
	// Back from the last page.
	c, err := parseCursor(p.PrevBatch)
	if err != nil {
		t.Fatal(err)
	}
	p = paginate(rooms, &c, 2)
	if !slices.Equal(ids(p), []string{"!r1:x", "!r2:x"}) || p.PrevBatch == "" || p.NextBatch == "" {
		t.Fatalf("previous page = %+v", p)
	}
	c, _ = parseCursor(p.PrevBatch)
	p = paginate(rooms, &c, 2)
	if !slices.Equal(ids(p), []string{"!r3:x", "!r0:x"}) || p.PrevBatch != "" {
		t.Fatalf("first page again = %+v", p)
	}
	// A cursor whose room has gone still finds its place.
	c = cursor{forward: true, members: 4, roomID: "!gone:x"}
	if p := paginate(rooms, &c, 10); !slices.Equal(ids(p), []string{"!r1:x", "!r2:x", "!r4:x"}) {
		t.Fatalf("after a vanished room = %v", ids(p))
	}
	// Past the end: an empty page.
	c = cursor{forward: true, members: 0, roomID: "!zz:x"}
	if p := paginate(rooms, &c, 10); len(p.Chunk) != 0 || p.NextBatch != "" || p.PrevBatch != "" {
		t.Fatalf("past the end = %+v", p)
	}
	if p := paginate(nil, nil, 10); len(p.Chunk) != 0 || p.NextBatch != "" || p.PrevBatch != "" {
		t.Fatalf("empty list = %+v", p)
	}
}

func TestCursorTokens(t *testing.T) {
	c := cursor{forward: true, members: 42, roomID: "!abc_-/+:example.org"}
	got, err := parseCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("parseCursor(%q) = %+v, %v", c.String(), got, err)
	}
	for _, bad := range []string{"", "x", "n", "n1", "x1.IXI6eA", "n-1.IXI6eA", "n1.!!!", "n1.YWJj", "nq.IXI6eA"} {
		if _, err := parseCursor(bad); err == nil {
			t.Errorf("parseCursor(%q) accepted", bad)
		}
	}
}

func TestSummarize(t *testing.T) {
	pr := store.PublishedRoom{RoomID: "!r:x", Version: "10", JoinedMembers: 3, State: []store.PublishedState{
		{Type: "m.room.create", JSON: []byte(`{"content":{"type":"m.space"}}`)},
		{Type: "m.room.name", JSON: []byte(`{"type":"m.room.name","content":{"name":"Secret"}}`), Redacted: true},
		{Type: "m.room.topic", JSON: []byte(`{"content":{"topic":"fallback","m.topic":{"m.text":[{"mimetype":"text/html","body":"<b>x</b>"},{"body":"plain"}]}}}`)},
		{Type: "m.room.canonical_alias", JSON: []byte(`{"content":{"alias":"#a:x"}}`)},
		{Type: "m.room.avatar", JSON: []byte(`{"content":{"url":"mxc://x/y"}}`)},
		{Type: "m.room.join_rules", JSON: []byte(`{"content":{"join_rule":"knock"}}`)},
		{Type: "m.room.history_visibility", JSON: []byte(`{"content":{"history_visibility":"world_readable"}}`)},
		{Type: "m.room.guest_access", JSON: []byte(`{"content":{"guest_access":"can_join"}}`)},
	}}
	r, tombstoned, typ := summarize(pr)
	want := Room{RoomID: "!r:x", Topic: "plain", CanonicalAlias: "#a:x", NumJoinedMembers: 3, WorldReadable: true,
		GuestCanJoin: true, AvatarURL: "mxc://x/y", JoinRule: "knock", RoomType: "m.space"}
	if r != want || tombstoned || typ == nil || *typ != "m.space" {
		t.Fatalf("summarize = %+v, %v, %v", r, tombstoned, typ)
	}
	r, tombstoned, typ = summarize(store.PublishedRoom{RoomID: "!s:x", Version: "12", State: []store.PublishedState{
		{Type: "m.room.topic", JSON: []byte(`{"content":{"topic":5}}`)},
		{Type: "m.room.tombstone", JSON: []byte(`{"content":{"replacement_room":"!n:x"}}`)},
	}})
	if r != (Room{RoomID: "!s:x", JoinRule: "public"}) || !tombstoned || typ != nil {
		t.Fatalf("summarize(bare) = %+v, %v, %v", r, tombstoned, typ)
	}
	if !typeMatches(nil, typ) || !typeMatches([]*string{nil}, nil) || typeMatches([]*string{ptr("m.space")}, nil) ||
		!typeMatches([]*string{nil, ptr("m.space")}, ptr("m.space")) {
		t.Fatal("typeMatches")
	}
	if !searchMatches("sec", Room{Topic: "A SECRET"}) || searchMatches("zz", Room{Name: "a"}) || !searchMatches("", Room{}) {
		t.Fatal("searchMatches")
	}
}

func ptr(s string) *string { return &s }
