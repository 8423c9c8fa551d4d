package store

import (
	"context"
	"encoding/json"
)

// Profile is a local user's profile: the two fields that appear in
// m.room.member events, and every other field (m.tz, custom namespaced
// fields) as raw JSON values.
type Profile struct {
	Localpart string
	// DisplayName is "" when unset.
	DisplayName string
	// AvatarURL is an mxc:// URI, or "" when unset.
	AvatarURL string
	// Fields are the other fields by key, each value a JSON text. Nil or
	// empty when there are none.
	Fields map[string]json.RawMessage
}

// Profiles stores local users' profiles.
//
// Error contract: UpdateProfile of an account that does not exist returns
// ErrNotFound; errors returned by the update function are returned as they
// are, with nothing written. Other errors are storage failures.
type Profiles interface {
	// Profiles returns the profiles of the given localparts that have one,
	// in no particular order. A localpart without a stored profile (or with
	// no account) is left out.
	Profiles(ctx context.Context, localparts []string) ([]Profile, error)
	// UpdateProfile runs update on the user's current profile (empty if none
	// is stored) and stores the result, in one transaction that holds the
	// user's profile until commit, so concurrent updates never lose each
	// other's fields. When the display name or avatar URL changes, the same
	// transaction moves the user's presence row (if any) to a new position
	// of the presence stream, because m.presence events carry both fields.
	// It returns the stored profile and that presence position (0 when the
	// display name and avatar URL did not change).
	UpdateProfile(ctx context.Context, localpart string, update func(p *Profile) error) (Profile, int64, error)
	// SearchProfiles finds active (not deactivated) local accounts whose
	// localpart or lower-cased display name contains term (which the caller
	// lower-cases), at most limit of them. Accounts whose localpart or display
	// name starts with term come first, then those with a display name, then
	// by localpart. Accounts without a profile are found by localpart. A
	// non-nil scope leaves out the users it does not let the searcher find.
	SearchProfiles(ctx context.Context, term string, scope *DirectoryScope, limit int) ([]Profile, error)
}
