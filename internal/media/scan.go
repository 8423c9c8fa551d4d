package media

import (
	"bufio"
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sync"
	"time"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// ScannerQuarantine is the QuarantinedBy of media the content scanner
// found infected.
const ScannerQuarantine = "content scanner"

// infoClean and infoInfected are the scanner API's human-readable infos.
const (
	infoClean    = "File is clean"
	infoInfected = "***VIRUS DETECTED***"
)

// ScannerOptions configures content scanning.
type ScannerOptions struct {
	Engine ScanEngine
	// Quarantine keeps infected uploads (never served) instead of
	// rejecting them.
	Quarantine bool
	// AllowedMIMETypes, when not empty, are the only sniffed content types
	// that pass a scan.
	AllowedMIMETypes []string
	// VerdictTTL is how long a clean verdict is reused.
	VerdictTTL time.Duration
	// Timeout bounds one scan.
	Timeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// scanner runs scans and keeps their verdicts.
type scanner struct {
	opts  ScannerOptions
	store Store
	*scannerKey
	flight flight
}

func newScanner(ctx context.Context, opts ScannerOptions, st Store, random io.Reader) (*scanner, error) {
	if opts.Engine == nil {
		return nil, errors.New("media: scanner without an engine")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	candidate := make([]byte, 32)
	if _, err := io.ReadFull(random, candidate); err != nil {
		return nil, fmt.Errorf("media: generating the scanner key: %w", err)
	}
	secret, err := st.MediaScannerKey(ctx, candidate)
	if err != nil {
		return nil, err
	}
	k, err := newScannerKey(secret)
	if err != nil {
		return nil, err
	}
	return &scanner{opts: opts, store: st, scannerKey: k}, nil
}

// verdict is the outcome of a scan.
type verdict struct {
	clean bool
	// info names the finding of infected content (for logs and admins).
	info string
	// mimeForbidden is set when the content's type is not allowed;
	// mimeType is the sniffed type.
	mimeForbidden bool
	mimeType      string
}

// sniffMIME returns the content type of content from its first bytes,
// without parameters. Beyond net/http's sniffer it knows executables, so an
// allow list can keep them out.
func sniffMIME(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("MZ")):
		return "application/x-msdownload"
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "application/x-executable"
	}
	mt, _, err := mime.ParseMediaType(http.DetectContentType(head))
	if err != nil {
		return octetStream
	}
	return mt
}

// checkMIME applies the allow list to content starting with head.
func (sc *scanner) checkMIME(head []byte) (verdict, bool) {
	mt := sniffMIME(head)
	if len(sc.opts.AllowedMIMETypes) > 0 && !slices.Contains(sc.opts.AllowedMIMETypes, mt) {
		return verdict{mimeForbidden: true, mimeType: mt}, false
	}
	return verdict{}, true
}

// cached returns the stored verdict of keys: infected if any is infected,
// clean if the first is clean and fresh.
func (sc *scanner) cached(ctx context.Context, keys ...string) (verdict, bool, error) {
	vs, err := sc.store.ScanVerdicts(ctx, keys)
	if err != nil {
		return verdict{}, false, err
	}
	for _, v := range vs {
		if !v.Clean {
			return verdict{info: v.Info}, true, nil
		}
	}
	fresh := sc.opts.Now().Add(-sc.opts.VerdictTTL).UnixMilli()
	for _, v := range vs {
		if v.Key == keys[0] && v.ScannedTS >= fresh {
			return verdict{clean: true}, true, nil
		}
	}
	return verdict{}, false, nil
}

// run scans r with the engine within the timeout.
func (sc *scanner) run(ctx context.Context, r io.Reader) (verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, sc.opts.Timeout)
	defer cancel()
	clean, info, err := sc.opts.Engine.Scan(ctx, r)
	if err != nil {
		return verdict{}, err
	}
	return verdict{clean: clean, info: info}, nil
}

// record stores a verdict under keys.
func (sc *scanner) record(ctx context.Context, v verdict, keys ...string) error {
	now := sc.opts.Now().UnixMilli()
	vs := make([]store.ScanVerdict, len(keys))
	for i, k := range keys {
		vs[i] = store.ScanVerdict{Key: k, Clean: v.clean, Info: v.info, ScannedTS: now}
	}
	return sc.store.PutScanVerdicts(ctx, vs)
}

func plainKey(sha string) string { return "sha256:" + sha }

// scanBlob scans stored content (as is), using and refreshing the verdict
// cache. Infected content also quarantines every medium holding it.
func (sc *scanner) scanBlob(ctx context.Context, blobs Blobs, sha string) (verdict, error) {
	// Concurrent callers share the scan: one leaving must not cancel it
	// for the others (it has its own timeout).
	ctx = context.WithoutCancel(ctx)
	return sc.flight.do(plainKey(sha), func() (verdict, error) {
		f, err := blobs.Open(ctx, sha)
		if err != nil {
			return verdict{}, err
		}
		defer f.Close()
		br := bufio.NewReaderSize(f, clamdChunk)
		head, _ := br.Peek(512)
		if v, ok := sc.checkMIME(head); !ok {
			return v, nil
		}
		if v, ok, err := sc.cached(ctx, plainKey(sha)); err != nil || ok {
			return v, err
		}
		v, err := sc.run(ctx, br)
		if err != nil {
			return v, err
		}
		if err := sc.record(ctx, v, plainKey(sha)); err != nil {
			return v, err
		}
		if !v.clean {
			if _, err := sc.store.QuarantineMediaBySHA256(ctx, sha, ScannerQuarantine); err != nil {
				return v, err
			}
		}
		return v, nil
	})
}

