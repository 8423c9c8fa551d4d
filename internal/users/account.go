package users

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// PasswordChange is a POST /account/password request.
type PasswordChange struct {
	// NewPassword is required once authentication is complete; it is
	// checked against the policy before authentication when given.
	NewPassword string
	// LogoutDevices ends every other session and deletes every other
	// device of the account (the spec's default is true).
	LogoutDevices bool
	Auth          *AuthDict
}

// ChangePassword changes the caller's password after the caller confirms
// it with their current password (user-interactive auth). The caller's
// own session stays. Errors: M_WEAK_PASSWORD, M_MISSING_PARAM,
// *AuthRequired.
func (s *Service) ChangePassword(ctx context.Context, c Caller, req PasswordChange) error {
	if req.NewPassword != "" {
		if err := checkPasswordPolicy(req.NewPassword); err != nil {
			return err
		}
	}
	localpart := c.UserID.Localpart()
	flows, err := s.passwordFlows(ctx, localpart)
	if err != nil {
		return err
	}
	sess, err := s.authorize(ctx, uiaOp{purpose: "account/password", localpart: localpart, flows: flows}, req.Auth)
	if err != nil {
		return err
	}
	if req.NewPassword == "" {
		return spec.MissingParam("new_password is required")
	}
	hash, err := s.hashPassword(req.NewPassword)
	if err != nil {
		return err
	}
	err = s.store.ChangePassword(ctx, localpart, hash, req.LogoutDevices, c.DeviceID, c.TokenHash)
	if errors.Is(err, store.ErrNotFound) {
		return spec.UnknownToken()
	}
	if err != nil {
		return fmt.Errorf("changing password: %w", err)
	}
	if req.LogoutDevices {
		s.devicesDeleted(ctx, localpart)
	}
	s.endUIASession(ctx, sess)
	return nil
}

// Deactivate deactivates the caller's account after user-interactive auth:
// the account can no longer log in, its name stays reserved, and all its
// devices and sessions are deleted in one transaction. Errors:
// *AuthRequired.
//
// Before the account is deactivated, it leaves every room through the
// RoomLeaver (when set); if that fails the account stays active and the
// request can be retried.
func (s *Service) Deactivate(ctx context.Context, c Caller, auth *AuthDict) error {
	localpart := c.UserID.Localpart()
	flows, err := s.passwordFlows(ctx, localpart)
	if err != nil {
		return err
	}
	sess, err := s.authorize(ctx, uiaOp{purpose: "account/deactivate", localpart: localpart, flows: flows}, auth)
	if err != nil {
		return err
	}
	if s.opts.RoomLeaver != nil {
		if err := s.opts.RoomLeaver.LeaveAllRooms(ctx, c.UserID); err != nil {
			return fmt.Errorf("leaving rooms before deactivation: %w", err)
		}
	}
	if err := s.store.DeactivateAccount(ctx, localpart); err != nil {
		return fmt.Errorf("deactivating account: %w", err)
	}
	s.devicesDeleted(ctx, localpart)
	s.endUIASession(ctx, sess)
	return nil
}

// Device is a device as its owner sees it.
type Device struct {
	ID          string
	DisplayName string
	LastSeenIP  string
	LastSeenTS  int64
}

func deviceOf(d store.Device) Device {
	return Device{ID: d.DeviceID, DisplayName: d.DisplayName, LastSeenIP: d.LastSeenIP, LastSeenTS: d.LastSeenTS}
}

// Devices lists the caller's devices.
func (s *Service) Devices(ctx context.Context, c Caller) ([]Device, error) {
	devs, err := s.store.Devices(ctx, c.UserID.Localpart())
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	out := make([]Device, len(devs))
	for i, d := range devs {
		out[i] = deviceOf(d)
	}
	return out, nil
}

// Device returns one of the caller's devices; 404 M_NOT_FOUND if the caller
// has no such device.
func (s *Service) Device(ctx context.Context, c Caller, id string) (Device, error) {
	d, err := s.store.Device(ctx, c.UserID.Localpart(), id)
	if errors.Is(err, store.ErrNotFound) {
		return Device{}, spec.NotFound("no such device")
	}
	if err != nil {
		return Device{}, fmt.Errorf("reading device: %w", err)
	}
	return deviceOf(d), nil
}

// MaxDeviceDisplayNameBytes bounds device display names.
const MaxDeviceDisplayNameBytes = 1000

// RenameDevice sets the display name of one of the caller's devices; 404
// M_NOT_FOUND if the caller has no such device (only application services
// may create devices this way, and they are not supported yet).
func (s *Service) RenameDevice(ctx context.Context, c Caller, id, name string) error {
	if len(name) > MaxDeviceDisplayNameBytes {
		return spec.InvalidParam("display_name longer than %d bytes", MaxDeviceDisplayNameBytes)
	}
	err := s.store.SetDeviceDisplayName(ctx, c.UserID.Localpart(), id, name)
	if errors.Is(err, store.ErrNotFound) {
		return spec.NotFound("no such device")
	}
	if err != nil {
		return fmt.Errorf("renaming device: %w", err)
	}
	return nil
}

// MaxDevicesPerDelete bounds one POST /delete_devices.
const MaxDevicesPerDelete = 1000

// DeleteDevices deletes some of the caller's devices and ends their
// sessions, after user-interactive auth bound to exactly these device IDs.
// Unknown IDs are ignored (the spec: "or had been removed previously").
// Errors: M_INVALID_PARAM for too many IDs, *AuthRequired.
func (s *Service) DeleteDevices(ctx context.Context, c Caller, ids []string, auth *AuthDict) error {
	if len(ids) > MaxDevicesPerDelete {
		// NOTSPEC: the spec sets no bound; one request deletes at most 1000.
		return spec.InvalidParam("at most %d devices per request", MaxDevicesPerDelete)
	}
	localpart := c.UserID.Localpart()
	flows, err := s.passwordFlows(ctx, localpart)
	if err != nil {
		return err
	}
	binding := slices.Clone(ids)
	slices.Sort(binding)
	binding = slices.Compact(binding)
	sess, err := s.authorize(ctx, uiaOp{purpose: "delete_devices", localpart: localpart, binding: binding, flows: flows}, auth)
	if err != nil {
		return err
	}
	if err := s.store.DeleteDevices(ctx, localpart, binding); err != nil {
		return fmt.Errorf("deleting devices: %w", err)
	}
	s.devicesDeleted(ctx, localpart)
	s.endUIASession(ctx, sess)
	return nil
}
