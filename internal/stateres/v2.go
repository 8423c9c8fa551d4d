package stateres

import (
	"fmt"
	"math"
	"slices"

	"myelin/internal/eventauth"
	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// resolveV2 runs the algorithm of rooms/fragments/v2-state-res.md, with
// the room version 12 changes of rooms/v12.md when r.v.StateRes is
// StateResV2_1.
func (r *resolver) resolveV2(s *split) (StateMap, error) {
	full, err := r.fullConflictedSet(s)
	if err != nil {
		return nil, err
	}
	// Step 1: the power events of the full conflicted set and their auth
	// chains' events in it, in reverse topological power ordering.
	sortedX, rest, err := r.steps.powerOrder(r, s, full)
	if err != nil {
		return nil, err
	}
	// Step 2: iterative auth checks from the unconflicted state map (v2)
	// or from an empty state map (v2.1).
	ps := &partialState{over: map[spec.StateKeyTuple]string{}}
	if r.v.StateRes == spec.StateResV2 {
		ps.base = s
	}
	if err := r.iterativeAuthChecks(ps, sortedX); err != nil {
		return nil, err
	}
	// Step 3: the remaining events in mainline ordering based on the
	// partially resolved power levels.
	sortedRest, err := r.steps.mainlineOrder(r, ps, rest)
	if err != nil {
		return nil, err
	}
	// Step 4: iterative auth checks on the partially resolved state.
	if err := r.iterativeAuthChecks(ps, sortedRest); err != nil {
		return nil, err
	}
	// Step 5: the unconflicted state map wins over the resolved events.
	return s.withUnconflicted(ps.over), nil
}

// steps are the steps of state resolution that implementations are known
// to read differently. Resolve always uses specSteps; the differential
// tests substitute another implementation's readings to show that they,
// and nothing else, explain its different answers.
type steps interface {
	// powerOrder returns step 1's sorted list X and the other events of
	// the full conflicted set, sorted by ID.
	powerOrder(r *resolver, s *split, full idSet) (sortedX, rest []string, err error)
	// mainlineOrder returns rest in step 3's mainline ordering.
	mainlineOrder(r *resolver, ps *partialState, rest []string) ([]string, error)
	// allowed reports whether the iterative auth checks accept ev in ps.
	allowed(r *resolver, ps *partialState, ev *pdu.Event) (bool, error)
	// rules reports whether the authorization rules allow ev in state.
	rules(ev *pdu.Event, state eventauth.StateProvider) bool
}

// specSteps are the steps as the spec defines them.
type specSteps struct{}

func (specSteps) powerOrder(r *resolver, _ *split, full idSet) ([]string, []string, error) {
	x, g, err := r.powerSet(full)
	if err != nil {
		return nil, nil, err
	}
	sortedX, err := r.powerSort(x, g)
	if err != nil {
		return nil, nil, err
	}
	var rest []string
	for _, id := range sortedKeys(full) {
		if !x.has(id) {
			rest = append(rest, id)
		}
	}
	return sortedX, rest, nil
}

func (specSteps) mainlineOrder(r *resolver, ps *partialState, rest []string) ([]string, error) {
	return r.mainlineSort(ps, rest)
}

func (specSteps) allowed(r *resolver, ps *partialState, ev *pdu.Event) (bool, error) {
	return r.allowed(ps, ev)
}

func (specSteps) rules(ev *pdu.Event, state eventauth.StateProvider) bool {
	return eventauth.Check(ev, state) == nil
}

// fullConflictedSet returns the conflicted state set, the auth difference
// and, for v2.1, the conflicted state subgraph, with every event loaded.
func (r *resolver) fullConflictedSet(s *split) (idSet, error) {
	full, err := r.authDifference(s)
	if err != nil {
		return nil, err
	}
	for _, id := range s.conflicted {
		full[id] = struct{}{}
	}
	if r.v.StateRes == spec.StateResV2_1 {
		sub, err := r.conflictedSubgraph(s.conflicted)
		if err != nil {
			return nil, err
		}
		for id := range sub {
			full[id] = struct{}{}
		}
	}
	if err := r.load(sortedKeys(full)); err != nil {
		return nil, fmt.Errorf("full conflicted set: %w", err)
	}
	if r.v.CreateEventHasNoRoomID {
		// The power ordering and the auth checks need the create event,
		// which no auth_events name in this version.
		create := pdu.CreateEventIDForRoom(r.event(s.conflicted[0]).RoomID())
		if err := r.load([]string{create}); err != nil {
			return nil, fmt.Errorf("create event: %w", err)
		}
	}
	return full, nil
}

// isPowerEvent reports whether ev is a power event: a state event of type
// m.room.power_levels or m.room.join_rules, or an m.room.member whose
// membership is leave or ban and whose sender is not its state key.
func isPowerEvent(ev *pdu.Event) bool {
	if !ev.IsState() {
		return false
	}
	switch ev.Type() {
	case spec.MRoomPowerLevels, spec.MRoomJoinRules:
		return true
	case spec.MRoomMember:
		if ev.StateKeyEquals(ev.Sender()) {
			return false
		}
		m, err := ev.Membership()
		return err == nil && (m == spec.MembershipLeave || m == spec.MembershipBan)
	}
	return false
}

// powerSet returns X of step 1, the power events of the full conflicted
// set together with the events of their auth chains that are in the full
// conflicted set, and the auth graph of X and those auth chains.
func (r *resolver) powerSet(full idSet) (idSet, *authGraph, error) {
	var power []string
	for _, id := range sortedKeys(full) {
		if isPowerEvent(r.event(id)) {
			power = append(power, id)
		}
	}
	chain, err := r.walkAuth(power, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("auth chains of power events: %w", err)
	}
	x := setOf(power)
	for id := range chain {
		if full.has(id) {
			x[id] = struct{}{}
		}
	}
	nodes := setOf(power)
	for id := range chain {
		nodes[id] = struct{}{}
	}
	return x, r.graph(nodes), nil
}

// senderPower is a sender's power level as the power ordering compares it.
type senderPower struct {
	level    int64
	infinite bool
}

func (a senderPower) greater(b senderPower) bool {
	if a.infinite != b.infinite {
		return a.infinite
	}
	return !a.infinite && a.level > b.level
}

// powerSort returns X in the reverse topological power ordering: Kahn's
// algorithm over the auth graph, choosing among the ready events the one
// whose sender has the greatest power level (by the event's own auth
// events), then the smallest origin_server_ts, then the smallest event ID.
func (r *resolver) powerSort(x idSet, g *authGraph) ([]string, error) {
	power := make([]senderPower, len(g.ids))
	for i, id := range g.ids {
		if x.has(id) {
			power[i] = r.senderPowerFromAuthEvents(r.event(id))
		}
	}
	less := func(a, b int32) bool {
		if power[a] != power[b] {
			return power[a].greater(power[b])
		}
		ea, eb := r.event(g.ids[a]), r.event(g.ids[b])
		if ea.OriginServerTS() != eb.OriginServerTS() {
			return ea.OriginServerTS() < eb.OriginServerTS()
		}
		return g.ids[a] < g.ids[b]
	}
	order, err := g.kahn(func(i int32) bool { return x.has(g.ids[i]) }, less)
	if err != nil {
		return nil, fmt.Errorf("reverse topological power ordering: %w", err)
	}
	out := make([]string, len(order))
	for i, n := range order {
		out[i] = g.ids[n]
	}
	return out, nil
}

// senderPowerFromAuthEvents returns the power level of ev's sender in the
// state formed by ev's auth events (plus, in v12, the room's create event,
// which auth_events never name). The auth events must be loaded.
func (r *resolver) senderPowerFromAuthEvents(ev *pdu.Event) senderPower {
	auth := make([]*pdu.Event, 0, len(ev.AuthEventIDs())+1)
	for _, id := range ev.AuthEventIDs() {
		if a := r.event(id); a != nil {
			auth = append(auth, a)
		}
	}
	state := eventauth.StateFromEvents(auth)
	if r.v.CreateEventHasNoRoomID {
		if c := r.event(pdu.CreateEventIDForRoom(ev.RoomID())); c != nil {
			state[spec.StateKeyTuple{Type: spec.MRoomCreate}] = c
		}
	}
	level, infinite := eventauth.SenderPowerLevel(state, r.v, ev.Sender())
	return senderPower{level: level, infinite: infinite}
}

// mainlineSort returns events in the mainline ordering based on the power
// levels event of the partial state ps.
func (r *resolver) mainlineSort(ps *partialState, events []string) ([]string, error) {
	mainline, err := r.mainline(ps)
	if err != nil {
		return nil, err
	}
	pos, err := r.mainlinePositions(mainline, events)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(events)
	slices.SortFunc(out, func(a, b string) int {
		if pos[a] != pos[b] {
			if pos[a] > pos[b] {
				return -1
			}
			return 1
		}
		ea, eb := r.event(a), r.event(b)
		if ea.OriginServerTS() != eb.OriginServerTS() {
			if ea.OriginServerTS() < eb.OriginServerTS() {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		return 1
	})
	return out, nil
}

// mainline returns the index in the mainline of each of its events: the
// power levels event of ps at 0, the power levels event among its auth
// events at 1, and so on.
func (r *resolver) mainline(ps *partialState) (map[string]int, error) {
	mainline := map[string]int{}
	p, ok := ps.get(spec.StateKeyTuple{Type: spec.MRoomPowerLevels})
	for i := 0; ok; i++ {
		if _, cycle := mainline[p]; cycle {
			return nil, fmt.Errorf("mainline at %s: %w", p, ErrAuthCycle)
		}
		mainline[p] = i
		if err := r.load([]string{p}); err != nil {
			return nil, fmt.Errorf("mainline: %w", err)
		}
		if err := r.loadAuthEventsOf([]string{p}); err != nil {
			return nil, fmt.Errorf("mainline: %w", err)
		}
		p, ok = r.powerLevelsAuthEvent(r.event(p))
	}
	return mainline, nil
}

// infinitePosition is the mainline position of an event whose power levels
// chain never meets the mainline.
const infinitePosition = math.MaxInt

// mainlinePositions returns the mainline position of each event: the index
// of the first event of its chain of power levels auth events (the event
// itself excluded) that is on the mainline, or infinitePosition. All the
// events' chains advance together so that each step is one source call.
func (r *resolver) mainlinePositions(mainline map[string]int, events []string) (map[string]int, error) {
	pos := make(map[string]int, len(events))
	cur := map[string]string{}
	if err := r.loadAuthEventsOf(events); err != nil {
		return nil, fmt.Errorf("mainline positions: %w", err)
	}
	for _, id := range events {
		if p, ok := r.powerLevelsAuthEvent(r.event(id)); ok {
			cur[id] = p
		} else {
			pos[id] = infinitePosition
		}
	}
	limit := len(r.events) + 1
	for step := 0; len(cur) > 0; step++ {
		if step > limit {
			return nil, fmt.Errorf("mainline positions: %w", ErrAuthCycle)
		}
		var walk []string
		for id, p := range cur {
			if i, on := mainline[p]; on {
				pos[id] = i
				delete(cur, id)
				continue
			}
			walk = append(walk, p)
		}
		slices.Sort(walk)
		if err := r.load(walk); err != nil {
			return nil, fmt.Errorf("mainline positions: %w", err)
		}
		if err := r.loadAuthEventsOf(walk); err != nil {
			return nil, fmt.Errorf("mainline positions: %w", err)
		}
		for id, p := range cur {
			if next, ok := r.powerLevelsAuthEvent(r.event(p)); ok {
				cur[id] = next
			} else {
				pos[id] = infinitePosition
				delete(cur, id)
			}
		}
	}
	return pos, nil
}

// powerLevelsAuthEvent returns the first m.room.power_levels event (with
// an empty state key) among ev's auth events, which must be loaded.
func (r *resolver) powerLevelsAuthEvent(ev *pdu.Event) (string, bool) {
	for _, id := range ev.AuthEventIDs() {
		if a := r.event(id); a != nil && a.Type() == spec.MRoomPowerLevels && a.StateKeyEquals("") {
			return id, true
		}
	}
	return "", false
}
