package stateres

import (
	"flag"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	gmsl "github.com/matrix-org/gomatrixserverlib"
	gmslspec "github.com/matrix-org/gomatrixserverlib/spec"

	"myelin/internal/spec"
	"myelin/internal/testkit/roomgen"
)

var differentialCases = flag.Int("stateres.cases", 0,
	"number of differential cases against gomatrixserverlib (default 3000, or $STATERES_CASES)")

func caseCount() int {
	if *differentialCases > 0 {
		return *differentialCases
	}
	if n, err := strconv.Atoi(os.Getenv("STATERES_CASES")); err == nil && n > 0 {
		return n
	}
	return 3000
}

// versionWeights favours the versions of each algorithm's first and last
// rooms: 2 (first v2), 10 and 11 (integer power levels, creator from
// sender) and 12 (v2.1).
func pickVersion(rng *rand.Rand) *spec.RoomVersion {
	var pool []string
	for _, v := range spec.RoomVersions() {
		w := 1
		switch v.ID {
		case "2", "10", "11", "12":
			w = 3
		}
		for range w {
			pool = append(pool, v.ID)
		}
	}
	return spec.MustRoomVersion(pool[rng.IntN(len(pool))])
}

// TestDifferentialGMSL resolves the states of random valid room histories
// (roomgen) with Resolve and with gomatrixserverlib, and compares the
// results.
//
// A different answer counts as a known oracle deviation only when
// gmslSteps, which reproduces gmsl's documented readings of the spec, gives
// exactly gmsl's answer; and where gmsl's v2.1 panics (gmslV21Unusable).
// Room version 12 is mostly covered by the scenarios and the tests of
// naive_test.go for that reason.
//
// Environment: STATERES_CASES sets the number of cases (as does
// -stateres.cases); STATERES_ONLY_SEED=n compares only room n;
// STATERES_DUMP=1 prints the room and both algorithms' steps for the
// first disagreements; STATERES_ALL=1 reports every disagreement.
func TestDifferentialGMSL(t *testing.T) {
	n := caseCount()
	rng := rand.New(rand.NewPCG(7, 11))
	var cases, disagreements, rooms int
	deviations := map[string]int{}
	perAlgo := map[string]int{}
	start := time.Now()
	only, _ := strconv.ParseUint(os.Getenv("STATERES_ONLY_SEED"), 10, 64)
	for seed := uint64(1); cases < n && (only == 0 || seed <= only); seed++ {
		v := pickVersion(rng)
		branches := 2 + rng.IntN(4)
		room, err := roomgen.Generate(roomgen.Options{
			Version: v, Seed: seed, Users: 4 + rng.IntN(5), Branches: branches,
			TrunkEvents: 2 + rng.IntN(8), BranchEvents: branches * (3 + rng.IntN(6)),
			Merge: mergeWithResolve,
		})
		if err != nil {
			t.Fatalf("v%s seed %d: %v", v.ID, seed, err)
		}
		rooms++
		o := newOracle(t, room)
		for range 12 {
			if cases >= n {
				break
			}
			ids := pickStates(rng, room)
			states := make([]StateMap, len(ids))
			for i, id := range ids {
				states[i] = room.StateAfter(id)
			}
			if only != 0 && only != seed {
				continue
			}
			cases++
			perAlgo[algoName(v)]++
			deviation, ok := o.compare(states)
			if !ok {
				disagreements++
				if disagreements <= 5 || os.Getenv("STATERES_ALL") != "" {
					t.Errorf("%s, v%s seed %d, states after %v:\n%s", algoName(v), v.ID, seed, ids, deviation)
				}
			} else if deviation != "" {
				deviations[algoName(v)+" "+deviation]++
			}
		}
	}
	total := 0
	for _, k := range deviations {
		total += k
	}
	t.Logf("differential: %d cases, %d disagreements", cases, disagreements)
	t.Logf("known oracle deviations: %d", total)
	t.Logf("(cases by algorithm %v; deviations by reading %v; %d rooms; %s)", perAlgo, deviations, rooms, time.Since(start).Round(time.Millisecond))
}

