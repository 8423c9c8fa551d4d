package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// MaxWait caps how long a download waits for a pending upload.
const MaxWait = time.Minute

// pollInterval is how often a waiting download looks for the upload.
const pollInterval = 200 * time.Millisecond

// servable returns the record of a medium that may be served: local,
// uploaded (waiting up to wait for a pending upload), not quarantined.
func (s *Service) servable(ctx context.Context, serverName, mediaID string, wait time.Duration) (store.MediaRecord, error) {
	key, err := parseKey(serverName, mediaID)
	if err != nil {
		return store.MediaRecord{}, err
	}
	if !s.isLocal(key) {
		// NOTSPEC: remote media is fetched over federation, which is not
		// built yet; until then it is not found.
		return store.MediaRecord{}, errNotFound
	}
	deadline := time.Now().Add(min(wait, MaxWait))
	for {
		recs, err := s.store.Media(ctx, []store.MediaKey{key})
		if err != nil {
			return store.MediaRecord{}, err
		}
		if len(recs) == 0 {
			return store.MediaRecord{}, errNotFound
		}
		rec := recs[0]
		switch {
		case rec.QuarantinedBy != "":
			return store.MediaRecord{}, errNotFound
		case rec.UploadedTS > 0:
			return rec, nil
		case rec.ExpiresTS <= s.now():
			return store.MediaRecord{}, errNotFound
		}
		left := time.Until(deadline)
		if left <= 0 {
			return store.MediaRecord{}, errNotYetUploaded
		}
		t := time.NewTimer(min(left, pollInterval))
		select {
		case <-ctx.Done():
			t.Stop()
			return store.MediaRecord{}, ctx.Err()
		case <-t.C:
		}
	}
}

// open opens a medium's content.
func (s *Service) open(ctx context.Context, rec store.MediaRecord) (*Content, error) {
	body, err := s.blobs.Open(ctx, rec.SHA256)
	if err != nil {
		return nil, fmt.Errorf("media: content of %s: %w", mxc(rec.MediaKey), err)
	}
	ct := rec.ContentType
	if ct == "" {
		ct = octetStream
	}
	return &Content{ContentType: ct, FileName: rec.UploadName, Size: rec.Size, SHA256: rec.SHA256,
		Modified: time.UnixMilli(rec.UploadedTS), Body: body}, nil
}

// Download returns a medium's content (GET /_matrix/client/v1/media/download
// and the deprecated /_matrix/media/v3/download). wait is how long to wait
// for a pending upload: 504 M_NOT_YET_UPLOADED after it.
func (s *Service) Download(ctx context.Context, serverName, mediaID string, wait time.Duration) (*Content, error) {
	rec, err := s.servable(ctx, serverName, mediaID, wait)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, rec)
}

// ThumbnailRequest is what a client asks of a thumbnail.
type ThumbnailRequest struct {
	Width, Height int
	// Method is "crop" or "scale".
	Method string
	// Animated is accepted; thumbnails are always still images (the spec
	// lets a server without animation support answer so).
	Animated bool
}

// MaxThumbnailDimension caps a requested thumbnail width or height.
const MaxThumbnailDimension = 4096

// Thumbnail returns a thumbnail of a medium: a stored one that is at least
// the requested size, else the original when it is no larger than the
// request (the spec: never upscale, return the original; a still copy of
// it unless animation is asked for), else one made now and stored.
func (s *Service) Thumbnail(ctx context.Context, serverName, mediaID string, req ThumbnailRequest, wait time.Duration) (*Content, error) {
	if req.Width < 1 || req.Height < 1 || req.Width > MaxThumbnailDimension || req.Height > MaxThumbnailDimension {
		return nil, spec.InvalidParam("width and height must be between 1 and %d", MaxThumbnailDimension)
	}
	if req.Method != "crop" && req.Method != "scale" {
		return nil, spec.InvalidParam("method must be crop or scale")
	}
	rec, err := s.servable(ctx, serverName, mediaID, wait)
	if err != nil {
		return nil, err
	}
	thumbs, err := s.store.MediaThumbnails(ctx, []store.MediaKey{rec.MediaKey})
	if err != nil {
		return nil, err
	}
	if t, ok := pickThumbnail(thumbs, req); ok {
		body, err := s.blobs.Open(ctx, t.SHA256)
		if err == nil {
			return thumbnailContent(t, rec, body), nil
		}
		if !errors.Is(err, ErrBlobNotFound) {
			return nil, err
		}
		s.log.WarnContext(ctx, "thumbnail content missing; making it again", "mxc", mxc(rec.MediaKey), "sha256", t.SHA256)
	}
	src, err := s.blobs.Open(ctx, rec.SHA256)
	if err != nil {
		return nil, fmt.Errorf("media: content of %s: %w", mxc(rec.MediaKey), err)
	}
	defer src.Close()
	info, err := s.thumbs.probe(src, rec.Size)
	if err != nil {
		return nil, thumbnailError(err)
	}
	small := info.width <= req.Width && info.height <= req.Height
	// The spec: an image no larger than the request is returned as it is,
	// but with animated=false (or absent) an animated thumbnail must not
	// (should not) be returned; GIF, WebP and PNG (APNG) may be animated,
	// so they get a still copy at their own size.
	if small && (info.format == "jpeg" || req.Animated) {
		c, err := s.open(ctx, rec)
		if err != nil {
			return nil, err
		}
		c.ContentType = info.format.contentType()
		c.FileName = "thumbnail." + string(info.format)
		return c, nil
	}
	made, err := s.makeThumbnails(ctx, rec, src, []ThumbnailSize{{Width: req.Width, Height: req.Height, Method: req.Method}}, small)
	if err != nil {
		return nil, thumbnailError(err)
	}
	if len(made) == 0 {
		return nil, spec.Unknown(400, "cannot generate thumbnails for this content")
	}
	body, err := s.blobs.Open(ctx, made[0].SHA256)
	if err != nil {
		return nil, err
	}
	return thumbnailContent(made[0], rec, body), nil
}

