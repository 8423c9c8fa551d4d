package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"myelin/internal/store"
)

var _ store.KeyBackups = (*DB)(nil)

// CreateBackupVersion implements store.KeyBackups.
func (db *DB) CreateBackupVersion(ctx context.Context, userID, algorithm string, authData []byte) (int64, error) {
	var v int64
	err := db.write.QueryRowContext(ctx, `INSERT INTO e2ee_backup_versions (user_id, algorithm, auth_data) VALUES ($1, $2, $3) RETURNING version`,
		userID, algorithm, authData).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: creating backup version: %w", err)
	}
	return v, nil
}

const backupVersionColumns = `v.user_id, v.version, v.algorithm, v.auth_data, v.etag,
	(SELECT COUNT(*) FROM e2ee_backup_keys k WHERE k.user_id = v.user_id AND k.version = v.version)`

func scanBackupVersion(row *sql.Row, what string) (store.BackupVersion, error) {
	var b store.BackupVersion
	err := row.Scan(&b.UserID, &b.Version, &b.Algorithm, &b.AuthData, &b.ETag, &b.Count)
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("backup version %s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("sqlstore: reading backup version: %w", err)
	}
	return b, nil
}

// BackupVersion implements store.KeyBackups.
func (db *DB) BackupVersion(ctx context.Context, userID string, version int64) (store.BackupVersion, error) {
	return backupVersion(ctx, db.read, userID, version)
}

type rowQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// backupVersion reads a live version (the current one for version 0).
func backupVersion(ctx context.Context, q rowQueryer, userID string, version int64) (store.BackupVersion, error) {
	if version == 0 {
		return scanBackupVersion(q.QueryRowContext(ctx, `SELECT `+backupVersionColumns+` FROM e2ee_backup_versions v
			WHERE v.user_id = $1 AND NOT v.deleted ORDER BY v.version DESC LIMIT 1`, userID), "current")
	}
	return scanBackupVersion(q.QueryRowContext(ctx, `SELECT `+backupVersionColumns+` FROM e2ee_backup_versions v
		WHERE v.user_id = $1 AND v.version = $2 AND NOT v.deleted`, userID, version), fmt.Sprint(version))
}

// UpdateBackupVersion implements store.KeyBackups.
func (db *DB) UpdateBackupVersion(ctx context.Context, userID string, version int64, authData []byte) error {
	return db.execOne(ctx, fmt.Sprintf("backup version %d", version),
		`UPDATE e2ee_backup_versions SET auth_data = $3 WHERE user_id = $1 AND version = $2 AND NOT deleted`, userID, version, authData)
}

// DeleteBackupVersion implements store.KeyBackups.
func (db *DB) DeleteBackupVersion(ctx context.Context, userID string, version int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE e2ee_backup_versions SET deleted = TRUE WHERE user_id = $1 AND version = $2`, userID, version)
		if err := oneRow(res, err, fmt.Sprintf("backup version %d", version)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM e2ee_backup_keys WHERE user_id = $1 AND version = $2`, userID, version); err != nil {
			return fmt.Errorf("sqlstore: deleting backup keys: %w", err)
		}
		return nil
	})
}

// backupKeyChunk bounds the rows of one multi-row upsert (8 parameters
// each).
const backupKeyChunk = 200

