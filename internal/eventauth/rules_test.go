package eventauth

import (
	"bytes"
	"encoding/json"
	"testing"

	"myelin/internal/pdu"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// ruleCase is one row of the rule table: a std room (stdRoom), optionally
// changed by setup, and a candidate event. want gives, per room version, the
// rule that must reject it ("ok": allowed); versions not listed do not
// apply. The rule numbers are copied from each version's rule list in the
// spec (rooms/v1.md ... v12.md and the auth-rules fragments).
type ruleCase struct {
	name  string
	want  string
	setup func(r *room)
	event func(r *room) *pdu.Event
}

// Prefixes of the membership rules, per version group, for reading the
// table: member 5 (v1–v5), 4 (v6–v11), 5 (v12); join x.2 (v1–v7) or x.3
// (v8+); invite x.3 / x.4; leave x.4 / x.5; ban x.5 / x.6; knock 4.6 (v7),
// x.7 (v8+).
var ruleCases = []ruleCase{
	// Rule 1: m.room.create.
	{name: "create/valid", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.create }},
	{name: "create/prev_events", want: "1-12:1.1",
		event: func(r *room) *pdu.Event { return createWith(r, nil, true, "") }},
	{name: "create/room_id domain differs from sender's", want: "1-11:1.2",
		event: func(r *room) *pdu.Event { return createWith(r, nil, false, "!x:other.org") }},
	{name: "create/unknown room_version", want: "1-10:1.3 11:1.3 12:1.3",
		event: func(r *room) *pdu.Event { return createWith(r, map[string]any{"room_version": "99"}, false, "") }},
	{name: "create/room_version not a string", want: "1-12:1.3",
		event: func(r *room) *pdu.Event { return createWith(r, map[string]any{"room_version": 5}, false, "") }},
	{name: "create/no room_version is fine", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return createWith(r, map[string]any{"room_version": nil}, false, "") }},
	{name: "create/no creator", want: "1-10:1.4 11-12:ok",
		event: func(r *room) *pdu.Event { return createWith(r, map[string]any{"creator": nil}, false, "") }},
	{name: "create/creator not a string (NOTSPEC)", want: "1-10:1.4",
		event: func(r *room) *pdu.Event { return createWith(r, map[string]any{"creator": 7}, false, "") }},
	{name: "create/additional_creators valid", want: "1-12:ok",
		event: func(r *room) *pdu.Event {
			return createWith(r, map[string]any{"additional_creators": []string{bob, dave}}, false, "")
		}},
	{name: "create/additional_creators not user IDs", want: "1-11:ok 12:1.4",
		event: func(r *room) *pdu.Event {
			return createWith(r, map[string]any{"additional_creators": []string{"bob"}}, false, "")
		}},
	{name: "create/additional_creators not an array", want: "1-11:ok 12:1.4",
		event: func(r *room) *pdu.Event {
			return createWith(r, map[string]any{"additional_creators": bob}, false, "")
		}},
	{name: "create/additional_creators entry not a string", want: "1-11:ok 12:1.4",
		event: func(r *room) *pdu.Event {
			return createWith(r, map[string]any{"additional_creators": []any{bob, 3}}, false, "")
		}},

	// v12 rule 2 and rule 2.4/2.5 (3.5) as far as Check sees them.
	{name: "no create event in state", want: "1-11:2.4 12:2",
		setup: func(r *room) { r.unset(spec.MRoomCreate, "") },
		event: func(r *room) *pdu.Event { return r.msg(bob) }},
	{name: "create event of another room", want: "1-11:2.5 12:2",
		setup: func(r *room) {
			other := newRoom(r.t, r.v, map[string]any{"topic": "other"})
			if !r.v.CreateEventHasNoRoomID {
				b := other.builder(spec.MRoomCreate, strp(""), alice, map[string]any{"creator": alice, "room_version": r.v.ID})
				b.PrevEvents, b.RoomID = nil, "!other:example.org"
				other.create = other.buildWith(b)
			}
			r.state[spec.StateKeyTuple{Type: spec.MRoomCreate}] = other.create
		},
		event: func(r *room) *pdu.Event { return r.msg(bob) }},
	{name: "power levels of another room", want: "1-11:2.5 12:3.5",
		setup: func(r *room) {
			b := r.builder(spec.MRoomPowerLevels, strp(""), alice, map[string]any{})
			b.RoomID = otherRoomID(r)
			r.state[spec.StateKeyTuple{Type: spec.MRoomPowerLevels}] = r.buildWith(b)
		},
		event: func(r *room) *pdu.Event { return r.msg(bob) }},

	// Rule 3 (4 in v12): m.federate.
	{name: "federate false, other server", want: "1-11:3 12:4",
		setup: func(r *room) { noFederate(r); r.setMember(dave, "join") },
		event: func(r *room) *pdu.Event { return r.msg(dave) }},
	{name: "federate false, other server joining", want: "1-11:3 12:4",
		setup: noFederate,
		event: func(r *room) *pdu.Event { return r.member(dave, dave, "join", nil) }},
	{name: "federate false, creator's server", want: "1-12:ok",
		setup: noFederate,
		event: func(r *room) *pdu.Event { return r.msg(bob) }},

	// Rule 4 (v1–v5): m.room.aliases.
	{name: "aliases/own domain, not joined", want: "1-5:ok 6-11:5 12:6",
		event: func(r *room) *pdu.Event {
			return r.event(spec.MRoomAliases, strp("other.org"), dave, map[string]any{"aliases": []string{"#a:other.org"}})
		}},
	{name: "aliases/other domain", want: "1-5:4.2 6-12:ok",
		event: func(r *room) *pdu.Event {
			return r.event(spec.MRoomAliases, strp("other.org"), alice, map[string]any{"aliases": []string{}})
		}},
	{name: "aliases/no state_key", want: "1-5:4.1 6-12:ok",
		event: func(r *room) *pdu.Event {
			return r.event(spec.MRoomAliases, nil, bob, map[string]any{"aliases": []string{}})
		}},

	// Membership: missing fields and unknown memberships.
	{name: "member/no membership", want: "1-5:5.1 6-11:4.1 12:5.1",
		event: func(r *room) *pdu.Event { return r.event(spec.MRoomMember, strp(bob), bob, map[string]any{}) }},
	{name: "member/no state_key", want: "1-5:5.1 6-11:4.1 12:5.1",
		event: func(r *room) *pdu.Event {
			return r.event(spec.MRoomMember, nil, bob, map[string]any{"membership": "join"})
		}},
	{name: "member/unknown membership", want: "1-5:5.6 6:4.6 7:4.7 8-11:4.8 12:5.8",
		event: func(r *room) *pdu.Event { return r.member(bob, bob, "dance", nil) }},
	{name: "member/membership not a string", want: "1-5:5.6 6:4.6 7:4.7 8-11:4.8 12:5.8",
		event: func(r *room) *pdu.Event {
			return r.event(spec.MRoomMember, strp(bob), bob, map[string]any{"membership": 1})
		}},
	{name: "member/knock before v7 is unknown", want: "1-5:5.6 6:4.6",
		setup: func(r *room) { r.setJoinRule("knock", nil) },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "knock", nil) }},

	// Join.
	{name: "join/creator right after create", want: "1-12:ok",
		setup: func(r *room) { r.state = StateMap{{Type: spec.MRoomCreate}: r.create} },
		event: func(r *room) *pdu.Event { return joinAfterCreate(r, alice, alice) }},
	{name: "join/creator right after create, sent by another (allowed by the letter of the rule)", want: "1-12:ok",
		setup: func(r *room) { r.state = StateMap{{Type: spec.MRoomCreate}: r.create} },
		event: func(r *room) *pdu.Event { return joinAfterCreate(r, bob, alice) }},
	{name: "join/non-creator right after create", want: "1-5:5.2.6 6-7:4.2.6 8-11:4.3.7 12:5.3.7",
		setup: func(r *room) { r.state = StateMap{{Type: spec.MRoomCreate}: r.create} },
		event: func(r *room) *pdu.Event { return joinAfterCreate(r, bob, bob) }},
	{name: "join/for someone else", want: "1-5:5.2.2 6-7:4.2.2 8-11:4.3.2 12:5.3.2",
		event: func(r *room) *pdu.Event { return r.member(bob, carol, "join", nil) }},
	{name: "join/banned", want: "1-5:5.2.3 6-7:4.2.3 8-11:4.3.3 12:5.3.3",
		setup: func(r *room) { r.setMember(carol, "ban") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/public", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/public from knock", want: "7-12:ok",
		setup: func(r *room) { r.setMember(carol, "knock") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/invite rule, invited", want: "1-12:ok",
		setup: func(r *room) { r.setJoinRule("invite", nil); r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/invite rule, already joined", want: "1-12:ok",
		setup: func(r *room) { r.setJoinRule("invite", nil) },
		event: func(r *room) *pdu.Event { return r.member(bob, bob, "join", map[string]any{"displayname": "B"}) }},
	{name: "join/invite rule, not invited", want: "1-5:5.2.6 6-7:4.2.6 8-11:4.3.7 12:5.3.7",
		setup: func(r *room) { r.setJoinRule("invite", nil) },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/no join rules, invited", want: "1-12:ok",
		setup: func(r *room) { r.unset(spec.MRoomJoinRules, ""); r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/no join rules, not invited", want: "1-5:5.2.6 6-7:4.2.6 8-11:4.3.7 12:5.3.7",
		setup: func(r *room) { r.unset(spec.MRoomJoinRules, "") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/knock rule, invited", want: "1-5:5.2.6 6:4.2.6 7-12:ok",
		setup: func(r *room) { r.setJoinRule("knock", nil); r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/knock rule, knocked", want: "1-5:5.2.6 6-7:4.2.6 8-11:4.3.7 12:5.3.7",
		setup: func(r *room) { r.setJoinRule("knock", nil); r.setMember(carol, "knock") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/private rule, invited", want: "1-5:5.2.6 6-7:4.2.6 8-11:4.3.7 12:5.3.7",
		setup: func(r *room) { r.setJoinRule("private", nil); r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/restricted, authorised by a joined inviter", want: "1-5:5.2.6 6-7:4.2.6 8-11:ok 12:ok",
		setup: restricted("restricted"),
		event: func(r *room) *pdu.Event { return restrictedJoin(r, mod) }},
	{name: "join/restricted, invited", want: "1-5:5.2.6 6-7:4.2.6 8-12:ok",
		setup: func(r *room) { restricted("restricted")(r); r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/restricted, no authoriser", want: "1-5:5.2.6 6-7:4.2.6 8-11:4.3.5.2 12:5.3.5.2",
		setup: restricted("restricted"),
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/restricted, authoriser not joined", want: "8-11:4.3.5.2 12:5.3.5.2",
		setup: restricted("restricted"),
		event: func(r *room) *pdu.Event { return restrictedJoin(r, dave) }},
	{name: "join/restricted, authoriser cannot invite", want: "8-11:4.3.5.2 12:5.3.5.2",
		setup: func(r *room) { restricted("restricted")(r); r.setPL(map[string]any{"invite": 60}) },
		event: func(r *room) *pdu.Event { return restrictedJoin(r, mod) }},
	{name: "join/restricted, authoriser not a string", want: "8-11:4.3.5.2 12:5.3.5.2",
		setup: restricted("restricted"),
		event: func(r *room) *pdu.Event {
			return r.member(carol, carol, "join", map[string]any{"join_authorised_via_users_server": 1})
		}},
	{name: "join/restricted, banned", want: "8-11:4.3.3 12:5.3.3",
		setup: func(r *room) { restricted("restricted")(r); r.setMember(carol, "ban") },
		event: func(r *room) *pdu.Event { return restrictedJoin(r, mod) }},
	{name: "join/knock_restricted, authorised", want: "1-5:5.2.6 6-7:4.2.6 8-9:4.3.7 10-11:ok 12:ok",
		setup: restricted("knock_restricted"),
		event: func(r *room) *pdu.Event { return restrictedJoin(r, mod) }},
	{name: "join/knock_restricted, invited", want: "1-5:5.2.6 6-7:4.2.6 8-9:4.3.7 10-12:ok",
		setup: func(r *room) { restricted("knock_restricted")(r); r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{name: "join/knock_restricted, no authoriser", want: "8-9:4.3.7 10-11:4.3.5.2 12:5.3.5.2",
		setup: restricted("knock_restricted"),
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},

	// Invite.
	{name: "invite/allowed", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.member(bob, carol, "invite", nil) }},
	{name: "invite/re-invite an invited user", want: "1-12:ok",
		setup: func(r *room) { r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.member(bob, carol, "invite", nil) }},
	{name: "invite/sender not joined", want: "1-5:5.3.2 6-7:4.3.2 8-11:4.4.2 12:5.4.2",
		setup: func(r *room) { r.setMember(bob, "invite") },
		event: func(r *room) *pdu.Event { return r.member(bob, carol, "invite", nil) }},
	{name: "invite/target joined", want: "1-5:5.3.3 6-7:4.3.3 8-11:4.4.3 12:5.4.3",
		event: func(r *room) *pdu.Event { return r.member(bob, mod, "invite", nil) }},
	{name: "invite/target banned", want: "1-5:5.3.3 6-7:4.3.3 8-11:4.4.3 12:5.4.3",
		setup: func(r *room) { r.setMember(carol, "ban") },
		event: func(r *room) *pdu.Event { return r.member(mod, carol, "invite", nil) }},
	{name: "invite/below invite level", want: "1-5:5.3.5 6-7:4.3.5 8-11:4.4.5 12:5.4.5",
		setup: func(r *room) { r.setPL(map[string]any{"invite": 10}) },
		event: func(r *room) *pdu.Event { return r.member(bob, carol, "invite", nil) }},

	// Third-party invites (invite rule 1).
	{name: "3pid/valid public_key", want: "1-12:ok",
		setup: withTPI(tpiPublicKey),
		event: func(r *room) *pdu.Event { return tpiInvite(r, mod, carol, "tok", true) }},
	{name: "3pid/valid public_keys", want: "1-12:ok",
		setup: withTPI(tpiPublicKeys),
		event: func(r *room) *pdu.Event { return tpiInvite(r, mod, carol, "tok", true) }},
	{name: "3pid/sender not joined is not checked", want: "1-12:ok",
		setup: func(r *room) { withTPI(tpiPublicKey)(r); r.setMember(mod, "leave") },
		event: func(r *room) *pdu.Event { return tpiInvite(r, mod, carol, "tok", true) }},
	{name: "3pid/target banned", want: "1-5:5.3.1.1 6-7:4.3.1.1 8-11:4.4.1.1 12:5.4.1.1",
		setup: func(r *room) { withTPI(tpiPublicKey)(r); r.setMember(carol, "ban") },
		event: func(r *room) *pdu.Event { return tpiInvite(r, mod, carol, "tok", true) }},
	{name: "3pid/no signed", want: "1-5:5.3.1.2 6-7:4.3.1.2 8-11:4.4.1.2 12:5.4.1.2",
		setup: withTPI(tpiPublicKey),
		event: func(r *room) *pdu.Event {
			return r.member(mod, carol, "invite", map[string]any{"third_party_invite": map[string]any{"display_name": "c"}})
		}},
	{name: "3pid/signed without token", want: "1-5:5.3.1.3 6-7:4.3.1.3 8-11:4.4.1.3 12:5.4.1.3",
		setup: withTPI(tpiPublicKey),
		event: func(r *room) *pdu.Event {
			return r.member(mod, carol, "invite", map[string]any{"third_party_invite": map[string]any{
				"signed": map[string]any{"mxid": carol}}})
		}},
	{name: "3pid/mxid is not the state_key", want: "1-5:5.3.1.4 6-7:4.3.1.4 8-11:4.4.1.4 12:5.4.1.4",
		setup: withTPI(tpiPublicKey),
		event: func(r *room) *pdu.Event { return tpiInviteFor(r, mod, dave, carol, "tok", true) }},
	{name: "3pid/no third-party invite event", want: "1-5:5.3.1.5 6-7:4.3.1.5 8-11:4.4.1.5 12:5.4.1.5",
		setup: withTPI(tpiPublicKey),
		event: func(r *room) *pdu.Event { return tpiInvite(r, mod, carol, "other", true) }},
	{name: "3pid/sender did not send the third-party invite", want: "1-5:5.3.1.6 6-7:4.3.1.6 8-11:4.4.1.6 12:5.4.1.6",
		setup: withTPI(tpiPublicKey),
		event: func(r *room) *pdu.Event { return tpiInvite(r, bob, carol, "tok", true) }},
	{name: "3pid/bad signature", want: "1-5:5.3.1.8 6-7:4.3.1.8 8-11:4.4.1.8 12:5.4.1.8",
		setup: withTPI(tpiPublicKey),
		event: func(r *room) *pdu.Event { return tpiInvite(r, mod, carol, "tok", false) }},
	{name: "3pid/no usable public key", want: "1-5:5.3.1.8 6-7:4.3.1.8 8-11:4.4.1.8 12:5.4.1.8",
		setup: withTPI(map[string]any{"display_name": "c", "public_key": "not base64!"}),
		event: func(r *room) *pdu.Event { return tpiInvite(r, mod, carol, "tok", true) }},

	// Leave.
	{name: "leave/self from join", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.member(bob, bob, "leave", nil) }},
	{name: "leave/self from invite", want: "1-12:ok",
		setup: func(r *room) { r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "leave", nil) }},
	{name: "leave/self from knock", want: "1-5:5.4.1 6:4.4.1 7-12:ok",
		setup: func(r *room) { r.setMember(carol, "knock") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "leave", nil) }},
	{name: "leave/self from leave", want: "1-5:5.4.1 6-7:4.4.1 8-11:4.5.1 12:5.5.1",
		setup: func(r *room) { r.setMember(carol, "leave") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "leave", nil) }},
	{name: "leave/self with no membership", want: "1-5:5.4.1 6-7:4.4.1 8-11:4.5.1 12:5.5.1",
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "leave", nil) }},
	{name: "leave/self from ban", want: "1-5:5.4.1 6-7:4.4.1 8-11:4.5.1 12:5.5.1",
		setup: func(r *room) { r.setMember(carol, "ban") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "leave", nil) }},
	{name: "leave/kick by sender not joined", want: "1-5:5.4.2 6-7:4.4.2 8-11:4.5.2 12:5.5.2",
		setup: func(r *room) { r.setMember(mod, "leave") },
		event: func(r *room) *pdu.Event { return r.member(mod, bob, "leave", nil) }},
	{name: "leave/kick", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.member(mod, bob, "leave", nil) }},
	{name: "leave/kick an equal", want: "1-5:5.4.5 6-7:4.4.5 8-11:4.5.5 12:5.5.5",
		setup: func(r *room) { r.setPL(map[string]any{"users": r.stdUsers(map[string]any{bob: 50})}) },
		event: func(r *room) *pdu.Event { return r.member(mod, bob, "leave", nil) }},
	{name: "leave/kick below kick level", want: "1-5:5.4.5 6-7:4.4.5 8-11:4.5.5 12:5.5.5",
		setup: func(r *room) { r.setPL(map[string]any{"kick": 51}) },
		event: func(r *room) *pdu.Event { return r.member(mod, bob, "leave", nil) }},
	{name: "leave/unban", want: "1-12:ok",
		setup: func(r *room) { r.setMember(carol, "ban") },
		event: func(r *room) *pdu.Event { return r.member(mod, carol, "leave", nil) }},
	{name: "leave/unban below ban level", want: "1-5:5.4.3 6-7:4.4.3 8-11:4.5.3 12:5.5.3",
		setup: func(r *room) { r.setMember(carol, "ban"); r.setPL(map[string]any{"ban": 60, "kick": 0}) },
		event: func(r *room) *pdu.Event { return r.member(mod, carol, "leave", nil) }},
	{name: "leave/unban needs the kick level too", want: "1-5:5.4.5 6-7:4.4.5 8-11:4.5.5 12:5.5.5",
		setup: func(r *room) { r.setMember(carol, "ban"); r.setPL(map[string]any{"ban": 0, "kick": 60}) },
		event: func(r *room) *pdu.Event { return r.member(mod, carol, "leave", nil) }},

	// Ban.
	{name: "ban/allowed", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.member(mod, bob, "ban", nil) }},
	{name: "ban/a user not in the room", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.member(mod, dave, "ban", nil) }},
	{name: "ban/sender not joined", want: "1-5:5.5.1 6-7:4.5.1 8-11:4.6.1 12:5.6.1",
		setup: func(r *room) { r.setMember(mod, "invite") },
		event: func(r *room) *pdu.Event { return r.member(mod, bob, "ban", nil) }},
	{name: "ban/below ban level", want: "1-5:5.5.3 6-7:4.5.3 8-11:4.6.3 12:5.6.3",
		event: func(r *room) *pdu.Event { return r.member(bob, carol, "ban", nil) }},
	{name: "ban/a higher user", want: "1-5:5.5.3 6-7:4.5.3 8-11:4.6.3 12:5.6.3",
		event: func(r *room) *pdu.Event { return r.member(mod, alice, "ban", nil) }},
	{name: "ban/self", want: "1-5:5.5.3 6-7:4.5.3 8-11:4.6.3 12:5.6.3",
		event: func(r *room) *pdu.Event { return r.member(mod, mod, "ban", nil) }},

	// Knock (v7+).
	{name: "knock/allowed", want: "7-12:ok",
		setup: func(r *room) { r.setJoinRule("knock", nil) },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "knock", nil) }},
	{name: "knock/after leaving", want: "7-12:ok",
		setup: func(r *room) { r.setJoinRule("knock", nil); r.setMember(carol, "leave") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "knock", nil) }},
	{name: "knock/knock_restricted", want: "7-9:4.6.1 8-9:4.7.1 10-11:ok 12:ok",
		setup: func(r *room) { r.setJoinRule("knock_restricted", nil) },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "knock", nil) }},
	{name: "knock/public room", want: "7:4.6.1 8-11:4.7.1 12:5.7.1",
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "knock", nil) }},
	{name: "knock/for someone else", want: "7:4.6.2 8-11:4.7.2 12:5.7.2",
		setup: func(r *room) { r.setJoinRule("knock", nil) },
		event: func(r *room) *pdu.Event { return r.member(bob, carol, "knock", nil) }},
	{name: "knock/already invited", want: "7:4.6.4 8-11:4.7.4 12:5.7.4",
		setup: func(r *room) { r.setJoinRule("knock", nil); r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "knock", nil) }},
	{name: "knock/banned", want: "7:4.6.4 8-11:4.7.4 12:5.7.4",
		setup: func(r *room) { r.setJoinRule("knock", nil); r.setMember(carol, "ban") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "knock", nil) }},
	{name: "knock/joined", want: "7:4.6.4 8-11:4.7.4 12:5.7.4",
		setup: func(r *room) { r.setJoinRule("knock", nil) },
		event: func(r *room) *pdu.Event { return r.member(bob, bob, "knock", nil) }},

	// Sender must be joined.
	{name: "joined/message from a non-member", want: "1-5:6 6-11:5 12:6",
		event: func(r *room) *pdu.Event { return r.msg(carol) }},
	{name: "joined/message from an invitee", want: "1-5:6 6-11:5 12:6",
		setup: func(r *room) { r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.msg(carol) }},
	{name: "joined/message", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.msg(bob) }},

	// m.room.third_party_invite.
	{name: "third_party_invite/at invite level", want: "1-12:ok",
		event: func(r *room) *pdu.Event {
			return r.event(spec.MRoomThirdPartyInvite, strp("tok"), bob, tpiPublicKey)
		}},
	{name: "third_party_invite/below invite level", want: "1-5:7.1 6-11:6.1 12:7.1",
		setup: func(r *room) { r.setPL(map[string]any{"invite": 1}) },
		event: func(r *room) *pdu.Event {
			return r.event(spec.MRoomThirdPartyInvite, strp("tok"), bob, tpiPublicKey)
		}},
	{name: "third_party_invite/events level is ignored", want: "1-12:ok",
		setup: func(r *room) {
			r.setPL(map[string]any{"events": map[string]any{spec.MRoomThirdPartyInvite: 100}})
		},
		event: func(r *room) *pdu.Event {
			return r.event(spec.MRoomThirdPartyInvite, strp("@someone:x.org"), bob, tpiPublicKey)
		}},

	// Required power level.
	{name: "required/state below state_default", want: "1-5:8 6-11:7 12:8",
		event: func(r *room) *pdu.Event { return r.event(spec.MRoomTopic, strp(""), bob, map[string]any{"topic": "t"}) }},
	{name: "required/state at state_default", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.event(spec.MRoomTopic, strp(""), mod, map[string]any{"topic": "t"}) }},
	{name: "required/events entry", want: "1-5:8 6-11:7 12:8",
		setup: func(r *room) { r.setPL(map[string]any{"events": map[string]any{"m.room.message": 10}}) },
		event: func(r *room) *pdu.Event { return r.msg(bob) }},
	{name: "required/events_default", want: "1-5:8 6-11:7 12:8",
		setup: func(r *room) { r.setPL(map[string]any{"events_default": 1}) },
		event: func(r *room) *pdu.Event { return r.msg(bob) }},
	{name: "required/no power levels: state needs 50", want: "1-5:8 6-11:7 12:8",
		setup: func(r *room) { r.unset(spec.MRoomPowerLevels, "") },
		event: func(r *room) *pdu.Event { return r.event(spec.MRoomName, strp(""), mod, map[string]any{"name": "n"}) }},
	{name: "required/no power levels: creator has 100", want: "1-12:ok",
		setup: func(r *room) { r.unset(spec.MRoomPowerLevels, "") },
		event: func(r *room) *pdu.Event { return r.event(spec.MRoomName, strp(""), alice, map[string]any{"name": "n"}) }},
	{name: "required/v12 creator above any level", want: "12:ok",
		setup: func(r *room) { r.setPL(map[string]any{"events": map[string]any{spec.MRoomTombstone: 1 << 52}}) },
		event: func(r *room) *pdu.Event {
			return r.event(spec.MRoomTombstone, strp(""), alice, map[string]any{"body": "b", "replacement_room": "!x:y"})
		}},

	// State keys that are user IDs.
	{name: "state_key/another user's", want: "1-5:9 6-11:8 12:9",
		event: func(r *room) *pdu.Event { return r.event("m.custom", strp(bob), mod, map[string]any{}) }},
	{name: "state_key/own", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.event("m.custom", strp(mod), mod, map[string]any{}) }},

	// m.room.redaction (v1–v2 rule 11).
	{name: "redaction/below redact level, same server", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return redaction(r, bob, "example.org") }},
	{name: "redaction/below redact level, other server", want: "1-2:11.3 3-12:ok",
		event: func(r *room) *pdu.Event { return redaction(r, bob, "other.org") }},
	{name: "redaction/at redact level, other server", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return redaction(r, mod, "other.org") }},
	{name: "redaction/events level still applies", want: "1-5:8 6-11:7 12:8",
		setup: func(r *room) { r.setPL(map[string]any{"events": map[string]any{spec.MRoomRedaction: 10}}) },
		event: func(r *room) *pdu.Event { return redaction(r, bob, "example.org") }},
}

