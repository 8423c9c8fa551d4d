package room

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// readView is the state a user may read of a room: the current state for
// members and readers of world-readable rooms, the state when they left
// for former members.
type readView struct {
	room     roomInfo
	snapshot int64
	// upTo is the last stream position the user may see the state at (0:
	// no limit).
	upTo   int64
	joined bool
}

// readable returns what user may read of a room: 403 M_FORBIDDEN when the
// room is unknown or the user is neither in it, nor was, nor may read it
// because it is world-readable.
func (e *Engine) readable(ctx context.Context, user, roomID string) (readView, error) {
	forbidden := spec.Forbidden("you are not a member of room %s", roomID)
	ri, err := e.room(ctx, roomID)
	if errors.Is(err, errUnknownRoom) {
		return readView{}, forbidden
	}
	if err != nil {
		return readView{}, err
	}
	r, err := e.store.RoomByID(ctx, roomID)
	if err != nil {
		return readView{}, err
	}
	v := readView{room: ri, snapshot: r.Snapshot}
	m, err := e.store.RoomMembership(ctx, ri.NID, user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	if err == nil {
		switch {
		case m.Membership == spec.MembershipJoin:
			v.joined = true
			return v, nil
		case (m.Membership == spec.MembershipLeave || m.Membership == spec.MembershipBan) && !m.Forgotten:
			evs, err := e.store.Events(ctx, []int64{m.EventNID})
			if err != nil || len(evs) == 0 {
				return v, errors.Join(err, errors.New("membership event missing"))
			}
			v.snapshot, v.upTo = evs[0].StateAfter, evs[0].Pos
			return v, nil
		}
	}
	wr, err := e.worldReadable(ctx, ri, r.Snapshot)
	if err != nil {
		return v, err
	}
	if !wr {
		return v, forbidden
	}
	return v, nil
}

// Access is what a user may read of a room: the state they see, and how
// far in the events stream they may read (events before that still pass
// through FilterVisible).
type Access struct {
	RoomNID int64
	RoomID  string
	// Version is the room version ID.
	Version string
	// Snapshot is the state the user sees: the current state for members
	// and readers of world-readable rooms, the state after their leave
	// (kick, ban) event for former members.
	Snapshot int64
	// UpTo is the last events stream position the user may read: their
	// leave event's for former members, 0 (no limit) otherwise.
	UpTo int64
	// Joined says the user is joined.
	Joined bool
}

// Access returns what user may read of a room: 403 M_FORBIDDEN when the
// room is unknown, or the user is neither in it, nor was (and has not
// forgotten it), nor may read it because it is world-readable. /messages,
// /context and /members use it.
func (e *Engine) Access(ctx context.Context, user, roomID string) (Access, error) {
	v, err := e.readable(ctx, user, roomID)
	if err != nil {
		return Access{}, err
	}
	return Access{RoomNID: v.room.NID, RoomID: v.room.ID, Version: v.room.Version.ID, Snapshot: v.snapshot, UpTo: v.upTo, Joined: v.joined}, nil
}

// worldReadable reports whether the history visibility of a state is
// world_readable.
func (e *Engine) worldReadable(ctx context.Context, ri roomInfo, snapshot int64) (bool, error) {
	ev, err := e.stateEvent(ctx, snapshot, spec.StateKeyTuple{Type: spec.MRoomHistoryVisibility})
	if err != nil || ev == nil {
		return false, err
	}
	return historyVisibility(ev.JSON) == VisibilityWorldReadable, nil
}

// stateEvent returns the stored event of a state for t, nil if none.
func (e *Engine) stateEvent(ctx context.Context, snapshot int64, t spec.StateKeyTuple) (*store.Event, error) {
	keys, err := e.keyNIDsOf(ctx, []spec.StateKeyTuple{t})
	if err != nil {
		return nil, err
	}
	k, ok := keys[t]
	if !ok {
		return nil, nil
	}
	state, err := e.snapshot(ctx, snapshot, e.store.Snapshot)
	if err != nil {
		return nil, err
	}
	nid, ok := state[k]
	if !ok {
		return nil, nil
	}
	evs, err := e.store.Events(ctx, []int64{nid})
	if err != nil || len(evs) == 0 {
		return nil, errors.Join(err, errors.New("state event missing"))
	}
	return &evs[0], nil
}

// RoomState returns the state a user may see of a room
// (GET /rooms/{roomId}/state): the current state for members, the state
// when they left for former members. 403 M_FORBIDDEN otherwise.
func (e *Engine) RoomState(ctx context.Context, viewer Viewer, roomID string) ([]json.RawMessage, error) {
	v, err := e.readable(ctx, viewer.UserID, roomID)
	if err != nil {
		return nil, err
	}
	state, err := e.snapshot(ctx, v.snapshot, e.store.Snapshot)
	if err != nil {
		return nil, err
	}
	nids := make([]int64, 0, len(state))
	for _, ev := range state {
		nids = append(nids, ev)
	}
	slices.Sort(nids)
	evs, err := e.store.Events(ctx, nids)
	if err != nil {
		return nil, err
	}
	return e.ClientEvents(ctx, evs, viewer)
}

// StateEvent returns one state event a user may see
// (GET /rooms/{roomId}/state/{eventType}/{stateKey}): its content, or
// with full the whole client event. 404 M_NOT_FOUND when the state has no
// such event.
func (e *Engine) StateEvent(ctx context.Context, viewer Viewer, roomID, eventType, stateKey string, full bool) (json.RawMessage, error) {
	v, err := e.readable(ctx, viewer.UserID, roomID)
	if err != nil {
		return nil, err
	}
	se, err := e.stateEvent(ctx, v.snapshot, spec.StateKeyTuple{Type: eventType, StateKey: stateKey})
	if err != nil {
		return nil, err
	}
	if se == nil {
		return nil, spec.NotFound("the room has no %s state with key %q", eventType, stateKey)
	}
	out, err := e.ClientEvents(ctx, []store.Event{*se}, viewer)
	if err != nil {
		return nil, err
	}
	if full {
		return out[0], nil
	}
	var ce struct {
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(out[0], &ce); err != nil {
		return nil, err
	}
	return ce.Content, nil
}

// Event returns an event the user may see (GET /rooms/{roomId}/event/{eventId});
// 404 M_NOT_FOUND when it is not in the room, or not visible to the user.
func (e *Engine) Event(ctx context.Context, viewer Viewer, roomID, eventID string) (json.RawMessage, error) {
	notFound := spec.NotFound("event %s not found", eventID)
	ri, err := e.room(ctx, roomID)
	if errors.Is(err, errUnknownRoom) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	evs, err := e.store.EventsByID(ctx, []string{eventID})
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 || evs[0].RoomNID != ri.NID {
		return nil, notFound
	}
	visible, err := e.FilterVisible(ctx, viewer.UserID, evs)
	if err != nil {
		return nil, err
	}
	if len(visible) == 0 {
		return nil, notFound
	}
	out, err := e.ClientEventsBundled(ctx, visible, viewer)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// MembersQuery selects members for Members.
type MembersQuery struct {
	// At, if not 0, is the events stream position to read the members at.
	At int64
	// Membership and NotMembership filter by membership; when both are
	// set, either condition selects.
	Membership, NotMembership string
}

// Members returns the m.room.member events of a room
// (GET /rooms/{roomId}/members): of the current state for members, of the
// state when they left for former members, or of the state at q.At (never
// later than the user may see).
func (e *Engine) Members(ctx context.Context, viewer Viewer, roomID string, q MembersQuery) ([]json.RawMessage, error) {
	v, err := e.readable(ctx, viewer.UserID, roomID)
	if err != nil {
		return nil, err
	}
	snapshot := v.snapshot
	if at := q.At; at > 0 {
		if v.upTo > 0 {
			at = min(at, v.upTo)
		}
		ev, err := e.store.LatestEventAt(ctx, v.room.NID, at)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		snapshot = ev.StateAfter
	}
	state, err := e.snapshot(ctx, snapshot, e.store.Snapshot)
	if err != nil {
		return nil, err
	}
	keys := make([]int64, 0, len(state))
	for k := range state {
		keys = append(keys, k)
	}
	tuples, err := e.stateKeys(ctx, keys, e.store.StateKeys)
	if err != nil {
		return nil, err
	}
	var nids []int64
	for k, ev := range state {
		if tuples[k].Type == spec.MRoomMember {
			nids = append(nids, ev)
		}
	}
	slices.Sort(nids)
	evs, err := e.store.Events(ctx, nids)
	if err != nil {
		return nil, err
	}
	if q.Membership != "" || q.NotMembership != "" {
		evs = slices.DeleteFunc(evs, func(se store.Event) bool {
			is := q.Membership != "" && se.Membership == q.Membership
			isNot := q.NotMembership != "" && se.Membership != q.NotMembership
			return !is && !isNot
		})
	}
	return e.ClientEvents(ctx, evs, viewer)
}

// JoinedMember is an entry of JoinedMembers: the display name and avatar
// of the member's join event, nil when it has none.
//
// NOTSPEC: both keys are always present, null when unset (the spec lists
// them as optional strings). Synapse answers so and clients and
// Complement's "joined_members fetches my membership" read the keys.
type JoinedMember struct {
	DisplayName *string `json:"display_name"`
	AvatarURL   *string `json:"avatar_url"`
}

// JoinedMembers returns the joined members of a room and their profiles
// (GET /rooms/{roomId}/joined_members); the user must be joined (403
// M_FORBIDDEN otherwise).
func (e *Engine) JoinedMembers(ctx context.Context, user, roomID string) (map[string]JoinedMember, error) {
	v, err := e.readable(ctx, user, roomID)
	if err != nil {
		return nil, err
	}
	if !v.joined {
		return nil, spec.Forbidden("you are not joined to room %s", roomID)
	}
	ms, err := e.store.RoomMemberships(ctx, v.room.NID, []string{spec.MembershipJoin})
	if err != nil {
		return nil, err
	}
	nids := make([]int64, len(ms))
	for i, m := range ms {
		nids[i] = m.EventNID
	}
	evs, err := e.store.Events(ctx, nids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]JoinedMember, len(evs))
	for _, se := range evs {
		var ev struct {
			Content struct {
				DisplayName any `json:"displayname"`
				AvatarURL   any `json:"avatar_url"`
			} `json:"content"`
		}
		json.Unmarshal(se.JSON, &ev)
		var jm JoinedMember
		if se.RedactedBy == "" {
			if name, ok := ev.Content.DisplayName.(string); ok {
				jm.DisplayName = &name
			}
			if url, ok := ev.Content.AvatarURL.(string); ok {
				jm.AvatarURL = &url
			}
		}
		if se.StateKey != nil {
			out[*se.StateKey] = jm
		}
	}
	return out, nil
}

// StrippedState returns the stripped state events of a room's current
// state that an invitee or knocker is shown (client-server API, "Stripped
// state"): create, join rules, name, avatar, topic, canonical alias,
// encryption and, when inviter is set, the inviter's membership. Each is
// {type, state_key, content, sender}.
func (e *Engine) StrippedState(ctx context.Context, roomID, inviter string) ([]json.RawMessage, error) {
	ri, err := e.room(ctx, roomID)
	if err != nil {
		return nil, err
	}
	entries, err := e.store.CurrentState(ctx, ri.NID, []string{spec.MRoomCreate, spec.MRoomJoinRules, spec.MRoomName,
		spec.MRoomAvatar, spec.MRoomTopic, spec.MRoomCanonicalAlias, spec.MRoomEncryption, spec.MRoomMember})
	if err != nil {
		return nil, err
	}
	var nids []int64
	for _, en := range entries {
		if en.Type == spec.MRoomMember && en.StateKey.StateKey != inviter {
			continue
		}
		if en.StateKey.StateKey == "" || en.Type == spec.MRoomMember {
			nids = append(nids, en.EventNID)
		}
	}
	evs, err := e.store.Events(ctx, nids)
	if err != nil {
		return nil, err
	}
	parsed, err := e.parseEvents(ri.Version, evs)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, len(evs))
	for _, se := range evs {
		ev := parsed[se.NID]
		raw, err := json.Marshal(map[string]any{
			"type": ev.Type(), "state_key": *ev.StateKey(), "content": ev.Content(), "sender": ev.Sender(),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	return out, nil
}

// StateEvents returns the stored events of a state snapshot (an event's
// StateBefore or StateAfter, or Access.Snapshot), in NID order.
func (e *Engine) StateEvents(ctx context.Context, snapshot int64) ([]store.Event, error) {
	state, err := e.snapshot(ctx, snapshot, e.store.Snapshot)
	if err != nil {
		return nil, err
	}
	nids := make([]int64, 0, len(state))
	for _, ev := range state {
		nids = append(nids, ev)
	}
	slices.Sort(nids)
	return e.store.Events(ctx, nids)
}

// StateDelta returns the events of snapshot to that are not in snapshot
// from (new or replaced entries; keys removed by state resolution have no
// event and are not reported), in NID order: what an incremental sync
// sends as a room's state.
func (e *Engine) StateDelta(ctx context.Context, from, to int64) ([]store.Event, error) {
	if from == to {
		return nil, nil
	}
	a, err := e.snapshot(ctx, from, e.store.Snapshot)
	if err != nil {
		return nil, err
	}
	b, err := e.snapshot(ctx, to, e.store.Snapshot)
	if err != nil {
		return nil, err
	}
	var nids []int64
	for k, ev := range b {
		if a[k] != ev {
			nids = append(nids, ev)
		}
	}
	slices.Sort(nids)
	return e.store.Events(ctx, nids)
}
