package users

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// MaxRegistrationTokenLength is the spec's bound on registration tokens.
const MaxRegistrationTokenLength = 64

// registrationTokenAlphabet is the spec's opaque identifier grammar.
const registrationTokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-"

func validRegistrationToken(t string) bool {
	if t == "" || len(t) > MaxRegistrationTokenLength {
		return false
	}
	for i := 0; i < len(t); i++ {
		if strings.IndexByte(registrationTokenAlphabet, t[i]) < 0 {
			return false
		}
	}
	return true
}

// RegistrationToken is a registration token as admins see it (Synapse's
// admin API shape). Nil UsesAllowed or ExpiryTime mean unlimited.
type RegistrationToken = store.RegistrationToken

// NewRegistrationToken describes a token to create. Without Token, a random
// token of Length characters (nil: 16) is made.
type NewRegistrationToken struct {
	Token       *string
	Length      *int
	UsesAllowed *int64
	ExpiryTime  *int64
}

// CreateRegistrationToken stores a new registration token. Errors:
// M_INVALID_PARAM for a malformed or taken token, a negative use count, a
// length outside 1..64 or an expiry in the past.
func (s *Service) CreateRegistrationToken(ctx context.Context, n NewRegistrationToken) (RegistrationToken, error) {
	t := RegistrationToken{UsesAllowed: n.UsesAllowed, ExpiryTime: n.ExpiryTime}
	if n.Token == nil {
		length := 16
		if n.Length != nil {
			length = *n.Length
		}
		if length < 1 || length > MaxRegistrationTokenLength {
			return t, spec.InvalidParam("length must be between 1 and %d", MaxRegistrationTokenLength)
		}
		t.Token = randomString(registrationTokenAlphabet, length)
	} else if t.Token = *n.Token; !validRegistrationToken(t.Token) {
		return t, spec.InvalidParam("token must be 1 to %d characters of A-Z, a-z, 0-9, '.', '_', '~', '-'", MaxRegistrationTokenLength)
	}
	if t.UsesAllowed != nil && *t.UsesAllowed < 0 {
		return t, spec.InvalidParam("uses_allowed must be a non-negative integer or null")
	}
	if t.ExpiryTime != nil && *t.ExpiryTime < s.now() {
		return t, spec.InvalidParam("expiry_time must not be in the past")
	}
	err := s.store.CreateRegistrationToken(ctx, t)
	if errors.Is(err, store.ErrConflict) {
		return t, spec.InvalidParam("token already in use")
	}
	if err != nil {
		return t, fmt.Errorf("creating registration token: %w", err)
	}
	return t, nil
}

// RegistrationTokens lists registration tokens; with valid set, only those
// that are (or are not) usable now.
func (s *Service) RegistrationTokens(ctx context.Context, valid *bool) ([]RegistrationToken, error) {
	all, err := s.store.RegistrationTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing registration tokens: %w", err)
	}
	if valid == nil {
		return all, nil
	}
	now := s.now()
	out := all[:0]
	for _, t := range all {
		if t.Usable(now) == *valid {
			out = append(out, t)
		}
	}
	return out, nil
}

// RegistrationTokenValid answers GET /register/m.login.registration_token/validity.
// 403 M_FORBIDDEN unless registration is by token.
func (s *Service) RegistrationTokenValid(ctx context.Context, token string) (bool, error) {
	if s.opts.Registration != RegistrationByToken {
		return false, spec.Forbidden("registration tokens are not used on this homeserver")
	}
	if token == "" {
		return false, spec.MissingParam("token is required")
	}
	if !validRegistrationToken(token) {
		return false, nil
	}
	t, err := s.store.RegistrationToken(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading registration token: %w", err)
	}
	return t.Usable(s.now()), nil
}

// NonceLifetime is how long a shared-secret registration nonce is valid.
const NonceLifetime = time.Minute

// errNoSharedSecret answers the shared-secret endpoints when no secret is
// configured, as Synapse does; tools (and Complement) then skip them.
func errNoSharedSecret() *spec.Error {
	return spec.Unrecognized(404, "shared-secret registration is not enabled")
}

// SharedSecretNonce issues a single-use nonce for shared-secret
// registration (GET /_synapse/admin/v1/register). 404 M_UNRECOGNIZED when
// no shared secret is configured.
func (s *Service) SharedSecretNonce(ctx context.Context) (string, error) {
	if s.opts.SharedSecret == "" {
		return "", errNoSharedSecret()
	}
	nonce := randomToken()
	now := s.opts.Now()
	if err := s.store.CreateNonce(ctx, nonce, now.Add(NonceLifetime).UnixMilli(), now.UnixMilli()); err != nil {
		return "", fmt.Errorf("storing nonce: %w", err)
	}
	return nonce, nil
}

