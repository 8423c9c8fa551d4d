package stateres

import (
	"errors"
	"fmt"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// StateMap is a room state: the event ID of the state event for each
// (type, state_key) pair. Each entry should name a state event with that
// type and state key; state resolution places the events it resolves under
// their own type and state key.
type StateMap map[spec.StateKeyTuple]string

// EventSource gives state resolution access to events.
//
// Resolution reads the events of the input states and of their auth
// chains. These are accepted events: an event whose auth events include a
// rejected event is itself rejected (auth rules, "considering the event's
// auth_events"), so no rejected event appears in the auth chain of an
// accepted one, and the spec's exclusion of rejected auth events from the
// iterative auth checks never applies to the events a source returns.
type EventSource interface {
	// Events returns the events with the given IDs, keyed by event ID.
	// IDs the source does not have are simply absent from the map, which
	// holds no IDs that were not asked for; an error means the source
	// itself failed. The returned events must not be modified.
	Events(ids []string) (map[string]*pdu.Event, error)
}

// AuthChainSource is an EventSource that can compute auth chain
// differences itself, typically from an index (for example a chain cover
// of the auth graph), instead of letting Resolve walk auth_events.
type AuthChainSource interface {
	EventSource
	// AuthChainDifference returns the auth difference of the given sets of
	// events: with C_i the union of the auth chains of the events in
	// sets[i] (an event's auth chain is everything reachable through
	// auth_events, not the event itself), it returns ∪C_i − ∩C_i, in any
	// order and without duplicates. Events it does not know must be
	// reported as an error.
	AuthChainDifference(sets [][]string) ([]string, error)
}

// ErrMissingEvent is wrapped by the error Resolve returns when an event it
// needs (a state event, or an event of an auth chain it walks) is absent
// from the EventSource.
var ErrMissingEvent = errors.New("event not found")

// ErrAuthCycle is wrapped by the error Resolve returns when the auth events
// of the events it sorts form a cycle, which no set of accepted events can.
var ErrAuthCycle = errors.New("auth events form a cycle")

// ErrUnsupportedVersion is wrapped by the error Resolve returns for a room
// version without a known state resolution algorithm.
var ErrUnsupportedVersion = errors.New("unsupported state resolution algorithm")

// Resolve returns the resolution of states for a room of version v, using
// the algorithm v.StateRes names. The order of states and duplicates among
// them do not affect the result. With no states it returns an empty map;
// with states that all agree it returns a copy of that state without
// loading any event.
//
// The result is a new map the caller owns; the inputs are not modified. It
// fails, with a wrapped error, if the source fails (the source's error is
// wrapped), if an event it needs is missing (ErrMissingEvent), if the auth
// graph has a cycle (ErrAuthCycle), or if v has no known algorithm
// (ErrUnsupportedVersion).
func Resolve(v *spec.RoomVersion, states []StateMap, src EventSource) (StateMap, error) {
	switch v.StateRes {
	case spec.StateResV1, spec.StateResV2, spec.StateResV2_1:
	default:
		return nil, fmt.Errorf("stateres: room version %s: %w", v.ID, ErrUnsupportedVersion)
	}
	return newResolver(v, src).resolve(states)
}

// resolve is Resolve for a version already checked.
func (r *resolver) resolve(states []StateMap) (StateMap, error) {
	v := r.v
	split := splitStates(states)
	if len(split.conflictedKeys) == 0 {
		return split.unconflictedCopy(), nil
	}
	var (
		res StateMap
		err error
	)
	if v.StateRes == spec.StateResV1 {
		res, err = r.resolveV1(split)
	} else {
		res, err = r.resolveV2(split)
	}
	if err != nil {
		return nil, fmt.Errorf("stateres: room version %s: %w", v.ID, err)
	}
	return res, nil
}

// resolver holds what one resolution has loaded so far.
type resolver struct {
	v     *spec.RoomVersion
	steps steps
	*loader
}

func newResolver(v *spec.RoomVersion, src EventSource) *resolver {
	return &resolver{v: v, steps: specSteps{}, loader: newLoader(src)}
}
