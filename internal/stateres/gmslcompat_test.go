package stateres

import (
	"encoding/json"
	"slices"
	"strings"

	gmsl "github.com/matrix-org/gomatrixserverlib"
	gmslspec "github.com/matrix-org/gomatrixserverlib/spec"

	"myelin/internal/eventauth"
	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// gomatrixserverlib's state resolution v2 (stateresolutionv2.go) reads
// three steps of rooms/fragments/v2-state-res.md differently from the spec.
// gmslSteps reproduces each reading, so that the differential test can
// check that a different answer is explained by these readings and by
// nothing else: the rest of our algorithm (auth difference, iterative auth
// checks, final overlay) must then give exactly gmsl's answer.
//
// The readings, each a deviation from the spec text:
//
//   - quirkPowerSet. Spec, Algorithm step 1: "enlarge X by adding the events
//     in the auth chain of P which also belong to the full conflicted set".
//     gmsl follows auth_events only through events of the conflicted state
//     set, so auth difference events in a power event's auth chain (the
//     join that let a moderator kick, say) are left to the mainline step;
//     it also skips every event of the unconflicted state map.
//   - quirkKahn. Spec, "Reverse topological power ordering": the
//     lexicographically smallest topological ordering, built by Kahn's
//     algorithm "selecting, among all the candidate vertices, the smallest
//     vertex". gmsl builds the order from the end, repeatedly taking the
//     largest event no remaining event cites, which is a different order in
//     general; an event listed twice in its input (a power event that is
//     also in another's auth chain) has its auth events counted twice, and
//     the events that never become free are put first in comparison order.
//     The power level compared is the users entry or users_default of the
//     first power levels auth event, 0 without one (the spec's auth rules
//     give the creator 100 then).
//   - quirkFallback. Spec, "Iterative auth checks": "If a (event_type,
//     state_key) key that is required for checking the authorisation rules
//     is not present in the state, then the appropriate state event from
//     the event's auth_events is used". gmsl's authAndApplyEvents adds the
//     event being checked instead (AddEvent(event) where the matching auth
//     event was meant), under its own (type, state_key), so the key stays
//     missing; it also gives the rules only the keys StateNeededForAuth
//     lists, in its order. In v2.1, whose iterative auth checks start
//     from an empty state, the create event (which v12 auth_events never
//     carry) is then never found and every check fails.
//   - quirkLeave. Not state resolution but gmsl's authorization rules,
//     which the iterative auth checks use: gmsl allows a user whose
//     membership is leave to send a leave for themselves (a NOTSPEC in its
//     membershipAllowedSelf). The rules (rooms/v1.md and later, membership
//     leave) say "If the sender matches state_key, allow if and only if
//     that user's current membership state is invite, join, or knock."
//   - quirkUnban. Also gmsl's authorization rules: a leave for a banned
//     target (an unban) is allowed whenever the sender's level reaches the
//     ban level (membershipAllowedOther). The rules (rooms/v12.md and
//     earlier, membership leave) go on after "If the target user's current
//     membership state is ban, and the sender's power level is less than
//     the ban level, reject" with "If the sender's power level is greater
//     than or equal to the kick level, and the target user's power level is
//     less than the sender's power level, allow. Otherwise, reject."
//   - quirkMainline. Spec, "Mainline ordering": events whose power levels
//     chain never meets the mainline have position ∞ and sort first; ties
//     are broken by origin_server_ts, then event ID. gmsl gives them the
//     position of the oldest mainline event and breaks ties first by the
//     number of power levels events walked before reaching the mainline.
type gmslSteps struct {
	o      *oracle
	quirks quirk
}

type quirk uint8

const (
	quirkPowerSet quirk = 1 << iota
	quirkKahn
	quirkMainline
	quirkFallback
	quirkLeave
	quirkUnban
	allQuirks = quirkPowerSet | quirkKahn | quirkMainline | quirkFallback | quirkLeave | quirkUnban
)

func (q quirk) String() string {
	var names []string
	for _, n := range []struct {
		q    quirk
		name string
	}{{quirkPowerSet, "power set"}, {quirkKahn, "kahn"}, {quirkMainline, "mainline"}, {quirkFallback, "fallback"}, {quirkLeave, "leave"}, {quirkUnban, "unban"}} {
		if q&n.q != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, "+")
}

func (g gmslSteps) powerOrder(r *resolver, s *split, full idSet) ([]string, []string, error) {
	if g.quirks&quirkPowerSet == 0 {
		if g.quirks&quirkKahn == 0 {
			return specSteps{}.powerOrder(r, s, full)
		}
		x, _, err := r.powerSet(full)
		if err != nil {
			return nil, nil, err
		}
		var list, rest []string
		for _, id := range sortedKeys(full) {
			if x.has(id) {
				list = append(list, id)
			} else {
				rest = append(rest, id)
			}
		}
		return g.kahn(r, list), rest, nil
	}
	list, rest := g.powerSet(r, s, full)
	if g.quirks&quirkKahn != 0 {
		return g.kahn(r, list), rest, nil
	}
	x := setOf(list)
	chain, err := r.walkAuth(list, nil)
	if err != nil {
		return nil, nil, err
	}
	nodes := setOf(list)
	for id := range chain {
		nodes[id] = struct{}{}
	}
	sorted, err := r.powerSort(x, r.graph(nodes))
	return sorted, rest, err
}

// powerSet returns gmsl's X and its other events, as lists with gmsl's
// duplicates: it walks the conflicted state set followed by the auth
// difference (with, in v2.1, the conflicted state subgraph), so an event in
// both is listed twice, and an event reached through another's auth events
// once more.
func (g gmslSteps) powerSet(r *resolver, s *split, full idSet) (list, rest []string) {
	conflicted := setOf(s.conflicted)
	unconflicted := setOf(s.unconflictedIDs())
	diff, _ := r.authDifference(s)
	if r.v.StateRes == spec.StateResV2_1 {
		sub, _ := r.conflictedSubgraph(s.conflicted)
		for id := range sub {
			diff[id] = struct{}{}
		}
	}
	fullList := append(slices.Clone(s.conflicted), sortedKeys(diff)...)
	visited := map[string]bool{}
	var walk func(id string) []string
	walk = func(id string) []string {
		out := []string{id}
		for _, a := range r.event(id).AuthEventIDs() {
			if visited[a] {
				continue
			}
			if conflicted.has(a) {
				out = append(out, walk(a)...)
			}
			visited[a] = true
		}
		return out
	}
	pulled := idSet{}
	for _, id := range fullList {
		if unconflicted.has(id) || !isPowerEvent(r.event(id)) {
			continue
		}
		for _, e := range walk(id) {
			list = append(list, e)
			pulled[e] = struct{}{}
		}
	}
	for _, id := range fullList {
		if unconflicted.has(id) || isPowerEvent(r.event(id)) || pulled.has(id) {
			continue
		}
		rest = append(rest, id)
	}
	slices.Sort(rest)
	return list, rest
}

// kahn is gmsl's kahnsAlgorithmUsingAuthEvents on list.
func (g gmslSteps) kahn(r *resolver, list []string) []string {
	levels := map[string]int64{}
	for _, id := range list {
		levels[id] = g.powerLevel(r, id)
	}
	cmp := func(a, b string) int {
		pa, pb := levels[a], levels[b]
		if pa != pb {
			if pa > pb {
				return -1
			}
			return 1
		}
		ta, tb := r.event(a).OriginServerTS(), r.event(b).OriginServerTS()
		if ta != tb {
			if ta < tb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	}
	inList := setOf(list)
	inDegree := map[string]int{}
	for _, id := range list {
		if _, ok := inDegree[id]; !ok {
			inDegree[id] = 0
		}
		for _, a := range r.event(id).AuthEventIDs() {
			inDegree[a]++
		}
	}
	var ready []string
	for _, id := range sortedKeys(inList) {
		if inDegree[id] == 0 {
			ready = append(ready, id)
			delete(inList, id)
		}
	}
	slices.SortStableFunc(ready, cmp)
	var out []string
	for len(ready) > 0 {
		id := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		out = append([]string{id}, out...)
		for _, a := range r.event(id).AuthEventIDs() {
			inDegree[a]--
			if inDegree[a] == 0 && inList.has(a) {
				ready = append(ready, a)
				delete(inList, a)
			}
		}
		slices.SortStableFunc(ready, cmp)
	}
	stray := sortedKeys(inList)
	slices.SortStableFunc(stray, cmp)
	return append(stray, out...)
}

// powerLevel is gmsl's getPowerLevelFromAuthEvents.
func (g gmslSteps) powerLevel(r *resolver, id string) int64 {
	ev := r.event(id)
	if r.v.PrivilegedCreators {
		create := g.o.pdus[g.o.createID]
		if slices.Contains(gmsl.CreatorsFromCreateEvent(create), ev.Sender()) {
			return gmsl.CreatorPowerLevel
		}
	}
	for _, a := range ev.AuthEventIDs() {
		ae := r.event(a)
		if ae == nil || ae.Type() != spec.MRoomPowerLevels || !ae.StateKeyEquals("") {
			continue
		}
		c, err := gmsl.NewPowerLevelContentFromEvent(g.o.pdus[a])
		if err != nil {
			return 0
		}
		return c.UserLevel(gmslspec.SenderID(ev.Sender()))
	}
	return 0
}

func (g gmslSteps) mainlineOrder(r *resolver, ps *partialState, rest []string) ([]string, error) {
	if g.quirks&quirkMainline == 0 {
		return r.mainlineSort(ps, rest)
	}
	mainline, err := r.mainline(ps)
	if err != nil {
		return nil, err
	}
	type key struct{ pos, steps int }
	keys := map[string]key{}
	for _, id := range rest {
		k := key{}
		p, ok := r.powerLevelsAuthEvent(r.event(id))
		for ok {
			if i, on := mainline[p]; on {
				k.pos = len(mainline) - 1 - i
				break
			}
			k.steps++
			p, ok = r.powerLevelsAuthEvent(r.event(p))
		}
		keys[id] = k
	}
	out := slices.Clone(rest)
	slices.SortStableFunc(out, func(a, b string) int {
		ka, kb := keys[a], keys[b]
		if ka.pos != kb.pos {
			return ka.pos - kb.pos
		}
		if ka.steps != kb.steps {
			return ka.steps - kb.steps
		}
		ta, tb := r.event(a).OriginServerTS(), r.event(b).OriginServerTS()
		if ta != tb {
			if ta < tb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return out, nil
}

func (g gmslSteps) allowed(r *resolver, ps *partialState, ev *pdu.Event) (bool, error) {
	if g.quirks&quirkFallback == 0 {
		return r.allowed(ps, ev)
	}
	return g.rules(ev, g.fallbackState(r, ps, ev)), nil
}

func (g gmslSteps) rules(ev *pdu.Event, state eventauth.StateProvider) bool {
	if eventauth.Check(ev, state) == nil {
		return true
	}
	if g.quirks&(quirkLeave|quirkUnban) == 0 || ev.Type() != spec.MRoomMember {
		return false
	}
	if m, err := ev.Membership(); err != nil || m != spec.MembershipLeave {
		return false
	}
	// gmsl takes both shortcuts after checking the create event.
	if create := state.StateEvent(spec.MRoomCreate, ""); create == nil || create.RoomID() != ev.RoomID() {
		return false
	}
	membership := func(user string) string {
		if e := state.StateEvent(spec.MRoomMember, user); e != nil {
			m, _ := e.Membership()
			return m
		}
		return spec.MembershipLeave
	}
	target := *ev.StateKey()
	if target == ev.Sender() {
		return g.quirks&quirkLeave != 0 && membership(target) == spec.MembershipLeave
	}
	if g.quirks&quirkUnban == 0 || membership(ev.Sender()) != spec.MembershipJoin || membership(target) != spec.MembershipBan {
		return false
	}
	pl, _ := eventauth.PowerLevelsFromState(state, ev.Version())
	return pl.UserLevel(ev.Sender()) >= pl.Ban
}

// fallbackState is the state gmsl's authAndApplyEvents gives the rules.
func (g gmslSteps) fallbackState(r *resolver, ps *partialState, ev *pdu.Event) eventauth.StateMap {
	needCreate, needJR, needPL := true, false, true
	members := []string{ev.Sender()}
	switch {
	case ev.Type() == spec.MRoomCreate:
		needCreate, needPL, members = false, false, nil
	case ev.Type() == spec.MRoomAliases:
		needPL, members = false, nil
	case ev.Type() == spec.MRoomMember:
		members = append(members, *ev.StateKey())
		var c struct {
			Membership string `json:"membership"`
			Via        string `json:"join_authorised_via_users_server"`
		}
		_ = json.Unmarshal(ev.Content(), &c)
		switch c.Membership {
		case spec.MembershipJoin, spec.MembershipKnock, spec.MembershipInvite:
			needJR = true
		}
		if c.Via != "" {
			members = append(members, c.Via)
		}
	}
	slices.Sort(members)
	members = slices.Compact(members)
	state := eventauth.StateMap{}
	add := func(k spec.StateKeyTuple) {
		if id, ok := ps.get(k); ok {
			state[k] = r.event(id)
			return
		}
		for _, a := range ev.AuthEventIDs() {
			if ae := r.event(a); ae != nil && ae.StateTuple() == k && ae.IsState() {
				state[ev.StateTuple()] = ev
			}
		}
	}
	if needCreate {
		add(spec.StateKeyTuple{Type: spec.MRoomCreate})
	}
	if needJR {
		add(spec.StateKeyTuple{Type: spec.MRoomJoinRules})
	}
	if needPL {
		add(spec.StateKeyTuple{Type: spec.MRoomPowerLevels})
	}
	for _, m := range members {
		add(spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: m})
	}
	return state
}
