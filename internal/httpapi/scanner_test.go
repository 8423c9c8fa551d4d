package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"maunium.net/go/mautrix/crypto/attachment"
	"maunium.net/go/mautrix/crypto/backup"
	"maunium.net/go/mautrix/id"

	"myelin/internal/config"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// eicar is the EICAR anti-virus test file: harmless, and detected as
// malware by every scanner (scripts/clamav.sh gives clamd a signature
// for it).
const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// clamdAddress returns the test clamd's address (MYELIN_TEST_CLAMD, set by
// `export MYELIN_TEST_CLAMD=$(bash scripts/clamav.sh)`). Without it the
// test is skipped, except in CI, where it fails.
func clamdAddress(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("MYELIN_TEST_CLAMD")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MYELIN_TEST_CLAMD is not set: run `export MYELIN_TEST_CLAMD=$(bash scripts/clamav.sh)`")
		}
		t.Skip("MYELIN_TEST_CLAMD is not set; `export MYELIN_TEST_CLAMD=$(bash scripts/clamav.sh)` runs these tests against ClamAV")
	}
	return addr
}

// scanCommand writes a scan command (the alternative to clamd) that finds
// the EICAR string on its standard input.
func scanCommand(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scan.sh")
	script := "#!/bin/sh\nif grep -q -a 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE'; then echo 'Test.EICAR FOUND'; exit 1; fi\nexit 0\n"
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// scannerEngines runs fn with ClamAV (when available) on both database
// engines, and with a scan command on SQLite: the engine and the store are
// independent, so the command does not need the second database.
func scannerEngines(t *testing.T, fn func(t *testing.T, e testdb.Engine, engine func(*config.Config))) {
	t.Run("clamd", func(t *testing.T) {
		addr := clamdAddress(t)
		set := func(c *config.Config) { c.Media.Scanner.Clamd = addr }
		testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) { fn(t, e, set) })
	})
	t.Run("command", func(t *testing.T) {
		cmd := scanCommand(t)
		set := func(c *config.Config) { c.Media.Scanner.Command = cmd }
		e := testdb.Engines(t)[0]
		t.Run(e.Name, func(t *testing.T) { fn(t, e, set) })
	})
}

// encryptAttachment encrypts data as a client does and returns the
// ciphertext and the EncryptedFile (without its url).
func encryptAttachment(data []byte) ([]byte, *attachment.EncryptedFile) {
	ef := attachment.NewEncryptedFile()
	return ef.Encrypt(data), ef
}

// fileBody is the request body of scan_encrypted / download_encrypted.
func fileBody(t testing.TB, ef *attachment.EncryptedFile, uri id.ContentURI, change func(file map[string]any)) []byte {
	t.Helper()
	raw, _ := json.Marshal(ef)
	var file map[string]any
	json.Unmarshal(raw, &file)
	file["url"] = uri.String()
	if change != nil {
		change(file)
	}
	body, _ := json.Marshal(map[string]any{"file": file})
	return body
}

// encryptBody encrypts a request body to the scanner's public key, as
// clients do with libolm's PkEncryption.
func encryptBody(t testing.TB, publicKey string, body []byte) []byte {
	t.Helper()
	keyBytes, err := base64.RawStdEncoding.DecodeString(publicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ecdh.X25519().NewPublicKey(keyBytes)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := backup.EncryptSessionDataWithPubkey(pub, json.RawMessage(body))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"encrypted_body": enc})
	return out
}

const proxy = "/_matrix/media_proxy/unstable/"

