package room

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"myelin/internal/eventauth"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// localAlias parses an alias of this server: 400 M_INVALID_PARAM when it
// is not a valid alias, or not this server's.
func (e *Engine) localAlias(alias string) error {
	a, err := spec.ParseRoomAlias(alias)
	if err != nil {
		return spec.InvalidParam("invalid room alias %q", alias)
	}
	if a.Domain() != e.opts.ServerName {
		return spec.InvalidParam("room alias %s is not on this server", alias)
	}
	return nil
}

// SetAlias maps a local alias to a room (PUT /directory/room/{roomAlias}).
// The user must be joined to the room (403), the room known (404), the
// alias free (409 M_UNKNOWN).
func (e *Engine) SetAlias(ctx context.Context, s Sender, alias, roomID string) error {
	if err := e.localAlias(alias); err != nil {
		return err
	}
	if _, err := spec.ParseRoomID(roomID); err != nil {
		return spec.InvalidParam("invalid room ID %q", roomID)
	}
	ri, err := e.room(ctx, roomID)
	if errors.Is(err, errUnknownRoom) {
		return spec.NotFound("unknown room %s", roomID)
	}
	if err != nil {
		return err
	}
	if !s.Admin {
		m, err := e.store.RoomMembership(ctx, ri.NID, s.UserID.String())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if m.Membership != spec.MembershipJoin {
			return spec.Forbidden("you must be in the room to create an alias for it")
		}
	}
	err = e.store.CreateAlias(ctx, store.Alias{Alias: alias, RoomNID: ri.NID, Creator: s.UserID.String()})
	if errors.Is(err, store.ErrConflict) {
		return spec.NewError(409, spec.ErrUnknown, "room alias %s already exists", alias)
	}
	return err
}

// ResolveAlias returns the room of a local alias and the servers in it
// (GET /directory/room/{roomAlias}): 400 M_INVALID_PARAM for an invalid
// alias, 404 M_NOT_FOUND for an unknown one (aliases of other servers
// need federation, which this server does not offer yet).
func (e *Engine) ResolveAlias(ctx context.Context, alias string) (string, []string, error) {
	if _, err := spec.ParseRoomAlias(alias); err != nil {
		return "", nil, spec.InvalidParam("invalid room alias %q", alias)
	}
	a, err := e.store.AliasRoom(ctx, alias)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil, spec.NotFound("room alias %s not found", alias)
	}
	if err != nil {
		return "", nil, err
	}
	servers := []string{string(e.opts.ServerName)}
	ms, err := e.store.RoomMemberships(ctx, a.RoomNID, []string{spec.MembershipJoin})
	if err != nil {
		return "", nil, err
	}
	for _, m := range ms {
		if uid, err := spec.ParseHistoricalUserID(m.UserID); err == nil && !slices.Contains(servers, string(uid.Domain())) {
			servers = append(servers, string(uid.Domain()))
		}
	}
	return a.RoomID, servers, nil
}

