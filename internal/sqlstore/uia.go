package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"myelin/internal/store"
)

var _ store.UIASessions = (*DB)(nil)

// Completed stages are stored as one text column, each stage name followed
// by a space, so that appending is one UPDATE with no read.
func encodeStages(stages []string) string {
	var b strings.Builder
	for _, s := range stages {
		b.WriteString(s)
		b.WriteByte(' ')
	}
	return b.String()
}

// CreateUIASession implements store.UIASessions.
func (db *DB) CreateUIASession(ctx context.Context, s store.UIASession, now int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := deleteExpiredUIASessions(ctx, tx, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO uia_sessions (session_id, purpose, localpart, binding, completed, registration_token, created_ts, expires_ts)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			s.ID, s.Purpose, s.Localpart, nullBytes(s.Binding), encodeStages(s.Completed), s.RegistrationToken, s.CreatedTS, s.ExpiresTS)
		if isUniqueViolation(err) {
			return fmt.Errorf("UIA session: %w", store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: storing UIA session: %w", err)
		}
		return nil
	})
}

// deleteExpiredUIASessions deletes the sessions expired at now and gives
// back the registration-token uses they held.
func deleteExpiredUIASessions(ctx context.Context, tx *sql.Tx, now int64) error {
	_, err := tx.ExecContext(ctx,
		`UPDATE registration_tokens SET pending = pending - (
			SELECT COUNT(*) FROM uia_sessions s WHERE s.registration_token = registration_tokens.token AND s.expires_ts <= $1)
		 WHERE token IN (SELECT registration_token FROM uia_sessions WHERE expires_ts <= $1 AND registration_token <> '')`, now)
	if err != nil {
		return fmt.Errorf("sqlstore: releasing registration tokens of expired UIA sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM uia_sessions WHERE expires_ts <= $1`, now); err != nil {
		return fmt.Errorf("sqlstore: deleting expired UIA sessions: %w", err)
	}
	return nil
}

// UIASession implements store.UIASessions.
func (db *DB) UIASession(ctx context.Context, id string, now int64) (store.UIASession, error) {
	s := store.UIASession{ID: id}
	var completed string
	err := db.read.QueryRowContext(ctx,
		`SELECT purpose, localpart, binding, completed, registration_token, created_ts, expires_ts
		 FROM uia_sessions WHERE session_id = $1 AND expires_ts > $2`, id, now,
	).Scan(&s.Purpose, &s.Localpart, &s.Binding, &completed, &s.RegistrationToken, &s.CreatedTS, &s.ExpiresTS)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("UIA session: %w", store.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("sqlstore: reading UIA session: %w", err)
	}
	s.Completed = strings.Fields(completed)
	return s, nil
}

// CompleteUIAStage implements store.UIASessions.
func (db *DB) CompleteUIAStage(ctx context.Context, id, stage string, now int64) error {
	return db.execOne(ctx, "UIA session",
		`UPDATE uia_sessions SET completed = completed || $2 WHERE session_id = $1 AND expires_ts > $3`,
		id, encodeStages([]string{stage}), now)
}

// ReserveRegistrationToken implements store.UIASessions.
func (db *DB) ReserveRegistrationToken(ctx context.Context, id, stage, token string, now int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// Uses held by expired sessions count no more.
		if err := deleteExpiredUIASessions(ctx, tx, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`UPDATE registration_tokens SET pending = pending + 1
			 WHERE token = $1 AND (uses_allowed IS NULL OR pending + completed < uses_allowed)
			   AND (expiry_time IS NULL OR expiry_time > $2)`, token, now)
		if err := oneRow(res, err, "registration token"); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("registration token not usable: %w", store.ErrConflict)
		} else if err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx,
			`UPDATE uia_sessions SET completed = completed || $2, registration_token = $3
			 WHERE session_id = $1 AND expires_ts > $4 AND registration_token = ''`,
			id, encodeStages([]string{stage}), token, now)
		return oneRow(res, err, "UIA session")
	})
}

