package store

import "context"

// Presence states.
const (
	PresenceOnline      = "online"
	PresenceUnavailable = "unavailable"
	PresenceOffline     = "offline"
)

// PresenceRecord is a local user's presence as last set.
type PresenceRecord struct {
	Localpart string
	// State is PresenceOnline, PresenceUnavailable or PresenceOffline.
	State string
	// StatusMsg is "" when none is set.
	StatusMsg string
	// LastActiveTS is the Unix time in milliseconds of the last activity.
	LastActiveTS int64
	// Position is the presence-stream position of the last change
	// (including changes of the user's display name or avatar URL).
	Position int64
}

// Presence stores local users' presence. Every change takes the next
// position of the presence stream in the same transaction.
//
// Error contract: errors are storage failures; a user without presence is
// simply absent from results.
type Presence interface {
	// SetPresence stores p (its Position is ignored) and returns the new
	// stream position.
	SetPresence(ctx context.Context, p PresenceRecord) (int64, error)
	// PresenceOf returns the stored presence of the given localparts, in no
	// particular order.
	PresenceOf(ctx context.Context, localparts []string) ([]PresenceRecord, error)
	// PresenceSince returns the presence of every user whose position is in
	// (after, upTo], ordered by position.
	PresenceSince(ctx context.Context, after, upTo int64) ([]PresenceRecord, error)
	// PresencePosition returns the presence stream's last committed
	// position (0 before the first change).
	PresencePosition(ctx context.Context) (int64, error)
}
