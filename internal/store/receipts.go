package store

import "context"

// Receipt is a user's receipt in a room: the event they acknowledged "up
// to and including", for one receipt type and one thread.
type Receipt struct {
	RoomID string
	UserID string
	// Type is the receipt type, e.g. m.read or m.read.private.
	Type string
	// ThreadID is "" for an unthreaded receipt, else "main" or the event
	// ID of a thread root.
	ThreadID string
	EventID  string
	// EventPos is the event's position in the events stream, so that
	// receipts can be compared ("which is further ahead"); 0 if unknown.
	EventPos int64
	// TS is when the receipt was sent, in Unix milliseconds.
	TS int64
	// Pos is the receipts-stream position of the receipt's last change. The
	// store sets it; PutReceipts ignores it.
	Pos int64
}

// Receipts stores receipts: one per (room, user, type, thread), each new
// receipt replacing the previous one of its key. Every change takes the
// next position of the receipts stream in the same transaction, so a
// reader can ask "what changed in these rooms after position N".
//
// Error contract: errors are storage failures; absent records are simply
// not returned.
type Receipts interface {
	// PutReceipts stores receipts in one transaction, in order, each with
	// the next position of the receipts stream (a later receipt of the same
	// key in rs wins). It returns the last position taken, 0 when rs is
	// empty.
	PutReceipts(ctx context.Context, rs []Receipt) (int64, error)
	// ReceiptsSince returns the current receipts in the given rooms whose
	// position is in (after, upTo], ordered by position. A receipt replaced
	// within the range appears once, as it is now. Pass the stream's
	// current position as upTo.
	ReceiptsSince(ctx context.Context, roomIDs []string, after, upTo int64) ([]Receipt, error)
	// UserReceipts returns userID's current receipts in the given rooms, in
	// no particular order.
	UserReceipts(ctx context.Context, userID string, roomIDs []string) ([]Receipt, error)
	// ReceiptsPosition returns the receipts stream's last committed
	// position (0 before the first receipt): every receipt at or below it is
	// visible to reads.
	ReceiptsPosition(ctx context.Context) (int64, error)
}
