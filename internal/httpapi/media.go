package httpapi

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"myelin/internal/media"
	"myelin/internal/spec"
)

// Media is the media repository.
type Media interface {
	Config() media.Config
	Upload(ctx context.Context, uploader spec.UserID, up media.Upload) (string, error)
	Create(ctx context.Context, uploader spec.UserID) (string, int64, error)
	UploadTo(ctx context.Context, uploader spec.UserID, serverName, mediaID string, up media.Upload) error
	Download(ctx context.Context, serverName, mediaID string, wait time.Duration) (*media.Content, error)
	Thumbnail(ctx context.Context, serverName, mediaID string, req media.ThumbnailRequest, wait time.Duration) (*media.Content, error)
	PreviewURL(ctx context.Context, rawURL string) (json.RawMessage, error)
	Quarantine(ctx context.Context, admin spec.UserID, serverName, mediaID string) error
	Unquarantine(ctx context.Context, serverName, mediaID string) error
	QuarantineUploads(ctx context.Context, admin, user spec.UserID) (int, error)
}

func (a *API) mediaRoutes() []route {
	if a.svc.Media == nil {
		return nil
	}
	return []route{
		{method: "POST", path: "/_matrix/media/v3/upload", auth: authUser, handler: a.mediaUpload},
		{method: "POST", path: "/_matrix/media/v1/create", auth: authUser, handler: a.mediaCreate},
		{method: "PUT", path: "/_matrix/media/v3/upload/{serverName}/{mediaId}", auth: authUser, handler: a.mediaUploadTo},
		{method: "GET", path: "media/config", v1: true, auth: authUser, handler: a.mediaConfig},
		{method: "GET", path: "/_matrix/media/v3/config", auth: authUser, handler: a.mediaConfig},
		{method: "GET", path: "media/download/{serverName}/{mediaId}", v1: true, auth: authUser, handler: a.mediaDownload},
		{method: "GET", path: "media/download/{serverName}/{mediaId}/{fileName}", v1: true, auth: authUser, handler: a.mediaDownload},
		{method: "GET", path: "media/thumbnail/{serverName}/{mediaId}", v1: true, auth: authUser, handler: a.mediaThumbnail},
		{method: "GET", path: "media/preview_url", v1: true, auth: authUser, handler: a.mediaPreviewURL},
		{method: "GET", path: "/_matrix/media/v3/preview_url", auth: authUser, handler: a.mediaPreviewURL},
		{method: "GET", path: "/_matrix/media/v3/download/{serverName}/{mediaId}", handler: a.mediaDownloadUnauthenticated},
		{method: "GET", path: "/_matrix/media/v3/download/{serverName}/{mediaId}/{fileName}", handler: a.mediaDownloadUnauthenticated},
		{method: "GET", path: "/_matrix/media/v3/thumbnail/{serverName}/{mediaId}", handler: a.mediaThumbnailUnauthenticated},
		{method: "POST", path: "/_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}", auth: authUser, handler: a.mediaQuarantine},
		{method: "POST", path: "/_synapse/admin/v1/media/unquarantine/{serverName}/{mediaId}", auth: authUser, handler: a.mediaUnquarantine},
		{method: "POST", path: "/_synapse/admin/v1/user/{userId}/media/quarantine", auth: authUser, handler: a.mediaQuarantineUser},
	}
}

func uploadFrom(r *http.Request) media.Upload {
	return media.Upload{
		ContentType:   r.Header.Get("Content-Type"),
		FileName:      r.URL.Query().Get("filename"),
		Body:          r.Body,
		ContentLength: r.ContentLength,
	}
}

// mediaUpload serves POST /_matrix/media/v3/upload
// (https://spec.matrix.org/v1.18/client-server-api/#post_matrixmediav3upload).
// The body streams to the blob store; it is never held in memory.
func (a *API) mediaUpload(w http.ResponseWriter, r *http.Request) {
	uri, err := a.svc.Media.Upload(r.Context(), caller(r).UserID, uploadFrom(r))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"content_uri": uri})
}

// mediaCreate serves POST /_matrix/media/v1/create
// (https://spec.matrix.org/v1.18/client-server-api/#post_matrixmediav1create).
func (a *API) mediaCreate(w http.ResponseWriter, r *http.Request) {
	uri, expires, err := a.svc.Media.Create(r.Context(), caller(r).UserID)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"content_uri": uri, "unused_expires_at": expires})
}

