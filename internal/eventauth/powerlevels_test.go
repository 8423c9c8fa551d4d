package eventauth

import (
	"errors"
	"fmt"
	"testing"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

func TestParsePowerLevelsValues(t *testing.T) {
	// Each value is tried as "ban" in a v1 (strings and floats), v6
	// (strings) and v10 (integers only) room. want is the parsed level or
	// "bad".
	cases := []struct {
		json        string
		v1, v6, v10 string
	}{
		{`50`, "50", "50", "50"},
		{`-1`, "-1", "-1", "-1"},
		{`9007199254740991`, "9007199254740991", "9007199254740991", "9007199254740991"},
		// "m.room.power_levels events accept values as strings" (v1–v9).
		{`"100"`, "100", "100", "bad"},
		{`"000100"`, "100", "100", "bad"},
		{`"+100"`, "100", "100", "bad"},
		{`"-100"`, "-100", "-100", "bad"},
		{`" 100 "`, "100", "100", "bad"},
		{`" 00100 "`, "100", "100", "bad"},
		{`" +100 "`, "100", "100", "bad"},
		{`" -100 "`, "-100", "-100", "bad"},
		{`"\t100\n"`, "100", "100", "bad"},
		{`"1.5"`, "bad", "bad", "bad"},
		{`"1e2"`, "bad", "bad", "bad"},
		{`"+-1"`, "bad", "bad", "bad"},
		{`"++1"`, "bad", "bad", "bad"},
		{`"1_000"`, "bad", "bad", "bad"},
		{`"0x10"`, "bad", "bad", "bad"},
		{`""`, "bad", "bad", "bad"},
		{`" "`, "bad", "bad", "bad"},
		{`"- 1"`, "bad", "bad", "bad"},
		{`"99999999999999999999"`, "bad", "bad", "bad"},
		// "m.room.power_levels events accept values as floats" (v1–v5).
		{`5.114698E4`, "51146", "bad", "bad"},
		{`50.57`, "50", "bad", "bad"},
		{`-0.5`, "0", "bad", "bad"},
		{`-1.9`, "-1", "bad", "bad"},
		{`1e2`, "100", "bad", "bad"},
		{`1E-2`, "0", "bad", "bad"},
		{`9007199254740991.5`, "9007199254740991", "bad", "bad"},
		{`1e400`, "bad", "bad", "bad"},
		{`1e300`, "bad", "bad", "bad"},
		{`true`, "bad", "bad", "bad"},
		{`null`, "bad", "bad", "bad"},
		{`{}`, "bad", "bad", "bad"},
		{`[1]`, "bad", "bad", "bad"},
	}
	for _, tc := range cases {
		for _, vc := range []struct{ id, want string }{{"1", tc.v1}, {"6", tc.v6}, {"10", tc.v10}} {
			p, err := ParsePowerLevels(spec.MustRoomVersion(vc.id), []byte(`{"ban":`+tc.json+`}`))
			got := fmt.Sprint(p.Ban)
			if err != nil {
				got = "bad"
				if !errors.Is(err, ErrInvalidPowerLevels) {
					t.Errorf("v%s %s: error %v does not wrap ErrInvalidPowerLevels", vc.id, tc.json, err)
				}
				if p.Ban != DefaultBanLevel {
					t.Errorf("v%s %s: best effort ban %d, want the default", vc.id, tc.json, p.Ban)
				}
			}
			if got != vc.want {
				t.Errorf("v%s ban %s: got %s, want %s", vc.id, tc.json, got, vc.want)
			}
		}
	}
}

func TestParsePowerLevelsDefaults(t *testing.T) {
	v := spec.MustRoomVersion("10")
	for _, content := range [][]byte{nil, []byte(`{}`)} {
		p, err := ParsePowerLevels(v, content)
		if err != nil {
			t.Fatal(err)
		}
		got := []int64{p.Ban, p.Kick, p.Redact, p.Invite, p.StateDefault, p.EventsDefault, p.UsersDefault}
		want := []int64{50, 50, 50, 0, 50, 0, 0}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: defaults %v, want %v", content, got, want)
		}
		if l, ok := p.NotificationLevel("room"); !ok || l != 50 {
			t.Errorf("room notification level %d %v", l, ok)
		}
		if _, ok := p.NotificationLevel("other"); ok {
			t.Error("other notification level has a default")
		}
	}
}

