package pdu

import (
	"fmt"
	"testing"

	"myelin/internal/spec"
)

// TestAuthEventTypes follows server-server API "Auth events selection".
func TestAuthEventTypes(t *testing.T) {
	create := spec.StateKeyTuple{Type: spec.MRoomCreate}
	pl := spec.StateKeyTuple{Type: spec.MRoomPowerLevels}
	jr := spec.StateKeyTuple{Type: spec.MRoomJoinRules}
	mem := func(u string) spec.StateKeyTuple { return spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: u} }
	tpi := func(tok string) spec.StateKeyTuple {
		return spec.StateKeyTuple{Type: spec.MRoomThirdPartyInvite, StateKey: tok}
	}
	const alice, bob, carol = "@alice:x", "@bob:y", "@carol:z"
	v6, v8, v12 := spec.MustRoomVersion("6"), spec.MustRoomVersion("8"), spec.MustRoomVersion("12")
	cases := []struct {
		name     string
		v        *spec.RoomVersion
		typ      string
		stateKey *string
		sender   string
		content  string
		want     []spec.StateKeyTuple
	}{
		{"create", v8, spec.MRoomCreate, strp(""), alice, `{}`, []spec.StateKeyTuple{}},
		{"message", v8, "m.room.message", nil, alice, `{"body":"x"}`, []spec.StateKeyTuple{create, pl, mem(alice)}},
		{"message v12 has no create", v12, "m.room.message", nil, alice, `{}`, []spec.StateKeyTuple{pl, mem(alice)}},
		{"state event", v8, spec.MRoomName, strp(""), alice, `{}`, []spec.StateKeyTuple{create, pl, mem(alice)}},
		{"aliases (nothing special)", v6, spec.MRoomAliases, strp("x"), alice, `{}`, []spec.StateKeyTuple{create, pl, mem(alice)}},
		{"create-typed non-create", v8, spec.MRoomCreate, strp("x"), alice, `{}`, []spec.StateKeyTuple{create, pl, mem(alice)}},
		{"self join", v8, spec.MRoomMember, strp(alice), alice, `{"membership":"join"}`, []spec.StateKeyTuple{create, pl, mem(alice), jr}},
		{"invite", v8, spec.MRoomMember, strp(bob), alice, `{"membership":"invite"}`, []spec.StateKeyTuple{create, pl, mem(alice), mem(bob), jr}},
		{"knock", v8, spec.MRoomMember, strp(alice), alice, `{"membership":"knock"}`, []spec.StateKeyTuple{create, pl, mem(alice), jr}},
		{"leave", v8, spec.MRoomMember, strp(alice), alice, `{"membership":"leave"}`, []spec.StateKeyTuple{create, pl, mem(alice)}},
		{"ban", v8, spec.MRoomMember, strp(bob), alice, `{"membership":"ban"}`, []spec.StateKeyTuple{create, pl, mem(alice), mem(bob)}},
		{"no membership", v8, spec.MRoomMember, strp(bob), alice, `{}`, []spec.StateKeyTuple{create, pl, mem(alice), mem(bob)}},
		{"third-party invite", v8, spec.MRoomMember, strp(bob), alice,
			`{"membership":"invite","third_party_invite":{"signed":{"token":"tok","mxid":"@bob:y"}}}`,
			[]spec.StateKeyTuple{create, pl, mem(alice), mem(bob), jr, tpi("tok")}},
		{"third-party invite on a join is ignored", v8, spec.MRoomMember, strp(bob), bob,
			`{"membership":"join","third_party_invite":{"signed":{"token":"tok"}}}`,
			[]spec.StateKeyTuple{create, pl, mem(bob), jr}},
		{"third-party invite without token", v8, spec.MRoomMember, strp(bob), alice,
			`{"membership":"invite","third_party_invite":{"signed":{"token":5}}}`,
			[]spec.StateKeyTuple{create, pl, mem(alice), mem(bob), jr}},
		{"restricted join v8", v8, spec.MRoomMember, strp(bob), bob,
			`{"membership":"join","join_authorised_via_users_server":"@carol:z"}`,
			[]spec.StateKeyTuple{create, pl, mem(bob), jr, mem(carol)}},
		{"restricted join v12", v12, spec.MRoomMember, strp(bob), bob,
			`{"membership":"join","join_authorised_via_users_server":"@carol:z"}`,
			[]spec.StateKeyTuple{pl, mem(bob), jr, mem(carol)}},
		{"authorising user ignored before v8", v6, spec.MRoomMember, strp(bob), bob,
			`{"membership":"join","join_authorised_via_users_server":"@carol:z"}`,
			[]spec.StateKeyTuple{create, pl, mem(bob), jr}},
		{"authorising user ignored on invite", v8, spec.MRoomMember, strp(bob), alice,
			`{"membership":"invite","join_authorised_via_users_server":"@carol:z"}`,
			[]spec.StateKeyTuple{create, pl, mem(alice), mem(bob), jr}},
		{"authorising user is the sender: no duplicate", v8, spec.MRoomMember, strp(bob), bob,
			`{"membership":"join","join_authorised_via_users_server":"@bob:y"}`,
			[]spec.StateKeyTuple{create, pl, mem(bob), jr}},
		{"lenient content in v5 with a float", spec.MustRoomVersion("5"), "m.room.message", nil, alice, `{"f":1.5}`, []spec.StateKeyTuple{create, pl, mem(alice)}},
		{"empty content", v8, "m.room.message", nil, alice, ``, []spec.StateKeyTuple{create, pl, mem(alice)}},
	}
	for _, c := range cases {
		got, err := AuthEventTypes(c.v, c.typ, c.stateKey, c.sender, []byte(c.content))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
	for name, in := range map[string]struct {
		typ     string
		sk      *string
		content string
	}{
		"member without state key": {spec.MRoomMember, nil, `{"membership":"join"}`},
		"content not an object":    {"m.room.message", nil, `[]`},
		"content not JSON":         {"m.room.message", nil, `{`},
		"content null":             {"m.room.message", nil, `null`},
	} {
		if _, err := AuthEventTypes(v8, in.typ, in.sk, alice, []byte(in.content)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
