package receipts

import (
	"context"
	"encoding/json"
	"fmt"

	"myelin/internal/store"
)

// Position returns the receipts stream's last committed position: pass it
// as upTo to Since, and keep it in the sync token.
func (s *Service) Position(ctx context.Context) (int64, error) {
	pos, err := s.store.ReceiptsPosition(ctx)
	if err != nil {
		return 0, fmt.Errorf("receipts: reading position: %w", err)
	}
	return pos, nil
}

// Since returns, per room of roomIDs, the m.receipt ephemeral events that
// tell viewer about the receipts whose position is in (after, upTo]: with
// after 0 every current receipt of those rooms (an initial sync), else
// those that changed. Other users' m.read.private receipts are left out.
// Rooms without any receipt to show are absent.
//
// Receipts are batched into one event per room, except that a user's
// receipts of one type on one event but for different threads (an
// unthreaded and a threaded receipt, say) cannot share an event's content:
// they go into further events.
func (s *Service) Since(ctx context.Context, viewer string, roomIDs []string, after, upTo int64) (map[string][]json.RawMessage, error) {
	if len(roomIDs) == 0 || upTo <= after {
		return map[string][]json.RawMessage{}, nil
	}
	rs, err := s.store.ReceiptsSince(ctx, roomIDs, after, upTo)
	if err != nil {
		return nil, fmt.Errorf("receipts: reading: %w", err)
	}
	byRoom := map[string][]store.Receipt{}
	for _, r := range rs {
		if r.Type == TypeReadPrivate && r.UserID != viewer {
			continue
		}
		byRoom[r.RoomID] = append(byRoom[r.RoomID], r)
	}
	out := make(map[string][]json.RawMessage, len(byRoom))
	for room, list := range byRoom {
		evs, err := Events(list)
		if err != nil {
			return nil, err
		}
		out[room] = evs
	}
	return out, nil
}

// receiptContent is an m.receipt event's content: event ID → receipt type
// → user ID → receipt.
type receiptContent map[string]map[string]map[string]receiptBody

type receiptBody struct {
	TS       int64  `json:"ts"`
	ThreadID string `json:"thread_id,omitempty"`
}

// Events renders receipts of one room as m.receipt ephemeral events
// ({"type":"m.receipt","content":{...}}, without room_id), as few as the
// content format allows, in the order of rs. It does not filter private
// receipts.
func Events(rs []store.Receipt) ([]json.RawMessage, error) {
	var contents []receiptContent
	for _, r := range rs {
		body := receiptBody{TS: r.TS, ThreadID: r.ThreadID}
		placed := false
		for _, c := range contents {
			if _, taken := c[r.EventID][r.Type][r.UserID]; !taken {
				c.put(r, body)
				placed = true
				break
			}
		}
		if !placed {
			c := receiptContent{}
			c.put(r, body)
			contents = append(contents, c)
		}
	}
	out := make([]json.RawMessage, 0, len(contents))
	for _, c := range contents {
		b, err := json.Marshal(struct {
			Type    string         `json:"type"`
			Content receiptContent `json:"content"`
		}{"m.receipt", c})
		if err != nil {
			return nil, fmt.Errorf("receipts: rendering: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

func (c receiptContent) put(r store.Receipt, body receiptBody) {
	types := c[r.EventID]
	if types == nil {
		types = map[string]map[string]receiptBody{}
		c[r.EventID] = types
	}
	users := types[r.Type]
	if users == nil {
		users = map[string]receiptBody{}
		types[r.Type] = users
	}
	users[r.UserID] = body
}
