// Package server is the composition root: it opens the store, builds the
// services in dependency order, mounts the HTTP API and runs the listeners
// until its context ends, then shuts down gracefully.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"myelin/internal/accountdata"
	"myelin/internal/config"
	"myelin/internal/directory"
	"myelin/internal/e2ee"
	"myelin/internal/filter"
	"myelin/internal/httpapi"
	"myelin/internal/media"
	"myelin/internal/notify"
	"myelin/internal/presence"
	"myelin/internal/profile"
	"myelin/internal/push"
	"myelin/internal/receipts"
	"myelin/internal/room"
	"myelin/internal/search"
	"myelin/internal/signing"
	"myelin/internal/spec"
	"myelin/internal/sqlstore"
	syncapi "myelin/internal/sync"
	"myelin/internal/typing"
	"myelin/internal/users"
)

// Version is the software version reported to clients and in logs.
const Version = "0.1.0-dev"

// Server is a running homeserver's parts.
type Server struct {
	cfg   config.Config
	log   *slog.Logger
	db    *sqlstore.DB
	key   signing.Key
	Users *users.Service
	api   *httpapi.API

	// Per-user data services.
	Profiles    *profile.Service
	AccountData *accountdata.Service
	PushRules   *push.Service
	Presence    *presence.Service
	Filters     *filter.Service

	// Notifier wakes readers of the streams; Rooms is the room engine.
	Notifier *notify.Notifier
	Rooms    *room.Engine

	// Ephemeral room data and the published room directory.
	Typing    *typing.Service
	Receipts  *receipts.Service
	Directory *directory.Service

	// Sync serves /sync, /messages, /context and timestamp_to_event.
	Sync *syncapi.Service

	// E2EE serves device keys, cross-signing, key backup and to-device.
	E2EE *e2ee.Service

	// Media is the media repository and content scanner.
	Media *media.Service

	// bridge wakes the other processes sharing a PostgreSQL database (nil
	// on SQLite).
	bridge *sqlstore.Bridge
}

// New opens the store (creating the data directory and signing key on first
// start) and builds every service. Close releases what New opened.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	key, err := loadOrCreateKey(cfg.SigningKeyPath())
	if err != nil {
		return nil, err
	}
	db, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, db: db, key: key}
	serverName := spec.ServerName(cfg.ServerName)
	s.Notifier = notify.New()
	var typingPeers typing.Peers
	if db.Engine() == sqlstore.Postgres {
		if s.bridge, err = db.NewBridge(sqlstore.BridgeOptions{URL: cfg.DatabaseURL, Logger: log}); err != nil {
			db.Close()
			return nil, err
		}
		s.Notifier, typingPeers = notify.NewRelayed(s.bridge), s.bridge
	}
	// The E2EE service drops the keys of deleted devices (the users
	// service's device hook).
	s.E2EE = e2ee.New(e2ee.Options{ServerName: serverName, Notifier: s.Notifier, Logger: log,
		LenientDeviceKeys: cfg.Encryption.LenientDeviceKeys}, db)
	noticesUser, err := serverNoticesUser(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.Rooms = room.New(room.Options{
		ServerName: serverName, Key: key, EncryptionDefault: cfg.Encryption.Default, Profiles: db, Logger: log,
		Relations: db, ServerNoticesUser: noticesUser.String(),
	}, db, s.Notifier)
	// Deactivated accounts leave their rooms (the users service's room leaver).
	usersOpts := UsersOptions(cfg, log)
	usersOpts.DeviceHook = s.E2EE
	// Login refuses device IDs that are cross-signing public keys.
	usersOpts.DeviceIDs = s.E2EE
	usersOpts.RoomLeaver = s.Rooms
	s.Users = users.New(usersOpts, db)
	// Profile hooks: the room engine sends the m.room.member updates.
	s.Profiles = profile.New(profile.Options{ServerName: serverName, Logger: log, Hooks: []profile.Hook{s.Rooms}, Notifier: s.Notifier}, db)
	s.PushRules = push.New(db, s.Notifier)
	s.AccountData = accountdata.New(db, s.PushRules, s.Notifier)
	s.Presence = presence.New(presence.Options{ServerName: serverName, Notifier: s.Notifier}, db)
	s.Filters = filter.New(db)
	s.Typing = typing.New(typing.Options{Notifier: s.Notifier, Peers: typingPeers}, db)
	s.Receipts = receipts.New(receipts.Options{Notifier: s.Notifier}, db, db, s.Rooms, s.AccountData)
	s.Directory = directory.New(directory.Options{ServerName: serverName}, db, db, s.Rooms)
	s.Sync = syncapi.New(syncapi.Options{
		ServerName: serverName, Logger: log,
		Ephemeral: []syncapi.EphemeralSource{syncapi.TypingSource(s.Typing), syncapi.ReceiptsSource(s.Receipts)},
	}, syncapi.Deps{
		Store: db, Rooms: s.Rooms, Filters: s.Filters, AccountData: s.AccountData, Presence: s.Presence, Waiter: s.Notifier,
		E2EE: s.E2EE,
	})
	if s.Media, err = newMedia(ctx, cfg, log, db); err != nil {
		db.Close()
		return nil, err
	}
	// Dehydrated devices (MSC3814) are served only when configured.
	var dehydration httpapi.Dehydration
	if cfg.Encryption.DehydratedDevices {
		dehydration = e2ee.NewDehydration(s.E2EE, db)
	}
	var scanner httpapi.Scanner
	if s.Media.ScannerEnabled() {
		scanner = s.Media
	}
	s.api = httpapi.New(httpapi.Options{
		ServerName:      spec.ServerName(cfg.ServerName),
		MaxRequestBytes: cfg.MaxRequestBytes,
		RateLimit:       cfg.RateLimited(),
		Logger:          log,
		Version:         Version,
	}, httpapi.Services{
		Users:       s.Users,
		Profiles:    s.Profiles,
		AccountData: s.AccountData,
		PushRules:   s.PushRules,
		Presence:    s.Presence,
		Filters:     s.Filters,
		Rooms:       s.Rooms,
		Typing:      s.Typing,
		Receipts:    s.Receipts,
		Directory:   s.Directory,
		Sync:        s.Sync,
		E2EE:        s.E2EE,
		Authorizer:  s.Users,
		Relations:   s.Rooms,
		Pushers:     push.NewPushers(db),
		Search:      search.New(db, s.Rooms),
		Notices:     newNotices(cfg, noticesUser, db, s.Rooms, s.AccountData),
		Media:       s.Media,
		Scanner:     scanner,
		Dehydration: dehydration,
	})
	return s, nil
}

