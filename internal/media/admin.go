package media

import (
	"context"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Quarantine marks a medium as quarantined by admin: it is never served
// again until Unquarantine. Local media must exist; remote media gets a
// placeholder record, so that it stays quarantined once federation fetches
// it.
func (s *Service) Quarantine(ctx context.Context, admin spec.UserID, serverName, mediaID string) error {
	return s.setQuarantine(ctx, serverName, mediaID, admin.String())
}

// Unquarantine lifts a quarantine.
func (s *Service) Unquarantine(ctx context.Context, serverName, mediaID string) error {
	return s.setQuarantine(ctx, serverName, mediaID, "")
}

func (s *Service) setQuarantine(ctx context.Context, serverName, mediaID, by string) error {
	key, err := parseKey(serverName, mediaID)
	if err != nil {
		return err
	}
	if s.isLocal(key) {
		recs, err := s.store.Media(ctx, []store.MediaKey{key})
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return errNotFound
		}
	}
	_, err = s.store.QuarantineMedia(ctx, []store.MediaKey{key}, by, !s.isLocal(key))
	return err
}

// QuarantineUploads quarantines every medium a local user uploaded and
// returns how many were newly quarantined.
func (s *Service) QuarantineUploads(ctx context.Context, admin, user spec.UserID) (int, error) {
	return s.store.QuarantineMediaByUploader(ctx, user.String(), admin.String())
}
