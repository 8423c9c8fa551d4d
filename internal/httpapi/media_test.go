package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"myelin/internal/config"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

func mdLogin(t *testing.T, hs *testserver.Server, name string, admin bool) testUser {
	t.Helper()
	createAccount(t, hs, name, admin)
	cli, resp := loginClient(t, hs, name)
	return testUser{cli, resp.AccessToken}
}

// mdResponse is a raw response.
type mdResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r mdResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d %q is not JSON: %v", r.status, r.body, err)
	}
	return m
}

// expect checks the status and the errcode ("" for a success); for the
// content scanner's error shape the errcode is its "reason".
func (r mdResponse) expect(t *testing.T, status int, errcode string) mdResponse {
	t.Helper()
	var body struct {
		Errcode string `json:"errcode"`
		Reason  string `json:"reason"`
	}
	json.Unmarshal(r.body, &body)
	if r.status != status || (errcode != "" && body.Errcode != errcode && body.Reason != errcode) {
		t.Fatalf("got %d %.300q, want %d %s", r.status, r.body, status, errcode)
	}
	return r
}

// mdDo makes a raw request; body is sent as is (nil: none).
func mdDo(t *testing.T, hs *testserver.Server, token, method, path string, body []byte, header ...string) mdResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	resp, data := do(t, hs, token, method, path, rd, header...)
	return mdResponse{resp.StatusCode, resp.Header, data}
}

// mdUpload uploads through the client library and returns the URI.
func mdUpload(t *testing.T, u testUser, data []byte, contentType, name string) id.ContentURI {
	t.Helper()
	resp, err := u.Client.UploadMedia(context.Background(), mautrix.ReqUploadMedia{ContentBytes: data, ContentType: contentType, FileName: name})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	return resp.ContentURI
}

// testImage returns a w×h image with a gradient.
func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// blobFiles counts the content files under the media directory.
func blobFiles(t *testing.T, hs *testserver.Server) int {
	t.Helper()
	n := 0
	root := filepath.Join(hs.Config.DataDir, "media")
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(path, string(filepath.Separator)+"tmp"+string(filepath.Separator)) {
			n++
		}
		return nil
	})
	return n
}

func mediaPath(prefix string, uri id.ContentURI) string {
	return prefix + "/" + uri.Homeserver + "/" + uri.FileID
}