// scanEncrypted decrypts an attachment as it streams to the engine (the
// plaintext is never stored) and scans it, using and refreshing the verdict
// cache. The ciphertext's hash is the content's address, so a wrong hash
// is known before decrypting; it is also checked while streaming, against
// storage corruption. Infected content quarantines every medium holding the
// ciphertext, and the ciphertext itself is recorded infected so that an
// identical upload is refused.
func (sc *scanner) scanEncrypted(ctx context.Context, blobs Blobs, rec store.MediaRecord, ef *EncryptedFile) (verdict, error) {
	key := ef.verdictKey()
	ctx = context.WithoutCancel(ctx)
	return sc.flight.do(key, func() (verdict, error) {
		if v, ok, err := sc.cached(ctx, key, plainKey(rec.SHA256)); err != nil || (ok && !v.clean) {
			return v, err
		}
		f, err := blobs.Open(ctx, rec.SHA256)
		if err != nil {
			return verdict{}, err
		}
		defer f.Close()
		stream, err := ef.decrypter()
		if err != nil {
			return verdict{}, err
		}
		h := sha256.New()
		plain := bufio.NewReaderSize(cipher.StreamReader{S: stream, R: io.TeeReader(f, h)}, clamdChunk)
		head, _ := plain.Peek(512)
		if v, ok := sc.checkMIME(head); !ok {
			return v, nil
		}
		if v, ok, err := sc.cached(ctx, key); err != nil || ok {
			return v, err
		}
		v, err := sc.run(ctx, plain)
		if err != nil {
			return v, err
		}
		// The engine may stop reading early; hash the rest.
		if _, err := io.Copy(io.Discard, plain); err != nil {
			return verdict{}, fmt.Errorf("media: reading attachment: %w", err)
		}
		if !bytes.Equal(h.Sum(nil), ef.sha256) {
			return verdict{}, &ScanError{Status: 400, Reason: ReasonFailedToDecrypt,
				Info: "the stored ciphertext does not match its hash", Err: errors.New("media: stored content corrupt")}
		}
		keys := []string{key}
		if !v.clean {
			keys = append(keys, plainKey(rec.SHA256))
		}
		if err := sc.record(ctx, v, keys...); err != nil {
			return v, err
		}
		if !v.clean {
			if _, err := sc.store.QuarantineMediaBySHA256(ctx, rec.SHA256, ScannerQuarantine); err != nil {
				return v, err
			}
		}
		return v, nil
	})
}

// flight runs one scan per key at a time; concurrent callers share its
// outcome.
type flight struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	v    verdict
	err  error
}

func (f *flight) do(key string, fn func() (verdict, error)) (verdict, error) {
	f.mu.Lock()
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		<-c.done
		return c.v, c.err
	}
	if f.calls == nil {
		f.calls = map[string]*flightCall{}
	}
	c := &flightCall{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.calls, key)
		f.mu.Unlock()
		close(c.done)
	}()
	c.v, c.err = fn()
	return c.v, c.err
}

// ScanResult is the answer of the scanner API's scan endpoints.
type ScanResult struct {
	Clean bool
	Info  string
}

// ScannerEnabled reports whether a content scanner is configured.
func (s *Service) ScannerEnabled() bool { return s.scanner != nil }

// ScannerPublicKey returns the unpadded base64 Curve25519 public key that
// clients encrypt request bodies to.
func (s *Service) ScannerPublicKey() string {
	if s.scanner == nil {
		return ""
	}
	return s.scanner.public
}

// scanTarget looks a medium up for the scanner endpoints: like servable,
// but media the scanner quarantined is reported (infected) rather than
// hidden, and a failure to get the content is MCS_MEDIA_REQUEST_FAILED.
func (s *Service) scanTarget(ctx context.Context, serverName, mediaID string) (store.MediaRecord, bool, error) {
	if s.scanner == nil {
		return store.MediaRecord{}, false, errNotFound
	}
	key, err := parseKey(serverName, mediaID)
	if err != nil {
		return store.MediaRecord{}, false, err
	}
	if s.isLocal(key) {
		recs, err := s.store.Media(ctx, []store.MediaKey{key})
		if err != nil {
			return store.MediaRecord{}, false, err
		}
		if len(recs) == 1 && recs[0].QuarantinedBy == ScannerQuarantine {
			return recs[0], true, nil
		}
	}
	rec, err := s.servable(ctx, serverName, mediaID, 0)
	var se *spec.Error
	if errors.As(err, &se) && se.Code != spec.ErrNotFound {
		return rec, false, &ScanError{Status: 502, Reason: ReasonRequestFailed, Info: se.Message, Err: err}
	}
	return rec, false, err
}