// mediaUploadTo serves PUT /_matrix/media/v3/upload/{serverName}/{mediaId}
// (https://spec.matrix.org/v1.18/client-server-api/#put_matrixmediav3uploadservernamemediaid).
func (a *API) mediaUploadTo(w http.ResponseWriter, r *http.Request) {
	err := a.svc.Media.UploadTo(r.Context(), caller(r).UserID, r.PathValue("serverName"), r.PathValue("mediaId"), uploadFrom(r))
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// mediaConfig serves GET /_matrix/client/v1/media/config
// (https://spec.matrix.org/v1.18/client-server-api/#get_matrixclientv1mediaconfig)
// and the deprecated GET /_matrix/media/v3/config.
func (a *API) mediaConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"m.upload.size": a.svc.Media.Config().MaxUploadBytes})
}

// defaultMediaWait is the spec's default timeout_ms.
const defaultMediaWait = 20 * time.Second

// mediaWait reads timeout_ms.
func mediaWait(q url.Values) (time.Duration, error) {
	v := q.Get("timeout_ms")
	if v == "" {
		return defaultMediaWait, nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 {
		return 0, spec.InvalidParam("timeout_ms must be a non-negative integer")
	}
	return min(time.Duration(ms)*time.Millisecond, media.MaxWait), nil
}

// checkBoolParams validates boolean query parameters that are accepted but
// need no action: allow_remote (remote media is not fetched yet) and
// allow_redirect (media is always served directly).
func checkBoolParams(q url.Values, names ...string) error {
	for _, n := range names {
		if v := q.Get(n); v != "" && v != "true" && v != "false" {
			return spec.InvalidParam("%s must be true or false", n)
		}
	}
	return nil
}

// mediaDownload serves GET /_matrix/client/v1/media/download/{serverName}/{mediaId}[/{fileName}]
// (https://spec.matrix.org/v1.18/client-server-api/#get_matrixclientv1mediadownloadservernamemediaid).
func (a *API) mediaDownload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	wait, err := mediaWait(q)
	if err == nil {
		err = checkBoolParams(q, "allow_remote", "allow_redirect")
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c, err := a.svc.Media.Download(r.Context(), r.PathValue("serverName"), r.PathValue("mediaId"), wait)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	serveMedia(w, r, c, r.PathValue("fileName"), false)
}

// mediaDownloadUnauthenticated serves the deprecated
// GET /_matrix/media/v3/download/{serverName}/{mediaId}[/{fileName}]
// (https://spec.matrix.org/v1.18/client-server-api/#get_matrixmediav3downloadservernamemediaid),
// or 404 when unauthenticated reads are switched off (the spec's "freeze").
func (a *API) mediaDownloadUnauthenticated(w http.ResponseWriter, r *http.Request) {
	if !a.svc.Media.Config().UnauthenticatedReads {
		writeError(w, r, a.log, spec.NotFound("unauthenticated media access is disabled; use /_matrix/client/v1/media"))
		return
	}
	a.mediaDownload(w, r)
}

// thumbnailRequest reads the thumbnail query parameters.
func thumbnailRequest(q url.Values) (media.ThumbnailRequest, error) {
	var req media.ThumbnailRequest
	for _, p := range []struct {
		name string
		dst  *int
	}{{"width", &req.Width}, {"height", &req.Height}} {
		v := q.Get(p.name)
		if v == "" {
			return req, spec.MissingParam("%s is required", p.name)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > media.MaxThumbnailDimension {
			return req, spec.InvalidParam("%s must be an integer between 1 and %d", p.name, media.MaxThumbnailDimension)
		}
		*p.dst = n
	}
	req.Method = q.Get("method")
	switch req.Method {
	case "":
		req.Method = "scale"
	case "crop", "scale":
	default:
		return req, spec.InvalidParam("method must be crop or scale")
	}
	if err := checkBoolParams(q, "animated", "allow_remote", "allow_redirect"); err != nil {
		return req, err
	}
	req.Animated = q.Get("animated") == "true"
	return req, nil
}

// mediaThumbnail serves GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}
// (https://spec.matrix.org/v1.18/client-server-api/#get_matrixclientv1mediathumbnailservernamemediaid).
func (a *API) mediaThumbnail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req, err := thumbnailRequest(q)
	var wait time.Duration
	if err == nil {
		wait, err = mediaWait(q)
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	c, err := a.svc.Media.Thumbnail(r.Context(), r.PathValue("serverName"), r.PathValue("mediaId"), req, wait)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	serveMedia(w, r, c, "", true)
}

// mediaThumbnailUnauthenticated serves the deprecated
// GET /_matrix/media/v3/thumbnail/{serverName}/{mediaId}
// (https://spec.matrix.org/v1.18/client-server-api/#get_matrixmediav3thumbnailservernamemediaid).
func (a *API) mediaThumbnailUnauthenticated(w http.ResponseWriter, r *http.Request) {
	if !a.svc.Media.Config().UnauthenticatedReads {
		writeError(w, r, a.log, spec.NotFound("unauthenticated media access is disabled; use /_matrix/client/v1/media"))
		return
	}
	a.mediaThumbnail(w, r)
}

// mediaPreviewURL serves GET /_matrix/client/v1/media/preview_url
// (https://spec.matrix.org/v1.18/client-server-api/#get_matrixclientv1mediapreview_url)
// and the deprecated GET /_matrix/media/v3/preview_url. ts is accepted and
// ignored: the newest cached preview is returned, as the spec permits.
func (a *API) mediaPreviewURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	raw := q.Get("url")
	if raw == "" {
		writeError(w, r, a.log, spec.MissingParam("url is required"))
		return
	}
	if ts := q.Get("ts"); ts != "" {
		if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
			writeError(w, r, a.log, spec.InvalidParam("ts must be an integer"))
			return
		}
	}
	og, err := a.svc.Media.PreviewURL(r.Context(), raw)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, og)
}

