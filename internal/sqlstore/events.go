package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"myelin/internal/store"
)

// eventColumns are the columns scanEvents reads, from events e with its
// state key, its accepted redaction and its client transaction.
const eventColumns = `e.event_nid, e.event_id, e.room_nid, COALESCE(e.stream_pos, 0), e.depth, e.event_type,
	COALESCE(e.state_key_nid, 0), k.state_key, e.sender, e.origin_ts, COALESCE(e.membership, ''),
	e.state_before, e.state_after, COALESCE(e.replaces_nid, 0), e.json,
	COALESCE((SELECT re.event_id FROM redactions r JOIN events re ON re.event_nid = r.redaction_nid
		WHERE r.target_id = e.event_id AND r.room_nid = e.room_nid ORDER BY r.redaction_nid LIMIT 1), ''),
	COALESCE(t.device_id, ''), COALESCE(t.txn_id, '')`

const eventJoins = ` FROM events e
	LEFT JOIN state_keys k ON k.state_key_nid = e.state_key_nid
	LEFT JOIN client_txns t ON t.event_nid = e.event_nid`

func scanEvents(rows *sql.Rows, err error) ([]store.Event, error) {
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var stateKey sql.NullString
		if err := rows.Scan(&e.NID, &e.ID, &e.RoomNID, &e.Pos, &e.Depth, &e.Type, &e.StateKeyNID, &stateKey,
			&e.Sender, &e.OriginTS, &e.Membership, &e.StateBefore, &e.StateAfter, &e.Replaces, &e.JSON,
			&e.RedactedBy, &e.TxnDevice, &e.TxnID); err != nil {
			return nil, fmt.Errorf("sqlstore: reading events: %w", err)
		}
		if stateKey.Valid {
			sk := stateKey.String
			e.StateKey = &sk
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading events: %w", err)
	}
	return out, nil
}

