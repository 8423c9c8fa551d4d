package stateres

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/testkit/roomgen"
)

// indexSource is an AuthChainSource that computes auth chain differences
// itself, as a store with an index would.
type indexSource struct {
	memSource
	requested int
}

func (s *indexSource) Events(ids []string) (map[string]*pdu.Event, error) {
	s.requested += len(ids)
	return s.memSource.Events(ids)
}

func (s *indexSource) AuthChainDifference(sets [][]string) ([]string, error) {
	count := map[string]int{}
	for _, set := range sets {
		chain := map[string]bool{}
		stack := slices.Clone(set)
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			ev, ok := s.memSource[id]
			if !ok {
				return nil, ErrMissingEvent
			}
			for _, a := range ev.AuthEventIDs() {
				if !chain[a] {
					chain[a] = true
					stack = append(stack, a)
				}
			}
		}
		for id := range chain {
			count[id]++
		}
	}
	var out []string
	for id, n := range count {
		if n < len(sets) {
			out = append(out, id)
		}
	}
	return out, nil
}

// TestResolveProperties checks, on random histories of every room
// version, that the result depends only on the set of states (not their
// order or duplicates), that Key is equal exactly when the sets are, and
// that an AuthChainSource gives the same result as the walk of auth
// events.
func TestResolveProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for seed := uint64(1); seed <= 60; seed++ {
		v := spec.RoomVersions()[int(seed)%len(spec.RoomVersions())]
		room, err := roomgen.Generate(roomgen.Options{Version: v, Seed: seed, Branches: 3 + rng.IntN(3), Merge: mergeWithResolve})
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			ids := pickStates(rng, room)
			states := make([]StateMap, len(ids))
			for i, id := range ids {
				states[i] = room.StateAfter(id)
			}
			want, err := Resolve(v, states, memSource(room.Events))
			if err != nil {
				t.Fatalf("v%s seed %d: %v", v.ID, seed, err)
			}
			shuffled := append(slices.Clone(states), states[0])
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got, err := Resolve(v, shuffled, memSource(room.Events))
			if err != nil || !mapsEqual(got, want) {
				t.Errorf("v%s seed %d: reordered and duplicated states resolve differently (%v)", v.ID, seed, err)
			}
			if Key(shuffled) != Key(states) {
				t.Errorf("v%s seed %d: Key depends on order or duplicates", v.ID, seed)
			}
			repeated := slices.ContainsFunc(states[1:], func(s StateMap) bool { return mapsEqual(s, states[0]) })
			if !repeated && Key(states) == Key(states[1:]) {
				t.Errorf("v%s seed %d: Key ignores a state", v.ID, seed)
			}
			got, err = Resolve(v, states, &indexSource{memSource: room.Events})
			if err != nil || !mapsEqual(got, want) {
				t.Errorf("v%s seed %d: AuthChainSource resolves differently (%v)", v.ID, seed, err)
			}
		}
	}
}

// TestIndexedSourceReadsLittle checks on the 10,000-member fixture that,
// with an AuthChainSource, Resolve reads events in proportion to the
// conflict and not to the room, and that the walk without one stays
// within a few calls of the source.
func TestIndexedSourceReadsLittle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 10,000 events")
	}
	two, _ := benchFixtures()
	src := &indexSource{memSource: two.events}
	if _, err := Resolve(two.v, two.states, src); err != nil {
		t.Fatal(err)
	}
	if src.requested > 500 {
		t.Errorf("read %d events with an index for 100 conflicted entries", src.requested)
	}
	counting := &countingSource{memSource: two.events}
	if _, err := Resolve(two.v, two.states, counting); err != nil {
		t.Fatal(err)
	}
	if counting.calls > 30 {
		t.Errorf("%d source calls without an index; events should be read in bulk", counting.calls)
	}
	t.Logf("with index: %d events read; without: %d events in %d calls", src.requested, counting.events, counting.calls)
}

// TestResolveTrivial covers inputs that need no event.
func TestResolveTrivial(t *testing.T) {
	v := spec.MustRoomVersion("10")
	got, err := Resolve(v, nil, memSource{})
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("no states: got %v, %v; want an empty map", got, err)
	}
	s := StateMap{{Type: spec.MRoomCreate}: "$c", {Type: spec.MRoomTopic}: "$t"}
	got, err = Resolve(v, []StateMap{s, s}, memSource{})
	if err != nil || !mapsEqual(got, s) {
		t.Fatalf("equal states: got %v, %v; want %v", got, err, s)
	}
	got[spec.StateKeyTuple{Type: spec.MRoomName}] = "$n"
	if len(s) != 2 {
		t.Error("the result aliases the input")
	}
}

