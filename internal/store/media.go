package store

import (
	"context"
	"errors"
)

// ErrMediaQuota is returned (wrapped) when storing a medium would take its
// uploader over their quota.
var ErrMediaQuota = errors.New("store: media quota exceeded")

// ErrMediaPendingLimit is returned (wrapped) when a user already has the
// maximum number of pending (created, not yet uploaded, unexpired) media IDs.
var ErrMediaPendingLimit = errors.New("store: too many pending media uploads")

// ErrMediaNotOwner is returned (wrapped) when content is uploaded to a
// pending media ID created by another user.
var ErrMediaNotOwner = errors.New("store: media created by another user")

// MediaKey names a medium: the origin server (the authority of its mxc://
// URI) and its media ID. Local and remote media share one key space.
type MediaKey struct {
	Origin  string
	MediaID string
}

// MediaRecord is one medium. Its bytes live in a content-addressed blob
// store under SHA256 (lower-case hex), so identical content is stored once.
//
// A pending medium (POST /_matrix/media/v1/create) has UploadedTS 0, no
// content and an ExpiresTS; an uploaded one has UploadedTS > 0 and
// ExpiresTS 0.
type MediaRecord struct {
	MediaKey
	// Uploader is the full user ID of the local user who uploaded or
	// created it; empty for media the server stored itself (URL preview
	// images) and for remote media.
	Uploader    string
	ContentType string
	// UploadName is the file name given at upload; may be empty.
	UploadName string
	Size       int64
	SHA256     string
	CreatedTS  int64
	UploadedTS int64
	ExpiresTS  int64
	// QuarantinedBy is empty, or who quarantined it (an admin's user ID,
	// or the content scanner): quarantined media is never served.
	QuarantinedBy string
}

// MediaContent is what an upload to a pending medium sets.
type MediaContent struct {
	ContentType string
	UploadName  string
	Size        int64
	SHA256      string
	UploadedTS  int64
}

// MediaThumbnail is one stored thumbnail of a medium.
type MediaThumbnail struct {
	MediaKey
	Width, Height int
	// Method is "crop" or "scale".
	Method      string
	ContentType string
	Size        int64
	SHA256      string
}

// ScanVerdict is a content scanner's verdict on some content, under a key
// the caller derives from the content (its hash; for encrypted attachments,
// also from the decryption key).
type ScanVerdict struct {
	Key       string
	Clean     bool
	Info      string
	ScannedTS int64
}

// URLPreview is a cached preview of a URL: the OpenGraph object as JSON.
type URLPreview struct {
	URL       string
	OG        string
	FetchedTS int64
}

// Media stores the media repository's records: media, thumbnails, scan
// verdicts, URL previews and the content scanner's key. Blobs (the bytes)
// are not here: they live in the media service's blob store.
//
// Error contract: methods return the sentinel errors named on each; any
// other error is a storage failure.
type Media interface {
	// CreateMedia stores a new medium (uploaded or pending). ErrConflict
	// when its key exists. When quota > 0 and rec.Uploader's uploaded media
	// would then total more than quota bytes, ErrMediaQuota. When rec is
	// pending and its uploader already has maxPending pending unexpired
	// media (at rec.CreatedTS), ErrMediaPendingLimit.
	CreateMedia(ctx context.Context, rec MediaRecord, quota int64, maxPending int) error
	// FinishPendingMedia sets the content of a pending medium created by
	// uploader. ErrNotFound when there is no such medium or it expired
	// before content.UploadedTS; ErrMediaNotOwner when another user created
	// it; ErrConflict when it already has content; ErrMediaQuota as in
	// CreateMedia.
	FinishPendingMedia(ctx context.Context, key MediaKey, uploader string, content MediaContent, quota int64) error
	// Media returns the records that exist among keys, in no order.
	Media(ctx context.Context, keys []MediaKey) ([]MediaRecord, error)
	// MediaUsage returns the total size of uploader's uploaded media.
	MediaUsage(ctx context.Context, uploader string) (int64, error)
	// BlobsInUse returns which of the SHA-256 addresses a medium or a
	// thumbnail refers to.
	BlobsInUse(ctx context.Context, sha256s []string) (map[string]bool, error)
	// DeleteExpiredPendingMedia removes pending media whose expiry is
	// before now, and returns how many.
	DeleteExpiredPendingMedia(ctx context.Context, now int64) (int, error)

	// QuarantineMedia marks the media as quarantined by by (empty lifts
	// the quarantine) and returns how many records changed. A key with no
	// record is skipped, unless placeholder is set: then a record with no
	// content is created for it (remote media quarantined before it is
	// fetched).
	QuarantineMedia(ctx context.Context, keys []MediaKey, by string, placeholder bool) (int, error)
	// QuarantineMediaByUploader quarantines every medium uploader uploaded
	// and returns how many records changed.
	QuarantineMediaByUploader(ctx context.Context, uploader, by string) (int, error)
	// QuarantineMediaBySHA256 quarantines every medium with this content
	// and returns how many records changed.
	QuarantineMediaBySHA256(ctx context.Context, sha256, by string) (int, error)

	// PutMediaThumbnails stores thumbnails; one that exists (same medium,
	// size and method) is replaced.
	PutMediaThumbnails(ctx context.Context, thumbs []MediaThumbnail) error
	// MediaThumbnails returns the thumbnails of the media, in no order.
	MediaThumbnails(ctx context.Context, keys []MediaKey) ([]MediaThumbnail, error)

	// PutScanVerdicts stores verdicts. A key found infected stays
	// infected: a later clean verdict only refreshes a clean one.
	PutScanVerdicts(ctx context.Context, verdicts []ScanVerdict) error
	// ScanVerdicts returns the stored verdicts among keys, in no order.
	ScanVerdicts(ctx context.Context, keys []string) ([]ScanVerdict, error)

	// PutURLPreview stores (or replaces) the preview of p.URL.
	PutURLPreview(ctx context.Context, p URLPreview) error
	// URLPreview returns the stored preview of url; ErrNotFound if none.
	URLPreview(ctx context.Context, url string) (URLPreview, error)

	// MediaScannerKey returns the content scanner's private key, storing
	// candidate as the key first if none is stored, so that every instance
	// sharing the database uses one key.
	MediaScannerKey(ctx context.Context, candidate []byte) ([]byte, error)
}
