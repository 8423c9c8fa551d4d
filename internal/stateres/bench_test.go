package stateres

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	gmsl "github.com/matrix-org/gomatrixserverlib"

	"myelin/internal/pdu"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// benchRoom is a fixture for BenchmarkResolve: events built directly with
// the Builder (no auth checks per event, for speed; the construction
// follows the auth rules) and the states to resolve.
type benchRoom struct {
	v      *spec.RoomVersion
	events memSource
	states []StateMap
	// gmsl's inputs, converted once.
	gmslSets [][]gmsl.PDU
	gmslAuth []gmsl.PDU
}

type benchBuilder struct {
	v      *spec.RoomVersion
	key    signing.Key
	rng    *rand.ChaCha8
	roomID string
	events memSource
	ts     int64
}

func newBenchBuilder(v *spec.RoomVersion) *benchBuilder {
	key, err := signing.KeyFromSeed("b1", make([]byte, 32))
	if err != nil {
		panic(err)
	}
	return &benchBuilder{v: v, key: key, rng: rand.NewChaCha8([32]byte{2}), roomID: "!bench:example.com", events: memSource{}}
}

// add builds an event after prev, with the auth events its auth events
// selection picks from state, and returns state updated in place.
func (b *benchBuilder) add(state StateMap, prev *pdu.Event, typ, sender string, stateKey *string, content map[string]any) (*pdu.Event, StateMap) {
	b.ts++
	bd := pdu.Builder{Type: typ, StateKey: stateKey, Sender: sender, RoomID: b.roomID, Content: content,
		OriginServerTS: b.ts, Depth: 1, Rand: b.rng}
	if prev != nil {
		bd.PrevEvents = []string{prev.EventID()}
		bd.Depth = prev.Depth() + 1
	}
	membership, _ := content["membership"].(string)
	keys := []spec.StateKeyTuple{{Type: spec.MRoomCreate}, {Type: spec.MRoomPowerLevels}, {Type: spec.MRoomMember, StateKey: sender}}
	if typ == spec.MRoomMember {
		keys = append(keys, spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: *stateKey})
		if membership == spec.MembershipJoin || membership == spec.MembershipInvite {
			keys = append(keys, spec.StateKeyTuple{Type: spec.MRoomJoinRules})
		}
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if id, ok := state[k]; ok && !seen[id] && typ != spec.MRoomCreate {
			seen[id] = true
			bd.AuthEvents = append(bd.AuthEvents, id)
		}
	}
	ev, err := bd.Build(b.v, "example.com", b.key)
	if err != nil {
		panic(err)
	}
	b.events[ev.EventID()] = ev
	if stateKey != nil {
		state[ev.StateTuple()] = ev.EventID()
	}
	return ev, state
}

func benchUser(i int) string { return fmt.Sprintf("@u%d:example.com", i) }

// setupRoom creates a public room of version v with n members besides the
// admin @u0, moderators @u1..@u3, and returns the state and last event.
func (b *benchBuilder) setupRoom(n int) (StateMap, *pdu.Event) {
	admin := benchUser(0)
	ev, st := b.add(StateMap{}, nil, spec.MRoomCreate, admin, sk(""), map[string]any{"creator": admin, "room_version": b.v.ID})
	ev, st = b.add(st, ev, spec.MRoomMember, admin, sk(admin), map[string]any{"membership": "join"})
	users := map[string]any{admin: 100, benchUser(1): 50, benchUser(2): 50, benchUser(3): 50}
	ev, st = b.add(st, ev, spec.MRoomPowerLevels, admin, sk(""), map[string]any{"users": users, "state_default": 50, "ban": 50, "kick": 50})
	ev, st = b.add(st, ev, spec.MRoomJoinRules, admin, sk(""), map[string]any{"join_rule": "public"})
	for i := 1; i <= n; i++ {
		u := benchUser(i)
		ev, st = b.add(st, ev, spec.MRoomMember, u, sk(u), map[string]any{"membership": "join"})
	}
	return st, ev
}

