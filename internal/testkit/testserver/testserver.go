// Package testserver starts the real homeserver for integration tests: the
// same server.New and Run as `myelin serve`, on a random loopback port, on
// SQLite or PostgreSQL (see package testdb). Tests talk HTTP to it.
//
// It is for tests only.
package testserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"

	"myelin/internal/config"
	"myelin/internal/server"
	"myelin/internal/testkit/testdb"
)

// Server is a running test homeserver.
type Server struct {
	// URL is the client API base URL, e.g. http://127.0.0.1:43123.
	URL string
	// Config is the configuration it runs with.
	Config config.Config
	// Srv gives tests access to the services, e.g. to create accounts.
	Srv *server.Server

	t      testing.TB
	cancel context.CancelFunc
	done   chan error
	addr   string
}

// ForEachEngine runs fn as a subtest once per database engine.
func ForEachEngine(t *testing.T, fn func(t *testing.T, e testdb.Engine)) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, e) })
	}
}

// Start starts a homeserver on a fresh database of engine e. Configuration
// defaults suit tests (server name "localhost", open registration, no rate
// limit, fast password hashing); change tweaks them. The server stops when
// the test ends.
func Start(t testing.TB, e testdb.Engine, tweaks ...func(*config.Config)) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL, _ = e.New(t) // SQLite lives in the data directory, as in production
	cfg.Registration = config.RegistrationOpen
	cfg.RateLimit = "off"
	cfg.PasswordHashCost = 4
	cfg.Listen = "127.0.0.1:0"
	for _, tw := range tweaks {
		tw(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	s := &Server{Config: cfg, t: t}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(logWriter(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(ctx, s.Config, log)
	if err != nil {
		cancel()
		s.t.Fatalf("starting server: %v", err)
	}
	listen := s.Config.Listen
	if s.addr != "" {
		listen = s.addr // a restart keeps the port
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		cancel()
		srv.Close()
		s.t.Fatalf("listening: %v", err)
	}
	s.addr = ln.Addr().String()
	s.URL = "http://" + s.addr
	s.Srv, s.cancel, s.done = srv, cancel, make(chan error, 1)
	go func() {
		err := srv.Run(ctx, ln)
		srv.Close()
		s.done <- err
	}()
}

// Stop shuts the server down gracefully and waits for it. Stopping twice is
// harmless.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	if err := <-s.done; err != nil {
		s.t.Errorf("server stopped with: %v", err)
	}
	s.cancel = nil
}

// Restart stops the server and starts it again on the same database, data
// directory and port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// StartPeer starts another homeserver process on s's PostgreSQL database
// and data directory (so with the same server name and signing key), on a
// port of its own, as several `myelin serve` sharing one database run in
// production. It stops when the test ends. One SQLite database has one
// process: on SQLite StartPeer fails the test.
func (s *Server) StartPeer() *Server {
	s.t.Helper()
	if s.Config.DatabaseURL == "" {
		s.t.Fatal("testserver: peers share a PostgreSQL database; this server runs on SQLite")
	}
	p := &Server{Config: s.Config, t: s.t}
	p.Config.Listen = "127.0.0.1:0"
	p.start()
	s.t.Cleanup(p.Stop)
	return p
}

// logWriter sends server logs to stderr when MYELIN_TEST_LOG is set, and
// nowhere otherwise.
func logWriter() io.Writer {
	if os.Getenv("MYELIN_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
