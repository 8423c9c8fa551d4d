package sync

import (
	"context"
	"encoding/json"
	"slices"

	"myelin/internal/filter"
	"myelin/internal/presence"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// accountData fills the global account data and that of joined and left
// rooms in the response.
func (r *syncRequest) accountData(ctx context.Context, upTo Token, joined map[string]store.Membership, resp *Response) error {
	var after int64
	if r.since != nil {
		after = r.since.AccountData
		if after >= upTo.AccountData {
			// Nothing changed (and Since would take after 0 for an
			// initial sync).
			return nil
		}
	}
	ch, err := r.s.d.AccountData.Since(ctx, r.user, after, upTo.AccountData)
	if err != nil {
		return err
	}
	for _, ev := range ch.Global {
		if !r.f.AccountData.Matches(ev.Type, r.uid) {
			continue
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		resp.AccountData.Events = append(resp.AccountData.Events, raw)
	}
	if max, ok := r.f.AccountData.Max(); ok && len(resp.AccountData.Events) > max {
		resp.AccountData.Events = resp.AccountData.Events[len(resp.AccountData.Events)-max:]
	}
	for _, roomID := range slices.Sorted(mapsKeys(ch.Rooms)) {
		var list []json.RawMessage
		for _, ev := range ch.Rooms[roomID] {
			if !r.f.Room.AccountData.Matches(ev.Type, r.uid, roomID) {
				continue
			}
			raw, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			list = append(list, raw)
		}
		if max, ok := r.f.Room.AccountData.Max(); ok && len(list) > max {
			list = list[len(list)-max:]
		}
		if len(list) == 0 {
			continue
		}
		if lr := resp.Rooms.Leave[roomID]; lr != nil {
			lr.AccountData.Events = append(lr.AccountData.Events, list...)
		} else if m, ok := joined[roomID]; ok {
			jr := r.joinedRoom(resp, m)
			jr.AccountData.Events = append(jr.AccountData.Events, list...)
		}
	}
	return nil
}

// ephemeral fills the ephemeral sections of joined rooms from every
// source; rooms joined anew get the sources' current state.
func (r *syncRequest) ephemeral(ctx context.Context, upTo Token, joined map[string]store.Membership, newly map[int64]bool, resp *Response) error {
	if len(r.s.opts.Ephemeral) == 0 || len(joined) == 0 {
		return nil
	}
	var old, fresh []string
	for roomID, m := range joined {
		if !roomAllowed(&r.f.Room.Ephemeral, roomID) {
			continue
		}
		if newly[m.RoomNID] {
			fresh = append(fresh, roomID)
		} else {
			old = append(old, roomID)
		}
	}
	slices.Sort(old)
	slices.Sort(fresh)
	typeOK := typeMatcher(&r.f.Room.Ephemeral)
	for _, src := range r.s.opts.Ephemeral {
		name := src.Stream()
		var after int64
		if r.since != nil {
			after = r.since.Ephemeral[name]
		}
		for _, batch := range []struct {
			rooms []string
			after int64
		}{{old, after}, {fresh, 0}} {
			if len(batch.rooms) == 0 {
				continue
			}
			got, err := src.Ephemeral(ctx, r.uid, batch.rooms, batch.after, upTo.Ephemeral[name])
			if err != nil {
				return err
			}
			for _, roomID := range slices.Sorted(mapsKeys(got)) {
				m, ok := joined[roomID]
				if !ok {
					continue
				}
				for _, raw := range got[roomID] {
					if !typeOK(eventType(raw), roomID) {
						continue
					}
					jr := r.joinedRoom(resp, m)
					jr.Ephemeral.Events = append(jr.Ephemeral.Events, raw)
				}
			}
		}
	}
	return nil
}

// eventType reads the type of an event's JSON.
func eventType(raw json.RawMessage) string {
	var ev struct {
		Type string `json:"type"`
	}
	json.Unmarshal(raw, &ev)
	return ev.Type
}

// roomAllowed checks a room event filter's rooms and not_rooms.
func roomAllowed(f *filter.RoomEventFilter, roomID string) bool {
	g := filter.RoomEventFilter{Rooms: f.Rooms, NotRooms: f.NotRooms}
	return g.Matches("", "", roomID)
}

func mapsKeys[V any](m map[string]V) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// presence fills the presence section: the changes of users who share a
// room with the user (and the user's own), plus the current presence of
// users the user newly shares a room with (in rooms joined anew, or who
// joined one of the user's rooms).
func (r *syncRequest) presence(ctx context.Context, upTo Token, plans []*plan, newly map[int64]bool, resp *Response) error {
	s := r.s
	var out []presence.Event
	if r.since == nil {
		// An initial sync: the current presence of everyone the user shares
		// a room with.
		users, err := s.d.Store.SharedRoomUsers(ctx, r.uid)
		if err != nil {
			return err
		}
		users = append(users, r.uid)
		slices.Sort(users)
		users = slices.Compact(users)
		users = slices.DeleteFunc(users, func(u string) bool { return !r.f.Presence.Matches("m.presence", u) })
		if out, err = s.presenceOf(ctx, users); err != nil {
			return err
		}
	} else {
		var changes []presence.Event
		if r.since.Presence < upTo.Presence {
			var err error
			if changes, err = s.d.Presence.Since(ctx, r.since.Presence, upTo.Presence); err != nil {
				return err
			}
		}
		var shared map[string]bool
		if len(changes) > 0 {
			users, err := s.d.Store.SharedRoomUsers(ctx, r.uid)
			if err != nil {
				return err
			}
			shared = make(map[string]bool, len(users)+1)
			for _, u := range users {
				shared[u] = true
			}
			shared[r.uid] = true
		}
		have := map[string]bool{}
		for _, ev := range changes {
			if shared[ev.Sender] && r.f.Presence.Matches(ev.Type, ev.Sender) {
				out = append(out, ev)
				have[ev.Sender] = true
			}
		}
		extra, err := r.newlyShared(ctx, plans, newly)
		if err != nil {
			return err
		}
		var missing []string
		for _, u := range extra {
			if !have[u] && r.f.Presence.Matches("m.presence", u) {
				missing = append(missing, u)
			}
		}
		evs, err := s.presenceOf(ctx, missing)
		if err != nil {
			return err
		}
		out = append(out, evs...)
	}
	if max, ok := r.f.Presence.Max(); ok && len(out) > max {
		out = out[len(out)-max:]
	}
	raw, err := marshalAll(out)
	if err != nil {
		return err
	}
	resp.Presence.Events = append(resp.Presence.Events, raw...)
	return nil
}

// newlyShared lists the users the user newly shares a room with: the
// joined members of rooms joined anew, and those whose join event (or
// profile change: telling again is harmless) appears in the timeline or
// state of a joined room.
func (r *syncRequest) newlyShared(ctx context.Context, plans []*plan, newly map[int64]bool) ([]string, error) {
	set := map[string]bool{}
	for _, p := range plans {
		if p.section != secJoin {
			continue
		}
		if newly[p.m.RoomNID] {
			ms, err := r.s.d.Store.RoomMemberships(ctx, p.m.RoomNID, []string{spec.MembershipJoin})
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				set[m.UserID] = true
			}
			continue
		}
		for _, list := range [][]store.Event{p.timeline, p.state} {
			for _, se := range list {
				if se.Type == spec.MRoomMember && se.Membership == spec.MembershipJoin && se.StateKey != nil {
					set[*se.StateKey] = true
				}
			}
		}
	}
	delete(set, r.uid)
	return slices.Sorted(mapsKeys(set)), nil
}

// presenceOf returns the current presence of local users, as m.presence
// events; users who never set any are left out.
func (s *Service) presenceOf(ctx context.Context, users []string) ([]presence.Event, error) {
	var lps []string
	for _, u := range users {
		uid, err := spec.ParseHistoricalUserID(u)
		if err == nil && uid.Domain() == s.opts.ServerName {
			lps = append(lps, uid.Localpart())
		}
	}
	if len(lps) == 0 {
		return nil, nil
	}
	recs, err := s.d.Store.PresenceOf(ctx, lps)
	if err != nil {
		return nil, err
	}
	profiles, err := s.d.Store.Profiles(ctx, lps)
	if err != nil {
		return nil, err
	}
	byUser := make(map[string]store.Profile, len(profiles))
	for _, p := range profiles {
		byUser[p.Localpart] = p
	}
	slices.SortFunc(recs, func(a, b store.PresenceRecord) int {
		switch {
		case a.Position < b.Position:
			return -1
		case a.Position > b.Position:
			return 1
		}
		return 0
	})
	now := s.opts.Now().UnixMilli()
	out := make([]presence.Event, 0, len(recs))
	for _, rec := range recs {
		uid, err := spec.NewUserID(rec.Localpart, s.opts.ServerName)
		if err != nil {
			continue
		}
		st := presence.Status{Presence: rec.State}
		ago := max(now-rec.LastActiveTS, 0)
		st.LastActiveAgo = &ago
		if rec.StatusMsg != "" {
			msg := rec.StatusMsg
			st.StatusMsg = &msg
		}
		if rec.State == store.PresenceOnline {
			active := ago < presence.ActiveWindow.Milliseconds()
			st.CurrentlyActive = &active
		}
		p := byUser[rec.Localpart]
		out = append(out, presence.Event{Type: "m.presence", Sender: uid.String(), Content: presence.EventContent{
			Status: st, DisplayName: p.DisplayName, AvatarURL: p.AvatarURL,
		}})
	}
	return out, nil
}
