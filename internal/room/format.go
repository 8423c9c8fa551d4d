package room

import (
	"context"
	"encoding/json"
	"fmt"

	"myelin/internal/pdu"
	"myelin/internal/store"
)

// Viewer is who events are formatted for: the transaction ID of an event
// is shown only to the device that sent it.
type Viewer struct {
	UserID   string
	DeviceID string
}

// clientEvent is the client-server API's ClientEvent.
type clientEvent struct {
	Content        json.RawMessage `json:"content"`
	EventID        string          `json:"event_id"`
	OriginServerTS int64           `json:"origin_server_ts"`
	RoomID         string          `json:"room_id"`
	Sender         string          `json:"sender"`
	StateKey       *string         `json:"state_key,omitempty"`
	Type           string          `json:"type"`
	// Redacts is served at the top level in every room version (in v11+
	// it is also in content), as clients of every version read it there.
	Redacts  string         `json:"redacts,omitempty"`
	Unsigned map[string]any `json:"unsigned,omitempty"`
}

// ClientEvents formats stored events in the client format, in the order
// given: redacted events with their redacted content and
// unsigned.redacted_because, state events with unsigned.prev_content,
// prev_sender and replaces_state, and unsigned.age and (for the sending
// device) unsigned.transaction_id. It loads what it needs in bulk; it does
// not filter by visibility (see FilterVisible).
func (e *Engine) ClientEvents(ctx context.Context, evs []store.Event, viewer Viewer) ([]json.RawMessage, error) {
	return e.clientEventsAt(ctx, evs, viewer, false, false)
}

// clientEvents is ClientEvents, with the bundled aggregations when bundled
// (ClientEventsBundled).
func (e *Engine) clientEvents(ctx context.Context, evs []store.Event, viewer Viewer, bundled bool) ([]json.RawMessage, error) {
	return e.clientEventsAt(ctx, evs, viewer, bundled, true)
}

