package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Upload is content a user sends.
type Upload struct {
	// ContentType is the Content-Type header; empty means
	// application/octet-stream.
	ContentType string
	// FileName is the filename query parameter; may be empty.
	FileName string
	Body     io.Reader
	// ContentLength is the declared length, or -1 if unknown.
	ContentLength int64
}

// maxFileNameBytes and maxContentTypeBytes bound what is stored and echoed
// in headers.
const (
	maxFileNameBytes    = 255
	maxContentTypeBytes = 255
)

// octetStream is the type of content without a usable type.
const octetStream = "application/octet-stream"

// normalizeContentType returns the type to store: the client's, unless it
// is absent, too long or not a media type (then application/octet-stream).
// Clients expect the type they sent back byte for byte (Complement checks
// this, even for "img/png"), so a valid type is kept as given.
func normalizeContentType(ct string) string {
	ct = strings.TrimSpace(ct)
	if ct == "" || len(ct) > maxContentTypeBytes {
		return octetStream
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return octetStream
	}
	return ct
}

// checkFileName validates a file name from a client.
func checkFileName(name string) error {
	if len(name) > maxFileNameBytes || !utf8.ValidString(name) {
		return spec.InvalidParam("filename must be valid UTF-8 of at most %d bytes", maxFileNameBytes)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return spec.InvalidParam("filename must not contain control characters")
		}
	}
	return nil
}

// received is content stored in the blob store, scanned, not yet recorded.
type received struct {
	blob        BlobInfo
	contentType string
	fileName    string
	quarantined string
}

// receive validates an upload, stores its bytes within the size limit and
// the uploader's remaining quota, and scans them when a scanner is
// configured. On error nothing new is left in the blob store.
func (s *Service) receive(ctx context.Context, uploader spec.UserID, up Upload) (received, error) {
	if err := checkFileName(up.FileName); err != nil {
		return received{}, err
	}
	if up.ContentLength > s.opts.MaxUploadBytes {
		return received{}, s.errTooLarge()
	}
	limit := s.opts.MaxUploadBytes
	quotaLimited := false
	if q := s.opts.QuotaBytes; q > 0 {
		used, err := s.store.MediaUsage(ctx, uploader.String())
		if err != nil {
			return received{}, err
		}
		remaining := q - used
		if remaining < 0 || up.ContentLength > remaining {
			return received{}, errQuota
		}
		if remaining < limit {
			limit, quotaLimited = remaining, true
		}
	}
	blob, err := s.blobs.Put(ctx, up.Body, limit)
	if errors.Is(err, ErrBlobTooLarge) {
		if quotaLimited {
			return received{}, errQuota
		}
		return received{}, s.errTooLarge()
	}
	if err != nil {
		return received{}, err
	}
	rc := received{blob: blob, contentType: normalizeContentType(up.ContentType), fileName: up.FileName}
	if s.scanner != nil {
		v, err := s.scanner.scanBlob(ctx, s.blobs, blob.SHA256)
		if err != nil {
			s.dropBlob(ctx, blob)
			return received{}, spec.Unknown(503, "the content scanner is unavailable; try again later").Wrap(err)
		}
		switch {
		case v.mimeForbidden:
			s.dropBlob(ctx, blob)
			return received{}, spec.Forbidden("the server does not permit this file type (%s)", v.mimeType)
		case !v.clean && s.scanner.opts.Quarantine:
			s.log.WarnContext(ctx, "infected upload quarantined", "uploader", uploader.String(), "sha256", blob.SHA256, "finding", v.info)
			rc.quarantined = ScannerQuarantine
		case !v.clean:
			s.log.WarnContext(ctx, "infected upload refused", "uploader", uploader.String(), "sha256", blob.SHA256, "finding", v.info)
			s.dropBlob(ctx, blob)
			return received{}, spec.Forbidden("the content scanner refused this file")
		}
	}
	return rc, nil
}

// dropBlob deletes content this request stored, unless something refers
// to it (an identical upload may have been recorded meanwhile).
func (s *Service) dropBlob(ctx context.Context, b BlobInfo) {
	if !b.Created {
		return
	}
	inUse, err := s.store.BlobsInUse(ctx, []string{b.SHA256})
	if err != nil || inUse[b.SHA256] {
		return
	}
	if err := s.blobs.Delete(ctx, b.SHA256); err != nil {
		s.log.WarnContext(ctx, "deleting unused media content", "sha256", b.SHA256, "err", err)
	}
}

