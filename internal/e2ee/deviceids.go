package e2ee

import (
	"context"
	"fmt"

	"myelin/internal/spec"
)

// CheckDeviceID refuses a device ID a client asks for at login when it is
// one of user's cross-signing public keys: verification treats the master
// key's public key as a device ID, so "servers therefore must ensure that
// device IDs will not collide with cross-signing public keys" (client-server
// API, "Cross-signing"), and POST /login answers such a device_id with 403
// M_FORBIDDEN. UploadCrossSigningKeys checks the other direction.
//
// Errors: 403 M_FORBIDDEN (*spec.Error), or a storage failure.
func (s *Service) CheckDeviceID(ctx context.Context, user spec.UserID, deviceID string) error {
	keys, err := s.store.CrossSigningKeys(ctx, []string{user.String()})
	if err != nil {
		return fmt.Errorf("reading cross-signing keys: %w", err)
	}
	for _, k := range keys {
		if k.PublicKey == deviceID {
			return spec.Forbidden("the device ID is the public key of your %s cross-signing key", k.Usage)
		}
	}
	return nil
}
