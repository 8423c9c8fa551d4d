package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"myelin/internal/eventauth"
	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// resolveRoom resolves a room ID or local alias to a room this server
// knows: 400 M_INVALID_PARAM when it is neither, 404 M_NOT_FOUND when it is
// unknown (remote rooms need federation, which this server does not offer
// yet).
func (e *Engine) resolveRoom(ctx context.Context, roomIDOrAlias string) (roomInfo, error) {
	roomID := roomIDOrAlias
	if strings.HasPrefix(roomIDOrAlias, "#") {
		if _, err := spec.ParseRoomAlias(roomIDOrAlias); err != nil {
			return roomInfo{}, spec.InvalidParam("invalid room alias %q", roomIDOrAlias)
		}
		a, err := e.store.AliasRoom(ctx, roomIDOrAlias)
		if errors.Is(err, store.ErrNotFound) {
			return roomInfo{}, spec.NotFound("room alias %s not found", roomIDOrAlias)
		}
		if err != nil {
			return roomInfo{}, err
		}
		roomID = a.RoomID
	} else if _, err := spec.ParseRoomID(roomIDOrAlias); err != nil {
		return roomInfo{}, spec.InvalidParam("%q is neither a room ID nor a room alias", roomIDOrAlias)
	}
	ri, err := e.room(ctx, roomID)
	if errors.Is(err, errUnknownRoom) {
		return ri, spec.NotFound("room %s is not known to this server", roomIDOrAlias)
	}
	return ri, err
}

// ParseTarget parses the user_id of a membership request: 400
// M_MISSING_PARAM when empty, M_INVALID_PARAM when not a user ID.
func ParseTarget(s string) (spec.UserID, error) {
	if s == "" {
		return spec.UserID{}, spec.MissingParam("user_id is required")
	}
	uid, err := spec.ParseHistoricalUserID(s)
	if err != nil {
		return uid, spec.InvalidParam("invalid user ID %q", s)
	}
	return uid, nil
}

// membershipOf returns user's membership in state and its event ("" and
// nil for none).
func (w *writer) membershipOf(state store.StateMap, user string) (string, *pdu.Event, error) {
	t := spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: user}
	evs, err := w.stateEvents(state, []spec.StateKeyTuple{t})
	if err != nil {
		return "", nil, err
	}
	ev := evs[t]
	if ev == nil {
		return "", nil, nil
	}
	m, _ := ev.Membership()
	return m, ev, nil
}

// sendMember sends an m.room.member event for target.
func (w *writer) sendMember(sender, target string, content map[string]any) (*pdu.Event, error) {
	raw, err := json.Marshal(content)
	if err != nil {
		return nil, err
	}
	return w.send(localEvent{Type: spec.MRoomMember, StateKey: &target, Sender: sender, Content: raw})
}

// Join joins s to a room this server knows, by ID or local alias, and
// returns the room ID. Joining a room one is in already changes nothing.
// In restricted rooms, a local member who may invite authorises the join
// when s is joined to one of the rooms the join rules allow.
func (e *Engine) Join(ctx context.Context, s Sender, roomIDOrAlias, reason string) (string, error) {
	ri, err := e.resolveRoom(ctx, roomIDOrAlias)
	if err != nil {
		return "", err
	}
	user := s.UserID.String()
	profile := e.profiles(ctx, []string{user})[user]
	err = e.write(ctx, ri, func(w *writer) error {
		m, old, err := w.membershipOf(w.cur, user)
		if err != nil {
			return err
		}
		content := memberContent(spec.MembershipJoin, reason, profile, nil)
		if m == spec.MembershipJoin && sameMember(old, content) {
			return nil
		}
		if m != spec.MembershipJoin && m != spec.MembershipInvite {
			via, err := w.restrictedAuthoriser(user)
			if err != nil {
				return err
			}
			if via != "" {
				content["join_authorised_via_users_server"] = via
			}
		}
		_, err = w.sendMember(user, user, content)
		return err
	})
	if err != nil {
		return "", err
	}
	return ri.ID, nil
}

// sameMember reports whether a member event already has content's
// membership, display name and avatar.
func sameMember(ev *pdu.Event, content map[string]any) bool {
	var c map[string]any
	if ev == nil || json.Unmarshal(ev.Content(), &c) != nil {
		return false
	}
	for _, k := range []string{"membership", "displayname", "avatar_url"} {
		if fmt.Sprint(c[k]) != fmt.Sprint(content[k]) {
			return false
		}
	}
	return true
}