type failingSource struct{ err error }

func (f failingSource) Events([]string) (map[string]*pdu.Event, error) { return nil, f.err }

// TestResolveErrors checks the error contract.
func TestResolveErrors(t *testing.T) {
	v := spec.MustRoomVersion("10")
	conflicting := []StateMap{
		{{Type: spec.MRoomTopic}: "$a"},
		{{Type: spec.MRoomTopic}: "$b"},
	}
	if _, err := Resolve(v, conflicting, memSource{}); !errors.Is(err, ErrMissingEvent) {
		t.Errorf("missing events: got %v, want ErrMissingEvent", err)
	}
	boom := errors.New("boom")
	if _, err := Resolve(v, conflicting, failingSource{boom}); !errors.Is(err, boom) {
		t.Errorf("failing source: got %v, want it wrapped", err)
	}
	if _, err := Resolve(&spec.RoomVersion{ID: "x"}, conflicting, memSource{}); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("unknown algorithm: got %v, want ErrUnsupportedVersion", err)
	}
	for _, id := range []string{"1", "12"} {
		if _, err := Resolve(spec.MustRoomVersion(id), conflicting, memSource{}); !errors.Is(err, ErrMissingEvent) {
			t.Errorf("v%s missing events: got %v, want ErrMissingEvent", id, err)
		}
	}
}

// TestKahnCycle checks that a cycle in the auth graph is an error, not a
// partial order.
func TestKahnCycle(t *testing.T) {
	g := &authGraph{ids: []string{"$a", "$b", "$c"}, auth: [][]int32{{1}, {2}, {1}}}
	if _, err := g.topological(); !errors.Is(err, ErrAuthCycle) {
		t.Errorf("got %v, want ErrAuthCycle", err)
	}
	g = &authGraph{ids: []string{"$a", "$b", "$c"}, auth: [][]int32{{1, 2}, {2}, nil}}
	order, err := g.topological()
	if err != nil || !slices.Equal(order, []int32{2, 1, 0}) {
		t.Errorf("got %v, %v; want [2 1 0]", order, err)
	}
}

// TestKahnLexicographic checks the ordering on the example where building
// the order from the end differs: z must precede x, and x < y < z.
func TestKahnLexicographic(t *testing.T) {
	g := &authGraph{ids: []string{"x", "y", "z"}, auth: [][]int32{{2}, nil, nil}}
	all := func(int32) bool { return true }
	order, err := g.kahn(all, func(a, b int32) bool { return a < b })
	if err != nil || !slices.Equal(order, []int32{1, 2, 0}) {
		t.Errorf("got %v, %v; want [y z x] = [1 2 0]", order, err)
	}
	// Free (unranked) events are emitted eagerly, so ranked events linked
	// only through them keep their order.
	g = &authGraph{ids: []string{"x", "f", "z"}, auth: [][]int32{{1}, {2}, nil}}
	order, err = g.kahn(func(i int32) bool { return i != 1 }, func(a, b int32) bool { return a < b })
	if err != nil || !slices.Equal(order, []int32{2, 0}) {
		t.Errorf("through a free event: got %v, %v; want [2 0]", order, err)
	}
}

// TestKeyDistinguishes checks that Key separates states that differ in a
// key, a value, or where a string boundary falls.
func TestKeyDistinguishes(t *testing.T) {
	a := StateMap{{Type: "m.room.topic", StateKey: ""}: "$x"}
	b := StateMap{{Type: "m.room.topic", StateKey: ""}: "$y"}
	c := StateMap{{Type: "m.room.topi", StateKey: "c"}: "$x"}
	keys := map[[32]byte]string{}
	for name, set := range map[string][]StateMap{"a": {a}, "b": {b}, "c": {c}, "ab": {a, b}, "none": nil} {
		k := Key(set)
		if other, dup := keys[k]; dup {
			t.Errorf("Key(%s) == Key(%s)", name, other)
		}
		keys[k] = name
	}
	if Key([]StateMap{a, b}) != Key([]StateMap{b, a, b}) {
		t.Error("Key depends on order or duplicates")
	}
}
