// Package e2ee is the server side of end-to-end encryption (client-server
// API, "End-to-End Encryption" and "Send-to-Device messaging"): device
// identity keys, one-time and fallback keys, cross-signing keys and
// signatures, server-side key backups, send-to-device messages, and the
// device-list changes /sync reports.
//
// The server never holds a key that decrypts messages; it stores public
// keys byte for byte as canonical JSON (clients check the signatures
// themselves), hands every one-time key out at most once, keeps to-device
// messages until the device has acknowledged them by syncing past them, and
// tells users whose devices changed.
//
// Data is keyed by full user IDs so that the keys of remote users fit when
// federation comes. Until then remote users are reported in the failures
// of /keys/query and /keys/claim, and to-device messages for them are
// dropped.
//
// Methods return *spec.Error for failures a client should see; any other
// error is a storage or internal failure.
package e2ee

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Stream names, as in package sqlstore and the notifier.
const (
	StreamToDevice    = "to_device"
	StreamDeviceLists = "device_lists"
)

// Limits. NOTSPEC: the spec sets none; these bound what one request or one
// device can make the server store, far above what clients use.
const (
	// MaxIDBytes bounds device IDs, key IDs, algorithm names, event types
	// and transaction IDs.
	MaxIDBytes = 255
	// MaxOneTimeKeys bounds the unclaimed one-time keys a device holds per
	// algorithm (clients keep about 50 on the server).
	MaxOneTimeKeys = 5000
	// MaxQueryUsers bounds the users of one /keys/query, MaxClaims the
	// keys of one /keys/claim.
	MaxQueryUsers = 10000
	MaxClaims     = 10000
	// MaxToDeviceMessages bounds the messages of one /sendToDevice.
	MaxToDeviceMessages = 10000
	// ToDeviceSyncLimit is how many to-device messages one /sync delivers
	// at most (the spec recommends 100).
	ToDeviceSyncLimit = 100
	// ToDeviceTxnLifetime is how long a /sendToDevice transaction ID is
	// remembered for idempotency.
	ToDeviceTxnLifetime = 24 * time.Hour
)

// Store is the storage the service uses.
type Store interface {
	store.E2EEKeys
	store.ToDevice
	store.KeyBackups
	// Devices lists a local account's devices (store.Accounts).
	Devices(ctx context.Context, localpart string) ([]store.Device, error)
	// SharedRoomUsers lists the users joined to a room userID is joined to
	// (store.Sync).
	SharedRoomUsers(ctx context.Context, userID string) ([]string, error)
}

// Notifier wakes readers of a stream when a position is committed (package
// notify's Notifier).
type Notifier interface {
	Notify(stream string, pos int64)
}

// Options configures the service.
type Options struct {
	// ServerName is this server's name: users of other servers are remote.
	ServerName spec.ServerName
	// Notifier (may be nil) is told of every committed position.
	Notifier Notifier
	// LenientDeviceKeys accepts device keys without a valid self-signature
	// and lets a device replace its identity keys, as Synapse does.
	// Off (the default), both are refused: a device's identity is fixed
	// while it exists. Complement's device_lists tests upload unsigned
	// keys and change them, so they need it on.
	LenientDeviceKeys bool
	Logger            *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Service is the end-to-end encryption service. It is safe for concurrent
// use.
type Service struct {
	opts  Options
	store Store
	log   *slog.Logger
	// lastTxnSweep is when old to-device transaction IDs were last deleted
	// (Unix ms).
	lastTxnSweep atomic.Int64
}

// New returns the service over st.
func New(opts Options, st Store) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{opts: opts, store: st, log: opts.Logger}
}

func (s *Service) notify(stream string, pos int64) {
	if pos > 0 && s.opts.Notifier != nil {
		s.opts.Notifier.Notify(stream, pos)
	}
}

// owner returns the key owner of a user: local users carry their
// localpart.
func (s *Service) owner(u spec.UserID) store.KeyOwner {
	o := store.KeyOwner{UserID: u.String()}
	if u.Domain() == s.opts.ServerName {
		o.Localpart = u.Localpart()
	}
	return o
}

// parseUser parses a user ID from a request; what names the field for the
// error (400 M_INVALID_PARAM).
func parseUser(id, what string) (spec.UserID, error) {
	u, err := spec.ParseHistoricalUserID(id)
	if err != nil {
		return u, spec.InvalidParam("%s: %q is not a valid user ID", what, truncate(id, 80))
	}
	return u, nil
}

// remoteFailure is the failures entry of a server this one cannot reach.
// NOTSPEC: Myelin has no federation yet, so every other server is
// reported unreachable.
func remoteFailure() json.RawMessage {
	return json.RawMessage(`{"status":503,"message":"federation is not available on this server"}`)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// checkID checks a client-supplied identifier: non-empty, at most
// MaxIDBytes.
func checkID(id, what string) error {
	if id == "" {
		return spec.InvalidParam("%s must not be empty", what)
	}
	if len(id) > MaxIDBytes {
		return spec.InvalidParam("%s is longer than %d bytes", what, MaxIDBytes)
	}
	return nil
}
