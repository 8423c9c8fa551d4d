package eventauth

import (
	"testing"

	gmsl "github.com/matrix-org/gomatrixserverlib"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// pinnedDeviation pins our verdict on one input of a known oracle deviation
// shape (see oracleDeviations), and checks that the oracle still departs
// from it there, so a fixed oracle shows up here and the exclusion can go.
type pinnedDeviation struct {
	deviation string // the oracleDeviations name
	version   string
	want      string // our verdict: "ok" or the rule
	setup     func(r *room)
	event     func(r *room) *pdu.Event
}

var pinnedDeviations = []pinnedDeviation{
	{deviation: "self-leave from leave", version: "10", want: "4.5.1",
		setup: func(r *room) { r.setMember(carol, "leave") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "leave", nil) }},
	{deviation: "unban without the kick level", version: "9", want: "4.5.5",
		setup: func(r *room) { r.setMember(carol, "ban"); r.setPL(map[string]any{"ban": 0, "kick": 60}) },
		event: func(r *room) *pdu.Event { return r.member(mod, carol, "leave", nil) }},
	{deviation: "join by an invited or joined user under a join rule the version does not know", version: "11", want: "4.3.7",
		setup: func(r *room) { r.setJoinRule("private", nil); r.setMember(carol, "invite") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{deviation: "join from knock in a public room", version: "12", want: "ok",
		setup: func(r *room) { r.setMember(carol, "knock") },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "join", nil) }},
	{deviation: "m.room.aliases from v6 on", version: "6", want: "5",
		event: func(r *room) *pdu.Event {
			return r.event(spec.MRoomAliases, strp("other.org"), dave, map[string]any{"aliases": []string{}})
		}},
	{deviation: "creator's first join sent by someone else", version: "12", want: "ok",
		setup: func(r *room) { r.state = StateMap{{Type: spec.MRoomCreate}: r.create} },
		event: func(r *room) *pdu.Event { return joinAfterCreate(r, bob, alice) }},
	{deviation: "third-party invite of a banned user", version: "10", want: "4.4.1.1",
		setup: func(r *room) { withTPI(tpiPublicKeys)(r); r.setMember(carol, "ban") },
		event: func(r *room) *pdu.Event { return tpiInviteBare(r, mod, carol, "tok") }},
	{deviation: "third-party invite by someone other than its sender", version: "10", want: "4.4.1.6",
		setup: withTPI(tpiPublicKeys),
		event: func(r *room) *pdu.Event { return tpiInviteBare(r, bob, carol, "tok") }},
	{deviation: "third-party invite key in public_key", version: "10", want: "ok",
		setup: withTPI(tpiPublicKey),
		event: func(r *room) *pdu.Event { return tpiInviteBare(r, mod, carol, "tok") }},
	{deviation: "third-party invite signed object with more members", version: "10", want: "ok",
		setup: withTPI(tpiPublicKeys),
		event: func(r *room) *pdu.Event { return tpiInvite(r, mod, carol, "tok", true) }},
	{deviation: "knock_restricted before v10", version: "9", want: "4.7.1",
		setup: func(r *room) { r.setJoinRule("knock_restricted", nil) },
		event: func(r *room) *pdu.Event { return r.member(carol, carol, "knock", nil) }},
	{deviation: "power levels entries added or removed", version: "10", want: "9.5.2",
		setup: func(r *room) { r.setPL(mod40(r)) },
		event: func(r *room) *pdu.Event { return r.pl(mod, withKey(mod40(r), "ban", 50)) }},
	{deviation: "power levels entries added or removed", version: "10", want: "ok",
		setup: func(r *room) { r.setPL(mod40(r)) },
		event: func(r *room) *pdu.Event { return r.pl(mod, withKey(mod40(r), "ban", 30)) }},
	{deviation: "notifications level equal to the sender's", version: "8", want: "ok",
		setup: func(r *room) { r.setPL(map[string]any{"notifications": map[string]any{"room": 50}}) },
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "notifications": map[string]any{"room": 20}})
		}},
	{deviation: "creator other than the create event's sender (v1-v10)", version: "4", want: "ok",
		setup: func(r *room) { setCreate(r, map[string]any{"creator": mod}); r.unset(spec.MRoomPowerLevels, "") },
		event: func(r *room) *pdu.Event { return r.member(mod, bob, "ban", nil) }},
	{deviation: "unknown room_version in a v11 create event", version: "11", want: "1.3",
		event: func(r *room) *pdu.Event { return createWith(r, map[string]any{"room_version": "99"}, false, "") }},
	{deviation: "power levels with no previous power levels", version: "10", want: "ok",
		setup: func(r *room) {
			setCreate(r, map[string]any{"creator": mod})
			r.unset(spec.MRoomPowerLevels, "")
		},
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": map[string]any{mod: 100, bob: 100}})
		}},
	{deviation: "v12 creator changing notifications", version: "12", want: "ok",
		setup: func(r *room) { r.setPL(map[string]any{"notifications": map[string]any{"room": 50}}) },
		event: func(r *room) *pdu.Event {
			return r.pl(alice, map[string]any{"users": r.stdUsers(nil), "notifications": map[string]any{"room": 1000}})
		}},
	{deviation: "users_default changes", version: "11", want: "9.5.2",
		setup: func(r *room) { r.setPL(map[string]any{"users_default": 0}) },
		event: func(r *room) *pdu.Event {
			return r.pl(mod, map[string]any{"users": r.stdUsers(nil), "users_default": 60})
		}},
	{deviation: "float power level rounded by float64", version: "5", want: "ok",
		setup: func(r *room) {
			r.set(spec.MRoomPowerLevels, "", alice, raw(`{"users":{"@alice:example.org":100,"@mod:example.org":9007199254740991},"ban":9007199254740991.5}`))
		},
		event: func(r *room) *pdu.Event { return r.member(mod, bob, "ban", nil) }},
}

