package sync

import (
	"context"
	"encoding/json"
)

// EphemeralSource is one kind of ephemeral room data that /sync delivers in
// the ephemeral section of joined rooms: typing notifications, receipts.
// Each source has its own stream of positions; sync keeps the source's
// position in its token (under the stream name) and waits on the
// notifier's stream of that name.
type EphemeralSource interface {
	// Stream is the source's stream name in the notifier and in sync
	// tokens: lower-case ASCII letters only, and none of "e", "a", "p".
	Stream() string
	// Position returns the source's current position: the upTo of a sync,
	// and the position the next one starts after.
	Position(ctx context.Context) (int64, error)
	// Ephemeral returns the ephemeral events ({"type": ..., "content":
	// ...}) to tell user about in each of roomIDs (rooms the user is
	// joined to) for changes in (after, upTo]; after 0 (an initial sync,
	// or a newly joined room) asks for the current state of each room.
	// Rooms with nothing to tell are absent.
	Ephemeral(ctx context.Context, user string, roomIDs []string, after, upTo int64) (map[string][]json.RawMessage, error)
}

// TypingReader is what TypingSource needs of the typing service (package
// typing's Service).
type TypingReader interface {
	// Since returns the users typing in each room of roomIDs whose list
	// changed after version since (every room where someone types when
	// since is 0), and the current version.
	Since(roomIDs []string, since int64) (map[string][]string, int64)
	// Position returns the current version.
	Position() int64
}

// TypingSource adapts the typing service to an EphemeralSource delivering
// m.typing events, under the stream name "typing".
func TypingSource(t TypingReader) EphemeralSource { return typingSource{t} }

type typingSource struct{ t TypingReader }

func (typingSource) Stream() string { return "typing" }

func (s typingSource) Position(context.Context) (int64, error) { return s.t.Position(), nil }

func (s typingSource) Ephemeral(_ context.Context, _ string, roomIDs []string, after, _ int64) (map[string][]json.RawMessage, error) {
	lists, _ := s.t.Since(roomIDs, after)
	out := make(map[string][]json.RawMessage, len(lists))
	for room, users := range lists {
		if users == nil {
			users = []string{}
		}
		ev, err := json.Marshal(map[string]any{"type": "m.typing", "content": map[string][]string{"user_ids": users}})
		if err != nil {
			return nil, err
		}
		out[room] = []json.RawMessage{ev}
	}
	return out, nil
}

// ReceiptsReader is what ReceiptsSource needs of the receipts service
// (package receipts' Service).
type ReceiptsReader interface {
	// Since returns the m.receipt events of each room of roomIDs for the
	// receipts that changed in (after, upTo] (all current ones when after
	// is 0), as viewer may see them.
	Since(ctx context.Context, viewer string, roomIDs []string, after, upTo int64) (map[string][]json.RawMessage, error)
	// Position returns the receipts stream's current position.
	Position(ctx context.Context) (int64, error)
}

// ReceiptsSource adapts the receipts service to an EphemeralSource
// delivering m.receipt events, under the stream name "receipts".
func ReceiptsSource(r ReceiptsReader) EphemeralSource { return receiptsSource{r} }

type receiptsSource struct{ r ReceiptsReader }

func (receiptsSource) Stream() string { return "receipts" }

func (s receiptsSource) Position(ctx context.Context) (int64, error) { return s.r.Position(ctx) }

func (s receiptsSource) Ephemeral(ctx context.Context, user string, roomIDs []string, after, upTo int64) (map[string][]json.RawMessage, error) {
	return s.r.Since(ctx, user, roomIDs, after, upTo)
}
