package accountdata

import (
	"context"
	"encoding/json"
	"fmt"

	"myelin/internal/spec"
)

// Event is an account data event as /sync delivers it.
type Event struct {
	Type    string          `json:"type"`
	Content json.RawMessage `json:"content"`
}

// Changes is what changed in a user's account data between two positions
// of the account-data stream.
type Changes struct {
	// Global is the changed global account data, oldest change first.
	Global []Event
	// Rooms is the changed per-room account data by room ID.
	Rooms map[string][]Event
}

// Since returns the user's account data whose position is in (after,
// upTo]; pass the stream's current position as upTo and use it as the next
// token. An initial sync (after = 0) always includes m.push_rules, even for
// a user who never changed a rule; m.push_rules is always the rendered,
// current ruleset.
func (s *Service) Since(ctx context.Context, user spec.UserID, after, upTo int64) (Changes, error) {
	recs, err := s.store.AccountDataSince(ctx, user.Localpart(), after, upTo)
	if err != nil {
		return Changes{}, fmt.Errorf("accountdata: reading changes: %w", err)
	}
	ch := Changes{Rooms: map[string][]Event{}}
	pushRules := after == 0
	for _, r := range recs {
		switch {
		case r.RoomID == "" && r.Type == TypePushRules:
			pushRules = true
		case r.RoomID == "":
			ch.Global = append(ch.Global, Event{Type: r.Type, Content: r.Content})
		default:
			ch.Rooms[r.RoomID] = append(ch.Rooms[r.RoomID], Event{Type: r.Type, Content: r.Content})
		}
	}
	if pushRules {
		content, err := s.push.AccountDataContent(ctx, user)
		if err != nil {
			return Changes{}, err
		}
		ch.Global = append(ch.Global, Event{Type: TypePushRules, Content: content})
	}
	return ch, nil
}

// Position returns the account-data stream's current position: the upTo
// of a sync, and the token of the next one.
func (s *Service) Position(ctx context.Context) (int64, error) {
	pos, err := s.store.AccountDataPosition(ctx)
	if err != nil {
		return 0, fmt.Errorf("accountdata: reading position: %w", err)
	}
	return pos, nil
}
