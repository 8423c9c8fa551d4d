package stateres

import (
	"testing"

	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/testkit/roomgen"
)

// deviationScenarios pin our answer on inputs where gomatrixserverlib's
// reading of the spec (see gmslSteps) gives another one. Each also checks
// gmsl's answer, so that a fixed gmsl shows up here.
var deviationScenarios = []struct {
	scenario
	reading  quirk
	gmslWant map[spec.StateKeyTuple]string
}{
	{
		scenario: scenario{
			name:   "auth difference events join X",
			intent: "The senders' joins (auth difference) are in the power events' auth chains, so they are power-ordered with them; the more powerful change overtakes the other sender's join and the other change is applied last.",
			build: func(r *scenarioRoom) []StateMap {
				r.add(plEv("PA", alice, r.users(alice, 100, bob, 100, charlie, 100), "START"))
				p1 := plEv("P1", bob, r.users(alice, 100, bob, 100, charlie, 100, zara, 10), "PA")
				p1.ts = 50_000
				r.add(p1)
				p2 := plEv("P2", charlie, r.users(alice, 100, bob, 100, charlie, 100, evelyn, 20), "PA")
				p2.ts = 40_000
				r.add(p2)
				return r.states("P1", "P2")
			},
			want: map[spec.StateKeyTuple]string{keyPL: "P2"},
		},
		reading:  quirkPowerSet,
		gmslWant: map[spec.StateKeyTuple]string{keyPL: "P1"},
	},
	{
		scenario: scenario{
			name:   "lexicographically smallest topological order",
			intent: "Kahn's algorithm takes the most powerful ready event first: charlie's join rules change comes before bob's power levels change and alice's demotion of charlie that follows it, so it is applied.",
			build: func(r *scenarioRoom) []StateMap {
				r.add(plEv("PA", alice, r.users(alice, 100, bob, 50, charlie, 75), "START"))
				r.add(topicEv("TB", bob))
				r.add(sev{name: "NC", typ: spec.MRoomName, sender: charlie, stateKey: sk(""), content: map[string]any{"name": "NC"}})
				r.add(plEv("P1", bob, r.users(alice, 100, bob, 50, charlie, 75, zara, 10), "NC"))
				r.add(plEv("P2", alice, r.users(alice, 100, bob, 50, charlie, 0, zara, 10), "P1"))
				r.add(jrEv("J", charlie, spec.JoinRuleInvite, "NC"))
				return r.states("P2", "J")
			},
			want: map[spec.StateKeyTuple]string{keyPL: "P2", keyJR: "J"},
		},
		reading:  quirkKahn,
		gmslWant: map[spec.StateKeyTuple]string{keyPL: "P2", keyJR: "IJR"},
	},
	{
		scenario: scenario{
			name:   "mainline position tie broken by timestamp",
			intent: "Two topics whose power levels chains reach the mainline at the same event are ordered by timestamp, not by how many power levels events lie on the way.",
			build: func(r *scenarioRoom) []StateMap {
				r.add(plEv("PA1", alice, r.users(alice, 100, bob, 10), "START"))
				r.add(topicEv("T1", alice, "PA1"))
				r.add(plEv("PA2", alice, r.users(alice, 100, bob, 20), "START"))
				r.add(topicEv("T2", alice, "START"))
				return r.states("T1", "PA2", "T2")
			},
			want: map[spec.StateKeyTuple]string{keyPL: "PA2", keyTopic: "T2"},
		},
		reading:  quirkMainline,
		gmslWant: map[spec.StateKeyTuple]string{keyPL: "PA2", keyTopic: "T1"},
	},
	{
		scenario: scenario{
			name:   "sender membership from auth events",
			intent: "When the sender's membership is conflicted and not resolved yet, the membership among the event's auth events is used, so zara's topic is kept.",
			build: func(r *scenarioRoom) []StateMap {
				r.add(topicEv("TZ", zara, "START"))
				r.add(sev{name: "MZ1", typ: spec.MRoomMember, sender: zara, stateKey: sk(zara), content: map[string]any{"membership": "join", "displayname": "one"}})
				r.add(sev{name: "MZ2", typ: spec.MRoomMember, sender: zara, stateKey: sk(zara), content: map[string]any{"membership": "join", "displayname": "two"}, prev: []string{"START"}})
				return r.states("MZ1", "MZ2")
			},
			want: map[spec.StateKeyTuple]string{keyTopic: "TZ", keyMember(zara): "MZ2"},
		},
		reading:  quirkFallback,
		gmslWant: map[spec.StateKeyTuple]string{keyTopic: "", keyMember(zara): "MZ2"},
	},
	{
		scenario: scenario{
			name:   "leave after kick",
			intent: "A user's own leave is not allowed once the user has left (was kicked): the kick stays.",
			build: func(r *scenarioRoom) []StateMap {
				r.add(memberEv("KB", alice, bob, spec.MembershipLeave, "START"))
				r.add(memberEv("LB", bob, bob, spec.MembershipLeave, "START"))
				return r.states("KB", "LB")
			},
			want: map[spec.StateKeyTuple]string{keyMember(bob): "KB"},
		},
		reading:  quirkLeave,
		gmslWant: map[spec.StateKeyTuple]string{keyMember(bob): "LB"},
	},
	{
		scenario: scenario{
			name:   "unban needs the kick level",
			intent: "An unban by a user who reaches the ban level but, after a concurrent change, not the kick level is rejected: the ban stays.",
			build: func(r *scenarioRoom) []StateMap {
				r.add(plEv("PA", alice, r.users(alice, 100, bob, 50), "START"))
				r.add(sev{name: "PK", typ: spec.MRoomPowerLevels, sender: alice, stateKey: sk(""),
					content: map[string]any{"users": r.users(alice, 100, bob, 50), "kick": 100}})
				r.add(memberEv("MZ", alice, zara, spec.MembershipBan, "PA"))
				r.add(memberEv("UB", bob, zara, spec.MembershipLeave, "MZ"))
				return r.states("PK", "UB")
			},
			want: map[spec.StateKeyTuple]string{keyPL: "PK", keyMember(zara): "MZ"},
		},
		reading:  quirkUnban,
		gmslWant: map[spec.StateKeyTuple]string{keyPL: "PK", keyMember(zara): "UB"},
	},
}