// TestMediaUploadDownload uploads with the client library and downloads
// over the authenticated and the deprecated endpoints, checking the safety
// headers, file names, range requests, deduplication and restarts.
func TestMediaUploadDownload(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := mdLogin(t, hs, "alice", false)

		text := []byte("Hello, media repository!\n")
		uri := mdUpload(t, alice, text, "text/plain", "hello.txt")
		if uri.Homeserver != "localhost" || len(uri.FileID) != 24 {
			t.Fatalf("uri = %v", uri)
		}
		resp, err := alice.Client.Download(ctx, uri)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(body, text) {
			t.Fatalf("downloaded %q", body)
		}
		h := resp.Header
		for k, want := range map[string]string{
			"Content-Type":                 "text/plain",
			"Content-Disposition":          `inline; filename=hello.txt`,
			"X-Content-Type-Options":       "nosniff",
			"Cross-Origin-Resource-Policy": "cross-origin",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox;") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy = %q", csp)
		}

		// Identical content is stored once.
		before := blobFiles(t, hs)
		uri2 := mdUpload(t, alice, text, "text/plain", "")
		if uri2 == uri || blobFiles(t, hs) != before {
			t.Fatalf("second identical upload: %v, files %d → %d", uri2, before, blobFiles(t, hs))
		}
		// No file name: the disposition has none.
		r := mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", uri2), nil).expect(t, 200, "")
		if cd := r.header.Get("Content-Disposition"); cd != "inline" {
			t.Fatalf("Content-Disposition without a name = %q", cd)
		}

		// File names: overridden in the path, non-ASCII, with separators.
		for _, name := range []string{"name with spaces", "name;with;semicolons", "\U0001F414", "a\"quote", "☕.txt"} {
			r := mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", uri)+"/"+url.PathEscape(name), nil).expect(t, 200, "")
			kind, params, err := mime.ParseMediaType(r.header.Get("Content-Disposition"))
			if err != nil || kind != "inline" || params["filename"] != name {
				t.Errorf("Content-Disposition for %q = %q (%v %v)", name, r.header.Get("Content-Disposition"), kind, params)
			}
		}

		// Unsafe types are attachments; the stored type comes back as sent.
		for _, ct := range []string{"text/html", "image/svg+xml", "application/javascript", "img/png"} {
			u := mdUpload(t, alice, []byte("<script>alert(1)</script>"), ct, "x")
			r := mdDo(t, hs, "", "GET", mediaPath("/_matrix/media/v3/download", u), nil).expect(t, 200, "")
			if r.header.Get("Content-Type") != ct || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
				t.Errorf("%s served as %q, %q", ct, r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
			}
		}
		// A safe type with parameters and capitals is inline.
		u := mdUpload(t, alice, text, "Text/Plain; charset=utf-8", "")
		r = mdDo(t, hs, "", "GET", mediaPath("/_matrix/media/v3/download", u), nil).expect(t, 200, "")
		if r.header.Get("Content-Disposition") != "inline" || r.header.Get("Content-Type") != "Text/Plain; charset=utf-8" {
			t.Errorf("parameterised type served as %q, %q", r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
		}
		// No type: application/octet-stream.
		r = mdDo(t, hs, alice.token, "POST", "/_matrix/media/v3/upload", []byte{1, 2, 3}).expect(t, 200, "")
		var up struct {
			ContentURI id.ContentURI `json:"content_uri"`
		}
		json.Unmarshal(r.body, &up)
		r = mdDo(t, hs, "", "GET", mediaPath("/_matrix/media/v3/download", up.ContentURI), nil).expect(t, 200, "")
		if r.header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("untyped upload served as %q", r.header.Get("Content-Type"))
		}
		// Zero bytes are fine.
		empty := mdUpload(t, alice, []byte{}, "text/plain", "empty")
		if r := mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", empty), nil).expect(t, 200, ""); len(r.body) != 0 {
			t.Fatalf("empty download = %q", r.body)
		}

		// Range requests and conditional GETs.
		r = mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", uri), nil, "Range", "bytes=7-11").expect(t, 206, "")
		if string(r.body) != "media" {
			t.Fatalf("range = %q", r.body)
		}
		etag := r.header.Get("ETag")
		mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", uri), nil, "If-None-Match", etag).expect(t, 304, "")

		// The config endpoints.
		cfg, err := alice.Client.GetMediaConfig(ctx)
		if err != nil || cfg.UploadSize != 50<<20 {
			t.Fatalf("media config = %+v, %v", cfg, err)
		}
		r = mdDo(t, hs, alice.token, "GET", "/_matrix/media/v3/config", nil).expect(t, 200, "")
		if r.json(t)["m.upload.size"] != float64(50<<20) {
			t.Fatalf("v3 config = %s", r.body)
		}

		// Everything survives a restart.
		hs.Restart()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if b, err := alice.Client.DownloadBytes(ctx, uri); err != nil || !bytes.Equal(b, text) {
			t.Fatalf("after restart: %q, %v", b, err)
		}
	})
}

// TestMediaUnauthenticatedFreeze checks the switch that freezes the
// deprecated unauthenticated endpoints.
func TestMediaUnauthenticatedFreeze(t *testing.T) {
	hs := testserver.Start(t, testdb.Engines(t)[0], func(c *config.Config) { c.Media.UnauthenticatedReads = false })
	alice := mdLogin(t, hs, "alice", false)
	img := encodePNG(t, testImage(64, 64))
	uri := mdUpload(t, alice, img, "image/png", "a.png")
	mdDo(t, hs, "", "GET", mediaPath("/_matrix/media/v3/download", uri), nil).expect(t, 404, "M_NOT_FOUND")
	mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/media/v3/download", uri), nil).expect(t, 404, "M_NOT_FOUND")
	mdDo(t, hs, "", "GET", mediaPath("/_matrix/media/v3/thumbnail", uri)+"?width=32&height=32", nil).expect(t, 404, "M_NOT_FOUND")
	mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", uri), nil).expect(t, 200, "")
	mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/thumbnail", uri)+"?width=32&height=32", nil).expect(t, 200, "")
}

