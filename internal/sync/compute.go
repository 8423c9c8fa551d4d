package sync

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"myelin/internal/filter"
	"myelin/internal/room"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// syncRequest is one /sync request's fixed inputs; compute runs once per
// wake-up of a long-poll.
type syncRequest struct {
	s          *Service
	user       spec.UserID
	uid        string
	device     string
	f          *filter.Filter
	since      *Token // nil: initial sync
	full       bool
	stateAfter bool
	limit      int
	lazy       bool
	redundant  bool
	match      matcher
	members    *deviceMembers // nil unless lazy
	// ignored are the users the user ignores: their non-state events and
	// invites are not delivered.
	ignored map[string]bool
	// upTo is the events position the current compute reads up to.
	upTo int64
}

func (s *Service) newRequest(req Request, f *filter.Filter, since *Token) *syncRequest {
	r := &syncRequest{
		s: s, user: req.User, uid: req.User.String(), device: req.Device, f: f, since: since,
		full: req.FullState, stateAfter: req.UseStateAfter,
		limit:     f.Room.Timeline.LimitOr(DefaultTimelineLimit, MaxTimelineLimit),
		lazy:      f.Room.State.LazyLoadMembers,
		redundant: f.Room.State.IncludeRedundantMembers,
	}
	if r.lazy {
		r.members = s.members.device(r.uid, req.Device, since == nil || req.FullState)
	}
	return r
}

// Sections of the rooms part.
const (
	secJoin = iota
	secLeave
)

// plan is what one joined or left room contributes to a response.
type plan struct {
	m       store.Membership
	section int
	// The timeline comes from (lo, hi].
	lo, hi int64
	// full: the state section is the whole state (else a delta from the
	// state at lo).
	full  bool
	newly bool
	scan  *scanRange

	timeline  []store.Event // chronological
	limited   bool
	prevBatch int64
	// target is the snapshot the state section describes, base the one it
	// is a delta from, end the state at the end of the range; hasTarget is
	// false when the room had no event in range and needs no state.
	target, base, end int64
	hasTarget         bool
	summary           *store.RoomSummary
	state             []store.Event
}

