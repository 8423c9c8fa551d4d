package room

import (
	"context"
	"encoding/json"
	"errors"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// History visibility values (m.room.history_visibility).
const (
	VisibilityWorldReadable = "world_readable"
	VisibilityShared        = "shared"
	VisibilityInvited       = "invited"
	VisibilityJoined        = "joined"
)

// FilterVisible returns the events of evs that userID may see, in their
// order, by the client-server API's history visibility rules ("Room
// History Visibility", server behaviour), evaluated with the state of the
// room at each event:
//
//  1. world_readable: allow;
//  2. the user's membership was join: allow;
//  3. shared, and the user joined the room at any point after the event:
//     allow (a join at a later stream position exists);
//  4. invited, and the user's membership was invite: allow;
//  5. otherwise deny.
//
// An absent or unknown history_visibility counts as shared. For
// m.room.history_visibility events and the user's own m.room.member
// events, the state before or after the event may allow it. A user who
// forgot a room sees only its world_readable events.
//
// /event, /messages, /context and /sync filter through here; evs may span
// several rooms.
func (e *Engine) FilterVisible(ctx context.Context, userID string, evs []store.Event) ([]store.Event, error) {
	if len(evs) == 0 {
		return []store.Event{}, nil
	}
	// The facts of a snapshot depend only on the user, so the rooms share
	// them, read in bulk up front.
	shared, err := e.newFacts(ctx, userID)
	if err != nil {
		return nil, err
	}
	snaps := make([]int64, len(evs))
	for i, se := range evs {
		snaps[i] = se.StateBefore
	}
	if err := shared.prefetch(ctx, snaps); err != nil {
		return nil, err
	}
	byRoom := map[int64]*roomVisibility{}
	out := make([]store.Event, 0, len(evs))
	for _, se := range evs {
		rv := byRoom[se.RoomNID]
		if rv == nil {
			var err error
			if rv, err = e.roomVisibility(ctx, shared, se.RoomNID); err != nil {
				return nil, err
			}
			byRoom[se.RoomNID] = rv
		}
		ok, err := rv.visible(ctx, se)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, se)
		}
	}
	return out, nil
}

// roomVisibility evaluates visibility for one user in one room, caching
// the facts of each state snapshot it looks at.
type roomVisibility struct {
	e          *Engine
	user       string
	forgotten  bool
	latestJoin int64 // stream position of the user's latest join, 0 if none
	hvKey      int64 // state key NIDs, 0 if never interned
	memberKey  int64
	facts      map[int64]stateFacts
}

// stateFacts are the history visibility and the user's membership in a
// state.
type stateFacts struct {
	visibility, membership string
}

// newFacts returns a roomVisibility that reads only state facts (no
// membership history).
func (e *Engine) newFacts(ctx context.Context, user string) (*roomVisibility, error) {
	rv := &roomVisibility{e: e, user: user, facts: map[int64]stateFacts{}}
	hv := spec.StateKeyTuple{Type: spec.MRoomHistoryVisibility}
	mem := spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: user}
	keys, err := e.keyNIDsOf(ctx, []spec.StateKeyTuple{hv, mem})
	if err != nil {
		return nil, err
	}
	rv.hvKey, rv.memberKey = keys[hv], keys[mem]
	return rv, nil
}

// membershipAt returns the user's membership at an event: after it for
// their own member events, before it otherwise; "leave" for none (the
// value of unsigned.membership).
func (rv *roomVisibility) membershipAt(ctx context.Context, se store.Event) (string, error) {
	if rv.ownMember(se) {
		return se.Membership, nil
	}
	f, err := rv.factsOf(ctx, se.StateBefore)
	if err != nil || f.membership == "" {
		return spec.MembershipLeave, err
	}
	return f.membership, nil
}

// ownMember reports whether se is an m.room.member event of the user.
func (rv *roomVisibility) ownMember(se store.Event) bool {
	return se.Type == spec.MRoomMember && se.StateKey != nil && *se.StateKey == rv.user
}

