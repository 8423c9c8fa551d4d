package users

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// MinPasswordLength is the shortest password a user may choose through
// /register or /account/password (the spec lets servers reject weak
// passwords with M_WEAK_PASSWORD). Accounts made by an administrator (CLI,
// shared secret) are not held to it.
const MinPasswordLength = 8

// MaxDeviceIDBytes bounds client-chosen device IDs.
const MaxDeviceIDBytes = 255

// RegisterRequest is a POST /register request.
type RegisterRequest struct {
	// Username is the wanted localpart ("" lets the server choose).
	Username string
	// Password is optional: an account without one can use only the
	// access token registration gives.
	Password                 string
	DeviceID                 string
	InitialDeviceDisplayName string
	// InhibitLogin creates the account without a device or access token.
	InhibitLogin bool
	// RefreshToken asks for an expiring access token and a refresh token.
	RefreshToken bool
	// IP is the client's address, recorded on the device.
	IP   string
	Auth *AuthDict
}

// Registered is the outcome of a registration.
type Registered struct {
	UserID spec.UserID
	// Tokens is nil when login was inhibited.
	Tokens *Tokens
}

func (s *Service) registrationFlows() [][]string {
	if s.opts.Registration == RegistrationByToken {
		return [][]string{{StageRegistrationToken}}
	}
	return [][]string{{StageDummy}}
}

// Register runs POST /register: checks of the request first (as the spec
// requires, before user-interactive auth), then one round of
// user-interactive auth, then the account, its device and its session are
// created in one transaction that also consumes the UIA session and the
// registration token it holds.
//
// Errors: 403 M_FORBIDDEN when registration is closed; M_INVALID_USERNAME,
// M_USER_IN_USE, M_WEAK_PASSWORD, M_INVALID_PARAM; *AuthRequired while
// authentication is incomplete.
func (s *Service) Register(ctx context.Context, req RegisterRequest) (Registered, error) {
	if s.opts.Registration != RegistrationOpen && s.opts.Registration != RegistrationByToken {
		return Registered{}, spec.Forbidden("registration is disabled on this homeserver")
	}
	localpart := ""
	if req.Username != "" {
		var err error
		if localpart, err = s.availableLocalpart(ctx, req.Username, true); err != nil {
			return Registered{}, err
		}
	}
	if req.Password != "" {
		if err := checkPasswordPolicy(req.Password); err != nil {
			return Registered{}, err
		}
	}
	if err := checkDeviceID(req.DeviceID); err != nil {
		return Registered{}, err
	}
	if len(req.InitialDeviceDisplayName) > MaxDeviceDisplayNameBytes {
		return Registered{}, spec.InvalidParam("initial_device_display_name longer than %d bytes", MaxDeviceDisplayNameBytes)
	}
	sess, err := s.authorize(ctx, uiaOp{purpose: "register", flows: s.registrationFlows()}, req.Auth)
	if err != nil {
		return Registered{}, err
	}
	hash := ""
	if req.Password != "" {
		if hash, err = s.hashPassword(req.Password); err != nil {
			return Registered{}, err
		}
	}
	reg := store.NewRegistration{
		Account:    store.Account{Localpart: localpart, PasswordHash: hash, CreatedTS: s.now()},
		UIASession: sess.ID,
	}
	var tokens *Tokens
	if !req.InhibitLogin {
		tokens, reg.Device, reg.Session = s.loginRecords(req.DeviceID, req.InitialDeviceDisplayName, req.IP, req.RefreshToken)
	}
	for attempt := 0; ; attempt++ {
		if req.Username == "" {
			reg.Account.Localpart = randomLocalpart()
		}
		if reg.Device != nil {
			reg.Device.Localpart, reg.Session.Localpart = reg.Account.Localpart, reg.Account.Localpart
		}
		err = s.store.CreateRegistration(ctx, reg)
		if errors.Is(err, store.ErrConflict) && req.Username == "" && attempt < 3 {
			continue
		}
		break
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		// Taken while the client was authenticating; the session stays
		// usable for another name.
		return Registered{}, spec.NewError(400, spec.ErrUserInUse, "user ID already taken")
	case errors.Is(err, store.ErrNotFound):
		return Registered{}, spec.Forbidden("the authentication session was used by another request")
	case err != nil:
		return Registered{}, fmt.Errorf("registering: %w", err)
	}
	uid, err := s.UserID(reg.Account.Localpart)
	if err != nil {
		return Registered{}, fmt.Errorf("registered localpart %q: %w", reg.Account.Localpart, err)
	}
	return Registered{UserID: uid, Tokens: tokens}, nil
}

// loginRecords builds the device, session and tokens of a first login (the
// localparts are filled in by the caller).
func (s *Service) loginRecords(deviceID, displayName, ip string, refreshable bool) (*Tokens, *store.Device, *store.Session) {
	if deviceID == "" {
		deviceID = randomDeviceID()
	}
	t, sess := s.newTokens("", deviceID, refreshable)
	d := &store.Device{DeviceID: deviceID, DisplayName: displayName, LastSeenIP: ip, LastSeenTS: s.now()}
	return &t, d, &sess
}

// UsernameAvailable checks a wanted username for GET /register/available:
// nil when it is valid and free; M_INVALID_USERNAME or M_USER_IN_USE
// otherwise.
func (s *Service) UsernameAvailable(ctx context.Context, username string) error {
	if username == "" {
		return spec.MissingParam("username is required")
	}
	_, err := s.availableLocalpart(ctx, username, true)
	return err
}

// availableLocalpart lower-cases and validates a wanted username and checks
// that no account (deactivated ones included) has it. Usernames starting
// with "_" are reserved for the server and application services when the
// user chooses the name (userChosen).
func (s *Service) availableLocalpart(ctx context.Context, username string, userChosen bool) (string, error) {
	localpart := strings.ToLower(username)
	if !spec.IsValidLocalpart(localpart) {
		return "", spec.NewError(400, spec.ErrInvalidUsername,
			"a username may contain only a-z, 0-9 and the characters - . _ = / +")
	}
	if userChosen && strings.HasPrefix(localpart, "_") {
		return "", spec.NewError(400, spec.ErrInvalidUsername, "usernames starting with '_' are reserved")
	}
	if _, err := s.UserID(localpart); err != nil {
		return "", spec.NewError(400, spec.ErrInvalidUsername, "username too long")
	}
	_, err := s.store.Account(ctx, localpart)
	switch {
	case err == nil:
		return "", spec.NewError(400, spec.ErrUserInUse, "user ID already taken")
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("reading account: %w", err)
	}
	return localpart, nil
}

func checkPasswordPolicy(password string) error {
	if len(password) < MinPasswordLength {
		return spec.NewError(400, spec.ErrWeakPassword, "password must be at least %d characters long", MinPasswordLength)
	}
	if len(password) > MaxPasswordBytes {
		return spec.NewError(400, spec.ErrWeakPassword, "password longer than %d bytes", MaxPasswordBytes)
	}
	return nil
}

func checkDeviceID(id string) error {
	if len(id) > MaxDeviceIDBytes {
		return spec.InvalidParam("device_id longer than %d bytes", MaxDeviceIDBytes)
	}
	return nil
}

const localpartAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomLocalpart makes a localpart for a registration without username.
func randomLocalpart() string {
	return "u" + randomString(localpartAlphabet, 12)
}
