package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"myelin/internal/store"
)

var _ store.Presence = (*DB)(nil)

// SetPresence implements store.Presence.
func (db *DB) SetPresence(ctx context.Context, p store.PresenceRecord) (int64, error) {
	var pos int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if pos, err = nextPosition(ctx, tx, StreamPresence); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO presence (localpart, state, status_msg, last_active_ts, pos) VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (localpart) DO UPDATE SET state = excluded.state, status_msg = excluded.status_msg,
			   last_active_ts = excluded.last_active_ts, pos = excluded.pos`,
			p.Localpart, p.State, p.StatusMsg, p.LastActiveTS, pos); err != nil {
			return fmt.Errorf("sqlstore: storing presence: %w", err)
		}
		return nil
	})
	return pos, err
}

// PresenceOf implements store.Presence.
func (db *DB) PresenceOf(ctx context.Context, localparts []string) ([]store.PresenceRecord, error) {
	if len(localparts) == 0 {
		return nil, nil
	}
	rows, err := db.read.QueryContext(ctx,
		`SELECT localpart, state, status_msg, last_active_ts, pos FROM presence WHERE localpart IN (`+placeholders(1, len(localparts))+`)`,
		stringArgs(localparts)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading presence: %w", err)
	}
	return scanPresence(rows)
}

// PresenceSince implements store.Presence.
func (db *DB) PresenceSince(ctx context.Context, after, upTo int64) ([]store.PresenceRecord, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT localpart, state, status_msg, last_active_ts, pos FROM presence WHERE pos > $1 AND pos <= $2 ORDER BY pos`,
		after, upTo)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading presence: %w", err)
	}
	return scanPresence(rows)
}

func scanPresence(rows *sql.Rows) ([]store.PresenceRecord, error) {
	defer rows.Close()
	var out []store.PresenceRecord
	for rows.Next() {
		var p store.PresenceRecord
		if err := rows.Scan(&p.Localpart, &p.State, &p.StatusMsg, &p.LastActiveTS, &p.Position); err != nil {
			return nil, fmt.Errorf("sqlstore: reading presence: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading presence: %w", err)
	}
	return out, nil
}

// PresencePosition implements store.Presence.
func (db *DB) PresencePosition(ctx context.Context) (int64, error) {
	return db.CurrentPosition(ctx, StreamPresence)
}