// TestScannerEncryptedAttachments is the content scanner's acceptance test:
// an encrypted EICAR attachment is not clean and never served again; a
// clean one scans clean and downloads as ciphertext; tampered ciphertext
// and a wrong hash fail the hash check; malformed keys and bodies, and
// encrypted bodies that do not decrypt, get the scanner API's reasons.
func TestScannerEncryptedAttachments(t *testing.T) {
	scannerEngines(t, func(t *testing.T, e testdb.Engine, engine func(*config.Config)) {
		hs := testserver.Start(t, e, engine)
		alice := mdLogin(t, hs, "alice", false)
		bob := mdLogin(t, hs, "bob", false)

		// A clean attachment: scans clean, downloads as the ciphertext.
		plain := bytes.Repeat([]byte("a perfectly ordinary document. "), 1000)
		ct, ef := encryptAttachment(plain)
		uri := mdUpload(t, alice, ct, "application/octet-stream", "")
		body := fileBody(t, ef, uri, nil)
		r := mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", body).expect(t, 200, "")
		if m := r.json(t); m["clean"] != true || m["info"] != "File is clean" {
			t.Fatalf("clean scan = %s", r.body)
		}
		r = mdDo(t, hs, bob.token, "POST", proxy+"download_encrypted", body).expect(t, 200, "")
		if !bytes.Equal(r.body, ct) {
			t.Fatalf("download_encrypted returned %d bytes, not the %d-byte ciphertext", len(r.body), len(ct))
		}
		if r.header.Get("Content-Security-Policy") == "" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("download_encrypted headers: %v", r.header)
		}
		// The same, with the body encrypted to the scanner's public key.
		pk := mdDo(t, hs, bob.token, "GET", proxy+"public_key", nil).expect(t, 200, "").json(t)["public_key"].(string)
		if raw, err := base64.RawStdEncoding.DecodeString(pk); err != nil || len(raw) != 32 {
			t.Fatalf("public_key = %q", pk)
		}
		r = mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", encryptBody(t, pk, body)).expect(t, 200, "")
		if r.json(t)["clean"] != true {
			t.Fatalf("scan with encrypted_body = %s", r.body)
		}
		r = mdDo(t, hs, bob.token, "POST", proxy+"download_encrypted", encryptBody(t, pk, body)).expect(t, 200, "")
		if !bytes.Equal(r.body, ct) {
			t.Fatal("download_encrypted with encrypted_body did not return the ciphertext")
		}

		// An infected attachment (EICAR inside a larger file).
		bad := append(append([]byte("header\n"), eicar...), "\ntrailer"...)
		badCT, badEF := encryptAttachment(bad)
		badURI := mdUpload(t, alice, badCT, "application/octet-stream", "") // ciphertext: scans clean on upload
		badBody := fileBody(t, badEF, badURI, nil)
		r = mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", badBody).expect(t, 200, "")
		if m := r.json(t); m["clean"] != false || m["info"] != "***VIRUS DETECTED***" {
			t.Fatalf("infected scan = %s", r.body)
		}
		mdDo(t, hs, bob.token, "POST", proxy+"download_encrypted", badBody).expect(t, 403, "MCS_MEDIA_NOT_CLEAN")
		mdDo(t, hs, bob.token, "POST", proxy+"download_encrypted", encryptBody(t, pk, badBody)).expect(t, 403, "MCS_MEDIA_NOT_CLEAN")
		// Never served again, to anyone, by any endpoint.
		mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", badURI), nil).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, "", "GET", mediaPath("/_matrix/media/v3/download", badURI), nil).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, alice.token, "GET", proxy+"download/"+badURI.Homeserver+"/"+badURI.FileID, nil).expect(t, 403, "MCS_MEDIA_NOT_CLEAN")
		r = mdDo(t, hs, alice.token, "GET", proxy+"scan/"+badURI.Homeserver+"/"+badURI.FileID, nil).expect(t, 200, "")
		if r.json(t)["clean"] != false {
			t.Fatalf("plain scan of the infected medium = %s", r.body)
		}
		// Uploading the same ciphertext again is refused.
		mdDo(t, hs, alice.token, "POST", "/_matrix/media/v3/upload", badCT, "Content-Type", "application/octet-stream").expect(t, 403, "M_FORBIDDEN")
		// After a restart too (verdicts and quarantine are stored).
		restart(hs)
		mdDo(t, hs, bob.token, "POST", proxy+"download_encrypted", badBody).expect(t, 403, "MCS_MEDIA_NOT_CLEAN")
		mdDo(t, hs, bob.token, "POST", proxy+"download_encrypted", body).expect(t, 200, "")

		// Tampered ciphertext: uploaded with one byte flipped, described with
		// the original hash.
		tampered := append([]byte(nil), ct...)
		tampered[100] ^= 1
		tURI := mdUpload(t, alice, tampered, "application/octet-stream", "")
		mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", fileBody(t, ef, tURI, nil)).expect(t, 400, "MCS_MEDIA_FAILED_TO_DECRYPT")
		mdDo(t, hs, bob.token, "POST", proxy+"download_encrypted", fileBody(t, ef, tURI, nil)).expect(t, 400, "MCS_MEDIA_FAILED_TO_DECRYPT")
		// A wrong hashes.sha256 for the real ciphertext.
		wrongHash := fileBody(t, ef, uri, func(f map[string]any) {
			f["hashes"] = map[string]any{"sha256": base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))}
		})
		mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", wrongHash).expect(t, 400, "MCS_MEDIA_FAILED_TO_DECRYPT")

		// Malformed keys and bodies.
		for name, change := range map[string]func(map[string]any){
			"short key":        func(f map[string]any) { f["key"].(map[string]any)["k"] = "c2hvcnQ" },
			"key not base64":   func(f map[string]any) { f["key"].(map[string]any)["k"] = "!!!" + strings.Repeat("A", 40) },
			"wrong algorithm":  func(f map[string]any) { f["key"].(map[string]any)["alg"] = "A128CTR" },
			"wrong key type":   func(f map[string]any) { f["key"].(map[string]any)["kty"] = "RSA" },
			"not extractable":  func(f map[string]any) { f["key"].(map[string]any)["ext"] = false },
			"no decrypt op":    func(f map[string]any) { f["key"].(map[string]any)["key_ops"] = []string{"encrypt"} },
			"key a string":     func(f map[string]any) { f["key"] = "k" },
			"no key":           func(f map[string]any) { delete(f, "key") },
			"short iv":         func(f map[string]any) { f["iv"] = "AAAA" },
			"iv a number":      func(f map[string]any) { f["iv"] = 5 },
			"wrong version":    func(f map[string]any) { f["v"] = "v1" },
			"no hashes":        func(f map[string]any) { delete(f, "hashes") },
			"hash not base64":  func(f map[string]any) { f["hashes"] = map[string]any{"sha256": "%%%"} },
			"url not mxc":      func(f map[string]any) { f["url"] = "https://example.org/x" },
			"url traversal":    func(f map[string]any) { f["url"] = "mxc://localhost/../../etc/passwd" },
			"url without host": func(f map[string]any) { f["url"] = "mxc:///abc" },
		} {
			t.Run(name, func(t *testing.T) {
				mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", fileBody(t, ef, uri, change)).expect(t, 400, "MCS_MALFORMED_JSON")
			})
		}
		for name, raw := range map[string]string{
			"not JSON":            `{"file":`,
			"array":               `[1,2]`,
			"empty object":        `{}`,
			"file null":           `{"file":null}`,
			"file a string":       `{"file":"x"}`,
			"duplicate keys":      `{"file":{},"file":{}}`,
			"encrypted_body a 5":  `{"encrypted_body":5}`,
			"encrypted_body bare": `{"encrypted_body":{"ciphertext":"abc"}}`,
		} {
			t.Run(name, func(t *testing.T) {
				mdDo(t, hs, bob.token, "POST", proxy+"download_encrypted", []byte(raw)).expect(t, 400, "MCS_MALFORMED_JSON")
			})
		}
		mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", bytes.Repeat([]byte(" "), 2<<20)).expect(t, 400, "MCS_MALFORMED_JSON")

		// encrypted_body that does not decrypt: to another key, a bad MAC,
		// garbage.
		other, _ := ecdh.X25519().GenerateKey(rand.Reader)
		otherPK := base64.RawStdEncoding.EncodeToString(other.PublicKey().Bytes())
		mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", encryptBody(t, otherPK, body)).expect(t, 403, "MCS_BAD_DECRYPTION")
		var eb map[string]map[string]string
		json.Unmarshal(encryptBody(t, pk, body), &eb)
		eb["encrypted_body"]["mac"] = "AAAAAAAAAAA"
		badMAC, _ := json.Marshal(eb)
		mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", badMAC).expect(t, 403, "MCS_BAD_DECRYPTION")
		mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted",
			[]byte(`{"encrypted_body":{"ciphertext":"bm90IGNpcGhlcnRleHQ","mac":"AAAAAAAAAAA","ephemeral":"short"}}`)).expect(t, 403, "MCS_BAD_DECRYPTION")
		// Decrypts, but to something that is not a valid request.
		mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", encryptBody(t, pk, []byte(`{"file":{"v":"v2"}}`))).expect(t, 400, "MCS_MALFORMED_JSON")

		// Unknown and remote media.
		mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", fileBody(t, ef, id.ContentURI{Homeserver: "localhost", FileID: "nosuchmedia"}, nil)).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, bob.token, "POST", proxy+"scan_encrypted", fileBody(t, ef, id.ContentURI{Homeserver: "remote.example", FileID: "abc"}, nil)).expect(t, 404, "M_NOT_FOUND")

		// Authentication, in the scanner API's error shape.
		mdDo(t, hs, "", "POST", proxy+"scan_encrypted", body).expect(t, 401, "M_MISSING_TOKEN")
		mdDo(t, hs, "nonsense", "GET", proxy+"public_key", nil).expect(t, 401, "M_UNKNOWN_TOKEN")
	})
}

