// Package users manages local accounts: registration (with user-interactive
// authentication, registration tokens and Synapse-compatible shared-secret
// registration), passwords hashed by bcrypt, login, access and refresh
// tokens bound to devices, device management, password changes,
// deactivation, and token authentication for every other request.
//
// Tokens are random 256-bit values; the store keeps only their SHA-256.
// User-interactive authentication sessions, registration tokens and nonces
// live in the store, so several processes sharing one database agree.
package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// RegistrationMode says who may register accounts through /register.
type RegistrationMode string

// The registration modes.
const (
	// RegistrationClosed: nobody; admins create accounts (CLI, shared secret).
	RegistrationClosed RegistrationMode = "closed"
	// RegistrationByToken: whoever has a registration token.
	RegistrationByToken RegistrationMode = "token"
	// RegistrationOpen: anyone, with the m.login.dummy stage.
	RegistrationOpen RegistrationMode = "open"
)

// Options configures the service.
type Options struct {
	ServerName spec.ServerName
	// PasswordHashCost is the bcrypt cost.
	PasswordHashCost int
	// Registration is the /register mode ("" is closed).
	Registration RegistrationMode
	// SharedSecret enables Synapse-compatible shared-secret registration
	// ("" disables it).
	SharedSecret string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger receives failures that do not fail the request (nil: discard).
	Logger *slog.Logger
	// DeviceHook (may be nil) is told when devices are deleted.
	DeviceHook DeviceHook
	// DeviceIDs (may be nil) vets the device IDs clients choose at login.
	DeviceIDs DeviceIDChecker
	// RoomLeaver (may be nil) makes a deactivated account leave its rooms.
	RoomLeaver RoomLeaver
}

// Store is the storage the service uses.
type Store interface {
	store.Accounts
	store.AccountAdmin
	store.UIASessions
}

// Service is the accounts service.
type Service struct {
	opts  Options
	store Store
	log   *slog.Logger
}

// New returns the service over st.
func New(opts Options, st Store) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Registration == "" {
		opts.Registration = RegistrationClosed
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts, store: st, log: log}
}

// MaxPasswordBytes bounds passwords: bcrypt reads at most 72 bytes, and a
// longer input would silently be truncated.
const MaxPasswordBytes = 72

func (s *Service) now() int64 { return s.opts.Now().UnixMilli() }

// UserID returns the full user ID of a local localpart.
func (s *Service) UserID(localpart string) (spec.UserID, error) {
	return spec.NewUserID(localpart, s.opts.ServerName)
}

// CreateAccount validates the localpart and password and stores a new
// account. Errors: M_INVALID_USERNAME, M_USER_IN_USE, M_WEAK_PASSWORD (as
// *spec.Error), or storage failures.
func (s *Service) CreateAccount(ctx context.Context, localpart, password string, admin bool) (spec.UserID, error) {
	localpart = strings.ToLower(localpart)
	uid, err := s.UserID(localpart)
	if err != nil {
		return uid, spec.NewError(400, spec.ErrInvalidUsername, "invalid username %q", localpart)
	}
	hash := ""
	if password != "" {
		if hash, err = s.hashPassword(password); err != nil {
			return uid, err
		}
	}
	err = s.store.CreateAccount(ctx, store.Account{Localpart: localpart, PasswordHash: hash, Admin: admin, CreatedTS: s.now()})
	if errors.Is(err, store.ErrConflict) {
		return uid, spec.NewError(400, spec.ErrUserInUse, "user ID already taken")
	}
	if err != nil {
		return uid, fmt.Errorf("creating account: %w", err)
	}
	return uid, nil
}

func (s *Service) hashPassword(password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", spec.NewError(400, spec.ErrWeakPassword, "password longer than %d bytes", MaxPasswordBytes)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.opts.PasswordHashCost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	return string(h), nil
}

// CheckPassword verifies a local user's password and returns the account's
// localpart. A wrong password or an unknown user give the same 403
// M_FORBIDDEN; a deactivated account is 403 M_USER_DEACTIVATED.
func (s *Service) CheckPassword(ctx context.Context, localpart, password string) (string, error) {
	acct, err := s.store.Account(ctx, strings.ToLower(localpart))
	forbidden := spec.Forbidden("invalid username or password")
	if errors.Is(err, store.ErrNotFound) {
		return "", forbidden
	}
	if err != nil {
		return "", fmt.Errorf("reading account: %w", err)
	}
	if acct.Deactivated {
		return "", spec.NewError(403, spec.ErrUserDeactivated, "this account has been deactivated")
	}
	if !passwordMatches(acct.PasswordHash, password) {
		return "", forbidden
	}
	return acct.Localpart, nil
}

