package httpapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"myelin/internal/config"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// The media benchmarks run the real server (SQLite) over loopback HTTP:
//
//	go test ./internal/httpapi -run '^$' -bench 'Media|Scan' -benchtime 20x
//
// Throughput is reported as MB/s (b.SetBytes); peak heap growth during a
// request as peak-heap-MB.

const benchFileSize = 10 << 20

// benchServer starts a server (SQLite) and logs a user in.
func benchServer(b *testing.B, tweaks ...func(*config.Config)) (*testserver.Server, string) {
	b.Helper()
	hs := testserver.Start(b, testdb.Engines(b)[0], tweaks...)
	createAccount(b, hs, "bench", false)
	return hs, login(b, hs, "bench", "password", "").AccessToken
}

// benchDo makes a request and drains the response.
func benchDo(b *testing.B, method, url, token string, body io.Reader, length int64) (int, []byte) {
	b.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		b.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func randomBytes(b *testing.B, n int) []byte {
	data := make([]byte, n)
	rand.Read(data)
	return data
}

// BenchmarkMediaUpload measures POST /_matrix/media/v3/upload of 10 MB
// files (each different, so each is hashed, written, synced and stored).
func BenchmarkMediaUpload(b *testing.B) {
	hs, token := benchServer(b)
	data := randomBytes(b, benchFileSize)
	b.SetBytes(benchFileSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		binary.BigEndian.PutUint64(data, uint64(i))
		if status, body := benchDo(b, "POST", hs.URL+"/_matrix/media/v3/upload", token, bytes.NewReader(data), int64(len(data))); status != 200 {
			b.Fatalf("upload: %d %s", status, body)
		}
	}
}

// BenchmarkMediaDownload measures GET /_matrix/client/v1/media/download of
// a 10 MB file.
func BenchmarkMediaDownload(b *testing.B) {
	hs, token := benchServer(b)
	data := randomBytes(b, benchFileSize)
	_, body := benchDo(b, "POST", hs.URL+"/_matrix/media/v3/upload", token, bytes.NewReader(data), int64(len(data)))
	var up struct {
		ContentURI id.ContentURI `json:"content_uri"`
	}
	json.Unmarshal(body, &up)
	url := hs.URL + mediaPath("/_matrix/client/v1/media/download", up.ContentURI)
	b.SetBytes(benchFileSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if status, got := benchDo(b, "GET", url, token, nil, 0); status != 200 || len(got) != benchFileSize {
			b.Fatalf("download: %d, %d bytes", status, len(got))
		}
	}
}

// BenchmarkScanEncrypted measures POST scan_encrypted of a 10 MB encrypted
// attachment not scanned before (a new key and content each time): hash
// check, AES-256-CTR decryption streamed into the engine, verdict stored.
// "cached" is a repeated request answered from the verdict cache.
func BenchmarkScanEncrypted(b *testing.B) {
	engines := map[string]func(*config.Config){}
	if addr := os.Getenv("MYELIN_TEST_CLAMD"); addr != "" {
		engines["clamd"] = func(c *config.Config) { c.Media.Scanner.Clamd = addr }
	}
	script := filepath.Join(b.TempDir(), "scan.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ncat >/dev/null\n"), 0o700)
	engines["command-cat"] = func(c *config.Config) { c.Media.Scanner.Command = script }
	for name, engine := range engines {
		hs, token := benchServer(b, engine)
		prepare := func() []byte {
			ct, ef := encryptAttachment(randomBytes(b, benchFileSize))
			status, body := benchDo(b, "POST", hs.URL+"/_matrix/media/v3/upload", token, bytes.NewReader(ct), int64(len(ct)))
			if status != 200 {
				b.Fatalf("upload: %d %s", status, body)
			}
			var up struct {
				ContentURI id.ContentURI `json:"content_uri"`
			}
			json.Unmarshal(body, &up)
			return fileBody(b, ef, up.ContentURI, nil)
		}
		scan := func(body []byte) {
			status, resp := benchDo(b, "POST", hs.URL+proxy+"scan_encrypted", token, bytes.NewReader(body), int64(len(body)))
			if status != 200 || !bytes.Contains(resp, []byte(`"clean":true`)) {
				b.Fatalf("scan_encrypted: %d %s", status, resp)
			}
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(benchFileSize)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				body := prepare()
				b.StartTimer()
				scan(body)
			}
		})
		b.Run(name+"-cached", func(b *testing.B) {
			body := prepare()
			scan(body)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				scan(body)
			}
		})
	}
}

