package stateres

import (
	"math/rand/v2"
	"slices"
	"testing"

	"myelin/internal/spec"
	"myelin/internal/testkit/roomgen"
)

// The tests in this file check the efficient parts of the algorithm
// against direct, slow restatements of the spec's definitions on random
// histories. gmsl cannot check them for v2.1 (see gmslV21Unusable).

// chainOf returns the auth chain of id by breadth-first search.
func chainOf(room *roomgen.Room, id string) map[string]bool {
	out := map[string]bool{}
	queue := slices.Clone(room.Events[id].AuthEventIDs())
	for len(queue) > 0 {
		a := queue[0]
		queue = queue[1:]
		if out[a] {
			continue
		}
		out[a] = true
		queue = append(queue, room.Events[a].AuthEventIDs()...)
	}
	return out
}

// TestConflictedSubgraphNaive compares conflictedSubgraph with the
// definition: every event n with conflicted events c1, c2 such that n is
// in the auth chain of c1 and c2 is in the auth chain of n (a path c1 → n
// → c2), checked pair by pair.
func TestConflictedSubgraphNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	found := 0
	defer func() {
		if found == 0 {
			t.Error("no case had a conflicted state subgraph beyond the conflicted events")
		}
		t.Logf("%d subgraph events found", found)
	}()
	for seed := uint64(1); seed <= 40; seed++ {
		v := spec.RoomVersions()[int(seed)%len(spec.RoomVersions())]
		room, err := roomgen.Generate(roomgen.Options{Version: v, Seed: seed + 500, Branches: 3 + rng.IntN(3), Merge: mergeWithResolve})
		if err != nil {
			t.Fatal(err)
		}
		chains := map[string]map[string]bool{}
		for id := range room.Events {
			chains[id] = chainOf(room, id)
		}
		for range 3 {
			ids := pickStates(rng, room)
			states := make([]StateMap, len(ids))
			for i, id := range ids {
				states[i] = room.StateAfter(id)
			}
			s := splitStates(states)
			r := newResolver(v, memSource(room.Events))
			got, err := r.conflictedSubgraph(s.conflicted)
			if err != nil {
				t.Fatal(err)
			}
			want := idSet{}
			for n := range room.Events {
				if slices.Contains(s.conflicted, n) {
					continue
				}
				for _, c1 := range s.conflicted {
					if !chains[c1][n] {
						continue
					}
					if slices.ContainsFunc(s.conflicted, func(c2 string) bool { return chains[n][c2] }) {
						want[n] = struct{}{}
						break
					}
				}
			}
			found += len(want)
			if !slices.Equal(sortedKeys(got), sortedKeys(want)) {
				t.Errorf("v%s seed %d: subgraph %v, want %v", v.ID, seed, shorts(sortedKeys(got)), shorts(sortedKeys(want)))
			}
		}
	}
}

// TestPowerSortNaive compares the reverse topological power ordering with
// its definition: repeatedly take the smallest event of X all of whose
// auth chain's events in X have been taken.
func TestPowerSortNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for seed := uint64(1); seed <= 40; seed++ {
		v := spec.RoomVersions()[int(seed)%len(spec.RoomVersions())]
		room, err := roomgen.Generate(roomgen.Options{Version: v, Seed: seed + 700, Branches: 3 + rng.IntN(3), Merge: mergeWithResolve})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			ids := pickStates(rng, room)
			states := make([]StateMap, len(ids))
			for i, id := range ids {
				states[i] = room.StateAfter(id)
			}
			r := newResolver(v, memSource(room.Events))
			full, err := r.fullConflictedSet(splitStates(states))
			if err != nil {
				t.Fatal(err)
			}
			x, g, err := r.powerSet(full)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.powerSort(x, g)
			if err != nil {
				t.Fatal(err)
			}
			less := func(a, b string) bool {
				pa, pb := r.senderPowerFromAuthEvents(r.event(a)), r.senderPowerFromAuthEvents(r.event(b))
				if pa != pb {
					return pa.greater(pb)
				}
				ta, tb := r.event(a).OriginServerTS(), r.event(b).OriginServerTS()
				if ta != tb {
					return ta < tb
				}
				return a < b
			}
			var want []string
			taken := map[string]bool{}
			for len(want) < len(x) {
				best := ""
				for id := range x {
					if taken[id] {
						continue
					}
					ready := true
					for a := range chainOf(room, id) {
						if x.has(a) && !taken[a] {
							ready = false
							break
						}
					}
					if ready && (best == "" || less(id, best)) {
						best = id
					}
				}
				want = append(want, best)
				taken[best] = true
			}
			if !slices.Equal(got, want) {
				t.Errorf("v%s seed %d: order %v, want %v", v.ID, seed, shorts(got), shorts(want))
			}
		}
	}
}
