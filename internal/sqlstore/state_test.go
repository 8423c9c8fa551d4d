package sqlstore

import (
	"context"
	"maps"
	"math/rand/v2"
	"testing"

	"myelin/internal/store"
	"myelin/internal/testkit/testdb"
)

// TestSnapshotStorage measures the skip-delta layout on a room with a large
// state: 1000 members, then 2000 single-key state changes. It checks the
// budget of design-notes/state-and-streams.md (at most 1/10 of storing a
// full snapshot per state change) and logs the bytes per change.
func TestSnapshotStorage(t *testing.T) {
	e := testdb.Engines(t)[0] // the layout is the same on both engines
	db := openTest(t, e)
	ctx := context.Background()
	const members, changes = 1000, 2000
	rng := rand.New(rand.NewPCG(1, 2))
	var last int64
	state := store.StateMap{}
	_, _, err := db.CreateRoom(ctx, store.Room{ID: "!big:test", Version: "10"}, func(w store.RoomWriter) error {
		initial := store.StateMap{}
		for k := int64(1); k <= members; k++ {
			initial[k] = 100000 + k
		}
		var err error
		if last, err = w.NewSnapshot(ctx, 0, state, initial); err != nil {
			return err
		}
		state = maps.Clone(initial)
		ev := int64(200000)
		for i := 0; i < changes; i++ {
			ev++
			change := store.StateMap{int64(1 + rng.IntN(members+50)): ev}
			next, err := w.NewSnapshot(ctx, last, state, change)
			if err != nil {
				return err
			}
			for k, v := range change {
				state[k] = v
			}
			last = next
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Snapshot(ctx, last)
	if err != nil || !maps.Equal(got, state) {
		t.Fatalf("last snapshot differs (%v)", err)
	}
	var rows, bytes int64
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*), SUM(LENGTH(entries)) FROM state_snapshots`).Scan(&rows, &bytes); err != nil {
		t.Fatal(err)
	}
	full := int64(len(encodeEntries(state))) * changes
	chain, err := snapshotChain(ctx, db.read, last)
	if err != nil {
		t.Fatal(err)
	}
	perChange := float64(bytes-int64(len(encodeEntries(store.StateMap{}))))/changes - float64(len(encodeEntries(state)))/changes
	t.Logf("%d snapshots, %d bytes of entries (%.1f bytes per change beyond the initial state); full snapshots would take %d bytes (%.0fx more); reading the last one takes %d rows",
		rows, bytes, perChange, full, float64(full)/float64(bytes), len(chain))
	if bytes*10 > full {
		t.Fatalf("skip deltas take %d bytes, more than 1/10 of full snapshots (%d)", bytes, full)
	}
	if len(chain) > 12 {
		t.Fatalf("reading a snapshot takes %d rows", len(chain))
	}
}
