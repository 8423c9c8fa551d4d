package e2ee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// BackupInfo describes a key backup version (GET /room_keys/version).
type BackupInfo struct {
	Algorithm string          `json:"algorithm"`
	AuthData  json.RawMessage `json:"auth_data"`
	Count     int64           `json:"count"`
	ETag      string          `json:"etag"`
	Version   string          `json:"version"`
}

// BackupKey is the key data of one megolm session in a backup.
type BackupKey struct {
	FirstMessageIndex int64           `json:"first_message_index"`
	ForwardedCount    int64           `json:"forwarded_count"`
	IsVerified        bool            `json:"is_verified"`
	SessionData       json.RawMessage `json:"session_data"`
}

// BackupUpdate is the answer of the key-storing and key-deleting
// endpoints: the version's etag and key count after the change.
type BackupUpdate struct {
	ETag  string `json:"etag"`
	Count int64  `json:"count"`
}

func errUnknownVersion() *spec.Error { return spec.NotFound("unknown backup version") }

// parseVersion parses a version from a request; anything that is not a
// version this server could have made is unknown (0, false).
func parseVersion(v string) (int64, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0 && strconv.FormatInt(n, 10) == v
}

func infoOf(b store.BackupVersion) BackupInfo {
	return BackupInfo{Algorithm: b.Algorithm, AuthData: b.AuthData, Count: b.Count,
		ETag: strconv.FormatInt(b.ETag, 10), Version: strconv.FormatInt(b.Version, 10)}
}

// checkAuthData checks the algorithm and auth_data of a backup version and
// returns auth_data in canonical form.
//
// NOTSPEC: any algorithm name is accepted (the spec lists one); the server
// does not use the data, and clients and Complement use others.
func checkAuthData(algorithm string, authData json.RawMessage) ([]byte, error) {
	if err := checkID(algorithm, "algorithm"); err != nil {
		return nil, err
	}
	o, err := parseObject(authData, "auth_data")
	if err != nil {
		return nil, err
	}
	return o.canonical()
}

// CreateBackup creates a new backup version for user, which becomes the
// current one, and returns its version. Errors: 400 M_BAD_JSON when
// auth_data is not an object, 400 M_INVALID_PARAM for an empty algorithm.
func (s *Service) CreateBackup(ctx context.Context, user spec.UserID, algorithm string, authData json.RawMessage) (string, error) {
	data, err := checkAuthData(algorithm, authData)
	if err != nil {
		return "", err
	}
	v, err := s.store.CreateBackupVersion(ctx, user.String(), algorithm, data)
	if err != nil {
		return "", fmt.Errorf("creating backup version: %w", err)
	}
	return strconv.FormatInt(v, 10), nil
}

// Backup returns a backup version of user, or the current one when
// version is "". 404 M_NOT_FOUND if there is none.
func (s *Service) Backup(ctx context.Context, user spec.UserID, version string) (BackupInfo, error) {
	var v int64
	if version != "" {
		var ok bool
		if v, ok = parseVersion(version); !ok {
			return BackupInfo{}, errUnknownVersion()
		}
	}
	b, err := s.store.BackupVersion(ctx, user.String(), v)
	if errors.Is(err, store.ErrNotFound) {
		if version == "" {
			return BackupInfo{}, spec.NotFound("no current backup version")
		}
		return BackupInfo{}, errUnknownVersion()
	}
	if err != nil {
		return BackupInfo{}, fmt.Errorf("reading backup version: %w", err)
	}
	return infoOf(b), nil
}

// UpdateBackup replaces the auth_data of a backup version. The algorithm
// must be the version's (400 M_INVALID_PARAM), and bodyVersion, when not
// "", the version of the path (400 M_INVALID_PARAM). 404 M_NOT_FOUND for
// an unknown or deleted version.
func (s *Service) UpdateBackup(ctx context.Context, user spec.UserID, version, bodyVersion, algorithm string, authData json.RawMessage) error {
	data, err := checkAuthData(algorithm, authData)
	if err != nil {
		return err
	}
	if bodyVersion != "" && bodyVersion != version {
		return spec.InvalidParam("the version in the body is not the version of the path")
	}
	cur, err := s.Backup(ctx, user, version)
	if err != nil {
		return err
	}
	if cur.Algorithm != algorithm {
		return spec.InvalidParam("the algorithm of a backup version cannot change")
	}
	v, _ := parseVersion(version)
	err = s.store.UpdateBackupVersion(ctx, user.String(), v, data)
	if errors.Is(err, store.ErrNotFound) {
		return errUnknownVersion()
	}
	if err != nil {
		return fmt.Errorf("updating backup version: %w", err)
	}
	return nil
}

