package store

import "context"

// ServerNotices records each user's server notices room.
//
// Error contract: ServerNoticeRoom of a user without one returns
// ErrNotFound; other errors are storage failures.
type ServerNotices interface {
	// ServerNoticeRoom returns the user's server notices room.
	ServerNoticeRoom(ctx context.Context, localpart string) (string, error)
	// SetServerNoticeRoom records roomID as the user's server notices room
	// unless one is recorded, and returns the recorded room.
	SetServerNoticeRoom(ctx context.Context, localpart, roomID string) (string, error)
}
