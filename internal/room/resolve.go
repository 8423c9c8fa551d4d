package room

import (
	"fmt"
	"maps"
	"slices"

	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/stateres"
	"myelin/internal/store"
)

// resolve returns the resolution of the states of the given snapshots as a
// snapshot (stored, and memoized by the set of inputs) and its state.
func (w *writer) resolve(snaps []int64) (int64, store.StateMap, error) {
	inputs := slices.Clone(snaps)
	slices.Sort(inputs)
	inputs = slices.Compact(inputs)
	if len(inputs) == 1 {
		m, err := w.snapshot(inputs[0])
		return inputs[0], m, err
	}
	if nid, ok, err := w.sw.Resolution(w.ctx, inputs); err != nil {
		return 0, nil, err
	} else if ok {
		m, err := w.snapshot(nid)
		return nid, m, err
	}

	states := make([]store.StateMap, len(inputs))
	keySet, evSet := map[int64]bool{}, map[int64]bool{}
	for i, in := range inputs {
		m, err := w.snapshot(in)
		if err != nil {
			return 0, nil, err
		}
		states[i] = m
		for k, ev := range m {
			keySet[k] = true
			evSet[ev] = true
		}
	}
	tuples, err := w.tuples(slices.Collect(maps.Keys(keySet)))
	if err != nil {
		return 0, nil, err
	}
	evs, err := w.events(slices.Collect(maps.Keys(evSet)))
	if err != nil {
		return 0, nil, err
	}
	idToNID := make(map[string]int64, len(evs))
	for nid, ev := range evs {
		idToNID[ev.EventID()] = nid
	}
	in := make([]stateres.StateMap, len(states))
	for i, m := range states {
		sm := make(stateres.StateMap, len(m))
		for k, ev := range m {
			e := evs[ev]
			if e == nil {
				return 0, nil, fmt.Errorf("state event %d is missing", ev)
			}
			sm[tuples[k]] = e.EventID()
		}
		in[i] = sm
	}
	src := &writerSource{w: w}
	out, err := stateres.Resolve(w.room.Version, in, src)
	if err != nil {
		return 0, nil, fmt.Errorf("resolving state of room %s: %w", w.room.ID, err)
	}
	result := make(store.StateMap, len(out))
	tupleNIDs := make(map[spec.StateKeyTuple]int64, len(tuples))
	for k, t := range tuples {
		tupleNIDs[t] = k
	}
	for t, id := range out {
		ev, ok := idToNID[id]
		if !ok {
			ev, ok = src.nids[id]
		}
		if !ok {
			return 0, nil, fmt.Errorf("resolved state names unknown event %s", id)
		}
		k, ok := tupleNIDs[t]
		if !ok {
			nids, err := w.keyNIDs([]spec.StateKeyTuple{t})
			if err != nil {
				return 0, nil, err
			}
			k = nids[0]
		}
		result[k] = ev
	}

	// Store the result as a delta over the input closest to it.
	best, bestDiff := 0, -1
	for i, m := range states {
		d := store.StateMap{}
		diffInto(d, m, result)
		if bestDiff < 0 || len(d) < bestDiff {
			best, bestDiff = i, len(d)
		}
	}
	changes := store.StateMap{}
	diffInto(changes, states[best], result)
	nid, err := w.newSnapshot(inputs[best], states[best], changes)
	if err != nil {
		return 0, nil, err
	}
	if err := w.sw.SaveResolution(w.ctx, inputs, nid); err != nil {
		return 0, nil, err
	}
	return nid, result, nil
}

// tuples resolves state key NIDs: those interned in this transaction from
// the writer, the others (committed, and never modified) through the
// engine's cache.
func (w *writer) tuples(nids []int64) (map[int64]spec.StateKeyTuple, error) {
	mine := make(map[int64]spec.StateKeyTuple, len(w.newKeys))
	for t, k := range w.newKeys {
		mine[k] = t
	}
	var committed []int64
	for _, n := range nids {
		if _, ok := mine[n]; !ok {
			committed = append(committed, n)
		}
	}
	out, err := w.e.stateKeys(w.ctx, committed, w.e.store.StateKeys)
	if err != nil {
		return nil, err
	}
	for _, n := range nids {
		if t, ok := mine[n]; ok {
			out[n] = t
		}
	}
	return out, nil
}

// writerSource gives state resolution the room's events, read inside the
// write transaction.
type writerSource struct {
	w    *writer
	nids map[string]int64
}

// Events implements stateres.EventSource.
func (s *writerSource) Events(ids []string) (map[string]*pdu.Event, error) {
	out := make(map[string]*pdu.Event, len(ids))
	var missing []string
	for _, id := range ids {
		if nid, ok := s.w.byID[id]; ok {
			out[id] = s.w.newEvents[nid]
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	stored, err := s.w.sw.EventsByID(s.w.ctx, missing)
	if err != nil {
		return nil, err
	}
	if s.nids == nil {
		s.nids = map[string]int64{}
	}
	var inRoom []store.Event
	for _, se := range stored {
		if se.RoomNID == s.w.room.NID {
			inRoom = append(inRoom, se)
			s.nids[se.ID] = se.NID
		}
	}
	parsed, err := s.w.e.parseEvents(s.w.room.Version, inRoom)
	if err != nil {
		return nil, err
	}
	for _, ev := range parsed {
		out[ev.EventID()] = ev
	}
	return out, nil
}
