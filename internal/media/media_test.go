package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIPFilter(t *testing.T) {
	f := newIPFilter([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, []netip.Prefix{netip.MustParsePrefix("8.8.4.0/24")})
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"127.255.0.9", false},
		{"0.0.0.0", false},
		{"10.0.0.1", false},
		{"10.1.2.3", true}, // allowed
		{"172.16.5.4", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"100.64.0.1", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"8.8.4.4", false}, // denied by config
		{"8.8.8.8", true},
		{"::1", false},
		{"::", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"ff02::1", false},
		{"::ffff:127.0.0.1", false}, // IPv4-mapped
		{"::ffff:10.0.0.1", false},
		{"::ffff:93.184.216.34", true},
		{"::7f00:1", false},       // IPv4-compatible 127.0.0.1
		{"2002:7f00:1::1", false}, // 6to4 of 127.0.0.1
		{"2002:0a00::1", false},   // 6to4 of 10.0.0.0
		{"2002:5db8:d822::1", true},
		{"64:ff9b::a00:1", false}, // NAT64 of 10.0.0.1
		{"64:ff9b::5db8:d822", true},
		{"2001:0:4136:e378::1", false}, // Teredo
		{"2001:db8::1", false},
	} {
		if got := f.allowed(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("allowed(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	if err := f.control("tcp", "not-an-address", nil); !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("control(garbage) = %v", err)
	}
	if err := f.control("tcp6", "[::ffff:127.0.0.1]:80", nil); !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("control(mapped loopback) = %v", err)
	}
}

