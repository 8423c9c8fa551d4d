package filter

import (
	"errors"
	"strings"
	"testing"

	"myelin/internal/spec"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"m.room.message", "m.room.message", true},
		{"m.room.message", "m.room.messages", false},
		{"m.room.*", "m.room.message", true},
		{"m.room.*", "m.room.", true},
		{"m.room.*", "m.roo", false},
		{"*", "", true},
		{"*", "anything", true},
		{"*.member", "m.room.member", true},
		{"m.*.member", "m.room.member", true},
		{"m.*.member", "m.room.members", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
		{"", "", true},
		{"", "a", false},
		{"M.ROOM.*", "m.room.message", false}, // types are case-sensitive
		{strings.Repeat("*a", 100) + "b", strings.Repeat("a", 5000), false},
	} {
		if got := Glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestMatches(t *testing.T) {
	f, err := Parse([]byte(`{
		"room": {"not_rooms": ["!bad:x"], "timeline": {"types": ["m.room.*"], "not_types": ["m.room.member"],
			"senders": ["@a:x", "@b:x"], "not_senders": ["@b:x"], "rooms": ["!r:x", "!bad:x"]},
			"state": {"types": []}},
		"presence": {"not_senders": ["@a:x"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ, sender, room string
		want              bool
	}{
		{"m.room.message", "@a:x", "!r:x", true},
		{"m.room.member", "@a:x", "!r:x", false},  // not_types wins
		{"m.reaction", "@a:x", "!r:x", false},     // not in types
		{"m.room.message", "@b:x", "!r:x", false}, // not_senders wins over senders
		{"m.room.message", "@c:x", "!r:x", false}, // not in senders
		{"m.room.message", "@a:x", "!o:x", false}, // not in rooms
		{"m.room.message", "@a:x", "!bad:x", false},
	} {
		if got := f.Matches(tc.typ, tc.sender, tc.room); got != tc.want {
			t.Errorf("Matches(%s, %s, %s) = %v, want %v", tc.typ, tc.sender, tc.room, got, tc.want)
		}
	}
	// An empty list means nothing; an absent one everything.
	if f.Room.State.Matches("m.room.name", "@a:x", "!r:x") {
		t.Error("types: [] matched")
	}
	if !f.Room.Ephemeral.Matches("m.typing", "@z:x", "!z:x") {
		t.Error("absent filter did not match")
	}
	if f.Presence.Matches("m.presence", "@a:x") || !f.Presence.Matches("m.presence", "@b:x") {
		t.Error("presence not_senders")
	}
	if got := f.Room.Timeline.LimitOr(10, 50); got != 10 {
		t.Errorf("LimitOr(no limit) = %d", got)
	}
	g, _ := Parse([]byte(`{"room":{"timeline":{"limit":500,"contains_url":true}}}`))
	if got := g.Room.Timeline.LimitOr(10, 50); got != 50 {
		t.Errorf("LimitOr(capped) = %d", got)
	}
	if g.Room.Timeline.AllowsURL(false) || !g.Room.Timeline.AllowsURL(true) || !f.Room.Timeline.AllowsURL(false) {
		t.Error("AllowsURL")
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		`[]`, `"x"`, `{"room":5}`, `{"room":{"timeline":{"limit":-2}}}`, `{"account_data":{"limit":-1}}`,
		`{"room":{"state":{"types":"m.room.name"}}}`, `{"event_format":"raw"}`, `{"event_fields":"type"}`,
		`{"room":{"rooms":["#alias:x"]}}`, `{"room":{"ephemeral":{"not_rooms":[""]}}}`,
		`{"presence":{"senders":["nobody"]}}`, `{"room":{"include_leave":"true"}}`,
	} {
		_, err := Parse([]byte(in))
		var se *spec.Error
		if !errors.As(err, &se) || se.Code != spec.ErrBadJSON {
			t.Errorf("Parse(%s) = %v, want M_BAD_JSON", in, err)
		}
	}
	if _, err := Parse([]byte(`{"unknown":1,"room":{"timeline":{"limit":1}},"event_format":"federation"}`)); err != nil {
		t.Errorf("valid filter rejected: %v", err)
	}
}

func TestZeroLimit(t *testing.T) {
	f, err := Parse([]byte(`{"room":{"timeline":{"limit":0}},"presence":{"limit":0},"account_data":{"limit":3}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Room.Timeline.LimitOr(10, 100); got != 0 {
		t.Errorf("timeline LimitOr = %d, want 0", got)
	}
	if n, ok := f.Presence.Max(); n != 0 || !ok {
		t.Errorf("presence Max = %d, %v; want 0, true", n, ok)
	}
	if n, ok := f.AccountData.Max(); n != 3 || !ok {
		t.Errorf("account_data Max = %d, %v; want 3, true", n, ok)
	}
	if n, ok := f.Room.State.Max(); ok || f.Room.State.LimitOr(10, 100) != 10 {
		t.Errorf("absent limit: Max = %d, %v; LimitOr = %d", n, ok, f.Room.State.LimitOr(10, 100))
	}
}
