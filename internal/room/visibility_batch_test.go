package room

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"myelin/internal/spec"
	"myelin/internal/store"
	"myelin/internal/testkit/testdb"
)

// TestBatchMembershipAndVisibility formats and filters one batch spanning
// two rooms and many state snapshots (as /sync does) and checks every
// event against an event-by-event reading of the store: the viewer's
// unsigned.membership from the state before the event (after it for the
// viewer's own member events), and visibility as when each event is
// filtered alone.
func TestBatchMembershipAndVisibility(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t, e)
			eng := newEngine(t, st)
			alice, bob := sender(t, "@alice:a.test"), sender(t, "@bob:a.test")
			msg := func(roomID, body string) {
				t.Helper()
				if _, err := eng.SendMessage(ctx, alice, roomID, "m.room.message", body, json.RawMessage(`{"body":"`+body+`"}`)); err != nil {
					t.Fatal(err)
				}
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			// Room A (shared): invite, join, leave, join again.
			roomA, err := eng.CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPrivateChat})
			must(err)
			msg(roomA, "a before invite")
			must(eng.Invite(ctx, alice, roomA, bob.UserID, ""))
			msg(roomA, "a invited")
			_, err = eng.Join(ctx, bob, roomA, "")
			must(err)
			msg(roomA, "a joined")
			must(eng.Leave(ctx, bob, roomA, ""))
			msg(roomA, "a left")
			must(eng.Invite(ctx, alice, roomA, bob.UserID, ""))
			_, err = eng.Join(ctx, bob, roomA, "")
			must(err)
			msg(roomA, "a rejoined")
			// Room B (joined, then world_readable): bob joins late.
			roomB, err := eng.CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPublicChat, InitialState: []StateEvent{
				{Type: "m.room.history_visibility", Content: json.RawMessage(`{"history_visibility":"joined"}`)},
			}})
			must(err)
			msg(roomB, "b before join")
			_, err = eng.SendState(ctx, alice, roomB, "m.room.history_visibility", "", json.RawMessage(`{"history_visibility":"world_readable"}`))
			must(err)
			msg(roomB, "b world readable")
			_, err = eng.SendState(ctx, alice, roomB, "m.room.history_visibility", "", json.RawMessage(`{"history_visibility":"joined"}`))
			must(err)
			msg(roomB, "b joined only")
			_, err = eng.Join(ctx, bob, roomB, "")
			must(err)
			msg(roomB, "b after join")

			var nids []int64
			for _, id := range []string{roomA, roomB} {
				r, err := st.RoomByID(ctx, id)
				must(err)
				nids = append(nids, r.NID)
			}
			evs, err := st.RoomEvents(ctx, nids, 0, 1<<60, 0)
			must(err)
			slices.SortFunc(evs, func(a, b store.Event) int { return int(a.Pos - b.Pos) })

			// Reference memberships, read event by event from the store.
			keys, err := st.StateKeyNIDs(ctx, []spec.StateKeyTuple{{Type: spec.MRoomMember, StateKey: "@bob:a.test"}})
			must(err)
			bobKey := keys[spec.StateKeyTuple{Type: spec.MRoomMember, StateKey: "@bob:a.test"}]
			want := make([]string, len(evs))
			for i, se := range evs {
				if se.Type == spec.MRoomMember && se.StateKey != nil && *se.StateKey == "@bob:a.test" {
					want[i] = se.Membership
					continue
				}
				want[i] = spec.MembershipLeave
				state, err := st.Snapshot(ctx, se.StateBefore)
				must(err)
				if ev, ok := state[bobKey]; ok {
					got, err := st.Events(ctx, []int64{ev})
					must(err)
					want[i] = got[0].Membership
				}
			}

			// A fresh engine: nothing cached.
			cold := newEngine(t, st)
			formatted, err := cold.ClientEvents(ctx, evs, Viewer{UserID: "@bob:a.test"})
			must(err)
			seen := map[string]bool{}
			for i, raw := range formatted {
				var ce struct {
					Content  struct{ Body string } `json:"content"`
					Unsigned struct {
						Membership string `json:"membership"`
					} `json:"unsigned"`
				}
				must(json.Unmarshal(raw, &ce))
				if ce.Unsigned.Membership != want[i] {
					t.Errorf("event %d (%s %q): membership %q, want %q", i, evs[i].Type, ce.Content.Body, ce.Unsigned.Membership, want[i])
				}
				if ce.Content.Body != "" {
					seen[ce.Content.Body+"="+ce.Unsigned.Membership] = true
				}
			}
			for _, s := range []string{"a before invite=leave", "a invited=invite", "a joined=join", "a left=leave", "a rejoined=join", "b joined only=leave", "b after join=join"} {
				if !seen[s] {
					t.Errorf("no message with body=membership %s", s)
				}
			}

			visible, err := cold.FilterVisible(ctx, "@bob:a.test", evs)
			must(err)
			var alone []string
			for _, se := range evs {
				v, err := newEngine(t, st).FilterVisible(ctx, "@bob:a.test", []store.Event{se})
				must(err)
				if len(v) == 1 {
					alone = append(alone, v[0].ID)
				}
			}
			var batch []string
			for _, se := range visible {
				batch = append(batch, se.ID)
			}
			if !slices.Equal(batch, alone) {
				t.Fatalf("batch filter kept %v, event by event %v", batch, alone)
			}
			bodies := map[string]bool{}
			for _, se := range visible {
				var ev struct {
					Content struct{ Body string } `json:"content"`
				}
				json.Unmarshal(se.JSON, &ev)
				bodies[ev.Content.Body] = true
			}
			if !bodies["b world readable"] || bodies["b joined only"] || !bodies["b after join"] || !bodies["a before invite"] {
				t.Fatalf("visible messages %v", bodies)
			}
		})
	}
}
