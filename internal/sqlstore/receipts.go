package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"myelin/internal/store"
)

var _ store.Receipts = (*DB)(nil)

// PutReceipts implements store.Receipts.
func (db *DB) PutReceipts(ctx context.Context, rs []store.Receipt) (int64, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	var last int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Reserving the positions locks the stream row until commit, so
		// receipts become visible in position order.
		var err error
		if last, err = advancePosition(ctx, tx, StreamReceipts, int64(len(rs))); err != nil {
			return err
		}
		first := last - int64(len(rs)) + 1
		for i, r := range rs {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO receipts (room_id, user_id, receipt_type, thread_id, event_id, event_pos, ts, pos)
				 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				 ON CONFLICT (room_id, user_id, receipt_type, thread_id) DO UPDATE SET
				 event_id = excluded.event_id, event_pos = excluded.event_pos, ts = excluded.ts, pos = excluded.pos`,
				r.RoomID, r.UserID, r.Type, r.ThreadID, r.EventID, r.EventPos, r.TS, first+int64(i)); err != nil {
				return fmt.Errorf("sqlstore: storing receipt: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return last, nil
}

const receiptColumns = `room_id, user_id, receipt_type, thread_id, event_id, event_pos, ts, pos`

func scanReceipts(rows *sql.Rows, err error) ([]store.Receipt, error) {
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading receipts: %w", err)
	}
	defer rows.Close()
	var out []store.Receipt
	for rows.Next() {
		var r store.Receipt
		if err := rows.Scan(&r.RoomID, &r.UserID, &r.Type, &r.ThreadID, &r.EventID, &r.EventPos, &r.TS, &r.Pos); err != nil {
			return nil, fmt.Errorf("sqlstore: reading receipts: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading receipts: %w", err)
	}
	return out, nil
}

// receiptChunk bounds the room IDs of one query (SQLite allows 32766
// parameters, PostgreSQL 65535).
const receiptChunk = 500

// ReceiptsSince implements store.Receipts.
func (db *DB) ReceiptsSince(ctx context.Context, roomIDs []string, after, upTo int64) ([]store.Receipt, error) {
	var out []store.Receipt
	for start := 0; start < len(roomIDs); start += receiptChunk {
		chunk := roomIDs[start:min(start+receiptChunk, len(roomIDs))]
		args := append([]any{after, upTo}, stringArgs(chunk)...)
		got, err := scanReceipts(db.read.QueryContext(ctx, `SELECT `+receiptColumns+` FROM receipts
			WHERE pos > $1 AND pos <= $2 AND room_id IN (`+placeholders(3, len(chunk))+`)`, args...))
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pos < out[j].Pos })
	return out, nil
}

// UserReceipts implements store.Receipts.
func (db *DB) UserReceipts(ctx context.Context, userID string, roomIDs []string) ([]store.Receipt, error) {
	var out []store.Receipt
	for start := 0; start < len(roomIDs); start += receiptChunk {
		chunk := roomIDs[start:min(start+receiptChunk, len(roomIDs))]
		args := append([]any{userID}, stringArgs(chunk)...)
		got, err := scanReceipts(db.read.QueryContext(ctx, `SELECT `+receiptColumns+` FROM receipts
			WHERE user_id = $1 AND room_id IN (`+placeholders(2, len(chunk))+`)`, args...))
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// ReceiptsPosition implements store.Receipts.
func (db *DB) ReceiptsPosition(ctx context.Context) (int64, error) {
	return db.CurrentPosition(ctx, StreamReceipts)
}
