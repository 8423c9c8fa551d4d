package stateres

import (
	"testing"

	"myelin/internal/spec"
)

// scenario is a hand-written resolution: events added to a fresh
// scenarioRoom, the states to resolve, and the expected entries.
type scenario struct {
	name string
	// intent says, in one sentence, what the scenario shows.
	intent string
	// build adds the events and returns the states to resolve.
	build func(r *scenarioRoom) []StateMap
	// want lists expected entries by event name ("" for absent).
	want map[spec.StateKeyTuple]string
}

// v2Scenarios hold for state resolution v2 and v2.1 alike.
var v2Scenarios = []scenario{
	{
		name:   "ban vs power levels",
		intent: "A ban and a concurrent power levels change by the banned user: the ban (more powerful sender) is ordered first, so the banned user's change is rejected.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(plEv("PA", alice, r.users(alice, 100, bob, 50), "START"))
			r.add(memberEv("MA", alice, alice, spec.MembershipJoin, "PA"))
			r.add(memberEv("MB", alice, bob, spec.MembershipBan, "MA"))
			r.add(plEv("PB", bob, r.users(alice, 100, bob, 50, charlie, 10), "PA"))
			return r.states("MB", "PB")
		},
		want: map[spec.StateKeyTuple]string{keyPL: "PA", keyMember(alice): "MA", keyMember(bob): "MB"},
	},
	{
		name:   "join rules change vs join",
		intent: "A join that was allowed under the public join rule loses against a concurrent switch to invite-only, since power events are applied first.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(jrEv("JR", alice, spec.JoinRuleInvite, "START"))
			r.add(memberEv("ME", evelyn, evelyn, spec.MembershipJoin, "START"))
			return r.states("JR", "ME")
		},
		want: map[spec.StateKeyTuple]string{keyJR: "JR", keyMember(evelyn): ""},
	},
	{
		name:   "offtopic power levels",
		intent: "A chain of power levels changes (bob promotes charlie, charlie demotes himself) resolves to its last event despite an unrelated concurrent topic, which is kept.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(plEv("PA", alice, r.users(alice, 100, bob, 50), "START"))
			r.add(plEv("PB", bob, r.users(alice, 100, bob, 50, charlie, 50), "PA"))
			r.add(plEv("PC", charlie, r.users(alice, 100, bob, 50, charlie, 0), "PB"))
			r.add(topicEv("MZ", zara, "PA"))
			return r.states("PC", "MZ")
		},
		want: map[spec.StateKeyTuple]string{keyPL: "PC", keyTopic: "MZ"},
	},
	{
		name:   "topic reset",
		intent: "The topic set by a user who is then banned reverts to the previous topic: the banned user's topic is re-checked after the ban.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(topicEv("T1", alice, "START"))
			r.add(plEv("PA", alice, r.users(alice, 100, bob, 50), "T1"))
			r.add(topicEv("T2", bob, "PA"))
			r.add(memberEv("MB", alice, bob, spec.MembershipBan, "T2"))
			return r.states("MB", "T1")
		},
		want: map[spec.StateKeyTuple]string{keyTopic: "T1", keyPL: "PA", keyMember(bob): "MB"},
	},
	{
		name:   "mainline sort",
		intent: "Non-power events are applied in mainline order: the topic based on the newer power levels wins over one based on older power levels, even with an earlier timestamp.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(plEv("PA1", alice, r.users(alice, 100, bob, 50), "START"))
			r.add(plEv("PA2", alice, r.users(alice, 100, bob, 50, charlie, 50), "PA1"))
			r.add(topicEv("TA", alice, "PA2"))
			r.add(topicEv("TB", bob, "PA1"))
			return r.states("TA", "TB")
		},
		want: map[spec.StateKeyTuple]string{keyPL: "PA2", keyTopic: "TA"},
	},
	{
		name:   "timestamp tiebreak",
		intent: "Concurrent power levels changes by the same sender are ordered by origin_server_ts, so the later one is applied last and wins.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(plEv("PA", alice, r.users(alice, 100, bob, 100), "START"))
			r.add(plEv("P1", bob, r.users(alice, 100, bob, 100, zara, 10), "PA"))
			r.add(plEv("P2", bob, r.users(alice, 100, bob, 100, evelyn, 20), "PA"))
			return r.states("P1", "P2")
		},
		want: map[spec.StateKeyTuple]string{keyPL: "P2"},
	},
	{
		name:   "timestamp tiebreak reversed",
		intent: "The same changes with the timestamps swapped: now the other one is applied last and wins, whatever the order the events were made in.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(plEv("PA", alice, r.users(alice, 100, bob, 100), "START"))
			p1 := plEv("P1", bob, r.users(alice, 100, bob, 100, zara, 10), "PA")
			p1.ts = 50_000
			r.add(p1)
			p2 := plEv("P2", bob, r.users(alice, 100, bob, 100, evelyn, 20), "PA")
			p2.ts = 40_000
			r.add(p2)
			return r.states("P1", "P2")
		},
		want: map[spec.StateKeyTuple]string{keyPL: "P1"},
	},
	{
		name:   "auth difference joins in the power order",
		intent: "The senders' joins are in the auth difference when only one state's events cite each, so they join X and the more powerful sender's change gets ahead of the other sender's join: the other change is applied last even with an earlier timestamp.",
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
	{
		name:   "power before timestamp",
		intent: "Among concurrent power events the more powerful sender's comes first even with a later timestamp, so the weaker sender's still-allowed change is applied last.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(plEv("PA", alice, r.users(alice, 100, bob, 50), "START"))
			pb := plEv("PB", bob, r.users(alice, 100, bob, 50, zara, 10), "PA")
			pb.ts = 40_000
			r.add(pb)
			pc := plEv("PC", alice, r.users(alice, 100, bob, 50, charlie, 10), "PA")
			pc.ts = 50_000
			r.add(pc)
			return r.states("PB", "PC")
		},
		want: map[spec.StateKeyTuple]string{keyPL: "PB"},
	},
	{
		name:   "ban with conflicting power levels",
		intent: "A ban by a moderator whose power was concurrently revoked by a more powerful user does not take effect.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(plEv("PA", alice, r.users(alice, 100, bob, 50), "START"))
			r.add(plEv("PR", alice, r.users(alice, 100, bob, 0), "PA"))
			r.add(memberEv("MC", bob, charlie, spec.MembershipBan, "PA"))
			return r.states("PR", "MC")
		},
		want: map[spec.StateKeyTuple]string{keyPL: "PR", keyMember(charlie): "IMC"},
	},
	{
		name:   "state in one branch only",
		intent: "A key that only one state has is conflicted and re-checked: the topic of a user banned on the other branch is dropped.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(topicEv("TZ", zara, "START"))
			r.add(memberEv("BZ", alice, zara, spec.MembershipBan, "START"))
			return r.states("TZ", "BZ")
		},
		want: map[spec.StateKeyTuple]string{keyTopic: "", keyMember(zara): "BZ"},
	},
	{
		name:   "kick and rejoin",
		intent: "A kick and the kicked user's later rejoin on the same branch survive against a stale branch: the rejoin is checked after the kick.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(memberEv("KB", alice, bob, spec.MembershipLeave, "START"))
			r.add(memberEv("JB", bob, bob, spec.MembershipJoin, "KB"))
			r.add(topicEv("TZ", zara, "START"))
			return r.states("JB", "TZ")
		},
		want: map[spec.StateKeyTuple]string{keyMember(bob): "JB", keyTopic: "TZ"},
	},
}