// Power levels rule cases (rule 10; 9 in v6–v11), kept apart for reading.
var powerLevelCases = []ruleCase{
	{name: "pl/unchanged", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.pl(mod, map[string]any{"users": r.stdUsers(nil)}) }},
	{name: "pl/needs state level", want: "1-5:8 6-11:7 12:8",
		event: func(r *room) *pdu.Event { return r.pl(bob, map[string]any{"users": r.stdUsers(nil)}) }},
	{name: "pl/users key not a user ID", want: "1-5:10.1 6-9:9.1 10-11:9.3 12:10.3",
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(map[string]any{"bob": 0})})
		}},
	{name: "pl/users value not an integer", want: "1-5:10.1 6-9:9.1 10-11:9.3 12:10.3",
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(map[string]any{bob: "ten"})})
		}},
	{name: "pl/users not an object", want: "1-5:10.1 6-9:9.1 10-11:9.3 12:10.3",
		event: func(r *room) *pdu.Event { return r.pl(alice, map[string]any{"users": []string{bob}}) }},
	{name: "pl/users value an integer string", want: "1-9:ok 10-11:9.3 12:10.3",
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(map[string]any{bob: " +010 "})})
		}},
	{name: "pl/named value an integer string", want: "1-9:ok 10-11:9.1 12:10.1",
		event: func(r *room) *pdu.Event { return r.pl(alice, map[string]any{"users": r.stdUsers(nil), "ban": "50"}) }},
	{name: "pl/named value not an integer (NOTSPEC before v10)", want: "1-5:10.1 6-9:9.1 10-11:9.1 12:10.1",
		event: func(r *room) *pdu.Event { return r.pl(alice, map[string]any{"users": r.stdUsers(nil), "kick": true}) }},
	{name: "pl/events value an integer string", want: "1-9:ok 10-11:9.2 12:10.2",
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(nil), "events": map[string]any{"m.x": "5"}})
		}},
	{name: "pl/notifications not an object", want: "1-5:10.1 6-9:9.1 10-11:9.2 12:10.2",
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(nil), "notifications": 50})
		}},
	{name: "pl/named integer is checked before users", want: "10-11:9.1 12:10.1",
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": map[string]any{"x": 1}, "events": map[string]any{"a": "1"}, "ban": "1"})
		}},
	{name: "pl/floats before v6", want: "1-5:ok",
		event: func(r *room) *pdu.Event {
			return r.pl(alice, raw(`{"users":{"@alice:example.org":100,"@mod:example.org":50.57},"ban":5.0E1}`))
		}},
	{name: "pl/float too big for a double before v6", want: "1-5:10.1",
		event: func(r *room) *pdu.Event {
			return r.pl(alice, raw(`{"users":{"@alice:example.org":100,"@mod:example.org":50},"ban":1e400}`))
		}},
	{name: "pl/v12 users names the creator", want: "12:10.4",
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(map[string]any{alice: 100})})
		}},
	{name: "pl/v12 users names an additional creator", want: "12:10.4",
		setup: func(r *room) { setCreate(r, map[string]any{"additional_creators": []string{bob}}) },
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(map[string]any{bob: 1})})
		}},
	{name: "pl/no previous power levels", want: "1-12:ok",
		setup: func(r *room) { r.unset(spec.MRoomPowerLevels, "") },
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(map[string]any{bob: 1 << 40}), "ban": 1 << 50})
		}},
	{name: "pl/no previous power levels, not the creator", want: "1-5:8 6-11:7 12:8",
		setup: func(r *room) { r.unset(spec.MRoomPowerLevels, "") },
		event: func(r *room) *pdu.Event { return r.pl(mod, map[string]any{}) }},

	// Named properties.
	{name: "pl/named: change within own level", want: "1-12:ok",
		event: func(r *room) *pdu.Event { return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "ban": 40}) }},
	{name: "pl/named: raise above own level", want: "1-5:10.3.2 6-9:9.3.2 10-11:9.5.2 12:10.6.2",
		event: func(r *room) *pdu.Event { return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "kick": 51}) }},
	{name: "pl/named: lower from above own level", want: "1-5:10.3.1 6-9:9.3.1 10-11:9.5.1 12:10.6.1",
		setup: func(r *room) { r.setPL(map[string]any{"redact": 60}) },
		event: func(r *room) *pdu.Event { return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "redact": 10}) }},
	{name: "pl/named: remove one above own level", want: "1-5:10.3.1 6-9:9.3.1 10-11:9.5.1 12:10.6.1",
		setup: func(r *room) { r.setPL(map[string]any{"invite": 60}) },
		event: func(r *room) *pdu.Event { return r.pl(mod, map[string]any{"users": r.stdUsers(nil)}) }},
	{name: "pl/named: add at the default above own level", want: "1-5:10.3.2 6-9:9.3.2 10-11:9.5.2 12:10.6.2",
		setup: func(r *room) { r.setPL(mod40(r)) },
		event: func(r *room) *pdu.Event { return r.pl(mod, withKey(mod40(r), "ban", 50)) }},
	{name: "pl/named: add below own level where the default is above", want: "1-12:ok",
		setup: func(r *room) { r.setPL(mod40(r)) },
		event: func(r *room) *pdu.Event { return r.pl(mod, withKey(mod40(r), "ban", 30)) }},
	{name: "pl/named: same value as a string is no change", want: "1-9:ok",
		setup: func(r *room) { r.setPL(map[string]any{"kick": 100}) },
		event: func(r *room) *pdu.Event { return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "kick": "100"}) }},

	// events and notifications.
	{name: "pl/events: add within own level", want: "1-12:ok",
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "events": map[string]any{"m.x": 50}})
		}},
	{name: "pl/events: add above own level", want: "1-5:10.5.1 6-9:9.5.1 10-11:9.7.1 12:10.8.1",
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "events": map[string]any{"m.x": 51}})
		}},
	{name: "pl/events: change one above own level", want: "1-5:10.4.1 6-9:9.4.1 10-11:9.6.1 12:10.7.1",
		setup: func(r *room) { r.setPL(map[string]any{"events": map[string]any{"m.x": 100}}) },
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "events": map[string]any{"m.x": 0}})
		}},
	{name: "pl/events: remove one above own level", want: "1-5:10.4.1 6-9:9.4.1 10-11:9.6.1 12:10.7.1",
		setup: func(r *room) { r.setPL(map[string]any{"events": map[string]any{"m.x": 100}}) },
		event: func(r *room) *pdu.Event { return r.pl(mod, map[string]any{"users": r.stdUsers(nil)}) }},
	{name: "pl/events: keep one above own level", want: "1-12:ok",
		setup: func(r *room) { r.setPL(map[string]any{"events": map[string]any{"m.x": 100}}) },
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "events": map[string]any{"m.x": 100, "m.y": 1}})
		}},
	{name: "pl/events: old checks run before new checks", want: "1-5:10.4.1 6-9:9.4.1 10-11:9.6.1 12:10.7.1",
		setup: func(r *room) { r.setPL(map[string]any{"events": map[string]any{"m.x": 100}}) },
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "events": map[string]any{"m.y": 100}})
		}},
	{name: "pl/notifications: add above own level", want: "1-5:ok 6-9:9.5.1 10-11:9.7.1 12:10.8.1",
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "notifications": map[string]any{"room": 51}})
		}},
	{name: "pl/notifications: change one above own level", want: "1-5:ok 6-9:9.4.1 10-11:9.6.1 12:10.7.1",
		setup: func(r *room) { r.setPL(map[string]any{"notifications": map[string]any{"room": 60}}) },
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "notifications": map[string]any{"room": 0}})
		}},
	{name: "pl/notifications: change one at own level", want: "1-12:ok",
		setup: func(r *room) { r.setPL(map[string]any{"notifications": map[string]any{"room": 50}}) },
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "notifications": map[string]any{"room": 20}})
		}},

	// users.
	{name: "pl/users: promote to own level", want: "1-12:ok",
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(map[string]any{bob: 50})})
		}},
	{name: "pl/users: promote above own level", want: "1-5:10.7.1 6-9:9.7.1 10-11:9.9.1 12:10.10.1",
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(map[string]any{bob: 51})})
		}},
	{name: "pl/users: demote an equal", want: "1-5:10.6.1 6-9:9.6.1 10-11:9.8.1 12:10.9.1",
		setup: func(r *room) { r.setPL(map[string]any{"users": r.stdUsers(map[string]any{bob: 50})}) },
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(map[string]any{bob: 0})})
		}},
	{name: "pl/users: remove an equal", want: "1-5:10.6.1 6-9:9.6.1 10-11:9.8.1 12:10.9.1",
		setup: func(r *room) { r.setPL(map[string]any{"users": r.stdUsers(map[string]any{bob: 50})}) },
		event: func(r *room) *pdu.Event { return r.pl(mod, map[string]any{"users": r.stdUsers(nil)}) }},
	{name: "pl/users: demote a lower user", want: "1-12:ok",
		setup: func(r *room) { r.setPL(map[string]any{"users": r.stdUsers(map[string]any{bob: 49})}) },
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(map[string]any{bob: 0})})
		}},
	{name: "pl/users: demote self", want: "1-12:ok",
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(map[string]any{mod: 10})})
		}},
	{name: "pl/users: remove self", want: "1-12:ok",
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(map[string]any{mod: nil})})
		}},
	{name: "pl/users: add at users_default above own level", want: "1-5:10.7.1 6-9:9.7.1 10-11:9.9.1 12:10.10.1",
		setup: func(r *room) { r.setPL(map[string]any{"users_default": 60, "users": r.stdUsers(nil)}) },
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users_default": 60, "users": r.stdUsers(map[string]any{bob: 60})})
		}},
	{name: "pl/users: the creator changes anything", want: "1-12:ok",
		setup: func(r *room) { r.setPL(map[string]any{"users": r.stdUsers(map[string]any{bob: 99})}) },
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(map[string]any{bob: 0, mod: 99}), "ban": 99})
		}},
	{name: "pl/users: v12 creator beyond any level", want: "12:ok",
		setup: func(r *room) { r.setPL(map[string]any{"users": r.stdUsers(map[string]any{bob: 1 << 52})}) },
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(map[string]any{bob: nil, mod: 1 << 52})})
		}},
}

