package store

import (
	"context"

	"myelin/internal/spec"
)

// Room is a room this server knows.
type Room struct {
	// NID is the room's interned ID.
	NID int64
	// ID is the room ID.
	ID string
	// Version is the room version ID.
	Version string
	// Snapshot is the state snapshot of the room's current state (0 for
	// the empty state).
	Snapshot int64
	// Visibility is the room's visibility in the published room
	// directory: "public" or "private".
	Visibility string
	// CreatedTS is when this server created or first stored the room, in
	// Unix milliseconds.
	CreatedTS int64
}

// StateMap is a room state with interned IDs: the event NID of the state
// event for each state key NID. Snapshots are immutable: callers must not
// modify a StateMap a store returned.
type StateMap map[int64]int64

// StateKey is an interned (event type, state key) pair.
type StateKey struct {
	NID      int64
	Type     string
	StateKey string
}

// StateEntry is one entry of a room state with its key spelled out.
type StateEntry struct {
	StateKey
	EventNID int64
}

// Event is a stored event and what the store records about it.
type Event struct {
	NID     int64
	ID      string
	RoomNID int64
	// Pos is the event's position in the events stream.
	Pos   int64
	Depth int64
	Type  string
	// StateKeyNID is the interned (type, state key) of a state event, and
	// StateKey its state key; 0 and nil for message events.
	StateKeyNID int64
	StateKey    *string
	Sender      string
	OriginTS    int64
	// Membership is content.membership of an m.room.member event.
	Membership string
	// StateBefore and StateAfter are the snapshots of the room state before
	// and after the event; equal for message events.
	StateBefore, StateAfter int64
	// Replaces is the NID of the state event this one replaced in the room
	// state, 0 if none.
	Replaces int64
	// JSON is the event exactly as built or received.
	JSON []byte
	// RedactedBy is the ID of an accepted redaction of the event, "" if
	// none.
	RedactedBy string
	// TxnDevice and TxnID are the device and client transaction ID that
	// sent the event, "" for events sent without one.
	TxnDevice, TxnID string
}

// NewEvent is an event to store, with the metadata the room engine
// computed for it.
type NewEvent struct {
	ID          string
	Depth       int64
	Type        string
	StateKeyNID int64 // 0 for message events
	Sender      string
	OriginTS    int64
	Membership  string
	StateBefore int64
	// StateAfter is the snapshot after the event: StateBefore for a message
	// event. For a state event it is usually set later with SetStateAfter,
	// since the snapshot names the event's NID.
	StateAfter int64
	Replaces   int64
	JSON       []byte
	PrevIDs    []string
	AuthIDs    []string
	// Redacts is the event an accepted m.room.redaction redacts ("" for
	// other events and for redactions not (yet) accepted).
	Redacts string
	// Txn is the client transaction that sent the event, if any.
	Txn *Txn
	// Relation is the event's relationship to a parent (m.relates_to), if
	// any; it is indexed for the Relations reads.
	Relation *Relation
	// Search are the event's searchable texts, indexed for Search.
	Search []SearchText
}

// Txn identifies a client transaction: a request with a transaction ID
// that must be idempotent. Key identifies the endpoint and its path
// parameters; ID is the transaction ID itself.
type Txn struct {
	UserID   string
	DeviceID string
	Key      string
	ID       string
}

// Extremity is a forward extremity of a room.
type Extremity struct {
	EventNID   int64
	EventID    string
	Depth      int64
	StateAfter int64
}

// Membership is a user's current membership of a room.
type Membership struct {
	RoomNID    int64
	RoomID     string
	UserID     string
	Membership string
	// EventNID is the membership event; EventPos its stream position.
	EventNID  int64
	EventPos  int64
	Forgotten bool
}

// Alias is a local room alias.
type Alias struct {
	Alias   string
	RoomNID int64
	RoomID  string
	Creator string
}

// Written reports what a committed room write transaction stored.
type Written struct {
	// Positions are the stream positions of the inserted events, in
	// insertion order.
	Positions []int64
}

