package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"myelin/internal/store"
)

var _ store.E2EEKeys = (*DB)(nil)

// e2eeChunk bounds the values of one IN list (SQLite allows 32766
// parameters, PostgreSQL 65535).
const e2eeChunk = 500

// chunks calls fn with consecutive pieces of at most e2eeChunk items.
func chunks[T any](items []T, fn func([]T) error) error {
	for start := 0; start < len(items); start += e2eeChunk {
		if err := fn(items[start:min(start+e2eeChunk, len(items))]); err != nil {
			return err
		}
	}
	return nil
}

// recordDeviceListChanges takes one device-lists position per change and
// returns the last (0 for none).
func recordDeviceListChanges(ctx context.Context, tx *sql.Tx, changes []store.DeviceListChange) (int64, error) {
	if len(changes) == 0 {
		return 0, nil
	}
	last, err := advancePosition(ctx, tx, StreamDeviceLists, int64(len(changes)))
	if err != nil {
		return 0, err
	}
	first := last - int64(len(changes)) + 1
	for i, c := range changes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO e2ee_device_list_changes (pos, user_id, viewer) VALUES ($1, $2, $3)`,
			first+int64(i), c.UserID, c.Viewer); err != nil {
			return 0, fmt.Errorf("sqlstore: recording device-list change: %w", err)
		}
	}
	return last, nil
}

// UploadKeys implements store.E2EEKeys.
func (db *DB) UploadKeys(ctx context.Context, u store.KeyUpload) (store.KeyUploadResult, error) {
	var res store.KeyUploadResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if u.DeviceKeys != nil {
			changed, err := putDeviceKeys(ctx, tx, u)
			if err != nil {
				return err
			}
			if changed {
				if res.DeviceListPos, err = recordDeviceListChanges(ctx, tx, []store.DeviceListChange{{UserID: u.UserID}}); err != nil {
					return err
				}
			}
		}
		added, err := putOneTimeKeys(ctx, tx, u)
		if err != nil {
			return err
		}
		for _, k := range u.FallbackKeys {
			// Re-uploading the current key keeps its used flag.
			if _, err := tx.ExecContext(ctx, `INSERT INTO e2ee_fallback_keys (user_id, device_id, algorithm, key_id, key_json, used)
				VALUES ($1, $2, $3, $4, $5, FALSE)
				ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET key_id = excluded.key_id, key_json = excluded.key_json, used = FALSE
				WHERE e2ee_fallback_keys.key_id <> excluded.key_id OR e2ee_fallback_keys.key_json <> excluded.key_json`,
				u.UserID, u.DeviceID, k.Algorithm, k.KeyID, k.JSON); err != nil {
				return fmt.Errorf("sqlstore: storing fallback key: %w", err)
			}
		}
		if res.Counts, err = oneTimeKeyCounts(ctx, tx, u.UserID, u.DeviceID); err != nil {
			return err
		}
		if u.MaxOneTimeKeys > 0 {
			for alg := range added {
				if res.Counts[alg] > u.MaxOneTimeKeys {
					return &store.KeyConflict{Kind: store.ConflictTooManyKeys, Key: alg}
				}
			}
		}
		return nil
	})
	if err != nil {
		return store.KeyUploadResult{}, err
	}
	return res, nil
}

// putDeviceKeys stores the upload's device keys if the stored ones are
// still PrevDeviceKeys, and reports whether anything changed.
func putDeviceKeys(ctx context.Context, tx *sql.Tx, u store.KeyUpload) (bool, error) {
	conflict := &store.KeyConflict{Kind: store.ConflictDeviceKeys}
	if u.PrevDeviceKeys == nil {
		res, err := tx.ExecContext(ctx, `INSERT INTO e2ee_device_keys (user_id, device_id, key_json) VALUES ($1, $2, $3)
			ON CONFLICT (user_id, device_id) DO NOTHING`, u.UserID, u.DeviceID, u.DeviceKeys)
		if err != nil {
			return false, fmt.Errorf("sqlstore: storing device keys: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return false, conflict
		}
		return true, nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE e2ee_device_keys SET key_json = $3 WHERE user_id = $1 AND device_id = $2 AND key_json = $4`,
		u.UserID, u.DeviceID, u.DeviceKeys, u.PrevDeviceKeys)
	if err != nil {
		return false, fmt.Errorf("sqlstore: storing device keys: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, conflict
	}
	return true, nil
}

