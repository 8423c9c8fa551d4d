package store

import "context"

// SearchText is a searchable text of an event: the key it comes from
// (content.body, content.name, content.topic) and its value, lower-cased.
type SearchText struct {
	Key   string
	Value string
}

// SearchQuery selects events for Search.
type SearchQuery struct {
	// Rooms are the rooms searched; Bounds limits some of them to events
	// at or below a stream position (a room the user left).
	Rooms  []int64
	Bounds map[int64]int64
	// Keys are the searched keys (nil: all).
	Keys []string
	// Words must each occur in the searched value (lower-cased, matched as
	// substrings). No words match nothing.
	Words []string
	// Types and NotTypes select event types; '*' matches any run of
	// characters. Senders and NotSenders select senders exactly.
	Types, NotTypes, Senders, NotSenders []string
	// Before, when positive, selects events at or below that position.
	Before int64
	// Limit bounds the events returned (not the count).
	Limit int
}

// Search reads the search index.
//
// Error contract: only storage failures.
type Search interface {
	// SearchEvents returns the events q selects, most recent first, and
	// how many events q selects in all (ignoring Before and Limit).
	// Redacted events are never selected.
	SearchEvents(ctx context.Context, q SearchQuery) ([]Event, int, error)
}
