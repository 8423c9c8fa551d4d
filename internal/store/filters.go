package store

import (
	"context"
	"encoding/json"
)

// Filters stores users' sync filters as JSON objects.
//
// Error contract: Filter of an absent ID, or of another user's filter,
// returns ErrNotFound. Other errors are storage failures.
type Filters interface {
	// CreateFilter stores a filter and returns its ID, a positive integer.
	// Storing a filter identical to one the user already has returns that
	// filter's ID.
	CreateFilter(ctx context.Context, localpart string, content json.RawMessage) (int64, error)
	// Filter returns the content of one of the user's filters.
	Filter(ctx context.Context, localpart string, id int64) (json.RawMessage, error)
}
