package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// State snapshots are stored as skip deltas. Every snapshot has a sequence
// number seq: one more than that of the snapshot it was derived from (its
// parent), the empty state having seq 0. Its row stores the difference from
// its base: the ancestor, along the chain of parents, whose seq is
// seq - lowbit(seq) (seq with its lowest set bit cleared). The base of an
// odd seq is therefore the parent itself (a delta of the few keys the event
// changed), the base of seq 8 the empty state (a full snapshot), and so on.
//
// Reading a snapshot follows base links: at most popcount(seq) <= 63 rows,
// fetched by one recursive query. Each change is stored in about log2(seq)/2
// rows, so storage grows as O(changes * log(changes)), not O(changes * room
// size) as with full snapshots or periodic full copies, and with no full
// copies to write even in rooms with a large state.
//
// The ancestor at seq - lowbit(seq) is always among the parent's own base
// links (clearing the lowest bits of seq-1 one at a time passes through
// it), so writing a snapshot needs only the parent's chain.
//
// An entries blob is a varint count followed by (key NID delta, event NID)
// varint pairs in ascending key order; event NID 0 marks a key removed from
// the base.

// roomsQuerier is what both *sql.DB and *sql.Tx offer.
type roomsQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func encodeEntries(m store.StateMap) []byte {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := binary.AppendUvarint(make([]byte, 0, 1+len(keys)*5), uint64(len(keys)))
	prev := int64(0)
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(k-prev))
		b = binary.AppendUvarint(b, uint64(m[k]))
		prev = k
	}
	return b
}

func decodeEntries(b []byte, fn func(key, event int64)) error {
	n, w := binary.Uvarint(b)
	if w <= 0 {
		return errors.New("sqlstore: corrupt snapshot entries")
	}
	b = b[w:]
	key := int64(0)
	for i := uint64(0); i < n; i++ {
		d, w1 := binary.Uvarint(b)
		if w1 <= 0 {
			return errors.New("sqlstore: corrupt snapshot entries")
		}
		ev, w2 := binary.Uvarint(b[w1:])
		if w2 <= 0 {
			return errors.New("sqlstore: corrupt snapshot entries")
		}
		b = b[w1+w2:]
		key += int64(d)
		fn(key, int64(ev))
	}
	return nil
}

type snapshotRow struct {
	nid, seq, base int64
	entries        []byte
}

