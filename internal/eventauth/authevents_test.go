package eventauth

import (
	"testing"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// authEventsCase builds, in a std room, an event whose auth_events name the
// returned events, and says what CheckAuthEvents must answer ("ok", a rule,
// or "error" for a non-rejection error).
type authEventsCase struct {
	name  string
	want  string
	build func(r *room) (ev *pdu.Event, given []*pdu.Event)
}

func (r *room) get(typ, sk string) *pdu.Event { return r.state.StateEvent(typ, sk) }

// withAuth builds an event from b whose auth_events are the given events.
func (r *room) withAuth(b *pdu.Builder, auth ...*pdu.Event) (*pdu.Event, []*pdu.Event) {
	b.AuthEvents = nil
	for _, e := range auth {
		b.AuthEvents = append(b.AuthEvents, e.EventID())
	}
	return r.buildWith(b), auth
}

// selected returns the auth events the selection picks for a message by
// sender: create (before v12), power levels, sender's membership.
func (r *room) selected(sender string) []*pdu.Event {
	var out []*pdu.Event
	if !r.v.CreateEventHasNoRoomID {
		out = append(out, r.create)
	}
	return append(out, r.get(spec.MRoomPowerLevels, ""), r.get(spec.MRoomMember, sender))
}

func (r *room) msgBuilder(sender string) *pdu.Builder {
	return r.builder("m.room.message", nil, sender, map[string]any{"body": "hi"})
}

var authEventsCases = []authEventsCase{
	{name: "message with the selected auth events", want: "1-12:ok",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			return r.withAuth(r.msgBuilder(bob), r.selected(bob)...)
		}},
	{name: "a subset is fine", want: "1-12:ok",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			return r.withAuth(r.msgBuilder(bob), r.selected(bob)[:len(r.selected(bob))-1]...)
		}},
	{name: "two power levels events", want: "1-11:2.1 12:3.1",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			pl := r.get(spec.MRoomPowerLevels, "")
			r.setPL(map[string]any{"ban": 1})
			return r.withAuth(r.msgBuilder(bob), append(r.selected(bob), pl)...)
		}},
	{name: "the same event twice", want: "1-11:2.1 12:3.1",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			ev, given := r.withAuth(r.msgBuilder(bob), append(r.selected(bob), r.get(spec.MRoomMember, bob))...)
			return ev, given[:len(given)-1]
		}},
	{name: "join rules for a message", want: "1-11:2.2 12:3.2",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			return r.withAuth(r.msgBuilder(bob), append(r.selected(bob), r.get(spec.MRoomJoinRules, ""))...)
		}},
	{name: "another user's membership for a message", want: "1-11:2.2 12:3.2",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			return r.withAuth(r.msgBuilder(bob), append(r.selected(bob), r.get(spec.MRoomMember, mod))...)
		}},
	{name: "a message event among the auth events", want: "1-11:2.2 12:3.2",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			m := r.msg(bob)
			r.put(m)
			return r.withAuth(r.msgBuilder(bob), append(r.selected(bob), m)...)
		}},
	{name: "v12: the create event must not be selected", want: "12:3.2",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			return r.withAuth(r.msgBuilder(bob), append(r.selected(bob), r.create)...)
		}},
	{name: "no create event", want: "1-11:2.4",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			return r.withAuth(r.msgBuilder(bob), r.selected(bob)[1:]...)
		}},
	{name: "power levels of another room", want: "1-11:2.5 12:3.5",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			b := r.builder(spec.MRoomPowerLevels, strp(""), alice, map[string]any{})
			b.RoomID = otherRoomID(r)
			other := r.buildWith(b)
			r.put(other)
			auth := r.selected(bob)
			auth[len(auth)-2] = other
			return r.withAuth(r.msgBuilder(bob), auth...)
		}},
	{name: "join with target, join rules and authorising member", want: "1-7:2.2 8-11:ok 12:ok",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			b := r.builder(spec.MRoomMember, strp(carol), carol,
				map[string]any{"membership": "join", "join_authorised_via_users_server": mod})
			auth := append(r.selected(carol)[:len(r.selected(carol))-1], r.get(spec.MRoomJoinRules, ""), r.get(spec.MRoomMember, mod))
			return r.withAuth(b, auth...)
		}},
	{name: "leave does not select join rules", want: "1-11:2.2 12:3.2",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			b := r.builder(spec.MRoomMember, strp(bob), bob, map[string]any{"membership": "leave"})
			return r.withAuth(b, append(r.selected(bob), r.get(spec.MRoomJoinRules, ""))...)
		}},
	{name: "third-party invite selects its m.room.third_party_invite", want: "1-12:ok",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			tpi := r.set(spec.MRoomThirdPartyInvite, "tok", mod, tpiPublicKey)
			inv := tpiInvite(r, mod, carol, "tok", true)
			b := r.builder(spec.MRoomMember, strp(carol), mod, inv.Content())
			return r.withAuth(b, append(r.selected(mod), r.get(spec.MRoomJoinRules, ""), tpi)...)
		}},
	{name: "another token's m.room.third_party_invite", want: "1-11:2.2 12:3.2",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			other := r.set(spec.MRoomThirdPartyInvite, "other", mod, tpiPublicKey)
			inv := tpiInvite(r, mod, carol, "tok", true)
			b := r.builder(spec.MRoomMember, strp(carol), mod, inv.Content())
			return r.withAuth(b, append(r.selected(mod), other)...)
		}},
	{name: "member without state_key: the common selection", want: "1-12:ok",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			b := r.builder(spec.MRoomMember, nil, bob, map[string]any{"membership": "join"})
			return r.withAuth(b, r.selected(bob)...)
		}},
	{name: "member without state_key: join rules are not selected", want: "1-11:2.2 12:3.2",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			b := r.builder(spec.MRoomMember, nil, bob, map[string]any{"membership": "join"})
			return r.withAuth(b, append(r.selected(bob), r.get(spec.MRoomJoinRules, ""))...)
		}},
	{name: "a listed auth event not supplied", want: "1-12:error",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			ev, given := r.withAuth(r.msgBuilder(bob), r.selected(bob)...)
			return ev, given[1:]
		}},
	{name: "a supplied event not listed", want: "1-12:error",
		build: func(r *room) (*pdu.Event, []*pdu.Event) {
			ev, given := r.withAuth(r.msgBuilder(bob), r.selected(bob)...)
			return ev, append(given, r.get(spec.MRoomJoinRules, ""))
		}},
	{name: "the create event itself", want: "1-12:ok",
		build: func(r *room) (*pdu.Event, []*pdu.Event) { return r.create, nil }},
}