// fork applies changes to a branch starting at (state, tip): kicks by a
// moderator, own leaves, display name changes and a topic, one per member
// from first, count changes in all.
func (b *benchBuilder) fork(base StateMap, tip *pdu.Event, mod string, first, count int, topic bool) StateMap {
	st := make(StateMap, len(base)+count)
	for k, id := range base {
		st[k] = id
	}
	ev := tip
	if topic {
		ev, st = b.add(st, ev, spec.MRoomTopic, mod, sk(""), map[string]any{"topic": "fork of " + mod})
		count--
	}
	for i := 0; i < count; i++ {
		u := benchUser(first + i)
		switch i % 3 {
		case 0:
			ev, st = b.add(st, ev, spec.MRoomMember, mod, sk(u), map[string]any{"membership": "leave"})
		case 1:
			ev, st = b.add(st, ev, spec.MRoomMember, u, sk(u), map[string]any{"membership": "leave"})
		default:
			ev, st = b.add(st, ev, spec.MRoomMember, u, sk(u), map[string]any{"membership": "join", "displayname": "renamed"})
		}
	}
	return st
}

func (b *benchBuilder) finish(states []StateMap) *benchRoom {
	br := &benchRoom{v: b.v, events: b.events, states: states}
	impl := gmsl.MustGetRoomVersion(gmsl.RoomVersion(b.v.ID))
	pdus := map[string]gmsl.PDU{}
	for id, ev := range b.events {
		p, err := impl.NewEventFromTrustedJSON(ev.JSON(), false)
		if err != nil {
			panic(err)
		}
		pdus[id] = p
		br.gmslAuth = append(br.gmslAuth, p)
	}
	for _, s := range states {
		var set []gmsl.PDU
		for _, id := range s {
			set = append(set, pdus[id])
		}
		br.gmslSets = append(br.gmslSets, set)
	}
	return br
}

var (
	benchOnce    sync.Once
	benchTwoFork *benchRoom
	benchTenFork *benchRoom
)

// benchFixtures builds the fixtures once per test binary.
func benchFixtures() (twoForks, tenForks *benchRoom) {
	benchOnce.Do(func() {
		v := spec.MustRoomVersion("11")
		b := newBenchBuilder(v)
		st, tip := b.setupRoom(10_000)
		// 100 conflicted entries: 50 changes on each fork.
		a := b.fork(st, tip, benchUser(1), 10, 50, true)
		c := b.fork(st, tip, benchUser(2), 100, 50, true)
		benchTwoFork = b.finish([]StateMap{a, c})

		b = newBenchBuilder(v)
		st, tip = b.setupRoom(500)
		var states []StateMap
		for i := range 10 {
			states = append(states, b.fork(st, tip, benchUser(1+i%3), 10+20*i, 12, i%2 == 0))
		}
		benchTenFork = b.finish(states)
	})
	return benchTwoFork, benchTenFork
}

// BenchmarkResolve compares Resolve with gomatrixserverlib on the same
// inputs: a room of 10,000 joined members forked in two with 100
// conflicted entries, and a 500-member room forked ten ways.
func BenchmarkResolve(b *testing.B) {
	two, ten := benchFixtures()
	for _, fx := range []struct {
		name string
		room *benchRoom
	}{{"two-forks-10k-members", two}, {"ten-way-fork", ten}} {
		b.Run(fx.name+"/myelin", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Resolve(fx.room.v, fx.room.states, fx.room.events); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fx.name+"/gmsl", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				gmsl.ResolveStateConflictsV2New(gmsl.StateResV2, fx.room.gmslSets, fx.room.gmslAuth, userIDForSender, func(string) bool { return false })
			}
		})
	}
}

// TestBenchFixturesAgree checks that both implementations agree on the
// benchmark inputs, so the benchmark compares equal work.
func TestBenchFixturesAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 10,000 events")
	}
	two, ten := benchFixtures()
	for _, fx := range []*benchRoom{two, ten} {
		got, err := Resolve(fx.v, fx.states, fx.events)
		if err != nil {
			t.Fatal(err)
		}
		want := StateMap{}
		for _, p := range gmsl.ResolveStateConflictsV2New(gmsl.StateResV2, fx.gmslSets, fx.gmslAuth, userIDForSender, func(string) bool { return false }) {
			want[spec.StateKeyTuple{Type: p.Type(), StateKey: *p.StateKey()}] = p.EventID()
		}
		if !mapsEqual(got, want) {
			t.Errorf("%d states: results differ:\n%s", len(fx.states), describeDiff(fx.events, got, want))
		}
	}
}
