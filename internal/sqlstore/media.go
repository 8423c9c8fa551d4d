package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"myelin/internal/store"
)

var _ store.Media = (*DB)(nil)

// mediaChunk bounds the keys of one bulk query (SQLite allows 32766
// parameters).
const mediaChunk = 500

const mediaColumns = `origin, media_id, uploader, content_type, upload_name, size, sha256,
	created_ts, uploaded_ts, expires_ts, quarantined_by`

// CreateMedia implements store.Media.
func (db *DB) CreateMedia(ctx context.Context, rec store.MediaRecord, quota int64, maxPending int) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if rec.UploadedTS == 0 && maxPending > 0 {
			var n int
			if err := tx.QueryRowContext(ctx,
				`SELECT COUNT(*) FROM media WHERE uploader = $1 AND uploaded_ts = 0 AND expires_ts > $2`,
				rec.Uploader, rec.CreatedTS).Scan(&n); err != nil {
				return fmt.Errorf("sqlstore: counting pending media: %w", err)
			}
			if n >= maxPending {
				return fmt.Errorf("%s has %d pending uploads: %w", rec.Uploader, n, store.ErrMediaPendingLimit)
			}
		}
		if rec.UploadedTS > 0 {
			if err := checkMediaQuota(ctx, tx, rec.Uploader, rec.Size, quota); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO media (`+mediaColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
			rec.Origin, rec.MediaID, rec.Uploader, rec.ContentType, rec.UploadName, rec.Size, rec.SHA256,
			rec.CreatedTS, rec.UploadedTS, rec.ExpiresTS, rec.QuarantinedBy)
		if err != nil {
			return fmt.Errorf("sqlstore: storing medium: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("medium %s/%s: %w", rec.Origin, rec.MediaID, store.ErrConflict)
		}
		return nil
	})
}

// checkMediaQuota fails with ErrMediaQuota when adding size bytes to
// uploader's uploaded media would exceed quota (0: no quota).
func checkMediaQuota(ctx context.Context, tx *sql.Tx, uploader string, size, quota int64) error {
	if quota <= 0 || uploader == "" {
		return nil
	}
	var used int64
	if err := tx.QueryRowContext(ctx,
		`SELECT COALESCE(SUM(size), 0) FROM media WHERE uploader = $1 AND uploaded_ts > 0`, uploader).Scan(&used); err != nil {
		return fmt.Errorf("sqlstore: reading media usage: %w", err)
	}
	if used+size > quota {
		return fmt.Errorf("%s uses %d of %d bytes, adding %d: %w", uploader, used, quota, size, store.ErrMediaQuota)
	}
	return nil
}

// FinishPendingMedia implements store.Media.
func (db *DB) FinishPendingMedia(ctx context.Context, key store.MediaKey, uploader string, c store.MediaContent, quota int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var owner string
		var uploaded, expires int64
		err := tx.QueryRowContext(ctx,
			`SELECT uploader, uploaded_ts, expires_ts FROM media WHERE origin = $1 AND media_id = $2`,
			key.Origin, key.MediaID).Scan(&owner, &uploaded, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("medium %s/%s: %w", key.Origin, key.MediaID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: reading medium: %w", err)
		}
		switch {
		case owner != uploader:
			return fmt.Errorf("medium %s/%s: %w", key.Origin, key.MediaID, store.ErrMediaNotOwner)
		case uploaded > 0:
			return fmt.Errorf("medium %s/%s: %w", key.Origin, key.MediaID, store.ErrConflict)
		case expires <= c.UploadedTS:
			return fmt.Errorf("medium %s/%s expired: %w", key.Origin, key.MediaID, store.ErrNotFound)
		}
		if err := checkMediaQuota(ctx, tx, uploader, c.Size, quota); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE media SET content_type = $1, upload_name = $2, size = $3, sha256 = $4,
			uploaded_ts = $5, expires_ts = 0 WHERE origin = $6 AND media_id = $7 AND uploaded_ts = 0`,
			c.ContentType, c.UploadName, c.Size, c.SHA256, c.UploadedTS, key.Origin, key.MediaID)
		if err != nil {
			return fmt.Errorf("sqlstore: storing upload: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("medium %s/%s: %w", key.Origin, key.MediaID, store.ErrConflict)
		}
		return nil
	})
}

// mediaKeyFilter returns "(origin = $s AND media_id = $s+1) OR ..." and its
// arguments.
func mediaKeyFilter(start int, keys []store.MediaKey) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 2*len(keys))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" OR ")
		}
		fmt.Fprintf(&b, "(origin = $%d AND media_id = $%d)", start+2*i, start+2*i+1)
		args = append(args, k.Origin, k.MediaID)
	}
	return b.String(), args
}