// DeleteUIASession implements store.UIASessions.
func (db *DB) DeleteUIASession(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := consumeUIASession(ctx, tx, id, false)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
}

// consumeUIASession deletes a session and settles the registration token
// it holds: the use moves to completed when registered, else it is given
// back. ErrNotFound if the session is absent.
func consumeUIASession(ctx context.Context, tx *sql.Tx, id string, registered bool) (string, error) {
	var token string
	err := tx.QueryRowContext(ctx, `DELETE FROM uia_sessions WHERE session_id = $1 RETURNING registration_token`, id).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("UIA session: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sqlstore: deleting UIA session: %w", err)
	}
	if token == "" {
		return "", nil
	}
	query := `UPDATE registration_tokens SET pending = pending - 1 WHERE token = $1`
	if registered {
		query = `UPDATE registration_tokens SET pending = pending - 1, completed = completed + 1 WHERE token = $1`
	}
	res, err := tx.ExecContext(ctx, query, token)
	if err := oneRow(res, err, "registration token"); err != nil {
		return token, err
	}
	return token, nil
}

// CreateRegistrationToken implements store.UIASessions.
func (db *DB) CreateRegistrationToken(ctx context.Context, t store.RegistrationToken) error {
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO registration_tokens (token, uses_allowed, pending, completed, expiry_time) VALUES ($1, $2, $3, $4, $5)`,
		t.Token, nullInt(t.UsesAllowed), t.Pending, t.Completed, nullInt(t.ExpiryTime))
	if isUniqueViolation(err) {
		return fmt.Errorf("registration token: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: storing registration token: %w", err)
	}
	return nil
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

const registrationTokenColumns = `token, uses_allowed, pending, completed, expiry_time`

type rowScanner interface{ Scan(dest ...any) error }

func scanRegistrationToken(row rowScanner) (store.RegistrationToken, error) {
	var t store.RegistrationToken
	var uses, expiry sql.NullInt64
	if err := row.Scan(&t.Token, &uses, &t.Pending, &t.Completed, &expiry); err != nil {
		return t, err
	}
	if uses.Valid {
		t.UsesAllowed = &uses.Int64
	}
	if expiry.Valid {
		t.ExpiryTime = &expiry.Int64
	}
	return t, nil
}

// RegistrationToken implements store.UIASessions.
func (db *DB) RegistrationToken(ctx context.Context, token string) (store.RegistrationToken, error) {
	t, err := scanRegistrationToken(db.read.QueryRowContext(ctx,
		`SELECT `+registrationTokenColumns+` FROM registration_tokens WHERE token = $1`, token))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("registration token: %w", store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("sqlstore: reading registration token: %w", err)
	}
	return t, nil
}

// RegistrationTokens implements store.UIASessions.
func (db *DB) RegistrationTokens(ctx context.Context) ([]store.RegistrationToken, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+registrationTokenColumns+` FROM registration_tokens ORDER BY token`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing registration tokens: %w", err)
	}
	defer rows.Close()
	var out []store.RegistrationToken
	for rows.Next() {
		t, err := scanRegistrationToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading registration token: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CreateNonce implements store.UIASessions.
func (db *DB) CreateNonce(ctx context.Context, nonce string, expiresTS, now int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM registration_nonces WHERE expires_ts <= $1`, now); err != nil {
			return fmt.Errorf("sqlstore: deleting expired nonces: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO registration_nonces (nonce, expires_ts) VALUES ($1, $2)`, nonce, expiresTS)
		if isUniqueViolation(err) {
			return fmt.Errorf("nonce: %w", store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: storing nonce: %w", err)
		}
		return nil
	})
}

// ConsumeNonce implements store.UIASessions.
func (db *DB) ConsumeNonce(ctx context.Context, nonce string, now int64) error {
	return db.execOne(ctx, "nonce", `DELETE FROM registration_nonces WHERE nonce = $1 AND expires_ts > $2`, nonce, now)
}