// TestSafeClient checks the dialer hook on real connections: a name that
// resolves to loopback is refused, and so is a redirect from an allowed
// server to a denied one.
func TestSafeClient(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		io.WriteString(w, "hello")
	}))
	defer ok.Close()
	ctx := context.Background()
	u, _ := url.Parse(strings.Replace(ok.URL, "127.0.0.1", "localhost", 1))
	strict := newSafeClient(newIPFilter(nil, nil), 5*time.Second)
	if _, err := fetch(ctx, strict, u, 1024, "test"); !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("fetch(localhost) = %v, want ErrBlockedAddress", err)
	}
	loopback := newSafeClient(newIPFilter([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, nil), 5*time.Second)
	u, _ = url.Parse(ok.URL)
	f, err := fetch(ctx, loopback, u, 1024, "test")
	if err != nil || string(f.body) != "hello" {
		t.Fatalf("fetch(allowed) = %v, %v", f, err)
	}
	f, err = fetch(ctx, loopback, u, 3, "test")
	if err != nil || string(f.body) != "hel" || !f.truncated {
		t.Fatalf("fetch(capped) = %+v, %v", f, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	denied := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") }))
	denied.Listener = ln
	denied.Start()
	defer denied.Close()
	u, _ = url.Parse(ok.URL + "/?to=" + url.QueryEscape(denied.URL))
	if _, err := fetch(ctx, loopback, u, 1024, "test"); !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("fetch(redirect to denied) = %v, want ErrBlockedAddress", err)
	}
	// A redirect loop ends.
	loop := ok.URL + "/?to="
	for i := 0; i < 10; i++ {
		loop = ok.URL + "/?to=" + url.QueryEscape(loop)
	}
	u, _ = url.Parse(loop)
	if _, err := fetch(ctx, loopback, u, 1024, "test"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("fetch(redirect chain) = %v", err)
	}
}

func TestThumbnailDims(t *testing.T) {
	for _, tc := range []struct {
		w, h, bw, bh int
		method       string
		out          image.Point
		src          image.Rectangle
	}{
		{1000, 500, 320, 240, "scale", image.Pt(320, 160), image.Rect(0, 0, 1000, 500)},
		{500, 1000, 320, 240, "scale", image.Pt(120, 240), image.Rect(0, 0, 500, 1000)},
		{100, 50, 320, 240, "scale", image.Pt(100, 50), image.Rect(0, 0, 100, 50)}, // no upscaling
		{1000, 500, 32, 32, "crop", image.Pt(32, 32), image.Rect(250, 0, 750, 500)},
		{500, 1000, 96, 96, "crop", image.Pt(96, 96), image.Rect(0, 250, 500, 750)},
		{1000, 500, 100, 20, "crop", image.Pt(100, 20), image.Rect(0, 150, 1000, 350)},
		{200, 50, 96, 96, "crop", image.Pt(50, 50), image.Rect(75, 0, 125, 50)}, // crop, not upscaled
		{10000, 1, 32, 32, "crop", image.Pt(1, 1), image.Rect(4999, 0, 5000, 1)},
		{1, 10000, 32, 32, "scale", image.Pt(1, 32), image.Rect(0, 0, 1, 10000)},
	} {
		out, src := thumbnailDims(tc.w, tc.h, tc.bw, tc.bh, tc.method)
		if out != tc.out || src != tc.src {
			t.Errorf("thumbnailDims(%d×%d, %d×%d %s) = %v %v, want %v %v", tc.w, tc.h, tc.bw, tc.bh, tc.method, out, src, tc.out, tc.src)
		}
	}
}

// pngHeaderOnly returns a PNG whose IHDR declares w×h; the image data is a
// 1×1 image's (a decoder would fail, but only after allocating w×h).
func pngHeaderOnly(t testing.TB, w, h uint32) []byte {
	t.Helper()
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	out := b.Bytes()
	be := func(off int, v uint32) {
		out[off], out[off+1], out[off+2], out[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	be(16, w)
	be(20, h)
	crc := crc32.ChecksumIEEE(out[12:29])
	be(29, crc)
	return out
}

func TestProbeRefusesWithoutDecoding(t *testing.T) {
	th := newThumbnailer(32_000_000, 1<<20)
	var g bytes.Buffer
	gif.Encode(&g, image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White}), nil)
	gifBomb := g.Bytes()
	gifBomb[6], gifBomb[7], gifBomb[8], gifBomb[9] = 0xff, 0xff, 0xff, 0xff // logical screen 65535×65535
	var j bytes.Buffer
	jpeg.Encode(&j, image.NewGray(image.Rect(0, 0, 8, 8)), nil)
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"png 100000×100000", pngHeaderOnly(t, 100_000, 100_000), errImageTooLarge},
		{"png 1×4294967295", pngHeaderOnly(t, 1, 0xffffffff), errNotImage}, // beyond PNG's limits
		{"png 32001×1000", pngHeaderOnly(t, 32_001, 1000), errImageTooLarge},
		{"gif 65535×65535", gifBomb, errImageTooLarge},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"></svg>`), errNotImage},
		{"pdf", []byte("%PDF-1.7\n"), errNotImage},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00"), errNotImage},
		{"bmp", []byte("BM\x00\x00\x00\x00"), errNotImage},
		{"empty", nil, errNotImage},
		{"truncated png", pngHeaderOnly(t, 10, 10)[:20], errNotImage},
		{"too many bytes", append(j.Bytes(), make([]byte, 2<<20)...), errImageTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := th.probe(bytes.NewReader(tc.data), int64(len(tc.data)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("probe = %v, want %v", err, tc.want)
			}
			_, _, err = th.decode(context.Background(), bytes.NewReader(tc.data), int64(len(tc.data)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("decode = %v, want %v", err, tc.want)
			}
		})
	}
	// Within the limits the same formats decode.
	img, info, err := th.decode(context.Background(), bytes.NewReader(j.Bytes()), int64(j.Len()))
	if err != nil || info.format != "jpeg" || img.Bounds().Dx() != 8 {
		t.Fatalf("decode(jpeg) = %v, %+v, %v", img, info, err)
	}
	webp, _ := os.ReadFile("testdata/blue-purple-pink.lossy.webp")
	if _, info, err := th.decode(context.Background(), bytes.NewReader(webp), int64(len(webp))); err != nil || info != (imageInfo{"webp", 150, 100}) {
		t.Fatalf("decode(webp) = %+v, %v", info, err)
	}
}

