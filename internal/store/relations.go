package store

import "context"

// Relation is an event's relationship to its parent: content.m.relates_to
// with a rel_type and an event_id, both non-empty strings.
type Relation struct {
	RelType  string
	TargetID string
}

// RelationsQuery selects the children of a parent event for
// RelatedEvents.
type RelationsQuery struct {
	RoomNID  int64
	TargetID string
	// RelType and EventType, when not "", select children with that
	// rel_type and event type, at every depth.
	RelType, EventType string
	// Depth is how many relationship levels to follow: 1 for direct
	// children only.
	Depth int
	// After and UpTo bound the children's events stream positions:
	// After < pos <= UpTo (UpTo 0: no upper bound).
	After, UpTo int64
	// Forward orders oldest first; otherwise newest first.
	Forward bool
	Limit   int
}

// ThreadsQuery selects thread roots of a room for ThreadRoots.
type ThreadsQuery struct {
	RoomNID int64
	// Participant, when not "", selects threads this user sent the root
	// of or a reply in.
	Participant string
	// UpTo bounds the position of each thread's latest reply (0: no bound);
	// threads come newest latest reply first.
	UpTo  int64
	Limit int
}

// ThreadRoot is a thread root and the stream position of its latest reply.
type ThreadRoot struct {
	RootNID   int64
	LatestPos int64
}

// ThreadSummary is the m.thread aggregation data of a thread root.
type ThreadSummary struct {
	RootID string
	// Count is the number of replies; LatestNID the newest reply.
	Count     int
	LatestNID int64
	// Participated: the user asked about sent a reply.
	Participated bool
}

// RelationChild is one child of a parent.
type RelationChild struct {
	TargetID string
	EventNID int64
	EventID  string
}

// Relations reads the relationships between events. Only children in the
// room of their parent count, and never a redacted child.
type Relations interface {
	// RelatedEvents returns the children of q.TargetID in q.RoomNID that q
	// selects, following q.Depth levels (a child of a child is selected at
	// the next level; the filters apply at every level), in stream order.
	RelatedEvents(ctx context.Context, q RelationsQuery) ([]Event, error)
	// ThreadRoots returns the roots of threads (events with m.thread
	// children) of a room, newest latest reply first, at most q.Limit.
	ThreadRoots(ctx context.Context, q ThreadsQuery) ([]ThreadRoot, error)
	// ThreadSummaries returns the thread summaries of the given events
	// that have m.thread children, keyed by root event ID; Participated
	// is about user.
	ThreadSummaries(ctx context.Context, eventIDs []string, user string) (map[string]ThreadSummary, error)
	// RelationChildren returns the children of the given events with the
	// given rel_type, oldest first.
	RelationChildren(ctx context.Context, eventIDs []string, relType string) ([]RelationChild, error)
}
