package store

import "context"

// DirectoryScope restricts a user directory search to the users a searcher
// may find: those joined to one of the open rooms, and those (other than
// the searcher) sharing a joined room with the searcher.
type DirectoryScope struct {
	// Searcher is the full user ID of the searching user.
	Searcher string
	// Server is this server's name: local user IDs are @localpart:Server.
	Server string
	// OpenRooms are the rooms whose joined members anyone may find
	// (UserDirectoryRooms.OpenRooms).
	OpenRooms []int64
}

// UserDirectoryRooms reads the rooms that widen the user directory.
type UserDirectoryRooms interface {
	// OpenRooms returns the rooms whose current join rule is public or whose
	// current history visibility is world_readable, judged by the current
	// state events' content (a redacted event counts as absent). It reads
	// those two state events of every room.
	OpenRooms(ctx context.Context) ([]int64, error)
}