// v12 creators have infinite power in every rule.
var creatorCases = []ruleCase{
	{name: "creators/kick the creator", want: "1-5:5.4.5 6-7:4.4.5 8-11:4.5.5 12:5.5.5",
		setup: func(r *room) { r.setPL(map[string]any{"users": r.stdUsers(map[string]any{mod: 100})}) },
		event: func(r *room) *pdu.Event { return r.member(mod, alice, "leave", nil) }},
	{name: "creators/creator kicks a 2^53-1 user", want: "12:ok",
		setup: func(r *room) { r.setPL(map[string]any{"users": r.stdUsers(map[string]any{bob: 1<<53 - 1})}) },
		event: func(r *room) *pdu.Event { return r.member(alice, bob, "leave", nil) }},
	{name: "creators/additional creator bans a 2^53-1 user", want: "12:ok",
		setup: func(r *room) {
			setCreate(r, map[string]any{"additional_creators": []string{mod}})
			r.setPL(map[string]any{"users": map[string]any{bob: 1<<53 - 1}})
		},
		event: func(r *room) *pdu.Event { return r.member(mod, bob, "ban", nil) }},
	{name: "creators/creators cannot ban each other", want: "12:5.6.3",
		setup: func(r *room) {
			setCreate(r, map[string]any{"additional_creators": []string{mod}})
			r.setPL(map[string]any{"users": map[string]any{}})
		},
		event: func(r *room) *pdu.Event { return r.member(mod, alice, "ban", nil) }},
	{name: "creators/no power levels: other users have 0", want: "1-5:5.5.3 6-7:4.5.3 8-11:4.6.3 12:5.6.3",
		setup: func(r *room) { r.unset(spec.MRoomPowerLevels, "") },
		event: func(r *room) *pdu.Event { return r.member(mod, bob, "ban", nil) }},
	{name: "creators/no power levels: the creator bans", want: "1-12:ok",
		setup: func(r *room) { r.unset(spec.MRoomPowerLevels, "") },
		event: func(r *room) *pdu.Event { return r.member(alice, bob, "ban", nil) }},
	{name: "creators/v1-v10 creator is content.creator", want: "1-5:5.5.3 6-7:4.5.3 8-10:4.6.3",
		setup: func(r *room) { setCreate(r, map[string]any{"creator": mod}); r.unset(spec.MRoomPowerLevels, "") },
		event: func(r *room) *pdu.Event { return r.member(alice, bob, "ban", nil) }},
}