// roomVisibility returns the visibility of one room for the user of
// shared, whose keys and facts it shares.
func (e *Engine) roomVisibility(ctx context.Context, shared *roomVisibility, roomNID int64) (*roomVisibility, error) {
	rv := &roomVisibility{e: e, user: shared.user, hvKey: shared.hvKey, memberKey: shared.memberKey, facts: shared.facts}
	user := rv.user
	m, err := e.store.RoomMembership(ctx, roomNID, user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	rv.forgotten = err == nil && m.Forgotten
	if err == nil && m.Membership == spec.MembershipJoin {
		rv.latestJoin = m.EventPos
	} else if err == nil {
		last, err := e.store.LastMembershipEvent(ctx, roomNID, user, spec.MembershipJoin)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		rv.latestJoin = last.Pos
	}
	return rv, nil
}

// factsOf returns the facts of snapshot nid (read by prefetch unless
// already known).
func (rv *roomVisibility) factsOf(ctx context.Context, nid int64) (stateFacts, error) {
	if f, ok := rv.facts[nid]; ok {
		return f, nil
	}
	if err := rv.prefetch(ctx, []int64{nid}); err != nil {
		return stateFacts{visibility: VisibilityShared}, err
	}
	return rv.facts[nid], nil
}

// prefetch reads the facts of the snapshots not yet known: their states
// through the engine's snapshot cache (those not cached with one query),
// then the history visibility and member events they point at with one
// query for all of them, each event decoded once however many snapshots
// share it.
func (rv *roomVisibility) prefetch(ctx context.Context, snaps []int64) error {
	var unknown []int64
	for _, nid := range snaps {
		if _, ok := rv.facts[nid]; !ok {
			unknown = append(unknown, nid)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	states, err := rv.e.snapshotsOf(ctx, unknown)
	if err != nil {
		return err
	}
	type keys struct{ hv, member int64 }
	pending := make(map[int64]keys, len(states))
	var want []int64
	seen := map[int64]bool{}
	for nid, state := range states {
		var k keys
		if rv.hvKey != 0 {
			k.hv = state[rv.hvKey]
		}
		if rv.memberKey != 0 {
			k.member = state[rv.memberKey]
		}
		pending[nid] = k
		for _, ev := range []int64{k.hv, k.member} {
			if ev != 0 && !seen[ev] {
				seen[ev] = true
				want = append(want, ev)
			}
		}
	}
	type eventFacts struct {
		isMember, isHV bool
		value          string
	}
	byEvent := make(map[int64]eventFacts, len(want))
	if len(want) > 0 {
		evs, err := rv.e.store.Events(ctx, want)
		if err != nil {
			return err
		}
		for _, se := range evs {
			switch se.Type {
			case spec.MRoomMember:
				byEvent[se.NID] = eventFacts{isMember: true, value: se.Membership}
			case spec.MRoomHistoryVisibility:
				byEvent[se.NID] = eventFacts{isHV: true, value: historyVisibility(se.JSON)}
			}
		}
	}
	for nid, k := range pending {
		f := stateFacts{visibility: VisibilityShared}
		// An event counts by its type, whichever key pointed at it, as
		// when the events were read per snapshot.
		for _, ev := range []int64{k.hv, k.member} {
			if ef, ok := byEvent[ev]; ok && ev != 0 {
				switch {
				case ef.isMember:
					f.membership = ef.value
				case ef.isHV:
					f.visibility = ef.value
				}
			}
		}
		rv.facts[nid] = f
	}
	return nil
}

// historyVisibility reads content.history_visibility of an event's JSON;
// unknown values count as shared.
func historyVisibility(eventJSON []byte) string {
	var ev struct {
		Content struct {
			HistoryVisibility string `json:"history_visibility"`
		} `json:"content"`
	}
	json.Unmarshal(eventJSON, &ev)
	switch v := ev.Content.HistoryVisibility; v {
	case VisibilityWorldReadable, VisibilityInvited, VisibilityJoined:
		return v
	}
	return VisibilityShared
}

func (rv *roomVisibility) allows(f stateFacts, pos int64) bool {
	switch {
	case f.visibility == VisibilityWorldReadable:
		return true
	case rv.forgotten:
		return false
	case f.membership == spec.MembershipJoin:
		return true
	case f.visibility == VisibilityShared && rv.latestJoin > pos:
		return true
	case f.visibility == VisibilityInvited && f.membership == spec.MembershipInvite:
		return true
	}
	return false
}

func (rv *roomVisibility) visible(ctx context.Context, se store.Event) (bool, error) {
	before, err := rv.factsOf(ctx, se.StateBefore)
	if err != nil {
		return false, err
	}
	if rv.allows(before, se.Pos) {
		return true, nil
	}
	after := before
	switch {
	case se.Type == spec.MRoomHistoryVisibility && se.StateKey != nil && *se.StateKey == "":
		after.visibility = historyVisibility(se.JSON)
	case se.Type == spec.MRoomMember && se.StateKey != nil && *se.StateKey == rv.user:
		after.membership = se.Membership
	default:
		return false, nil
	}
	return rv.allows(after, se.Pos), nil
}
