package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"myelin/internal/store"
)

var _ store.AccountData = (*DB)(nil)

// errUnchanged rolls back an update that decided to write nothing.
var errUnchanged = errors.New("sqlstore: unchanged")

// AccountData implements store.AccountData.
func (db *DB) AccountData(ctx context.Context, localpart, roomID, typ string) (store.AccountDataRecord, error) {
	r := store.AccountDataRecord{Localpart: localpart, RoomID: roomID, Type: typ}
	var content string
	err := db.read.QueryRowContext(ctx,
		`SELECT content, pos FROM account_data WHERE localpart = $1 AND room_id = $2 AND type = $3`,
		localpart, roomID, typ).Scan(&content, &r.Position)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("account data %q: %w", typ, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("sqlstore: reading account data: %w", err)
	}
	r.Content = json.RawMessage(content)
	return r, nil
}

// UpdateAccountData implements store.AccountData.
func (db *DB) UpdateAccountData(ctx context.Context, localpart, roomID, typ string,
	update func(current json.RawMessage) (json.RawMessage, error)) (int64, error) {
	var pos int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Taking the position first locks the stream row until commit: the
		// read below sees every earlier committed change.
		var err error
		if pos, err = nextPosition(ctx, tx, StreamAccountData); err != nil {
			return err
		}
		var current json.RawMessage
		var text string
		err = tx.QueryRowContext(ctx,
			`SELECT content FROM account_data WHERE localpart = $1 AND room_id = $2 AND type = $3`,
			localpart, roomID, typ).Scan(&text)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("sqlstore: reading account data: %w", err)
		default:
			current = json.RawMessage(text)
		}
		next, err := update(current)
		if err != nil {
			return err
		}
		if next == nil {
			return errUnchanged
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO account_data (localpart, room_id, type, content, pos) VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (localpart, room_id, type) DO UPDATE SET content = excluded.content, pos = excluded.pos`,
			localpart, roomID, typ, string(next), pos); err != nil {
			return fmt.Errorf("sqlstore: storing account data: %w", err)
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return pos, nil
}

// AccountDataSince implements store.AccountData.
func (db *DB) AccountDataSince(ctx context.Context, localpart string, after, upTo int64) ([]store.AccountDataRecord, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT room_id, type, content, pos FROM account_data
		 WHERE localpart = $1 AND pos > $2 AND pos <= $3 ORDER BY pos`, localpart, after, upTo)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading account data: %w", err)
	}
	defer rows.Close()
	var out []store.AccountDataRecord
	for rows.Next() {
		r := store.AccountDataRecord{Localpart: localpart}
		var content string
		if err := rows.Scan(&r.RoomID, &r.Type, &content, &r.Position); err != nil {
			return nil, fmt.Errorf("sqlstore: reading account data: %w", err)
		}
		r.Content = json.RawMessage(content)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading account data: %w", err)
	}
	return out, nil
}

// AccountDataPosition implements store.AccountData.
func (db *DB) AccountDataPosition(ctx context.Context) (int64, error) {
	return db.CurrentPosition(ctx, StreamAccountData)
}