// mediaQuarantine serves Synapse's admin API
// POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}
// (https://element-hq.github.io/synapse/latest/admin_api/media_admin_api.html#quarantining-media-by-id).
func (a *API) mediaQuarantine(w http.ResponseWriter, r *http.Request) {
	c := caller(r)
	if err := requireAdmin(c); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := a.svc.Media.Quarantine(r.Context(), c.UserID, r.PathValue("serverName"), r.PathValue("mediaId")); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// mediaUnquarantine serves Synapse's admin API
// POST /_synapse/admin/v1/media/unquarantine/{serverName}/{mediaId}
// (https://element-hq.github.io/synapse/latest/admin_api/media_admin_api.html#remove-media-from-quarantine-by-id).
func (a *API) mediaUnquarantine(w http.ResponseWriter, r *http.Request) {
	if err := requireAdmin(caller(r)); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if err := a.svc.Media.Unquarantine(r.Context(), r.PathValue("serverName"), r.PathValue("mediaId")); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// mediaQuarantineUser serves Synapse's admin API
// POST /_synapse/admin/v1/user/{userId}/media/quarantine
// (https://element-hq.github.io/synapse/latest/admin_api/media_admin_api.html#quarantining-all-media-of-a-user).
func (a *API) mediaQuarantineUser(w http.ResponseWriter, r *http.Request) {
	c := caller(r)
	if err := requireAdmin(c); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	user, err := spec.ParseUserID(r.PathValue("userId"))
	if err != nil {
		writeError(w, r, a.log, spec.InvalidParam("not a user ID"))
		return
	}
	n, err := a.svc.Media.QuarantineUploads(r.Context(), c.UserID, user)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"num_quarantined": n})
}

// mediaCSP is the spec's recommended Content-Security-Policy for served
// content: nothing in it may run or load anything.
const mediaCSP = "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';"

// inlineTypes are the types the spec lets a server serve inline
// ("Serving inline content"); everything else is an attachment.
var inlineTypes = map[string]bool{
	"text/css": true, "text/plain": true, "text/csv": true, "application/json": true, "application/ld+json": true,
	"image/jpeg": true, "image/gif": true, "image/png": true, "image/apng": true, "image/webp": true, "image/avif": true,
	"video/mp4": true, "video/webm": true, "video/ogg": true, "video/quicktime": true,
	"audio/mp4": true, "audio/webm": true, "audio/aac": true, "audio/mpeg": true, "audio/ogg": true, "audio/wave": true,
	"audio/wav": true, "audio/x-wav": true, "audio/x-pn-wav": true, "audio/flac": true, "audio/x-flac": true,
}

// contentDisposition returns the Content-Disposition of served content:
// inline for the safe types (thumbnails always), attachment otherwise, with
// the file name encoded per RFC 6266: quoted when it is plain ASCII,
// percent-encoded UTF-8 in filename* (RFC 5987) when it is not.
func contentDisposition(contentType, fileName string, inline bool) string {
	kind := "attachment"
	if mt, _, err := mime.ParseMediaType(contentType); inline || err == nil && inlineTypes[mt] {
		kind = "inline"
	}
	if fileName == "" {
		return kind
	}
	if v := mime.FormatMediaType(kind, map[string]string{"filename": fileName}); v != "" {
		return v
	}
	return kind
}

// serveMedia sends content with the headers that keep it from running in
// the server's origin, and supports range requests and conditional GETs.
// fileName overrides the stored file name when not empty.
func serveMedia(w http.ResponseWriter, r *http.Request, c *media.Content, fileName string, thumbnail bool) {
	defer c.Body.Close()
	if fileName == "" {
		fileName = c.FileName
	}
	h := w.Header()
	h.Set("Content-Type", c.ContentType)
	h.Set("Content-Disposition", contentDisposition(c.ContentType, fileName, thumbnail))
	h.Set("Content-Security-Policy", mediaCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", `"`+c.SHA256+`"`)
	// The name only picks a type when none is set; ours is always set.
	http.ServeContent(w, r, "", c.Modified, c.Body)
}
