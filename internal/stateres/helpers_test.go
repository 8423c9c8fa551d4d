package stateres

import (
	"fmt"
	"slices"
	"strings"

	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/testkit/roomgen"
)

// memSource is an in-memory EventSource.
type memSource map[string]*pdu.Event

func (m memSource) Events(ids []string) (map[string]*pdu.Event, error) {
	out := make(map[string]*pdu.Event, len(ids))
	for _, id := range ids {
		if ev, ok := m[id]; ok {
			out[id] = ev
		}
	}
	return out, nil
}

// countingSource counts the events a resolution asks for.
type countingSource struct {
	memSource
	calls, events int
}

func (c *countingSource) Events(ids []string) (map[string]*pdu.Event, error) {
	c.calls++
	c.events += len(ids)
	return c.memSource.Events(ids)
}

// mergeWithResolve is a roomgen Merge function backed by Resolve.
func mergeWithResolve(room *roomgen.Room, states []roomgen.State) (roomgen.State, error) {
	in := make([]StateMap, len(states))
	for i, s := range states {
		in[i] = s
	}
	return Resolve(room.Version, in, memSource(room.Events))
}

// describeDiff lists the keys on which two resolved states differ, with
// the events involved.
func describeDiff(events map[string]*pdu.Event, got, want StateMap) string {
	var keys []spec.StateKeyTuple
	for k := range got {
		if want[k] != got[k] {
			keys = append(keys, k)
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b spec.StateKeyTuple) int {
		return strings.Compare(a.Type+"\x00"+a.StateKey, b.Type+"\x00"+b.StateKey)
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s/%s: myelin %s, gmsl %s\n", k.Type, k.StateKey, describe(events, got[k]), describe(events, want[k]))
	}
	return b.String()
}

func describe(events map[string]*pdu.Event, id string) string {
	ev := events[id]
	if ev == nil {
		return fmt.Sprintf("%q", id)
	}
	return fmt.Sprintf("%s{sender %s ts %d depth %d content %s}", id, ev.Sender(), ev.OriginServerTS(), ev.Depth(), ev.Content())
}
