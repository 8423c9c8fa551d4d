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
	// devices and sessions in one transaction.
	DeactivateAccount(ctx context.Context, localpart string) error

	// UpsertDevice creates the device or, if it exists, keeps it.
	UpsertDevice(ctx context.Context, d Device) error
	// Devices returns the account's devices, by device ID.
	Devices(ctx context.Context, localpart string) ([]Device, error)
	// Device returns one device.
	Device(ctx context.Context, localpart, deviceID string) (Device, error)
	// SetDeviceDisplayName renames a device.
	SetDeviceDisplayName(ctx context.Context, localpart, deviceID, name string) error
	// DeleteDevices removes devices and their sessions.
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
