package sync

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestTokenRoundTrip(t *testing.T) {
	for _, tok := range []Token{
		{},
		{Events: 12, AccountData: 3, Presence: 4},
		{Events: 1 << 50, AccountData: 0, Presence: 9, Ephemeral: map[string]int64{"typing": 1700000000000001, "receipts": 5}},
	} {
		s := tok.String()
		got, err := ParseToken(s)
		if err != nil {
			t.Fatalf("ParseToken(%q) = %v", s, err)
		}
		if got.Events != tok.Events || got.AccountData != tok.AccountData || got.Presence != tok.Presence ||
			!maps.Equal(got.Ephemeral, tok.Ephemeral) {
			t.Errorf("ParseToken(%q) = %+v, want %+v", s, got, tok)
		}
		if pos, err := ParsePaginationToken(s); err != nil || pos != tok.Events {
			t.Errorf("ParsePaginationToken(%q) = %d, %v; want %d", s, pos, err, tok.Events)
		}
	}
	if got := (Token{Events: 7, AccountData: 2, Presence: 1, Ephemeral: map[string]int64{"typing": 3, "receipts": 4}}).String(); got != "m1_e7_a2_p1_receipts4_typing3" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseTokenRejects(t *testing.T) {
	for _, s := range []string{
		"", "m1", "m1_e1_a1", "m2_e1_a1_p1", "s72594_4483_1934", "m1_e1_a1_p1_", "m1_e1_a1_p", "m1_e-1_a1_p1",
		"m1_e01_a1_p1", "m1_e1_a1_p1_e2", "m1_E1_a1_p1", "m1_1_a1_p1", "m1_e1_a1_p1_x1y", "m1_e99999999999999999999_a1_p1",
		"m1_e1_a1_p1_ty ping1", "m1_e1.5_a1_p1",
	} {
		if _, err := ParseToken(s); err == nil {
			t.Errorf("ParseToken(%q) accepted", s)
		}
	}
	// Unknown stream keys are ignored, not refused.
	if tok, err := ParseToken("m1_e1_a2_p3_future9"); err != nil || tok.Ephemeral["future"] != 9 {
		t.Errorf("ParseToken(unknown key) = %+v, %v", tok, err)
	}
}

func TestParsePaginationToken(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "42": 42, "m1_e5_a0_p0": 5} {
		if got, err := ParsePaginationToken(s); err != nil || got != want {
			t.Errorf("ParsePaginationToken(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-1", "007", "t12-3", "m1_e5", "1e3", " 1"} {
		if _, err := ParsePaginationToken(s); err == nil {
			t.Errorf("ParsePaginationToken(%q) accepted", s)
		}
	}
}

func TestWithoutKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"content":{"room_id":"!x"},"event_id":"$e","room_id":"!r","sender":"@a"}`, `{"content":{"room_id":"!x"},"event_id":"$e","sender":"@a"}`},
		{`{"room_id":"!r","type":"m"}`, `{"type":"m"}`},
		{`{"type":"m","room_id":"!r"}`, `{"type":"m"}`},
		{`{"room_id":"!r"}`, `{}`},
		{`{"a":"x\"room_id\"","b":[{"room_id":1}],"room_id":"!r\\"}`, `{"a":"x\"room_id\"","b":[{"room_id":1}]}`},
		{`{"a":1}`, `{"a":1}`},
		{`{ "a" : 1 , "room_id" : "!r" }`, `{ "a" : 1}`},
		{`[1]`, `[1]`},
		{`{"a":`, `{"a":`},
	} {
		got := string(withoutKey([]byte(c.in), "room_id"))
		if got != c.want {
			t.Errorf("withoutKey(%s) = %s, want %s", c.in, got, c.want)
		}
		if json.Valid([]byte(c.in)) && !json.Valid([]byte(got)) {
			t.Errorf("withoutKey(%s) = %s is not JSON", c.in, got)
		}
	}
}

func FuzzWithoutKey(f *testing.F) {
	f.Add([]byte(`{"content":{},"room_id":"!r","x":[1,{"room_id":2}]}`))
	f.Add([]byte(`{"room_id":"\"","a":"\\"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out := withoutKey(in, "room_id")
		if !json.Valid(in) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("withoutKey(%s) = %s is not JSON", in, out)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(in, &m) != nil {
			return
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("withoutKey(%s) = %s: %v", in, out, err)
		}
		if _, has := got["room_id"]; has {
			// Duplicate keys: only the first is removed.
			return
		}
		delete(m, "room_id")
		if len(m) != len(got) {
			t.Fatalf("withoutKey(%s) = %s lost members", in, out)
		}
	})
}