// Media implements store.Media.
func (db *DB) Media(ctx context.Context, keys []store.MediaKey) ([]store.MediaRecord, error) {
	var out []store.MediaRecord
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), mediaChunk)]
		keys = keys[len(chunk):]
		filter, args := mediaKeyFilter(1, chunk)
		rows, err := db.read.QueryContext(ctx, `SELECT `+mediaColumns+` FROM media WHERE `+filter, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading media: %w", err)
		}
		for rows.Next() {
			var r store.MediaRecord
			if err := rows.Scan(&r.Origin, &r.MediaID, &r.Uploader, &r.ContentType, &r.UploadName, &r.Size, &r.SHA256,
				&r.CreatedTS, &r.UploadedTS, &r.ExpiresTS, &r.QuarantinedBy); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading media: %w", err)
			}
			out = append(out, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading media: %w", err)
		}
	}
	return out, nil
}

// MediaUsage implements store.Media.
func (db *DB) MediaUsage(ctx context.Context, uploader string) (int64, error) {
	var used int64
	if err := db.read.QueryRowContext(ctx,
		`SELECT COALESCE(SUM(size), 0) FROM media WHERE uploader = $1 AND uploaded_ts > 0`, uploader).Scan(&used); err != nil {
		return 0, fmt.Errorf("sqlstore: reading media usage: %w", err)
	}
	return used, nil
}

// BlobsInUse implements store.Media.
func (db *DB) BlobsInUse(ctx context.Context, sha256s []string) (map[string]bool, error) {
	out := map[string]bool{}
	for len(sha256s) > 0 {
		chunk := sha256s[:min(len(sha256s), mediaChunk)]
		sha256s = sha256s[len(chunk):]
		in := placeholders(1, len(chunk))
		rows, err := db.read.QueryContext(ctx, `SELECT sha256 FROM media WHERE sha256 IN (`+in+`)
			UNION SELECT sha256 FROM media_thumbnails WHERE sha256 IN (`+in+`)`, stringArgs(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading blob references: %w", err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading blob references: %w", err)
			}
			out[s] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading blob references: %w", err)
		}
	}
	return out, nil
}

// DeleteExpiredPendingMedia implements store.Media.
func (db *DB) DeleteExpiredPendingMedia(ctx context.Context, now int64) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`DELETE FROM media WHERE uploaded_ts = 0 AND expires_ts > 0 AND expires_ts <= $1 AND quarantined_by = ''`, now)
		if err != nil {
			return fmt.Errorf("sqlstore: deleting expired media: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// QuarantineMedia implements store.Media.
func (db *DB) QuarantineMedia(ctx context.Context, keys []store.MediaKey, by string, placeholder bool) (int, error) {
	var total int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		total = 0
		for _, k := range keys {
			res, err := tx.ExecContext(ctx,
				`UPDATE media SET quarantined_by = $1 WHERE origin = $2 AND media_id = $3 AND quarantined_by <> $1`,
				by, k.Origin, k.MediaID)
			if err != nil {
				return fmt.Errorf("sqlstore: quarantining medium: %w", err)
			}
			n, _ := res.RowsAffected()
			if n == 0 && placeholder && by != "" {
				res, err = tx.ExecContext(ctx, `INSERT INTO media (`+mediaColumns+`)
					VALUES ($1, $2, '', '', '', 0, '', 0, 0, 0, $3) ON CONFLICT DO NOTHING`, k.Origin, k.MediaID, by)
				if err != nil {
					return fmt.Errorf("sqlstore: quarantining medium: %w", err)
				}
				n, _ = res.RowsAffected()
			}
			total += n
		}
		return nil
	})
	return int(total), err
}

// QuarantineMediaByUploader implements store.Media.
func (db *DB) QuarantineMediaByUploader(ctx context.Context, uploader, by string) (int, error) {
	return db.quarantineWhere(ctx, `uploader = $2`, by, uploader)
}

// QuarantineMediaBySHA256 implements store.Media.
func (db *DB) QuarantineMediaBySHA256(ctx context.Context, sha256, by string) (int, error) {
	return db.quarantineWhere(ctx, `sha256 = $2`, by, sha256)
}

func (db *DB) quarantineWhere(ctx context.Context, cond, by, arg string) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE media SET quarantined_by = $1 WHERE `+cond+` AND quarantined_by <> $1`, by, arg)
		if err != nil {
			return fmt.Errorf("sqlstore: quarantining media: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// PutMediaThumbnails implements store.Media.
func (db *DB) PutMediaThumbnails(ctx context.Context, thumbs []store.MediaThumbnail) error {
	if len(thumbs) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, t := range thumbs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO media_thumbnails
				(origin, media_id, width, height, method, content_type, size, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (origin, media_id, width, height, method) DO UPDATE SET
				content_type = excluded.content_type, size = excluded.size, sha256 = excluded.sha256`,
				t.Origin, t.MediaID, t.Width, t.Height, t.Method, t.ContentType, t.Size, t.SHA256); err != nil {
				return fmt.Errorf("sqlstore: storing thumbnail: %w", err)
			}
		}
		return nil
	})
}