// TestScannerPlainMedia covers the unencrypted endpoints (scan, download,
// thumbnail), scanning on upload in reject and quarantine modes, and the
// MIME allow list.
func TestScannerPlainMedia(t *testing.T) {
	scannerEngines(t, func(t *testing.T, e testdb.Engine, engine func(*config.Config)) {
		ctx := context.Background()
		hs := testserver.Start(t, e, engine)
		alice := mdLogin(t, hs, "alice", false)
		img := encodePNG(t, testImage(400, 300))
		uri := mdUpload(t, alice, img, "image/png", "pic.png")
		path := uri.Homeserver + "/" + uri.FileID
		r := mdDo(t, hs, alice.token, "GET", proxy+"scan/"+path, nil).expect(t, 200, "")
		if m := r.json(t); m["clean"] != true {
			t.Fatalf("scan = %s", r.body)
		}
		if r := mdDo(t, hs, alice.token, "GET", proxy+"download/"+path, nil).expect(t, 200, ""); !bytes.Equal(r.body, img) {
			t.Fatal("scanner download differs")
		}
		r = mdDo(t, hs, alice.token, "GET", proxy+"thumbnail/"+path+"?width=32&height=32&method=crop", nil).expect(t, 200, "")
		if r.header.Get("Content-Type") != "image/png" || len(r.body) == 0 {
			t.Fatalf("scanner thumbnail: %v", r.header)
		}
		mdDo(t, hs, alice.token, "GET", proxy+"thumbnail/"+path+"?width=32", nil).expect(t, 400, "M_MISSING_PARAM")
		mdDo(t, hs, alice.token, "GET", proxy+"scan/localhost/nosuchmedia", nil).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, alice.token, "GET", proxy+"download/localhost/..%2Fx", nil).expect(t, 404, "M_NOT_FOUND")
		mdDo(t, hs, "", "GET", proxy+"scan/"+path, nil).expect(t, 401, "M_MISSING_TOKEN")

		// Reject mode (the default): an infected upload is refused and
		// nothing is kept.
		before := blobFiles(t, hs)
		mdDo(t, hs, alice.token, "POST", "/_matrix/media/v3/upload?filename=eicar.com", []byte(eicar), "Content-Type", "application/octet-stream").expect(t, 403, "M_FORBIDDEN")
		created, err := alice.Client.CreateMXC(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mdDo(t, hs, alice.token, "PUT", mediaPath("/_matrix/media/v3/upload", created.ContentURI), []byte(eicar)).expect(t, 403, "M_FORBIDDEN")
		if n := blobFiles(t, hs); n != before {
			t.Fatalf("refused infected uploads left %d files", n-before)
		}
	})

	// Quarantine mode and the MIME allow list, with the scan command.
	cmd := scanCommand(t)
	hs := testserver.Start(t, testdb.Engines(t)[0], func(c *config.Config) {
		c.Media.Scanner.Command = cmd
		c.Media.Scanner.OnInfected = "quarantine"
		c.Media.Scanner.AllowedMIMETypes = []string{"image/png", "text/plain", "application/octet-stream"}
	})
	alice := mdLogin(t, hs, "alice", false)
	r := mdDo(t, hs, alice.token, "POST", "/_matrix/media/v3/upload", []byte(eicar), "Content-Type", "text/plain").expect(t, 200, "")
	bad, _ := id.ParseContentURI(r.json(t)["content_uri"].(string))
	mdDo(t, hs, alice.token, "GET", mediaPath("/_matrix/client/v1/media/download", bad), nil).expect(t, 404, "M_NOT_FOUND")
	if m := mdDo(t, hs, alice.token, "GET", proxy+"scan/"+bad.Homeserver+"/"+bad.FileID, nil).expect(t, 200, "").json(t); m["clean"] != false {
		t.Fatalf("scan of quarantined upload = %v", m)
	}
	mdDo(t, hs, alice.token, "GET", proxy+"download/"+bad.Homeserver+"/"+bad.FileID, nil).expect(t, 403, "MCS_MEDIA_NOT_CLEAN")
	// An HTML file is not on the allow list: refused at upload, and its
	// encrypted form is refused by scan_encrypted.
	page := []byte("<!DOCTYPE html><html><body>hi</body></html>")
	mdDo(t, hs, alice.token, "POST", "/_matrix/media/v3/upload", page, "Content-Type", "text/html").expect(t, 403, "M_FORBIDDEN")
	ct, ef := encryptAttachment(page)
	encURI := mdUpload(t, alice, ct, "application/octet-stream", "")
	r = mdDo(t, hs, alice.token, "POST", proxy+"scan_encrypted", fileBody(t, ef, encURI, nil)).expect(t, 403, "MCS_MIME_TYPE_FORBIDDEN")
	if !strings.Contains(r.json(t)["info"].(string), "text/html") {
		t.Fatalf("MIME refusal info = %s", r.body)
	}
	mdDo(t, hs, alice.token, "POST", proxy+"download_encrypted", fileBody(t, ef, encURI, nil)).expect(t, 403, "MCS_MIME_TYPE_FORBIDDEN")
}

// TestScannerFailsClosed checks that a scanner that cannot be reached
// refuses content rather than passing it.
func TestScannerFailsClosed(t *testing.T) {
	hs := testserver.Start(t, testdb.Engines(t)[0], func(c *config.Config) { c.Media.Scanner.Clamd = "tcp://127.0.0.1:1" })
	alice := mdLogin(t, hs, "alice", false)
	mdDo(t, hs, alice.token, "POST", "/_matrix/media/v3/upload", []byte("hello"), "Content-Type", "text/plain").expect(t, 503, "M_UNKNOWN")
	if n := blobFiles(t, hs); n != 0 {
		t.Fatalf("%d files kept", n)
	}
}