// RoomWriter is one write transaction on one room, holding the room's
// write lock. Reads see the transaction's own writes. Events inserted
// receive consecutive stream positions, in insertion order, when the
// transaction commits.
//
// After an error, the transaction can no longer be used (fn must return
// an error), with one exception: InsertEvent's ErrConflict for an event ID
// that is stored already.
type RoomWriter interface {
	// Room returns the room as read when the transaction started (Snapshot
	// is updated by SetCurrentState).
	Room() Room
	// Extremities returns the room's forward extremities.
	Extremities(ctx context.Context) ([]Extremity, error)
	// Snapshot returns the state of a snapshot (nid 0 is the empty state).
	Snapshot(ctx context.Context, nid int64) (StateMap, error)
	// Events returns the stored events with the given NIDs (absent ones
	// are left out).
	Events(ctx context.Context, nids []int64) ([]Event, error)
	// EventsByID returns the stored events with the given IDs (absent ones
	// are left out).
	EventsByID(ctx context.Context, ids []string) ([]Event, error)
	// InternStateKeys returns the NIDs of the given (type, state_key)
	// pairs, creating those that do not exist yet.
	InternStateKeys(ctx context.Context, keys []spec.StateKeyTuple) ([]int64, error)
	// TxnEvent returns the ID of the event a client transaction sent, and
	// false if the transaction is new.
	TxnEvent(ctx context.Context, t Txn) (string, bool, error)
	// Resolution returns the memoized resolution of a set of snapshots
	// (given sorted and without duplicates), and false if there is none.
	Resolution(ctx context.Context, inputs []int64) (int64, bool, error)

	// InsertEvent stores an event and returns its NID; ErrConflict if an
	// event with that ID exists, or (then the transaction must be
	// abandoned) its client transaction was used already.
	InsertEvent(ctx context.Context, e NewEvent) (int64, error)
	// SetStateAfter records the snapshot after an event inserted in this
	// transaction.
	SetStateAfter(ctx context.Context, eventNID, snapshot int64) error
	// NewSnapshot stores the state base + changes (an event NID of 0
	// removes a key), derived from snapshot parent, and returns its NID.
	// base must be the state of parent (the caller has it at hand); the
	// store decides how to lay the snapshot out.
	NewSnapshot(ctx context.Context, parent int64, base, changes StateMap) (int64, error)
	// SaveResolution memoizes the resolution of inputs (sorted, without
	// duplicates).
	SaveResolution(ctx context.Context, inputs []int64, result int64) error
	// SetCurrentState makes snapshot the room's current state, whose
	// difference from the previous current state is changes (event NID 0
	// for a removed key). Memberships follow the m.room.member entries.
	SetCurrentState(ctx context.Context, snapshot int64, changes StateMap) error
	// SetExtremities removes and adds forward extremities.
	SetExtremities(ctx context.Context, remove, add []int64) error
	// CreateAlias maps alias to this room; ErrConflict if it exists.
	CreateAlias(ctx context.Context, alias, creator string) error
}

