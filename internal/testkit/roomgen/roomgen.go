// Package roomgen generates random but valid Matrix room histories with
// forks, for tests of state resolution and anything else that needs
// realistic room DAGs. It is test support: only tests import it.
//
// A history starts the way a server creates a room (create event, the
// creator's join, power levels, join rules, a few members), grows a trunk
// of random events, and then forks: new branches start from random earlier
// events and grow concurrently, so that branches change power levels, join
// rules, memberships (join, leave, invite, knock, kick, ban, unban), topics
// and names against each other, and send messages and redactions. With a
// Merge function, branches occasionally merge two tips into one event
// whose state before is the merge of theirs.
//
// Every event is made by pdu.Builder, so it has real hashes, signatures and
// event IDs, and is kept only if the authorization rules allow it both
// against its auth events and against the state of its branch: the history
// is valid. The generator is deterministic for a given seed.
package roomgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"myelin/internal/eventauth"
	"myelin/internal/pdu"
	"myelin/internal/signing"
	"myelin/internal/spec"
)

// State is a room state: the event ID of the state event for each key.
// It has the underlying type of stateres.StateMap.
type State = map[spec.StateKeyTuple]string

// Options configures Generate.
type Options struct {
	// Version is the room version. Required.
	Version *spec.RoomVersion
	// Seed makes the history reproducible.
	Seed uint64
	// Users is the number of users (at least 3; default 6), spread over
	// three servers.
	Users int
	// Branches is the number of concurrent branches, the trunk included
	// (default 3).
	Branches int
	// TrunkEvents is the number of random events on the trunk after the
	// room's setup, before the first fork (default 6).
	TrunkEvents int
	// BranchEvents is the number of random events made after the first
	// fork, spread over the branches (default 8 per branch).
	BranchEvents int
	// Merge, if set, resolves the states of two tips of the room so far;
	// the generator then sometimes joins two branches with an event whose
	// prev_events are both tips and whose state before is Merge's result.
	// An error skips the merge.
	Merge func(room *Room, states []State) (State, error)
}

// Room is a generated history.
type Room struct {
	Version *spec.RoomVersion
	// ID is the room ID.
	ID string
	// Events holds every event of the history by ID.
	Events map[string]*pdu.Event
	// Order lists the events in creation order, which is a topological
	// order of both the prev_events and the auth_events graphs.
	Order []*pdu.Event
	// Tips are the last events of the branches, the trunk first.
	Tips []string
	// Setup is the number of events of Order that form the room's setup,
	// before any random event.
	Setup int

	stateAfter map[string]State
}

// StateAfter returns the state after the event with the given ID (for a
// message event, the state before it), or nil for an unknown ID. The
// caller must not modify it.
func (r *Room) StateAfter(id string) State { return r.stateAfter[id] }

// Generate makes a room history. It fails only if opts are invalid or an
// event cannot be built, which is a bug.
func Generate(opts Options) (*Room, error) {
	if opts.Version == nil {
		return nil, fmt.Errorf("roomgen: no room version")
	}
	opts.setDefaults()
	g, err := newGen(opts)
	if err != nil {
		return nil, err
	}
	if err := g.setup(); err != nil {
		return nil, err
	}
	if err := g.grow(); err != nil {
		return nil, err
	}
	for _, c := range g.cursors {
		g.room.Tips = append(g.room.Tips, c.tip)
	}
	return g.room, nil
}

func (o *Options) setDefaults() {
	if o.Users < 3 {
		o.Users = 6
	}
	if o.Branches < 1 {
		o.Branches = 3
	}
	if o.TrunkEvents <= 0 {
		o.TrunkEvents = 6
	}
	if o.BranchEvents <= 0 {
		o.BranchEvents = 8 * o.Branches
	}
}

// servers are the homeservers of the generated users.
var servers = [...]spec.ServerName{"a.test", "b.test", "c.test"}

