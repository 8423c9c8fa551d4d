package store

import (
	"context"
	"encoding/json"
)

// PublishedRoom is a room of the published room directory (visibility
// "public", see Rooms.SetRoomVisibility) with what the public room list
// shows of it.
type PublishedRoom struct {
	RoomID string
	// Version is the room version ID.
	Version string
	// JoinedMembers counts the room's members whose membership is join.
	JoinedMembers int
	// State holds the room's current state events with an empty state key
	// of the requested types (absent types are left out).
	State []PublishedState
}

// PublishedState is a current state event of a published room.
type PublishedState struct {
	Type string
	// JSON is the event as stored (not redacted).
	JSON json.RawMessage
	// Redacted reports that an accepted redaction targets the event: the
	// reader must apply the room version's redaction algorithm.
	Redacted bool
}

// Directory reads the published room directory in bulk.
//
// Error contract: errors are storage failures.
type Directory interface {
	// PublishedRooms returns every room whose directory visibility is
	// public, in no particular order, each with its joined member count and
	// its current state events of stateTypes whose state key is "".
	PublishedRooms(ctx context.Context, stateTypes []string) ([]PublishedRoom, error)
	// PublishedRoomsState returns, by room ID, the current state events of
	// stateTypes whose state key is "" of the given rooms, whatever their
	// visibility. Unknown rooms, and rooms without such events, are absent.
	PublishedRoomsState(ctx context.Context, roomIDs, stateTypes []string) (map[string][]PublishedState, error)
}