// putOneTimeKeys adds the upload's one-time keys and returns the algorithms
// of the keys actually added. A key ID stored before must have the same
// JSON.
func putOneTimeKeys(ctx context.Context, tx *sql.Tx, u store.KeyUpload) (map[string]bool, error) {
	added := map[string]bool{}
	err := chunks(u.OneTimeKeys, func(keys []store.OneTimeKey) error {
		// Keys already stored (claimed or not) must be unchanged.
		var conds []string
		args := []any{u.UserID, u.DeviceID}
		for _, k := range keys {
			conds = append(conds, fmt.Sprintf("(algorithm = $%d AND key_id = $%d)", len(args)+1, len(args)+2))
			args = append(args, k.Algorithm, k.KeyID)
		}
		rows, err := tx.QueryContext(ctx, `SELECT algorithm, key_id, key_json FROM e2ee_one_time_keys
			WHERE user_id = $1 AND device_id = $2 AND (`+strings.Join(conds, " OR ")+`)`, args...)
		if err != nil {
			return fmt.Errorf("sqlstore: reading one-time keys: %w", err)
		}
		stored := map[[2]string][]byte{}
		for rows.Next() {
			var alg, id string
			var js []byte
			if err := rows.Scan(&alg, &id, &js); err != nil {
				rows.Close()
				return fmt.Errorf("sqlstore: reading one-time keys: %w", err)
			}
			stored[[2]string{alg, id}] = js
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlstore: reading one-time keys: %w", err)
		}
		var values []string
		args = []any{u.UserID, u.DeviceID}
		for _, k := range keys {
			if js, ok := stored[[2]string{k.Algorithm, k.KeyID}]; ok {
				if !bytes.Equal(js, k.JSON) {
					return &store.KeyConflict{Kind: store.ConflictOneTimeKey, Key: k.Algorithm + ":" + k.KeyID}
				}
				continue
			}
			n := len(args)
			values = append(values, fmt.Sprintf("($1, $2, $%d, $%d, $%d)", n+1, n+2, n+3))
			args = append(args, k.Algorithm, k.KeyID, k.JSON)
			added[k.Algorithm] = true
		}
		if len(values) == 0 {
			return nil
		}
		// Two copies of one key in an upload, or a concurrent upload of the
		// same key, meet the unique constraint: the key is stored once.
		if _, err := tx.ExecContext(ctx, `INSERT INTO e2ee_one_time_keys (user_id, device_id, algorithm, key_id, key_json)
			VALUES `+strings.Join(values, ", ")+` ON CONFLICT (user_id, device_id, algorithm, key_id) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("sqlstore: storing one-time keys: %w", err)
		}
		return nil
	})
	return added, err
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func oneTimeKeyCounts(ctx context.Context, q queryer, userID, deviceID string) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT algorithm, COUNT(*) FROM e2ee_one_time_keys
		WHERE user_id = $1 AND device_id = $2 AND NOT claimed GROUP BY algorithm`, userID, deviceID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: counting one-time keys: %w", err)
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var alg string
		var n int64
		if err := rows.Scan(&alg, &n); err != nil {
			return nil, fmt.Errorf("sqlstore: counting one-time keys: %w", err)
		}
		counts[alg] = n
	}
	return counts, rows.Err()
}

// KeyCounts implements store.E2EEKeys.
func (db *DB) KeyCounts(ctx context.Context, userID, deviceID string) (map[string]int64, []string, error) {
	counts, err := oneTimeKeyCounts(ctx, db.read, userID, deviceID)
	if err != nil {
		return nil, nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT algorithm FROM e2ee_fallback_keys
		WHERE user_id = $1 AND device_id = $2 AND NOT used ORDER BY algorithm`, userID, deviceID)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: reading fallback keys: %w", err)
	}
	defer rows.Close()
	unused := []string{}
	for rows.Next() {
		var alg string
		if err := rows.Scan(&alg); err != nil {
			return nil, nil, fmt.Errorf("sqlstore: reading fallback keys: %w", err)
		}
		unused = append(unused, alg)
	}
	return counts, unused, rows.Err()
}

// serverSuffix returns ":server" of a local owner's user ID.
func serverSuffix(o store.KeyOwner) string { return o.UserID[min(len(o.UserID), 1+len(o.Localpart)):] }

// DeviceKeys implements store.E2EEKeys.
func (db *DB) DeviceKeys(ctx context.Context, qs []store.DeviceKeysQuery) ([]store.DeviceKeys, error) {
	want := map[string]map[string]bool{} // user → device IDs (nil: all)
	var local, remote []store.KeyOwner
	for _, q := range qs {
		if _, seen := want[q.UserID]; seen {
			continue
		}
		if len(q.DeviceIDs) > 0 {
			ids := map[string]bool{}
			for _, id := range q.DeviceIDs {
				ids[id] = true
			}
			want[q.UserID] = ids
		} else {
			want[q.UserID] = nil
		}
		if q.Localpart != "" {
			local = append(local, q.KeyOwner)
		} else {
			remote = append(remote, q.KeyOwner)
		}
	}
	var out []store.DeviceKeys
	scan := func(rows *sql.Rows, err error) error {
		if err != nil {
			return fmt.Errorf("sqlstore: reading device keys: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k store.DeviceKeys
			if err := rows.Scan(&k.UserID, &k.DeviceID, &k.JSON, &k.DisplayName); err != nil {
				return fmt.Errorf("sqlstore: reading device keys: %w", err)
			}
			if ids := want[k.UserID]; ids == nil || ids[k.DeviceID] {
				out = append(out, k)
			}
		}
		return rows.Err()
	}
	// Local users: only devices that exist, joined on the account's
	// localpart. All local owners share the server suffix.
	bySuffix := map[string][]store.KeyOwner{}
	for _, o := range local {
		bySuffix[serverSuffix(o)] = append(bySuffix[serverSuffix(o)], o)
	}
	for suffix, owners := range bySuffix {
		err := chunks(owners, func(owners []store.KeyOwner) error {
			args := []any{suffix}
			for _, o := range owners {
				args = append(args, o.Localpart)
			}
			return scan(db.read.QueryContext(ctx, `SELECT k.user_id, k.device_id, k.key_json, d.display_name
				FROM devices d JOIN e2ee_device_keys k ON k.user_id = '@' || d.localpart || $1 AND k.device_id = d.device_id
				WHERE d.localpart IN (`+placeholders(2, len(owners))+`)`, args...))
		})
		if err != nil {
			return nil, err
		}
	}
	err := chunks(remote, func(owners []store.KeyOwner) error {
		args := make([]any, len(owners))
		for i, o := range owners {
			args[i] = o.UserID
		}
		return scan(db.read.QueryContext(ctx, `SELECT user_id, device_id, key_json, '' FROM e2ee_device_keys
			WHERE user_id IN (`+placeholders(1, len(owners))+`)`, args...))
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].UserID != out[j].UserID {
			return out[i].UserID < out[j].UserID
		}
		return out[i].DeviceID < out[j].DeviceID
	})
	return out, nil
}

// ClaimKeys implements store.E2EEKeys.
func (db *DB) ClaimKeys(ctx context.Context, claims []store.KeyClaim) ([]store.ClaimedKey, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	// On PostgreSQL, concurrent claimers skip the rows another claim has
	// locked, so each gets its own key; SQLite runs one writer at a time.
	lock := ""
	if db.engine == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []store.ClaimedKey
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range claims {
			exists, args := "", []any{c.UserID, c.DeviceID, c.Algorithm}
			if c.Localpart != "" {
				exists = ` AND EXISTS (SELECT 1 FROM devices WHERE localpart = $4 AND device_id = $2)`
				args = append(args, c.Localpart)
			}
			k := store.ClaimedKey{UserID: c.UserID, DeviceID: c.DeviceID}
			k.Algorithm = c.Algorithm
			err := tx.QueryRowContext(ctx, `UPDATE e2ee_one_time_keys SET claimed = TRUE WHERE id = (
				SELECT id FROM e2ee_one_time_keys WHERE user_id = $1 AND device_id = $2 AND algorithm = $3 AND NOT claimed`+exists+`
				ORDER BY id LIMIT 1`+lock+`) RETURNING key_id, key_json`, args...).Scan(&k.KeyID, &k.JSON)
			if errors.Is(err, sql.ErrNoRows) {
				k.Fallback = true
				err = tx.QueryRowContext(ctx, `UPDATE e2ee_fallback_keys SET used = TRUE
					WHERE user_id = $1 AND device_id = $2 AND algorithm = $3`+exists+` RETURNING key_id, key_json`,
					args...).Scan(&k.KeyID, &k.JSON)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
			}
			if err != nil {
				return fmt.Errorf("sqlstore: claiming key: %w", err)
			}
			out = append(out, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CrossSigningKeys implements store.E2EEKeys.
func (db *DB) CrossSigningKeys(ctx context.Context, userIDs []string) ([]store.CrossSigningKey, error) {
	var out []store.CrossSigningKey
	err := chunks(userIDs, func(ids []string) error {
		rows, err := db.read.QueryContext(ctx, `SELECT user_id, key_usage, public_key, key_json FROM e2ee_cross_signing_keys
			WHERE user_id IN (`+placeholders(1, len(ids))+`) ORDER BY user_id, key_usage`, stringArgs(ids)...)
		if err != nil {
			return fmt.Errorf("sqlstore: reading cross-signing keys: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k store.CrossSigningKey
			if err := rows.Scan(&k.UserID, &k.Usage, &k.PublicKey, &k.JSON); err != nil {
				return fmt.Errorf("sqlstore: reading cross-signing keys: %w", err)
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	return out, err
}

// PutCrossSigningKeys implements store.E2EEKeys.
func (db *DB) PutCrossSigningKeys(ctx context.Context, userID string, keys []store.CrossSigningKey, expectMaster string) (int64, error) {
	var pos int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var master string
		err := tx.QueryRowContext(ctx, `SELECT public_key FROM e2ee_cross_signing_keys WHERE user_id = $1 AND key_usage = $2`,
			userID, store.UsageMaster).Scan(&master)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlstore: reading master key: %w", err)
		}
		if master != expectMaster {
			return fmt.Errorf("master key changed meanwhile: %w", store.ErrConflict)
		}
		for _, k := range keys {
			// Signatures uploaded for the key being replaced go with it.
			if _, err := tx.ExecContext(ctx, `DELETE FROM e2ee_key_signatures WHERE target_user_id = $1 AND target_key_id IN (
				SELECT public_key FROM e2ee_cross_signing_keys WHERE user_id = $1 AND key_usage = $2 AND public_key <> $3)`,
				userID, k.Usage, k.PublicKey); err != nil {
				return fmt.Errorf("sqlstore: deleting signatures: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO e2ee_cross_signing_keys (user_id, key_usage, public_key, key_json)
				VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, key_usage) DO UPDATE SET public_key = excluded.public_key, key_json = excluded.key_json`,
				userID, k.Usage, k.PublicKey, k.JSON); err != nil {
				return fmt.Errorf("sqlstore: storing cross-signing key: %w", err)
			}
		}
		pos, err = recordDeviceListChanges(ctx, tx, []store.DeviceListChange{{UserID: userID}})
		return err
	})
	return pos, err
}

