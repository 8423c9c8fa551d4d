package stateres

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"slices"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// resolveV1 runs the algorithm of rooms/v1.md "State resolution".
//
// The text leaves two points open, read here as follows. The member
// conflicts are resolved one key at a time, each against R as it stood
// after the join rules, and the results are added to R together, so that
// the result does not depend on the order of the keys. When no event of an
// "other" conflict is allowed, the one sorted first (lowest depth, highest
// sha1) is kept rather than dropping the key.
func (r *resolver) resolveV1(s *split) (StateMap, error) {
	R := s.unconflictedCopy()
	conflicts := map[spec.StateKeyTuple][]string{}
	var all []string
	for k := range s.conflictedKeys {
		var ids []string
		for _, st := range s.states {
			if id, ok := st[k]; ok && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		// A key with a single event is not a conflict in v1, even when
		// some states lack it.
		if len(ids) == 1 {
			R[k] = ids[0]
			continue
		}
		conflicts[k] = ids
		all = append(all, ids...)
	}
	slices.Sort(all)
	if err := r.load(all); err != nil {
		return nil, fmt.Errorf("conflicted events: %w", err)
	}
	if err := r.prefetchV1(R, all); err != nil {
		return nil, fmt.Errorf("state for auth checks: %w", err)
	}
	stages := []func(spec.StateKeyTuple) bool{
		func(k spec.StateKeyTuple) bool { return k == spec.StateKeyTuple{Type: spec.MRoomPowerLevels} },
		func(k spec.StateKeyTuple) bool { return k == spec.StateKeyTuple{Type: spec.MRoomJoinRules} },
		func(k spec.StateKeyTuple) bool { return k.Type == spec.MRoomMember },
	}
	for _, inStage := range stages {
		resolved := map[spec.StateKeyTuple]string{}
		for _, k := range sortedTuples(conflicts) {
			if !inStage(k) {
				continue
			}
			id, err := r.resolveAuthConflictV1(R, k, conflicts[k])
			if err != nil {
				return nil, err
			}
			resolved[k] = id
			delete(conflicts, k)
		}
		for k, id := range resolved {
			R[k] = id
		}
	}
	resolved := map[spec.StateKeyTuple]string{}
	for _, k := range sortedTuples(conflicts) {
		id, err := r.resolveOtherConflictV1(R, conflicts[k])
		if err != nil {
			return nil, err
		}
		resolved[k] = id
	}
	for k, id := range resolved {
		R[k] = id
	}
	return R, nil
}

// resolveAuthConflictV1 resolves the conflict for key k among events ids:
// sorted by ascending depth then descending sha1(event_id), the first is
// taken, then each next one replaces it while the rules allow it in R.
func (r *resolver) resolveAuthConflictV1(R StateMap, k spec.StateKeyTuple, ids []string) (string, error) {
	sorted := r.sortV1(ids)
	cand := sorted[0]
	for _, id := range sorted[1:] {
		ok, err := r.allowedV1(R, k, cand, r.event(id))
		if err != nil {
			return "", err
		}
		if !ok {
			break
		}
		cand = id
	}
	return cand, nil
}

// resolveOtherConflictV1 picks, among events ids, the one with the highest
// depth and then the lowest sha1(event_id) that the rules allow in R.
func (r *resolver) resolveOtherConflictV1(R StateMap, ids []string) (string, error) {
	sorted := r.sortV1(ids)
	for i := len(sorted) - 1; i >= 0; i-- {
		ok, err := r.allowedV1(R, spec.StateKeyTuple{}, "", r.event(sorted[i]))
		if err != nil {
			return "", err
		}
		if ok {
			return sorted[i], nil
		}
	}
	return sorted[0], nil
}

// sortV1 sorts events by ascending depth, then descending sha1(event_id).
func (r *resolver) sortV1(ids []string) []string {
	type keyed struct {
		id    string
		depth int64
		sum   [sha1.Size]byte
	}
	ks := make([]keyed, len(ids))
	for i, id := range ids {
		ks[i] = keyed{id: id, depth: r.event(id).Depth(), sum: sha1.Sum([]byte(id))}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if a.depth != b.depth {
			if a.depth < b.depth {
				return -1
			}
			return 1
		}
		return -bytes.Compare(a.sum[:], b.sum[:])
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.id
	}
	return out
}

// allowedV1 runs the authorization rules for ev in state R, with key k
// (when cand is not empty) set to cand.
func (r *resolver) allowedV1(R StateMap, k spec.StateKeyTuple, cand string, ev *pdu.Event) (bool, error) {
	for {
		st := v1State{r: r, R: R, key: k, cand: cand}
		ok := r.steps.rules(ev, &st)
		if len(st.missing) == 0 {
			return ok, nil
		}
		if err := r.load(st.missing); err != nil {
			return false, fmt.Errorf("state for event %s: %w", ev.EventID(), err)
		}
	}
}

// prefetchV1 loads the events of R that checking events may read.
func (r *resolver) prefetchV1(R StateMap, events []string) error {
	var want []string
	add := func(k spec.StateKeyTuple) {
		if id, ok := R[k]; ok {
			want = append(want, id)
		}
	}
	add(spec.StateKeyTuple{Type: spec.MRoomCreate})
	add(spec.StateKeyTuple{Type: spec.MRoomPowerLevels})
	add(spec.StateKeyTuple{Type: spec.MRoomJoinRules})
	for _, id := range events {
		ev := r.event(id)
		keys, err := pdu.AuthEventTypes(r.v, ev.Type(), ev.StateKey(), ev.Sender(), ev.Content())
		if err != nil {
			continue
		}
		for _, k := range keys {
			add(k)
		}
	}
	return r.load(want)
}

// v1State is the eventauth.StateProvider for a check in state R with key
// set to cand. It records the events it lacks, like checkState.
type v1State struct {
	r       *resolver
	R       StateMap
	key     spec.StateKeyTuple
	cand    string
	missing []string
}

// StateEvent implements eventauth.StateProvider.
func (s *v1State) StateEvent(eventType, stateKey string) *pdu.Event {
	k := spec.StateKeyTuple{Type: eventType, StateKey: stateKey}
	id, ok := s.R[k]
	if s.cand != "" && k == s.key {
		id, ok = s.cand, true
	}
	if !ok {
		return nil
	}
	ev := s.r.event(id)
	if ev == nil {
		s.missing = append(s.missing, id)
	}
	return ev
}

func sortedTuples[V any](m map[spec.StateKeyTuple]V) []spec.StateKeyTuple {
	out := make([]spec.StateKeyTuple, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, compareTuples)
	return out
}

func compareTuples(a, b spec.StateKeyTuple) int {
	if a.Type != b.Type {
		if a.Type < b.Type {
			return -1
		}
		return 1
	}
	if a.StateKey < b.StateKey {
		return -1
	}
	if a.StateKey > b.StateKey {
		return 1
	}
	return 0
}