func TestPinnedOracleDeviations(t *testing.T) {
	pinned := map[string]bool{}
	for _, tc := range pinnedDeviations {
		pinned[tc.deviation] = true
		t.Run(tc.deviation+"/v"+tc.version, func(t *testing.T) {
			v := spec.MustRoomVersion(tc.version)
			r := stdRoom(t, v)
			if tc.setup != nil {
				tc.setup(r)
			}
			ev := tc.event(r)
			ours := Check(ev, r.state)
			if got := verdict(t, ours); got != tc.want {
				t.Fatalf("myelin: got %s (%v), want %s", got, ours, tc.want)
			}
			theirs := oracleAllowed(t, v, ev, r.state)
			if (theirs == nil) == (ours == nil) {
				t.Errorf("the oracle now agrees (%v): drop the %q exclusion", theirs, tc.deviation)
			}
			// The disagreement must be classified as this deviation.
			d := &disagreement{v: v, state: r.state, ev: ev, ours: AsRejection(ours)}
			var matched string
			for _, dev := range oracleDeviations {
				if dev.match(d) {
					matched = dev.name
					break
				}
			}
			if matched != tc.deviation {
				t.Errorf("classified as %q, want %q", matched, tc.deviation)
			}
		})
	}
	for _, dev := range oracleDeviations {
		if !pinned[dev.name] {
			t.Errorf("oracle deviation %q has no pinned case", dev.name)
		}
	}
}

// oracleAllowed runs gomatrixserverlib's Allowed on ev against state.
func oracleAllowed(t testing.TB, v *spec.RoomVersion, ev *pdu.Event, state StateMap) error {
	t.Helper()
	rv := gmsl.MustGetRoomVersion(gmsl.RoomVersion(v.ID))
	var pdus []gmsl.PDU
	for _, e := range state {
		p, err := rv.NewEventFromTrustedJSON(e.JSON(), false)
		if err != nil {
			t.Fatal(err)
		}
		pdus = append(pdus, p)
	}
	auth, err := gmsl.NewAuthEvents(pdus)
	if err != nil {
		t.Fatal(err)
	}
	gev, err := rv.NewEventFromTrustedJSON(ev.JSON(), false)
	if err != nil {
		t.Fatal(err)
	}
	return gmsl.Allowed(gev, auth, oracleUserID)
}

// tpiInviteBare is tpiInvite with a signed object of only mxid, token and
// signatures, which the oracle can verify.
func tpiInviteBare(r *room, sender, target, token string) *pdu.Event {
	return tpiInviteSigned(r, sender, target, `{"mxid":"`+target+`","token":"`+token+`"}`)
}