type gen struct {
	opts   Options
	v      *spec.RoomVersion
	rng    *rand.Rand
	stream *rand.ChaCha8
	keys   map[spec.ServerName]signing.Key
	users  []string
	room   *Room
	// cursors are the branch heads; cursors[0] is the trunk.
	cursors []*cursor
}

// cursor is the head of a branch.
type cursor struct {
	tip   string
	state State
	ts    int64
}

func newGen(opts Options) (*gen, error) {
	var seed [32]byte
	for i := range 8 {
		seed[i] = byte(opts.Seed >> (8 * i))
	}
	stream := rand.NewChaCha8(seed)
	g := &gen{
		opts:   opts,
		v:      opts.Version,
		rng:    rand.New(stream),
		stream: stream,
		keys:   map[spec.ServerName]signing.Key{},
		room:   &Room{Version: opts.Version, Events: map[string]*pdu.Event{}, stateAfter: map[string]State{}},
	}
	for i, s := range servers {
		k, err := signing.KeyFromSeed("k"+fmt.Sprint(i), seedFor(string(s)))
		if err != nil {
			return nil, fmt.Errorf("roomgen: key: %w", err)
		}
		g.keys[s] = k
	}
	for i := range opts.Users {
		g.users = append(g.users, fmt.Sprintf("@u%d:%s", i, servers[i%len(servers)]))
	}
	return g, nil
}

func seedFor(s string) []byte {
	seed := make([]byte, 32)
	copy(seed, s)
	return seed
}

// proposal is an event the generator would like to add.
type proposal struct {
	typ      string
	stateKey *string
	sender   string
	content  any
	redacts  string
}

func strPtr(s string) *string { return &s }

// add builds p on cursor c (with extra prev events, for merges, whose
// merged state is before), checks it and, if the rules allow it, appends
// it to the branch. It reports whether the event was added.
func (g *gen) add(c *cursor, p proposal, extraPrev []string, before State) (*pdu.Event, bool, error) {
	if before == nil {
		before = c.state
	}
	authIDs, err := g.authEventIDs(p, before)
	if err != nil {
		return nil, false, err
	}
	b := pdu.Builder{
		Type: p.typ, StateKey: p.stateKey, Sender: p.sender, RoomID: g.room.ID,
		Content: p.content, Redacts: p.redacts, AuthEvents: authIDs,
		OriginServerTS: c.ts + 1 + int64(g.rng.IntN(3)), Rand: g.stream,
	}
	if c.tip != "" {
		b.PrevEvents = append([]string{c.tip}, extraPrev...)
	}
	for _, id := range b.PrevEvents {
		b.Depth = max(b.Depth, g.room.Events[id].Depth())
	}
	b.Depth++
	if g.v.EventIDFormat == spec.EventIDOpaque {
		b.ReferenceHashes = map[string][]byte{}
		for _, id := range append(slices.Clone(b.PrevEvents), authIDs...) {
			b.ReferenceHashes[id] = g.room.Events[id].ReferenceHash()
		}
	}
	origin := serverOf(p.sender)
	ev, err := b.Build(g.v, origin, g.keys[origin])
	if err != nil {
		return nil, false, fmt.Errorf("roomgen: building %s: %w", p.typ, err)
	}
	if !g.allowed(ev, before) {
		return nil, false, nil
	}
	g.accept(c, ev, before)
	return ev, true, nil
}

