package stateres

import (
	"slices"
	"sync"
	"testing"

	"myelin/internal/spec"
	"myelin/internal/testkit/roomgen"
)

// fuzzRooms caches generated rooms by version and seed: generating one
// costs more than resolving.
var fuzzRooms sync.Map

func fuzzRoom(t *testing.T, version, seed uint8) *roomgen.Room {
	versions := spec.RoomVersions()
	v := versions[int(version)%len(versions)]
	key := [2]uint8{uint8(int(version) % len(versions)), seed % 32}
	if r, ok := fuzzRooms.Load(key); ok {
		return r.(*roomgen.Room)
	}
	room, err := roomgen.Generate(roomgen.Options{Version: v, Seed: uint64(key[1]) + 1000, Branches: 2 + int(seed%3), Merge: mergeWithResolve})
	if err != nil {
		t.Fatal(err)
	}
	fuzzRooms.Store(key, room)
	return room
}

// FuzzResolve resolves states built from a generated room's states and
// then mutated by the fuzzer: entries replaced by other events of the room
// (state or not, under any key) or deleted. Whatever the input, Resolve
// must succeed (every event exists and the auth graph is acyclic), give the
// same answer for the states in reverse order, and agree with an
// AuthChainSource.
func FuzzResolve(f *testing.F) {
	f.Add(uint8(1), uint8(0), []byte{0, 5, 9})
	f.Add(uint8(9), uint8(3), []byte{2, 1, 7, 3, 200, 17, 4, 99, 250, 1})
	f.Add(uint8(11), uint8(7), []byte{4, 3, 2, 1, 0, 255, 128, 64, 32})
	f.Add(uint8(0), uint8(12), []byte{3, 40, 41, 42, 43, 44, 45, 46})
	f.Fuzz(func(t *testing.T, version, seed uint8, picks []byte) {
		room := fuzzRoom(t, version, seed)
		if len(picks) == 0 {
			return
		}
		next := func() int {
			b := picks[0]
			picks = append(picks[1:], b)
			return int(b)
		}
		var keys []spec.StateKeyTuple
		for _, ev := range room.Order {
			if ev.IsState() && !slices.Contains(keys, ev.StateTuple()) {
				keys = append(keys, ev.StateTuple())
			}
		}
		n := 2 + next()%3
		states := make([]StateMap, n)
		for i := range states {
			base := room.StateAfter(room.Order[next()%len(room.Order)].EventID())
			states[i] = StateMap{}
			for k, id := range base {
				states[i][k] = id
			}
		}
		for m := next() % 6; m > 0; m-- {
			s := states[next()%n]
			k := keys[next()%len(keys)]
			if next()%4 == 0 {
				delete(s, k)
			} else {
				s[k] = room.Order[next()%len(room.Order)].EventID()
			}
		}
		v := room.Version
		got, err := Resolve(v, states, memSource(room.Events))
		if err != nil {
			t.Fatalf("v%s: %v", v.ID, err)
		}
		reversed := slices.Clone(states)
		slices.Reverse(reversed)
		if again, err := Resolve(v, reversed, memSource(room.Events)); err != nil || !mapsEqual(got, again) {
			t.Fatalf("v%s: reversed states resolve differently (%v)", v.ID, err)
		}
		if indexed, err := Resolve(v, states, &indexSource{memSource: room.Events}); err != nil || !mapsEqual(got, indexed) {
			t.Fatalf("v%s: AuthChainSource resolves differently (%v)", v.ID, err)
		}
	})
}