// TestMediaAsyncUpload covers create + PUT: expiry, the pending limit,
// M_NOT_YET_UPLOADED, waiting downloads, M_CANNOT_OVERWRITE_MEDIA and
// uploads by another user.
func TestMediaAsyncUpload(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e, func(c *config.Config) { c.Media.MaxPendingUploads = 3 })
		alice := mdLogin(t, hs, "alice", false)
		bob := mdLogin(t, hs, "bob", false)

		created, err := alice.Client.CreateMXC(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if left := time.Until(created.UnusedExpiresAt.Time); left < 23*time.Hour || left > 25*time.Hour {
			t.Fatalf("unused_expires_at is %s away", left)
		}
		path := mediaPath("/_matrix/client/v1/media/download", created.ContentURI)
		mdDo(t, hs, alice.token, "GET", path+"?timeout_ms=0", nil).expect(t, 504, "M_NOT_YET_UPLOADED")
		mdDo(t, hs, "", "GET", mediaPath("/_matrix/media/v3/download", created.ContentURI)+"?timeout_ms=100", nil).expect(t, 504, "M_NOT_YET_UPLOADED")

		// Another user may not upload to it.
		put := mediaPath("/_matrix/media/v3/upload", created.ContentURI)
		mdDo(t, hs, bob.token, "PUT", put, []byte("bob's"), "Content-Type", "text/plain").expect(t, 403, "M_FORBIDDEN")

		// A download waiting for the upload gets it.
		got := make(chan mdResponse, 1)
		go func() {
			req, _ := http.NewRequest("GET", hs.URL+path+"?timeout_ms=10000", nil)
			req.Header.Set("Authorization", "Bearer "+alice.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				got <- mdResponse{status: -1}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got <- mdResponse{resp.StatusCode, resp.Header, b}
		}()
		time.Sleep(300 * time.Millisecond)
		if _, err := alice.Client.UploadMedia(ctx, mautrix.ReqUploadMedia{
			ContentBytes: []byte("async content"), ContentType: "text/plain", FileName: "a.txt", MXC: created.ContentURI,
		}); err != nil {
			t.Fatal(err)
		}
		if r := <-got; r.status != 200 || string(r.body) != "async content" {
			t.Fatalf("waiting download = %d %q", r.status, r.body)
		}
		mdDo(t, hs, alice.token, "PUT", put, []byte("again"), "Content-Type", "text/plain").expect(t, 409, "M_CANNOT_OVERWRITE_MEDIA")
		mdDo(t, hs, bob.token, "PUT", put, []byte("again"), "Content-Type", "text/plain").expect(t, 403, "M_FORBIDDEN")

		// The client library's background upload.
		done := make(chan struct{})
		async, err := alice.Client.UploadAsync(ctx, mautrix.ReqUploadMedia{
			ContentBytes: []byte("background"), ContentType: "text/plain", DoneCallback: func() { close(done) },
		})
		if err != nil {
			t.Fatal(err)
		}
		<-done
		if b, err := alice.Client.DownloadBytes(ctx, async.ContentURI); err != nil || string(b) != "background" {
			t.Fatalf("UploadAsync download = %q, %v", b, err)
		}

		// At most three pending media IDs per user.
		for i := 0; i < 3; i++ {
			if _, err := bob.Client.CreateMXC(ctx); err != nil {
				t.Fatal(err)
			}
		}
		r := mdDo(t, hs, bob.token, "POST", "/_matrix/media/v1/create", nil).expect(t, 429, "M_LIMIT_EXCEEDED")
		if _, ok := r.json(t)["retry_after_ms"]; !ok {
			t.Fatalf("429 without retry_after_ms: %s", r.body)
		}

		// Unknown, remote and malformed media IDs.
		mdDo(t, hs, alice.token, "PUT", "/_matrix/media/v3/upload/localhost/nosuchmedia", []byte("x")).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, alice.token, "PUT", "/_matrix/media/v3/upload/other.org/abc", []byte("x")).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, alice.token, "PUT", "/_matrix/media/v3/upload/localhost/a%2F..", []byte("x")).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, "", "PUT", put, []byte("x")).expect(t, 401, "M_MISSING_TOKEN")
		mdDo(t, hs, "", "POST", "/_matrix/media/v1/create", nil).expect(t, 401, "M_MISSING_TOKEN")
	})
}

