package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"myelin/internal/spec"
	"myelin/internal/store"
)

var _ store.Rooms = (*DB)(nil)

// roomLockBase offsets room NIDs into their own range of PostgreSQL
// advisory lock keys, away from migrationLockKey.
const roomLockBase = 1 << 56

const roomColumns = `room_nid, room_id, room_version, snapshot_nid, visibility, created_ts`

func scanRoom(row interface{ Scan(...any) error }) (store.Room, error) {
	var r store.Room
	err := row.Scan(&r.NID, &r.ID, &r.Version, &r.Snapshot, &r.Visibility, &r.CreatedTS)
	return r, err
}

// CreateRoom implements store.Rooms.
func (db *DB) CreateRoom(ctx context.Context, r store.Room, fn func(w store.RoomWriter) error) (store.Room, store.Written, error) {
	if r.Visibility == "" {
		r.Visibility = "private"
	}
	var written store.Written
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO rooms (room_id, room_version, visibility, created_ts) VALUES ($1, $2, $3, $4)
			RETURNING room_nid`, r.ID, r.Version, r.Visibility, r.CreatedTS).Scan(&r.NID)
		if isUniqueViolation(err) {
			return fmt.Errorf("room %s: %w", r.ID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: creating room: %w", err)
		}
		r.Snapshot = 0
		w := &roomWriter{tx: tx, room: r}
		if err := fn(w); err != nil {
			return err
		}
		r = w.room
		written, err = w.finish(ctx)
		return err
	})
	if err != nil {
		return store.Room{}, store.Written{}, err
	}
	return r, written, nil
}

// WriteRoom implements store.Rooms. On PostgreSQL it takes a
// transaction-level advisory lock on the room, so that the writers of one
// room serialize across processes; SQLite has one write connection.
func (db *DB) WriteRoom(ctx context.Context, roomNID int64, fn func(w store.RoomWriter) error) (store.Written, error) {
	var written store.Written
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if db.engine == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(roomLockBase)+roomNID); err != nil {
				return fmt.Errorf("sqlstore: locking room: %w", err)
			}
		}
		r, err := scanRoom(tx.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms WHERE room_nid = $1`, roomNID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("room %d: %w", roomNID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: reading room: %w", err)
		}
		w := &roomWriter{tx: tx, room: r}
		if err := fn(w); err != nil {
			return err
		}
		written, err = w.finish(ctx)
		return err
	})
	return written, err
}

// roomWriter implements store.RoomWriter on a transaction.
type roomWriter struct {
	tx   *sql.Tx
	room store.Room
	// inserted lists the events inserted, in order, with the state after
	// each, written together with their stream positions by finish.
	inserted []int64
	after    map[int64]int64
}

// finish gives the inserted events their stream positions and state-after
// snapshots. It runs last in the transaction: the stream's position row
// stays locked from here to the commit only.
func (w *roomWriter) finish(ctx context.Context) (store.Written, error) {
	n := int64(len(w.inserted))
	if n == 0 {
		return store.Written{}, nil
	}
	last, err := advancePosition(ctx, w.tx, StreamEvents, n)
	if err != nil {
		return store.Written{}, err
	}
	written := store.Written{Positions: make([]int64, n)}
	for i, nid := range w.inserted {
		pos := last - n + 1 + int64(i)
		written.Positions[i] = pos
		if _, err := w.tx.ExecContext(ctx, `UPDATE events SET stream_pos = $1, state_after = $2 WHERE event_nid = $3`,
			pos, w.after[nid], nid); err != nil {
			return store.Written{}, fmt.Errorf("sqlstore: setting stream position: %w", err)
		}
	}
	return written, nil
}

func (w *roomWriter) Room() store.Room { return w.room }