// snapshotChain returns the rows needed to read snapshot nid, in ascending
// seq order (the first is based on the empty state, the last is nid).
func snapshotChain(ctx context.Context, q roomsQuerier, nid int64) ([]snapshotRow, error) {
	rows, err := q.QueryContext(ctx, `WITH RECURSIVE chain (snapshot_nid, seq, base_nid, entries) AS (
			SELECT snapshot_nid, seq, base_nid, entries FROM state_snapshots WHERE snapshot_nid = $1
			UNION ALL
			SELECT s.snapshot_nid, s.seq, s.base_nid, s.entries FROM state_snapshots s JOIN chain c ON s.snapshot_nid = c.base_nid
		) SELECT snapshot_nid, seq, base_nid, entries FROM chain ORDER BY seq`, nid)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading snapshot %d: %w", nid, err)
	}
	defer rows.Close()
	var out []snapshotRow
	for rows.Next() {
		var r snapshotRow
		if err := rows.Scan(&r.nid, &r.seq, &r.base, &r.entries); err != nil {
			return nil, fmt.Errorf("sqlstore: reading snapshot %d: %w", nid, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading snapshot %d: %w", nid, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("snapshot %d: %w", nid, store.ErrNotFound)
	}
	if out[0].base != 0 || out[len(out)-1].nid != nid {
		return nil, fmt.Errorf("sqlstore: snapshot %d has a broken base chain", nid)
	}
	return out, nil
}

// applyChain builds the state of the last row of chain.
func applyChain(chain []snapshotRow) (store.StateMap, error) {
	m := store.StateMap{}
	for _, r := range chain {
		err := decodeEntries(r.entries, func(k, ev int64) {
			if ev == 0 {
				delete(m, k)
			} else {
				m[k] = ev
			}
		})
		if err != nil {
			return nil, fmt.Errorf("snapshot %d: %w", r.nid, err)
		}
	}
	return m, nil
}

func readSnapshot(ctx context.Context, q roomsQuerier, nid int64) (store.StateMap, error) {
	if nid == 0 {
		return store.StateMap{}, nil
	}
	chain, err := snapshotChain(ctx, q, nid)
	if err != nil {
		return nil, err
	}
	return applyChain(chain)
}

// Snapshot implements store.Rooms.
func (db *DB) Snapshot(ctx context.Context, nid int64) (store.StateMap, error) {
	return readSnapshot(ctx, db.read, nid)
}

// newSnapshot stores the state base+changes, derived from snapshot parent
// (whose state base must be), and returns its NID.
func newSnapshot(ctx context.Context, q roomsQuerier, roomNID, parent int64, base, changes store.StateMap) (int64, error) {
	var parentSeq int64
	if parent != 0 {
		if err := q.QueryRowContext(ctx, `SELECT seq FROM state_snapshots WHERE snapshot_nid = $1`, parent).Scan(&parentSeq); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("parent snapshot %d: %w", parent, store.ErrNotFound)
			}
			return 0, fmt.Errorf("sqlstore: reading snapshot %d: %w", parent, err)
		}
	}
	seq := parentSeq + 1
	target := seq & (seq - 1) // seq - lowbit(seq)

	size := len(base)
	for k, ev := range changes {
		_, had := base[k]
		switch {
		case ev == 0 && had:
			size--
		case ev != 0 && !had:
			size++
		}
	}

	var baseNID int64
	var delta store.StateMap
	if target == parentSeq {
		// The base is the parent: the delta is the changes, minus no-ops.
		baseNID = parent
		delta = make(store.StateMap, len(changes))
		for k, ev := range changes {
			old, had := base[k]
			if (ev == 0 && !had) || (ev != 0 && had && old == ev) {
				continue
			}
			delta[k] = ev
		}
	} else {
		var targetState store.StateMap
		if target == 0 {
			targetState = store.StateMap{}
		} else {
			chain, err := snapshotChain(ctx, q, parent)
			if err != nil {
				return 0, err
			}
			i := slices.IndexFunc(chain, func(r snapshotRow) bool { return r.seq == target })
			if i < 0 {
				return 0, fmt.Errorf("sqlstore: snapshot %d has no ancestor at seq %d", parent, target)
			}
			baseNID = chain[i].nid
			if targetState, err = applyChain(chain[:i+1]); err != nil {
				return 0, err
			}
		}
		delta = diffStates(targetState, base, changes)
	}
	var nid int64
	err := q.QueryRowContext(ctx,
		`INSERT INTO state_snapshots (room_nid, seq, base_nid, size, entries) VALUES ($1, $2, $3, $4, $5) RETURNING snapshot_nid`,
		roomNID, seq, baseNID, size, encodeEntries(delta)).Scan(&nid)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: storing snapshot: %w", err)
	}
	return nid, nil
}

// diffStates returns the delta that turns from into base+changes.
func diffStates(from, base, changes store.StateMap) store.StateMap {
	get := func(k int64) int64 {
		if ev, ok := changes[k]; ok {
			return ev
		}
		return base[k]
	}
	delta := store.StateMap{}
	for k, ev := range from {
		if get(k) == 0 {
			delta[k] = 0
		} else if now := get(k); now != ev {
			delta[k] = now
		}
	}
	add := func(k int64) {
		if _, seen := from[k]; !seen {
			if ev := get(k); ev != 0 {
				delta[k] = ev
			}
		}
	}
	for k := range base {
		add(k)
	}
	for k := range changes {
		add(k)
	}
	return delta
}

func encodeNIDs(nids []int64) []byte {
	var b []byte
	for _, n := range nids {
		b = binary.AppendUvarint(b, uint64(n))
	}
	return b
}