// TestMediaThumbnails covers crop and scale for PNG, JPEG, GIF and WebP,
// pre-generated sizes, the original for small images, and refusals.
func TestMediaThumbnails(t *testing.T) {
	webp, err := os.ReadFile("../media/testdata/blue-purple-pink.lossy.webp") // 150×100
	if err != nil {
		t.Fatal(err)
	}
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		alice := mdLogin(t, hs, "alice", false)
		big := testImage(800, 400)
		bigPNG := encodePNG(t, big)
		for _, tc := range []struct {
			name, ct, method string
			data             []byte
			w, h             int
			wantType         string
			wantW, wantH     int
		}{
			{"png crop", "image/png", "crop", bigPNG, 32, 32, "image/png", 32, 32},
			{"png scale", "image/png", "scale", bigPNG, 320, 240, "image/png", 320, 160},
			{"png scale between sizes", "image/png", "scale", bigPNG, 500, 100, "image/png", 640, 320},
			{"png larger than all sizes", "image/png", "scale", bigPNG, 700, 350, "image/png", 700, 350},
			{"png larger than the image: a still copy", "image/png", "scale", bigPNG, 900, 450, "image/png", 800, 400},
			{"jpeg crop", "image/jpeg", "crop", encodeJPEG(t, big), 96, 96, "image/jpeg", 96, 96},
			{"gif scale: the smallest pre-generated size that fits", "image/gif", "scale", encodeGIF(t, big), 32, 32, "image/png", 320, 160},
			{"webp crop", "image/webp", "crop", webp, 32, 32, "image/png", 32, 32},
			{"webp smaller than asked: a still copy", "image/webp", "scale", webp, 320, 240, "image/png", 150, 100},
			{"webp smaller than asked, animated: the original", "image/webp", "scale&animated=true", webp, 320, 240, "image/webp", 150, 100},
			{"jpeg smaller than asked: the original", "image/jpeg", "crop", encodeJPEG(t, testImage(50, 40)), 96, 96, "image/jpeg", 50, 40},
			{"wrong claimed type", "application/octet-stream", "crop", bigPNG, 32, 32, "image/png", 32, 32},
		} {
			t.Run(tc.name, func(t *testing.T) {
				uri := mdUpload(t, alice, tc.data, tc.ct, "img")
				q := fmt.Sprintf("?width=%d&height=%d&method=%s", tc.w, tc.h, tc.method)
				for _, path := range []string{"/_matrix/client/v1/media/thumbnail", "/_matrix/media/v3/thumbnail"} {
					r := mdDo(t, hs, alice.token, "GET", mediaPath(path, uri)+q, nil).expect(t, 200, "")
					if ct := r.header.Get("Content-Type"); ct != tc.wantType {
						t.Fatalf("Content-Type = %q, want %q", ct, tc.wantType)
					}
					if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline") {
						t.Fatalf("Content-Disposition = %q", cd)
					}
					cfg, _, err := image.DecodeConfig(bytes.NewReader(r.body))
					if err != nil || cfg.Width != tc.wantW || cfg.Height != tc.wantH {
						t.Fatalf("thumbnail %d×%d (%v), want %d×%d", cfg.Width, cfg.Height, err, tc.wantW, tc.wantH)
					}
				}
			})
		}

		// The client library's thumbnail call.
		uri := mdUpload(t, alice, bigPNG, "image/png", "big.png")
		resp, err := alice.Client.DownloadThumbnail(context.Background(), uri, 96, 96, mautrix.DownloadThumbnailExtra{Method: "crop", Animated: true})
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, err := image.DecodeConfig(resp.Body)
		resp.Body.Close()
		if err != nil || cfg.Width != 96 || cfg.Height != 96 {
			t.Fatalf("DownloadThumbnail: %+v, %v", cfg, err)
		}

		// Bad input.
		th := mediaPath("/_matrix/client/v1/media/thumbnail", uri)
		for q, code := range map[string]string{
			"":                                 "M_MISSING_PARAM",
			"?width=32":                        "M_MISSING_PARAM",
			"?width=abc&height=32":             "M_INVALID_PARAM",
			"?width=-5&height=32":              "M_INVALID_PARAM",
			"?width=32&height=0":               "M_INVALID_PARAM",
			"?width=32&height=99999":           "M_INVALID_PARAM",
			"?width=32&height=32&method=zoom":  "M_INVALID_PARAM",
			"?width=32&height=32&animated=yes": "M_INVALID_PARAM",
			"?width=32&height=32&timeout_ms=x": "M_INVALID_PARAM",
		} {
			mdDo(t, hs, alice.token, "GET", th+q, nil).expect(t, 400, code)
		}
		mdDo(t, hs, "", "GET", th+"?width=32&height=32", nil).expect(t, 401, "M_MISSING_TOKEN")
		mdDo(t, hs, alice.token, "GET", "/_matrix/client/v1/media/thumbnail/localhost/nosuch?width=32&height=32", nil).expect(t, 404, "M_NOT_FOUND")
		notImage := mdUpload(t, alice, []byte("%PDF-1.4 not an image"), "application/pdf", "doc.pdf")
		mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/thumbnail", notImage)+"?width=32&height=32", nil).expect(t, 400, "M_UNKNOWN")
		svg := mdUpload(t, alice, []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10000" height="10000"/>`), "image/svg+xml", "x.svg")
		mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/thumbnail", svg)+"?width=32&height=32", nil).expect(t, 400, "M_UNKNOWN")

		// A decompression bomb: a small PNG declaring 100000×100000 pixels.
		// The upload is accepted (it is only bytes), but it is never
		// decoded: the thumbnail is refused from the header alone.
		bomb := pngBomb(t, 100_000, 100_000)
		if len(bomb) > 4096 {
			t.Fatalf("bomb is %d bytes", len(bomb))
		}
		bombURI := mdUpload(t, alice, bomb, "image/png", "bomb.png")
		mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/thumbnail", bombURI)+"?width=32&height=32", nil).expect(t, 413, "M_TOO_LARGE")
	})
}