// compute builds the response for the positions upTo.
func (r *syncRequest) compute(ctx context.Context, upTo Token) (*Response, error) {
	s := r.s
	ms, err := s.d.Store.UserMemberships(ctx, r.uid)
	if err != nil {
		return nil, err
	}
	// A membership committed after the positions were read: every event
	// at or below its position is committed too, so reading up to it keeps
	// memberships and events consistent.
	for _, m := range ms {
		upTo.Events = max(upTo.Events, m.EventPos)
	}
	r.upTo = upTo.Events
	var lo int64
	if r.since != nil {
		lo = r.since.Events
	}
	// Membership events in range make their room's current membership
	// event newer than lo: without one, nothing changed.
	var moved bool
	for _, m := range ms {
		moved = moved || m.EventPos > lo
	}
	changed, newly := map[int64]bool{}, map[int64]bool{}
	if moved {
		if changed, newly, err = r.membershipChanges(ctx, lo, upTo.Events); err != nil {
			return nil, err
		}
	}

	var plans []*plan
	var invites, knocks []store.Membership
	joined := map[string]store.Membership{}
	initial := r.since == nil || r.full
	for _, m := range ms {
		if !r.f.Room.MatchesRoom(m.RoomID) {
			continue
		}
		switch m.Membership {
		case spec.MembershipJoin:
			joined[m.RoomID] = m
			p := &plan{m: m, section: secJoin, lo: lo, hi: upTo.Events, full: r.full}
			if r.since == nil || newly[m.RoomNID] {
				p.lo, p.full, p.newly = 0, true, r.since != nil
			}
			p.scan = &scanRange{visibleAfter: m.EventPos}
			plans = append(plans, p)
		case spec.MembershipInvite:
			if initial || changed[m.RoomNID] {
				invites = append(invites, m) // invites of ignored users are dropped in strippedRooms
			}
		case spec.MembershipKnock:
			if initial || changed[m.RoomNID] {
				knocks = append(knocks, m)
			}
		case spec.MembershipLeave, spec.MembershipBan:
			// A room forgotten since the last sync still shows its leave
			// (as Synapse does, and Complement expects): the user's other
			// devices learn of the leave that way.
			if !changed[m.RoomNID] && (m.Forgotten || !(initial && r.f.Room.IncludeLeave)) {
				continue
			}
			p := &plan{m: m, section: secLeave, lo: min(lo, m.EventPos), hi: m.EventPos, full: initial}
			p.scan = &scanRange{visibleAfter: checkAll}
			plans = append(plans, p)
		}
	}

	if err := r.timelines(ctx, plans); err != nil {
		return nil, err
	}
	if err := r.snapshotsOf(ctx, plans); err != nil {
		return nil, err
	}
	if err := r.summaries(ctx, plans); err != nil {
		return nil, err
	}
	if err := r.states(ctx, plans); err != nil {
		return nil, err
	}
	resp := newResponse()
	resp.NextBatch = upTo.String()
	if err := r.render(ctx, plans, resp); err != nil {
		return nil, err
	}
	if err := r.strippedRooms(ctx, invites, knocks, resp); err != nil {
		return nil, err
	}
	if err := r.accountData(ctx, upTo, joined, resp); err != nil {
		return nil, err
	}
	if err := r.ephemeral(ctx, upTo, joined, newly, resp); err != nil {
		return nil, err
	}
	if err := r.presence(ctx, upTo, plans, newly, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// membershipChanges reads the user's membership events in (lo, hi]: the
// rooms whose membership changed, and those the user joined anew (a join
// whose previous membership was not join).
func (r *syncRequest) membershipChanges(ctx context.Context, lo, hi int64) (changed, newly map[int64]bool, err error) {
	changed, newly = map[int64]bool{}, map[int64]bool{}
	if r.since == nil {
		return changed, newly, nil
	}
	evs, err := r.s.d.Store.MembershipEvents(ctx, r.uid, lo, hi)
	if err != nil || len(evs) == 0 {
		return changed, newly, err
	}
	// The membership before the first change of each room is that of the
	// event it replaced.
	var replaced []int64
	for _, se := range evs {
		if !changed[se.RoomNID] && se.Replaces != 0 {
			replaced = append(replaced, se.Replaces)
		}
		changed[se.RoomNID] = true
	}
	before := map[int64]string{}
	if len(replaced) > 0 {
		prev, err := r.s.d.Store.Events(ctx, replaced)
		if err != nil {
			return nil, nil, err
		}
		for _, se := range prev {
			before[se.RoomNID] = se.Membership
		}
	}
	for _, se := range evs {
		if se.Membership == spec.MembershipJoin && before[se.RoomNID] != spec.MembershipJoin {
			newly[se.RoomNID] = true
		}
		before[se.RoomNID] = se.Membership
	}
	return changed, newly, nil
}

// timelines scans every plan's range for its timeline.
func (r *syncRequest) timelines(ctx context.Context, plans []*plan) error {
	ranges := make([]*scanRange, len(plans))
	for i, p := range plans {
		sr := p.scan
		sr.room, sr.roomID, sr.lo, sr.hi, sr.want = p.m.RoomNID, p.m.RoomID, p.lo, p.hi, r.limit+1
		ranges[i] = sr
	}
	if err := r.s.scan(ctx, r.uid, ranges, false, r.match); err != nil {
		return err
	}
	for _, p := range plans {
		sr := p.scan
		kept := sr.kept
		p.limited = len(kept) > r.limit || (!sr.exhausted && len(kept) < sr.want) || (p.newly && len(kept) > 0)
		kept = kept[:min(len(kept), r.limit)]
		p.timeline = make([]store.Event, len(kept))
		for i, se := range kept {
			p.timeline[len(kept)-1-i] = se
		}
		p.prevBatch = p.hi
		if len(p.timeline) > 0 && !(p.lo == 0 && sr.exhausted && !p.limited) {
			p.prevBatch = p.timeline[0].Pos - 1
		}
		// Otherwise the timeline holds the room's history from its first
		// event: nothing earlier exists, and prev_batch is the end of the
		// range, as in Synapse, so that /members?at=prev_batch gives the
		// members as of this sync (Complement's TestGetRoomMembersAtPoint)
		// rather than those before the room existed. Paginating back from
		// it repeats the timeline once; the spec asks clients to
		// de-duplicate events by ID.
	}
	return nil
}

// snapshotsOf picks each plan's target and base snapshots, reading the
// state at the range's bounds where the scan did not see it.
func (r *syncRequest) snapshotsOf(ctx context.Context, plans []*plan) error {
	var lookups []store.EventRange
	byRoom := map[int64]*plan{}
	for _, p := range plans {
		first := p.scan.first // the newest event in range
		switch {
		case first != nil && r.stateAfter:
			p.target, p.hasTarget = first.StateAfter, true
		case len(p.timeline) > 0:
			p.target, p.hasTarget = p.timeline[0].StateBefore, true
		case first != nil:
			p.target, p.hasTarget = first.StateAfter, true
		}
		p.end = p.target
		if first != nil {
			p.end = first.StateAfter
		}
		switch {
		case p.full && !p.hasTarget && p.hi > 0:
			// The state at hi: after the last event at or below it.
			lookups = append(lookups, store.EventRange{RoomNID: p.m.RoomNID, UpTo: p.hi, Limit: 1})
			byRoom[p.m.RoomNID] = p
		case !p.full && p.hasTarget && p.lo > 0:
			// The base: the state after the last event at or below lo.
			lookups = append(lookups, store.EventRange{RoomNID: p.m.RoomNID, UpTo: p.lo, Limit: 1})
			byRoom[p.m.RoomNID] = p
		}
	}
	if len(lookups) == 0 {
		return nil
	}
	evs, err := r.s.d.Store.RangeEvents(ctx, lookups, false)
	if err != nil {
		return err
	}
	for _, se := range evs {
		p := byRoom[se.RoomNID]
		if p.full {
			p.target, p.end, p.hasTarget = se.StateAfter, se.StateAfter, true
		} else {
			p.base = se.StateAfter
		}
	}
	return nil
}

// summaries reads the summaries of joined rooms that are new to the client
// or whose membership may have changed.
func (r *syncRequest) summaries(ctx context.Context, plans []*plan) error {
	var nids []int64
	byRoom := map[int64]*plan{}
	for _, p := range plans {
		if p.section != secJoin || !p.hasTarget {
			continue
		}
		if p.full || p.scan.sawMember || p.base != p.target || p.base != p.end {
			nids = append(nids, p.m.RoomNID)
			byRoom[p.m.RoomNID] = p
		}
	}
	if len(nids) == 0 {
		return nil
	}
	sums, err := r.s.d.Store.RoomSummaries(ctx, nids, r.uid)
	if err != nil {
		return err
	}
	for i := range sums {
		byRoom[sums[i].RoomNID].summary = &sums[i]
	}
	return nil
}

// states computes each plan's state section: the whole target state, or
// its difference from the base, filtered by the state filter, and with
// lazy loading only the members the client needs.
//
// Without use_state_after, the section also holds the state events of the
// range's end that are not in the timeline (as Synapse does): state events
// a timeline filter left out, or that the scan did not reach, would
// otherwise never reach the client. Clients apply the state section, then
// the timeline, so the end state wins where both name a key.
func (r *syncRequest) states(ctx context.Context, plans []*plan) error {
	s := r.s
	var snaps []int64
	for _, p := range plans {
		if p.hasTarget {
			snaps = append(snaps, p.target, p.end)
			if !p.full {
				snaps = append(snaps, p.base)
			}
		}
	}
	if len(snaps) == 0 {
		return nil
	}
	states, err := s.d.Rooms.Snapshots(ctx, snaps)
	if err != nil {
		return err
	}
	// The state keys in play, and the member keys lazy loading looks up.
	type entry struct{ key, nid int64 }
	type cand struct {
		p       *plan
		entries []entry
	}
	var cands []cand
	var allKeys []int64
	var wantTuples []spec.StateKeyTuple
	needed := map[*plan]map[string]bool{}
	for _, p := range plans {
		if !p.hasTarget {
			continue
		}
		target, base, end := states[p.target], states[p.base], states[p.end]
		inTimeline := make(map[int64]bool, len(p.timeline))
		for _, se := range p.timeline {
			inTimeline[se.NID] = true
		}
		c := cand{p: p}
		if p.full || p.target != p.base {
			for k, ev := range target {
				if p.full || base[k] != ev {
					c.entries = append(c.entries, entry{k, ev})
					allKeys = append(allKeys, k)
				}
			}
		}
		if !r.stateAfter && p.end != p.target && (p.full || p.end != p.base) {
			for k, ev := range end {
				if ev != target[k] && (p.full || base[k] != ev) && !inTimeline[ev] {
					c.entries = append(c.entries, entry{k, ev})
					allKeys = append(allKeys, k)
				}
			}
		}
		cands = append(cands, c)
		if r.lazy {
			need := map[string]bool{}
			for _, se := range p.timeline {
				need[se.Sender] = true
			}
			if p.full {
				need[r.uid] = true
			}
			needed[p] = need
			if !p.full {
				for u := range need {
					wantTuples = append(wantTuples, spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: u})
				}
				if p.summary != nil {
					for _, h := range p.summary.Heroes {
						wantTuples = append(wantTuples, spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: h})
					}
				}
			}
		}
	}
	tuples, err := s.d.Rooms.StateKeys(ctx, allKeys)
	if err != nil {
		return err
	}
	nameKey := spec.StateKeyTuple{Type: spec.MRoomName}
	aliasKey := spec.StateKeyTuple{Type: spec.MRoomCanonicalAlias}
	var memberKeys map[spec.StateKeyTuple]int64
	if r.lazy {
		if memberKeys, err = s.d.Rooms.StateKeyNIDs(ctx, append(wantTuples, nameKey, aliasKey)); err != nil {
			return err
		}
	}
	typeOK := typeMatcher(&r.f.Room.State)
	var load []int64
	picked := map[*plan][]int64{}
	for _, c := range cands {
		p := c.p
		target := states[p.target]
		// The heroes name a room without name or canonical alias: with lazy
		// loading their memberships must be sent (spec: m.heroes).
		if r.lazy && p.summary != nil && target[memberKeys[nameKey]] == 0 && target[memberKeys[aliasKey]] == 0 {
			for _, h := range p.summary.Heroes {
				needed[p][h] = true
			}
		}
		in := map[int64]bool{}
		var nids []int64
		add := func(nid int64) {
			if !in[nid] {
				in[nid] = true
				nids = append(nids, nid)
			}
		}
		if p.newly && r.members != nil {
			r.members.resetRoom(p.m.RoomNID)
		}
		for _, en := range c.entries {
			t := tuples[en.key]
			if !typeOK(t.Type, p.m.RoomID) {
				continue
			}
			if r.lazy && p.full && t.Type == spec.MRoomMember && !needed[p][t.StateKey] {
				continue
			}
			add(en.nid)
		}
		if r.lazy && !p.full && typeOK(spec.MRoomMember, p.m.RoomID) {
			for u := range needed[p] {
				nid := target[memberKeys[spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: u}]]
				if nid != 0 && !in[nid] && (r.redundant || !r.members.sent(p.m.RoomNID, u, nid)) {
					add(nid)
				}
			}
		}
		picked[p] = nids
		load = append(load, nids...)
	}
	if len(load) == 0 {
		return nil
	}
	evs, err := s.d.Store.Events(ctx, load)
	if err != nil {
		return err
	}
	byNID := make(map[int64]store.Event, len(evs))
	for _, se := range evs {
		byNID[se.NID] = se
	}
	for p, nids := range picked {
		for _, nid := range nids {
			se, ok := byNID[nid]
			if ok && r.f.Room.State.Matches(se.Type, se.Sender, p.m.RoomID) {
				p.state = append(p.state, se)
			}
		}
		slices.SortFunc(p.state, func(a, b store.Event) int { return cmp.Compare(a.Pos, b.Pos) })
	}
	return nil
}

