package stateres

import (
	"fmt"
	"strings"

	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/testkit/roomgen"
)

func dumpRoom(room *roomgen.Room) string {
	var b strings.Builder
	short := func(id string) string {
		if len(id) > 6 {
			return id[:6]
		}
		return id
	}
	for i, ev := range room.Order {
		var prev, auth []string
		for _, p := range ev.PrevEventIDs() {
			prev = append(prev, short(p))
		}
		for _, p := range ev.AuthEventIDs() {
			auth = append(auth, short(p))
		}
		sk := "-"
		if ev.StateKey() != nil {
			sk = *ev.StateKey()
		}
		fmt.Fprintf(&b, "%2d %s %s[%s] by %s ts=%d d=%d prev=%v auth=%v %s\n", i, short(ev.EventID()), ev.Type(), sk, ev.Sender(), ev.OriginServerTS(), ev.Depth(), prev, auth, ev.Content())
	}
	return b.String()
}

func short(id string) string {
	if len(id) > 6 {
		return id[:6]
	}
	return id
}

func shorts(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = short(id)
	}
	return out
}

// traceResolve runs the v2 steps one by one and describes them.
func traceResolve(room *roomgen.Room, v *spec.RoomVersion, states []StateMap, steps steps) string {
	return traceResolveEvents(room.Events, v, states, steps)
}

func traceResolveEvents(events map[string]*pdu.Event, v *spec.RoomVersion, states []StateMap, steps steps) string {
	var b strings.Builder
	r := newResolver(v, memSource(events))
	r.steps = steps
	s := splitStates(states)
	full, err := r.fullConflictedSet(s)
	if err != nil {
		return err.Error()
	}
	fmt.Fprintf(&b, "conflicted %v\nfull %v\n", shorts(s.conflicted), shorts(sortedKeys(full)))
	x, rest, err := r.steps.powerOrder(r, s, full)
	if err != nil {
		return err.Error()
	}
	ps := &partialState{over: map[spec.StateKeyTuple]string{}}
	if v.StateRes == spec.StateResV2 {
		ps.base = s
	}
	apply := func(ids []string) {
		_ = r.prefetchForChecks(ps, ids)
		for _, id := range ids {
			ok, _ := r.steps.allowed(r, ps, r.event(id))
			fmt.Fprintf(&b, "  %s %s[%s] by %s: %v\n", short(id), r.event(id).Type(), *r.event(id).StateKey(), r.event(id).Sender(), ok)
			if ok {
				ps.over[r.event(id).StateTuple()] = id
			}
		}
	}
	fmt.Fprintf(&b, "X:\n")
	apply(x)
	sortedRest, _ := r.steps.mainlineOrder(r, ps, rest)
	fmt.Fprintf(&b, "rest:\n")
	apply(sortedRest)
	return b.String()
}