// scanFailure turns a scan that produced no verdict into the error the
// scanner API gives: the content is not served.
func scanFailure(err error) error {
	var se *ScanError
	if errors.As(err, &se) {
		return err
	}
	return &ScanError{Status: 403, Reason: ReasonNotClean, Info: "the file could not be scanned", Err: err}
}

// outcome maps a verdict to the scan endpoints' result, or an error for a
// forbidden type.
func outcome(v verdict) (ScanResult, error) {
	switch {
	case v.mimeForbidden:
		return ScanResult{}, &ScanError{Status: 403, Reason: ReasonMIMETypeForbidden, Info: fmt.Sprintf("File type: %s not allowed", v.mimeType)}
	case !v.clean:
		return ScanResult{Info: infoInfected}, nil
	}
	return ScanResult{Clean: true, Info: infoClean}, nil
}

var errNotClean = &ScanError{Status: 403, Reason: ReasonNotClean, Info: infoInfected}

// ScanMedia scans a medium (GET /_matrix/media_proxy/unstable/scan/...).
func (s *Service) ScanMedia(ctx context.Context, serverName, mediaID string) (ScanResult, error) {
	rec, infected, err := s.scanTarget(ctx, serverName, mediaID)
	if err != nil {
		return ScanResult{}, err
	}
	if infected {
		return ScanResult{Info: infoInfected}, nil
	}
	v, err := s.scanner.scanBlob(ctx, s.blobs, rec.SHA256)
	if err != nil {
		return ScanResult{}, scanFailure(err)
	}
	return outcome(v)
}

// DownloadScanned scans a medium and returns it if clean
// (GET /_matrix/media_proxy/unstable/download/...).
func (s *Service) DownloadScanned(ctx context.Context, serverName, mediaID string) (*Content, error) {
	res, err := s.ScanMedia(ctx, serverName, mediaID)
	if err != nil {
		return nil, err
	}
	if !res.Clean {
		return nil, errNotClean
	}
	return s.Download(ctx, serverName, mediaID, 0)
}

// ThumbnailScanned scans a medium and its thumbnail and returns the
// thumbnail if both are clean
// (GET /_matrix/media_proxy/unstable/thumbnail/...).
func (s *Service) ThumbnailScanned(ctx context.Context, serverName, mediaID string, req ThumbnailRequest) (*Content, error) {
	res, err := s.ScanMedia(ctx, serverName, mediaID)
	if err != nil {
		return nil, err
	}
	if !res.Clean {
		return nil, errNotClean
	}
	c, err := s.Thumbnail(ctx, serverName, mediaID, req, 0)
	if err != nil {
		return nil, err
	}
	v, err := s.scanner.scanBlob(ctx, s.blobs, c.SHA256)
	if err == nil {
		_, err = outcome(v)
	}
	if err != nil || !v.clean {
		c.Body.Close()
		if err != nil {
			return nil, scanFailure(err)
		}
		return nil, errNotClean
	}
	return c, nil
}

// encryptedTarget resolves an attachment's medium and checks its hash.
func (s *Service) encryptedTarget(ctx context.Context, ef *EncryptedFile) (store.MediaRecord, bool, error) {
	rec, infected, err := s.scanTarget(ctx, ef.ServerName, ef.MediaID)
	if err != nil || infected {
		return rec, infected, err
	}
	if rec.SHA256 != ef.contentHash() {
		return rec, false, &ScanError{Status: 400, Reason: ReasonFailedToDecrypt,
			Info: "the media does not match hashes.sha256"}
	}
	return rec, false, nil
}

// ScanEncrypted decrypts and scans an encrypted attachment
// (POST /_matrix/media_proxy/unstable/scan_encrypted).
func (s *Service) ScanEncrypted(ctx context.Context, ef *EncryptedFile) (ScanResult, error) {
	rec, infected, err := s.encryptedTarget(ctx, ef)
	if err != nil {
		return ScanResult{}, err
	}
	if infected {
		return ScanResult{Info: infoInfected}, nil
	}
	v, err := s.scanner.scanEncrypted(ctx, s.blobs, rec, ef)
	if err != nil {
		return ScanResult{}, scanFailure(err)
	}
	return outcome(v)
}

// DownloadEncrypted decrypts and scans an encrypted attachment and, if it
// is clean, returns its ciphertext
// (POST /_matrix/media_proxy/unstable/download_encrypted).
func (s *Service) DownloadEncrypted(ctx context.Context, ef *EncryptedFile) (*Content, error) {
	res, err := s.ScanEncrypted(ctx, ef)
	if err != nil {
		return nil, err
	}
	if !res.Clean {
		return nil, errNotClean
	}
	return s.Download(ctx, ef.ServerName, ef.MediaID, 0)
}
