package stateres

import (
	"fmt"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// partialState is the state the iterative auth checks build: entries
// applied so far (over) on top of the unconflicted state map (base, v2) or
// of nothing (base nil, v2.1).
type partialState struct {
	base *split
	over map[spec.StateKeyTuple]string
}

func (p *partialState) get(k spec.StateKeyTuple) (string, bool) {
	if id, ok := p.over[k]; ok {
		return id, true
	}
	if p.base == nil {
		return "", false
	}
	return p.base.unconflicted(k)
}

// iterativeAuthChecks applies, in order, each event of ids that the
// authorization rules allow against the partial state, where a key the
// partial state lacks is taken from the event's auth events (which are
// never rejected events: see EventSource).
func (r *resolver) iterativeAuthChecks(ps *partialState, ids []string) error {
	if err := r.prefetchForChecks(ps, ids); err != nil {
		return fmt.Errorf("iterative auth checks: %w", err)
	}
	for _, id := range ids {
		ev := r.event(id)
		if !ev.IsState() {
			// Only a malformed state map names a message event.
			continue
		}
		allowed, err := r.steps.allowed(r, ps, ev)
		if err != nil {
			return fmt.Errorf("iterative auth checks: %w", err)
		}
		if allowed {
			ps.over[ev.StateTuple()] = id
		}
	}
	return nil
}

// allowed runs the authorization rules for ev against ps. When the rules
// ask for a state event not loaded yet, it loads it and runs them again.
func (r *resolver) allowed(ps *partialState, ev *pdu.Event) (bool, error) {
	for {
		st := checkState{r: r, ps: ps, ev: ev}
		ok := r.steps.rules(ev, &st)
		if len(st.missing) == 0 {
			return ok, nil
		}
		if err := r.load(st.missing); err != nil {
			return false, fmt.Errorf("state for event %s: %w", ev.EventID(), err)
		}
	}
}

// prefetchForChecks loads, in two source calls, the auth events of the
// events and the partial state's events for the keys their auth events
// selection names, which is what the authorization rules read.
func (r *resolver) prefetchForChecks(ps *partialState, ids []string) error {
	if err := r.loadAuthEventsOf(ids); err != nil {
		return err
	}
	var want []string
	add := func(k spec.StateKeyTuple) {
		if id, ok := ps.get(k); ok && r.event(id) == nil {
			want = append(want, id)
		}
	}
	add(spec.StateKeyTuple{Type: spec.MRoomCreate})
	add(spec.StateKeyTuple{Type: spec.MRoomPowerLevels})
	add(spec.StateKeyTuple{Type: spec.MRoomJoinRules})
	for _, id := range ids {
		ev := r.event(id)
		keys, err := pdu.AuthEventTypes(r.v, ev.Type(), ev.StateKey(), ev.Sender(), ev.Content())
		if err != nil {
			// The rules reject such an event; the fallback in allowed
			// fetches whatever they read before doing so.
			continue
		}
		for _, k := range keys {
			add(k)
		}
	}
	if r.v.CreateEventHasNoRoomID && len(ids) > 0 {
		want = append(want, pdu.CreateEventIDForRoom(r.event(ids[0]).RoomID()))
	}
	return r.load(want)
}

// checkState is the eventauth.StateProvider for checking ev during the
// iterative auth checks. It records the events it would need but that are
// not loaded, so that the check can be run again once they are.
type checkState struct {
	r       *resolver
	ps      *partialState
	ev      *pdu.Event
	missing []string
}

// StateEvent implements eventauth.StateProvider: the partial state's event
// for the key, else the event's auth event for it, else, for the create event of a room version whose auth events
// never include it, the create event the room ID names.
func (c *checkState) StateEvent(eventType, stateKey string) *pdu.Event {
	if id, ok := c.ps.get(spec.StateKeyTuple{Type: eventType, StateKey: stateKey}); ok {
		return c.loaded(id)
	}
	for _, id := range c.ev.AuthEventIDs() {
		a := c.loaded(id)
		if a != nil && a.Type() == eventType && a.StateKeyEquals(stateKey) {
			return a
		}
	}
	if eventType == spec.MRoomCreate && stateKey == "" && c.r.v.CreateEventHasNoRoomID {
		return c.loaded(pdu.CreateEventIDForRoom(c.ev.RoomID()))
	}
	return nil
}

func (c *checkState) loaded(id string) *pdu.Event {
	ev := c.r.event(id)
	if ev == nil {
		c.missing = append(c.missing, id)
	}
	return ev
}