// pngBomb returns a valid PNG signature and IHDR declaring w×h RGBA
// pixels, followed by a tiny IDAT and IEND: the header is all a decoder
// needs to commit to a w×h×4-byte buffer.
func pngBomb(t testing.TB, w, h int) []byte {
	t.Helper()
	var full bytes.Buffer
	png.Encode(&full, image.NewRGBA(image.Rect(0, 0, 1, 1)))
	b := full.Bytes()
	// IHDR data starts at byte 16: width, height (big-endian).
	out := append([]byte(nil), b...)
	put := func(off, v int) {
		out[off], out[off+1], out[off+2], out[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	put(16, w)
	put(20, h)
	// Recompute the IHDR CRC over type + data (bytes 12..29).
	crc := crc32.ChecksumIEEE(out[12:29])
	put(29, int(crc))
	return out
}

// TestMediaLimits covers the per-upload size limit (413, declared or
// streamed) and the per-user quota (403), on both engines.
func TestMediaLimits(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e, func(c *config.Config) {
			c.Media.MaxUploadBytes = 1000
			c.Media.QuotaBytes = 2500
		})
		alice := mdLogin(t, hs, "alice", false)
		bob := mdLogin(t, hs, "bob", false)
		before := blobFiles(t, hs)
		mdDo(t, hs, alice.token, "POST", "/_matrix/media/v3/upload", make([]byte, 1001), "Content-Type", "text/plain").expect(t, 413, "M_TOO_LARGE")
		// A streamed body without a length is cut at the limit.
		req, _ := http.NewRequest("POST", hs.URL+"/_matrix/media/v3/upload", io.MultiReader(bytes.NewReader(make([]byte, 600)), bytes.NewReader(make([]byte, 600))))
		req.Header.Set("Authorization", "Bearer "+alice.token)
		req.ContentLength = -1
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("chunked over-size upload = %d", resp.StatusCode)
		}
		if n := blobFiles(t, hs); n != before {
			t.Fatalf("refused uploads left %d files", n-before)
		}
		// The quota: 1000 + 1000 + 500 fit, one more byte does not.
		for i, size := range []int{1000, 1000, 500} {
			data := bytes.Repeat([]byte{byte(i + 1)}, size)
			mdDo(t, hs, alice.token, "POST", "/_matrix/media/v3/upload", data, "Content-Type", "text/plain").expect(t, 200, "")
		}
		mdDo(t, hs, alice.token, "POST", "/_matrix/media/v3/upload", []byte("x"), "Content-Type", "text/plain").expect(t, 403, "M_FORBIDDEN")
		created := mdDo(t, hs, alice.token, "POST", "/_matrix/media/v1/create", nil).expect(t, 200, "").json(t)["content_uri"].(string)
		mdDo(t, hs, alice.token, "PUT", "/_matrix/media/v3/upload/"+strings.TrimPrefix(created, "mxc://"), []byte("x"), "Content-Type", "text/plain").expect(t, 403, "M_FORBIDDEN")
		// Other users have their own quota.
		mdDo(t, hs, bob.token, "POST", "/_matrix/media/v3/upload", make([]byte, 900), "Content-Type", "text/plain").expect(t, 200, "")
	})
}

