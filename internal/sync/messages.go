package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"myelin/internal/filter"
	"myelin/internal/room"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// Limits of the timeline endpoints.
const (
	// DefaultMessagesLimit is the limit of /messages and /context when the
	// client gives none (the spec's default).
	DefaultMessagesLimit = 10
	// MaxMessagesLimit caps the limit a client may ask for.
	MaxMessagesLimit = 1000
)

// MessagesRequest is a GET /rooms/{roomId}/messages request.
type MessagesRequest struct {
	Viewer room.Viewer
	RoomID string
	// From and To are pagination tokens ("" when absent).
	From, To string
	// Dir is "b" or "f".
	Dir string
	// Limit is the maximum number of events; negative when absent.
	Limit int
	// Filter is a RoomEventFilter as JSON ("" when absent).
	Filter string
}

// MessagesResponse is the /messages response body.
type MessagesResponse struct {
	Start string            `json:"start"`
	End   string            `json:"end,omitempty"`
	Chunk []json.RawMessage `json:"chunk"`
	State []json.RawMessage `json:"state,omitempty"`
}

// ParseRoomEventFilter parses the filter parameter of /messages and
// /context: a RoomEventFilter as JSON ("" for none). Errors: 400
// M_NOT_JSON when it is not JSON, M_BAD_JSON when it is not a valid
// filter.
func ParseRoomEventFilter(param string) (*filter.RoomEventFilter, error) {
	if param == "" {
		return &filter.RoomEventFilter{}, nil
	}
	if !json.Valid([]byte(param)) {
		return nil, spec.NotJSON("the filter is not valid JSON")
	}
	if !strings.HasPrefix(strings.TrimSpace(param), "{") {
		return nil, spec.BadJSON("the filter must be a JSON object")
	}
	// One valid JSON object cannot escape the wrapping: the filter
	// package validates it as the timeline filter of a whole filter.
	f, err := filter.Parse([]byte(`{"room":{"timeline":` + param + `}}`))
	if err != nil {
		return nil, err
	}
	return &f.Room.Timeline, nil
}

// direction parses dir: 400 M_INVALID_PARAM when neither b nor f; absent,
// required says whether that is 400 M_MISSING_PARAM or forward.
func direction(dir string, required bool) (forward bool, err error) {
	switch dir {
	case "b":
		return false, nil
	case "f":
		return true, nil
	case "":
		if required {
			return false, spec.MissingParam("dir is required")
		}
		return true, nil
	}
	return false, spec.InvalidParam("dir must be b or f")
}

// ceiling returns the last events position a user may read in a room.
func (s *Service) ceiling(ctx context.Context, acc room.Access) (int64, error) {
	pos, err := s.d.Store.StreamPositions(ctx)
	if err != nil {
		return 0, err
	}
	c := pos[streamEvents]
	if acc.UpTo > 0 {
		c = min(c, acc.UpTo)
	}
	return c, nil
}

// Messages serves GET /rooms/{roomId}/messages: the events of the room
// before (dir b, newest first) or after (dir f, oldest first) the token
// from, up to to, that the user may see and the filter lets through.
// Without from, dir b starts at the newest event the user may read and dir
// f at the room's first. end is omitted once the range holds no more
// events. With lazy_load_members, state holds the membership events of the
// chunk's senders, as of the first event of the chunk.
//
// Errors: 400 M_INVALID_PARAM for dir or a bad token, the filter's
// M_NOT_JSON/M_BAD_JSON; 403 M_FORBIDDEN when the room is unknown or the
// user may not read it.
func (s *Service) Messages(ctx context.Context, req MessagesRequest) (*MessagesResponse, error) {
	// NOTSPEC: dir is required by the spec; without it, /messages
	// paginates forward, as Synapse does (clients and Complement rely on
	// it).
	forward, err := direction(req.Dir, false)
	if err != nil {
		return nil, err
	}
	f, err := ParseRoomEventFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	from, to := int64(-1), int64(-1)
	if req.From != "" {
		if from, err = ParsePaginationToken(req.From); err != nil {
			return nil, err
		}
	}
	if req.To != "" {
		if to, err = ParsePaginationToken(req.To); err != nil {
			return nil, err
		}
	}
	limit := DefaultMessagesLimit
	if req.Limit >= 0 {
		limit = min(req.Limit, MaxMessagesLimit)
	}
	acc, err := s.d.Rooms.Access(ctx, req.Viewer.UserID, req.RoomID)
	if err != nil {
		return nil, err
	}
	ceil, err := s.ceiling(ctx, acc)
	if err != nil {
		return nil, err
	}
	var lo, hi int64
	start := req.From
	if forward {
		lo, hi = max(from, 0), ceil
		if to >= 0 {
			hi = min(hi, to)
		}
		if start == "" {
			start = PaginationToken(0)
		}
	} else {
		lo, hi = 0, ceil
		if from >= 0 {
			hi = min(hi, from)
		}
		if to >= 0 {
			lo = to
		}
		if start == "" {
			start = PaginationToken(hi)
		}
	}
	resp := &MessagesResponse{Start: start, Chunk: []json.RawMessage{}}
	if limit == 0 {
		return resp, nil
	}
	ignored, err := s.ignoredOf(ctx, req.Viewer.UserID)
	if err != nil {
		return nil, err
	}
	sr := &scanRange{room: acc.RoomNID, roomID: acc.RoomID, lo: lo, hi: max(hi, lo), want: limit, visibleAfter: checkAll}
	if err := s.scan(ctx, req.Viewer.UserID, []*scanRange{sr}, forward, ignoring(roomEventMatcher(f), ignored)); err != nil {
		return nil, err
	}
	if !sr.exhausted {
		resp.End = PaginationToken(sr.boundary)
	}
	var state []store.Event
	if f.LazyLoadMembers && len(sr.kept) > 0 {
		senders := map[string]bool{}
		for _, se := range sr.kept {
			senders[se.Sender] = true
		}
		if state, err = s.memberEvents(ctx, sr.kept[0].StateAfter, senders); err != nil {
			return nil, err
		}
	}
	out, err := s.d.Rooms.ClientEvents(ctx, append(sr.kept, state...), req.Viewer)
	if err != nil {
		return nil, err
	}
	resp.Chunk = out[:len(sr.kept)]
	resp.State = out[len(sr.kept):]
	return resp, nil
}