// MediaThumbnails implements store.Media.
func (db *DB) MediaThumbnails(ctx context.Context, keys []store.MediaKey) ([]store.MediaThumbnail, error) {
	var out []store.MediaThumbnail
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), mediaChunk)]
		keys = keys[len(chunk):]
		filter, args := mediaKeyFilter(1, chunk)
		rows, err := db.read.QueryContext(ctx, `SELECT origin, media_id, width, height, method, content_type, size, sha256
			FROM media_thumbnails WHERE `+filter, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading thumbnails: %w", err)
		}
		for rows.Next() {
			var t store.MediaThumbnail
			if err := rows.Scan(&t.Origin, &t.MediaID, &t.Width, &t.Height, &t.Method, &t.ContentType, &t.Size, &t.SHA256); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading thumbnails: %w", err)
			}
			out = append(out, t)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading thumbnails: %w", err)
		}
	}
	return out, nil
}

// PutScanVerdicts implements store.Media.
func (db *DB) PutScanVerdicts(ctx context.Context, verdicts []store.ScanVerdict) error {
	if len(verdicts) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, v := range verdicts {
			// Infected stays infected: clean only if both are clean, and an
			// infected verdict keeps its first finding.
			if _, err := tx.ExecContext(ctx, `INSERT INTO media_scan_verdicts (scan_key, clean, info, scanned_ts)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (scan_key) DO UPDATE SET
				info = CASE WHEN media_scan_verdicts.clean THEN excluded.info ELSE media_scan_verdicts.info END,
				clean = (media_scan_verdicts.clean AND excluded.clean),
				scanned_ts = excluded.scanned_ts`,
				v.Key, v.Clean, v.Info, v.ScannedTS); err != nil {
				return fmt.Errorf("sqlstore: storing scan verdict: %w", err)
			}
		}
		return nil
	})
}

// ScanVerdicts implements store.Media.
func (db *DB) ScanVerdicts(ctx context.Context, keys []string) ([]store.ScanVerdict, error) {
	var out []store.ScanVerdict
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), mediaChunk)]
		keys = keys[len(chunk):]
		rows, err := db.read.QueryContext(ctx, `SELECT scan_key, clean, info, scanned_ts FROM media_scan_verdicts
			WHERE scan_key IN (`+placeholders(1, len(chunk))+`)`, stringArgs(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading scan verdicts: %w", err)
		}
		for rows.Next() {
			var v store.ScanVerdict
			if err := rows.Scan(&v.Key, &v.Clean, &v.Info, &v.ScannedTS); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading scan verdicts: %w", err)
			}
			out = append(out, v)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading scan verdicts: %w", err)
		}
	}
	return out, nil
}

// PutURLPreview implements store.Media.
func (db *DB) PutURLPreview(ctx context.Context, p store.URLPreview) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO media_url_previews (url, og, fetched_ts) VALUES ($1, $2, $3)
			ON CONFLICT (url) DO UPDATE SET og = excluded.og, fetched_ts = excluded.fetched_ts`,
			p.URL, p.OG, p.FetchedTS); err != nil {
			return fmt.Errorf("sqlstore: storing URL preview: %w", err)
		}
		return nil
	})
}

// URLPreview implements store.Media.
func (db *DB) URLPreview(ctx context.Context, url string) (store.URLPreview, error) {
	p := store.URLPreview{URL: url}
	err := db.read.QueryRowContext(ctx, `SELECT og, fetched_ts FROM media_url_previews WHERE url = $1`, url).
		Scan(&p.OG, &p.FetchedTS)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("URL preview: %w", store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("sqlstore: reading URL preview: %w", err)
	}
	return p, nil
}

// MediaScannerKey implements store.Media.
func (db *DB) MediaScannerKey(ctx context.Context, candidate []byte) ([]byte, error) {
	var key []byte
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO media_scanner_key (id, secret) VALUES (1, $1) ON CONFLICT DO NOTHING`, candidate); err != nil {
			return fmt.Errorf("sqlstore: storing scanner key: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT secret FROM media_scanner_key WHERE id = 1`).Scan(&key); err != nil {
			return fmt.Errorf("sqlstore: reading scanner key: %w", err)
		}
		return nil
	})
	return key, err
}
