package users

import (
	"context"
	"slices"

	"myelin/internal/spec"
)

// DeviceHook is told after devices of an account were deleted (by
// DeleteDevices, LogoutAll, ChangePassword with logout, or Deactivate), so
// that what other services keep per device goes with it: the E2EE
// service's DevicesDeleted deletes the devices' keys and to-device inboxes
// and announces the change. It must handle every device of the user that
// no longer exists, so that a call after a failed one catches up.
type DeviceHook interface {
	DevicesDeleted(ctx context.Context, user spec.UserID) error
}

// DeviceIDChecker vets a device ID a client chose for a new session of
// user. The E2EE service implements it: a device ID must not be one of the
// user's cross-signing public keys (403 M_FORBIDDEN). Errors other than a
// *spec.Error are failures to check.
type DeviceIDChecker interface {
	CheckDeviceID(ctx context.Context, user spec.UserID, deviceID string) error
}

// devicesDeleted calls the device hook for an account whose devices were
// deleted. The deletion is committed already, so a hook failure is logged,
// not returned.
func (s *Service) devicesDeleted(ctx context.Context, localpart string) {
	if s.opts.DeviceHook == nil {
		return
	}
	uid, err := s.UserID(localpart)
	if err != nil {
		return
	}
	if err := s.opts.DeviceHook.DevicesDeleted(context.WithoutCancel(ctx), uid); err != nil {
		s.log.ErrorContext(ctx, "device hook failed", "user", uid.String(), "err", err)
	}
}

// AuthorizeCaller runs one round of user-interactive authentication that
// confirms the caller's identity (their password, or m.login.dummy for an
// account created without one) for an operation of another service:
// purpose names the operation and binding holds the non-secret request
// parameters the session is bound to. When a flow is complete it returns
// done, to call once the operation succeeded (it ends the session).
// Errors: *AuthRequired while authentication is incomplete, or a
// *spec.Error (e.g. 403 when the password stage names another user).
func (s *Service) AuthorizeCaller(ctx context.Context, c Caller, purpose string, binding []string, auth *AuthDict) (done func(), err error) {
	localpart := c.UserID.Localpart()
	flows, err := s.passwordFlows(ctx, localpart)
	if err != nil {
		return nil, err
	}
	binding = slices.Clone(binding)
	slices.Sort(binding)
	sess, err := s.authorize(ctx, uiaOp{purpose: purpose, localpart: localpart, binding: binding, flows: flows}, auth)
	if err != nil {
		return nil, err
	}
	return func() { s.endUIASession(context.WithoutCancel(ctx), sess) }, nil
}

// RoomLeaver makes an account leave all its rooms; the room engine
// implements it. Deactivation calls it before deactivating.
type RoomLeaver interface {
	LeaveAllRooms(ctx context.Context, user spec.UserID) error
}
