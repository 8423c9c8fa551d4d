package store

import "context"

// Account is a local user account.
type Account struct {
	// Localpart is the user ID's localpart; the account's key.
	Localpart string
	// PasswordHash is the KDF output ("" for accounts that cannot log in
	// with a password).
	PasswordHash string
	// Admin marks server administrators.
	Admin bool
	// Deactivated accounts cannot log in and keep their name reserved.
	Deactivated bool
	// CreatedTS is the creation time in Unix milliseconds.
	CreatedTS int64
}

// Device is one login of an account.
type Device struct {
	Localpart   string
	DeviceID    string
	DisplayName string
	LastSeenIP  string
	LastSeenTS  int64
}

// Session is an access token (stored as its SHA-256) bound to a device,
// with an optional refresh token.
type Session struct {
	TokenHash        []byte
	Localpart        string
	DeviceID         string
	ExpiresTS        int64  // 0 = never
	RefreshTokenHash []byte // nil = no refresh token
}

// Accounts stores accounts, devices and sessions.
//
// Error contract: lookups of absent records return ErrNotFound; creating an
// account or device that exists returns ErrConflict. Other errors are
// storage failures.
type Accounts interface {
	// CreateAccount inserts a new account; ErrConflict if the localpart is taken.
	CreateAccount(ctx context.Context, a Account) error
	// Account returns the account with the given localpart.
	Account(ctx context.Context, localpart string) (Account, error)
	// SetPasswordHash replaces the password hash.
	SetPasswordHash(ctx context.Context, localpart, hash string) error
	// DeactivateAccount marks the account deactivated and deletes its
	// devices, sessions and pushers in one transaction.
	DeactivateAccount(ctx context.Context, localpart string) error

	// UpsertDevice creates the device or, if it exists, keeps it.
	UpsertDevice(ctx context.Context, d Device) error
	// Devices returns the account's devices, by device ID.
	Devices(ctx context.Context, localpart string) ([]Device, error)
	// Device returns one device.
	Device(ctx context.Context, localpart, deviceID string) (Device, error)
	// SetDeviceDisplayName renames a device.
	SetDeviceDisplayName(ctx context.Context, localpart, deviceID, name string) error
	// DeleteDevices removes devices, their sessions and their pushers.
	DeleteDevices(ctx context.Context, localpart string, deviceIDs []string) error

	// CreateSession stores a new session for an existing device.
	CreateSession(ctx context.Context, s Session) error
	// SessionByToken finds the session of an access token hash.
	SessionByToken(ctx context.Context, tokenHash []byte) (Session, error)
	// SessionByRefreshToken finds the session of a refresh token hash.
	SessionByRefreshToken(ctx context.Context, refreshHash []byte) (Session, error)
	// ReplaceSession atomically deletes the session of oldTokenHash and
	// stores s; ErrNotFound if the old session is gone (e.g. a refresh
	// token used twice).
	ReplaceSession(ctx context.Context, oldTokenHash []byte, s Session) error
	// DeleteSessions removes sessions by access token hash.
	DeleteSessions(ctx context.Context, tokenHashes [][]byte) error
	// DeleteDeviceSessions removes all sessions of the account's devices,
	// except those of keepDeviceID ("" keeps none).
	DeleteDeviceSessions(ctx context.Context, localpart, keepDeviceID string) error
}

// TokenOwner is a session together with what authenticating a request needs
// of its account and device, read in one query.
type TokenOwner struct {
	Session
	Admin       bool
	Deactivated bool
	// LastSeenIP and LastSeenTS are the device's.
	LastSeenIP string
	LastSeenTS int64
}

// UIASession is a user-interactive authentication session: the stages a
// client has completed for one operation.
type UIASession struct {
	// ID is the random session identifier given to the client.
	ID string
	// Purpose names the operation the session authorizes (e.g. "register").
	Purpose string
	// Localpart is the user the session belongs to; "" for registration.
	Localpart string
	// Binding is a digest of the request parameters the session is bound to
	// (nil for none).
	Binding []byte
	// Completed lists the stages completed, in order.
	Completed []string
	// RegistrationToken is the registration token whose use the session
	// holds (counted as pending), "" for none.
	RegistrationToken string
	CreatedTS         int64
	ExpiresTS         int64
}

