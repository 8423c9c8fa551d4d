package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"myelin/internal/store"
)

var _ store.Sync = (*DB)(nil)

// rangeChunk bounds the ranges of one RangeEvents query (4 parameters each).
const rangeChunk = 100

// StreamPositions implements store.Sync.
func (db *DB) StreamPositions(ctx context.Context) (map[string]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT stream, pos FROM stream_positions`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading stream positions: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			return nil, fmt.Errorf("sqlstore: reading stream positions: %w", err)
		}
		out[name] = pos
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading stream positions: %w", err)
	}
	return out, nil
}

// RangeEvents implements store.Sync. Each range becomes one limited
// subquery on the (room_nid, stream_pos) index; the subqueries of up to
// rangeChunk ranges are joined with UNION ALL into one query.
func (db *DB) RangeEvents(ctx context.Context, ranges []store.EventRange, forward bool) ([]store.Event, error) {
	order := "DESC"
	if forward {
		order = "ASC"
	}
	var out []store.Event
	for start := 0; start < len(ranges); start += rangeChunk {
		chunk := ranges[start:min(start+rangeChunk, len(ranges))]
		var sub strings.Builder
		var args []any
		for _, r := range chunk {
			if r.Limit <= 0 || r.UpTo <= r.After {
				continue
			}
			if len(args) > 0 {
				sub.WriteString(" UNION ALL ")
			}
			n := len(args)
			fmt.Fprintf(&sub, `SELECT event_nid FROM (SELECT event_nid FROM events WHERE room_nid = $%d
				AND stream_pos > $%d AND stream_pos <= $%d ORDER BY stream_pos %s LIMIT $%d) r%d`,
				n+1, n+2, n+3, order, n+4, n)
			args = append(args, r.RoomNID, r.After, r.UpTo, int64(r.Limit))
		}
		if len(args) == 0 {
			continue
		}
		evs, err := scanEvents(db.read.QueryContext(ctx, `SELECT `+eventColumns+eventJoins+
			` WHERE e.event_nid IN (`+sub.String()+`) ORDER BY e.stream_pos `+order, args...))
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	if len(ranges) > rangeChunk {
		// Chunks are each ordered; restore one order over all of them.
		sortByPos(out, forward)
	}
	return out, nil
}

func sortByPos(evs []store.Event, ascending bool) {
	slices.SortFunc(evs, func(a, b store.Event) int {
		if ascending {
			return cmp.Compare(a.Pos, b.Pos)
		}
		return cmp.Compare(b.Pos, a.Pos)
	})
}

// Snapshots implements store.Rooms: one recursive query collects the base
// chains of all the snapshots, which are then applied in memory.
func (db *DB) Snapshots(ctx context.Context, nids []int64) (map[int64]store.StateMap, error) {
	out := make(map[int64]store.StateMap, len(nids))
	var want []int64
	for _, n := range nids {
		if n == 0 {
			out[0] = store.StateMap{}
		} else if _, dup := out[n]; !dup {
			out[n] = nil
			want = append(want, n)
		}
	}
	rowsByNID := map[int64]snapshotRow{}
	for start := 0; start < len(want); start += 500 {
		chunk := want[start:min(start+500, len(want))]
		rows, err := db.read.QueryContext(ctx, `WITH RECURSIVE chain (snapshot_nid, seq, base_nid, entries) AS (
				SELECT snapshot_nid, seq, base_nid, entries FROM state_snapshots WHERE snapshot_nid IN (`+roomsParams(1, len(chunk))+`)
				UNION
				SELECT s.snapshot_nid, s.seq, s.base_nid, s.entries FROM state_snapshots s JOIN chain c ON s.snapshot_nid = c.base_nid
			) SELECT snapshot_nid, seq, base_nid, entries FROM chain`, int64Args(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading snapshots: %w", err)
		}
		for rows.Next() {
			var r snapshotRow
			if err := rows.Scan(&r.nid, &r.seq, &r.base, &r.entries); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading snapshots: %w", err)
			}
			rowsByNID[r.nid] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: reading snapshots: %w", err)
		}
	}
	for _, n := range want {
		var chain []snapshotRow
		for cur := n; cur != 0; {
			r, ok := rowsByNID[cur]
			if !ok {
				if cur == n {
					delete(out, n) // absent snapshot
					chain = nil
					break
				}
				return nil, fmt.Errorf("sqlstore: snapshot %d has a broken base chain", n)
			}
			chain = append(chain, r)
			if len(chain) > 64 {
				return nil, fmt.Errorf("sqlstore: snapshot %d has a base cycle", n)
			}
			cur = r.base
		}
		if chain == nil {
			continue
		}
		for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
			chain[i], chain[j] = chain[j], chain[i]
		}
		m, err := applyChain(chain)
		if err != nil {
			return nil, err
		}
		out[n] = m
	}
	return out, nil
}

// RoomSummaries implements store.Sync with two queries: the member counts,
// and the heroes ranked by a window function.
func (db *DB) RoomSummaries(ctx context.Context, roomNIDs []int64, userID string) ([]store.RoomSummary, error) {
	byRoom := map[int64]*store.RoomSummary{}
	var order []int64
	for _, r := range roomNIDs {
		if byRoom[r] == nil {
			byRoom[r] = &store.RoomSummary{RoomNID: r}
			order = append(order, r)
		}
	}
	for start := 0; start < len(order); start += 500 {
		chunk := order[start:min(start+500, len(order))]
		rows, err := db.read.QueryContext(ctx, `SELECT room_nid, membership, COUNT(*) FROM room_memberships
			WHERE room_nid IN (`+roomsParams(1, len(chunk))+`) AND membership IN ('join', 'invite')
			GROUP BY room_nid, membership`, int64Args(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: counting members: %w", err)
		}
		for rows.Next() {
			var room int64
			var m string
			var n int
			if err := rows.Scan(&room, &m, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: counting members: %w", err)
			}
			if m == "join" {
				byRoom[room].Joined = n
			} else {
				byRoom[room].Invited = n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: counting members: %w", err)
		}

		args := append([]any{userID}, int64Args(chunk)...)
		rows, err = db.read.QueryContext(ctx, `SELECT room_nid, user_id, cls FROM (
				SELECT m.room_nid, m.user_id, CASE WHEN m.membership IN ('join', 'invite') THEN 0 ELSE 1 END AS cls,
					ROW_NUMBER() OVER (PARTITION BY m.room_nid, CASE WHEN m.membership IN ('join', 'invite') THEN 0 ELSE 1 END
						ORDER BY COALESCE(e.stream_pos, 0), m.user_id) AS rn
				FROM room_memberships m JOIN events e ON e.event_nid = m.event_nid
				WHERE m.room_nid IN (`+roomsParams(2, len(chunk))+`) AND m.user_id <> $1
					AND m.membership IN ('join', 'invite', 'leave', 'ban')
			) h WHERE rn <= 5 ORDER BY room_nid, cls, rn`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading heroes: %w", err)
		}
		hasCurrent := map[int64]bool{}
		for rows.Next() {
			var room int64
			var user string
			var cls int
			if err := rows.Scan(&room, &user, &cls); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading heroes: %w", err)
			}
			s := byRoom[room]
			switch {
			case cls == 0:
				hasCurrent[room] = true
				s.Heroes = append(s.Heroes, user)
			case !hasCurrent[room]:
				s.Heroes = append(s.Heroes, user)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: reading heroes: %w", err)
		}
	}
	out := make([]store.RoomSummary, 0, len(order))
	for _, r := range order {
		out = append(out, *byRoom[r])
	}
	return out, nil
}

// SharedRoomUsers implements store.Sync.
func (db *DB) SharedRoomUsers(ctx context.Context, userID string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT o.user_id FROM room_memberships m
		JOIN room_memberships o ON o.room_nid = m.room_nid
		WHERE m.user_id = $1 AND m.membership = 'join' AND o.membership = 'join'`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading users sharing rooms: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("sqlstore: reading users sharing rooms: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// EventsByTimestamp implements store.Sync.
func (db *DB) EventsByTimestamp(ctx context.Context, roomNID, ts, upTo int64, forward bool, limit int) ([]store.Event, error) {
	cond, order := `e.origin_ts >= $2`, `ASC`
	if !forward {
		cond, order = `e.origin_ts <= $2`, `DESC`
	}
	return scanEvents(db.read.QueryContext(ctx, `SELECT `+eventColumns+eventJoins+
		` WHERE e.room_nid = $1 AND `+cond+` AND e.stream_pos IS NOT NULL AND e.stream_pos <= $3
		ORDER BY e.origin_ts `+order+`, e.stream_pos `+order+` LIMIT $4`, roomNID, ts, upTo, int64(limit)))
}