// stateOverride returns a copy of the state after event name with the
// given keys set to named events.
func (r *scenarioRoom) stateOverride(name string, set map[spec.StateKeyTuple]string) StateMap {
	out := StateMap{}
	for k, id := range r.after[name] {
		out[k] = id
	}
	for k, n := range set {
		out[k] = r.id(n)
	}
	return out
}

func (r *scenarioRoom) states(names ...string) []StateMap {
	out := make([]StateMap, len(names))
	for i, n := range names {
		out[i] = r.after[n]
	}
	return out
}

// v21Scenarios show where v2.1 and v2 differ on the same input.
var v21Scenarios = []struct {
	scenario
	wantV2 map[spec.StateKeyTuple]string
}{
	{
		scenario: scenario{
			name:   "empty initial state",
			intent: "v2.1 re-runs the auth checks from an empty state, so a ban in the unconflicted state no longer invalidates a power levels change the banned user made before the ban.",
			build: func(r *scenarioRoom) []StateMap {
				r.add(plEv("PA", alice, r.users(alice, 100, bob, 50), "START"))
				r.add(plEv("PB", bob, r.users(alice, 100, bob, 50, charlie, 10), "PA"))
				r.add(memberEv("MB", alice, bob, spec.MembershipBan, "PA"))
				return []StateMap{r.after["MB"], r.stateOverride("MB", map[spec.StateKeyTuple]string{keyPL: "PB"})}
			},
			want: map[spec.StateKeyTuple]string{keyPL: "PB", keyMember(bob): "MB"},
		},
		wantV2: map[spec.StateKeyTuple]string{keyPL: "PA", keyMember(bob): "MB"},
	},
	{
		scenario: scenario{
			name:   "conflicted state subgraph",
			intent: "After a state reset to old power levels, the power levels between the old and the new one (in every auth chain, so not in the auth difference) are in v2.1's full conflicted set, so the newer change that needed them is accepted.",
			build: func(r *scenarioRoom) []StateMap {
				r.add(plEv("P0", alice, r.users(alice, 100, bob, 50), "START"))
				r.add(plEv("P1", alice, r.users(alice, 100, bob, 100), "P0"))
				r.add(memberEv("JE", evelyn, evelyn, spec.MembershipJoin, "P1"))
				r.add(plEv("P2", bob, r.users(alice, 100, bob, 100, charlie, 75), "JE"))
				return []StateMap{r.after["P2"], r.stateOverride("P2", map[spec.StateKeyTuple]string{keyPL: "P0"})}
			},
			want: map[spec.StateKeyTuple]string{keyPL: "P2", keyMember(evelyn): "JE"},
		},
		wantV2: map[spec.StateKeyTuple]string{keyPL: "P0", keyMember(evelyn): "JE"},
	},
}