func TestPowerLevelsAccessors(t *testing.T) {
	p, err := ParsePowerLevels(spec.MustRoomVersion("11"), []byte(`{
		"users": {"@a:x": 70}, "users_default": 5,
		"events": {"m.room.name": 60, "m.room.message": 7},
		"state_default": 40, "events_default": 3,
		"notifications": {"room": 20, "other": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want int64
	}{
		{"listed user", p.UserLevel("@a:x"), 70},
		{"unlisted user", p.UserLevel("@b:x"), 5},
		{"listed state type", p.EventLevel("m.room.name", true), 60},
		{"listed type sent as a message", p.EventLevel("m.room.name", false), 60},
		{"listed message type", p.EventLevel("m.room.message", false), 7},
		{"unlisted state", p.EventLevel("m.room.topic", true), 40},
		{"unlisted message", p.EventLevel("m.custom", false), 3},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if l, _ := p.NotificationLevel("room"); l != 20 {
		t.Errorf("room notification %d", l)
	}
	if l, ok := p.NotificationLevel("other"); !ok || l != 1 {
		t.Errorf("other notification %d %v", l, ok)
	}
}

func TestParsePowerLevelsUsersKeys(t *testing.T) {
	v := spec.MustRoomVersion("10")
	for key, ok := range map[string]bool{
		"@a:example.org": true, "@:example.org": true, "@A_b:example.org:8448": true,
		"a:example.org": false, "@a": false, "@a:exa mple.org": false, "": false,
	} {
		_, err := ParsePowerLevels(v, []byte(`{"users":{"`+key+`":1}}`))
		if (err == nil) != ok {
			t.Errorf("users key %q: err %v, want valid %v", key, err, ok)
		}
	}
}

func TestPowerLevelsFromStateAndSenderPowerLevel(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		r := stdRoom(t, v)
		// With power levels: the users map, except v12 creators.
		wantAlice, wantInfinite := int64(100), false
		if v.PrivilegedCreators {
			wantAlice, wantInfinite = InfinitePowerLevel, true
		}
		if l, inf := SenderPowerLevel(r.state, v, alice); l != wantAlice || inf != wantInfinite {
			t.Errorf("v%s: alice %d %v, want %d %v", v.ID, l, inf, wantAlice, wantInfinite)
		}
		if l, inf := SenderPowerLevel(r.state, v, mod); l != 50 || inf {
			t.Errorf("v%s: mod %d %v", v.ID, l, inf)
		}
		// Without: the creator has 100 (v1–v11) or infinity (v12),
		// everyone else users_default 0.
		r.unset(spec.MRoomPowerLevels, "")
		if l, inf := SenderPowerLevel(r.state, v, alice); l != wantAlice || inf != wantInfinite {
			t.Errorf("v%s without power levels: alice %d %v", v.ID, l, inf)
		}
		if l, _ := SenderPowerLevel(r.state, v, mod); l != 0 {
			t.Errorf("v%s without power levels: mod %d", v.ID, l)
		}
		p, err := PowerLevelsFromState(r.state, v)
		if err != nil || p.StateDefault != 50 || p.Ban != 50 {
			t.Errorf("v%s: defaults %+v %v", v.ID, p, err)
		}
	}
	// An additional creator is infinite too, even when listed by an old
	// power levels event.
	v := spec.MustRoomVersion("12")
	r := stdRoom(t, v)
	setCreate(r, map[string]any{"additional_creators": []string{bob}})
	r.setPL(map[string]any{"users": map[string]any{bob: 3}})
	if l, inf := SenderPowerLevel(r.state, v, bob); l != InfinitePowerLevel || !inf {
		t.Errorf("additional creator: %d %v", l, inf)
	}
}

func TestCreators(t *testing.T) {
	cases := []struct {
		version string
		extra   map[string]any
		want    string // fmt of the creators, or "error"
	}{
		{"1", nil, "[@alice:example.org]"},
		{"10", map[string]any{"creator": mod}, "[@mod:example.org]"},
		{"10", map[string]any{"creator": nil}, "error"},
		{"10", map[string]any{"creator": 5}, "error"},
		{"11", nil, "[@alice:example.org]"},
		{"11", map[string]any{"creator": mod, "additional_creators": []string{bob}}, "[@alice:example.org]"},
		{"12", nil, "[@alice:example.org]"},
		{"12", map[string]any{"additional_creators": []string{bob, alice, dave, bob}}, "[@alice:example.org @bob:example.org @dave:other.org]"},
		{"12", map[string]any{"additional_creators": []string{}}, "[@alice:example.org]"},
		{"12", map[string]any{"additional_creators": []string{"bob"}}, "error"},
		{"12", map[string]any{"additional_creators": "@bob:example.org"}, "error"},
	}
	for _, tc := range cases {
		r := newRoom(t, spec.MustRoomVersion(tc.version), tc.extra)
		got, err := Creators(r.create)
		s := fmt.Sprint(got)
		if err != nil {
			s = "error"
		}
		if s != tc.want {
			t.Errorf("v%s %v: %s (%v), want %s", tc.version, tc.extra, s, err, tc.want)
		}
	}
}

func TestRejectionError(t *testing.T) {
	err := error(&Rejection{Rule: "4.4.1", Reason: "no"})
	if err.Error() != "auth rule 4.4.1: no" {
		t.Errorf("Error() = %q", err.Error())
	}
	wrapped := fmt.Errorf("context: %w", err)
	if r := AsRejection(wrapped); r == nil || r.Rule != "4.4.1" {
		t.Errorf("AsRejection(wrapped) = %v", r)
	}
	if AsRejection(errors.New("x")) != nil || AsRejection(nil) != nil {
		t.Error("AsRejection of a non-rejection")
	}
}

func TestStateFromEvents(t *testing.T) {
	r := stdRoom(t, spec.MustRoomVersion("10"))
	pl := r.get(spec.MRoomPowerLevels, "")
	r.setPL(map[string]any{"ban": 1})
	later := r.get(spec.MRoomPowerLevels, "")
	m := StateFromEvents([]*pdu.Event{r.create, pl, later, r.msg(bob), nil})
	if len(m) != 2 || m.StateEvent(spec.MRoomPowerLevels, "") != later || m.StateEvent(spec.MRoomCreate, "") != r.create {
		t.Errorf("StateFromEvents: %v", m)
	}
	if m.StateEvent(spec.MRoomMember, bob) != nil {
		t.Error("absent state is not nil")
	}
}
