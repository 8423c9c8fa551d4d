package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// Stream names. Each stream's positions start at 1 and only grow.
const (
	StreamEvents      = "events"
	StreamAccountData = "account_data"
	StreamReceipts    = "receipts"
	StreamPresence    = "presence"
	StreamToDevice    = "to_device"
	StreamDeviceLists = "device_lists"
)

// nextPosition allocates the next position of stream inside tx. The row stays
// locked until tx ends, so commits of one stream happen in position order:
// no reader can see position N+1 committed while N is still in flight. This
// is the design note's "single row locked until commit" choice; it serializes
// the writers of one stream, which batching several changes into one
// transaction mitigates.
func nextPosition(ctx context.Context, tx *sql.Tx, stream string) (int64, error) {
	return advancePosition(ctx, tx, stream, 1)
}

// advancePosition reserves n consecutive positions and returns the last; the
// first is the result minus n-1.
func advancePosition(ctx context.Context, tx *sql.Tx, stream string, n int64) (int64, error) {
	var pos int64
	err := tx.QueryRowContext(ctx,
		`INSERT INTO stream_positions (stream, pos) VALUES ($1, $2)
		 ON CONFLICT (stream) DO UPDATE SET pos = stream_positions.pos + $2
		 RETURNING pos`, stream, n).Scan(&pos)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: next position of %s: %w", stream, err)
	}
	return pos, nil
}

// CurrentPosition returns the last committed position of stream (0 if none).
func (db *DB) CurrentPosition(ctx context.Context, stream string) (int64, error) {
	var pos int64
	err := db.read.QueryRowContext(ctx, `SELECT pos FROM stream_positions WHERE stream = $1`, stream).Scan(&pos)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: position of %s: %w", stream, err)
	}
	return pos, nil
}