// DeleteAlias removes a local alias (DELETE /directory/room/{roomAlias}).
// Its creator, a server administrator, or a member who may set the room's
// m.room.canonical_alias may delete it (403 otherwise); 404 M_NOT_FOUND if
// it does not exist. When the room's canonical alias event lists it, an
// updated event follows, as the deleting user's power allows.
func (e *Engine) DeleteAlias(ctx context.Context, s Sender, alias string) error {
	if _, err := spec.ParseRoomAlias(alias); err != nil {
		return spec.InvalidParam("invalid room alias %q", alias)
	}
	a, err := e.store.AliasRoom(ctx, alias)
	if errors.Is(err, store.ErrNotFound) {
		return spec.NotFound("room alias %s not found", alias)
	}
	if err != nil {
		return err
	}
	ri, err := e.room(ctx, a.RoomID)
	if err != nil {
		return err
	}
	user := s.UserID.String()
	if a.Creator != user && !s.Admin {
		ok, err := e.maySetState(ctx, ri, user, spec.MRoomCanonicalAlias)
		if err != nil {
			return err
		}
		if !ok {
			return spec.Forbidden("you may not delete the alias %s", alias)
		}
	}
	if err := e.store.DeleteAlias(ctx, alias); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return spec.NotFound("room alias %s not found", alias)
		}
		return err
	}
	err = e.write(ctx, ri, func(w *writer) error {
		t := spec.StateKeyTuple{Type: spec.MRoomCanonicalAlias}
		cur, err := w.stateEvents(w.cur, []spec.StateKeyTuple{t})
		if err != nil || cur[t] == nil {
			return err
		}
		var content map[string]any
		if json.Unmarshal(cur[t].Content(), &content) != nil {
			return nil
		}
		changed := false
		if content["alias"] == alias {
			delete(content, "alias")
			changed = true
		}
		if alts, ok := content["alt_aliases"].([]any); ok {
			kept := slices.DeleteFunc(slices.Clone(alts), func(v any) bool { return v == alias })
			if len(kept) != len(alts) {
				changed = true
				if len(kept) == 0 {
					delete(content, "alt_aliases")
				} else {
					content["alt_aliases"] = kept
				}
			}
		}
		if !changed {
			return nil
		}
		raw, err := json.Marshal(content)
		if err != nil {
			return err
		}
		empty := ""
		_, err = w.send(localEvent{Type: spec.MRoomCanonicalAlias, StateKey: &empty, Sender: user, Content: raw})
		return err
	})
	var me *spec.Error
	if errors.As(err, &me) {
		// The alias is gone; updating the canonical alias is best effort
		// (the spec recommends succeeding without the permission).
		e.log.InfoContext(ctx, "alias deleted, canonical alias not updated", "alias", alias, "err", err)
		return nil
	}
	return err
}

// maySetState reports whether user's power level in the room's current
// state reaches the level of a state event type.
func (e *Engine) maySetState(ctx context.Context, ri roomInfo, user, eventType string) (bool, error) {
	pl, err := e.powerLevels(ctx, ri)
	if err != nil {
		return false, err
	}
	return pl.UserLevel(user) >= pl.EventLevel(eventType, true), nil
}

// powerLevels returns the power levels in force in the room's current
// state.
func (e *Engine) powerLevels(ctx context.Context, ri roomInfo) (eventauth.PowerLevels, error) {
	entries, err := e.store.CurrentState(ctx, ri.NID, []string{spec.MRoomCreate, spec.MRoomPowerLevels})
	if err != nil {
		return eventauth.PowerLevels{}, err
	}
	var nids []int64
	for _, en := range entries {
		if en.StateKey.StateKey == "" {
			nids = append(nids, en.EventNID)
		}
	}
	evs, err := e.store.Events(ctx, nids)
	if err != nil {
		return eventauth.PowerLevels{}, err
	}
	parsed, err := e.parseEvents(ri.Version, evs)
	if err != nil {
		return eventauth.PowerLevels{}, err
	}
	st := eventauth.StateMap{}
	for _, ev := range parsed {
		st[ev.StateTuple()] = ev
	}
	pl, _ := eventauth.PowerLevelsFromState(st, ri.Version)
	return pl, nil
}

// LocalAliases lists a room's local aliases (GET /rooms/{roomId}/aliases):
// for its members, and for anyone when it is world-readable; 403
// M_FORBIDDEN otherwise.
func (e *Engine) LocalAliases(ctx context.Context, user, roomID string) ([]string, error) {
	v, err := e.readable(ctx, user, roomID)
	if err != nil {
		return nil, err
	}
	if !v.joined && v.upTo != 0 {
		wr, err := e.worldReadable(ctx, v.room, v.snapshot)
		if err != nil {
			return nil, err
		}
		if !wr {
			return nil, spec.Forbidden("you are not a member of room %s", roomID)
		}
	}
	return e.store.RoomAliases(ctx, v.room.NID)
}
