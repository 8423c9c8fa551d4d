package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"myelin/internal/store"
)

var _ store.Pushers = (*DB)(nil)

// SetPusher implements store.Pushers.
func (db *DB) SetPusher(ctx context.Context, p store.Pusher, keepOthers bool) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if !keepOthers {
			if _, err := tx.ExecContext(ctx, `DELETE FROM pushers WHERE app_id = $1 AND pushkey = $2 AND localpart <> $3`,
				p.AppID, p.PushKey, p.Localpart); err != nil {
				return fmt.Errorf("sqlstore: deleting other users' pushers: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pushers (localpart, app_id, pushkey, device_id, kind, app_display_name,
				device_display_name, profile_tag, lang, data, created_ts)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (localpart, app_id, pushkey) DO UPDATE SET device_id = excluded.device_id, kind = excluded.kind,
				app_display_name = excluded.app_display_name, device_display_name = excluded.device_display_name,
				profile_tag = excluded.profile_tag, lang = excluded.lang, data = excluded.data`,
			p.Localpart, p.AppID, p.PushKey, p.DeviceID, p.Kind, p.AppDisplayName, p.DeviceDisplayName, p.ProfileTag,
			p.Lang, string(p.Data), p.CreatedTS); err != nil {
			return fmt.Errorf("sqlstore: storing pusher: %w", err)
		}
		return nil
	})
}

// DeletePusher implements store.Pushers.
func (db *DB) DeletePusher(ctx context.Context, localpart, appID, pushKey string) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM pushers WHERE localpart = $1 AND app_id = $2 AND pushkey = $3`,
		localpart, appID, pushKey); err != nil {
		return fmt.Errorf("sqlstore: deleting pusher: %w", err)
	}
	return nil
}

// Pushers implements store.Pushers.
func (db *DB) Pushers(ctx context.Context, localpart string) ([]store.Pusher, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT localpart, device_id, app_id, pushkey, kind, app_display_name,
			device_display_name, profile_tag, lang, data, created_ts
		FROM pushers WHERE localpart = $1 ORDER BY created_ts, app_id, pushkey`, localpart)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading pushers: %w", err)
	}
	defer rows.Close()
	var out []store.Pusher
	for rows.Next() {
		var p store.Pusher
		var data string
		if err := rows.Scan(&p.Localpart, &p.DeviceID, &p.AppID, &p.PushKey, &p.Kind, &p.AppDisplayName,
			&p.DeviceDisplayName, &p.ProfileTag, &p.Lang, &data, &p.CreatedTS); err != nil {
			return nil, fmt.Errorf("sqlstore: reading pushers: %w", err)
		}
		p.Data = []byte(data)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading pushers: %w", err)
	}
	return out, nil
}
