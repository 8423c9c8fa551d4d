package store

import (
	"context"
	"encoding/json"
)

// AccountDataRecord is one piece of a user's account data: global when
// RoomID is "", else scoped to that room.
type AccountDataRecord struct {
	Localpart string
	RoomID    string
	Type      string
	// Content is a JSON object.
	Content json.RawMessage
	// Position is the account-data stream position of the last change.
	Position int64
}

// AccountData stores global and per-room account data. Every change takes
// the next position of the account-data stream in the same transaction, so
// a reader can ask for "what changed after position N".
//
// Error contract: lookups of absent records return ErrNotFound; errors
// returned by an update function are returned as they are, with nothing
// written. Other errors are storage failures.
type AccountData interface {
	// AccountData returns one record.
	AccountData(ctx context.Context, localpart, roomID, typ string) (AccountDataRecord, error)
	// UpdateAccountData runs update on the current content (nil if absent)
	// and stores what it returns, with a new stream position, which it
	// returns. The transaction holds the account-data stream until commit,
	// so update always sees the latest content and concurrent updates are
	// applied one after the other. When update returns nil content and no
	// error, nothing is written and the position returned is 0.
	UpdateAccountData(ctx context.Context, localpart, roomID, typ string,
		update func(current json.RawMessage) (json.RawMessage, error)) (int64, error)
	// AccountDataSince returns the user's records whose position is in
	// (after, upTo], ordered by position: the current content of every type
	// that changed in that range. Pass the stream's current position as upTo.
	AccountDataSince(ctx context.Context, localpart string, after, upTo int64) ([]AccountDataRecord, error)
	// AccountDataPosition returns the account-data stream's last committed
	// position (0 before the first change): every change at or below it is
	// visible to reads.
	AccountDataPosition(ctx context.Context) (int64, error)
}