// restrictedAuthoriser returns, for a join to a restricted room by a user
// who is a member of one of the rooms its join rules allow, a local member
// who may invite (the highest-powered one); "" when the room is not
// restricted or the conditions do not hold (the authorization rules then
// decide).
func (w *writer) restrictedAuthoriser(user string) (string, error) {
	v := w.room.Version
	tuples := []spec.StateKeyTuple{createTuple, {Type: spec.MRoomJoinRules}, {Type: spec.MRoomPowerLevels}}
	st, err := w.stateEvents(w.cur, tuples)
	if err != nil {
		return "", err
	}
	jr := st[spec.StateKeyTuple{Type: spec.MRoomJoinRules}]
	if jr == nil {
		return "", nil
	}
	var rules struct {
		JoinRule string `json:"join_rule"`
		Allow    []struct {
			Type   string `json:"type"`
			RoomID string `json:"room_id"`
		} `json:"allow"`
	}
	if json.Unmarshal(jr.Content(), &rules) != nil {
		return "", nil
	}
	restricted := (rules.JoinRule == spec.JoinRuleRestricted && v.Restricted) ||
		(rules.JoinRule == spec.JoinRuleKnockRestricted && v.KnockRestricted)
	if !restricted {
		return "", nil
	}
	memberships, err := w.e.store.UserMemberships(w.ctx, user)
	if err != nil {
		return "", err
	}
	allowed := false
	for _, a := range rules.Allow {
		if a.Type != "m.room_membership" {
			continue
		}
		if slices.ContainsFunc(memberships, func(m store.Membership) bool {
			return m.RoomID == a.RoomID && m.Membership == spec.MembershipJoin
		}) {
			allowed = true
			break
		}
	}
	if !allowed {
		return "", nil
	}
	pl, _ := eventauth.PowerLevelsFromState(st, v)
	members, err := w.e.store.RoomMemberships(w.ctx, w.room.NID, []string{spec.MembershipJoin})
	if err != nil {
		return "", err
	}
	best, bestLevel := "", int64(0)
	for _, m := range members {
		uid, err := spec.ParseHistoricalUserID(m.UserID)
		if err != nil || uid.Domain() != w.e.opts.ServerName {
			continue
		}
		if l := pl.UserLevel(m.UserID); l >= pl.Invite && (best == "" || l > bestLevel) {
			best, bestLevel = m.UserID, l
		}
	}
	if best == "" {
		return "", spec.NewError(403, spec.ErrUnableToGrantJoin, "no member of this server can authorise the join")
	}
	return best, nil
}

// Invite invites target to a room (POST /rooms/{roomId}/invite). Inviting
// a user who is invited already changes nothing; a joined user cannot be
// invited (403).
func (e *Engine) Invite(ctx context.Context, s Sender, roomID string, target spec.UserID, reason string) error {
	if err := e.checkLocal(target); err != nil {
		return err
	}
	ri, err := e.writableRoom(ctx, roomID)
	if err != nil {
		return err
	}
	t := target.String()
	profile := e.profiles(ctx, []string{t})[t]
	return e.write(ctx, ri, func(w *writer) error {
		m, _, err := w.membershipOf(w.cur, t)
		if err != nil {
			return err
		}
		switch m {
		case spec.MembershipInvite:
			if mine, _, err := w.membershipOf(w.cur, s.UserID.String()); err != nil || mine == spec.MembershipJoin {
				return err
			}
		case spec.MembershipJoin:
			return spec.Forbidden("%s is already in the room", t)
		case spec.MembershipBan:
			return spec.Forbidden("%s is banned from the room", t)
		}
		_, err = w.sendMember(s.UserID.String(), t, memberContent(spec.MembershipInvite, reason, profile, nil))
		return err
	})
}

// Leave leaves a room, rejects an invite or retracts a knock
// (POST /rooms/{roomId}/leave). Leaving a room one has left changes
// nothing.
func (e *Engine) Leave(ctx context.Context, s Sender, roomID, reason string) error {
	ri, err := e.writableRoom(ctx, roomID)
	if err != nil {
		return err
	}
	user := s.UserID.String()
	return e.write(ctx, ri, func(w *writer) error {
		m, _, err := w.membershipOf(w.cur, user)
		if err != nil || m == spec.MembershipLeave {
			return err
		}
		if m == "" {
			return spec.Forbidden("you are not in this room")
		}
		if m == spec.MembershipInvite && e.opts.ServerNoticesUser != "" {
			// "Attempting to reject the invite [to the server notices room]
			// must result in a M_CANNOT_LEAVE_SERVER_NOTICE_ROOM error."
			create, err := w.stateEvents(w.cur, []spec.StateKeyTuple{createTuple})
			if err != nil {
				return err
			}
			if ev := create[createTuple]; ev != nil && ev.Sender() == e.opts.ServerNoticesUser {
				return spec.NewError(403, spec.ErrCannotLeaveServerNoticeRoom, "the invite to the server notices room cannot be rejected")
			}
		}
		_, err = w.sendMember(user, user, memberContent(spec.MembershipLeave, reason, store.Profile{}, nil))
		return err
	})
}

// Kick removes target from a room (POST /rooms/{roomId}/kick); target must
// be joined, invited or knocking.
func (e *Engine) Kick(ctx context.Context, s Sender, roomID string, target spec.UserID, reason string) error {
	return e.moderate(ctx, s, roomID, target, reason, spec.MembershipLeave, func(m string) error {
		if m != spec.MembershipJoin && m != spec.MembershipInvite && m != spec.MembershipKnock {
			return spec.Forbidden("%s is not in the room", target.String())
		}
		return nil
	})
}

