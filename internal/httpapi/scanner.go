package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"

	"myelin/internal/media"
	"myelin/internal/spec"
)

// Scanner is the built-in content scanner. It speaks the API of the Matrix
// Content Scanner (element-hq/matrix-content-scanner-python, docs/api.md),
// so that clients configured with a scanner URL can use the homeserver's
// own URL. Its routes exist only when a scanner is configured.
type Scanner interface {
	ScannerPublicKey() string
	ScanMedia(ctx context.Context, serverName, mediaID string) (media.ScanResult, error)
	DownloadScanned(ctx context.Context, serverName, mediaID string) (*media.Content, error)
	ThumbnailScanned(ctx context.Context, serverName, mediaID string, req media.ThumbnailRequest) (*media.Content, error)
	ParseEncryptedRequest(body []byte) (*media.EncryptedFile, error)
	ScanEncrypted(ctx context.Context, ef *media.EncryptedFile) (media.ScanResult, error)
	DownloadEncrypted(ctx context.Context, ef *media.EncryptedFile) (*media.Content, error)
}

// scannerPrefix is the content scanner API's path prefix.
const scannerPrefix = "/_matrix/media_proxy/unstable/"

func (a *API) scannerRoutes() []route {
	if a.svc.Scanner == nil {
		return nil
	}
	// The routes authenticate themselves, to answer in the scanner API's
	// error shape.
	return []route{
		{method: "GET", path: scannerPrefix + "public_key", handler: a.scannerAuth(a.scannerPublicKey)},
		{method: "GET", path: scannerPrefix + "scan/{serverName}/{mediaId}", handler: a.scannerAuth(a.scannerScan)},
		{method: "GET", path: scannerPrefix + "download/{serverName}/{mediaId}", handler: a.scannerAuth(a.scannerDownload)},
		{method: "GET", path: scannerPrefix + "thumbnail/{serverName}/{mediaId}", handler: a.scannerAuth(a.scannerThumbnail)},
		{method: "POST", path: scannerPrefix + "scan_encrypted", handler: a.scannerAuth(a.scannerScanEncrypted)},
		{method: "POST", path: scannerPrefix + "download_encrypted", handler: a.scannerAuth(a.scannerDownloadEncrypted)},
	}
}

// writeScanError sends err in the scanner API's error shape,
// {"reason": ..., "info": ...}: scanner errors with their own reasons,
// Matrix errors with their errcode as the reason. Internal causes go to the
// log only; they never hold key material or decrypted content.
func writeScanError(w http.ResponseWriter, r *http.Request, a *API, err error) {
	var se *media.ScanError
	status, reason, info := http.StatusInternalServerError, string(spec.ErrUnknown), "Internal Server Error"
	if errors.As(err, &se) {
		status, reason, info = se.Status, se.Reason, se.Info
		if se.Err != nil {
			a.log.WarnContext(r.Context(), "content scanner", "path", r.URL.Path, "reason", se.Reason, "err", se.Err)
		}
	} else {
		me := asMatrixError(err)
		status, reason, info = me.Status, string(me.Code), me.Message
		if me.Status >= 500 || me.Err != nil || me == errInternal {
			a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	writeJSON(w, status, map[string]any{"reason": reason, "info": info})
}

// scannerAuth authenticates a scanner request by the user's access token,
// as authenticated media does.
func (a *API) scannerAuth(next func(w http.ResponseWriter, r *http.Request)) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		token, err := accessToken(r)
		if err == nil && token == "" {
			err = spec.MissingToken()
		}
		if err != nil {
			writeScanError(w, r, a, err)
			return
		}
		c, err := a.svc.Users.Authenticate(r.Context(), token, clientIP(r))
		if err != nil {
			writeScanError(w, r, a, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), requesterKey, c)))
	}
}

// scannerPublicKey serves GET /_matrix/media_proxy/unstable/public_key.
func (a *API) scannerPublicKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"public_key": a.svc.Scanner.ScannerPublicKey()})
}

// scannerScan serves GET /_matrix/media_proxy/unstable/scan/{serverName}/{mediaId}.
func (a *API) scannerScan(w http.ResponseWriter, r *http.Request) {
	res, err := a.svc.Scanner.ScanMedia(r.Context(), r.PathValue("serverName"), r.PathValue("mediaId"))
	if err != nil {
		writeScanError(w, r, a, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"clean": res.Clean, "info": res.Info})
}

// scannerDownload serves GET /_matrix/media_proxy/unstable/download/{serverName}/{mediaId}.
func (a *API) scannerDownload(w http.ResponseWriter, r *http.Request) {
	c, err := a.svc.Scanner.DownloadScanned(r.Context(), r.PathValue("serverName"), r.PathValue("mediaId"))
	if err != nil {
		writeScanError(w, r, a, err)
		return
	}
	serveMedia(w, r, c, "", false)
}

// scannerThumbnail serves GET /_matrix/media_proxy/unstable/thumbnail/{serverName}/{mediaId},
// with the query parameters of the spec's thumbnail endpoint.
func (a *API) scannerThumbnail(w http.ResponseWriter, r *http.Request) {
	req, err := thumbnailRequest(r.URL.Query())
	if err != nil {
		writeScanError(w, r, a, err)
		return
	}
	c, err := a.svc.Scanner.ThumbnailScanned(r.Context(), r.PathValue("serverName"), r.PathValue("mediaId"), req)
	if err != nil {
		writeScanError(w, r, a, err)
		return
	}
	serveMedia(w, r, c, "", true)
}

// readEncryptedRequest reads and parses the body of the encrypted-file
// endpoints.
func (a *API) readEncryptedRequest(r *http.Request) (*media.EncryptedFile, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, a.opts.MaxRequestBytes+1))
	if err != nil {
		return nil, &media.ScanError{Status: 400, Reason: media.ReasonMalformedJSON, Info: "could not read the request body"}
	}
	if int64(len(body)) > a.opts.MaxRequestBytes {
		return nil, &media.ScanError{Status: 400, Reason: media.ReasonMalformedJSON, Info: "the request body is too large"}
	}
	return a.svc.Scanner.ParseEncryptedRequest(body)
}

// scannerScanEncrypted serves POST /_matrix/media_proxy/unstable/scan_encrypted.
func (a *API) scannerScanEncrypted(w http.ResponseWriter, r *http.Request) {
	ef, err := a.readEncryptedRequest(r)
	if err != nil {
		writeScanError(w, r, a, err)
		return
	}
	res, err := a.svc.Scanner.ScanEncrypted(r.Context(), ef)
	if err != nil {
		writeScanError(w, r, a, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"clean": res.Clean, "info": res.Info})
}

// scannerDownloadEncrypted serves POST /_matrix/media_proxy/unstable/download_encrypted:
// the ciphertext, once its decryption scanned clean.
func (a *API) scannerDownloadEncrypted(w http.ResponseWriter, r *http.Request) {
	ef, err := a.readEncryptedRequest(r)
	if err != nil {
		writeScanError(w, r, a, err)
		return
	}
	c, err := a.svc.Scanner.DownloadEncrypted(r.Context(), ef)
	if err != nil {
		writeScanError(w, r, a, err)
		return
	}
	serveMedia(w, r, c, "", false)
}