// typeMatcher returns a check of an event filter's types, not_types,
// rooms and not_rooms only (for state keys, whose senders are not known
// before their events are loaded).
func typeMatcher(f *filter.RoomEventFilter) func(eventType, roomID string) bool {
	g := *f
	g.Senders, g.NotSenders = nil, nil
	return func(eventType, roomID string) bool { return g.Matches(eventType, "", roomID) }
}

// render formats every plan's timeline and state with one call of the
// room engine and puts the rooms in the response.
func (r *syncRequest) render(ctx context.Context, plans []*plan, resp *Response) error {
	var all []store.Event
	for _, p := range plans {
		all = append(all, p.timeline...)
		all = append(all, p.state...)
	}
	formatted, err := r.s.d.Rooms.ClientEvents(ctx, all, room.Viewer{UserID: r.uid, DeviceID: r.device})
	if err != nil {
		return err
	}
	if len(formatted) != len(all) {
		return fmt.Errorf("sync: %d events formatted as %d", len(all), len(formatted))
	}
	next := func(n int) []json.RawMessage {
		out := make([]json.RawMessage, n)
		for i := range out {
			out[i] = withoutKey(formatted[i], "room_id")
		}
		formatted = formatted[n:]
		return out
	}
	for _, p := range plans {
		if p.section == secJoin && !p.full && len(p.timeline) == 0 && len(p.state) == 0 && p.summary == nil {
			continue // nothing happened in this room
		}
		tl := Timeline{Events: next(len(p.timeline)), Limited: p.limited, PrevBatch: PaginationToken(p.prevBatch)}
		st := &EventBatch{Events: next(len(p.state))}
		if r.members != nil {
			for _, se := range p.timeline {
				if se.Type == spec.MRoomMember && se.StateKey != nil {
					r.members.record(p.m.RoomNID, *se.StateKey, se.NID)
				}
			}
			for _, se := range p.state {
				if se.Type == spec.MRoomMember && se.StateKey != nil {
					r.members.record(p.m.RoomNID, *se.StateKey, se.NID)
				}
			}
		}
		var state, stateAfter *EventBatch
		if r.stateAfter {
			stateAfter = st
		} else {
			state = st
		}
		switch p.section {
		case secJoin:
			jr := newJoinedRoom()
			jr.Timeline, jr.State, jr.StateAfter = tl, state, stateAfter
			if p.summary != nil {
				jr.Summary = &Summary{Heroes: p.summary.Heroes, Joined: p.summary.Joined, Invited: p.summary.Invited}
			}
			resp.Rooms.Join[p.m.RoomID] = jr
		case secLeave:
			resp.Rooms.Leave[p.m.RoomID] = &LeftRoom{
				Timeline: tl, State: state, StateAfter: stateAfter, AccountData: EventBatch{Events: []json.RawMessage{}},
			}
		}
	}
	return nil
}

