package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"myelin/internal/store"
)

var _ store.ToDevice = (*DB)(nil)

// SendToDevice implements store.ToDevice.
func (db *DB) SendToDevice(ctx context.Context, b store.ToDeviceBatch) (int64, bool, error) {
	var pos int64
	var repeat bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO e2ee_to_device_txns (user_id, device_id, event_type, txn_id, ts)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, device_id, event_type, txn_id) DO NOTHING`,
			b.Sender, b.SenderDevice, b.Type, b.TxnID, b.TS)
		if err != nil {
			return fmt.Errorf("sqlstore: recording to-device transaction: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: recording to-device transaction: %w", err)
		} else if n == 0 {
			repeat = true
			return nil
		}
		devices, err := existingDevices(ctx, tx, b.Messages)
		if err != nil {
			return err
		}
		type delivery struct {
			userID, deviceID string
			content          []byte
		}
		// A message to one device wins over one to "*" for the same device.
		chosen := map[[2]string]delivery{}
		for _, wildcard := range []bool{true, false} {
			for _, m := range b.Messages {
				if (m.DeviceID == "*") != wildcard {
					continue
				}
				for _, d := range devices[m.Recipient.Localpart] {
					if wildcard || d == m.DeviceID {
						chosen[[2]string{m.Recipient.UserID, d}] = delivery{m.Recipient.UserID, d, m.Content}
					}
				}
			}
		}
		if len(chosen) == 0 {
			return nil
		}
		list := make([]delivery, 0, len(chosen))
		for _, d := range chosen {
			list = append(list, d)
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].userID != list[j].userID {
				return list[i].userID < list[j].userID
			}
			return list[i].deviceID < list[j].deviceID
		})
		if pos, err = advancePosition(ctx, tx, StreamToDevice, int64(len(list))); err != nil {
			return err
		}
		first := pos - int64(len(list)) + 1
		for i, d := range list {
			if _, err := tx.ExecContext(ctx, `INSERT INTO e2ee_to_device (pos, user_id, device_id, sender, event_type, content)
				VALUES ($1, $2, $3, $4, $5, $6)`, first+int64(i), d.userID, d.deviceID, b.Sender, b.Type, d.content); err != nil {
				return fmt.Errorf("sqlstore: storing to-device message: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return pos, repeat, nil
}

// existingDevices returns the device IDs of the local recipients, by
// localpart.
func existingDevices(ctx context.Context, tx *sql.Tx, msgs []store.ToDeviceMessage) (map[string][]string, error) {
	seen := map[string]bool{}
	var lps []string
	for _, m := range msgs {
		if lp := m.Recipient.Localpart; lp != "" && !seen[lp] {
			seen[lp] = true
			lps = append(lps, lp)
		}
	}
	out := map[string][]string{}
	err := chunks(lps, func(lps []string) error {
		rows, err := tx.QueryContext(ctx, `SELECT localpart, device_id FROM devices WHERE localpart IN (`+placeholders(1, len(lps))+`)`, stringArgs(lps)...)
		if err != nil {
			return fmt.Errorf("sqlstore: reading devices: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var lp, d string
			if err := rows.Scan(&lp, &d); err != nil {
				return fmt.Errorf("sqlstore: reading devices: %w", err)
			}
			out[lp] = append(out[lp], d)
		}
		return rows.Err()
	})
	return out, err
}

// ToDeviceInbox implements store.ToDevice.
func (db *DB) ToDeviceInbox(ctx context.Context, userID, deviceID string, after, upTo int64, limit int) ([]store.ToDeviceEvent, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT pos, sender, event_type, content FROM e2ee_to_device
		WHERE user_id = $1 AND device_id = $2 AND pos > $3 AND pos <= $4 ORDER BY pos LIMIT $5`,
		userID, deviceID, after, upTo, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading to-device inbox: %w", err)
	}
	defer rows.Close()
	var out []store.ToDeviceEvent
	for rows.Next() {
		var ev store.ToDeviceEvent
		if err := rows.Scan(&ev.Pos, &ev.Sender, &ev.Type, &ev.Content); err != nil {
			return nil, fmt.Errorf("sqlstore: reading to-device inbox: %w", err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// AckToDevice implements store.ToDevice. It writes only when there is
// something to delete, so that syncs without to-device traffic stay reads.
func (db *DB) AckToDevice(ctx context.Context, userID, deviceID string, upTo int64) error {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM e2ee_to_device
		WHERE user_id = $1 AND device_id = $2 AND pos <= $3 LIMIT 1) x`, userID, deviceID, upTo).Scan(&n)
	if err != nil {
		return fmt.Errorf("sqlstore: reading to-device inbox: %w", err)
	}
	if n == 0 {
		return nil
	}
	if _, err := db.write.ExecContext(ctx, `DELETE FROM e2ee_to_device WHERE user_id = $1 AND device_id = $2 AND pos <= $3`,
		userID, deviceID, upTo); err != nil {
		return fmt.Errorf("sqlstore: deleting delivered to-device messages: %w", err)
	}
	return nil
}

// ToDevicePosition implements store.ToDevice.
func (db *DB) ToDevicePosition(ctx context.Context) (int64, error) {
	return db.CurrentPosition(ctx, StreamToDevice)
}

// DeleteToDeviceTxns implements store.ToDevice.
func (db *DB) DeleteToDeviceTxns(ctx context.Context, before int64) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM e2ee_to_device_txns WHERE ts < $1`, before); err != nil {
		return fmt.Errorf("sqlstore: deleting to-device transactions: %w", err)
	}
	return nil
}