// RegistrationToken is a token that allows registering accounts (the
// m.login.registration_token stage). Pending counts uses held by
// registrations in progress; Completed counts accounts created with it.
type RegistrationToken struct {
	Token string
	// UsesAllowed is nil for unlimited.
	UsesAllowed *int64
	Pending     int64
	Completed   int64
	// ExpiryTime is the Unix-millisecond time after which the token is
	// invalid; nil for never.
	ExpiryTime *int64
}

// Usable reports whether the token allows one more registration at now
// (Unix ms): not expired, and uses left after pending ones.
func (t RegistrationToken) Usable(now int64) bool {
	if t.ExpiryTime != nil && *t.ExpiryTime <= now {
		return false
	}
	return t.UsesAllowed == nil || t.Pending+t.Completed < *t.UsesAllowed
}

// NewRegistration is everything a completed registration writes, in one
// transaction.
type NewRegistration struct {
	Account Account
	// UIASession, when not "", is the completed session that authorized the
	// registration: it is deleted, and the registration token it holds (if
	// any) moves from pending to completed.
	UIASession string
	// Device and Session log the new account in; both nil for no login.
	Device  *Device
	Session *Session
}

// AccountAdmin holds the account operations beyond the basics: one-query
// token lookup, device activity, password changes and registrations.
//
// Error contract as for Accounts.
type AccountAdmin interface {
	// LookupToken returns the session of an access token hash with its
	// account flags and its device's last activity.
	LookupToken(ctx context.Context, tokenHash []byte) (TokenOwner, error)
	// TouchDevice records the device's last activity.
	TouchDevice(ctx context.Context, localpart, deviceID, ip string, ts int64) error
	// ChangePassword replaces the password hash. With logoutOthers it also,
	// in the same transaction, deletes every device of the account except
	// keepDeviceID (with its pushers) and every session except
	// keepTokenHash.
	ChangePassword(ctx context.Context, localpart, hash string, logoutOthers bool, keepDeviceID string, keepTokenHash []byte) error
	// CreateRegistration creates the account, consumes the UIA session and
	// its registration token, and stores the device and session, all or
	// nothing. ErrConflict if the localpart is taken; ErrNotFound if the
	// UIA session is already gone (e.g. used by a concurrent request).
	CreateRegistration(ctx context.Context, r NewRegistration) error
}

// UIASessions stores user-interactive authentication sessions, and the
// registration tokens and shared-secret registration nonces they use.
// Several processes share them through the database.
//
// Error contract: absent or expired records are ErrNotFound; creating one
// that exists is ErrConflict. Other errors are storage failures.
type UIASessions interface {
	// CreateUIASession stores a new session. In the same transaction it
	// deletes sessions expired at now, releasing the token uses they held.
	CreateUIASession(ctx context.Context, s UIASession, now int64) error
	// UIASession returns a session that has not expired at now.
	UIASession(ctx context.Context, id string, now int64) (UIASession, error)
	// CompleteUIAStage appends stage to the session's completed stages.
	CompleteUIAStage(ctx context.Context, id, stage string, now int64) error
	// ReserveRegistrationToken atomically takes one use of token (counted
	// as pending) for the session, which must hold none yet, and appends
	// stage to its completed stages, after deleting the sessions expired at
	// now (releasing their uses). ErrConflict if the token is unknown,
	// expired or used up (nothing changes); ErrNotFound if the session is
	// gone or already holds a token.
	ReserveRegistrationToken(ctx context.Context, id, stage, token string, now int64) error
	// DeleteUIASession deletes a session, releasing the token use it held.
	// Deleting an absent session is not an error.
	DeleteUIASession(ctx context.Context, id string) error

	// CreateRegistrationToken stores a new token; ErrConflict if it exists.
	CreateRegistrationToken(ctx context.Context, t RegistrationToken) error
	// RegistrationToken returns one token.
	RegistrationToken(ctx context.Context, token string) (RegistrationToken, error)
	// RegistrationTokens returns every token, ordered by token.
	RegistrationTokens(ctx context.Context) ([]RegistrationToken, error)

	// CreateNonce stores a single-use shared-secret registration nonce that
	// expires at expiresTS, and deletes nonces expired at now.
	CreateNonce(ctx context.Context, nonce string, expiresTS, now int64) error
	// ConsumeNonce deletes the nonce; ErrNotFound if it is unknown, already
	// used or expired at now.
	ConsumeNonce(ctx context.Context, nonce string, now int64) error
}
