package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"myelin/internal/store"
)

var (
	_ store.Accounts     = (*DB)(nil)
	_ store.AccountAdmin = (*DB)(nil)
)

// CreateAccount implements store.Accounts.
func (db *DB) CreateAccount(ctx context.Context, a store.Account) error {
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO accounts (localpart, password_hash, admin, deactivated, created_ts) VALUES ($1, $2, $3, $4, $5)`,
		a.Localpart, a.PasswordHash, a.Admin, a.Deactivated, a.CreatedTS)
	if isUniqueViolation(err) {
		return fmt.Errorf("account %q: %w", a.Localpart, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: creating account: %w", err)
	}
	return nil
}

// Account implements store.Accounts.
func (db *DB) Account(ctx context.Context, localpart string) (store.Account, error) {
	a := store.Account{Localpart: localpart}
	err := db.read.QueryRowContext(ctx,
		`SELECT password_hash, admin, deactivated, created_ts FROM accounts WHERE localpart = $1`, localpart,
	).Scan(&a.PasswordHash, &a.Admin, &a.Deactivated, &a.CreatedTS)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("account %q: %w", localpart, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("sqlstore: reading account: %w", err)
	}
	return a, nil
}

// SetPasswordHash implements store.Accounts.
func (db *DB) SetPasswordHash(ctx context.Context, localpart, hash string) error {
	return db.execOne(ctx, "account "+localpart,
		`UPDATE accounts SET password_hash = $1 WHERE localpart = $2`, hash, localpart)
}

// DeactivateAccount implements store.Accounts.
func (db *DB) DeactivateAccount(ctx context.Context, localpart string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET deactivated = TRUE, password_hash = '' WHERE localpart = $1`, localpart)
		if err := oneRow(res, err, "account "+localpart); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE localpart = $1`, localpart); err != nil {
			return fmt.Errorf("sqlstore: deleting sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE localpart = $1`, localpart); err != nil {
			return fmt.Errorf("sqlstore: deleting devices: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pushers WHERE localpart = $1`, localpart); err != nil {
			return fmt.Errorf("sqlstore: deleting pushers: %w", err)
		}
		return nil
	})
}

// UpsertDevice implements store.Accounts.
func (db *DB) UpsertDevice(ctx context.Context, d store.Device) error {
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO devices (localpart, device_id, display_name, last_seen_ip, last_seen_ts) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (localpart, device_id) DO UPDATE SET last_seen_ip = excluded.last_seen_ip, last_seen_ts = excluded.last_seen_ts`,
		d.Localpart, d.DeviceID, d.DisplayName, d.LastSeenIP, d.LastSeenTS)
	if err != nil {
		return fmt.Errorf("sqlstore: storing device: %w", err)
	}
	return nil
}

// Devices implements store.Accounts.
func (db *DB) Devices(ctx context.Context, localpart string) ([]store.Device, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT device_id, display_name, last_seen_ip, last_seen_ts FROM devices WHERE localpart = $1 ORDER BY device_id`, localpart)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing devices: %w", err)
	}
	defer rows.Close()
	var out []store.Device
	for rows.Next() {
		d := store.Device{Localpart: localpart}
		if err := rows.Scan(&d.DeviceID, &d.DisplayName, &d.LastSeenIP, &d.LastSeenTS); err != nil {
			return nil, fmt.Errorf("sqlstore: reading device: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Device implements store.Accounts.
func (db *DB) Device(ctx context.Context, localpart, deviceID string) (store.Device, error) {
	d := store.Device{Localpart: localpart, DeviceID: deviceID}
	err := db.read.QueryRowContext(ctx,
		`SELECT display_name, last_seen_ip, last_seen_ts FROM devices WHERE localpart = $1 AND device_id = $2`, localpart, deviceID,
	).Scan(&d.DisplayName, &d.LastSeenIP, &d.LastSeenTS)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("device %q: %w", deviceID, store.ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("sqlstore: reading device: %w", err)
	}
	return d, nil
}

// SetDeviceDisplayName implements store.Accounts.
func (db *DB) SetDeviceDisplayName(ctx context.Context, localpart, deviceID, name string) error {
	return db.execOne(ctx, "device "+deviceID,
		`UPDATE devices SET display_name = $1 WHERE localpart = $2 AND device_id = $3`, name, localpart, deviceID)
}

// DeleteDevices implements store.Accounts.
func (db *DB) DeleteDevices(ctx context.Context, localpart string, deviceIDs []string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for len(deviceIDs) > 0 {
			chunk := deviceIDs[:min(len(deviceIDs), 500)]
			deviceIDs = deviceIDs[len(chunk):]
			args := make([]any, 0, len(chunk)+1)
			args = append(args, localpart)
			for _, id := range chunk {
				args = append(args, id)
			}
			in := placeholders(2, len(chunk))
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE localpart = $1 AND device_id IN (`+in+`)`, args...); err != nil {
				return fmt.Errorf("sqlstore: deleting sessions: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE localpart = $1 AND device_id IN (`+in+`)`, args...); err != nil {
				return fmt.Errorf("sqlstore: deleting devices: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM pushers WHERE localpart = $1 AND device_id IN (`+in+`)`, args...); err != nil {
				return fmt.Errorf("sqlstore: deleting pushers: %w", err)
			}
		}
		return nil
	})
}

// CreateSession implements store.Accounts.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	return insertSession(ctx, db.write, s)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertSession(ctx context.Context, x execer, s store.Session) error {
	_, err := x.ExecContext(ctx,
		`INSERT INTO sessions (token_hash, localpart, device_id, expires_ts, refresh_hash) VALUES ($1, $2, $3, $4, $5)`,
		s.TokenHash, s.Localpart, s.DeviceID, s.ExpiresTS, nullBytes(s.RefreshTokenHash))
	if isUniqueViolation(err) {
		return fmt.Errorf("session: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: storing session: %w", err)
	}
	return nil
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

const sessionColumns = `token_hash, localpart, device_id, expires_ts, refresh_hash`

func scanSession(row *sql.Row) (store.Session, error) {
	var s store.Session
	err := row.Scan(&s.TokenHash, &s.Localpart, &s.DeviceID, &s.ExpiresTS, &s.RefreshTokenHash)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("sqlstore: reading session: %w", err)
	}
	return s, nil
}

