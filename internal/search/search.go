// Package search is server-side search (POST /search): the room_events
// category over the searchable keys of events (content.body of messages,
// room names and topics) in the rooms a user is or was in, with history
// visibility applied, event context, groupings and pagination.
//
// Matching is by words: every word of the search term must occur, case
// insensitively, in the searched text (as a substring). There is no
// relevance ranking.
package search

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"myelin/internal/filter"
	"myelin/internal/room"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// Limits and defaults.
const (
	DefaultLimit        = 10
	MaxLimit            = 100
	DefaultContextLimit = 5
	MaxContextLimit     = 100
	// MaxWords bounds the words of a search term that are matched.
	MaxWords = 16
)

// Orderings and groupings the specification defines.
const (
	OrderRank     = "rank"
	OrderRecent   = "recent"
	GroupByRoomID = "room_id"
	GroupBySender = "sender"
)

// Store is what the service needs of storage.
type Store interface {
	store.Search
	UserMemberships(ctx context.Context, userID string) ([]store.Membership, error)
	RangeEvents(ctx context.Context, ranges []store.EventRange, forward bool) ([]store.Event, error)
}

// Rooms is what the service needs of the room engine.
type Rooms interface {
	FilterVisible(ctx context.Context, userID string, evs []store.Event) ([]store.Event, error)
	ClientEvents(ctx context.Context, evs []store.Event, viewer room.Viewer) ([]json.RawMessage, error)
	ClientEventsBundled(ctx context.Context, evs []store.Event, viewer room.Viewer) ([]json.RawMessage, error)
	RoomState(ctx context.Context, viewer room.Viewer, roomID string) ([]json.RawMessage, error)
}

// Service serves POST /search.
type Service struct {
	store Store
	rooms Rooms
}

// New returns the search service.
func New(st Store, rooms Rooms) *Service { return &Service{store: st, rooms: rooms} }

// Request is the body of POST /search.
type Request struct {
	SearchCategories struct {
		RoomEvents *Criteria `json:"room_events"`
	} `json:"search_categories"`
}

// Criteria are the room_events search criteria.
type Criteria struct {
	SearchTerm   *string         `json:"search_term"`
	Keys         []string        `json:"keys"`
	Filter       json.RawMessage `json:"filter"`
	OrderBy      string          `json:"order_by"`
	EventContext *struct {
		BeforeLimit    *int `json:"before_limit"`
		AfterLimit     *int `json:"after_limit"`
		IncludeProfile bool `json:"include_profile"`
	} `json:"event_context"`
	IncludeState bool `json:"include_state"`
	Groupings    *struct {
		GroupBy []struct {
			Key string `json:"key"`
		} `json:"group_by"`
	} `json:"groupings"`
}

// Response is the body of the POST /search answer.
type Response struct {
	SearchCategories struct {
		RoomEvents *RoomEvents `json:"room_events,omitempty"`
	} `json:"search_categories"`
}

// RoomEvents is the room_events result category.
type RoomEvents struct {
	Count      int                          `json:"count"`
	Highlights []string                     `json:"highlights"`
	Results    []Result                     `json:"results"`
	NextBatch  string                       `json:"next_batch,omitempty"`
	Groups     map[string]map[string]Group  `json:"groups,omitempty"`
	State      map[string][]json.RawMessage `json:"state,omitempty"`
}

// Result is one search result.
type Result struct {
	Rank    float64         `json:"rank"`
	Result  json.RawMessage `json:"result"`
	Context *Context        `json:"context,omitempty"`
}

// Context is the context of a result.
type Context struct {
	Start        string            `json:"start,omitempty"`
	End          string            `json:"end,omitempty"`
	EventsBefore []json.RawMessage `json:"events_before"`
	EventsAfter  []json.RawMessage `json:"events_after"`
}

// Group is one group of results.
type Group struct {
	Results []string `json:"results"`
	Order   int      `json:"order"`
}

var searchKeys = []string{room.SearchKeyBody, room.SearchKeyName, room.SearchKeyTopic}