func TestRules(t *testing.T) {
	all := append(append(append([]ruleCase{}, ruleCases...), powerLevelCases...), creatorCases...)
	for _, v := range spec.RoomVersions() {
		rooms := 0
		for _, tc := range all {
			want, ok := parseWant(t, tc.want)[atoi(v.ID)]
			if !ok {
				continue
			}
			rooms++
			t.Run("v"+v.ID+"/"+tc.name, func(t *testing.T) {
				r := stdRoom(t, v)
				if tc.setup != nil {
					tc.setup(r)
				}
				ev := tc.event(r)
				err := Check(ev, r.state)
				if got := verdict(t, err); got != want {
					t.Errorf("got %s (%v), want %s", got, err, want)
				}
			})
		}
		if rooms == 0 {
			t.Errorf("v%s: no cases", v.ID)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// createWith builds another create event for r's version: the std content
// changed by extra (nil deletes), with a prev event when withPrev, and the
// given room ID (v1–v11; "" for the std one).
func createWith(r *room, extra map[string]any, withPrev bool, roomID string) *pdu.Event {
	content := map[string]any{"room_version": r.v.ID}
	if !r.v.CreatorFromSender {
		content["creator"] = alice
	}
	for k, x := range extra {
		if x == nil {
			delete(content, k)
		} else {
			content[k] = x
		}
	}
	b := r.builder(spec.MRoomCreate, strp(""), alice, content)
	if !withPrev {
		b.PrevEvents = nil
	}
	switch {
	case r.v.CreateEventHasNoRoomID:
		b.RoomID = ""
	case roomID != "":
		b.RoomID = roomID
	default:
		b.RoomID = "!room:example.org"
	}
	return r.buildWith(b)
}

// setCreate replaces the room's create event by one with extra content;
// in v12 this changes the room ID, so the std state is rebuilt around it.
func setCreate(r *room, extra map[string]any) {
	if !r.v.CreateEventHasNoRoomID {
		r.create = createWith(r, extra, false, "")
		r.put(r.create)
		return
	}
	fresh := newRoom(r.t, r.v, extra)
	old := r.state
	*r = *fresh
	for t, e := range old {
		if t.Type == spec.MRoomCreate {
			continue
		}
		r.set(e.Type(), *e.StateKey(), e.Sender(), json.RawMessage(e.Content()))
	}
}

func otherRoomID(r *room) string {
	if r.v.CreateEventHasNoRoomID {
		return pdu.RoomIDForCreate("$" + string(bytes.Repeat([]byte{'A'}, 43)))
	}
	return "!other:example.org"
}

func noFederate(r *room) { setCreate(r, map[string]any{"m.federate": false}) }

// joinAfterCreate builds target's join sent by sender with the create
// event as its only prev event.
func joinAfterCreate(r *room, sender, target string) *pdu.Event {
	b := r.builder(spec.MRoomMember, strp(target), sender, map[string]any{"membership": "join"})
	b.PrevEvents = []string{r.create.EventID()}
	return r.buildWith(b)
}

func restricted(rule string) func(r *room) {
	return func(r *room) {
		r.setJoinRule(rule, map[string]any{"allow": []any{map[string]any{"type": "m.room_membership", "room_id": "!space:example.org"}}})
	}
}

func restrictedJoin(r *room, via string) *pdu.Event {
	return r.member(carol, carol, "join", map[string]any{"join_authorised_via_users_server": via})
}

func redaction(r *room, sender, targetDomain string) *pdu.Event {
	b := r.builder(spec.MRoomRedaction, nil, sender, map[string]any{})
	if r.v.EventIDFormat == spec.EventIDOpaque {
		b.Redacts = "$target:" + targetDomain
	} else {
		b.Redacts = "$" + string(bytes.Repeat([]byte{'B'}, 43))
	}
	return r.buildWith(b)
}

// The identity server key that signs third-party invites in the tests.
func idServerKey() signing.Key {
	k, err := signing.KeyFromSeed("0", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		panic(err)
	}
	return k
}

var (
	tpiPublicKey  = map[string]any{"display_name": "c...", "public_key": signing.EncodeBase64(idServerKey().Public())}
	tpiPublicKeys = map[string]any{"display_name": "c...", "public_key": signing.EncodeBase64(bytes.Repeat([]byte{1}, 32)),
		"public_keys": []any{map[string]any{"public_key": signing.EncodeBase64(idServerKey().Public()), "key_validity_url": "https://id/v"}}}
)

// withTPI puts an m.room.third_party_invite with state key "tok", sent by
// mod, into the state.
func withTPI(content map[string]any) func(r *room) {
	return func(r *room) { r.set(spec.MRoomThirdPartyInvite, "tok", mod, content) }
}

// tpiInvite builds sender's invite of target redeeming the third-party
// invite token, signed by the identity server key (or by another key when
// good is false).
func tpiInvite(r *room, sender, target, token string, good bool) *pdu.Event {
	return tpiInviteFor(r, sender, target, target, token, good)
}

// tpiInviteFor is tpiInvite with signed.mxid set to mxid.
func tpiInviteFor(r *room, sender, target, mxid, token string, good bool) *pdu.Event {
	key := idServerKey()
	if !good {
		key, _ = signing.KeyFromSeed("0", bytes.Repeat([]byte{8}, 32))
	}
	return tpiInviteSignedBy(r, sender, target, `{"mxid":"`+mxid+`","sender":"`+sender+`","token":"`+token+`"}`, key)
}

// tpiInviteSigned builds sender's invite of target carrying the signed
// object obj, signed by the identity server key.
func tpiInviteSigned(r *room, sender, target, obj string) *pdu.Event {
	return tpiInviteSignedBy(r, sender, target, obj, idServerKey())
}

func tpiInviteSignedBy(r *room, sender, target, obj string, key signing.Key) *pdu.Event {
	signedJSON, err := signing.SignJSON([]byte(obj), "id.example.org", key)
	if err != nil {
		r.t.Fatal(err)
	}
	return r.member(sender, target, "invite", map[string]any{
		"third_party_invite": map[string]any{"display_name": "c...", "signed": json.RawMessage(signedJSON)},
	})
}

// mod40 is power levels content giving mod 40 and letting 40 send power
// levels.
func mod40(r *room) map[string]any {
	return map[string]any{"users": r.stdUsers(map[string]any{mod: 40}),
		"events": map[string]any{spec.MRoomPowerLevels: 40}}
}

func withKey(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}
