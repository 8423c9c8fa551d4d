// Package complement turns the myelin binary into the homeserver image that
// Complement (github.com/matrix-org/complement) tests. `myelin complement` is
// the image's entrypoint; Complement runs it many times per container (once
// per blueprint build, then once per test from the committed image), so
// every start is idempotent:
//
//   - the configuration is fixed here, from SERVER_NAME: client API on
//     0.0.0.0:8008 (HTTP), TLS on 0.0.0.0:8448, data in /data, open
//     registration, shared secret "complement", no rate limits, cheap
//     password hashing; MYELIN_* variables still override any of it;
//   - the database and signing key in the data directory are reused, so
//     access tokens issued before a `docker commit` stay valid;
//   - a fresh TLS certificate for SERVER_NAME is issued on every start from
//     the CA Complement copies to /complement/ca (a new CA per test run), and
//     that CA is configured as trusted for outbound federation (tls.ca_file).
//
// Like package server, this package is a composition root for one
// deployment, so it builds a config.Config; services never see it.
package complement

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"myelin/internal/config"
	"myelin/internal/server"
)

// Paths where Complement puts its files in the container.
const (
	// CADir holds ca.crt (PEM certificate) and ca.key (PEM PKCS#1 RSA key).
	CADir = "/complement/ca"
	// AppServiceDir holds application service registration files.
	AppServiceDir = "/complement/appservice"
	// DataDir is the default data directory inside the image.
	DataDir = "/data"
	// SharedSecret is the registration shared secret Complement uses for
	// /_synapse/admin/v1/register.
	SharedSecret = "complement"
)

// Options locates Complement's files; the zero value means the container
// paths above.
type Options struct {
	// Environ is the process environment: SERVER_NAME and MYELIN_*.
	Environ []string
	// CADir overrides CADir.
	CADir string
	// AppServiceDir overrides AppServiceDir.
	AppServiceDir string
}

func (o Options) caDir() string {
	if o.CADir != "" {
		return o.CADir
	}
	return CADir
}

func (o Options) appServiceDir() string {
	if o.AppServiceDir != "" {
		return o.AppServiceDir
	}
	return AppServiceDir
}

// Config returns the configuration of a Complement container: the defaults,
// then the Complement settings for SERVER_NAME, then MYELIN_* overrides from
// environ, validated. It fails when SERVER_NAME is unset.
func Config(environ []string) (config.Config, error) {
	var serverName string
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "SERVER_NAME="); ok {
			serverName = v
		}
	}
	if serverName == "" {
		return config.Config{}, errors.New("SERVER_NAME is not set (Complement sets it to hs1, hs2, ...)")
	}
	cfg := config.Default()
	cfg.ServerName = serverName
	cfg.Listen = "0.0.0.0:8008"
	cfg.FederationListen = "0.0.0.0:8448"
	cfg.DataDir = DataDir
	cfg.Registration = config.RegistrationOpen
	cfg.RegistrationSharedSecret = SharedSecret
	cfg.RateLimit = "off"
	cfg.PasswordHashCost = 4
	// A container is stopped with a grace period (10 s when Complement
	// commits a blueprint); finish well inside it.
	cfg.ShutdownGrace = 5 * time.Second
	// Complement's URL-preview test serves its page from the Docker host, on
	// a private address that production configurations deny.
	cfg.Media.URLPreview.AllowCIDRs = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}
	// Complement's device-list tests upload unsigned device keys and change
	// them under one device ID, which the strict default refuses.
	cfg.Encryption.LenientDeviceKeys = true
	// Complement does not test dehydrated devices, but Element does, against
	// the same image.
	cfg.Encryption.DehydratedDevices = true
	if err := config.ApplyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	// The certificate is issued at start into the data directory and the
	// Complement CA is trusted for outbound federation.
	if cfg.TLS.CertFile == "" {
		cfg.TLS.CertFile = filepath.Join(cfg.DataDir, "tls", "server.crt")
		cfg.TLS.KeyFile = filepath.Join(cfg.DataDir, "tls", "server.key")
	}
	return cfg, cfg.Validate()
}

// Prepare builds the configuration from opts.Environ, issues the TLS
// certificate for the server name from the CA in opts' CA directory, and
// points tls.ca_file at that CA. It fails when the CA files are missing: the
// image is meant to run under Complement.
func Prepare(opts Options, log *slog.Logger) (config.Config, error) {
	cfg, err := Config(opts.Environ)
	if err != nil {
		return cfg, fmt.Errorf("complement configuration: %w", err)
	}
	caCert := filepath.Join(opts.caDir(), "ca.crt")
	caKey := filepath.Join(opts.caDir(), "ca.key")
	if cfg.TLS.CAFile == "" {
		cfg.TLS.CAFile = caCert
	}
	ca, err := LoadCA(caCert, caKey)
	if err != nil {
		return cfg, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.TLS.CertFile), 0o700); err != nil {
		return cfg, fmt.Errorf("creating certificate directory: %w", err)
	}
	if err := ca.IssueFiles(cfg.ServerName, cfg.TLS.CertFile, cfg.TLS.KeyFile); err != nil {
		return cfg, err
	}
	if entries, err := os.ReadDir(opts.appServiceDir()); err == nil && len(entries) > 0 {
		// Appservices are not implemented yet: say so instead of pretending.
		log.Warn("ignoring application service registrations: appservices are not supported yet",
			"dir", opts.appServiceDir(), "files", len(entries))
	}
	return cfg, nil
}

// Run prepares the container (see Prepare) and serves until ctx ends.
func Run(ctx context.Context, opts Options, log *slog.Logger, stdout io.Writer) error {
	cfg, err := Prepare(opts, log)
	if err != nil {
		return err
	}
	return Serve(ctx, cfg, log, func(client, federation net.Addr) {
		fmt.Fprintf(stdout, "myelin %s for Complement: homeserver %s, client API on http://%s, TLS on https://%s, data in %s\n",
			server.Version, cfg.ServerName, client, federation, cfg.DataDir)
	})
}

// Serve runs the homeserver of cfg on its client listener (HTTP) and, when
// cfg.FederationListen is set, on a TLS listener using cfg.TLS's certificate.
// Federation is not implemented yet, so the TLS listener serves the same API
// as the client listener (federation paths answer 404 M_UNRECOGNIZED); it
// exists so that Complement's port and certificate expectations hold.
// listening, if not nil, is called once both listeners are open. Serve
// returns when ctx ends and both listeners have shut down gracefully, or
// when either fails.
func Serve(ctx context.Context, cfg config.Config, log *slog.Logger, listening func(client, federation net.Addr)) error {
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	lns, err := listen(cfg)
	if err != nil {
		return err
	}
	if listening != nil {
		var fed net.Addr
		if len(lns) > 1 {
			fed = lns[1].Addr()
		}
		listening(lns[0].Addr(), fed)
	}
	// If one listener fails, stop the other too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(lns))
	var wg sync.WaitGroup
	for i, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = srv.Run(ctx, ln)
			cancel()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// listen opens the client listener and, if configured, the TLS one.
func listen(cfg config.Config) ([]net.Listener, error) {
	client, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	if cfg.FederationListen == "" {
		return []net.Listener{client}, nil
	}
	tlsConfig, err := serverTLSConfig(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		client.Close()
		return nil, err
	}
	fed, err := net.Listen("tcp", cfg.FederationListen)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("listening on %s: %w", cfg.FederationListen, err)
	}
	return []net.Listener{client, tls.NewListener(fed, tlsConfig)}, nil
}
