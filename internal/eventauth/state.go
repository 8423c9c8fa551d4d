package eventauth

import (
	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// StateProvider is the room state an event is checked against: its auth
// events, the state before it, or the current state. StateEvent returns the
// state event for (eventType, stateKey), or nil when there is none.
//
// In room version 12 the m.room.create event is not among an event's auth
// events, but the rules still need it: the provider must return it too.
type StateProvider interface {
	StateEvent(eventType, stateKey string) *pdu.Event
}

// StateMap is a StateProvider backed by a map.
type StateMap map[spec.StateKeyTuple]*pdu.Event

// StateEvent implements StateProvider.
func (m StateMap) StateEvent(eventType, stateKey string) *pdu.Event {
	return m[spec.StateKeyTuple{Type: eventType, StateKey: stateKey}]
}

// StateFromEvents returns a StateMap of the state events among events,
// skipping events with no state key. When two events share a (type,
// state_key) pair the later one wins; CheckAuthEvents is what rejects such
// auth events.
func StateFromEvents(events []*pdu.Event) StateMap {
	m := make(StateMap, len(events))
	for _, e := range events {
		if e != nil && e.IsState() {
			m[e.StateTuple()] = e
		}
	}
	return m
}