func algoName(v *spec.RoomVersion) string {
	switch v.StateRes {
	case spec.StateResV1:
		return "v1"
	case spec.StateResV2:
		if v.PrivilegedCreators {
			return "v2 on room v12"
		}
		return "v2"
	default:
		return "v2.1"
	}
}

// compare resolves states with Resolve and gmsl. When they agree it
// returns ("", true); when gmsl's answer is a known deviation, its name and
// true; otherwise a description of the disagreement and false.
func (o *oracle) compare(states []StateMap) (string, bool) {
	v := o.room.Version
	got, err := Resolve(v, states, memSource(o.room.Events))
	if err != nil {
		return err.Error(), false
	}
	want, deviation := o.resolve(v, states)
	if deviation != "" || mapsEqual(got, want) {
		return deviation, true
	}
	if deviation = o.explain(v, states, want); deviation != "" {
		return deviation, true
	}
	desc := describeDiff(o.room.Events, got, want)
	if os.Getenv("STATERES_DUMP") != "" {
		desc += dumpRoom(o.room) +
			"spec:\n" + traceResolve(o.room, v, states, specSteps{}) +
			"gmsl:\n" + traceResolve(o.room, v, states, gmslSteps{o: o, quirks: allQuirks})
	}
	return desc, false
}

// pickStates chooses 2 to 5 events whose states after to resolve: mostly
// branch tips, sometimes any event after the room's setup.
func pickStates(rng *rand.Rand, room *roomgen.Room) []string {
	k := 2 + rng.IntN(4)
	var ids []string
	if rng.IntN(3) > 0 {
		tips := slices.Clone(room.Tips)
		rng.Shuffle(len(tips), func(i, j int) { tips[i], tips[j] = tips[j], tips[i] })
		ids = tips[:min(k, len(tips))]
	}
	for len(ids) < k {
		ev := room.Order[room.Setup-1+rng.IntN(len(room.Order)-room.Setup+1)]
		ids = append(ids, ev.EventID())
	}
	return ids
}

func mapsEqual(a, b StateMap) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// oracle resolves states with gomatrixserverlib.
type oracle struct {
	t    *testing.T
	room *roomgen.Room
	ver  gmsl.RoomVersion
	pdus map[string]gmsl.PDU
	// createID is the room's create event.
	createID string
}

func newOracle(t *testing.T, room *roomgen.Room) *oracle {
	o := &oracle{t: t, room: room, ver: gmsl.RoomVersion(room.Version.ID), pdus: map[string]gmsl.PDU{}}
	o.createID = room.Order[0].EventID()
	impl := gmsl.MustGetRoomVersion(o.ver)
	for id, ev := range room.Events {
		p, err := impl.NewEventFromTrustedJSON(ev.JSON(), false)
		if err != nil {
			t.Fatalf("gmsl cannot parse %s: %v", id, err)
		}
		o.pdus[id] = p
	}
	return o
}

func userIDForSender(_ gmslspec.RoomID, s gmslspec.SenderID) (*gmslspec.UserID, error) {
	return gmslspec.NewUserID(string(s), true)
}

// gmslV21Unusable names the reason gmsl's v2.1 (ResolveStateConflictsV2New
// with StateResV2_1) cannot serve as an oracle, where it panics. Its
// iterative auth checks start from an empty state, as rooms/v12.md says,
// but its reverse topological power ordering then reads the creators from
// a resolved create event that does not exist yet ("missing resolved create
// event"): the spec compares "power level ... when looking at their
// respective auth_events", plus, in v12, the create event the room ID
// names.
const gmslV21Unusable = "gmsl v2.1 panics"

