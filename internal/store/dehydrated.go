package store

import "context"

// DehydratedDevice is an account's dehydrated device (MSC3814): a device
// without a session whose private keys the client stored, encrypted, in
// DeviceData, so that a later login can rehydrate it and read the
// to-device messages sent to it meanwhile.
type DehydratedDevice struct {
	Localpart string
	DeviceID  string
	// DeviceData is the client's opaque device_data object, as canonical
	// JSON.
	DeviceData []byte
}

// DehydratedDevices stores each account's dehydrated device. The device
// itself is a row of the devices table (store.Accounts), so that its keys
// are served and to-device messages reach it like any device's.
//
// Error contract: absent records are ErrNotFound; PutDehydratedDevice
// returns ErrConflict as documented. Other errors are storage failures.
type DehydratedDevices interface {
	// PutDehydratedDevice creates the device d.DeviceID with displayName
	// and records it as the account's dehydrated device, in one
	// transaction. ErrConflict (nothing changes) if the device ID names an
	// existing device or the account's dehydrated device still exists:
	// delete that one first.
	PutDehydratedDevice(ctx context.Context, d DehydratedDevice, displayName string) error
	// DehydratedDevice returns the account's dehydrated device;
	// ErrNotFound if it has none or its device was deleted (e.g. by
	// /delete_devices or /logout/all).
	DehydratedDevice(ctx context.Context, localpart string) (DehydratedDevice, error)
	// DeleteDehydratedDevice forgets the account's dehydrated device and
	// deletes its device row, in one transaction, and returns its device
	// ID; ErrNotFound if it has none or its device was deleted already
	// (the stale record is forgotten then too). The device's keys and
	// inbox are left for E2EEKeys.PruneDevices.
	DeleteDehydratedDevice(ctx context.Context, localpart string) (string, error)
}