// peakHeap samples the live heap while it runs and reports the growth
// over the baseline.
type peakHeap struct {
	base, peak atomic.Uint64
	stop, done chan struct{}
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startPeakHeap() *peakHeap {
	runtime.GC()
	p := &peakHeap{stop: make(chan struct{}), done: make(chan struct{})}
	p.base.Store(heapBytes())
	go func() {
		defer close(p.done)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			if h := heapBytes(); h > p.peak.Load() {
				p.peak.Store(h)
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// growthMB stops sampling and returns the peak growth in MB.
func (p *peakHeap) growthMB() float64 {
	close(p.stop)
	<-p.done
	if p.peak.Load() < p.base.Load() {
		return 0
	}
	return float64(p.peak.Load()-p.base.Load()) / 1e6
}

// BenchmarkMediaDecompressionBomb requests a thumbnail of a 100000×100000
// PNG (≈60 bytes of header declaring 40 GB of pixels): refused from the
// header with 413, so the heap barely grows. For scale, "real-4000x3000"
// thumbnails a real 12-megapixel image.
func BenchmarkMediaDecompressionBomb(b *testing.B) {
	hs, token := benchServer(b, func(c *config.Config) { c.Media.ThumbnailSizes = "" })
	upload := func(data []byte) string {
		_, body := benchDo(b, "POST", hs.URL+"/_matrix/media/v3/upload", token, bytes.NewReader(data), int64(len(data)))
		var up struct {
			ContentURI id.ContentURI `json:"content_uri"`
		}
		json.Unmarshal(body, &up)
		return hs.URL + mediaPath("/_matrix/client/v1/media/thumbnail", up.ContentURI)
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		status int
	}{
		{"bomb-100000x100000", pngBomb(b, 100_000, 100_000), 413},
		{"real-4000x3000", encodeJPEG(b, testImage(4000, 3000)), 200},
	} {
		url := upload(tc.data)
		size := 100
		b.Run(tc.name, func(b *testing.B) {
			var peak float64
			for i := 0; i < b.N; i++ {
				p := startPeakHeap()
				// A new size each time, so nothing is served from storage.
				size++
				status, body := benchDo(b, "GET", url+"?method=scale&width=100&height="+itoa(size), token, nil, 0)
				peak = max(peak, p.growthMB())
				if status != tc.status {
					b.Fatalf("thumbnail: %d %.200s", status, body)
				}
			}
			b.ReportMetric(peak, "peak-heap-MB")
		})
	}
}

// BenchmarkMediaOversizedUpload streams a 100 MB body without a declared
// length at the default 50 MB limit: it is cut at the limit and refused
// with 413, and the body never sits in memory.
func BenchmarkMediaOversizedUpload(b *testing.B) {
	hs, token := benchServer(b)
	chunk := randomBytes(b, 1<<20)
	var peak float64
	b.SetBytes(50 << 20)
	for i := 0; i < b.N; i++ {
		p := startPeakHeap()
		body := io.MultiReader(repeatReader(chunk, 100)...)
		status, resp := benchDo(b, "POST", hs.URL+"/_matrix/media/v3/upload", token, body, -1)
		peak = max(peak, p.growthMB())
		if status != 413 {
			b.Fatalf("oversized upload: %d %s", status, resp)
		}
	}
	b.ReportMetric(peak, "peak-heap-MB")
}

func repeatReader(chunk []byte, n int) []io.Reader {
	rs := make([]io.Reader, n)
	for i := range rs {
		rs[i] = bytes.NewReader(chunk)
	}
	return rs
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
