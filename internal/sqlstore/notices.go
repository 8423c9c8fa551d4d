package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"myelin/internal/store"
)

var _ store.ServerNotices = (*DB)(nil)

// ServerNoticeRoom implements store.ServerNotices.
func (db *DB) ServerNoticeRoom(ctx context.Context, localpart string) (string, error) {
	var roomID string
	err := db.read.QueryRowContext(ctx, `SELECT room_id FROM server_notice_rooms WHERE localpart = $1`, localpart).Scan(&roomID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("server notices room of %s: %w", localpart, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sqlstore: reading server notices room: %w", err)
	}
	return roomID, nil
}

// SetServerNoticeRoom implements store.ServerNotices.
func (db *DB) SetServerNoticeRoom(ctx context.Context, localpart, roomID string) (string, error) {
	var stored string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO server_notice_rooms (localpart, room_id) VALUES ($1, $2)
			ON CONFLICT (localpart) DO NOTHING`, localpart, roomID); err != nil {
			return fmt.Errorf("sqlstore: storing server notices room: %w", err)
		}
		return tx.QueryRowContext(ctx, `SELECT room_id FROM server_notice_rooms WHERE localpart = $1`, localpart).Scan(&stored)
	})
	if err != nil {
		return "", fmt.Errorf("sqlstore: storing server notices room: %w", err)
	}
	return stored, nil
}