func eventsByNID(ctx context.Context, q roomsQuerier, nids []int64) ([]store.Event, error) {
	var out []store.Event
	for start := 0; start < len(nids); start += 500 {
		chunk := nids[start:min(start+500, len(nids))]
		evs, err := scanEvents(q.QueryContext(ctx, `SELECT `+eventColumns+eventJoins+
			` WHERE e.event_nid IN (`+roomsParams(1, len(chunk))+`)`, int64Args(chunk)...))
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

func eventsByID(ctx context.Context, q roomsQuerier, ids []string) ([]store.Event, error) {
	var out []store.Event
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		evs, err := scanEvents(q.QueryContext(ctx, `SELECT `+eventColumns+eventJoins+
			` WHERE e.event_id IN (`+roomsParams(1, len(chunk))+`)`, args...))
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// Events implements store.Rooms.
func (db *DB) Events(ctx context.Context, nids []int64) ([]store.Event, error) {
	return eventsByNID(ctx, db.read, nids)
}

// EventsByID implements store.Rooms.
func (db *DB) EventsByID(ctx context.Context, ids []string) ([]store.Event, error) {
	return eventsByID(ctx, db.read, ids)
}

// RoomEvents implements store.Rooms. With a limit it runs two queries: one
// finding each room's cut-off position (an index range scan per room), one
// reading the events above them.
func (db *DB) RoomEvents(ctx context.Context, roomNIDs []int64, after, upTo int64, limit int) ([]store.Event, error) {
	if len(roomNIDs) == 0 {
		return nil, nil
	}
	floors := make(map[int64]int64, len(roomNIDs))
	for _, r := range roomNIDs {
		floors[r] = after
	}
	if limit > 0 {
		args := append([]any{after, upTo, limit - 1}, int64Args(roomNIDs)...)
		rows, err := db.read.QueryContext(ctx, `SELECT r.room_nid, (SELECT e.stream_pos FROM events e
				WHERE e.room_nid = r.room_nid AND e.stream_pos > $1 AND e.stream_pos <= $2
				ORDER BY e.stream_pos DESC LIMIT 1 OFFSET $3)
			FROM rooms r WHERE r.room_nid IN (`+roomsParams(4, len(roomNIDs))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading room events: %w", err)
		}
		for rows.Next() {
			var room int64
			var cut sql.NullInt64
			if err := rows.Scan(&room, &cut); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading room events: %w", err)
			}
			if cut.Valid {
				floors[room] = cut.Int64 - 1
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: reading room events: %w", err)
		}
	}
	var cond strings.Builder
	args := []any{upTo}
	for i, r := range roomNIDs {
		if i > 0 {
			cond.WriteString(" OR ")
		}
		fmt.Fprintf(&cond, "(e.room_nid = $%d AND e.stream_pos > $%d)", len(args)+1, len(args)+2)
		args = append(args, r, floors[r])
	}
	return scanEvents(db.read.QueryContext(ctx, `SELECT `+eventColumns+eventJoins+
		` WHERE e.stream_pos <= $1 AND (`+cond.String()+`) ORDER BY e.stream_pos DESC`, args...))
}

// LatestEventAt implements store.Rooms.
func (db *DB) LatestEventAt(ctx context.Context, roomNID, pos int64) (store.Event, error) {
	evs, err := scanEvents(db.read.QueryContext(ctx, `SELECT `+eventColumns+eventJoins+
		` WHERE e.room_nid = $1 AND e.stream_pos <= $2 ORDER BY e.stream_pos DESC LIMIT 1`, roomNID, pos))
	if err != nil {
		return store.Event{}, err
	}
	if len(evs) == 0 {
		return store.Event{}, fmt.Errorf("event of room %d at %d: %w", roomNID, pos, store.ErrNotFound)
	}
	return evs[0], nil
}

// MembershipEvents implements store.Rooms.
func (db *DB) MembershipEvents(ctx context.Context, userID string, after, upTo int64) ([]store.Event, error) {
	return scanEvents(db.read.QueryContext(ctx, `SELECT `+eventColumns+eventJoins+
		` WHERE k.event_type = 'm.room.member' AND k.state_key = $1 AND e.stream_pos > $2 AND e.stream_pos <= $3
		ORDER BY e.stream_pos`, userID, after, upTo))
}

// LastMembershipEvent implements store.Rooms.
func (db *DB) LastMembershipEvent(ctx context.Context, roomNID int64, userID, membership string) (store.Event, error) {
	evs, err := scanEvents(db.read.QueryContext(ctx, `SELECT `+eventColumns+eventJoins+
		` WHERE k.event_type = 'm.room.member' AND k.state_key = $1 AND e.room_nid = $2 AND e.membership = $3
		AND e.stream_pos IS NOT NULL ORDER BY e.stream_pos DESC LIMIT 1`, userID, roomNID, membership))
	if err != nil {
		return store.Event{}, err
	}
	if len(evs) == 0 {
		return store.Event{}, fmt.Errorf("%s event of %s: %w", membership, userID, store.ErrNotFound)
	}
	return evs[0], nil
}

func insertEvent(ctx context.Context, q roomsQuerier, roomNID int64, e store.NewEvent) (int64, error) {
	var nid int64
	err := q.QueryRowContext(ctx, `INSERT INTO events (event_id, room_nid, depth, event_type, state_key_nid, sender, origin_ts,
			membership, state_before, state_after, replaces_nid, json)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (event_id) DO NOTHING RETURNING event_nid`,
		e.ID, roomNID, e.Depth, e.Type, nullNID(e.StateKeyNID), e.Sender, e.OriginTS, nullString(e.Membership),
		e.StateBefore, e.StateAfter, nullNID(e.Replaces), e.JSON).Scan(&nid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("event %s: %w", e.ID, store.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: storing event: %w", err)
	}
	if len(e.PrevIDs)+len(e.AuthIDs) > 0 {
		var vals strings.Builder
		args := []any{nid}
		add := func(kind int, ids []string) {
			for _, id := range ids {
				if len(args) > 1 {
					vals.WriteString(", ")
				}
				fmt.Fprintf(&vals, "($1, %d, $%d)", kind, len(args)+1)
				args = append(args, id)
			}
		}
		add(0, e.PrevIDs)
		add(1, e.AuthIDs)
		if _, err := q.ExecContext(ctx, `INSERT INTO event_edges (event_nid, kind, target_id) VALUES `+vals.String()+
			` ON CONFLICT DO NOTHING`, args...); err != nil {
			return 0, fmt.Errorf("sqlstore: storing event edges: %w", err)
		}
	}
	if e.Redacts != "" {
		if _, err := q.ExecContext(ctx, `INSERT INTO redactions (redaction_nid, target_id, room_nid) VALUES ($1, $2, $3)`,
			nid, e.Redacts, roomNID); err != nil {
			return 0, fmt.Errorf("sqlstore: storing redaction: %w", err)
		}
	}
	if r := e.Relation; r != nil {
		if _, err := q.ExecContext(ctx, `INSERT INTO event_relations (event_nid, room_nid, target_id, rel_type, event_type, sender)
			VALUES ($1, $2, $3, $4, $5, $6)`, nid, roomNID, r.TargetID, r.RelType, e.Type, e.Sender); err != nil {
			return 0, fmt.Errorf("sqlstore: storing relation: %w", err)
		}
	}
	for _, st := range e.Search {
		if _, err := q.ExecContext(ctx, `INSERT INTO event_search (event_nid, room_nid, search_key, value) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, nid, roomNID, st.Key, st.Value); err != nil {
			return 0, fmt.Errorf("sqlstore: storing search text: %w", err)
		}
	}
	if t := e.Txn; t != nil {
		res, err := q.ExecContext(ctx, `INSERT INTO client_txns (user_id, device_id, txn_key, txn_id, event_nid) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, t.UserID, t.DeviceID, t.Key, t.ID, nid)
		if err != nil {
			return 0, fmt.Errorf("sqlstore: storing transaction ID: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return 0, fmt.Errorf("transaction %q: %w", t.ID, errors.Join(err, store.ErrConflict))
		}
	}
	return nid, nil
}

func txnEvent(ctx context.Context, q roomsQuerier, t store.Txn) (string, bool, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT e.event_id FROM client_txns t JOIN events e ON e.event_nid = t.event_nid
		WHERE t.user_id = $1 AND t.device_id = $2 AND t.txn_key = $3`, t.UserID, t.DeviceID, t.Key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("sqlstore: reading transaction ID: %w", err)
	}
	return id, true, nil
}

func nullNID(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
