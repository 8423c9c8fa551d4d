package sync

import (
	"context"
	"fmt"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// snapshotMaps returns the state of each snapshot through the cache, reading
// the missing ones in one call. The maps must not be modified.
func (s *Service) snapshotMaps(ctx context.Context, nids []int64) (map[int64]store.StateMap, error) {
	out := make(map[int64]store.StateMap, len(nids))
	var missing []int64
	for _, n := range nids {
		if _, ok := out[n]; ok {
			continue
		}
		if n == 0 {
			out[0] = store.StateMap{}
		} else if m, ok := s.snapshots.get(n); ok {
			out[n] = m
		} else {
			out[n] = nil
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	read, err := s.d.Store.Snapshots(ctx, missing)
	if err != nil {
		return nil, err
	}
	for _, n := range missing {
		m, ok := read[n]
		if !ok {
			return nil, fmt.Errorf("sync: snapshot %d is missing", n)
		}
		s.snapshots.put(n, m)
		out[n] = m
	}
	return out, nil
}

// stateKeys resolves state key NIDs to tuples through the cache.
func (s *Service) stateKeys(ctx context.Context, nids []int64) (map[int64]spec.StateKeyTuple, error) {
	out := make(map[int64]spec.StateKeyTuple, len(nids))
	var missing []int64
	for _, n := range nids {
		if _, ok := out[n]; ok {
			continue
		}
		if t, ok := s.keys.get(n); ok {
			out[n] = t
		} else {
			out[n] = spec.StateKeyTuple{}
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	ks, err := s.d.Store.StateKeys(ctx, missing)
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		t := spec.StateKeyTuple{Type: k.Type, StateKey: k.StateKey}
		out[k.NID] = t
		s.keys.put(k.NID, t)
		s.keyNIDs.put(t, k.NID)
	}
	return out, nil
}

// keyNIDsOf looks up interned state keys through the cache; keys never
// interned are absent.
func (s *Service) keyNIDsOf(ctx context.Context, tuples []spec.StateKeyTuple) (map[spec.StateKeyTuple]int64, error) {
	out := make(map[spec.StateKeyTuple]int64, len(tuples))
	var missing []spec.StateKeyTuple
	for _, t := range tuples {
		if n, ok := s.keyNIDs.get(t); ok {
			out[t] = n
		} else {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	found, err := s.d.Store.StateKeyNIDs(ctx, missing)
	if err != nil {
		return nil, err
	}
	for t, n := range found {
		out[t] = n
		s.keyNIDs.put(t, n)
		s.keys.put(n, t)
	}
	return out, nil
}