func thumbnailContent(t store.MediaThumbnail, rec store.MediaRecord, body Blob) *Content {
	name := "thumbnail.png"
	if t.ContentType == "image/jpeg" {
		name = "thumbnail.jpg"
	}
	return &Content{ContentType: t.ContentType, FileName: name, Size: t.Size, SHA256: t.SHA256,
		Modified: time.UnixMilli(rec.UploadedTS), Body: body}
}

// thumbnailError maps image errors to the spec's answers: 413 for images
// too large to thumbnail, 400 for content that is no image.
func thumbnailError(err error) error {
	switch {
	case errors.Is(err, errImageTooLarge):
		return spec.TooLarge("content is too large to thumbnail").Wrap(err)
	case errors.Is(err, errNotImage):
		return spec.Unknown(400, "cannot generate thumbnails for this content").Wrap(err)
	}
	return err
}

// pickThumbnail returns the smallest stored thumbnail of the method that
// is at least the requested size.
func pickThumbnail(thumbs []store.MediaThumbnail, req ThumbnailRequest) (store.MediaThumbnail, bool) {
	var best store.MediaThumbnail
	found := false
	for _, t := range thumbs {
		if t.Method != req.Method || t.Width < req.Width || t.Height < req.Height {
			continue
		}
		if !found || t.Width*t.Height < best.Width*best.Height {
			best, found = t, true
		}
	}
	return best, found
}

// pregenerateThumbnails makes the configured thumbnails of a new upload.
// Content that is no image is skipped; failures are logged, not returned:
// the upload itself succeeded.
func (s *Service) pregenerateThumbnails(ctx context.Context, rec store.MediaRecord) {
	if len(s.opts.ThumbnailSizes) == 0 || rec.Size > s.opts.MaxThumbnailSourceBytes {
		return
	}
	src, err := s.blobs.Open(ctx, rec.SHA256)
	if err != nil {
		s.log.WarnContext(ctx, "thumbnails: opening upload", "mxc", mxc(rec.MediaKey), "err", err)
		return
	}
	defer src.Close()
	if _, err := s.makeThumbnails(ctx, rec, src, s.opts.ThumbnailSizes, false); err != nil && !errors.Is(err, errNotImage) {
		s.log.InfoContext(ctx, "thumbnails not made", "mxc", mxc(rec.MediaKey), "err", err)
	}
}

// makeThumbnails decodes the image once and stores a thumbnail per size
// the image does not fit in (no upscaling; a request the image fits in gets
// the original), or for every size when still is set (a still copy of a
// possibly animated image). It returns the thumbnails stored.
func (s *Service) makeThumbnails(ctx context.Context, rec store.MediaRecord, src Blob, sizes []ThumbnailSize, still bool) ([]store.MediaThumbnail, error) {
	img, info, err := s.thumbs.decode(ctx, src, rec.Size)
	if err != nil {
		return nil, err
	}
	var out []store.MediaThumbnail
	var stored []BlobInfo
	for _, size := range sizes {
		if !still && info.width <= size.Width && info.height <= size.Height {
			continue // requests of this size get the original
		}
		dims, sr := thumbnailDims(info.width, info.height, size.Width, size.Height, size.Method)
		data, ct, err := encodeThumbnail(render(img, sr, dims), info.format)
		if err != nil {
			return nil, err
		}
		b, err := s.blobs.Put(ctx, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, err
		}
		stored = append(stored, b)
		out = append(out, store.MediaThumbnail{MediaKey: rec.MediaKey, Width: size.Width, Height: size.Height,
			Method: size.Method, ContentType: ct, Size: b.Size, SHA256: b.SHA256})
	}
	if err := s.store.PutMediaThumbnails(ctx, out); err != nil {
		for _, b := range stored {
			s.dropBlob(ctx, b)
		}
		return nil, err
	}
	return out, nil
}