func TestParseOpenGraph(t *testing.T) {
	long := strings.Repeat("é", 2000)
	page := `<html><head>
<meta property="og:title" content="First &amp; best">
<meta property="og:title" content="second">
<meta property="OG:Type" content="  website  ">
<meta name="og:site_name" content="named">
<meta property="og:description" content="` + long + `">
<meta property="og:empty">
<meta name="description" content="fallback">
<title>Page</title>
<script>var s = '<meta property="og:fake" content="x">';</script>
` + strings.Repeat("<div>", 5000) + `
<meta property="og:late" content="in the body">
` + "<meta property=\"og:bytes\" content=\"\xff\xfe ok\">"
	for i := 0; i < 60; i++ {
		page += `<meta property="og:k` + strings.Repeat("x", i) + `" content="v">`
	}
	og := parseOpenGraph([]byte(page))
	if og["og:title"] != "First & best" || og["og:type"] != "website" || og["og:site_name"] != "named" || og["og:late"] != "in the body" {
		t.Errorf("og = %v", og)
	}
	if d := og["og:description"]; len(d) > maxOGValueBytes || !strings.HasPrefix(d, "éé") || !strings.HasSuffix(d, "é") {
		t.Errorf("long description cut wrongly: %d bytes", len(d))
	}
	if _, ok := og["og:fake"]; ok {
		t.Error("meta inside <script> was read")
	}
	if og["og:bytes"] != "\uFFFD ok" {
		t.Errorf("invalid UTF-8 = %q", og["og:bytes"])
	}
	if len(og) > maxOGKeys {
		t.Errorf("%d keys, over %d", len(og), maxOGKeys)
	}
	og = parseOpenGraph([]byte("<title>\n Only  a title </title><meta name=description content=d>"))
	if og["og:title"] != "Only a title" || og["og:description"] != "d" {
		t.Errorf("fallbacks = %v", og)
	}
	if og := parseOpenGraph([]byte("\x00\x01 not html <<<>>>")); len(og) != 0 {
		t.Errorf("garbage = %v", og)
	}
}

// TestLibolmVector decrypts an encrypted_body made by libolm itself (not
// by mautrix-go, whose implementation we use): the interoperability check.
func TestLibolmVector(t *testing.T) {
	var v struct {
		PublicKey     string          `json:"public_key"`
		Plaintext     string          `json:"plaintext"`
		EncryptedBody json.RawMessage `json:"encrypted_body"`
	}
	data, err := os.ReadFile("testdata/libolm_pk_vector.json")
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(data, &v)
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i + 1)
	}
	k, err := newScannerKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	if k.public != v.PublicKey {
		t.Fatalf("public key %s, libolm used %s", k.public, v.PublicKey)
	}
	plain, err := k.decryptBody(v.EncryptedBody)
	if err != nil || string(plain) != v.Plaintext {
		t.Fatalf("decryptBody = %q, %v", plain, err)
	}
	var eb map[string]string
	json.Unmarshal(v.EncryptedBody, &eb)
	eb["ciphertext"] = eb["ciphertext"][:len(eb["ciphertext"])-4] + "AAAA"
	tampered, _ := json.Marshal(eb)
	var se *ScanError
	if _, err := k.decryptBody(tampered); !errors.As(err, &se) || se.Reason != ReasonBadDecryption {
		t.Fatalf("tampered ciphertext = %v", err)
	}
}

func TestParseEncryptedFile(t *testing.T) {
	key := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	iv := base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 16))
	hash := base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))
	valid := `{"v":"v2","url":"mxc://example.org/abc_DEF-1","iv":"` + iv + `","hashes":{"sha256":"` + hash + `","other":5},
		"key":{"alg":"A256CTR","kty":"oct","k":"` + key + `","key_ops":["encrypt","decrypt","wrapKey"],"ext":true}}`
	ef, err := parseEncryptedFile(json.RawMessage(valid))
	if err != nil || ef.ServerName != "example.org" || ef.MediaID != "abc_DEF-1" || ef.contentHash() != strings.Repeat("03", 32) {
		t.Fatalf("parseEncryptedFile = %+v, %v", ef, err)
	}
	// Padded and URL-safe forms are accepted.
	padded := strings.Replace(valid, `"iv":"`+iv, `"iv":"`+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 16)), 1)
	if _, err := parseEncryptedFile(json.RawMessage(padded)); err != nil {
		t.Fatalf("padded iv: %v", err)
	}
	// Two keys give two verdict keys; the key itself is not in it.
	other := strings.Replace(valid, key, base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)), 1)
	ef2, _ := parseEncryptedFile(json.RawMessage(other))
	if ef.verdictKey() == ef2.verdictKey() || strings.Contains(ef.verdictKey(), hex.EncodeToString(ef.key)) {
		t.Fatal("verdict keys")
	}
}