func newJoinedRoom() *JoinedRoom {
	return &JoinedRoom{
		Timeline:    Timeline{Events: []json.RawMessage{}},
		Ephemeral:   EventBatch{Events: []json.RawMessage{}},
		AccountData: EventBatch{Events: []json.RawMessage{}},
	}
}

// joinedRoom returns the response's entry of a joined room, adding one
// with an empty timeline if the room had no other news.
func (r *syncRequest) joinedRoom(resp *Response, m store.Membership) *JoinedRoom {
	jr := resp.Rooms.Join[m.RoomID]
	if jr == nil {
		jr = newJoinedRoom()
		jr.Timeline.PrevBatch = PaginationToken(r.upTo)
		resp.Rooms.Join[m.RoomID] = jr
	}
	return jr
}

// strippedRooms fills the invite and knock sections.
func (r *syncRequest) strippedRooms(ctx context.Context, invites, knocks []store.Membership, resp *Response) error {
	if len(invites)+len(knocks) == 0 {
		return nil
	}
	nids := make([]int64, 0, len(invites)+len(knocks))
	for _, m := range append(slices.Clone(invites), knocks...) {
		nids = append(nids, m.EventNID)
	}
	evs, err := r.s.d.Store.Events(ctx, nids)
	if err != nil {
		return err
	}
	own := make(map[int64]store.Event, len(evs))
	for _, se := range evs {
		own[se.NID] = se
	}
	build := func(m store.Membership, inviter string) ([]json.RawMessage, error) {
		state, err := r.s.d.Rooms.StrippedState(ctx, m.RoomID, inviter)
		if err != nil {
			return nil, err
		}
		se, ok := own[m.EventNID]
		if !ok {
			return state, nil
		}
		ev, err := stripped(se.JSON)
		if err != nil {
			return nil, err
		}
		if inviter == r.uid {
			return state, nil // StrippedState has it already
		}
		return append(state, ev), nil
	}
	for _, m := range invites {
		inviter := own[m.EventNID].Sender
		if r.ignored[inviter] {
			continue // the spec: servers must not send invites from ignored users
		}
		state, err := build(m, inviter)
		if err != nil {
			return err
		}
		resp.Rooms.Invite[m.RoomID] = &InvitedRoom{InviteState: EventBatch{Events: state}}
	}
	for _, m := range knocks {
		state, err := build(m, "")
		if err != nil {
			return err
		}
		resp.Rooms.Knock[m.RoomID] = &KnockedRoom{KnockState: EventBatch{Events: state}}
	}
	return nil
}
