package store

import "context"

// EventRange selects the events of one room with stream positions in
// (After, UpTo], at most Limit of them (Limit <= 0: none).
type EventRange struct {
	RoomNID     int64
	After, UpTo int64
	Limit       int
}

// RoomSummary is what /sync reports in a room's summary: the counts of
// joined and invited members, and up to five heroes.
type RoomSummary struct {
	RoomNID         int64
	Joined, Invited int
	// Heroes are the first joined or invited members other than the
	// syncing user, ordered by the stream position of their membership
	// event; when there are none, the first left or banned ones.
	Heroes []string
}

// Sync holds the bulk reads of /sync, /messages, /context and
// timestamp_to_event. Every method answers for many rooms in a fixed number
// of queries.
//
// Error contract: absent records are left out of results; errors are
// storage failures.
type Sync interface {
	// StreamPositions returns the last committed position of every stream
	// that has one, by stream name: a reader that saw position N of a
	// stream sees every change at or below N.
	StreamPositions(ctx context.Context) (map[string]int64, error)
	// RangeEvents returns, for each range, the Limit events nearest to UpTo
	// (forward false) or to After (forward true) in that range. Events of
	// all ranges come in one slice ordered by stream position, descending
	// (forward false) or ascending (forward true). Ranges must name
	// distinct rooms.
	RangeEvents(ctx context.Context, ranges []EventRange, forward bool) ([]Event, error)
	// RoomSummaries returns the summary of each room as the given user
	// sees it (the user is never a hero).
	RoomSummaries(ctx context.Context, roomNIDs []int64, userID string) ([]RoomSummary, error)
	// SharedRoomUsers returns the users joined to at least one room userID
	// is joined to, userID included when it is joined anywhere.
	SharedRoomUsers(ctx context.Context, userID string) ([]string, error)
	// EventsByTimestamp returns up to limit events of a room with stream
	// positions at or below upTo, ordered from ts: those with origin_ts >=
	// ts in ascending (origin_ts, position) order when forward, else those
	// with origin_ts <= ts in descending order.
	EventsByTimestamp(ctx context.Context, roomNID, ts, upTo int64, forward bool, limit int) ([]Event, error)
}