// Upload stores content and returns its mxc:// URI
// (POST /_matrix/media/v3/upload).
func (s *Service) Upload(ctx context.Context, uploader spec.UserID, up Upload) (string, error) {
	rc, err := s.receive(ctx, uploader, up)
	if err != nil {
		return "", err
	}
	id, err := s.newMediaID()
	if err != nil {
		s.dropBlob(ctx, rc.blob)
		return "", err
	}
	now := s.now()
	rec := store.MediaRecord{
		MediaKey: store.MediaKey{Origin: string(s.opts.ServerName), MediaID: id},
		Uploader: uploader.String(), ContentType: rc.contentType, UploadName: rc.fileName,
		Size: rc.blob.Size, SHA256: rc.blob.SHA256, CreatedTS: now, UploadedTS: now, QuarantinedBy: rc.quarantined,
	}
	if err := s.store.CreateMedia(ctx, rec, s.opts.QuotaBytes, 0); err != nil {
		s.dropBlob(ctx, rc.blob)
		if errors.Is(err, store.ErrMediaQuota) {
			return "", errQuota
		}
		return "", err
	}
	if rc.quarantined == "" {
		s.pregenerateThumbnails(ctx, rec)
	}
	return mxc(rec.MediaKey), nil
}

// pendingSweep limits how often Create deletes expired pending media.
const pendingSweep = time.Minute

// Create reserves a media ID for content uploaded later with UploadTo
// (POST /_matrix/media/v1/create). It returns the mxc:// URI and when the
// reservation expires (Unix milliseconds).
func (s *Service) Create(ctx context.Context, uploader spec.UserID) (string, int64, error) {
	now := s.now()
	if last := s.lastSweep.Load(); now-last > pendingSweep.Milliseconds() && s.lastSweep.CompareAndSwap(last, now) {
		if _, err := s.store.DeleteExpiredPendingMedia(ctx, now); err != nil {
			s.log.WarnContext(ctx, "deleting expired pending media", "err", err)
		}
	}
	id, err := s.newMediaID()
	if err != nil {
		return "", 0, err
	}
	rec := store.MediaRecord{
		MediaKey: store.MediaKey{Origin: string(s.opts.ServerName), MediaID: id},
		Uploader: uploader.String(), CreatedTS: now, ExpiresTS: now + s.opts.PendingExpiry.Milliseconds(),
	}
	if err := s.store.CreateMedia(ctx, rec, 0, s.opts.MaxPendingUploads); err != nil {
		if errors.Is(err, store.ErrMediaPendingLimit) {
			return "", 0, spec.LimitExceeded(time.Minute.Milliseconds())
		}
		return "", 0, err
	}
	return mxc(rec.MediaKey), rec.ExpiresTS, nil
}

// UploadTo stores content under a media ID the uploader created earlier
// (PUT /_matrix/media/v3/upload/{serverName}/{mediaId}).
func (s *Service) UploadTo(ctx context.Context, uploader spec.UserID, serverName, mediaID string, up Upload) error {
	key, err := parseKey(serverName, mediaID)
	if err != nil {
		return err
	}
	if !s.isLocal(key) {
		return spec.NotFound("media ID was not created here")
	}
	// Refuse before reading the body when the answer is already known.
	recs, err := s.store.Media(ctx, []store.MediaKey{key})
	if err != nil {
		return err
	}
	if len(recs) == 1 {
		if err := s.finishError(recs[0], uploader); err != nil {
			return err
		}
	} else {
		return spec.NotFound("unknown media ID")
	}
	rc, err := s.receive(ctx, uploader, up)
	if err != nil {
		return err
	}
	c := store.MediaContent{ContentType: rc.contentType, UploadName: rc.fileName, Size: rc.blob.Size,
		SHA256: rc.blob.SHA256, UploadedTS: s.now()}
	err = s.store.FinishPendingMedia(ctx, key, uploader.String(), c, s.opts.QuotaBytes)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		err = spec.NotFound("unknown or expired media ID")
	case errors.Is(err, store.ErrMediaNotOwner):
		err = spec.Forbidden("this media ID was created by another user")
	case errors.Is(err, store.ErrConflict):
		err = spec.NewError(409, spec.ErrCannotOverwriteMedia, "media already uploaded")
	case errors.Is(err, store.ErrMediaQuota):
		err = errQuota
	}
	if err != nil {
		s.dropBlob(ctx, rc.blob)
		return err
	}
	rec := store.MediaRecord{MediaKey: key, Uploader: uploader.String(), ContentType: c.ContentType, UploadName: c.UploadName,
		Size: c.Size, SHA256: c.SHA256, UploadedTS: c.UploadedTS, CreatedTS: recs[0].CreatedTS}
	if rc.quarantined != "" {
		if _, err := s.store.QuarantineMedia(ctx, []store.MediaKey{key}, rc.quarantined, false); err != nil {
			return fmt.Errorf("media: quarantining infected upload: %w", err)
		}
		return nil
	}
	s.pregenerateThumbnails(ctx, rec)
	return nil
}

// finishError says why content cannot be uploaded to rec by uploader, or
// nil if it can (as far as can be told before the upload).
func (s *Service) finishError(rec store.MediaRecord, uploader spec.UserID) error {
	switch {
	case rec.Uploader != uploader.String():
		return spec.Forbidden("this media ID was created by another user")
	case rec.UploadedTS > 0:
		return spec.NewError(409, spec.ErrCannotOverwriteMedia, "media already uploaded")
	case rec.ExpiresTS <= s.now():
		return spec.NotFound("unknown or expired media ID")
	}
	return nil
}