// scenarioOracle wraps a scenario room for the gmsl oracle.
func scenarioOracle(t *testing.T, r *scenarioRoom) *oracle {
	room := &roomgen.Room{Version: r.v, Events: r.events, Order: []*pdu.Event{r.byName["CREATE"]}}
	return newOracle(t, room)
}

// TestOracleDeviations pins our answers where gmsl reads the spec
// differently, and checks that the documented reading alone reproduces
// gmsl's answer.
func TestOracleDeviations(t *testing.T) {
	v := spec.MustRoomVersion("10")
	for _, sc := range deviationScenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := newScenarioRoom(t, v)
			states := sc.build(r)
			got, err := Resolve(v, states, memSource(r.events))
			if err != nil {
				t.Fatal(err)
			}
			r.expect(got, sc.want)
			o := scenarioOracle(t, r)
			theirs, dev := o.resolve(v, states)
			if dev != "" {
				t.Fatalf("gmsl: %s", dev)
			}
			r.expect(theirs, sc.gmslWant)
			if !o.reproduces(v, states, theirs, sc.reading) {
				t.Errorf("gmsl's reading %q alone does not reproduce its answer", sc.reading)
			}
		})
	}
}

// TestOracleDeviationV21Panics pins gmslV21Unusable: gmsl's v2.1 panics as
// soon as the full conflicted set has a power event, where we resolve.
func TestOracleDeviationV21Panics(t *testing.T) {
	v := spec.MustRoomVersion("12")
	r := newScenarioRoom(t, v)
	states := v2Scenarios[0].build(r)
	got, err := Resolve(v, states, memSource(r.events))
	if err != nil {
		t.Fatal(err)
	}
	r.expect(got, v2Scenarios[0].want)
	if _, dev := scenarioOracle(t, r).resolve(v, states); dev != gmslV21Unusable {
		t.Errorf("gmsl v2.1: got deviation %q, want %q", dev, gmslV21Unusable)
	}
}
