package sync

import (
	"context"
	"encoding/json"
	"math"

	"myelin/internal/filter"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// scanRange is one room's part of a scan: find the first want events of
// (lo, hi], in the scan's direction, that the user may see and the filter
// lets through.
type scanRange struct {
	room   int64
	roomID string
	lo, hi int64
	want   int
	// visibleAfter: events above this position are visible to the user
	// without a check (they were joined since); math.MaxInt64 checks all.
	visibleAfter int64

	// Results.
	kept []store.Event // in scan order
	// first is the first event examined (backward: the newest in range).
	first *store.Event
	// sawMember says an m.room.member event was examined.
	sawMember bool
	examined  int
	// exhausted: every event of the range was examined.
	exhausted bool
	// boundary is the position the scan stopped at: backward, every event
	// above it was examined (a pagination token for what comes before);
	// forward, every event at or below it.
	boundary int64

	cursor int64 // next bound to read from
	batch  int
	done   bool
}

// matcher decides whether an event passes the request's filter.
type matcher func(se *store.Event, roomID string) bool

// roomEventMatcher returns the matcher of a room event filter (nil: every
// event passes).
func roomEventMatcher(f *filter.RoomEventFilter) matcher {
	if f == nil {
		return func(*store.Event, string) bool { return true }
	}
	return func(se *store.Event, roomID string) bool {
		if !f.Matches(se.Type, se.Sender, roomID) {
			return false
		}
		return f.ContainsURL == nil || f.AllowsURL(hasURL(se.JSON))
	}
}

// ignoring wraps a matcher to refuse the non-state events of ignored
// users (client-server API, "Ignoring Users": state events are still
// sent).
func ignoring(m matcher, ignored map[string]bool) matcher {
	if len(ignored) == 0 {
		return m
	}
	return func(se *store.Event, roomID string) bool {
		if se.StateKey == nil && ignored[se.Sender] {
			return false
		}
		return m(se, roomID)
	}
}

// ignored returns the set of users a user ignores.
func (s *Service) ignored(ctx context.Context, user spec.UserID) (map[string]bool, error) {
	list, err := s.d.AccountData.IgnoredUsers(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(list))
	for _, u := range list {
		out[u.String()] = true
	}
	return out, nil
}

// hasURL reports whether an event's content has a url key.
func hasURL(eventJSON []byte) bool {
	var ev struct {
		Content map[string]json.RawMessage `json:"content"`
	}
	if json.Unmarshal(eventJSON, &ev) != nil {
		return false
	}
	_, ok := ev.Content["url"]
	return ok
}

// scan runs the ranges (of distinct rooms) in rounds of one bulk read each,
// until every range has want events, is exhausted, or has examined maxScan
// events.
func (s *Service) scan(ctx context.Context, user string, ranges []*scanRange, forward bool, match matcher) error {
	for _, r := range ranges {
		r.batch = max(r.want, 1)
		if forward {
			r.cursor = r.lo
		} else {
			r.cursor = r.hi
		}
		r.boundary = r.cursor
		if r.lo >= r.hi || r.want <= 0 {
			r.done, r.exhausted = true, r.lo >= r.hi
		}
	}
	for {
		var req []store.EventRange
		byRoom := map[int64]*scanRange{}
		for _, r := range ranges {
			if r.done {
				continue
			}
			er := store.EventRange{RoomNID: r.room, After: r.lo, UpTo: r.cursor, Limit: r.batch}
			if forward {
				er.After, er.UpTo = r.cursor, r.hi
			}
			req = append(req, er)
			byRoom[r.room] = r
		}
		if len(req) == 0 {
			return nil
		}
		evs, err := s.d.Store.RangeEvents(ctx, req, forward)
		if err != nil {
			return err
		}
		visible, err := s.visibleSet(ctx, user, evs, byRoom)
		if err != nil {
			return err
		}
		got := map[int64]int{}
		for i := range evs {
			se := &evs[i]
			r := byRoom[se.RoomNID]
			if r == nil {
				continue
			}
			got[r.room]++
			if r.done {
				continue
			}
			if r.first == nil {
				c := *se
				r.first = &c
			}
			r.examined++
			if se.Type == spec.MRoomMember {
				r.sawMember = true
			}
			if forward {
				r.cursor = se.Pos
			} else {
				r.cursor = se.Pos - 1
			}
			if visible(se) && match(se, r.roomID) {
				r.kept = append(r.kept, *se)
				if len(r.kept) >= r.want {
					r.done, r.boundary = true, r.cursor
				}
			}
		}
		for _, r := range byRoom {
			if r.done {
				continue
			}
			r.boundary = r.cursor
			switch {
			case got[r.room] < r.batch:
				r.done, r.exhausted = true, true
				if forward {
					r.boundary = r.hi
				} else {
					r.boundary = r.lo
				}
			case r.examined >= maxScan:
				r.done = true
			default:
				r.batch = min(max(2*r.batch, 50), 500)
			}
		}
	}
}

// visibleSet checks the history visibility of a round's events in one call
// and returns the verdict per event. Events above their range's
// visibleAfter, and the user's own leave events, need no check: Synapse
// and the spec's intent both let a user see their own leave, also from a
// room whose history they may not see (the invite they rejected).
func (s *Service) visibleSet(ctx context.Context, user string, evs []store.Event, byRoom map[int64]*scanRange) (func(*store.Event) bool, error) {
	var check []store.Event
	for i := range evs {
		se := &evs[i]
		if r := byRoom[se.RoomNID]; r != nil && se.Pos <= r.visibleAfter && !ownLeave(se, user) {
			check = append(check, *se)
		}
	}
	ok := map[int64]bool{}
	if len(check) > 0 {
		vis, err := s.d.Rooms.FilterVisible(ctx, user, check)
		if err != nil {
			return nil, err
		}
		for _, se := range vis {
			ok[se.NID] = true
		}
	}
	return func(se *store.Event) bool {
		r := byRoom[se.RoomNID]
		return r != nil && (se.Pos > r.visibleAfter || ownLeave(se, user) || ok[se.NID])
	}, nil
}

// ownLeave reports whether se is user's own leave (or kick) membership
// event.
func ownLeave(se *store.Event, user string) bool {
	return se.Type == spec.MRoomMember && se.StateKey != nil && *se.StateKey == user && se.Membership == spec.MembershipLeave
}

// checkAll is the visibleAfter of ranges whose every event needs a check.
const checkAll = math.MaxInt64