func TestCheckAuthEvents(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		for _, tc := range authEventsCases {
			want, ok := parseWant(t, tc.want)[atoi(v.ID)]
			if !ok {
				continue
			}
			t.Run("v"+v.ID+"/"+tc.name, func(t *testing.T) {
				r := stdRoom(t, v)
				ev, given := tc.build(r)
				err := CheckAuthEvents(ev, given)
				got := "ok"
				switch rej := AsRejection(err); {
				case rej != nil:
					got = rej.Rule
				case err != nil:
					got = "error"
				}
				if got != want {
					t.Errorf("got %s (%v), want %s", got, err, want)
				}
			})
		}
	}
}

// TestCheckWithAuthEvents runs the receipt check "passes authorisation
// rules based on the event's auth events" end to end: CheckAuthEvents,
// then Check against StateFromEvents of the auth events (plus the create
// event in v12).
func TestCheckWithAuthEvents(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		r := stdRoom(t, v)
		ev, auth := r.withAuth(r.msgBuilder(bob), r.selected(bob)...)
		if err := CheckAuthEvents(ev, auth); err != nil {
			t.Fatalf("v%s: %v", v.ID, err)
		}
		state := StateFromEvents(auth)
		if v.CreateEventHasNoRoomID {
			if err := Check(ev, state); verdict(t, err) != "2" {
				t.Errorf("v%s: without the create event: %v", v.ID, err)
			}
			state[spec.StateKeyTuple{Type: spec.MRoomCreate}] = r.create
		}
		if err := Check(ev, state); err != nil {
			t.Errorf("v%s: %v", v.ID, err)
		}
	}
}