func TestFSBlobs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := NewFSBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("content-addressed")
	sum := sha256.Sum256(data)
	info, err := b.Put(ctx, bytes.NewReader(data), 100)
	if err != nil || info.SHA256 != hex.EncodeToString(sum[:]) || info.Size != int64(len(data)) || !info.Created {
		t.Fatalf("Put = %+v, %v", info, err)
	}
	again, err := b.Put(ctx, bytes.NewReader(data), 100)
	if err != nil || again.Created || again.SHA256 != info.SHA256 {
		t.Fatalf("Put(again) = %+v, %v", again, err)
	}
	if _, err := b.Put(ctx, bytes.NewReader(data), int64(len(data)-1)); !errors.Is(err, ErrBlobTooLarge) {
		t.Fatalf("Put(over limit) = %v", err)
	}
	f, err := b.Open(ctx, info.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("Open = %q", got)
	}
	for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63) + "/", info.SHA256[:63]} {
		if _, err := b.Open(ctx, bad); !errors.Is(err, ErrBlobNotFound) {
			t.Errorf("Open(%q) = %v", bad, err)
		}
	}
	if err := b.Delete(ctx, info.SHA256); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(ctx, info.SHA256); !errors.Is(err, ErrBlobNotFound) {
		t.Fatalf("Open(deleted) = %v", err)
	}
	// A cancelled upload stores nothing, and no temporary file stays.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Put(cctx, bytes.NewReader(data), 100); err == nil {
		t.Fatal("Put(cancelled) succeeded")
	}
	tmp, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	if len(tmp) != 0 {
		t.Fatalf("%d temporary files left", len(tmp))
	}
}

// fakeClamd answers every connection with reply after reading the command
// and up to readLimit bytes.
func fakeClamd(t *testing.T, reply string, readLimit int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.CopyN(io.Discard, c, int64(readLimit))
				io.WriteString(c, reply)
			}()
		}
	}()
	return "tcp://" + ln.Addr().String()
}

func TestClamdProtocolErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, reply string
		readLimit   int
	}{
		{"size limit", "INSTREAM size limit exceeded. ERROR\x00", 1 << 10},
		{"garbage", "what?\x00", 10 + 16*(4+clamdChunk) + 4}, // the whole stream
		{"no reply", "", 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClamd(fakeClamd(t, tc.reply, tc.readLimit))
			if err != nil {
				t.Fatal(err)
			}
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			clean, _, err := c.Scan(sctx, bytes.NewReader(make([]byte, 1<<20)))
			if err == nil || clean {
				t.Fatalf("Scan = %v, %v; want an error", clean, err)
			}
		})
	}
	// An infected reply, even when clamd stops reading early, is a verdict.
	c, _ := NewClamd(fakeClamd(t, "stream: Found.Early FOUND\x00", 100))
	clean, info, err := c.Scan(ctx, bytes.NewReader(make([]byte, 1<<20)))
	if err != nil || clean || info != "Found.Early" {
		t.Fatalf("early FOUND = %v %q %v", clean, info, err)
	}
	// No clamd at all.
	c, _ = NewClamd("tcp://127.0.0.1:1")
	if _, _, err := c.Scan(ctx, strings.NewReader("x")); err == nil {
		t.Fatal("Scan without clamd succeeded")
	}
	for _, bad := range []string{"", "127.0.0.1:3310", "http://x", "unix://", "tcp://"} {
		if _, err := NewClamd(bad); err == nil {
			t.Errorf("NewClamd(%q) accepted", bad)
		}
	}
}