// UsersOptions derives the accounts service's options from the config.
func UsersOptions(cfg config.Config, log *slog.Logger) users.Options {
	return users.Options{
		ServerName:       spec.ServerName(cfg.ServerName),
		PasswordHashCost: cfg.PasswordHashCost,
		Registration:     users.RegistrationMode(cfg.Registration),
		SharedSecret:     cfg.RegistrationSharedSecret,
		Logger:           log,
	}
}

// OpenStore opens the configured store: PostgreSQL when database_url is set,
// else SQLite in the data directory.
func OpenStore(ctx context.Context, cfg config.Config) (*sqlstore.DB, error) {
	db, err := sqlstore.Open(ctx, sqlstore.Options{URL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath()})
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	return db, nil
}

// Handler returns the client API handler.
func (s *Server) Handler() http.Handler { return s.api }

// Close releases the store.
func (s *Server) Close() error {
	s.Typing.Close()
	return s.db.Close()
}

// Run serves the client API on ln until ctx ends, then stops accepting,
// lets in-flight requests finish within the shutdown grace, and returns.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.api,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(s.Sync.Shutdown) // waiting long-polls answer at once
	if s.bridge != nil {
		// Stopped after the HTTP shutdown, so that the last requests'
		// commits still reach the other processes.
		bctx, stopBridge := context.WithCancel(context.WithoutCancel(ctx))
		bridgeDone := make(chan struct{})
		go func() {
			defer close(bridgeDone)
			s.bridge.Run(bctx, sqlstore.BridgeSinks{Streams: s.Notifier, Typing: s.Typing})
		}()
		defer func() { stopBridge(); <-bridgeDone }()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadOrCreateKey reads the signing key file ("ed25519 <version>
// <unpadded base64 seed>", Synapse's format), creating it on first start.
func loadOrCreateKey(path string) (signing.Key, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		var v [4]byte
		rand.Read(v[:])
		version := "a_" + hex.EncodeToString(v[:])
		key, err := signing.GenerateKey(rand.Reader, version)
		if err != nil {
			return key, fmt.Errorf("generating signing key: %w", err)
		}
		line := fmt.Sprintf("ed25519 %s %s\n", version, signing.EncodeBase64(key.Private.Seed()))
		if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
			return key, fmt.Errorf("writing signing key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return signing.Key{}, fmt.Errorf("reading signing key: %w", err)
	}
	fields := strings.Fields(string(data))
	if len(fields) != 3 || fields[0] != "ed25519" {
		return signing.Key{}, fmt.Errorf("signing key %s: want \"ed25519 <version> <seed>\"", path)
	}
	seed, err := signing.DecodeBase64(fields[2])
	if err != nil {
		return signing.Key{}, fmt.Errorf("signing key %s: %w", path, err)
	}
	key, err := signing.KeyFromSeed(fields[1], seed)
	if err != nil {
		return key, fmt.Errorf("signing key %s: %w", path, err)
	}
	return key, nil
}
