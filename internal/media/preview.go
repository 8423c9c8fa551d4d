package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// PreviewOptions configures URL previews.
type PreviewOptions struct {
	// AllowCIDRs are fetched even when denied; DenyCIDRs are refused in
	// addition to the built-in special-purpose ranges.
	AllowCIDRs, DenyCIDRs []netip.Prefix
	// MaxBytes caps each fetched page or image.
	MaxBytes int64
	// Timeout bounds each fetch, redirects included.
	Timeout time.Duration
	// CacheDuration is how long a preview is reused.
	CacheDuration time.Duration
	// UserAgent is sent with each fetch.
	UserAgent string
}

// previewer fetches pages and images for previews.
type previewer struct {
	opts   PreviewOptions
	client *http.Client
}

func newPreviewer(opts PreviewOptions) (*previewer, error) {
	if opts.MaxBytes <= 0 || opts.Timeout <= 0 {
		return nil, errors.New("media: URL previews need a size cap and a timeout")
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Myelin (URL preview)"
	}
	return &previewer{opts: opts, client: newSafeClient(newIPFilter(opts.AllowCIDRs, opts.DenyCIDRs), opts.Timeout)}, nil
}

// Limits of a preview: keys, value lengths, HTML tokens read.
const (
	maxPreviewURLBytes = 2000
	maxOGKeys          = 50
	maxOGKeyBytes      = 100
	maxOGValueBytes    = 1000
	maxHTMLTokens      = 200_000
)

// PreviewURL returns the OpenGraph preview of a URL
// (GET /_matrix/client/v1/media/preview_url), from the cache when fresh.
// Its image, if any, is stored as media and given as an mxc:// URI.
func (s *Service) PreviewURL(ctx context.Context, rawURL string) (json.RawMessage, error) {
	if s.preview == nil {
		return nil, spec.Unrecognized(404, "URL previews are disabled")
	}
	u, err := url.Parse(rawURL)
	if err != nil || len(rawURL) > maxPreviewURLBytes || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, spec.InvalidParam("url must be an absolute http or https URL of at most %d bytes", maxPreviewURLBytes)
	}
	u.Fragment, u.RawFragment = "", ""
	key := u.String()
	if p, err := s.store.URLPreview(ctx, key); err == nil && p.FetchedTS >= s.now()-s.preview.opts.CacheDuration.Milliseconds() {
		return json.RawMessage(p.OG), nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	page, err := fetch(ctx, s.preview.client, u, s.preview.opts.MaxBytes, s.preview.opts.UserAgent)
	if err != nil {
		// Fetch failures are routine (dead links); the URL a user previews
		// is theirs, so it goes to the debug log only.
		s.log.DebugContext(ctx, "URL preview fetch failed", "err", err)
		if errors.Is(err, ErrBlockedAddress) {
			return nil, spec.Forbidden("URL previews of this address are not allowed")
		}
		return nil, spec.Unknown(502, "could not fetch the URL")
	}
	og := map[string]any{}
	mt, _, _ := mime.ParseMediaType(page.contentType)
	switch {
	case mt == "text/html" || mt == "application/xhtml+xml":
		tags := parseOpenGraph(page.body)
		for k, v := range tags {
			og[k] = v
		}
		if ref, ok := tags["og:image"]; ok {
			delete(og, "og:image")
			if img, err := page.url.Parse(ref); err == nil && (img.Scheme == "http" || img.Scheme == "https") {
				if f, err := fetch(ctx, s.preview.client, img, s.preview.opts.MaxBytes, s.preview.opts.UserAgent); err == nil && !f.truncated {
					s.previewImage(ctx, f.body, og)
				} else if err != nil {
					s.log.DebugContext(ctx, "preview image not fetched", "err", err)
				}
			}
		}
	case strings.HasPrefix(mt, "image/") && !page.truncated:
		s.previewImage(ctx, page.body, og)
	}
	data, err := json.Marshal(og)
	if err != nil {
		return nil, fmt.Errorf("media: encoding preview: %w", err)
	}
	if err := s.store.PutURLPreview(ctx, store.URLPreview{URL: key, OG: string(data), FetchedTS: s.now()}); err != nil {
		return nil, err
	}
	return data, nil
}

// previewImage stores a preview's image as media (not counted in anyone's
// quota) and describes it in og. Content that is not an image within the
// limits is left out.
func (s *Service) previewImage(ctx context.Context, data []byte, og map[string]any) {
	info, err := s.thumbs.probe(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		s.log.DebugContext(ctx, "preview image skipped", "err", err)
		return
	}
	b, err := s.blobs.Put(ctx, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		s.log.WarnContext(ctx, "storing preview image", "err", err)
		return
	}
	if s.scanner != nil {
		if v, err := s.scanner.scanBlob(ctx, s.blobs, b.SHA256); err != nil || !v.clean {
			s.dropBlob(ctx, b)
			return
		}
	}
	id, err := s.newMediaID()
	if err != nil {
		s.dropBlob(ctx, b)
		return
	}
	now := s.now()
	rec := store.MediaRecord{MediaKey: store.MediaKey{Origin: string(s.opts.ServerName), MediaID: id},
		ContentType: info.format.contentType(), Size: b.Size, SHA256: b.SHA256, CreatedTS: now, UploadedTS: now}
	if err := s.store.CreateMedia(ctx, rec, 0, 0); err != nil {
		s.dropBlob(ctx, b)
		s.log.WarnContext(ctx, "recording preview image", "err", err)
		return
	}
	s.pregenerateThumbnails(ctx, rec)
	og["og:image"] = mxc(rec.MediaKey)
	og["og:image:type"] = info.format.contentType()
	og["og:image:width"] = info.width
	og["og:image:height"] = info.height
	og["matrix:image:size"] = b.Size
}

// parseOpenGraph reads a page's og:* meta tags, falling back to <title>
// and the description meta tag for og:title and og:description. It reads
// at most maxHTMLTokens tokens, and keeps at most maxOGKeys keys, each value
// cut to maxOGValueBytes.
func parseOpenGraph(page []byte) map[string]string {
	og := map[string]string{}
	var title, description string
	z := html.NewTokenizer(bytes.NewReader(page))
	for i := 0; i < maxHTMLTokens; i++ {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		switch string(name) {
		case "title":
			if title == "" && z.Next() == html.TextToken {
				title = cleanText(string(z.Text()))
			}
		case "meta":
			var key, content string
			hasContent := false
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch strings.ToLower(string(k)) {
				case "property", "name":
					if key == "" || strings.HasPrefix(strings.ToLower(string(v)), "og:") {
						key = strings.ToLower(strings.TrimSpace(string(v)))
					}
				case "content":
					content, hasContent = cleanText(string(v)), true
				}
			}
			switch {
			case !hasContent:
			case key == "description" && description == "":
				description = content
			case strings.HasPrefix(key, "og:") && len(key) <= maxOGKeyBytes && len(og) < maxOGKeys:
				if _, dup := og[key]; !dup {
					og[key] = content
				}
			}
		}
	}
	if _, ok := og["og:title"]; !ok && title != "" {
		og["og:title"] = title
	}
	if _, ok := og["og:description"]; !ok && description != "" {
		og["og:description"] = description
	}
	return og
}

// cleanText makes page text safe to return: valid UTF-8, whitespace runs
// collapsed, cut to maxOGValueBytes on a character boundary.
func cleanText(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	if len(s) > maxOGValueBytes {
		cut := maxOGValueBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