// TestScenariosV2 runs the v2 scenarios under state resolution v2 (room
// versions 2, 6, 10, 11) and v2.1 (room version 12).
func TestScenariosV2(t *testing.T) {
	for _, id := range []string{"2", "6", "10", "11", "12"} {
		v := spec.MustRoomVersion(id)
		for _, sc := range v2Scenarios {
			t.Run("v"+id+"/"+sc.name, func(t *testing.T) {
				r := newScenarioRoom(t, v)
				got, err := Resolve(v, sc.build(r), memSource(r.events))
				if err != nil {
					t.Fatal(err)
				}
				r.expect(got, sc.want)
			})
		}
	}
}

// TestScenariosV21 runs inputs on which v2.1 (room version 12) and v2 (the
// same events through the v2 algorithm) differ.
func TestScenariosV21(t *testing.T) {
	v12 := spec.MustRoomVersion("12")
	v2 := *v12
	v2.StateRes = spec.StateResV2
	for _, sc := range v21Scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := newScenarioRoom(t, v12)
			states := sc.build(r)
			got, err := Resolve(v12, states, memSource(r.events))
			if err != nil {
				t.Fatal(err)
			}
			r.expect(got, sc.want)
			got, err = Resolve(&v2, states, memSource(r.events))
			if err != nil {
				t.Fatal(err)
			}
			r.expect(got, sc.wantV2)
		})
	}
}

// v1Scenarios hold for state resolution v1 (room version 1).
var v1Scenarios = []scenario{
	{
		name:   "later power levels replace earlier ones",
		intent: "Conflicting power levels are taken in ascending depth, each replacing the previous while allowed, so the deeper allowed change wins.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(plEv("PA", alice, r.users(alice, 100, bob, 50), "START"))
			r.add(plEv("P2", alice, r.users(alice, 100, bob, 50, charlie, 10), "PA"))
			r.add(topicEv("TZ", zara, "PA"))
			return r.states("P2", "TZ")
		},
		want: map[spec.StateKeyTuple]string{keyPL: "P2", keyTopic: "TZ"},
	},
	{
		name:   "power levels change by a demoted user",
		intent: "A deeper power levels change by a user that the shallower one demoted is not allowed in R, so the demotion stays.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(plEv("PA", alice, r.users(alice, 100, bob, 50), "START"))
			r.add(plEv("PD", alice, r.users(alice, 100, bob, 0), "PA"))
			r.add(topicEv("TZ", zara, "PA"))
			r.add(plEv("PB", bob, r.users(alice, 100, bob, 50, charlie, 10), "TZ"))
			return r.states("PD", "PB")
		},
		want: map[spec.StateKeyTuple]string{keyPL: "PD"},
	},
	{
		name:   "ban beats an earlier join",
		intent: "Member conflicts go in ascending depth: the deeper ban replaces the join because it is allowed.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(memberEv("MB", alice, bob, spec.MembershipBan, "START"))
			r.add(topicEv("TZ", zara, "START"))
			return r.states("MB", "TZ")
		},
		want: map[spec.StateKeyTuple]string{keyMember(bob): "MB", keyTopic: "TZ"},
	},
	{
		name:   "other conflicts take the deepest allowed event",
		intent: "For a topic conflict the deepest event is skipped when its sender is banned in R, and the next deepest is taken.",
		build: func(r *scenarioRoom) []StateMap {
			r.add(memberEv("MB", alice, bob, spec.MembershipBan, "START"))
			r.add(topicEv("T1", alice, "MB"))
			r.add(sev{name: "X1", typ: spec.MRoomMessage, sender: bob, content: map[string]any{"body": "x"}, prev: []string{"START"}})
			r.add(sev{name: "X2", typ: spec.MRoomMessage, sender: bob, content: map[string]any{"body": "y"}})
			r.add(topicEv("T2", bob))
			return r.states("T1", "T2")
		},
		want: map[spec.StateKeyTuple]string{keyTopic: "T1", keyMember(bob): "MB"},
	},
	{
		name:   "a key in one state only is not a conflict",
		intent: "v1 keeps a key that only one state has without checking it, so a banned user's topic survives (one of v1's known state reset bugs).",
		build: func(r *scenarioRoom) []StateMap {
			r.add(topicEv("TB", bob, "START"))
			r.add(memberEv("MB", alice, bob, spec.MembershipBan, "START"))
			return r.states("TB", "MB")
		},
		want: map[spec.StateKeyTuple]string{keyTopic: "TB", keyMember(bob): "MB"},
	},
}

// TestScenariosV1 runs the v1 scenarios on room version 1.
func TestScenariosV1(t *testing.T) {
	v := spec.MustRoomVersion("1")
	for _, sc := range v1Scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := newScenarioRoom(t, v)
			got, err := Resolve(v, sc.build(r), memSource(r.events))
			if err != nil {
				t.Fatal(err)
			}
			r.expect(got, sc.want)
		})
	}
}
