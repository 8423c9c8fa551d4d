// Package stateres implements Matrix state resolution: given the states
// after several prev events of a new event, it computes the state before
// that event.
//
// Three algorithms are implemented, chosen by spec.RoomVersion.StateRes:
//
//   - v1 (room version 1, rooms/v1.md "State resolution"): power levels,
//     join rules and memberships are resolved in that order by ascending
//     depth and descending sha1(event_id); other conflicts take the deepest
//     event that is allowed.
//   - v2 (room versions 2–11, rooms/fragments/v2-state-res.md): the full
//     conflicted set (conflicted state set plus auth difference) is split
//     into power events, sorted by the reverse topological power ordering,
//     and the rest, sorted by the mainline ordering; both lists go through
//     the iterative auth checks starting from the unconflicted state map.
//   - v2.1 (room version 12, rooms/v12.md "State resolution"): as v2, but the
//     full conflicted set also contains the conflicted state subgraph and
//     the iterative auth checks start from an empty state map.
//
// Events are read through the EventSource interface, in bulk. The work done
// is bounded by the conflicted keys and the auth chains involved: events
// of the unconflicted state are loaded only to compute the auth difference
// when the source cannot compute it itself (AuthChainSource), and only the
// state the auth rules ask for is read during the iterative auth checks.
//
// Results are deterministic: they depend only on the set of input states
// and the events, never on map iteration order or the order of the states.
// Key digests a set of states so that callers can memoize results.
//
// The package does no I/O of its own and keeps no global state.
package stateres