// TestMediaBadInput sends bad input to every media endpoint.
func TestMediaBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		alice := mdLogin(t, hs, "alice", false)
		uri := mdUpload(t, alice, []byte("data"), "text/plain", "d.txt")
		for _, tc := range []struct {
			method, path string
			token        string
			status       int
			errcode      string
		}{
			{"POST", "/_matrix/media/v3/upload", "", 401, "M_MISSING_TOKEN"},
			{"POST", "/_matrix/media/v3/upload", "nonsense", 401, "M_UNKNOWN_TOKEN"},
			{"POST", "/_matrix/media/v3/upload?filename=a%00b", alice.token, 400, "M_INVALID_PARAM"},
			{"POST", "/_matrix/media/v3/upload?filename=a%0Ab", alice.token, 400, "M_INVALID_PARAM"},
			{"POST", "/_matrix/media/v3/upload?filename=%FF%FE", alice.token, 400, "M_INVALID_PARAM"},
			{"POST", "/_matrix/media/v3/upload?filename=" + strings.Repeat("n", 256), alice.token, 400, "M_INVALID_PARAM"},
			{"GET", "/_matrix/client/v1/media/download/localhost/" + uri.FileID, "", 401, "M_MISSING_TOKEN"},
			{"GET", "/_matrix/client/v1/media/download/localhost/nosuchmedia", alice.token, 404, "M_NOT_FOUND"},
			{"GET", "/_matrix/client/v1/media/download/other.example/" + uri.FileID, alice.token, 404, "M_NOT_FOUND"},
			{"GET", "/_matrix/client/v1/media/download/localhost/..%2F..%2Fetc%2Fpasswd", alice.token, 404, "M_NOT_FOUND"},
			{"GET", "/_matrix/client/v1/media/download/localhost/a%00b", alice.token, 404, "M_NOT_FOUND"},
			{"GET", "/_matrix/client/v1/media/download/localhost/" + strings.Repeat("a", 256), alice.token, 404, "M_NOT_FOUND"},
			{"GET", "/_matrix/client/v1/media/download/bad%20server/" + uri.FileID, alice.token, 404, "M_NOT_FOUND"},
			{"GET", "/_matrix/client/v1/media/download/localhost/" + uri.FileID + "?timeout_ms=-1", alice.token, 400, "M_INVALID_PARAM"},
			{"GET", "/_matrix/client/v1/media/download/localhost/" + uri.FileID + "?allow_remote=maybe", alice.token, 400, "M_INVALID_PARAM"},
			{"GET", "/_matrix/media/v3/download/localhost/%2E%2E", "", 404, "M_NOT_FOUND"},
			{"GET", "/_matrix/client/v1/media/config", "", 401, "M_MISSING_TOKEN"},
			{"GET", "/_matrix/media/v3/config", "", 401, "M_MISSING_TOKEN"},
			{"GET", "/_matrix/client/v1/media/preview_url", alice.token, 400, "M_MISSING_PARAM"},
			{"GET", "/_matrix/client/v1/media/preview_url?url=https://example.org/", "", 401, "M_MISSING_TOKEN"},
			{"GET", "/_matrix/client/v1/media/preview_url?url=ftp://example.org/", alice.token, 400, "M_INVALID_PARAM"},
			{"GET", "/_matrix/client/v1/media/preview_url?url=not%20a%20url", alice.token, 400, "M_INVALID_PARAM"},
			{"GET", "/_matrix/client/v1/media/preview_url?url=https://example.org/&ts=yesterday", alice.token, 400, "M_INVALID_PARAM"},
			{"GET", "/_matrix/client/v1/media/preview_url?url=" + url.QueryEscape(hs.URL+"/_matrix/client/versions"), alice.token, 403, "M_FORBIDDEN"},
			{"GET", "/_matrix/media/v3/preview_url?url=" + url.QueryEscape("http://localhost:1/"), alice.token, 403, "M_FORBIDDEN"},
			{"POST", "/_synapse/admin/v1/media/quarantine/localhost/" + uri.FileID, alice.token, 403, "M_FORBIDDEN"},
			{"POST", "/_synapse/admin/v1/media/unquarantine/localhost/" + uri.FileID, alice.token, 403, "M_FORBIDDEN"},
			{"POST", "/_synapse/admin/v1/user/@alice:localhost/media/quarantine", alice.token, 403, "M_FORBIDDEN"},
			{"POST", "/_synapse/admin/v1/media/quarantine/localhost/" + uri.FileID, "", 401, "M_MISSING_TOKEN"},
			{"GET", "/_matrix/media_proxy/unstable/public_key", alice.token, 404, "M_UNRECOGNIZED"},
			{"DELETE", "/_matrix/media/v3/upload", alice.token, 405, "M_UNRECOGNIZED"},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				mdDo(t, hs, tc.token, tc.method, tc.path, []byte("body")).expect(t, tc.status, tc.errcode)
			})
		}
		// Nothing above changed the medium.
		if b, err := alice.Client.DownloadBytes(context.Background(), uri); err != nil || string(b) != "data" {
			t.Fatalf("medium after bad input: %q, %v", b, err)
		}
	})
}

