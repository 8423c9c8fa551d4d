package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"myelin/internal/store"
)

var _ store.Profiles = (*DB)(nil)

// Profiles implements store.Profiles.
func (db *DB) Profiles(ctx context.Context, localparts []string) ([]store.Profile, error) {
	if len(localparts) == 0 {
		return nil, nil
	}
	rows, err := db.read.QueryContext(ctx,
		`SELECT localpart, displayname, avatar_url, fields FROM profiles WHERE localpart IN (`+placeholders(1, len(localparts))+`)`,
		stringArgs(localparts)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading profiles: %w", err)
	}
	return scanProfiles(rows)
}

func scanProfiles(rows *sql.Rows) ([]store.Profile, error) {
	defer rows.Close()
	var out []store.Profile
	for rows.Next() {
		var p store.Profile
		var fields string
		if err := rows.Scan(&p.Localpart, &p.DisplayName, &p.AvatarURL, &fields); err != nil {
			return nil, fmt.Errorf("sqlstore: reading profile: %w", err)
		}
		if err := decodeFields(fields, &p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading profiles: %w", err)
	}
	return out, nil
}

func decodeFields(text string, p *store.Profile) error {
	p.Fields = nil
	if text == "" || text == "{}" {
		return nil
	}
	if err := json.Unmarshal([]byte(text), &p.Fields); err != nil {
		return fmt.Errorf("sqlstore: profile fields of %q: %w", p.Localpart, err)
	}
	return nil
}

// UpdateProfile implements store.Profiles.
func (db *DB) UpdateProfile(ctx context.Context, localpart string, update func(p *store.Profile) error) (store.Profile, int64, error) {
	var p store.Profile
	var presencePos int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		p, presencePos = store.Profile{Localpart: localpart}, 0
		// The upsert creates the row if needed and locks it until commit
		// (on SQLite the single writer already serializes us).
		var fields string
		err := tx.QueryRowContext(ctx,
			`INSERT INTO profiles (localpart) VALUES ($1)
			 ON CONFLICT (localpart) DO UPDATE SET localpart = excluded.localpart
			 RETURNING displayname, avatar_url, fields`, localpart,
		).Scan(&p.DisplayName, &p.AvatarURL, &fields)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("account %q: %w", localpart, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: locking profile: %w", err)
		}
		if err := decodeFields(fields, &p); err != nil {
			return err
		}
		oldName, oldAvatar := p.DisplayName, p.AvatarURL
		if err := update(&p); err != nil {
			return err
		}
		p.Localpart = localpart
		fieldsText := "{}"
		if len(p.Fields) > 0 {
			b, err := json.Marshal(p.Fields)
			if err != nil {
				return fmt.Errorf("sqlstore: encoding profile fields: %w", err)
			}
			fieldsText = string(b)
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE profiles SET displayname = $1, avatar_url = $2, search_name = $3, fields = $4 WHERE localpart = $5`,
			p.DisplayName, p.AvatarURL, strings.ToLower(p.DisplayName), fieldsText, localpart); err != nil {
			return fmt.Errorf("sqlstore: storing profile: %w", err)
		}
		if p.DisplayName != oldName || p.AvatarURL != oldAvatar {
			pos, err := nextPosition(ctx, tx, StreamPresence)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE presence SET pos = $1 WHERE localpart = $2`, pos, localpart); err != nil {
				return fmt.Errorf("sqlstore: moving presence: %w", err)
			}
			presencePos = pos
		}
		return nil
	})
	if err != nil {
		return store.Profile{}, 0, err
	}
	return p, presencePos, nil
}

// SearchProfiles implements store.Profiles.
func (db *DB) SearchProfiles(ctx context.Context, term string, scope *store.DirectoryScope, limit int) ([]store.Profile, error) {
	escaped := escapeLike(term)
	args := []any{"%" + escaped + "%", escaped + "%", limit}
	where := ""
	if scope != nil {
		// The user's joined memberships: in an open room, or in a room the
		// searcher is joined to (the searcher does not share a room with
		// themselves).
		args = append(args, scope.Server, scope.Searcher)
		open := "FALSE"
		if len(scope.OpenRooms) > 0 {
			open = `m.room_nid IN (` + placeholders(len(args)+1, len(scope.OpenRooms)) + `)`
			for _, nid := range scope.OpenRooms {
				args = append(args, nid)
			}
		}
		where = ` AND EXISTS (SELECT 1 FROM room_memberships m
			WHERE m.user_id = '@' || a.localpart || ':' || $4 AND m.membership = 'join'
			AND (` + open + ` OR (m.user_id <> $5 AND m.room_nid IN
				(SELECT s.room_nid FROM room_memberships s WHERE s.user_id = $5 AND s.membership = 'join'))))`
	}
	rows, err := db.read.QueryContext(ctx,
		`SELECT a.localpart, COALESCE(p.displayname, ''), COALESCE(p.avatar_url, ''), COALESCE(p.fields, '{}')
		 FROM accounts a LEFT JOIN profiles p ON p.localpart = a.localpart
		 WHERE NOT a.deactivated AND (a.localpart LIKE $1 ESCAPE '\' OR p.search_name LIKE $1 ESCAPE '\')`+where+`
		 ORDER BY CASE WHEN a.localpart LIKE $2 ESCAPE '\' OR p.search_name LIKE $2 ESCAPE '\' THEN 0 ELSE 1 END,
		          CASE WHEN COALESCE(p.displayname, '') = '' THEN 1 ELSE 0 END,
		          a.localpart
		 LIMIT $3`,
		args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: searching profiles: %w", err)
	}
	return scanProfiles(rows)
}

// escapeLike escapes LIKE's wildcards with '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// placeholders returns "$start, $start+1, ..." for n parameters.
func placeholders(start, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", start+i)
	}
	return b.String()
}

func stringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// isForeignKeyViolation reports whether err is a foreign-key violation on
// either engine.
func isForeignKeyViolation(err error) bool {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return false
	}
	msg := err.Error()
	// SQLite: "FOREIGN KEY constraint failed" (787); PostgreSQL: SQLSTATE 23503.
	return strings.Contains(msg, "FOREIGN KEY constraint failed") || strings.Contains(msg, "SQLSTATE 23503")
}