func resolution(ctx context.Context, q roomsQuerier, roomNID int64, inputs []int64) (int64, bool, error) {
	var nid int64
	err := q.QueryRowContext(ctx, `SELECT result_nid FROM state_resolutions WHERE room_nid = $1 AND inputs = $2`,
		roomNID, encodeNIDs(inputs)).Scan(&nid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("sqlstore: reading state resolution: %w", err)
	}
	return nid, true, nil
}

func saveResolution(ctx context.Context, q roomsQuerier, roomNID int64, inputs []int64, result int64) error {
	_, err := q.ExecContext(ctx, `INSERT INTO state_resolutions (room_nid, inputs, result_nid) VALUES ($1, $2, $3)
		ON CONFLICT (room_nid, inputs) DO NOTHING`, roomNID, encodeNIDs(inputs), result)
	if err != nil {
		return fmt.Errorf("sqlstore: storing state resolution: %w", err)
	}
	return nil
}

// stateKeyNIDs looks up interned state keys.
func stateKeyNIDs(ctx context.Context, q roomsQuerier, keys []spec.StateKeyTuple) (map[spec.StateKeyTuple]int64, error) {
	out := make(map[spec.StateKeyTuple]int64, len(keys))
	for start := 0; start < len(keys); start += 200 {
		chunk := keys[start:min(start+200, len(keys))]
		var cond strings.Builder
		args := make([]any, 0, 2*len(chunk))
		for i, k := range chunk {
			if i > 0 {
				cond.WriteString(" OR ")
			}
			fmt.Fprintf(&cond, "(event_type = $%d AND state_key = $%d)", 2*i+1, 2*i+2)
			args = append(args, k.Type, k.StateKey)
		}
		rows, err := q.QueryContext(ctx, `SELECT state_key_nid, event_type, state_key FROM state_keys WHERE `+cond.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading state keys: %w", err)
		}
		for rows.Next() {
			var nid int64
			var k spec.StateKeyTuple
			if err := rows.Scan(&nid, &k.Type, &k.StateKey); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading state keys: %w", err)
			}
			out[k] = nid
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: reading state keys: %w", err)
		}
	}
	return out, nil
}

// StateKeyNIDs implements store.Rooms.
func (db *DB) StateKeyNIDs(ctx context.Context, keys []spec.StateKeyTuple) (map[spec.StateKeyTuple]int64, error) {
	return stateKeyNIDs(ctx, db.read, keys)
}

func internStateKeys(ctx context.Context, q roomsQuerier, keys []spec.StateKeyTuple) ([]int64, error) {
	known, err := stateKeyNIDs(ctx, q, keys)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(keys))
	for i, k := range keys {
		if nid, ok := known[k]; ok {
			out[i] = nid
			continue
		}
		var nid int64
		err := q.QueryRowContext(ctx, `INSERT INTO state_keys (event_type, state_key) VALUES ($1, $2)
			ON CONFLICT (event_type, state_key) DO UPDATE SET event_type = excluded.event_type
			RETURNING state_key_nid`, k.Type, k.StateKey).Scan(&nid)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: interning state key: %w", err)
		}
		known[k] = nid
		out[i] = nid
	}
	return out, nil
}