// TestMediaQuarantine covers Synapse's admin quarantine API.
func TestMediaQuarantine(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		admin := mdLogin(t, hs, "admin", true)
		alice := mdLogin(t, hs, "alice", false)
		a1 := mdUpload(t, alice, encodePNG(t, testImage(100, 100)), "image/png", "a1.png")
		a2 := mdUpload(t, alice, []byte("second"), "text/plain", "a2.txt")
		mine := mdUpload(t, admin, []byte("admin's"), "text/plain", "")

		mdDo(t, hs, admin.token, "POST", "/_synapse/admin/v1/media/quarantine/localhost/"+a1.FileID, nil).expect(t, 200, "")
		for _, p := range []string{"/_matrix/client/v1/media/download", "/_matrix/media/v3/download"} {
			mdDo(t, hs, alice.token, "GET", mediaPath(p, a1), nil).expect(t, 404, "M_NOT_FOUND")
		}
		mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/thumbnail", a1)+"?width=32&height=32", nil).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, admin.token, "POST", "/_synapse/admin/v1/media/unquarantine/localhost/"+a1.FileID, nil).expect(t, 200, "")
		mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", a1), nil).expect(t, 200, "")

		r := mdDo(t, hs, admin.token, "POST", "/_synapse/admin/v1/user/@alice:localhost/media/quarantine", nil).expect(t, 200, "")
		if r.json(t)["num_quarantined"] != float64(2) {
			t.Fatalf("user quarantine = %s", r.body)
		}
		for _, u := range []id.ContentURI{a1, a2} {
			mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", u), nil).expect(t, 404, "M_NOT_FOUND")
		}
		mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", mine), nil).expect(t, 200, "")

		// Unknown local media, remote media (kept for when it is fetched), bad input.
		mdDo(t, hs, admin.token, "POST", "/_synapse/admin/v1/media/quarantine/localhost/nosuchmedia", nil).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, admin.token, "POST", "/_synapse/admin/v1/media/quarantine/remote.example/abc", nil).expect(t, 200, "")
		mdDo(t, hs, admin.token, "POST", "/_synapse/admin/v1/media/quarantine/localhost/a%2Fb", nil).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, admin.token, "POST", "/_synapse/admin/v1/user/not-a-user/media/quarantine", nil).expect(t, 400, "M_INVALID_PARAM")
	})
}

