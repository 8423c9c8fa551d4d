package complement

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"myelin/internal/server"
	"myelin/internal/spec"
	"myelin/internal/testkit/testdb"
	"myelin/internal/users"
)

// testCA writes a CA the way Complement does (PEM certificate, PKCS#1 RSA
// key, server-auth extended key usage) into a new directory and returns it.
// 2048-bit instead of Complement's 4096 keeps the test fast.
func testCA(t *testing.T) (dir string, pool *x509.CertPool) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Complement Test CA"},
		NotBefore:             time.Now(),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", der)
	writePEM(t, filepath.Join(dir, "ca.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return dir, pool
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConfig(t *testing.T) {
	cfg, err := Config([]string{"PATH=/bin", "SERVER_NAME=hs1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "hs1" || cfg.Listen != "0.0.0.0:8008" || cfg.FederationListen != "0.0.0.0:8448" ||
		cfg.DataDir != DataDir || cfg.Registration != "open" || cfg.RegistrationSharedSecret != "complement" ||
		cfg.RateLimited() || cfg.PasswordHashCost != 4 || cfg.TLS.CertFile != "/data/tls/server.crt" {
		t.Errorf("Config = %+v", cfg)
	}
	cfg, err = Config([]string{"SERVER_NAME=hs2", "MYELIN_DATA_DIR=/elsewhere", "MYELIN_RATELIMIT=on"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "hs2" || cfg.DataDir != "/elsewhere" || !cfg.RateLimited() || cfg.TLS.KeyFile != "/elsewhere/tls/server.key" {
		t.Errorf("MYELIN_* overrides not applied: %+v", cfg)
	}
	for _, env := range [][]string{nil, {"SERVER_NAME="}, {"SERVER_NAME=bad name"}, {"SERVER_NAME=hs1", "MYELIN_NOPE=1"}} {
		if _, err := Config(env); err == nil {
			t.Errorf("Config(%q) accepted", env)
		}
	}
}

func TestIssue(t *testing.T) {
	dir, pool := testCA(t)
	ca, err := LoadCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct{ serverName, verifyAs string }{
		{"hs1", "hs1"},
		{"hs1:8448", "hs1"},
		{"host.docker.internal", "host.docker.internal"},
		{"127.0.0.1", "127.0.0.1"},
		{"[::1]:8448", "::1"},
	} {
		certPEM, keyPEM, err := ca.Issue(rand.Reader, now, tc.serverName)
		if err != nil {
			t.Fatalf("Issue(%q): %v", tc.serverName, err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatalf("Issue(%q): key pair: %v", tc.serverName, err)
		}
		leaf, _ := x509.ParseCertificate(pair.Certificate[0])
		_, err = leaf.Verify(x509.VerifyOptions{DNSName: tc.verifyAs, Roots: pool, CurrentTime: now})
		if err != nil {
			t.Errorf("Issue(%q): certificate does not verify for %q: %v", tc.serverName, tc.verifyAs, err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "hs9", Roots: pool, CurrentTime: now}); err == nil {
			t.Errorf("Issue(%q): certificate also verifies for hs9", tc.serverName)
		}
	}
}

func TestLoadCABadInput(t *testing.T) {
	dir, _ := testCA(t)
	other, _ := testCA(t)
	crt, key := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	garbage := filepath.Join(t.TempDir(), "garbage")
	os.WriteFile(garbage, []byte("not PEM"), 0o600)
	for name, paths := range map[string][2]string{
		"missing certificate": {filepath.Join(t.TempDir(), "ca.crt"), key},
		"missing key":         {crt, filepath.Join(t.TempDir(), "ca.key")},
		"garbage certificate": {garbage, key},
		"garbage key":         {crt, garbage},
		"key of another CA":   {crt, filepath.Join(other, "ca.key")},
	} {
		if _, err := LoadCA(paths[0], paths[1]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Complement always provides a CA; without one the container must not
	// start half-configured.
	_, err := Prepare(Options{Environ: []string{"SERVER_NAME=hs1", "MYELIN_DATA_DIR=" + t.TempDir()}, CADir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "ca.crt") {
		t.Errorf("Prepare without a CA: err = %v", err)
	}
}

// container is one start of `myelin complement` on a data directory, as
// Complement does with `docker start`.
type container struct {
	client, fed string
	cancel      context.CancelFunc
	done        chan error
}

func startContainer(t *testing.T, environ []string, caDir string) *container {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &container{cancel: cancel, done: make(chan error, 1)}
	addrs := make(chan [2]string, 1)
	log := slog.New(slog.DiscardHandler)
	cfg, err := Prepare(Options{Environ: environ, CADir: caDir, AppServiceDir: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c.done <- Serve(ctx, cfg, log, func(client, fed net.Addr) { addrs <- [2]string{client.String(), fed.String()} })
	}()
	select {
	case a := <-addrs:
		c.client, c.fed = a[0], a[1]
	case err := <-c.done:
		t.Fatalf("Serve: %v", err)
	}
	return c
}

func (c *container) stop(t *testing.T) {
	t.Helper()
	c.cancel()
	if err := <-c.done; err != nil {
		t.Errorf("Serve after stop: %v", err)
	}
}

// TestRestartWithNewCA follows a blueprint's life: the container starts,
// a user logs in, the container stops (docker commit), and starts again
// with a new CA. The access token still works, and the TLS listener now
// presents a certificate for the server name from the new CA.
func TestRestartWithNewCA(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			dbURL, _ := e.New(t)
			dataDir := t.TempDir()
			environ := []string{"SERVER_NAME=hs1", "MYELIN_DATA_DIR=" + dataDir, "MYELIN_DATABASE_URL=" + dbURL,
				"MYELIN_LISTEN=127.0.0.1:0", "MYELIN_FEDERATION_LISTEN=127.0.0.1:0"}
			caDir, pool := testCA(t)
			c := startContainer(t, environ, caDir)
			checkTLS(t, c.fed, pool)

			cfg, err := Config(environ)
			if err != nil {
				t.Fatal(err)
			}
			db, err := server.OpenStore(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = users.New(users.Options{ServerName: spec.ServerName("hs1"), PasswordHashCost: 4}, db).
				CreateAccount(context.Background(), "alice", "complement_meets_min_password_req", false)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			var login struct {
				AccessToken string `json:"access_token"`
			}
			status := call(t, "POST", "http://"+c.client+"/_matrix/client/v3/login", "",
				`{"type":"m.login.password","identifier":{"type":"m.id.user","user":"alice"},"password":"complement_meets_min_password_req"}`, &login)
			if status != 200 || login.AccessToken == "" {
				t.Fatalf("login: %d %+v", status, login)
			}
			c.stop(t)

			newCADir, newPool := testCA(t)
			c = startContainer(t, environ, newCADir)
			defer c.stop(t)
			var who struct {
				UserID string `json:"user_id"`
			}
			if status := call(t, "GET", "http://"+c.client+"/_matrix/client/v3/account/whoami", login.AccessToken, "", &who); status != 200 || who.UserID != "@alice:hs1" {
				t.Errorf("whoami after restart: %d %+v", status, who)
			}
			checkTLS(t, c.fed, newPool)
			if _, err := tls.Dial("tcp", c.fed, &tls.Config{RootCAs: pool, ServerName: "hs1"}); err == nil {
				t.Error("after restart the certificate still chains to the old CA")
			}
		})
	}
}

// checkTLS dials the TLS listener as a federation client would, trusting
// only pool and expecting the name hs1, and asks it for /versions.
func checkTLS(t *testing.T, addr string, pool *x509.CertPool) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "hs1"},
	}}
	resp, err := client.Get("https://" + addr + "/_matrix/client/versions")
	if err != nil {
		t.Fatalf("TLS listener: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("TLS /versions: %s", resp.Status)
	}
}

func call(t *testing.T, method, url, token, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewBufferString(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, data)
		}
	}
	return resp.StatusCode
}