// SharedSecretRequest is a POST /_synapse/admin/v1/register request.
type SharedSecretRequest struct {
	Nonce    string
	Username string
	Password string
	Admin    bool
	// UserType is Synapse's user_type ("" for none); it is part of the MAC.
	UserType string
	// MAC is the hex HMAC-SHA1, keyed with the shared secret, of
	// nonce \0 username \0 password \0 ("admin"|"notadmin") [\0 user_type].
	MAC          string
	RefreshToken bool
	IP           string
}

// SharedSecretMAC computes the MAC of a shared-secret registration, as
// Synapse's register_new_matrix_user and Complement do.
func SharedSecretMAC(secret, nonce, username, password string, admin bool, userType string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(nonce))
	m.Write([]byte{0})
	m.Write([]byte(username))
	m.Write([]byte{0})
	m.Write([]byte(password))
	m.Write([]byte{0})
	if admin {
		m.Write([]byte("admin"))
	} else {
		m.Write([]byte("notadmin"))
	}
	if userType != "" {
		m.Write([]byte{0})
		m.Write([]byte(userType))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// MaxSharedSecretField bounds the username and password of a shared-secret
// registration, as Synapse does.
const MaxSharedSecretField = 512

// RegisterWithSharedSecret creates an account authorized by the shared
// secret and logs it in. The nonce is consumed first, whatever follows.
//
// Errors: 404 M_UNRECOGNIZED without a configured secret; 400 M_UNKNOWN
// for an unknown, used or expired nonce; 400 M_INVALID_PARAM for a
// malformed field; 403 M_FORBIDDEN for a wrong MAC; M_INVALID_USERNAME,
// M_USER_IN_USE.
func (s *Service) RegisterWithSharedSecret(ctx context.Context, req SharedSecretRequest) (Registered, error) {
	if s.opts.SharedSecret == "" {
		return Registered{}, errNoSharedSecret()
	}
	if req.Nonce == "" {
		return Registered{}, spec.MissingParam("nonce is required")
	}
	err := s.store.ConsumeNonce(ctx, req.Nonce, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return Registered{}, spec.Unknown(400, "unrecognised nonce")
	}
	if err != nil {
		return Registered{}, fmt.Errorf("consuming nonce: %w", err)
	}
	for _, f := range []struct{ name, v string }{{"username", req.Username}, {"password", req.Password}} {
		name, v := f.name, f.v
		if v == "" {
			return Registered{}, spec.MissingParam("%s is required", name)
		}
		if len(v) > MaxSharedSecretField || strings.IndexByte(v, 0) >= 0 {
			return Registered{}, spec.InvalidParam("invalid %s", name)
		}
	}
	want := SharedSecretMAC(s.opts.SharedSecret, req.Nonce, req.Username, req.Password, req.Admin, req.UserType)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(req.MAC))) {
		return Registered{}, spec.Forbidden("HMAC incorrect")
	}
	if req.UserType != "" {
		return Registered{}, spec.InvalidParam("user types are not supported")
	}
	localpart, err := s.availableLocalpart(ctx, req.Username, false)
	if err != nil {
		return Registered{}, err
	}
	hash, err := s.hashPassword(req.Password)
	if err != nil {
		return Registered{}, err
	}
	tokens, dev, sess := s.loginRecords("", "", req.IP, req.RefreshToken)
	dev.Localpart, sess.Localpart = localpart, localpart
	err = s.store.CreateRegistration(ctx, store.NewRegistration{
		Account: store.Account{Localpart: localpart, PasswordHash: hash, Admin: req.Admin, CreatedTS: s.now()},
		Device:  dev,
		Session: sess,
	})
	if errors.Is(err, store.ErrConflict) {
		return Registered{}, spec.NewError(400, spec.ErrUserInUse, "user ID already taken")
	}
	if err != nil {
		return Registered{}, fmt.Errorf("registering: %w", err)
	}
	uid, err := s.UserID(localpart)
	if err != nil {
		return Registered{}, fmt.Errorf("registered localpart %q: %w", localpart, err)
	}
	return Registered{UserID: uid, Tokens: tokens}, nil
}

// randomString returns n characters drawn uniformly from alphabet (at most
// 256 characters), by rejection sampling of random bytes.
func randomString(alphabet string, n int) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, c := range buf {
			if int(c) < limit && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