// Search runs a search for viewer; nextBatch is the token of a previous
// answer ("" for the first page). Errors: 400 M_MISSING_PARAM without a
// search_term, M_INVALID_PARAM for an unknown key, ordering or grouping, a
// negative context limit or a bad next_batch; the filter's M_BAD_JSON.
//
// NOTSPEC: there is no relevance ranking: every result has rank 1 and
// order_by rank returns the most recent results first, like recent.
// event_context.include_profile is not served (no profile_info).
func (s *Service) Search(ctx context.Context, viewer room.Viewer, nextBatch string, req Request) (*Response, error) {
	resp := &Response{}
	c := req.SearchCategories.RoomEvents
	if c == nil {
		return resp, nil
	}
	q, err := s.query(ctx, viewer, nextBatch, c)
	if err != nil {
		return nil, err
	}
	before, after, err := contextLimits(c)
	if err != nil {
		return nil, err
	}
	var groupBy []string
	if c.Groupings != nil {
		for _, g := range c.Groupings.GroupBy {
			if g.Key != GroupByRoomID && g.Key != GroupBySender {
				return nil, spec.InvalidParam("unknown grouping %q", g.Key)
			}
			groupBy = append(groupBy, g.Key)
		}
	}
	re := &RoomEvents{Highlights: q.Words, Results: []Result{}}
	resp.SearchCategories.RoomEvents = re
	evs, count, err := s.store.SearchEvents(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	re.Count = count
	if len(evs) == q.Limit && len(evs) > 0 && evs[len(evs)-1].Pos > 1 {
		re.NextBatch = strconv.FormatInt(evs[len(evs)-1].Pos-1, 10)
	}
	visible, err := s.rooms.FilterVisible(ctx, viewer.UserID, evs)
	if err != nil {
		return nil, err
	}
	raws, err := s.rooms.ClientEventsBundled(ctx, visible, viewer)
	if err != nil {
		return nil, err
	}
	for i, se := range visible {
		r := Result{Rank: 1, Result: raws[i]}
		if c.EventContext != nil {
			if r.Context, err = s.eventContext(ctx, viewer, se, q.Bounds[se.RoomNID], before, after); err != nil {
				return nil, err
			}
		}
		re.Results = append(re.Results, r)
	}
	if len(groupBy) > 0 {
		re.Groups = groups(visible, groupBy)
	}
	if c.IncludeState {
		re.State = map[string][]json.RawMessage{}
		for _, id := range roomIDs(raws) {
			st, err := s.rooms.RoomState(ctx, viewer, id)
			if err != nil {
				return nil, err
			}
			re.State[id] = st
		}
	}
	return resp, nil
}

// query builds the store query: the rooms the viewer is or was in (not
// forgotten), narrowed by the filter, the words of the term and the page.
func (s *Service) query(ctx context.Context, viewer room.Viewer, nextBatch string, c *Criteria) (store.SearchQuery, error) {
	var q store.SearchQuery
	if c.SearchTerm == nil {
		return q, spec.MissingParam("search_term is required")
	}
	for _, k := range c.Keys {
		if !slices.Contains(searchKeys, k) {
			return q, spec.InvalidParam("unknown search key %q", k)
		}
	}
	if c.Keys != nil {
		q.Keys = c.Keys
	}
	if c.OrderBy != "" && c.OrderBy != OrderRank && c.OrderBy != OrderRecent {
		return q, spec.InvalidParam("order_by must be rank or recent")
	}
	if nextBatch != "" {
		pos, err := strconv.ParseInt(nextBatch, 10, 64)
		if err != nil || pos <= 0 {
			return q, spec.InvalidParam("invalid next_batch")
		}
		q.Before = pos
	}
	f := &filter.RoomEventFilter{}
	if len(c.Filter) > 0 && string(c.Filter) != "null" {
		if c.Filter[0] != '{' {
			return q, spec.BadJSON("filter must be an object")
		}
		parsed, err := filter.Parse([]byte(`{"room":{"timeline":` + string(c.Filter) + `}}`))
		if err != nil {
			return q, err
		}
		f = &parsed.Room.Timeline
	}
	q.Limit = f.LimitOr(DefaultLimit, MaxLimit)
	q.Types, q.NotTypes, q.Senders, q.NotSenders = f.Types, f.NotTypes, f.Senders, f.NotSenders
	q.Words = words(*c.SearchTerm)
	ms, err := s.store.UserMemberships(ctx, viewer.UserID)
	if err != nil {
		return q, fmt.Errorf("search: reading rooms: %w", err)
	}
	q.Bounds = map[int64]int64{}
	for _, m := range ms {
		if !roomAllowed(f, m.RoomID) {
			continue
		}
		switch {
		case m.Membership == spec.MembershipJoin:
			q.Rooms = append(q.Rooms, m.RoomNID)
		case (m.Membership == spec.MembershipLeave || m.Membership == spec.MembershipBan) && !m.Forgotten:
			q.Rooms = append(q.Rooms, m.RoomNID)
			q.Bounds[m.RoomNID] = m.EventPos
		}
	}
	return q, nil
}

// roomAllowed applies the filter's rooms and not_rooms.
func roomAllowed(f *filter.RoomEventFilter, roomID string) bool {
	if f.Rooms != nil && !slices.Contains(f.Rooms, roomID) {
		return false
	}
	return !slices.Contains(f.NotRooms, roomID)
}

// words splits a search term into lower-cased words (runs of letters and
// digits), at most MaxWords, without repeats.
func words(term string) []string {
	out := []string{}
	for _, w := range strings.FieldsFunc(strings.ToLower(term), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if !slices.Contains(out, w) && len(out) < MaxWords {
			out = append(out, w)
		}
	}
	return out
}

// contextLimits reads event_context's limits (default 5 each).
func contextLimits(c *Criteria) (before, after int, err error) {
	before, after = DefaultContextLimit, DefaultContextLimit
	if c.EventContext == nil {
		return before, after, nil
	}
	if l := c.EventContext.BeforeLimit; l != nil {
		before = *l
	}
	if l := c.EventContext.AfterLimit; l != nil {
		after = *l
	}
	if before < 0 || after < 0 {
		return 0, 0, spec.InvalidParam("event_context limits must not be negative")
	}
	return min(before, MaxContextLimit), min(after, MaxContextLimit), nil
}

// eventContext returns the events around a result that the viewer may
// see: before newest first, after oldest first (bounded by upTo, the
// viewer's leave, when not 0), with pagination tokens.
func (s *Service) eventContext(ctx context.Context, viewer room.Viewer, se store.Event, upTo int64, before, after int) (*Context, error) {
	c := &Context{EventsBefore: []json.RawMessage{}, EventsAfter: []json.RawMessage{}}
	start, end := se.Pos-1, se.Pos
	load := func(r store.EventRange, forward bool) ([]store.Event, error) {
		if r.Limit == 0 || r.UpTo <= r.After {
			return nil, nil
		}
		evs, err := s.store.RangeEvents(ctx, []store.EventRange{r}, forward)
		if err != nil {
			return nil, fmt.Errorf("search: reading context: %w", err)
		}
		return evs, nil
	}
	bevs, err := load(store.EventRange{RoomNID: se.RoomNID, After: 0, UpTo: se.Pos - 1, Limit: before}, false)
	if err != nil {
		return nil, err
	}
	afterUpTo := int64(1 << 62)
	if upTo > 0 {
		afterUpTo = upTo
	}
	aevs, err := load(store.EventRange{RoomNID: se.RoomNID, After: se.Pos, UpTo: afterUpTo, Limit: after}, true)
	if err != nil {
		return nil, err
	}
	if len(bevs) > 0 {
		start = bevs[len(bevs)-1].Pos - 1
	}
	if len(aevs) > 0 {
		end = aevs[len(aevs)-1].Pos
	}
	c.Start, c.End = strconv.FormatInt(start, 10), strconv.FormatInt(end, 10)
	for _, part := range []struct {
		evs []store.Event
		out *[]json.RawMessage
	}{{bevs, &c.EventsBefore}, {aevs, &c.EventsAfter}} {
		visible, err := s.rooms.FilterVisible(ctx, viewer.UserID, part.evs)
		if err != nil {
			return nil, err
		}
		raws, err := s.rooms.ClientEvents(ctx, visible, viewer)
		if err != nil {
			return nil, err
		}
		*part.out = append(*part.out, raws...)
	}
	return c, nil
}

// groups groups the results by the requested keys; order is the rank of
// the group's first result.
func groups(evs []store.Event, keys []string) map[string]map[string]Group {
	out := map[string]map[string]Group{}
	for _, key := range keys {
		byValue := map[string]Group{}
		order := 0
		for _, se := range evs {
			v := se.Sender
			if key == GroupByRoomID {
				v = roomIDOf(se)
			}
			g, ok := byValue[v]
			if !ok {
				order++
				g.Order = order
			}
			g.Results = append(g.Results, se.ID)
			byValue[v] = g
		}
		out[key] = byValue
	}
	return out
}

// roomIDOf reads the room ID of a stored event.
func roomIDOf(se store.Event) string {
	var ev struct {
		RoomID string `json:"room_id"`
	}
	json.Unmarshal(se.JSON, &ev)
	return ev.RoomID
}

// roomIDs lists the distinct rooms of formatted events, in order.
func roomIDs(raws []json.RawMessage) []string {
	var out []string
	for _, raw := range raws {
		var ev struct {
			RoomID string `json:"room_id"`
		}
		if json.Unmarshal(raw, &ev) == nil && !slices.Contains(out, ev.RoomID) {
			out = append(out, ev.RoomID)
		}
	}
	return out
}