// Rooms stores rooms, their events, state and memberships, aliases and
// client transactions.
//
// Writes happen only inside WriteRoom and CreateRoom, which serialize the
// writers of one room (also across processes sharing a database).
//
// The events stream: every event a room write stores gets the next
// position of the "events" stream when its transaction commits, and
// positions become visible in commit order, so a reader that has seen
// position N (the stream's current position) sees every event at or below
// N. To follow a user's rooms after position N: UserMemberships for the
// rooms and the user's current membership in each, RoomEvents for their
// events in (N, current], MembershipEvents for the user's own membership
// changes (joins, invites, leaves, kicks, bans, knocks) in (N, current].
//
// Error contract: lookups of one absent record return ErrNotFound; bulk
// lookups leave absent records out. Other errors are storage failures.
type Rooms interface {
	// CreateRoom stores a new room and runs fn in its first write
	// transaction; nothing is stored if fn fails. ErrConflict if the room
	// ID exists.
	CreateRoom(ctx context.Context, r Room, fn func(w RoomWriter) error) (Room, Written, error)
	// WriteRoom runs fn in a write transaction on the room, committing if
	// it returns nil. ErrNotFound if the room does not exist.
	WriteRoom(ctx context.Context, roomNID int64, fn func(w RoomWriter) error) (Written, error)

	// RoomByID returns a room by ID.
	RoomByID(ctx context.Context, roomID string) (Room, error)
	// RoomsByNID returns rooms by NID.
	RoomsByNID(ctx context.Context, nids []int64) ([]Room, error)
	// SetRoomVisibility sets a room's directory visibility.
	SetRoomVisibility(ctx context.Context, roomNID int64, visibility string) error

	// Snapshot returns the state of a snapshot (nid 0 is the empty state).
	Snapshot(ctx context.Context, nid int64) (StateMap, error)
	// Snapshots returns the state of each snapshot, by NID (0 is the
	// empty state), read together. The maps must not be modified.
	Snapshots(ctx context.Context, nids []int64) (map[int64]StateMap, error)
	// StateKeys returns interned state keys by NID.
	StateKeys(ctx context.Context, nids []int64) ([]StateKey, error)
	// StateKeyNIDs looks up the NIDs of (type, state_key) pairs; pairs
	// never interned are absent from the result.
	StateKeyNIDs(ctx context.Context, keys []spec.StateKeyTuple) (map[spec.StateKeyTuple]int64, error)
	// CurrentState returns the room's current state entries, all of them
	// when types is empty, else those of the given event types.
	CurrentState(ctx context.Context, roomNID int64, types []string) ([]StateEntry, error)

	// Events returns events by NID; EventsByID by event ID.
	Events(ctx context.Context, nids []int64) ([]Event, error)
	EventsByID(ctx context.Context, ids []string) ([]Event, error)
	// RoomEvents returns the events of the given rooms with stream
	// positions in (after, upTo], newest first, at most limit per room
	// (limit <= 0: no limit).
	RoomEvents(ctx context.Context, roomNIDs []int64, after, upTo int64, limit int) ([]Event, error)
	// LatestEventAt returns the room's last event at or before stream
	// position pos; ErrNotFound if the room had none then.
	LatestEventAt(ctx context.Context, roomNID, pos int64) (Event, error)
	// MembershipEvents returns the m.room.member events whose state key is
	// userID with stream positions in (after, upTo], oldest first.
	MembershipEvents(ctx context.Context, userID string, after, upTo int64) ([]Event, error)

	// UserMemberships returns userID's current memberships, all rooms.
	UserMemberships(ctx context.Context, userID string) ([]Membership, error)
	// RoomMembership returns userID's current membership of a room;
	// ErrNotFound if the user has none.
	RoomMembership(ctx context.Context, roomNID int64, userID string) (Membership, error)
	// LastMembershipEvent returns userID's latest m.room.member event with
	// the given membership in a room; ErrNotFound if there is none.
	LastMembershipEvent(ctx context.Context, roomNID int64, userID, membership string) (Event, error)
	// RoomMemberships returns the current memberships of a room, all of
	// them when memberships is empty.
	RoomMemberships(ctx context.Context, roomNID int64, memberships []string) ([]Membership, error)
	// ForgetRoom marks userID's membership of the room forgotten.
	// ErrNotFound if the user has no membership there.
	ForgetRoom(ctx context.Context, roomNID int64, userID string) error

	// AliasRoom resolves a local alias.
	AliasRoom(ctx context.Context, alias string) (Alias, error)
	// CreateAlias maps alias to a room; ErrConflict if it exists.
	CreateAlias(ctx context.Context, a Alias) error
	// DeleteAlias removes an alias; ErrNotFound if absent.
	DeleteAlias(ctx context.Context, alias string) error
	// RoomAliases lists a room's local aliases, sorted.
	RoomAliases(ctx context.Context, roomNID int64) ([]string, error)
	// MoveAliases moves every alias of room from to room to.
	MoveAliases(ctx context.Context, from, to int64) error
}