// StateKeys implements store.Rooms.
func (db *DB) StateKeys(ctx context.Context, nids []int64) ([]store.StateKey, error) {
	var out []store.StateKey
	for start := 0; start < len(nids); start += 500 {
		chunk := nids[start:min(start+500, len(nids))]
		rows, err := db.read.QueryContext(ctx, `SELECT state_key_nid, event_type, state_key FROM state_keys WHERE state_key_nid IN (`+
			roomsParams(1, len(chunk))+`)`, int64Args(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading state keys: %w", err)
		}
		for rows.Next() {
			var k store.StateKey
			if err := rows.Scan(&k.NID, &k.Type, &k.StateKey); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading state keys: %w", err)
			}
			out = append(out, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: reading state keys: %w", err)
		}
	}
	return out, nil
}

// CurrentState implements store.Rooms.
func (db *DB) CurrentState(ctx context.Context, roomNID int64, types []string) ([]store.StateEntry, error) {
	query := `SELECT c.state_key_nid, k.event_type, k.state_key, c.event_nid FROM room_current_state c
		JOIN state_keys k ON k.state_key_nid = c.state_key_nid WHERE c.room_nid = $1`
	args := []any{roomNID}
	if len(types) > 0 {
		query += ` AND k.event_type IN (` + roomsParams(2, len(types)) + `)`
		for _, t := range types {
			args = append(args, t)
		}
	}
	rows, err := db.read.QueryContext(ctx, query+` ORDER BY c.state_key_nid`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading current state: %w", err)
	}
	defer rows.Close()
	var out []store.StateEntry
	for rows.Next() {
		var e store.StateEntry
		if err := rows.Scan(&e.NID, &e.Type, &e.StateKey.StateKey, &e.EventNID); err != nil {
			return nil, fmt.Errorf("sqlstore: reading current state: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// setCurrentState applies changes to a room's materialized current state
// and memberships, and records snapshot as its current state.
func setCurrentState(ctx context.Context, q roomsQuerier, roomNID, snapshot int64, changes store.StateMap) error {
	var set, removed []int64
	for k, ev := range changes {
		if ev == 0 {
			removed = append(removed, k)
		} else {
			set = append(set, ev)
			if _, err := q.ExecContext(ctx, `INSERT INTO room_current_state (room_nid, state_key_nid, event_nid) VALUES ($1, $2, $3)
				ON CONFLICT (room_nid, state_key_nid) DO UPDATE SET event_nid = excluded.event_nid`, roomNID, k, ev); err != nil {
				return fmt.Errorf("sqlstore: updating current state: %w", err)
			}
		}
	}
	if len(removed) > 0 {
		args := append([]any{roomNID}, int64Args(removed)...)
		if _, err := q.ExecContext(ctx, `DELETE FROM room_memberships WHERE room_nid = $1 AND user_id IN (
				SELECT state_key FROM state_keys WHERE event_type = 'm.room.member' AND state_key_nid IN (`+roomsParams(2, len(removed))+`))`,
			args...); err != nil {
			return fmt.Errorf("sqlstore: updating memberships: %w", err)
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM room_current_state WHERE room_nid = $1 AND state_key_nid IN (`+
			roomsParams(2, len(removed))+`)`, args...); err != nil {
			return fmt.Errorf("sqlstore: updating current state: %w", err)
		}
	}
	if len(set) > 0 {
		// Forgetting lasts until the user joins, is invited or knocks again.
		if _, err := q.ExecContext(ctx, `INSERT INTO room_memberships (room_nid, user_id, membership, event_nid, forgotten)
			SELECT e.room_nid, k.state_key, e.membership, e.event_nid, FALSE FROM events e
			JOIN state_keys k ON k.state_key_nid = e.state_key_nid
			WHERE k.event_type = 'm.room.member' AND e.membership IS NOT NULL AND e.event_nid IN (`+roomsParams(1, len(set))+`)
			ON CONFLICT (room_nid, user_id) DO UPDATE SET membership = excluded.membership, event_nid = excluded.event_nid,
				forgotten = CASE WHEN excluded.membership IN ('join', 'invite', 'knock') THEN FALSE ELSE room_memberships.forgotten END`,
			int64Args(set)...); err != nil {
			return fmt.Errorf("sqlstore: updating memberships: %w", err)
		}
	}
	if _, err := q.ExecContext(ctx, `UPDATE rooms SET snapshot_nid = $1 WHERE room_nid = $2`, snapshot, roomNID); err != nil {
		return fmt.Errorf("sqlstore: updating room snapshot: %w", err)
	}
	return nil
}

// roomsParams returns "$first, ..., $(first+n-1)".
func roomsParams(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", first+i)
	}
	return b.String()
}

func int64Args(v []int64) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}
