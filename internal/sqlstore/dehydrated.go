package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"myelin/internal/store"
)

var _ store.DehydratedDevices = (*DB)(nil)

// PutDehydratedDevice implements store.DehydratedDevices.
func (db *DB) PutDehydratedDevice(ctx context.Context, d store.DehydratedDevice, displayName string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var taken int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE localpart = $1 AND (device_id = $2
			OR device_id IN (SELECT device_id FROM e2ee_dehydrated_devices WHERE localpart = $1))`,
			d.Localpart, d.DeviceID).Scan(&taken)
		if err != nil {
			return fmt.Errorf("sqlstore: checking device IDs: %w", err)
		}
		if taken > 0 {
			return fmt.Errorf("dehydrated device %q: %w", d.DeviceID, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO devices (localpart, device_id, display_name) VALUES ($1, $2, $3)`,
			d.Localpart, d.DeviceID, displayName); err != nil {
			return fmt.Errorf("sqlstore: storing device: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO e2ee_dehydrated_devices (localpart, device_id, device_data) VALUES ($1, $2, $3)
			ON CONFLICT (localpart) DO UPDATE SET device_id = excluded.device_id, device_data = excluded.device_data`,
			d.Localpart, d.DeviceID, d.DeviceData); err != nil {
			return fmt.Errorf("sqlstore: storing dehydrated device: %w", err)
		}
		return nil
	})
}

// DehydratedDevice implements store.DehydratedDevices.
func (db *DB) DehydratedDevice(ctx context.Context, localpart string) (store.DehydratedDevice, error) {
	d := store.DehydratedDevice{Localpart: localpart}
	err := db.read.QueryRowContext(ctx, `SELECT h.device_id, h.device_data FROM e2ee_dehydrated_devices h
		JOIN devices d ON d.localpart = h.localpart AND d.device_id = h.device_id WHERE h.localpart = $1`, localpart,
	).Scan(&d.DeviceID, &d.DeviceData)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("dehydrated device of %s: %w", localpart, store.ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("sqlstore: reading dehydrated device: %w", err)
	}
	return d, nil
}

// DeleteDehydratedDevice implements store.DehydratedDevices.
func (db *DB) DeleteDehydratedDevice(ctx context.Context, localpart string) (string, error) {
	var deviceID string
	var exists bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT device_id FROM e2ee_dehydrated_devices WHERE localpart = $1`, localpart).Scan(&deviceID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlstore: reading dehydrated device: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM e2ee_dehydrated_devices WHERE localpart = $1`, localpart); err != nil {
			return fmt.Errorf("sqlstore: deleting dehydrated device: %w", err)
		}
		for _, q := range []string{
			`DELETE FROM sessions WHERE localpart = $1 AND device_id = $2`,
			`DELETE FROM pushers WHERE localpart = $1 AND device_id = $2`,
			`DELETE FROM devices WHERE localpart = $1 AND device_id = $2`,
		} {
			res, err := tx.ExecContext(ctx, q, localpart, deviceID)
			if err != nil {
				return fmt.Errorf("sqlstore: deleting dehydrated device: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("sqlstore: deleting dehydrated device: %w", err)
			} else if n > 0 {
				exists = true
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if !exists {
		return "", fmt.Errorf("dehydrated device of %s: %w", localpart, store.ErrNotFound)
	}
	return deviceID, nil
}