func (w *roomWriter) Extremities(ctx context.Context) ([]store.Extremity, error) {
	rows, err := w.tx.QueryContext(ctx, `SELECT e.event_nid, e.event_id, e.depth, e.state_after FROM room_extremities x
		JOIN events e ON e.event_nid = x.event_nid WHERE x.room_nid = $1 ORDER BY e.depth DESC, e.event_nid DESC`, w.room.NID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading extremities: %w", err)
	}
	defer rows.Close()
	var out []store.Extremity
	for rows.Next() {
		var x store.Extremity
		if err := rows.Scan(&x.EventNID, &x.EventID, &x.Depth, &x.StateAfter); err != nil {
			return nil, fmt.Errorf("sqlstore: reading extremities: %w", err)
		}
		if a, ok := w.after[x.EventNID]; ok {
			x.StateAfter = a
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func (w *roomWriter) Snapshot(ctx context.Context, nid int64) (store.StateMap, error) {
	return readSnapshot(ctx, w.tx, nid)
}

func (w *roomWriter) Events(ctx context.Context, nids []int64) ([]store.Event, error) {
	return w.patch(eventsByNID(ctx, w.tx, nids))
}

func (w *roomWriter) EventsByID(ctx context.Context, ids []string) ([]store.Event, error) {
	return w.patch(eventsByID(ctx, w.tx, ids))
}

// patch fills in the state after the events inserted in this transaction.
func (w *roomWriter) patch(evs []store.Event, err error) ([]store.Event, error) {
	for i := range evs {
		if a, ok := w.after[evs[i].NID]; ok {
			evs[i].StateAfter = a
		}
	}
	return evs, err
}

func (w *roomWriter) InternStateKeys(ctx context.Context, keys []spec.StateKeyTuple) ([]int64, error) {
	return internStateKeys(ctx, w.tx, keys)
}

func (w *roomWriter) TxnEvent(ctx context.Context, t store.Txn) (string, bool, error) {
	return txnEvent(ctx, w.tx, t)
}

func (w *roomWriter) Resolution(ctx context.Context, inputs []int64) (int64, bool, error) {
	return resolution(ctx, w.tx, w.room.NID, inputs)
}

func (w *roomWriter) InsertEvent(ctx context.Context, e store.NewEvent) (int64, error) {
	nid, err := insertEvent(ctx, w.tx, w.room.NID, e)
	if err != nil {
		return 0, err
	}
	if w.after == nil {
		w.after = map[int64]int64{}
	}
	w.inserted = append(w.inserted, nid)
	w.after[nid] = e.StateAfter
	return nid, nil
}

func (w *roomWriter) SetStateAfter(ctx context.Context, eventNID, snapshot int64) error {
	if _, ok := w.after[eventNID]; !ok {
		return fmt.Errorf("sqlstore: event %d was not inserted in this transaction", eventNID)
	}
	w.after[eventNID] = snapshot
	return nil
}

func (w *roomWriter) NewSnapshot(ctx context.Context, parent int64, base, changes store.StateMap) (int64, error) {
	return newSnapshot(ctx, w.tx, w.room.NID, parent, base, changes)
}

func (w *roomWriter) SaveResolution(ctx context.Context, inputs []int64, result int64) error {
	return saveResolution(ctx, w.tx, w.room.NID, inputs, result)
}

func (w *roomWriter) SetCurrentState(ctx context.Context, snapshot int64, changes store.StateMap) error {
	if err := setCurrentState(ctx, w.tx, w.room.NID, snapshot, changes); err != nil {
		return err
	}
	w.room.Snapshot = snapshot
	return nil
}

func (w *roomWriter) SetExtremities(ctx context.Context, remove, add []int64) error {
	if len(remove) == 1 && len(add) == 1 {
		// The common case, a new event on the only extremity: one statement.
		res, err := w.tx.ExecContext(ctx, `UPDATE room_extremities SET event_nid = $1 WHERE room_nid = $2 AND event_nid = $3`,
			add[0], w.room.NID, remove[0])
		if err != nil {
			return fmt.Errorf("sqlstore: updating extremities: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return nil
		}
	}
	if len(remove) > 0 {
		args := append([]any{w.room.NID}, int64Args(remove)...)
		if _, err := w.tx.ExecContext(ctx, `DELETE FROM room_extremities WHERE room_nid = $1 AND event_nid IN (`+
			roomsParams(2, len(remove))+`)`, args...); err != nil {
			return fmt.Errorf("sqlstore: updating extremities: %w", err)
		}
	}
	for _, nid := range add {
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO room_extremities (room_nid, event_nid) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, w.room.NID, nid); err != nil {
			return fmt.Errorf("sqlstore: updating extremities: %w", err)
		}
	}
	return nil
}

func (w *roomWriter) CreateAlias(ctx context.Context, alias, creator string) error {
	return createAlias(ctx, w.tx, store.Alias{Alias: alias, RoomNID: w.room.NID, Creator: creator})
}

// RoomByID implements store.Rooms.
func (db *DB) RoomByID(ctx context.Context, roomID string) (store.Room, error) {
	r, err := scanRoom(db.read.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms WHERE room_id = $1`, roomID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("room %s: %w", roomID, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("sqlstore: reading room: %w", err)
	}
	return r, nil
}

// RoomsByNID implements store.Rooms.
func (db *DB) RoomsByNID(ctx context.Context, nids []int64) ([]store.Room, error) {
	var out []store.Room
	for start := 0; start < len(nids); start += 500 {
		chunk := nids[start:min(start+500, len(nids))]
		rows, err := db.read.QueryContext(ctx, `SELECT `+roomColumns+` FROM rooms WHERE room_nid IN (`+
			roomsParams(1, len(chunk))+`)`, int64Args(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading rooms: %w", err)
		}
		for rows.Next() {
			r, err := scanRoom(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading rooms: %w", err)
			}
			out = append(out, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: reading rooms: %w", err)
		}
	}
	return out, nil
}

// SetRoomVisibility implements store.Rooms.
func (db *DB) SetRoomVisibility(ctx context.Context, roomNID int64, visibility string) error {
	return db.execOne(ctx, "room", `UPDATE rooms SET visibility = $1 WHERE room_nid = $2`, visibility, roomNID)
}

const membershipColumns = `m.room_nid, r.room_id, m.user_id, m.membership, m.event_nid, COALESCE(e.stream_pos, 0), m.forgotten`

func scanMemberships(rows *sql.Rows, err error) ([]store.Membership, error) {
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading memberships: %w", err)
	}
	defer rows.Close()
	var out []store.Membership
	for rows.Next() {
		var m store.Membership
		if err := rows.Scan(&m.RoomNID, &m.RoomID, &m.UserID, &m.Membership, &m.EventNID, &m.EventPos, &m.Forgotten); err != nil {
			return nil, fmt.Errorf("sqlstore: reading memberships: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// UserMemberships implements store.Rooms.
func (db *DB) UserMemberships(ctx context.Context, userID string) ([]store.Membership, error) {
	return scanMemberships(db.read.QueryContext(ctx, `SELECT `+membershipColumns+` FROM room_memberships m
		JOIN rooms r ON r.room_nid = m.room_nid JOIN events e ON e.event_nid = m.event_nid
		WHERE m.user_id = $1 ORDER BY m.room_nid`, userID))
}

// RoomMembership implements store.Rooms.
func (db *DB) RoomMembership(ctx context.Context, roomNID int64, userID string) (store.Membership, error) {
	ms, err := scanMemberships(db.read.QueryContext(ctx, `SELECT `+membershipColumns+` FROM room_memberships m
		JOIN rooms r ON r.room_nid = m.room_nid JOIN events e ON e.event_nid = m.event_nid
		WHERE m.room_nid = $1 AND m.user_id = $2`, roomNID, userID))
	if err != nil {
		return store.Membership{}, err
	}
	if len(ms) == 0 {
		return store.Membership{}, fmt.Errorf("membership of %s: %w", userID, store.ErrNotFound)
	}
	return ms[0], nil
}

// RoomMemberships implements store.Rooms.
func (db *DB) RoomMemberships(ctx context.Context, roomNID int64, memberships []string) ([]store.Membership, error) {
	query := `SELECT ` + membershipColumns + ` FROM room_memberships m
		JOIN rooms r ON r.room_nid = m.room_nid JOIN events e ON e.event_nid = m.event_nid WHERE m.room_nid = $1`
	args := []any{roomNID}
	if len(memberships) > 0 {
		query += ` AND m.membership IN (` + roomsParams(2, len(memberships)) + `)`
		for _, m := range memberships {
			args = append(args, m)
		}
	}
	return scanMemberships(db.read.QueryContext(ctx, query+` ORDER BY m.user_id`, args...))
}

// ForgetRoom implements store.Rooms.
func (db *DB) ForgetRoom(ctx context.Context, roomNID int64, userID string) error {
	return db.execOne(ctx, "membership", `UPDATE room_memberships SET forgotten = TRUE WHERE room_nid = $1 AND user_id = $2`,
		roomNID, userID)
}

func createAlias(ctx context.Context, q roomsQuerier, a store.Alias) error {
	_, err := q.ExecContext(ctx, `INSERT INTO room_aliases (alias, room_nid, creator) VALUES ($1, $2, $3)`, a.Alias, a.RoomNID, a.Creator)
	if isUniqueViolation(err) {
		return fmt.Errorf("alias %s: %w", a.Alias, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: creating alias: %w", err)
	}
	return nil
}

// CreateAlias implements store.Rooms.
func (db *DB) CreateAlias(ctx context.Context, a store.Alias) error {
	return createAlias(ctx, db.write, a)
}

// AliasRoom implements store.Rooms.
func (db *DB) AliasRoom(ctx context.Context, alias string) (store.Alias, error) {
	a := store.Alias{Alias: alias}
	err := db.read.QueryRowContext(ctx, `SELECT a.room_nid, r.room_id, a.creator FROM room_aliases a
		JOIN rooms r ON r.room_nid = a.room_nid WHERE a.alias = $1`, alias).Scan(&a.RoomNID, &a.RoomID, &a.Creator)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("alias %s: %w", alias, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("sqlstore: reading alias: %w", err)
	}
	return a, nil
}

// DeleteAlias implements store.Rooms.
func (db *DB) DeleteAlias(ctx context.Context, alias string) error {
	return db.execOne(ctx, "alias "+alias, `DELETE FROM room_aliases WHERE alias = $1`, alias)
}

// RoomAliases implements store.Rooms.
func (db *DB) RoomAliases(ctx context.Context, roomNID int64) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT alias FROM room_aliases WHERE room_nid = $1 ORDER BY alias`, roomNID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading aliases: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("sqlstore: reading aliases: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// MoveAliases implements store.Rooms.
func (db *DB) MoveAliases(ctx context.Context, from, to int64) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE room_aliases SET room_nid = $1 WHERE room_nid = $2`, to, from); err != nil {
		return fmt.Errorf("sqlstore: moving aliases: %w", err)
	}
	return nil
}
