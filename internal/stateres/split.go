package stateres

import (
	"maps"
	"slices"

	"myelin/internal/spec"
)

// split is the division of the input states into the unconflicted state
// map and the conflicted state set (v2 definitions: a key is unconflicted
// when every state has it with the same event).
//
// The unconflicted state map is not materialized: it is states[0] without
// the conflicted keys, which saves copying a large room's state.
type split struct {
	states         []StateMap
	conflictedKeys map[spec.StateKeyTuple]struct{}
	// conflicted holds the distinct events of the conflicted state set,
	// sorted.
	conflicted []string
	// perState[i] holds the distinct events of states[i] under conflicted
	// keys, sorted.
	perState [][]string
}

func splitStates(states []StateMap) *split {
	s := &split{states: states, conflictedKeys: map[spec.StateKeyTuple]struct{}{}}
	if len(states) == 0 {
		return s
	}
	base := states[0]
	// found[i] counts the keys of base that states[i] has; when it has no
	// others, the second pass can skip it.
	found := make([]int, len(states))
	for k, id := range base {
		for i, other := range states[1:] {
			oid, ok := other[k]
			if ok {
				found[i+1]++
			}
			if !ok || oid != id {
				s.conflictedKeys[k] = struct{}{}
			}
		}
	}
	for i, other := range states[1:] {
		if found[i+1] == len(other) {
			continue
		}
		for k := range other {
			if _, ok := base[k]; !ok {
				s.conflictedKeys[k] = struct{}{}
			}
		}
	}
	if len(s.conflictedKeys) == 0 {
		return s
	}
	all := map[string]struct{}{}
	s.perState = make([][]string, len(states))
	for i, st := range states {
		seen := map[string]struct{}{}
		for k := range s.conflictedKeys {
			id, ok := st[k]
			if !ok {
				continue
			}
			if _, dup := seen[id]; !dup {
				seen[id] = struct{}{}
				s.perState[i] = append(s.perState[i], id)
			}
			all[id] = struct{}{}
		}
		slices.Sort(s.perState[i])
	}
	s.conflicted = sortedKeys(all)
	return s
}

// unconflicted returns the unconflicted state map's entry for k.
func (s *split) unconflicted(k spec.StateKeyTuple) (string, bool) {
	if len(s.states) == 0 {
		return "", false
	}
	if _, c := s.conflictedKeys[k]; c {
		return "", false
	}
	id, ok := s.states[0][k]
	return id, ok
}

// unconflictedIDs returns the events of the unconflicted state map, in no
// particular order. An event appears more than once only if the input maps
// it under several keys.
func (s *split) unconflictedIDs() []string {
	if len(s.states) == 0 {
		return nil
	}
	ids := make([]string, 0, len(s.states[0]))
	for k, id := range s.states[0] {
		if _, c := s.conflictedKeys[k]; !c {
			ids = append(ids, id)
		}
	}
	return ids
}

// unconflictedCopy returns the unconflicted state map as a new map.
func (s *split) unconflictedCopy() StateMap {
	if len(s.states) == 0 {
		return StateMap{}
	}
	out := maps.Clone(s.states[0])
	if out == nil {
		out = StateMap{}
	}
	for k := range s.conflictedKeys {
		delete(out, k)
	}
	return out
}

// withUnconflicted returns the unconflicted state map overlaid on resolved:
// resolved's entries for keys the unconflicted map lacks, and the
// unconflicted map's entries everywhere else (step 5 of the v2 algorithm).
func (s *split) withUnconflicted(resolved map[spec.StateKeyTuple]string) StateMap {
	out := s.unconflictedCopy()
	for k, id := range resolved {
		if _, ok := s.unconflicted(k); !ok {
			out[k] = id
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