// resolve returns gmsl's resolution of states under v's algorithm, or the
// name of the known oracle deviation that makes it unusable.
func (o *oracle) resolve(v *spec.RoomVersion, states []StateMap) (res StateMap, deviation string) {
	sets := make([][]gmsl.PDU, len(states))
	for i, s := range states {
		for _, id := range sortedIDs(s) {
			sets[i] = append(sets[i], o.pdus[id])
		}
	}
	var (
		out []gmsl.PDU
		err error
	)
	noneRejected := func(string) bool { return false }
	switch v.StateRes {
	case spec.StateResV1:
		out, err = gmsl.ResolveConflictsNew(o.ver, sets, o.v1AuthEvents(states), userIDForSender, noneRejected)
	case spec.StateResV2:
		out = gmsl.ResolveStateConflictsV2New(gmsl.StateResV2, sets, o.authChainsAndStates(states), userIDForSender, noneRejected)
	default:
		var panicked bool
		out, panicked = quietly(func() []gmsl.PDU {
			return gmsl.ResolveStateConflictsV2New(gmsl.StateResV2_1, sets, o.authChainsAndStates(states), userIDForSender, noneRejected)
		})
		if panicked {
			return nil, gmslV21Unusable
		}
	}
	if err != nil {
		o.t.Fatalf("gmsl: %v", err)
	}
	res = StateMap{}
	for _, p := range out {
		res[spec.StateKeyTuple{Type: p.Type(), StateKey: *p.StateKey()}] = p.EventID()
	}
	return res, ""
}

// quietly runs f with standard output discarded (gmsl's v2.1 prints every
// conflicted subgraph path it finds) and recovers a panic.
func quietly(f func() []gmsl.PDU) (out []gmsl.PDU, panicked bool) {
	stdout := os.Stdout
	devnull, err := os.Open(os.DevNull)
	if err == nil {
		os.Stdout = devnull
		defer devnull.Close()
	}
	defer func() {
		os.Stdout = stdout
		if recover() != nil {
			panicked = true
		}
	}()
	return f(), false
}

// explain returns a minimal combination of gmsl's known readings that,
// substituted into our algorithm, gives exactly gmsl's answer want, or ""
// when even all of them together do not.
func (o *oracle) explain(v *spec.RoomVersion, states []StateMap, want StateMap) string {
	matches := func(q quirk) bool { return o.reproduces(v, states, want, q) }
	q := allQuirks
	if !matches(q) {
		return ""
	}
	for bit := quirk(1); bit <= allQuirks; bit <<= 1 {
		if q&bit != 0 && matches(q&^bit) {
			q &^= bit
		}
	}
	return "gmsl " + q.String()
}

// reproduces reports whether our algorithm with gmsl's readings q gives
// exactly want.
func (o *oracle) reproduces(v *spec.RoomVersion, states []StateMap, want StateMap, q quirk) bool {
	r := newResolver(v, memSource(o.room.Events))
	r.steps = gmslSteps{o: o, quirks: q}
	got, err := r.resolve(states)
	return err == nil && mapsEqual(got, want)
}

// v1AuthEvents returns what state resolution v1 starts from: the union of
// the states without the conflicting keys (rooms/v1.md).
func (o *oracle) v1AuthEvents(states []StateMap) []gmsl.PDU {
	ids := map[spec.StateKeyTuple][]string{}
	for _, s := range states {
		for k, id := range s {
			if !slices.Contains(ids[k], id) {
				ids[k] = append(ids[k], id)
			}
		}
	}
	var out []gmsl.PDU
	for _, list := range ids {
		if len(list) == 1 {
			out = append(out, o.pdus[list[0]])
		}
	}
	slices.SortFunc(out, func(a, b gmsl.PDU) int { return cmpString(a.EventID(), b.EventID()) })
	return out
}

// authChainsAndStates returns the events of the states and of their auth
// chains, which is what gmsl's v2 needs as auth events.
func (o *oracle) authChainsAndStates(states []StateMap) []gmsl.PDU {
	seen := map[string]bool{}
	var stack []string
	for _, s := range states {
		for _, id := range s {
			if !seen[id] {
				seen[id] = true
				stack = append(stack, id)
			}
		}
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, a := range o.room.Events[id].AuthEventIDs() {
			if !seen[a] {
				seen[a] = true
				stack = append(stack, a)
			}
		}
	}
	out := make([]gmsl.PDU, 0, len(seen))
	for id := range seen {
		out = append(out, o.pdus[id])
	}
	slices.SortFunc(out, func(a, b gmsl.PDU) int { return cmpString(a.EventID(), b.EventID()) })
	return out
}

func sortedIDs(s StateMap) []string {
	out := make([]string, 0, len(s))
	for _, id := range s {
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