// ignoredOf is ignored for a user ID given as text.
func (s *Service) ignoredOf(ctx context.Context, user string) (map[string]bool, error) {
	uid, err := spec.ParseHistoricalUserID(user)
	if err != nil {
		return nil, fmt.Errorf("sync: viewer %q: %w", user, err)
	}
	return s.ignored(ctx, uid)
}

// memberEvents returns the m.room.member events of users in a snapshot.
func (s *Service) memberEvents(ctx context.Context, snapshot int64, users map[string]bool) ([]store.Event, error) {
	tuples := make([]spec.StateKeyTuple, 0, len(users))
	for u := range users {
		tuples = append(tuples, spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: u})
	}
	keys, err := s.d.Rooms.StateKeyNIDs(ctx, tuples)
	if err != nil {
		return nil, err
	}
	states, err := s.d.Rooms.Snapshots(ctx, []int64{snapshot})
	if err != nil {
		return nil, err
	}
	var nids []int64
	for _, k := range keys {
		if nid := states[snapshot][k]; nid != 0 {
			nids = append(nids, nid)
		}
	}
	if len(nids) == 0 {
		return nil, nil
	}
	return s.d.Store.Events(ctx, nids)
}

// ContextResponse is the /context response body.
type ContextResponse struct {
	Start        string            `json:"start"`
	End          string            `json:"end"`
	EventsBefore []json.RawMessage `json:"events_before"`
	Event        json.RawMessage   `json:"event"`
	EventsAfter  []json.RawMessage `json:"events_after"`
	State        []json.RawMessage `json:"state"`
}

