// Package profile manages local users' profiles (display name, avatar URL,
// m.tz and custom namespaced fields, spec v1.16+) and the user directory
// search over them.
//
// Changes of the display name or avatar URL are reported to Hooks, which
// the server wires to the room engine so it can send the new m.room.member
// events ("Events on Change of Profile Information"); this package builds
// no room logic. The store moves the user's presence to a new position of
// the presence stream in the same transaction, since m.presence events
// carry both fields.
package profile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"unicode/utf8"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Profile field names with rules of their own.
const (
	FieldDisplayName = "displayname"
	FieldAvatarURL   = "avatar_url"
	FieldTimeZone    = "m.tz"
)

// Limits. The specification requires the whole profile to stay under 64
// KiB and keys to be at most 255 bytes; the display name and avatar URL
// limits are Synapse's, which clients already live with.
const (
	MaxProfileBytes     = 64 * 1024
	MaxKeyBytes         = 255
	MaxDisplayNameRunes = 256
	MaxAvatarURLBytes   = 1000
)

// Error codes of the profile API that package spec does not list.
const (
	ErrProfileTooLarge spec.ErrCode = "M_PROFILE_TOO_LARGE"
	ErrKeyTooLarge     spec.ErrCode = "M_KEY_TOO_LARGE"
)

// keyPattern is keyName's pattern in profile.yaml.
var keyPattern = regexp.MustCompile(`^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$`)

// Hook is told about changes of a user's display name or avatar URL, after
// they are stored. "" means unset.
type Hook interface {
	ProfileChanged(ctx context.Context, user spec.UserID, displayName, avatarURL string) error
}

// Store is what the service needs of storage.
type Store interface {
	store.Profiles
	store.UserDirectoryRooms
	Account(ctx context.Context, localpart string) (store.Account, error)
}

// Options configures the service.
type Options struct {
	ServerName spec.ServerName
	// Hooks are called, in order, after a display name or avatar URL change.
	// A hook's error is logged; the change stays.
	Hooks []Hook
	// Notifier, if set, is told of the presence-stream position a display
	// name or avatar URL change takes.
	Notifier Notifier
	Logger   *slog.Logger
}

// PresenceStream is the name of the presence stream (as in package
// sqlstore), which display name and avatar URL changes move.
const PresenceStream = "presence"

// Notifier wakes readers of a stream when a position is committed
// (package notify's Notifier).
type Notifier interface {
	Notify(stream string, pos int64)
}

// Service is the profile service.
type Service struct {
	opts  Options
	store Store
}

// New returns the service over st.
func New(opts Options, st Store) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts, store: st}
}

// CheckKey validates a profile key from a path. Errors: 400 M_KEY_TOO_LARGE,
// 400 M_INVALID_PARAM.
func CheckKey(key string) error {
	if len(key) > MaxKeyBytes {
		return spec.NewError(400, ErrKeyTooLarge, "profile keys are at most %d bytes", MaxKeyBytes)
	}
	if !keyPattern.MatchString(key) {
		return spec.InvalidParam("invalid profile key %q", key)
	}
	return nil
}

// local resolves a user ID from a path to a local account's localpart.
// Errors: 400 M_INVALID_PARAM for a malformed ID; 404 M_NOT_FOUND for an
// unknown or remote user.
func (s *Service) local(ctx context.Context, userID string) (string, error) {
	uid, err := spec.ParseHistoricalUserID(userID)
	if err != nil {
		return "", spec.InvalidParam("invalid user ID")
	}
	if uid.Domain() != s.opts.ServerName {
		// NOTSPEC: the specification says to query the remote server;
		// federation is not built yet, so remote profiles are not found.
		return "", spec.NotFound("profile not found")
	}
	if _, err := s.store.Account(ctx, uid.Localpart()); errors.Is(err, store.ErrNotFound) {
		return "", spec.NotFound("profile not found")
	} else if err != nil {
		return "", fmt.Errorf("profile: reading account: %w", err)
	}
	return uid.Localpart(), nil
}

// Fields returns a profile as a map of field to JSON value, the form GET
// /profile/{userId} answers.
func Fields(p store.Profile) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(p.Fields)+2)
	for k, v := range p.Fields {
		out[k] = v
	}
	if p.DisplayName != "" {
		out[FieldDisplayName] = jsonString(p.DisplayName)
	}
	if p.AvatarURL != "" {
		out[FieldAvatarURL] = jsonString(p.AvatarURL)
	}
	return out
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// Profile returns a user's whole profile. Errors as local.
func (s *Service) Profile(ctx context.Context, userID string) (map[string]json.RawMessage, error) {
	lp, err := s.local(ctx, userID)
	if err != nil {
		return nil, err
	}
	ps, err := s.store.Profiles(ctx, []string{lp})
	if err != nil {
		return nil, fmt.Errorf("profile: reading: %w", err)
	}
	if len(ps) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	return Fields(ps[0]), nil
}