// authEventIDs selects the auth events of p from state (server-server
// API, "Auth events selection").
func (g *gen) authEventIDs(p proposal, state State) ([]string, error) {
	raw, err := json.Marshal(p.content)
	if err != nil {
		return nil, fmt.Errorf("roomgen: content: %w", err)
	}
	if p.content == nil {
		raw = []byte("{}")
	}
	keys, err := pdu.AuthEventTypes(g.v, p.typ, p.stateKey, p.sender, raw)
	if err != nil {
		return nil, fmt.Errorf("roomgen: auth events selection: %w", err)
	}
	var ids []string
	for _, k := range keys {
		if id, ok := state[k]; ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// allowed checks ev against its auth events and against state.
func (g *gen) allowed(ev *pdu.Event, state State) bool {
	var auth []*pdu.Event
	for _, id := range ev.AuthEventIDs() {
		auth = append(auth, g.room.Events[id])
	}
	if err := eventauth.CheckAuthEvents(ev, auth); err != nil {
		return false
	}
	authState := eventauth.StateFromEvents(auth)
	if g.v.CreateEventHasNoRoomID && ev.Type() != spec.MRoomCreate {
		authState[spec.StateKeyTuple{Type: spec.MRoomCreate}] = g.room.Events[pdu.CreateEventIDForRoom(g.room.ID)]
	}
	if eventauth.Check(ev, authState) != nil {
		return false
	}
	return eventauth.Check(ev, g.provider(state)) == nil
}

// accept records ev as the new tip of c.
func (g *gen) accept(c *cursor, ev *pdu.Event, before State) {
	id := ev.EventID()
	g.room.Events[id] = ev
	g.room.Order = append(g.room.Order, ev)
	after := before
	if ev.IsState() {
		after = make(State, len(before)+1)
		for k, v := range before {
			after[k] = v
		}
		after[ev.StateTuple()] = id
	}
	g.room.stateAfter[id] = after
	c.tip, c.state, c.ts = id, after, ev.OriginServerTS()
}

func (g *gen) provider(state State) eventauth.StateProvider {
	return stateProvider{state: state, events: g.room.Events}
}

type stateProvider struct {
	state  State
	events map[string]*pdu.Event
}

func (s stateProvider) StateEvent(typ, key string) *pdu.Event {
	id, ok := s.state[spec.StateKeyTuple{Type: typ, StateKey: key}]
	if !ok {
		return nil
	}
	return s.events[id]
}

func serverOf(user string) spec.ServerName {
	for i := 0; i < len(user); i++ {
		if user[i] == ':' {
			return spec.ServerName(user[i+1:])
		}
	}
	return ""
}

// setup creates the room: create, the creator's join, power levels, join
// rules, and some members.
func (g *gen) setup() error {
	c := &cursor{state: State{}, ts: 1_000_000}
	g.cursors = []*cursor{c}
	creator := g.users[0]
	create := map[string]any{"room_version": g.v.ID}
	if !g.v.CreatorFromSender {
		create["creator"] = creator
	}
	var additional []string
	if g.v.PrivilegedCreators && g.rng.IntN(2) == 0 {
		additional = []string{g.users[1]}
		create["additional_creators"] = additional
	}
	if g.v.RoomIDFormat == spec.RoomIDOpaque {
		g.room.ID = fmt.Sprintf("!r%d:%s", g.rng.Uint32(), serverOf(creator))
	}
	ev, ok, err := g.add(c, proposal{typ: spec.MRoomCreate, stateKey: strPtr(""), sender: creator, content: create}, nil, nil)
	if err != nil || !ok {
		return fmt.Errorf("roomgen: create event not allowed: %v", err)
	}
	g.room.ID = ev.RoomID()
	steps := []proposal{
		member(creator, creator, spec.MembershipJoin),
		{typ: spec.MRoomPowerLevels, stateKey: strPtr(""), sender: creator, content: g.initialPowerLevels(creator, additional)},
		{typ: spec.MRoomJoinRules, stateKey: strPtr(""), sender: creator, content: map[string]any{"join_rule": g.pick(spec.JoinRulePublic, spec.JoinRulePublic, spec.JoinRuleInvite)}},
	}
	for _, p := range steps {
		if _, ok, err := g.add(c, p, nil, nil); err != nil || !ok {
			return fmt.Errorf("roomgen: setup event %s not allowed: %v", p.typ, err)
		}
	}
	for _, u := range g.users[1 : 1+g.rng.IntN(len(g.users)-1)] {
		if g.joinRule(c.state) != spec.JoinRulePublic {
			if _, _, err := g.add(c, member(creator, u, spec.MembershipInvite), nil, nil); err != nil {
				return err
			}
		}
		if _, _, err := g.add(c, member(u, u, spec.MembershipJoin), nil, nil); err != nil {
			return err
		}
	}
	g.room.Setup = len(g.room.Order)
	return nil
}

func (g *gen) initialPowerLevels(creator string, additional []string) map[string]any {
	users := map[string]any{}
	if !g.v.PrivilegedCreators {
		users[creator] = 100
	}
	for _, u := range g.users[1:] {
		if slices.Contains(additional, u) {
			continue
		}
		if g.rng.IntN(3) == 0 {
			users[u] = g.level(pick(g.rng, 0, 50, 75, 100))
		}
	}
	return map[string]any{
		"users": users, "users_default": 0, "events_default": 0,
		"state_default": 50, "ban": 50, "kick": 50, "redact": 50, "invite": g.pick(0, 0, 50),
		"events": map[string]any{spec.MRoomPowerLevels: 100, spec.MRoomJoinRules: g.pick(50, 100), spec.MRoomName: 50, spec.MRoomTopic: g.pick(0, 50)},
	}
}

// level returns a power level value, sometimes as a string in versions
// that allow it.
func (g *gen) level(n int) any {
	if !g.v.IntegerPowerLevels && g.rng.IntN(8) == 0 {
		return fmt.Sprint(n)
	}
	return n
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

func (g *gen) pick(xs ...any) any { return pick(g.rng, xs...) }

func member(sender, target, membership string) proposal {
	return proposal{typ: spec.MRoomMember, stateKey: strPtr(target), sender: sender, content: map[string]any{"membership": membership}}
}

// grow adds the trunk's random events, then forks and grows branches.
func (g *gen) grow() error {
	for range g.opts.TrunkEvents {
		if err := g.step(g.cursors[0]); err != nil {
			return err
		}
	}
	for range g.opts.BranchEvents {
		if len(g.cursors) < g.opts.Branches && (len(g.cursors) == 1 || g.rng.IntN(4) == 0) {
			g.fork()
			continue
		}
		c := g.cursors[g.rng.IntN(len(g.cursors))]
		if g.opts.Merge != nil && len(g.cursors) > 1 && g.rng.IntN(12) == 0 {
			if err := g.merge(c); err != nil {
				return err
			}
			continue
		}
		if err := g.step(c); err != nil {
			return err
		}
	}
	for len(g.cursors) < g.opts.Branches {
		g.fork()
	}
	return nil
}

// fork starts a branch at a random event after the room's setup.
func (g *gen) fork() {
	from := g.room.Order[g.room.Setup-1+g.rng.IntN(len(g.room.Order)-g.room.Setup+1)]
	c := &cursor{tip: from.EventID(), state: g.room.stateAfter[from.EventID()], ts: from.OriginServerTS()}
	if g.rng.IntN(6) == 0 {
		c.ts += int64(g.rng.IntN(200)) - 100 // a server whose clock is off
	}
	g.cursors = append(g.cursors, c)
}

// merge joins c with another branch's tip, if the merged state lets some
// member send a message.
func (g *gen) merge(c *cursor) error {
	other := g.cursors[g.rng.IntN(len(g.cursors))]
	if other == c || other.tip == c.tip {
		return nil
	}
	merged, err := g.opts.Merge(g.room, []State{c.state, other.state})
	if err != nil {
		return nil
	}
	joined := g.withMembership(merged, spec.MembershipJoin)
	if len(joined) == 0 {
		return nil
	}
	p := proposal{typ: spec.MRoomMessage, sender: pick(g.rng, joined...), content: map[string]any{"msgtype": "m.text", "body": "merge"}}
	_, _, err = g.add(c, p, []string{other.tip}, merged)
	return err
}

// step tries random actions on c until one is allowed (or gives up after
// a few tries, which leaves c unchanged).
func (g *gen) step(c *cursor) error {
	for range 8 {
		p, ok := g.propose(c.state)
		if !ok {
			continue
		}
		if _, ok, err := g.add(c, p, nil, nil); err != nil || ok {
			return err
		}
	}
	return nil
}
