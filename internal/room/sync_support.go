package room

import (
	"context"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// The engine's caches of decoded snapshots and interned state keys serve the
// readers of rooms too (package sync), so that one process keeps one copy.

// Snapshots returns the states of snapshots (0 is the empty state) through
// the engine's cache, reading the missing ones together. The maps must not
// be modified. A snapshot that does not exist is an error wrapping
// store.ErrNotFound.
func (e *Engine) Snapshots(ctx context.Context, nids []int64) (map[int64]store.StateMap, error) {
	return e.snapshotsOf(ctx, nids)
}

// StateKeys resolves interned state key NIDs to (type, state_key) pairs
// through the engine's cache.
func (e *Engine) StateKeys(ctx context.Context, nids []int64) (map[int64]spec.StateKeyTuple, error) {
	return e.stateKeys(ctx, nids, e.store.StateKeys)
}

// StateKeyNIDs looks up the NIDs of interned state keys through the
// engine's cache; keys never interned are absent from the result.
func (e *Engine) StateKeyNIDs(ctx context.Context, tuples []spec.StateKeyTuple) (map[spec.StateKeyTuple]int64, error) {
	return e.keyNIDsOf(ctx, tuples)
}