// clientEventsAt formats evs; bundled adds the aggregations, with m.thread
// ones when withThreads.
func (e *Engine) clientEventsAt(ctx context.Context, evs []store.Event, viewer Viewer, bundled, withThreads bool) ([]json.RawMessage, error) {
	parsed, err := e.parseStored(ctx, evs)
	if err != nil {
		return nil, err
	}
	var relations map[string]map[string]any
	if bundled {
		if relations, err = e.aggregations(ctx, evs, parsed, viewer, withThreads); err != nil {
			return nil, err
		}
	}
	var replaced []int64
	var redactionIDs []string
	for _, se := range evs {
		if se.Replaces != 0 {
			replaced = append(replaced, se.Replaces)
		}
		if se.RedactedBy != "" {
			redactionIDs = append(redactionIDs, se.RedactedBy)
		}
	}
	prev := map[int64]*pdu.Event{}
	if len(replaced) > 0 {
		stored, err := e.store.Events(ctx, replaced)
		if err != nil {
			return nil, err
		}
		if prev, err = e.parseStored(ctx, stored); err != nil {
			return nil, err
		}
	}
	redactions := map[string]json.RawMessage{}
	if len(redactionIDs) > 0 {
		stored, err := e.store.EventsByID(ctx, redactionIDs)
		if err != nil {
			return nil, err
		}
		rp, err := e.parseStored(ctx, stored)
		if err != nil {
			return nil, err
		}
		for _, se := range stored {
			raw, err := e.formatOne(se, rp[se.NID], nil, nil, viewer, "", nil)
			if err != nil {
				return nil, err
			}
			redactions[se.ID] = raw
		}
	}
	var facts *roomVisibility
	if viewer.UserID != "" {
		if facts, err = e.newFacts(ctx, viewer.UserID); err != nil {
			return nil, err
		}
		// The viewer's membership at each event, from the facts of every
		// snapshot involved, read in bulk.
		snaps := make([]int64, 0, len(evs))
		for _, se := range evs {
			if !facts.ownMember(se) {
				snaps = append(snaps, se.StateBefore)
			}
		}
		if err := facts.prefetch(ctx, snaps); err != nil {
			return nil, err
		}
	}
	out := make([]json.RawMessage, 0, len(evs))
	for _, se := range evs {
		var because json.RawMessage
		if se.RedactedBy != "" {
			because = redactions[se.RedactedBy]
		}
		membership := ""
		if facts != nil {
			if membership, err = facts.membershipAt(ctx, se); err != nil {
				return nil, err
			}
		}
		raw, err := e.formatOne(se, parsed[se.NID], prev[se.Replaces], because, viewer, membership, relations[se.ID])
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	return out, nil
}

func (e *Engine) formatOne(se store.Event, ev, prev *pdu.Event, redactedBecause json.RawMessage, viewer Viewer, membership string, relations map[string]any) (json.RawMessage, error) {
	if ev == nil {
		return nil, fmt.Errorf("event %s was not parsed", se.ID)
	}
	if redactedBecause != nil {
		red, err := ev.Redact()
		if err != nil {
			return nil, fmt.Errorf("redacting %s: %w", se.ID, err)
		}
		ev = red
	}
	ce := clientEvent{
		Content: ev.Content(), EventID: ev.EventID(), OriginServerTS: ev.OriginServerTS(), RoomID: ev.RoomID(),
		Sender: ev.Sender(), StateKey: ev.StateKey(), Type: ev.Type(), Redacts: ev.Redacts(),
		Unsigned: map[string]any{"age": max(0, e.now()-ev.OriginServerTS())},
	}
	if se.TxnID != "" && viewer.DeviceID == se.TxnDevice && viewer.UserID == ev.Sender() {
		ce.Unsigned["transaction_id"] = se.TxnID
	}
	if membership != "" {
		ce.Unsigned["membership"] = membership
	}
	if prev != nil {
		ce.Unsigned["prev_content"] = prev.Content()
		ce.Unsigned["prev_sender"] = prev.Sender()
		ce.Unsigned["replaces_state"] = prev.EventID()
	}
	if redactedBecause != nil {
		ce.Unsigned["redacted_because"] = redactedBecause
	}
	if len(relations) > 0 {
		ce.Unsigned["m.relations"] = relations
	}
	raw, err := json.Marshal(ce)
	if err != nil {
		return nil, fmt.Errorf("formatting %s: %w", se.ID, err)
	}
	return raw, nil
}

// parseStored parses stored events of any rooms, keyed by NID.
func (e *Engine) parseStored(ctx context.Context, evs []store.Event) (map[int64]*pdu.Event, error) {
	byRoom := map[int64][]store.Event{}
	for _, se := range evs {
		byRoom[se.RoomNID] = append(byRoom[se.RoomNID], se)
	}
	var nids []int64
	for r := range byRoom {
		nids = append(nids, r)
	}
	rooms, err := e.roomsByNIDCached(ctx, nids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*pdu.Event, len(evs))
	for r, list := range byRoom {
		ri, ok := rooms[r]
		if !ok {
			return nil, fmt.Errorf("room %d of stored events is unknown", r)
		}
		parsed, err := e.parseEvents(ri.Version, list)
		if err != nil {
			return nil, err
		}
		for k, v := range parsed {
			out[k] = v
		}
	}
	return out, nil
}

// roomsByNIDCached is roomsByNID through the cache.
func (e *Engine) roomsByNIDCached(ctx context.Context, nids []int64) (map[int64]roomInfo, error) {
	out := make(map[int64]roomInfo, len(nids))
	var missing []int64
	for _, n := range nids {
		if ri, ok := e.roomNIDs.get(n); ok {
			out[n] = ri
		} else {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	found, err := e.roomsByNID(ctx, missing)
	if err != nil {
		return nil, err
	}
	for n, ri := range found {
		out[n] = ri
	}
	return out, nil
}