const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// clamdForTest returns the test clamd, skipping (or failing in CI) without one.
func clamdForTest(t testing.TB) *Clamd {
	t.Helper()
	addr := os.Getenv("MYELIN_TEST_CLAMD")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MYELIN_TEST_CLAMD is not set: run `export MYELIN_TEST_CLAMD=$(bash scripts/clamav.sh)`")
		}
		t.Skip("MYELIN_TEST_CLAMD is not set; `export MYELIN_TEST_CLAMD=$(bash scripts/clamav.sh)` runs these tests against ClamAV")
	}
	c, err := NewClamd(addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClamd(t *testing.T) {
	c := clamdForTest(t)
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// EICAR straddling the boundary of two INSTREAM chunks.
	straddle := append(make([]byte, clamdChunk-10), eicar...)
	for _, tc := range []struct {
		name  string
		data  []byte
		clean bool
	}{
		{"empty", nil, true},
		{"text", []byte("hello"), true},
		{"eicar", []byte(eicar), false},
		{"eicar inside", append(append([]byte("prefix "), eicar...), " suffix"...), false},
		{"eicar across chunks", straddle, false},
		{"3 MB clean", bytes.Repeat([]byte("0123456789abcdef"), 3<<16), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clean, info, err := c.Scan(ctx, bytes.NewReader(tc.data))
			if err != nil || clean != tc.clean || (!clean && info == "") {
				t.Fatalf("Scan = %v %q %v, want clean=%v", clean, info, err, tc.clean)
			}
		})
	}
	// Concurrent scans.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if clean, _, err := c.Scan(ctx, strings.NewReader(eicar)); err != nil || clean {
				t.Errorf("concurrent scan = %v, %v", clean, err)
			}
		}()
	}
	wg.Wait()
}

func TestCommandScanner(t *testing.T) {
	dir := t.TempDir()
	n := 0
	script := func(body string) []string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("scan%d.sh", n))
		os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700)
		return []string{p}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		argv    []string
		clean   bool
		info    string
		wantErr bool
	}{
		{"clean", script("cat >/dev/null; exit 0"), true, "", false},
		{"infected", script("cat >/dev/null; echo 'Bad.Thing FOUND'; exit 1"), false, "Bad.Thing FOUND", false},
		{"exits early", script("echo early; exit 1"), false, "early", false},
		{"error", script("cat >/dev/null; echo broken >&2; exit 2"), false, "", true},
		{"missing program", []string{filepath.Join(dir, "nope")}, false, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCommandScanner(tc.argv)
			if err != nil {
				t.Fatal(err)
			}
			clean, info, err := c.Scan(ctx, bytes.NewReader(make([]byte, 1<<20)))
			if (err != nil) != tc.wantErr || clean != tc.clean || info != tc.info {
				t.Fatalf("Scan = %v %q %v", clean, info, err)
			}
		})
	}
	c, _ := NewCommandScanner(script("sleep 10"))
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := c.Scan(tctx, strings.NewReader("x")); err == nil || time.Since(start) > 8*time.Second {
		t.Fatalf("timeout: %v after %s", err, time.Since(start))
	}
	if _, err := NewCommandScanner(nil); err == nil {
		t.Fatal("empty command accepted")
	}
}

func TestSniffMIME(t *testing.T) {
	for data, want := range map[string]string{
		"MZ\x90\x00":         "application/x-msdownload",
		"\x7fELF\x02\x01":    "application/x-executable",
		"hello":              "text/plain",
		"<!DOCTYPE html><p>": "text/html",
		"%PDF-1.4":           "application/pdf",
		"\x89PNG\r\n\x1a\n":  "image/png",
		"\x00\x01\x02":       "application/octet-stream",
	} {
		if got := sniffMIME([]byte(data)); got != want {
			t.Errorf("sniffMIME(%q) = %q, want %q", data, got, want)
		}
	}
}
