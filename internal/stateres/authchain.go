package stateres

import (
	"fmt"
	"slices"
)

// idSet is a set of event IDs.
type idSet map[string]struct{}

func (s idSet) has(id string) bool { _, ok := s[id]; return ok }

func setOf(ids []string) idSet {
	s := make(idSet, len(ids))
	for _, id := range ids {
		s[id] = struct{}{}
	}
	return s
}

// walkAuth returns the union of the auth chains of start: every event
// reachable from start through auth_events (start itself only if reachable
// from another start event). Events for which skip returns true are
// neither included nor walked through; skip may be nil. It loads the events
// level by level, one source call per level.
func (r *resolver) walkAuth(start []string, skip func(string) bool) (idSet, error) {
	seen := idSet{}
	if err := r.load(start); err != nil {
		return nil, err
	}
	frontier := start
	for len(frontier) > 0 {
		var next []string
		for _, id := range frontier {
			for _, a := range r.event(id).AuthEventIDs() {
				if seen.has(a) || (skip != nil && skip(a)) {
					continue
				}
				seen[a] = struct{}{}
				next = append(next, a)
			}
		}
		if err := r.load(next); err != nil {
			return nil, fmt.Errorf("walking auth chains: %w", err)
		}
		frontier = next
	}
	return seen, nil
}

// authDifference returns the auth difference of the split's states:
// ∪C_i − ∩C_i, with C_i the full auth chain of state i.
//
// An AuthChainSource computes it. Otherwise it is computed with one walk
// of the unconflicted state's auth chains A (shared by every C_i) and one
// walk per state from its conflicted events that stops at events of A:
// with D_i what that walk reaches, C_i = A ∪ D_i and D_i ∩ A = ∅, so the
// difference is every event in some D_i but not in all of them.
func (r *resolver) authDifference(s *split) (idSet, error) {
	if acs, ok := r.src.(AuthChainSource); ok {
		sets := make([][]string, len(s.states))
		for i, st := range s.states {
			sets[i] = make([]string, 0, len(st))
			for _, id := range st {
				sets[i] = append(sets[i], id)
			}
			slices.Sort(sets[i])
		}
		ids, err := acs.AuthChainDifference(sets)
		if err != nil {
			return nil, fmt.Errorf("auth chain difference: %w", err)
		}
		return setOf(ids), nil
	}
	shared, err := r.unconflictedAuthChains(s)
	if err != nil {
		return nil, fmt.Errorf("auth chains of the unconflicted state: %w", err)
	}
	count := map[string]int{}
	for i, ids := range s.perState {
		d, err := r.walkAuth(ids, shared.has)
		if err != nil {
			return nil, fmt.Errorf("auth chains of state %d: %w", i, err)
		}
		for id := range d {
			count[id]++
		}
	}
	diff := idSet{}
	for id, n := range count {
		if n < len(s.states) {
			diff[id] = struct{}{}
		}
	}
	return diff, nil
}

// unconflictedAuthChains returns the union of the auth chains of the
// unconflicted state's events. Those events are typically most of a large
// room's state and are not needed otherwise, so they are read for their
// auth events only and not kept.
func (r *resolver) unconflictedAuthChains(s *split) (idSet, error) {
	first, err := r.authEventsOf(s.unconflictedIDs())
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(first))
	for id := range first {
		ids = append(ids, id)
	}
	rest, err := r.walkAuth(ids, first.has)
	if err != nil {
		return nil, err
	}
	for id := range rest {
		first[id] = struct{}{}
	}
	return first, nil
}

// conflictedSubgraph returns the events of the conflicted state subgraph
// (rooms/v12.md) that are not themselves conflicted: the events on some
// auth_events path between two events of the conflicted state set. Such an
// event is in the auth chain of a conflicted event and has a conflicted
// event in its own auth chain, so the subgraph is found without enumerating
// paths: one walk of the conflicted events' auth chains, then one pass in
// topological order marking the events from which a conflicted event is
// reachable.
func (r *resolver) conflictedSubgraph(conflicted []string) (idSet, error) {
	isConflicted := setOf(conflicted)
	chain, err := r.walkAuth(conflicted, nil)
	if err != nil {
		return nil, fmt.Errorf("auth chains of the conflicted state set: %w", err)
	}
	g := r.graph(chain)
	order, err := g.topological()
	if err != nil {
		return nil, err
	}
	reaches := make([]bool, len(g.ids))
	out := idSet{}
	for _, n := range order {
		for _, a := range g.auth[n] {
			if reaches[a] || isConflicted.has(g.ids[a]) {
				reaches[n] = true
				break
			}
		}
		if reaches[n] && !isConflicted.has(g.ids[n]) {
			out[g.ids[n]] = struct{}{}
		}
	}
	return out, nil
}