// KeySignatures implements store.E2EEKeys.
func (db *DB) KeySignatures(ctx context.Context, targetUserIDs []string, viewer string) ([]store.KeySignature, error) {
	var out []store.KeySignature
	err := chunks(targetUserIDs, func(ids []string) error {
		args := append([]any{viewer}, stringArgs(ids)...)
		rows, err := db.read.QueryContext(ctx, `SELECT target_user_id, target_key_id, signer_user_id, signer_key_id, signature
			FROM e2ee_key_signatures WHERE target_user_id IN (`+placeholders(2, len(ids))+`)
			AND (signer_user_id = $1 OR signer_user_id = target_user_id)
			ORDER BY target_user_id, target_key_id, signer_user_id, signer_key_id`, args...)
		if err != nil {
			return fmt.Errorf("sqlstore: reading signatures: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s store.KeySignature
			if err := rows.Scan(&s.TargetUserID, &s.TargetKeyID, &s.SignerUserID, &s.SignerKeyID, &s.Signature); err != nil {
				return fmt.Errorf("sqlstore: reading signatures: %w", err)
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	return out, err
}

// PutKeySignatures implements store.E2EEKeys.
func (db *DB) PutKeySignatures(ctx context.Context, sigs []store.KeySignature, changes []store.DeviceListChange) (int64, error) {
	var pos int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range sigs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO e2ee_key_signatures (target_user_id, target_key_id, signer_user_id, signer_key_id, signature)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (target_user_id, target_key_id, signer_user_id, signer_key_id)
				DO UPDATE SET signature = excluded.signature`,
				s.TargetUserID, s.TargetKeyID, s.SignerUserID, s.SignerKeyID, s.Signature); err != nil {
				return fmt.Errorf("sqlstore: storing signature: %w", err)
			}
		}
		var err error
		pos, err = recordDeviceListChanges(ctx, tx, changes)
		return err
	})
	return pos, err
}

// PruneDevices implements store.E2EEKeys.
func (db *DB) PruneDevices(ctx context.Context, owner store.KeyOwner) (int64, error) {
	if owner.Localpart == "" {
		return 0, fmt.Errorf("sqlstore: pruning devices of %q: not a local user", owner.UserID)
	}
	gone := func(table string) string {
		return ` NOT EXISTS (SELECT 1 FROM devices d WHERE d.localpart = $2 AND d.device_id = ` + table + `.device_id)`
	}
	var pos int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM e2ee_device_keys WHERE user_id = $1 AND`+gone("e2ee_device_keys"), owner.UserID, owner.Localpart)
		if err != nil {
			return fmt.Errorf("sqlstore: deleting device keys: %w", err)
		}
		deleted, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlstore: deleting device keys: %w", err)
		}
		for _, table := range []string{"e2ee_one_time_keys", "e2ee_fallback_keys", "e2ee_to_device"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = $1 AND`+gone(table), owner.UserID, owner.Localpart); err != nil {
				return fmt.Errorf("sqlstore: deleting from %s: %w", table, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM e2ee_key_signatures WHERE target_user_id = $1
			AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.localpart = $2 AND d.device_id = e2ee_key_signatures.target_key_id)
			AND NOT EXISTS (SELECT 1 FROM e2ee_cross_signing_keys c WHERE c.user_id = $1 AND c.public_key = e2ee_key_signatures.target_key_id)`,
			owner.UserID, owner.Localpart); err != nil {
			return fmt.Errorf("sqlstore: deleting signatures: %w", err)
		}
		if deleted > 0 {
			pos, err = recordDeviceListChanges(ctx, tx, []store.DeviceListChange{{UserID: owner.UserID}})
		}
		return err
	})
	return pos, err
}

// DeviceListChanges implements store.E2EEKeys.
func (db *DB) DeviceListChanges(ctx context.Context, viewer string, after, upTo int64) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT c.user_id FROM e2ee_device_list_changes c
		WHERE c.pos > $2 AND c.pos <= $3 AND (c.viewer = '' OR c.viewer = $1)
		AND (c.user_id = $1 OR c.viewer = $1 OR c.user_id IN (SELECT o.user_id FROM room_memberships m
			JOIN room_memberships o ON o.room_nid = m.room_nid
			WHERE m.user_id = $1 AND m.membership = 'join' AND o.membership = 'join'))
		ORDER BY c.user_id`, viewer, after, upTo)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading device-list changes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("sqlstore: reading device-list changes: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeviceListPosition implements store.E2EEKeys.
func (db *DB) DeviceListPosition(ctx context.Context) (int64, error) {
	return db.CurrentPosition(ctx, StreamDeviceLists)
}

// MemberChanges implements store.E2EEKeys.
func (db *DB) MemberChanges(ctx context.Context, userID string, after, upTo int64) ([]store.MemberChange, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT e.room_nid, k.state_key, e.membership, e.stream_pos
		FROM events e JOIN state_keys k ON k.state_key_nid = e.state_key_nid
		WHERE e.room_nid IN (SELECT room_nid FROM room_memberships WHERE user_id = $1 AND membership = 'join'
			UNION SELECT o.room_nid FROM events o WHERE o.state_key_nid = (
				SELECT state_key_nid FROM state_keys WHERE event_type = 'm.room.member' AND state_key = $1)
			AND o.stream_pos > $2 AND o.stream_pos <= $3)
		AND e.stream_pos > $2 AND e.stream_pos <= $3 AND e.event_type = 'm.room.member' AND e.membership IS NOT NULL
		ORDER BY e.stream_pos`, userID, after, upTo)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading membership changes: %w", err)
	}
	defer rows.Close()
	var out []store.MemberChange
	for rows.Next() {
		var c store.MemberChange
		if err := rows.Scan(&c.RoomNID, &c.UserID, &c.Membership, &c.Pos); err != nil {
			return nil, fmt.Errorf("sqlstore: reading membership changes: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// JoinedUsers implements store.E2EEKeys.
func (db *DB) JoinedUsers(ctx context.Context, roomNIDs []int64) ([]string, error) {
	set := map[string]bool{}
	err := chunks(roomNIDs, func(nids []int64) error {
		rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT user_id FROM room_memberships
			WHERE membership = 'join' AND room_nid IN (`+placeholders(1, len(nids))+`)`, int64Args(nids)...)
		if err != nil {
			return fmt.Errorf("sqlstore: reading joined users: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				return fmt.Errorf("sqlstore: reading joined users: %w", err)
			}
			set[u] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(set))
	for u := range set {
		out = append(out, u)
	}
	slices.Sort(out)
	return out, nil
}