// Field returns one field of a user's profile. Errors: as local and
// CheckKey; 404 M_NOT_FOUND for an unset field.
func (s *Service) Field(ctx context.Context, userID, key string) (json.RawMessage, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	all, err := s.Profile(ctx, userID)
	if err != nil {
		return nil, err
	}
	v, ok := all[key]
	if !ok {
		return nil, spec.NotFound("profile field not set")
	}
	return v, nil
}

// SetField sets one field of the user's own profile. value is the field's
// JSON value. displayname must be a string (empty unsets it), avatar_url an
// mxc:// URI string (empty unsets it), m.tz a string; custom fields take
// any JSON value. Errors: as CheckKey; 400 M_BAD_JSON for a value of the
// wrong type; 400 M_INVALID_PARAM for an over-long display name or avatar
// URL; 400 M_PROFILE_TOO_LARGE when the profile would reach 64 KiB.
func (s *Service) SetField(ctx context.Context, user spec.UserID, key string, value json.RawMessage) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	var str string
	switch key {
	case FieldDisplayName, FieldAvatarURL, FieldTimeZone:
		if err := json.Unmarshal(value, &str); err != nil || string(value) == "null" {
			return spec.BadJSON("%s must be a string", key)
		}
		if strings.IndexByte(str, 0) >= 0 {
			return spec.BadJSON("%s may not contain NUL characters", key)
		}
	}
	switch key {
	case FieldDisplayName:
		if utf8.RuneCountInString(str) > MaxDisplayNameRunes {
			return spec.InvalidParam("display names are at most %d characters", MaxDisplayNameRunes)
		}
	case FieldAvatarURL:
		if len(str) > MaxAvatarURLBytes {
			return spec.InvalidParam("avatar URLs are at most %d bytes", MaxAvatarURLBytes)
		}
		if str != "" && !validMXC(str) {
			return spec.BadJSON("avatar_url must be an mxc:// URI")
		}
	}
	return s.update(ctx, user, func(p *store.Profile) {
		switch key {
		case FieldDisplayName:
			p.DisplayName = str
		case FieldAvatarURL:
			p.AvatarURL = str
		default:
			if p.Fields == nil {
				p.Fields = map[string]json.RawMessage{}
			}
			p.Fields[key] = value
		}
	})
}

// DeleteField removes one field of the user's own profile; removing an
// unset field succeeds. Errors: as CheckKey.
func (s *Service) DeleteField(ctx context.Context, user spec.UserID, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	return s.update(ctx, user, func(p *store.Profile) {
		switch key {
		case FieldDisplayName:
			p.DisplayName = ""
		case FieldAvatarURL:
			p.AvatarURL = ""
		default:
			delete(p.Fields, key)
		}
	})
}

// update applies change, enforces the size limit, stores, and runs the
// hooks when the display name or avatar URL changed.
func (s *Service) update(ctx context.Context, user spec.UserID, change func(p *store.Profile)) error {
	var before store.Profile
	after, presencePos, err := s.store.UpdateProfile(ctx, user.Localpart(), func(p *store.Profile) error {
		before = *p
		change(p)
		size, err := json.Marshal(Fields(*p))
		if err != nil {
			return fmt.Errorf("profile: encoding: %w", err)
		}
		if len(size) >= MaxProfileBytes {
			return spec.NewError(400, ErrProfileTooLarge, "profiles must stay under %d bytes", MaxProfileBytes)
		}
		return nil
	})
	var se *spec.Error
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, store.ErrNotFound):
		return spec.NotFound("profile not found")
	case err != nil:
		return fmt.Errorf("profile: storing: %w", err)
	}
	if presencePos > 0 && s.opts.Notifier != nil {
		s.opts.Notifier.Notify(PresenceStream, presencePos)
	}
	if after.DisplayName != before.DisplayName || after.AvatarURL != before.AvatarURL {
		for _, h := range s.opts.Hooks {
			if err := h.ProfileChanged(ctx, user, after.DisplayName, after.AvatarURL); err != nil {
				s.opts.Logger.ErrorContext(ctx, "profile change hook failed", "user", user.String(), "err", err)
			}
		}
	}
	return nil
}

// validMXC reports whether s is mxc://<server name>/<media ID>.
func validMXC(s string) bool {
	rest, ok := strings.CutPrefix(s, "mxc://")
	if !ok {
		return false
	}
	server, media, ok := strings.Cut(rest, "/")
	if !ok || media == "" {
		return false
	}
	if _, err := spec.ParseServerName(server); err != nil {
		return false
	}
	for i := 0; i < len(media); i++ {
		c := media[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
