package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"myelin/internal/store"
)

var _ store.Filters = (*DB)(nil)

// CreateFilter implements store.Filters.
func (db *DB) CreateFilter(ctx context.Context, localpart string, content json.RawMessage) (int64, error) {
	var id int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`SELECT id FROM filters WHERE localpart = $1 AND content = $2 ORDER BY id LIMIT 1`,
			localpart, string(content)).Scan(&id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlstore: looking up filter: %w", err)
		}
		if err := tx.QueryRowContext(ctx,
			`INSERT INTO filters (localpart, content) VALUES ($1, $2) RETURNING id`,
			localpart, string(content)).Scan(&id); err != nil {
			return fmt.Errorf("sqlstore: storing filter: %w", err)
		}
		return nil
	})
	return id, err
}

// Filter implements store.Filters.
func (db *DB) Filter(ctx context.Context, localpart string, id int64) (json.RawMessage, error) {
	var content string
	err := db.read.QueryRowContext(ctx,
		`SELECT content FROM filters WHERE id = $1 AND localpart = $2`, id, localpart).Scan(&content)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("filter %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading filter: %w", err)
	}
	return json.RawMessage(content), nil
}