// passwordMatches reports whether password matches the stored hash; an
// account without a password matches nothing.
func passwordMatches(hash, password string) bool {
	return hash != "" && len(password) <= MaxPasswordBytes &&
		bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// Tokens is what a login or refresh hands to the client.
type Tokens struct {
	AccessToken  string
	RefreshToken string // "" unless requested
	ExpiresInMS  int64  // 0 = never expires
	DeviceID     string
}

// AccessTokenLifetime is how long a refreshable access token lives.
const AccessTokenLifetime = 5 * time.Minute

// NewSession creates (or reuses) the device and a new session on it. With
// refreshable, the access token expires and comes with a refresh token.
// A device ID the client chose is vetted by Options.DeviceIDs (403
// M_FORBIDDEN when it is one of the user's cross-signing public keys).
func (s *Service) NewSession(ctx context.Context, localpart, deviceID, displayName, ip string, refreshable bool) (Tokens, error) {
	if err := checkDeviceID(deviceID); err != nil {
		return Tokens{}, err
	}
	if len(displayName) > MaxDeviceDisplayNameBytes {
		return Tokens{}, spec.InvalidParam("device display name longer than %d bytes", MaxDeviceDisplayNameBytes)
	}
	if deviceID == "" {
		// Generated IDs are 10 capital letters, never an unpadded base64
		// ed25519 public key (43 characters).
		deviceID = randomDeviceID()
	} else if s.opts.DeviceIDs != nil {
		uid, err := s.UserID(localpart)
		if err != nil {
			return Tokens{}, fmt.Errorf("stored localpart %q: %w", localpart, err)
		}
		if err := s.opts.DeviceIDs.CheckDeviceID(ctx, uid, deviceID); err != nil {
			return Tokens{}, err
		}
	}
	if err := s.store.UpsertDevice(ctx, store.Device{Localpart: localpart, DeviceID: deviceID, DisplayName: displayName, LastSeenIP: ip, LastSeenTS: s.now()}); err != nil {
		return Tokens{}, fmt.Errorf("storing device: %w", err)
	}
	t, sess := s.newTokens(localpart, deviceID, refreshable)
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return Tokens{}, fmt.Errorf("storing session: %w", err)
	}
	return t, nil
}

func (s *Service) newTokens(localpart, deviceID string, refreshable bool) (Tokens, store.Session) {
	t := Tokens{AccessToken: "mya_" + randomToken(), DeviceID: deviceID}
	sess := store.Session{TokenHash: HashToken(t.AccessToken), Localpart: localpart, DeviceID: deviceID}
	if refreshable {
		t.RefreshToken = "myr_" + randomToken()
		t.ExpiresInMS = AccessTokenLifetime.Milliseconds()
		sess.RefreshTokenHash = HashToken(t.RefreshToken)
		sess.ExpiresTS = s.now() + t.ExpiresInMS
	}
	return t, sess
}

// Refresh trades a refresh token for new tokens; the old session ends.
// An unknown or already used refresh token is 401 M_UNKNOWN_TOKEN.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	old, err := s.store.SessionByRefreshToken(ctx, HashToken(refreshToken))
	if errors.Is(err, store.ErrNotFound) {
		return Tokens{}, spec.UnknownToken()
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("reading session: %w", err)
	}
	t, sess := s.newTokens(old.Localpart, old.DeviceID, true)
	err = s.store.ReplaceSession(ctx, old.TokenHash, sess)
	if errors.Is(err, store.ErrNotFound) {
		return Tokens{}, spec.UnknownToken()
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("replacing session: %w", err)
	}
	return t, nil
}

// Caller is an authenticated user and device.
type Caller struct {
	UserID    spec.UserID
	DeviceID  string
	Admin     bool
	TokenHash []byte
}

// LastSeenInterval is how stale a device's last-seen time and IP may get:
// authenticated requests record them at most this often per device, so
// that most requests cost one read and no write.
const LastSeenInterval = time.Minute

// Authenticate resolves an access token presented from ip with one read,
// and records the device's activity when its last record is older than
// LastSeenInterval. Unknown, expired, or belonging to a deactivated account:
// 401 M_UNKNOWN_TOKEN.
func (s *Service) Authenticate(ctx context.Context, token, ip string) (Caller, error) {
	h := HashToken(token)
	o, err := s.store.LookupToken(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return Caller{}, spec.UnknownToken()
	}
	if err != nil {
		return Caller{}, fmt.Errorf("reading session: %w", err)
	}
	now := s.now()
	if o.ExpiresTS != 0 && o.ExpiresTS <= now {
		return Caller{}, spec.NewError(401, spec.ErrUnknownToken, "access token expired").With("soft_logout", true)
	}
	if o.Deactivated {
		return Caller{}, spec.UnknownToken()
	}
	uid, err := s.UserID(o.Localpart)
	if err != nil {
		return Caller{}, fmt.Errorf("stored localpart %q: %w", o.Localpart, err)
	}
	if now-o.LastSeenTS >= LastSeenInterval.Milliseconds() {
		// Activity is informative: a failed write must not fail the request.
		if err := s.store.TouchDevice(ctx, o.Localpart, o.DeviceID, ip, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.WarnContext(ctx, "recording device activity", "user", uid.String(), "device", o.DeviceID, "err", err)
		}
	}
	return Caller{UserID: uid, DeviceID: o.DeviceID, Admin: o.Admin, TokenHash: h}, nil
}

// Logout ends the session of an access token and deletes its device, as
// POST /logout requires ("the device associated with the access token is
// also deleted"); what other services keep per device goes with it through
// the device hook. A token already gone is not an error.
func (s *Service) Logout(ctx context.Context, tokenHash []byte) error {
	o, err := s.store.LookupToken(ctx, tokenHash)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading session: %w", err)
	}
	if err := s.store.DeleteSessions(ctx, [][]byte{tokenHash}); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	if err := s.store.DeleteDevices(ctx, o.Localpart, []string{o.DeviceID}); err != nil {
		return fmt.Errorf("deleting device: %w", err)
	}
	s.devicesDeleted(ctx, o.Localpart)
	return nil
}

// LogoutAll ends every session of the account and deletes its devices.
func (s *Service) LogoutAll(ctx context.Context, localpart string) error {
	devs, err := s.store.Devices(ctx, localpart)
	if err != nil {
		return fmt.Errorf("listing devices: %w", err)
	}
	ids := make([]string, len(devs))
	for i, d := range devs {
		ids[i] = d.DeviceID
	}
	if err := s.store.DeleteDevices(ctx, localpart, ids); err != nil {
		return err
	}
	s.devicesDeleted(ctx, localpart)
	return nil
}

// HashToken returns the SHA-256 of a token, the form the store keeps.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

const deviceIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func randomDeviceID() string {
	return randomString(deviceIDAlphabet, 10)
}