// PutBackupKeys implements store.KeyBackups.
func (db *DB) PutBackupKeys(ctx context.Context, userID string, version int64, keys []store.BackupKey) (store.BackupVersion, error) {
	lock := ""
	if db.engine == Postgres {
		lock = " FOR UPDATE"
	}
	// One row per session: the last of duplicates wins.
	type sessionKey struct{ room, session string }
	index := map[sessionKey]int{}
	var uniq []store.BackupKey
	for _, k := range keys {
		sk := sessionKey{k.RoomID, k.SessionID}
		if i, ok := index[sk]; ok {
			uniq[i] = k
			continue
		}
		index[sk] = len(uniq)
		uniq = append(uniq, k)
	}
	var out store.BackupVersion
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Writers of one backup serialize on its row (SQLite has one
		// writer anyway); then the version must still be the current one.
		if lock != "" {
			if _, err := tx.ExecContext(ctx, `SELECT version FROM e2ee_backup_versions WHERE user_id = $1 AND version = $2`+lock, userID, version); err != nil {
				return fmt.Errorf("sqlstore: locking backup version: %w", err)
			}
		}
		cur, err := backupVersion(ctx, tx, userID, 0)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return fmt.Errorf("backup version %d is not the current one (%d): %w", version, cur.Version, store.ErrConflict)
		}
		var changed int64
		for start := 0; start < len(uniq); start += backupKeyChunk {
			chunk := uniq[start:min(start+backupKeyChunk, len(uniq))]
			var values []string
			args := []any{userID, version}
			for _, k := range chunk {
				n := len(args)
				values = append(values, fmt.Sprintf("($1, $2, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6))
				args = append(args, k.RoomID, k.SessionID, k.FirstMessageIndex, k.ForwardedCount, k.IsVerified, k.SessionData)
			}
			// The spec's replacement rules: verified beats unverified, then
			// the lower first_message_index, then the lower forwarded_count.
			res, err := tx.ExecContext(ctx, `INSERT INTO e2ee_backup_keys
				(user_id, version, room_id, session_id, first_message_index, forwarded_count, is_verified, session_data)
				VALUES `+strings.Join(values, ", ")+`
				ON CONFLICT (user_id, version, room_id, session_id) DO UPDATE SET
				first_message_index = excluded.first_message_index, forwarded_count = excluded.forwarded_count,
				is_verified = excluded.is_verified, session_data = excluded.session_data
				WHERE (excluded.is_verified AND NOT e2ee_backup_keys.is_verified)
				OR (excluded.is_verified = e2ee_backup_keys.is_verified AND (
					excluded.first_message_index < e2ee_backup_keys.first_message_index
					OR (excluded.first_message_index = e2ee_backup_keys.first_message_index
						AND excluded.forwarded_count < e2ee_backup_keys.forwarded_count)))`, args...)
			if err != nil {
				return fmt.Errorf("sqlstore: storing backup keys: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlstore: storing backup keys: %w", err)
			}
			changed += n
		}
		if changed > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE e2ee_backup_versions SET etag = etag + 1 WHERE user_id = $1 AND version = $2`, userID, version); err != nil {
				return fmt.Errorf("sqlstore: updating backup etag: %w", err)
			}
		}
		out, err = backupVersion(ctx, tx, userID, version)
		return err
	})
	return out, err
}

// backupKeysFilter is the WHERE clause selecting keys of a version, all or
// those of a room or of one session, with its arguments.
func backupKeysFilter(userID string, version int64, roomID, sessionID string) (string, []any) {
	cond, args := `user_id = $1 AND version = $2`, []any{userID, version}
	if roomID != "" {
		cond += ` AND room_id = $3`
		args = append(args, roomID)
		if sessionID != "" {
			cond += ` AND session_id = $4`
			args = append(args, sessionID)
		}
	}
	return cond, args
}

// BackupKeys implements store.KeyBackups.
func (db *DB) BackupKeys(ctx context.Context, userID string, version int64, roomID, sessionID string) ([]store.BackupKey, error) {
	if _, err := backupVersion(ctx, db.read, userID, version); err != nil {
		return nil, err
	}
	cond, args := backupKeysFilter(userID, version, roomID, sessionID)
	rows, err := db.read.QueryContext(ctx, `SELECT room_id, session_id, first_message_index, forwarded_count, is_verified, session_data
		FROM e2ee_backup_keys WHERE `+cond+` ORDER BY room_id, session_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading backup keys: %w", err)
	}
	defer rows.Close()
	var out []store.BackupKey
	for rows.Next() {
		var k store.BackupKey
		if err := rows.Scan(&k.RoomID, &k.SessionID, &k.FirstMessageIndex, &k.ForwardedCount, &k.IsVerified, &k.SessionData); err != nil {
			return nil, fmt.Errorf("sqlstore: reading backup keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteBackupKeys implements store.KeyBackups.
func (db *DB) DeleteBackupKeys(ctx context.Context, userID string, version int64, roomID, sessionID string) (store.BackupVersion, error) {
	var out store.BackupVersion
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := backupVersion(ctx, tx, userID, version); err != nil {
			return err
		}
		cond, args := backupKeysFilter(userID, version, roomID, sessionID)
		res, err := tx.ExecContext(ctx, `DELETE FROM e2ee_backup_keys WHERE `+cond, args...)
		if err != nil {
			return fmt.Errorf("sqlstore: deleting backup keys: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: deleting backup keys: %w", err)
		} else if n > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE e2ee_backup_versions SET etag = etag + 1 WHERE user_id = $1 AND version = $2`, userID, version); err != nil {
				return fmt.Errorf("sqlstore: updating backup etag: %w", err)
			}
		}
		out, err = backupVersion(ctx, tx, userID, version)
		return err
	})
	return out, err
}
