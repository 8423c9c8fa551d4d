package eventauth

import (
	"fmt"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// CheckAuthEvents applies the rule "considering the event's auth_events"
// (rule 2; rule 3 in v12) to ev and the events its auth_events name:
//
//  1. no two entries may share a (type, state_key) pair;
//  2. every entry must be one the auth events selection (server-server
//     API) would pick for ev; in v12 the m.room.create event never is;
//  3. no entry may itself have been rejected. pdu.Event does not record
//     rejection, so this rule is the caller's: when it rejected one of the
//     auth events, it must reject ev under this rule without relying on
//     CheckAuthEvents;
//  4. (before v12) one entry must be the m.room.create event;
//  5. every entry must be in ev's room.
//
// authEvents must hold exactly the events ev.AuthEventIDs() names, in any
// order. A create event has no auth events to consider (rule 1 decides it)
// and passes.
//
// It returns nil, a *Rejection, or another error when authEvents does not
// match ev.AuthEventIDs() (an entry missing or one not listed) or ev's
// content cannot be read for the selection.
func CheckAuthEvents(ev *pdu.Event, authEvents []*pdu.Event) error {
	v := ev.Version()
	if ev.Type() == spec.MRoomCreate {
		return nil
	}
	n := numberRules(v)
	r := ruleID{n.authEvents}
	entries, err := authEntries(ev, authEvents)
	if err != nil {
		return err
	}
	seen := make(map[spec.StateKeyTuple]bool, len(entries))
	for _, e := range entries {
		if !e.IsState() {
			continue // rule 2 below rejects it
		}
		t := e.StateTuple()
		if seen[t] {
			return reject(r.sub(n.aeDuplicate), fmt.Sprintf("two auth events for (%s, %q)", t.Type, t.StateKey))
		}
		seen[t] = true
	}
	selection, err := pdu.AuthEventTypes(v, ev.Type(), ev.StateKey(), ev.Sender(), ev.Content())
	if err != nil && ev.Type() != spec.MRoomMember {
		return fmt.Errorf("eventauth: auth events selection for %s: %w", ev.EventID(), err)
	}
	// A member event without a state key selects nothing beyond the
	// common entries here; rule "m.room.member without state_key" rejects
	// it later.
	if err != nil {
		selection = commonSelection(v, ev.Sender())
	}
	for _, e := range entries {
		if reason := notSelected(v, e, selection); reason != "" {
			return reject(r.sub(n.aeSelection), reason)
		}
	}
	hasCreate := false
	for _, e := range entries {
		if e.Type() == spec.MRoomCreate && e.StateKeyEquals("") {
			hasCreate = true
		}
	}
	if n.aeNoCreate != 0 && !hasCreate {
		return reject(r.sub(n.aeNoCreate), "no m.room.create event among the auth events")
	}
	for _, e := range entries {
		if e.RoomID() != ev.RoomID() {
			return reject(r.sub(n.aeRoomID), fmt.Sprintf("auth event %s is in room %s, not %s",
				e.EventID(), e.RoomID(), ev.RoomID()))
		}
	}
	return nil
}

// authEntries pairs ev.AuthEventIDs() with the given events, one entry per
// listed ID (a repeated ID gives a repeated entry).
func authEntries(ev *pdu.Event, authEvents []*pdu.Event) ([]*pdu.Event, error) {
	byID := make(map[string]*pdu.Event, len(authEvents))
	for _, e := range authEvents {
		if e == nil {
			continue
		}
		byID[e.EventID()] = e
	}
	ids := ev.AuthEventIDs()
	entries := make([]*pdu.Event, 0, len(ids))
	listed := make(map[string]bool, len(ids))
	for _, id := range ids {
		e := byID[id]
		if e == nil {
			return nil, fmt.Errorf("eventauth: auth event %s of %s was not supplied", id, ev.EventID())
		}
		listed[id] = true
		entries = append(entries, e)
	}
	for id := range byID {
		if !listed[id] {
			return nil, fmt.Errorf("eventauth: event %s is not among the auth events of %s", id, ev.EventID())
		}
	}
	return entries, nil
}

func commonSelection(v *spec.RoomVersion, sender string) []spec.StateKeyTuple {
	var out []spec.StateKeyTuple
	if !v.CreateEventHasNoRoomID {
		out = append(out, spec.StateKeyTuple{Type: spec.MRoomCreate})
	}
	return append(out, spec.StateKeyTuple{Type: spec.MRoomPowerLevels},
		spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: sender})
}

// notSelected says why auth event e is outside the selection, or returns
// "".
func notSelected(v *spec.RoomVersion, e *pdu.Event, selection []spec.StateKeyTuple) string {
	if !e.IsState() {
		return fmt.Sprintf("auth event %s is not a state event", e.EventID())
	}
	t := e.StateTuple()
	for _, s := range selection {
		if s == t {
			return ""
		}
	}
	if t.Type == spec.MRoomCreate && v.CreateEventHasNoRoomID {
		return "the m.room.create event must not be among the auth events in this room version"
	}
	return fmt.Sprintf("auth event (%s, %q) is not one the auth events selection picks", t.Type, t.StateKey)
}