// Ban bans target from a room (POST /rooms/{roomId}/ban).
func (e *Engine) Ban(ctx context.Context, s Sender, roomID string, target spec.UserID, reason string) error {
	return e.moderate(ctx, s, roomID, target, reason, spec.MembershipBan, nil)
}

// Unban lifts target's ban (POST /rooms/{roomId}/unban); target must be
// banned.
func (e *Engine) Unban(ctx context.Context, s Sender, roomID string, target spec.UserID, reason string) error {
	return e.moderate(ctx, s, roomID, target, reason, spec.MembershipLeave, func(m string) error {
		if m != spec.MembershipBan {
			return spec.Forbidden("%s is not banned", target.String())
		}
		return nil
	})
}

// moderate sets another user's membership, after precondition accepts
// their current membership.
func (e *Engine) moderate(ctx context.Context, s Sender, roomID string, target spec.UserID, reason, membership string, precondition func(string) error) error {
	ri, err := e.writableRoom(ctx, roomID)
	if err != nil {
		return err
	}
	t := target.String()
	return e.write(ctx, ri, func(w *writer) error {
		m, _, err := w.membershipOf(w.cur, t)
		if err != nil {
			return err
		}
		if precondition != nil {
			if err := precondition(m); err != nil {
				return err
			}
		}
		_, err = w.sendMember(s.UserID.String(), t, memberContent(membership, reason, store.Profile{}, nil))
		return err
	})
}

// Forget hides a room s has left from s (POST /rooms/{roomId}/forget):
// 400 M_UNKNOWN while s is joined, invited or knocking; forgetting a room
// one never belonged to changes nothing.
func (e *Engine) Forget(ctx context.Context, s Sender, roomID string) error {
	ri, err := e.writableRoom(ctx, roomID)
	if err != nil {
		return err
	}
	ms, err := e.store.RoomMemberships(ctx, ri.NID, nil)
	if err != nil {
		return err
	}
	user := s.UserID.String()
	i := slices.IndexFunc(ms, func(m store.Membership) bool { return m.UserID == user })
	if i < 0 {
		return nil
	}
	switch ms[i].Membership {
	case spec.MembershipLeave, spec.MembershipBan:
	default:
		return spec.NewError(400, spec.ErrUnknown, "%s is in room %s: leave it first", user, ri.ID)
	}
	if err := e.store.ForgetRoom(ctx, ri.NID, user); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// Knock knocks on a room this server knows, by ID or local alias, and
// returns the room ID.
func (e *Engine) Knock(ctx context.Context, s Sender, roomIDOrAlias, reason string) (string, error) {
	ri, err := e.resolveRoom(ctx, roomIDOrAlias)
	if err != nil {
		return "", err
	}
	user := s.UserID.String()
	profile := e.profiles(ctx, []string{user})[user]
	err = e.write(ctx, ri, func(w *writer) error {
		_, err := w.sendMember(user, user, memberContent(spec.MembershipKnock, reason, profile, nil))
		return err
	})
	if err != nil {
		return "", err
	}
	return ri.ID, nil
}

// JoinedRooms lists the rooms user is joined to (GET /joined_rooms).
func (e *Engine) JoinedRooms(ctx context.Context, user spec.UserID) ([]string, error) {
	ms, err := e.store.UserMemberships(ctx, user.String())
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, m := range ms {
		if m.Membership == spec.MembershipJoin {
			out = append(out, m.RoomID)
		}
	}
	return out, nil
}

// ProfileChanged sends a new join event with the given display name and
// avatar URL ("" for none) to every room user is joined to, as a profile
// change requires ("Events on Change of Profile Information"); it is the
// profile service's hook. Rooms where the event is rejected are skipped;
// the first storage error is returned after trying every room.
func (e *Engine) ProfileChanged(ctx context.Context, user spec.UserID, displayName, avatarURL string) error {
	rooms, err := e.JoinedRooms(ctx, user)
	if err != nil {
		return err
	}
	p := store.Profile{DisplayName: displayName, AvatarURL: avatarURL}
	var first error
	for _, roomID := range rooms {
		ri, err := e.room(ctx, roomID)
		if err != nil {
			first = cmpFirst(first, err)
			continue
		}
		err = e.write(ctx, ri, func(w *writer) error {
			m, old, err := w.membershipOf(w.cur, user.String())
			if err != nil || m != spec.MembershipJoin {
				return err
			}
			content := memberContent(spec.MembershipJoin, "", p, nil)
			if sameMember(old, content) {
				return nil
			}
			_, err = w.sendMember(user.String(), user.String(), content)
			return err
		})
		var me *spec.Error
		if err != nil && !errors.As(err, &me) {
			first = cmpFirst(first, err)
		}
	}
	return first
}

func cmpFirst(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