// TestMediaURLPreview previews a page served on loopback (allowed by the
// test's config) and checks the SSRF guard with the default config.
func TestMediaURLPreview(t *testing.T) {
	img := encodePNG(t, testImage(279, 129))
	var pageHits, imageHits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) {
		pageHits.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html prefix="og: http://ogp.me/ns#"><head>
<title>The Rock (1996)</title>
<meta property="og:title" content="The Rock" />
<meta property="og:type" content="video.movie" />
<meta property="og:url" content="http://www.imdb.com/title/tt0117500/" />
<meta property="og:image" content="img/test.png" />
<meta name="description" content="A &amp; B">
</head><body><p>hello</p></body></html>`)
	})
	mux.HandleFunc("/plain.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head><title>  Just   a\ttitle </title><meta name=description content='desc'></head></html>")
	})
	mux.HandleFunc("/img/test.png", func(w http.ResponseWriter, r *http.Request) {
		imageHits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(img)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head><title>huge</title></head><body>")
		chunk := bytes.Repeat([]byte("<p>x</p>"), 8192)
		for i := 0; i < 1000; i++ { // 64 MB if read to the end
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	web := httptest.NewServer(mux)
	defer web.Close()
	// A second server on another loopback address, not allowed.
	internal := httptest.NewUnstartedServer(mux)
	if ln, err := net.Listen("tcp", "127.0.0.2:0"); err == nil {
		internal.Listener = ln
		internal.Start()
		defer internal.Close()
	} else {
		internal = nil
	}

	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e, func(c *config.Config) {
			c.Media.URLPreview.AllowCIDRs = []string{"127.0.0.1/32"}
			c.Media.URLPreview.MaxBytes = 1 << 20
		})
		alice := mdLogin(t, hs, "alice", false)
		pageHits.Store(0)
		imageHits.Store(0)
		preview := func(u string) mdResponse {
			return mdDo(t, hs, alice.token, "GET", "/_matrix/client/v1/media/preview_url?url="+url.QueryEscape(u), nil)
		}
		og := preview(web.URL+"/page.html#fragment").expect(t, 200, "").json(t)
		for k, want := range map[string]any{
			"og:title": "The Rock", "og:type": "video.movie", "og:url": "http://www.imdb.com/title/tt0117500/",
			"og:description": "A & B", "og:image:type": "image/png", "og:image:width": float64(279), "og:image:height": float64(129),
			"matrix:image:size": float64(len(img)),
		} {
			if og[k] != want {
				t.Errorf("%s = %#v, want %#v (%v)", k, og[k], want, og)
			}
		}
		imgURI, _ := og["og:image"].(string)
		parsed, err := id.ParseContentURI(imgURI)
		if err != nil {
			t.Fatalf("og:image = %q", imgURI)
		}
		if b, err := alice.Client.DownloadBytes(context.Background(), parsed); err != nil || !bytes.Equal(b, img) {
			t.Fatalf("preview image download: %d bytes, %v", len(b), err)
		}
		// Cached: the page is not fetched again (also over the v3 path).
		r := mdDo(t, hs, alice.token, "GET", "/_matrix/media/v3/preview_url?url="+url.QueryEscape(web.URL+"/page.html"), nil).expect(t, 200, "")
		if r.json(t)["og:title"] != "The Rock" || pageHits.Load() != 1 || imageHits.Load() != 1 {
			t.Fatalf("second preview: %s, page fetched %d times, image %d times", r.body, pageHits.Load(), imageHits.Load())
		}
		// Fallbacks to <title> and the description.
		og = preview(web.URL+"/plain.html").expect(t, 200, "").json(t)
		if og["og:title"] != "Just a title" || og["og:description"] != "desc" || og["og:image"] != nil {
			t.Errorf("fallback preview = %v", og)
		}
		// An image URL previews as its image.
		og = preview(web.URL+"/img/test.png").expect(t, 200, "").json(t)
		if og["og:image:width"] != float64(279) {
			t.Errorf("image preview = %v", og)
		}
		// A page over the size cap is read only up to it.
		start := time.Now()
		og = preview(web.URL+"/huge").expect(t, 200, "").json(t)
		if og["og:title"] != "huge" || time.Since(start) > 5*time.Second {
			t.Errorf("huge page: %v after %s", og, time.Since(start))
		}
		// Redirects: followed to allowed hosts, refused to others.
		preview(web.URL+"/redirect?to="+url.QueryEscape(web.URL+"/plain.html")).expect(t, 200, "")
		if internal != nil {
			preview(internal.URL+"/plain.html").expect(t, 403, "M_FORBIDDEN")
			preview(web.URL+"/redirect?to="+url.QueryEscape(internal.URL+"/plain.html")).expect(t, 403, "M_FORBIDDEN")
		}
		preview(web.URL+"/redirect?to="+url.QueryEscape("file:///etc/passwd")).expect(t, 502, "M_UNKNOWN")
		preview(web.URL+"/nosuchpage").expect(t, 502, "M_UNKNOWN")
	})

	// With the default config, loopback is refused, by name or by address.
	hs := testserver.Start(t, testdb.Engines(t)[0])
	alice := mdLogin(t, hs, "alice", false)
	for _, u := range []string{web.URL + "/page.html", strings.Replace(web.URL, "127.0.0.1", "localhost", 1) + "/page.html",
		"http://[::1]:1/", "http://0.0.0.0:1/", "http://[::ffff:127.0.0.1]:1/", "http://169.254.169.254/latest/meta-data/"} {
		mdDo(t, hs, alice.token, "GET", "/_matrix/client/v1/media/preview_url?url="+url.QueryEscape(u), nil).expect(t, 403, "M_FORBIDDEN")
	}
	// Disabled previews answer 404.
	off := testserver.Start(t, testdb.Engines(t)[0], func(c *config.Config) { c.Media.URLPreview.Enabled = false })
	bob := mdLogin(t, off, "bob", false)
	mdDo(t, off, bob.token, "GET", "/_matrix/client/v1/media/preview_url?url="+url.QueryEscape(web.URL+"/page.html"), nil).expect(t, 404, "M_UNRECOGNIZED")
}
