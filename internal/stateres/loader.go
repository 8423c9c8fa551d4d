package stateres

import (
	"fmt"

	"myelin/internal/pdu"
)

// loader caches the events one resolution has fetched, so that every event
// is requested from the source at most once, and always in bulk.
type loader struct {
	src    EventSource
	events map[string]*pdu.Event
}

func newLoader(src EventSource) *loader {
	return &loader{src: src, events: map[string]*pdu.Event{}}
}

// load fetches the events among ids that are not cached yet, in one call.
// Every ID must resolve to an event with that ID: a missing one fails with
// ErrMissingEvent.
func (l *loader) load(ids []string) error {
	var want []string
	var asked map[string]struct{}
	for _, id := range ids {
		if _, ok := l.events[id]; ok {
			continue
		}
		if asked == nil {
			asked = make(map[string]struct{}, len(ids))
		}
		if _, dup := asked[id]; dup {
			continue
		}
		asked[id] = struct{}{}
		want = append(want, id)
	}
	if len(want) == 0 {
		return nil
	}
	got, err := l.src.Events(want)
	if err != nil {
		return fmt.Errorf("loading %d events: %w", len(want), err)
	}
	for _, id := range want {
		ev := got[id]
		if ev == nil {
			return fmt.Errorf("event %s: %w", id, ErrMissingEvent)
		}
		if ev.EventID() != id {
			return fmt.Errorf("source returned event %s for ID %s", ev.EventID(), id)
		}
		l.events[id] = ev
	}
	return nil
}

// event returns a loaded event, or nil if it has not been loaded.
func (l *loader) event(id string) *pdu.Event { return l.events[id] }

// loadAuthEventsOf loads the auth events of the given (loaded) events.
func (l *loader) loadAuthEventsOf(ids []string) error {
	var auth []string
	for _, id := range ids {
		auth = append(auth, l.events[id].AuthEventIDs()...)
	}
	return l.load(auth)
}

// authEventsOf returns the union of the auth events of the events ids, in
// one source call, without caching the events themselves: it is for large
// sets of events (a room's unconflicted state) that are needed only for
// their auth events. ids may repeat.
func (l *loader) authEventsOf(ids []string) (idSet, error) {
	got, err := l.src.Events(ids)
	if err != nil {
		return nil, fmt.Errorf("loading %d events: %w", len(ids), err)
	}
	if len(got) != len(ids) {
		for _, id := range ids {
			if got[id] == nil {
				return nil, fmt.Errorf("event %s: %w", id, ErrMissingEvent)
			}
		}
	}
	out := idSet{}
	// Most events of a large state cite the same few auth events (create,
	// power levels, join rules): comparing with the last few added is
	// cheaper than hashing their IDs again.
	var recent [4]string
	next := 0
	for id, ev := range got {
		if ev == nil {
			return nil, fmt.Errorf("event %s: %w", id, ErrMissingEvent)
		}
		if ev.EventID() != id {
			return nil, fmt.Errorf("source returned event %s for ID %s", ev.EventID(), id)
		}
	auth:
		for _, a := range ev.AuthEventIDs() {
			for _, r := range recent {
				if r == a {
					continue auth
				}
			}
			out[a] = struct{}{}
			recent[next] = a
			next = (next + 1) % len(recent)
		}
	}
	return out, nil
}