// Context serves GET /rooms/{roomId}/context/{eventId}: the event, up to
// limit (negative: DefaultMessagesLimit) visible events around it that pass
// the filter (half before, half after), tokens to paginate on from them,
// and the state at the last event returned (with lazy_load_members, only
// the memberships of the senders of the events returned).
//
// Errors: 400 M_INVALID_PARAM for a bad limit, the filter's errors; 403
// M_FORBIDDEN when the room is unknown or the user may not read it; 404
// M_NOT_FOUND when the event is not in the room or not visible to the
// user.
func (s *Service) Context(ctx context.Context, viewer room.Viewer, roomID, eventID string, limit int, filterParam string) (*ContextResponse, error) {
	f, err := ParseRoomEventFilter(filterParam)
	if err != nil {
		return nil, err
	}
	if limit < 0 {
		limit = DefaultMessagesLimit
	}
	limit = min(limit, MaxMessagesLimit)
	acc, err := s.d.Rooms.Access(ctx, viewer.UserID, roomID)
	if err != nil {
		return nil, err
	}
	ev, err := s.visibleEvent(ctx, viewer.UserID, acc, eventID)
	if err != nil {
		return nil, err
	}
	ceil, err := s.ceiling(ctx, acc)
	if err != nil {
		return nil, err
	}
	ignored, err := s.ignoredOf(ctx, viewer.UserID)
	if err != nil {
		return nil, err
	}
	match := ignoring(roomEventMatcher(f), ignored)
	before := &scanRange{room: acc.RoomNID, roomID: acc.RoomID, lo: 0, hi: max(ev.Pos-1, 0), want: limit / 2, visibleAfter: checkAll}
	after := &scanRange{room: acc.RoomNID, roomID: acc.RoomID, lo: ev.Pos, hi: max(ceil, ev.Pos), want: limit - limit/2, visibleAfter: checkAll}
	if err := s.scan(ctx, viewer.UserID, []*scanRange{before}, false, match); err != nil {
		return nil, err
	}
	if err := s.scan(ctx, viewer.UserID, []*scanRange{after}, true, match); err != nil {
		return nil, err
	}
	last := ev
	if n := len(after.kept); n > 0 {
		last = after.kept[n-1]
	}
	states, err := s.d.Rooms.Snapshots(ctx, []int64{last.StateAfter})
	if err != nil {
		return nil, err
	}
	var stateNIDs []int64
	senders := map[string]bool{ev.Sender: true}
	for _, list := range [][]store.Event{before.kept, after.kept} {
		for _, se := range list {
			senders[se.Sender] = true
		}
	}
	var state []store.Event
	if f.LazyLoadMembers {
		if state, err = s.memberEvents(ctx, last.StateAfter, senders); err != nil {
			return nil, err
		}
	} else {
		for _, nid := range states[last.StateAfter] {
			stateNIDs = append(stateNIDs, nid)
		}
		if state, err = s.d.Store.Events(ctx, stateNIDs); err != nil {
			return nil, err
		}
		kept := state[:0]
		for _, se := range state {
			if f.Matches(se.Type, se.Sender, acc.RoomID) {
				kept = append(kept, se)
			}
		}
		state = kept
	}
	all := append(append(append([]store.Event{ev}, before.kept...), after.kept...), state...)
	out, err := s.d.Rooms.ClientEvents(ctx, all, viewer)
	if err != nil {
		return nil, err
	}
	if len(out) != len(all) {
		return nil, fmt.Errorf("sync: %d events formatted as %d", len(all), len(out))
	}
	nb, na := len(before.kept), len(after.kept)
	return &ContextResponse{
		Start:        PaginationToken(before.boundary),
		End:          PaginationToken(after.boundary),
		Event:        out[0],
		EventsBefore: out[1 : 1+nb],
		EventsAfter:  out[1+nb : 1+nb+na],
		State:        out[1+nb+na:],
	}, nil
}

// visibleEvent returns an event of the room that the user may see: 404
// M_NOT_FOUND otherwise.
func (s *Service) visibleEvent(ctx context.Context, user string, acc room.Access, eventID string) (store.Event, error) {
	notFound := spec.NotFound("event %s not found", eventID)
	evs, err := s.d.Store.EventsByID(ctx, []string{eventID})
	if err != nil {
		return store.Event{}, err
	}
	if len(evs) == 0 || evs[0].RoomNID != acc.RoomNID || evs[0].Pos == 0 {
		return store.Event{}, notFound
	}
	if ownLeave(&evs[0], user) {
		return evs[0], nil
	}
	vis, err := s.d.Rooms.FilterVisible(ctx, user, evs)
	if err != nil {
		return store.Event{}, err
	}
	if len(vis) == 0 {
		return store.Event{}, notFound
	}
	return vis[0], nil
}

// TimestampEvent is the answer of timestamp_to_event.
type TimestampEvent struct {
	EventID        string `json:"event_id"`
	OriginServerTS int64  `json:"origin_server_ts"`
}

// timestampBatch is how many candidates timestamp_to_event examines.
const timestampBatch = 100

// TimestampToEvent serves GET /rooms/{roomId}/timestamp_to_event: the
// visible event closest to ts in direction dir (f: the first at or after
// ts, b: the last at or before it).
//
// Errors: 400 M_MISSING_PARAM or M_INVALID_PARAM for dir; 403 M_FORBIDDEN
// when the room is unknown or the user may not read it; 404 M_NOT_FOUND
// when there is no such event (among the nearest candidates).
func (s *Service) TimestampToEvent(ctx context.Context, user, roomID string, ts int64, dir string) (TimestampEvent, error) {
	forward, err := direction(dir, true)
	if err != nil {
		return TimestampEvent{}, err
	}
	acc, err := s.d.Rooms.Access(ctx, user, roomID)
	if err != nil {
		return TimestampEvent{}, err
	}
	ceil, err := s.ceiling(ctx, acc)
	if err != nil {
		return TimestampEvent{}, err
	}
	evs, err := s.d.Store.EventsByTimestamp(ctx, acc.RoomNID, ts, ceil, forward, timestampBatch)
	if err != nil {
		return TimestampEvent{}, err
	}
	vis, err := s.d.Rooms.FilterVisible(ctx, user, evs)
	if err != nil {
		return TimestampEvent{}, err
	}
	if len(vis) == 0 {
		word := "backward"
		if forward {
			word = "forward"
		}
		return TimestampEvent{}, spec.NotFound("unable to find event from %d in %s direction", ts, word)
	}
	return TimestampEvent{EventID: vis[0].ID, OriginServerTS: vis[0].OriginTS}, nil
}
