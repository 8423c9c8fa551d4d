package room

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"myelin/internal/eventauth"
	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// transferredState is the state an upgrade copies to the new room: the
// spec's recommended list (client-server API, "Room Upgrades", server
// behaviour), power levels apart.
var transferredState = []string{
	spec.MRoomServerACL, spec.MRoomEncryption, spec.MRoomName, spec.MRoomAvatar, spec.MRoomTopic,
	spec.MRoomGuestAccess, spec.MRoomHistoryVisibility, spec.MRoomJoinRules,
}

// Upgrade replaces a room by a new room of another version
// (POST /rooms/{roomId}/upgrade) and returns the new room's ID:
//
//  1. the user must be allowed to send m.room.tombstone in the old room;
//  2. the new room's create event names the old room (predecessor, with
//     its latest event) and copies its type; in version 12 the upgrading
//     user and additionalCreators are its creators;
//  3. power levels and the transferable state are copied (in version 12
//     without the creators in users);
//  4. local aliases, and the canonical alias, move to the new room;
//  5. an m.room.tombstone goes to the old room;
//  6. the old room's power levels then stop sending and inviting for
//     users at users_default (events_default and invite raised to
//     max(50, users_default+1)), as far as the user may change them.
//
// Errors: 400 M_UNSUPPORTED_ROOM_VERSION, 403 M_FORBIDDEN, 404 for an
// unknown room.
func (e *Engine) Upgrade(ctx context.Context, s Sender, roomID, newVersion string, additionalCreators []string) (string, error) {
	v, ok := spec.LookupRoomVersion(newVersion)
	if !ok {
		return "", spec.NewError(400, spec.ErrUnsupportedRoomVersion, "room version %q is not supported", newVersion)
	}
	old, err := e.writableRoom(ctx, roomID)
	if err != nil {
		return "", err
	}
	user := s.UserID.String()
	if m, err := e.store.RoomMembership(ctx, old.NID, user); err != nil || m.Membership != spec.MembershipJoin {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		return "", spec.Forbidden("you are not in room %s", roomID)
	}
	pl, err := e.powerLevels(ctx, old)
	if err != nil {
		return "", err
	}
	if pl.UserLevel(user) < pl.EventLevel(spec.MRoomTombstone, true) {
		return "", spec.Forbidden("you may not upgrade this room")
	}
	for _, u := range additionalCreators {
		if _, err := spec.ParseHistoricalUserID(u); err != nil {
			return "", spec.BadJSON("invalid user ID %q in additional_creators", u)
		}
	}

	// Read what moves to the new room.
	r, err := e.store.RoomByID(ctx, roomID)
	if err != nil {
		return "", err
	}
	types := append([]string{spec.MRoomCreate, spec.MRoomPowerLevels, spec.MRoomCanonicalAlias}, transferredState...)
	entries, err := e.store.CurrentState(ctx, old.NID, types)
	if err != nil {
		return "", err
	}
	var nids []int64
	for _, en := range entries {
		if en.StateKey.StateKey == "" {
			nids = append(nids, en.EventNID)
		}
	}
	stored, err := e.store.Events(ctx, nids)
	if err != nil {
		return "", err
	}
	parsed, err := e.parseEvents(old.Version, stored)
	if err != nil {
		return "", err
	}
	oldState := map[string]*pdu.Event{}
	for _, ev := range parsed {
		oldState[ev.Type()] = ev
	}
	latest, err := e.store.LatestEventAt(ctx, old.NID, 1<<62)
	if err != nil {
		return "", err
	}

	createContent := map[string]any{
		"room_version": v.ID,
		"predecessor":  map[string]any{"room_id": roomID, "event_id": latest.ID},
	}
	if oc := oldState[spec.MRoomCreate]; oc != nil {
		var c map[string]json.RawMessage
		if json.Unmarshal(oc.Content(), &c) == nil {
			if t, ok := c["type"]; ok {
				createContent["type"] = t
			}
		}
	}
	var creators []string
	if v.PrivilegedCreators {
		creators = []string{user}
		var extra []string
		for _, u := range additionalCreators {
			if u != user && !slices.Contains(extra, u) {
				extra = append(extra, u)
			}
		}
		if len(extra) > 0 {
			createContent["additional_creators"] = extra
		}
		creators = append(creators, extra...)
	} else if !v.CreatorFromSender {
		createContent["creator"] = user
	}
	empty := ""
	b := pdu.Builder{Type: spec.MRoomCreate, StateKey: &empty, Sender: user, Content: createContent, Depth: 1, OriginServerTS: e.now()}
	if v.RoomIDFormat != spec.RoomIDCreateHash {
		b.RoomID = e.newRoomID()
	}
	create, err := b.Build(v, e.opts.ServerName, e.opts.Key)
	if err != nil {
		return "", buildError(err)
	}

	// The power levels of the new room: the old ones, with the creators
	// removed in v12; the upgrading user temporarily gets the highest
	// level they need before v12.
	var plContent map[string]any
	if ev := oldState[spec.MRoomPowerLevels]; ev != nil {
		json.Unmarshal(ev.Content(), &plContent)
	}
	if plContent == nil {
		plContent = map[string]any{}
	}
	finalPL := maps.Clone(plContent)
	users, _ := plContent["users"].(map[string]any)
	users = maps.Clone(users)
	if users == nil {
		users = map[string]any{}
	}
	if v.PrivilegedCreators {
		for _, c := range creators {
			delete(users, c)
		}
		events, _ := plContent["events"].(map[string]any)
		events = maps.Clone(events)
		if events == nil {
			events = map[string]any{}
		}
		stateDefault := eventauth.DefaultStateDefault
		if f, ok := plContent["state_default"].(float64); ok {
			stateDefault = int64(f)
		}
		if f, ok := events[spec.MRoomTombstone].(float64); !ok || int64(f) <= stateDefault {
			events[spec.MRoomTombstone] = stateDefault + 100
		}
		finalPL["events"] = events
		finalPL["users"] = users
	} else {
		finalPL["users"] = users
		if old.Version.PrivilegedCreators {
			// Creators of a v12 room have no entry: give them 100.
			oc := oldState[spec.MRoomCreate]
			if cs, err := eventauth.Creators(oc); err == nil {
				for _, c := range cs {
					users[c] = 100
				}
			}
		}
	}
	var tempPL map[string]any
	if !v.PrivilegedCreators {
		need := int64(100)
		if lvl := pl.UserLevel(user); lvl < eventauth.InfinitePowerLevel && lvl > need {
			need = lvl
		}
		if cur, _ := users[user].(float64); int64(cur) < need || users[user] == nil {
			tempPL = maps.Clone(finalPL)
			tu := maps.Clone(users)
			tu[user] = need
			tempPL["users"] = tu
		}
	}

	add := func(list []localEvent, typ string, content any) []localEvent {
		raw, _ := json.Marshal(content)
		return append(list, localEvent{Type: typ, StateKey: &empty, Sender: user, Content: raw})
	}
	profile := e.profiles(ctx, []string{user})[user]
	joinContent, _ := json.Marshal(memberContent(spec.MembershipJoin, "", profile, nil))
	events := []localEvent{{Type: spec.MRoomMember, StateKey: &user, Sender: user, Content: joinContent}}
	if tempPL != nil {
		events = add(events, spec.MRoomPowerLevels, tempPL)
	} else {
		events = add(events, spec.MRoomPowerLevels, finalPL)
	}
	for _, typ := range transferredState {
		if ev := oldState[typ]; ev != nil {
			events = append(events, localEvent{Type: typ, StateKey: &empty, Sender: user, Content: ev.Content()})
		}
	}
	if tempPL != nil {
		events = add(events, spec.MRoomPowerLevels, finalPL)
	}

	newRoom, err := e.create(ctx, store.Room{ID: create.RoomID(), Version: v.ID, Visibility: r.Visibility, CreatedTS: e.now()},
		func(w *writer) error {
			if err := w.ingest(create); err != nil {
				return err
			}
			for _, le := range events {
				if _, err := w.send(le); err != nil {
					return invalidRoomState(err)
				}
			}
			return nil
		})
	if err != nil {
		return "", err
	}

	if err := e.store.MoveAliases(ctx, old.NID, newRoom.NID); err != nil {
		return "", err
	}
	if ev := oldState[spec.MRoomCanonicalAlias]; ev != nil {
		if _, err := e.SendState(ctx, s, newRoom.ID, spec.MRoomCanonicalAlias, "", ev.Content()); err != nil {
			e.log.InfoContext(ctx, "upgrade: canonical alias not copied", "room", newRoom.ID, "err", err)
		}
	}

	tombstone, _ := json.Marshal(map[string]any{"body": "This room has been replaced", "replacement_room": newRoom.ID})
	if _, err := e.SendState(ctx, s, roomID, spec.MRoomTombstone, "", tombstone); err != nil {
		return "", err
	}
	if oldState[spec.MRoomCanonicalAlias] != nil {
		if _, err := e.SendState(ctx, s, roomID, spec.MRoomCanonicalAlias, "", json.RawMessage("{}")); err != nil {
			e.log.InfoContext(ctx, "upgrade: old canonical alias not cleared", "room", roomID, "err", err)
		}
	}
	restricted := maps.Clone(plContent)
	level := max(int64(50), pl.UsersDefault+1)
	if pl.EventsDefault < level || pl.Invite < level {
		restricted["events_default"] = max(pl.EventsDefault, level)
		restricted["invite"] = max(pl.Invite, level)
		raw, _ := json.Marshal(restricted)
		if _, err := e.SendState(ctx, s, roomID, spec.MRoomPowerLevels, "", raw); err != nil {
			e.log.InfoContext(ctx, "upgrade: old room power levels not restricted", "room", roomID, "err", err)
		}
	}
	return newRoom.ID, nil
}