// SessionByToken implements store.Accounts.
func (db *DB) SessionByToken(ctx context.Context, tokenHash []byte) (store.Session, error) {
	return scanSession(db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, tokenHash))
}

// SessionByRefreshToken implements store.Accounts.
func (db *DB) SessionByRefreshToken(ctx context.Context, refreshHash []byte) (store.Session, error) {
	return scanSession(db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE refresh_hash = $1`, refreshHash))
}

// ReplaceSession implements store.Accounts.
func (db *DB) ReplaceSession(ctx context.Context, oldTokenHash []byte, s store.Session) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, oldTokenHash)
		if err := oneRow(res, err, "session"); err != nil {
			return err
		}
		return insertSession(ctx, tx, s)
	})
}

// DeleteSessions implements store.Accounts.
func (db *DB) DeleteSessions(ctx context.Context, tokenHashes [][]byte) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, h := range tokenHashes {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, h); err != nil {
				return fmt.Errorf("sqlstore: deleting session: %w", err)
			}
		}
		return nil
	})
}

// DeleteDeviceSessions implements store.Accounts.
func (db *DB) DeleteDeviceSessions(ctx context.Context, localpart, keepDeviceID string) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE localpart = $1 AND device_id <> $2`, localpart, keepDeviceID)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting sessions: %w", err)
	}
	return nil
}

// execOne runs a write that must change exactly one row; none is ErrNotFound.
func (db *DB) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := db.write.ExecContext(ctx, query, args...)
	return oneRow(res, err, what)
}

func oneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("sqlstore: updating %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: updating %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// LookupToken implements store.AccountAdmin.
func (db *DB) LookupToken(ctx context.Context, tokenHash []byte) (store.TokenOwner, error) {
	var o store.TokenOwner
	err := db.read.QueryRowContext(ctx,
		`SELECT s.token_hash, s.localpart, s.device_id, s.expires_ts, s.refresh_hash, a.admin, a.deactivated, d.last_seen_ip, d.last_seen_ts
		 FROM sessions s
		 JOIN accounts a ON a.localpart = s.localpart
		 JOIN devices d ON d.localpart = s.localpart AND d.device_id = s.device_id
		 WHERE s.token_hash = $1`, tokenHash,
	).Scan(&o.TokenHash, &o.Localpart, &o.DeviceID, &o.ExpiresTS, &o.RefreshTokenHash, &o.Admin, &o.Deactivated, &o.LastSeenIP, &o.LastSeenTS)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("sqlstore: reading session: %w", err)
	}
	return o, nil
}

// TouchDevice implements store.AccountAdmin.
func (db *DB) TouchDevice(ctx context.Context, localpart, deviceID, ip string, ts int64) error {
	return db.execOne(ctx, "device "+deviceID,
		`UPDATE devices SET last_seen_ip = $1, last_seen_ts = $2 WHERE localpart = $3 AND device_id = $4`, ip, ts, localpart, deviceID)
}

// ChangePassword implements store.AccountAdmin.
func (db *DB) ChangePassword(ctx context.Context, localpart, hash string, logoutOthers bool, keepDeviceID string, keepTokenHash []byte) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $1 WHERE localpart = $2 AND NOT deactivated`, hash, localpart)
		if err := oneRow(res, err, "account "+localpart); err != nil || !logoutOthers {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE localpart = $1 AND token_hash <> $2`, localpart, keepTokenHash); err != nil {
			return fmt.Errorf("sqlstore: deleting sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE localpart = $1 AND device_id <> $2`, localpart, keepDeviceID); err != nil {
			return fmt.Errorf("sqlstore: deleting devices: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pushers WHERE localpart = $1 AND device_id <> $2`, localpart, keepDeviceID); err != nil {
			return fmt.Errorf("sqlstore: deleting pushers: %w", err)
		}
		return nil
	})
}

// CreateRegistration implements store.AccountAdmin.
func (db *DB) CreateRegistration(ctx context.Context, r store.NewRegistration) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if r.UIASession != "" {
			if _, err := consumeUIASession(ctx, tx, r.UIASession, true); err != nil {
				return err
			}
		}
		a := r.Account
		_, err := tx.ExecContext(ctx,
			`INSERT INTO accounts (localpart, password_hash, admin, deactivated, created_ts) VALUES ($1, $2, $3, $4, $5)`,
			a.Localpart, a.PasswordHash, a.Admin, a.Deactivated, a.CreatedTS)
		if isUniqueViolation(err) {
			return fmt.Errorf("account %q: %w", a.Localpart, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: creating account: %w", err)
		}
		if r.Device != nil {
			d := r.Device
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO devices (localpart, device_id, display_name, last_seen_ip, last_seen_ts) VALUES ($1, $2, $3, $4, $5)`,
				d.Localpart, d.DeviceID, d.DisplayName, d.LastSeenIP, d.LastSeenTS); err != nil {
				return fmt.Errorf("sqlstore: storing device: %w", err)
			}
		}
		if r.Session != nil {
			return insertSession(ctx, tx, *r.Session)
		}
		return nil
	})
}