// DeleteBackup deletes a backup version and its keys. Deleting a version
// deleted before succeeds; one that never existed is 404 M_NOT_FOUND.
func (s *Service) DeleteBackup(ctx context.Context, user spec.UserID, version string) error {
	v, ok := parseVersion(version)
	if !ok {
		return errUnknownVersion()
	}
	err := s.store.DeleteBackupVersion(ctx, user.String(), v)
	if errors.Is(err, store.ErrNotFound) {
		return errUnknownVersion()
	}
	if err != nil {
		return fmt.Errorf("deleting backup version: %w", err)
	}
	return nil
}

// RoomKeys are backed-up keys by room ID and session ID.
type RoomKeys map[string]map[string]BackupKey

// PutBackupKeys stores keys in user's backup version, which must be the
// current one: else 403 M_WRONG_ROOM_KEYS_VERSION with current_version
// (404 M_NOT_FOUND when there is no current version). A key for a session
// already backed up replaces it only if it is better by the spec's rules
// (verified first, then the lower first_message_index, then the lower
// forwarded_count). Keys with a negative index or count are 400
// M_INVALID_PARAM, session data that is not an object 400 M_BAD_JSON.
func (s *Service) PutBackupKeys(ctx context.Context, user spec.UserID, version string, keys RoomKeys) (BackupUpdate, error) {
	var list []store.BackupKey
	for room, sessions := range keys {
		if err := checkID(room, "room ID"); err != nil {
			return BackupUpdate{}, err
		}
		for session, k := range sessions {
			if err := checkID(session, "session ID"); err != nil {
				return BackupUpdate{}, err
			}
			if k.FirstMessageIndex < 0 || k.ForwardedCount < 0 {
				return BackupUpdate{}, spec.InvalidParam("first_message_index and forwarded_count must not be negative")
			}
			o, err := parseObject(k.SessionData, "session_data")
			if err != nil {
				return BackupUpdate{}, err
			}
			data, err := o.canonical()
			if err != nil {
				return BackupUpdate{}, err
			}
			list = append(list, store.BackupKey{RoomID: room, SessionID: session, FirstMessageIndex: k.FirstMessageIndex,
				ForwardedCount: k.ForwardedCount, IsVerified: k.IsVerified, SessionData: data})
		}
	}
	v, ok := parseVersion(version)
	if !ok {
		v = -1
	}
	b, err := s.store.PutBackupKeys(ctx, user.String(), v, list)
	if errors.Is(err, store.ErrNotFound) {
		return BackupUpdate{}, errUnknownVersion()
	}
	if errors.Is(err, store.ErrConflict) {
		cur, err := s.store.BackupVersion(ctx, user.String(), 0)
		if errors.Is(err, store.ErrNotFound) {
			return BackupUpdate{}, errUnknownVersion()
		}
		if err != nil {
			return BackupUpdate{}, fmt.Errorf("reading backup version: %w", err)
		}
		return BackupUpdate{}, spec.NewError(403, spec.ErrWrongRoomKeysVersion, "version %s is not the current backup version", truncate(version, 40)).
			With("current_version", strconv.FormatInt(cur.Version, 10))
	}
	if err != nil {
		return BackupUpdate{}, fmt.Errorf("storing backup keys: %w", err)
	}
	return BackupUpdate{ETag: strconv.FormatInt(b.ETag, 10), Count: b.Count}, nil
}

// BackupKeys returns the keys of a backup version: all of them (roomID
// ""), a room's (sessionID ""), or one session's. 404 M_NOT_FOUND for an
// unknown version.
func (s *Service) BackupKeys(ctx context.Context, user spec.UserID, version, roomID, sessionID string) (RoomKeys, error) {
	v, ok := parseVersion(version)
	if !ok {
		return nil, errUnknownVersion()
	}
	keys, err := s.store.BackupKeys(ctx, user.String(), v, roomID, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnknownVersion()
	}
	if err != nil {
		return nil, fmt.Errorf("reading backup keys: %w", err)
	}
	out := RoomKeys{}
	for _, k := range keys {
		if out[k.RoomID] == nil {
			out[k.RoomID] = map[string]BackupKey{}
		}
		out[k.RoomID][k.SessionID] = BackupKey{FirstMessageIndex: k.FirstMessageIndex, ForwardedCount: k.ForwardedCount,
			IsVerified: k.IsVerified, SessionData: k.SessionData}
	}
	return out, nil
}

// DeleteBackupKeys deletes keys of a backup version, selected as for
// BackupKeys. 404 M_NOT_FOUND for an unknown version.
func (s *Service) DeleteBackupKeys(ctx context.Context, user spec.UserID, version, roomID, sessionID string) (BackupUpdate, error) {
	v, ok := parseVersion(version)
	if !ok {
		return BackupUpdate{}, errUnknownVersion()
	}
	b, err := s.store.DeleteBackupKeys(ctx, user.String(), v, roomID, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return BackupUpdate{}, errUnknownVersion()
	}
	if err != nil {
		return BackupUpdate{}, fmt.Errorf("deleting backup keys: %w", err)
	}
	return BackupUpdate{ETag: strconv.FormatInt(b.ETag, 10), Count: b.Count}, nil
}
