// Package media is Myelin's media repository: uploads (direct, and
// asynchronous through created media IDs), downloads, thumbnails, URL
// previews, per-upload size limits and per-user quotas, admin quarantine, and
// a content scanner for plain and end-to-end encrypted attachments that
// speaks the API of the Matrix Content Scanner
// (element-hq/matrix-content-scanner-python, docs/api.md).
//
// Bytes live in a content-addressed blob store (Blobs; FSBlobs on the file
// system), so identical uploads share one file; records live in the store
// (store.Media). Remote media fits the same records (origin server + media
// ID), but fetching it over federation is not built yet: remote media is
// reported as not found.
//
// The service returns *spec.Error for failures a client should see. The
// content-scanner methods also return *ScanError, which carries the
// scanner's own reason codes.
package media

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Store is the persistence the media service needs.
type Store interface {
	store.Media
}

// ThumbnailSize is one thumbnail size generated on upload.
type ThumbnailSize struct {
	Width, Height int
	// Method is "crop" or "scale".
	Method string
}

// Options configures the media service.
type Options struct {
	ServerName spec.ServerName
	// Blobs stores the bytes.
	Blobs Blobs
	// MaxUploadBytes caps one upload.
	MaxUploadBytes int64
	// QuotaBytes caps the total size of one user's uploads; 0 is none.
	QuotaBytes int64
	// MaxPendingUploads caps a user's pending created media IDs.
	MaxPendingUploads int
	// PendingExpiry is how long a created media ID waits for its upload.
	PendingExpiry time.Duration
	// UnauthenticatedReads keeps the deprecated unauthenticated download
	// and thumbnail endpoints serving media.
	UnauthenticatedReads bool
	// ThumbnailSizes are generated on upload.
	ThumbnailSizes []ThumbnailSize
	// MaxImagePixels is the largest image (by its header) decoded.
	MaxImagePixels int64
	// MaxThumbnailSourceBytes is the largest file thumbnailed.
	MaxThumbnailSourceBytes int64
	// Preview configures URL previews; nil turns them off.
	Preview *PreviewOptions
	// Scanner configures content scanning; nil turns it off.
	Scanner *ScannerOptions
	Logger  *slog.Logger
	// Now and Random are injectable for tests; defaults time.Now and
	// crypto/rand.
	Now    func() time.Time
	Random io.Reader
}

// Service is the media repository.
type Service struct {
	opts    Options
	log     *slog.Logger
	store   Store
	blobs   Blobs
	thumbs  *thumbnailer
	preview *previewer
	scanner *scanner
	// lastSweep is when Create last deleted expired pending media.
	lastSweep atomic.Int64
}

// New builds the media service. With a scanner configured it loads (or
// creates) the scanner's key pair from the store.
func New(ctx context.Context, opts Options, st Store) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Random == nil {
		opts.Random = rand.Reader
	}
	if opts.Blobs == nil {
		return nil, errors.New("media: no blob store")
	}
	s := &Service{opts: opts, log: opts.Logger, store: st, blobs: opts.Blobs}
	s.thumbs = newThumbnailer(opts.MaxImagePixels, opts.MaxThumbnailSourceBytes)
	if opts.Preview != nil {
		p, err := newPreviewer(*opts.Preview)
		if err != nil {
			return nil, err
		}
		s.preview = p
	}
	if opts.Scanner != nil {
		so := *opts.Scanner
		if so.Now == nil {
			so.Now = opts.Now
		}
		sc, err := newScanner(ctx, so, st, opts.Random)
		if err != nil {
			return nil, err
		}
		s.scanner = sc
	}
	return s, nil
}

func (s *Service) now() int64 { return s.opts.Now().UnixMilli() }

// Config is the public media configuration.
type Config struct {
	// MaxUploadBytes is m.upload.size.
	MaxUploadBytes int64
	// UnauthenticatedReads says whether the deprecated unauthenticated
	// download and thumbnail endpoints serve media.
	UnauthenticatedReads bool
}

// Config returns the public configuration.
func (s *Service) Config() Config {
	return Config{MaxUploadBytes: s.opts.MaxUploadBytes, UnauthenticatedReads: s.opts.UnauthenticatedReads}
}

// mediaIDPattern is the spec's alphabet for media IDs ("MUST consist of
// only alphanumeric, _ and - characters"), with a length cap.
var mediaIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// parseKey validates an mxc:// authority and media ID from a request path.
// Anything outside the spec's alphabets cannot name a medium (this is also
// the guard against path traversal), so it is not found.
func parseKey(serverName, mediaID string) (store.MediaKey, error) {
	if _, err := spec.ParseServerName(serverName); err != nil || !mediaIDPattern.MatchString(mediaID) {
		return store.MediaKey{}, spec.NotFound("no such media")
	}
	return store.MediaKey{Origin: serverName, MediaID: mediaID}, nil
}

// ParseMXC splits an mxc://server/mediaID URI and validates both parts.
func ParseMXC(uri string) (serverName, mediaID string, err error) {
	rest, ok := strings.CutPrefix(uri, "mxc://")
	if !ok {
		return "", "", fmt.Errorf("media: %q is not an mxc:// URI", uri)
	}
	serverName, mediaID, ok = strings.Cut(rest, "/")
	if !ok {
		return "", "", fmt.Errorf("media: %q has no media ID", uri)
	}
	if _, err := parseKey(serverName, mediaID); err != nil {
		return "", "", fmt.Errorf("media: %q is not a valid mxc:// URI", uri)
	}
	return serverName, mediaID, nil
}

// newMediaID returns a random media ID: 24 alphanumeric characters.
func (s *Service) newMediaID() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [24]byte
	if _, err := io.ReadFull(s.opts.Random, b[:]); err != nil {
		return "", fmt.Errorf("media: generating a media ID: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:]), nil
}

func mxc(k store.MediaKey) string { return "mxc://" + k.Origin + "/" + k.MediaID }

// isLocal reports whether the medium originates here.
func (s *Service) isLocal(k store.MediaKey) bool { return k.Origin == string(s.opts.ServerName) }

// Content is a medium (or thumbnail) ready to serve. The caller closes
// Body.
type Content struct {
	// ContentType is the stored type (application/octet-stream if none).
	ContentType string
	// FileName is the upload's file name; may be empty.
	FileName string
	Size     int64
	// SHA256 is the lower-case hex hash of the bytes.
	SHA256 string
	// Modified is when it was uploaded.
	Modified time.Time
	Body     Blob
}

// errNotFound is what a client sees of absent, remote, quarantined and
// infected media alike.
var errNotFound = spec.NotFound("no such media")

// errTooLarge is the spec's answer to an over-size upload.
func (s *Service) errTooLarge() *spec.Error {
	return spec.TooLarge("cannot upload files larger than %d bytes", s.opts.MaxUploadBytes)
}

// errQuota is the spec's answer to an upload over the user's quota: "403
// M_FORBIDDEN ... the user has reached a quota for uploaded content".
var errQuota = spec.Forbidden("media quota exceeded")

// errNotYetUploaded is 504 M_NOT_YET_UPLOADED.
var errNotYetUploaded = spec.NewError(http.StatusGatewayTimeout, spec.ErrNotYetUploaded, "content has not yet been uploaded")
