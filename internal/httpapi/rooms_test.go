package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"myelin/internal/spec"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// rmLogin creates an account (if needed) and logs in on a new device.
func rmLogin(t *testing.T, hs *testserver.Server, name string) testUser {
	t.Helper()
	hs.Srv.Users.CreateAccount(context.Background(), name, "password", false)
	cli, resp := loginClient(t, hs, name)
	return testUser{cli, resp.AccessToken}
}

// TestRoomsEveryVersion creates a room of every room version, sends, joins
// and reads, with two users, on both engines.
func TestRoomsEveryVersion(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		for _, v := range spec.RoomVersions() {
			t.Run("v"+v.ID, func(t *testing.T) {
				resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{
					Preset: "public_chat", Name: "room " + v.ID, Topic: "about " + v.ID, RoomVersion: id.RoomVersion(v.ID),
				})
				mustNot(t, err)
				roomID := resp.RoomID
				var create event.CreateEventContent
				mustNot(t, alice.StateEvent(ctx, roomID, event.StateCreate, "", &create))
				if string(create.RoomVersion) != v.ID {
					t.Fatalf("create room_version = %q", create.RoomVersion)
				}
				msg, err := alice.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "hello " + v.ID})
				mustNot(t, err)
				_, err = bob.JoinRoom(ctx, roomID.String(), nil)
				mustNot(t, err)
				reply, err := bob.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "hi"})
				mustNot(t, err)
				for _, u := range []testUser{alice, bob} {
					for _, eid := range []id.EventID{msg.EventID, reply.EventID} {
						ev, err := u.GetEvent(ctx, roomID, eid)
						mustNot(t, err)
						if ev.ID != eid || ev.RoomID != roomID || ev.Type != event.EventMessage {
							t.Fatalf("GetEvent = %+v", ev)
						}
					}
				}
				state, err := bob.State(ctx, roomID)
				mustNot(t, err)
				if state[event.StateMember][bob.UserID.String()] == nil || state[event.StateRoomName][""] == nil || state[event.StateTopic][""] == nil {
					t.Fatalf("state lacks bob's member, name or topic: %v", state)
				}
				var name event.RoomNameEventContent
				mustNot(t, bob.StateEvent(ctx, roomID, event.StateRoomName, "", &name))
				if name.Name != "room "+v.ID {
					t.Fatalf("name = %q", name.Name)
				}
				var pl event.PowerLevelsEventContent
				mustNot(t, alice.StateEvent(ctx, roomID, event.StatePowerLevels, "", &pl))
				_, creatorListed := pl.Users[alice.UserID]
				if v.PrivilegedCreators {
					if creatorListed || pl.Events["m.room.tombstone"] != 150 {
						t.Fatalf("v12 power levels: users %v, events %v: creator listed or tombstone not 150", pl.Users, pl.Events)
					}
				} else if pl.Users[alice.UserID] != 100 {
					t.Fatalf("power levels users = %v, want the creator at 100", pl.Users)
				}
				members, err := alice.Members(ctx, roomID)
				mustNot(t, err)
				if len(members.Chunk) != 2 {
					t.Fatalf("members = %d, want 2", len(members.Chunk))
				}
				joined, err := bob.JoinedMembers(ctx, roomID)
				mustNot(t, err)
				if len(joined.Joined) != 2 {
					t.Fatalf("joined_members = %v", joined.Joined)
				}
				// Bob has no display name or avatar: both keys are there, null.
				raw := call(t, hs, "GET", "/_matrix/client/v3/rooms/"+url.PathEscape(roomID.String())+"/joined_members", bob.token, nil).expect(t, 200, "")
				bobEntry, _ := raw.body["joined"].(map[string]any)[bob.UserID.String()].(map[string]any)
				if dn, ok := bobEntry["display_name"]; !ok || dn != nil {
					t.Fatalf("joined_members %s: want display_name null", raw.raw)
				}
				if av, ok := bobEntry["avatar_url"]; !ok || av != nil {
					t.Fatalf("joined_members %s: want avatar_url null", raw.raw)
				}
			})
		}
		rooms, err := bob.JoinedRooms(ctx)
		mustNot(t, err)
		if len(rooms.JoinedRooms) != len(spec.RoomVersions()) {
			t.Fatalf("bob's joined rooms = %d, want %d", len(rooms.JoinedRooms), len(spec.RoomVersions()))
		}
	})
}

// TestRoomsTransactionIDs checks that a retried send returns the first
// event, also across a restart, scoped to the device.
func TestRoomsTransactionIDs(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := rmLogin(t, hs, "alice")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{})
		mustNot(t, err)
		roomID := resp.RoomID
		content := map[string]any{"msgtype": "m.text", "body": "once"}
		first, err := alice.SendMessageEvent(ctx, roomID, event.EventMessage, content, mautrix.ReqSendEvent{TransactionID: "txn1"})
		mustNot(t, err)
		again, err := alice.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"body": "other body"}, mautrix.ReqSendEvent{TransactionID: "txn1"})
		mustNot(t, err)
		if again.EventID != first.EventID {
			t.Fatalf("retry gave %s, want %s", again.EventID, first.EventID)
		}
		// Another event type is another path: a new event.
		other, err := alice.SendMessageEvent(ctx, roomID, event.NewEventType("m.custom"), content, mautrix.ReqSendEvent{TransactionID: "txn1"})
		mustNot(t, err)
		if other.EventID == first.EventID {
			t.Fatal("the same txn ID on another path returned the same event")
		}
		// Another device: a new event.
		alice2 := rmLogin(t, hs, "alice")
		second, err := alice2.SendMessageEvent(ctx, roomID, event.EventMessage, content, mautrix.ReqSendEvent{TransactionID: "txn1"})
		mustNot(t, err)
		if second.EventID == first.EventID {
			t.Fatal("another device's txn1 returned the first device's event")
		}
		// transaction_id is shown to the sending device only.
		ev, err := alice.GetEvent(ctx, roomID, first.EventID)
		mustNot(t, err)
		if ev.Unsigned.TransactionID != "txn1" {
			t.Fatalf("unsigned.transaction_id = %q for the sending device", ev.Unsigned.TransactionID)
		}
		ev, err = alice2.GetEvent(ctx, roomID, first.EventID)
		mustNot(t, err)
		if ev.Unsigned.TransactionID != "" {
			t.Fatalf("unsigned.transaction_id = %q shown to another device", ev.Unsigned.TransactionID)
		}
		redaction, err := alice.RedactEvent(ctx, roomID, second.EventID, mautrix.ReqRedact{TxnID: "r1"})
		mustNot(t, err)

		restart(hs)
		again, err = alice.SendMessageEvent(ctx, roomID, event.EventMessage, content, mautrix.ReqSendEvent{TransactionID: "txn1"})
		mustNot(t, err)
		if again.EventID != first.EventID {
			t.Fatalf("retry after restart gave %s, want %s", again.EventID, first.EventID)
		}
		redactAgain, err := alice.RedactEvent(ctx, roomID, second.EventID, mautrix.ReqRedact{TxnID: "r1"})
		mustNot(t, err)
		if redactAgain.EventID != redaction.EventID {
			t.Fatalf("redaction retry after restart gave %s, want %s", redactAgain.EventID, redaction.EventID)
		}
	})
}

// TestRoomsRestart sends events, restarts the server, and finds every
// acknowledged event, the state, and a room that still accepts events.
func TestRoomsRestart(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", RoomAliasName: "kept"})
		mustNot(t, err)
		roomID := resp.RoomID
		_, err = bob.JoinRoom(ctx, "#kept:localhost", nil)
		mustNot(t, err)
		var sent []id.EventID
		for i := 0; i < 20; i++ {
			u := alice
			if i%2 == 1 {
				u = bob
			}
			r, err := u.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": fmt.Sprint(i)})
			mustNot(t, err)
			sent = append(sent, r.EventID)
		}
		topic, err := alice.SendStateEvent(ctx, roomID, event.StateTopic, "", map[string]any{"topic": "before restart"})
		mustNot(t, err)
		sent = append(sent, topic.EventID)

		restart(hs)
		for _, eid := range sent {
			if _, err := bob.GetEvent(ctx, roomID, eid); err != nil {
				t.Fatalf("event %s lost across the restart: %v", eid, err)
			}
		}
		var tc event.TopicEventContent
		mustNot(t, bob.StateEvent(ctx, roomID, event.StateTopic, "", &tc))
		if tc.Topic != "before restart" {
			t.Fatalf("topic after restart = %q", tc.Topic)
		}
		after, err := alice.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "after"})
		mustNot(t, err)
		ev, err := bob.GetEvent(ctx, roomID, after.EventID)
		mustNot(t, err)
		if ev.Unsigned.PrevContent != nil {
			t.Fatal("a message has prev_content")
		}
		alias, err := bob.ResolveAlias(ctx, "#kept:localhost")
		mustNot(t, err)
		if alias.RoomID != roomID {
			t.Fatalf("alias resolves to %s", alias.RoomID)
		}
	})
}

// TestRoomsMembership walks the membership endpoints.
func TestRoomsMembership(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob, carol := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob"), rmLogin(t, hs, "carol")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{bob.UserID}, IsDirect: true})
		mustNot(t, err)
		roomID := resp.RoomID

		// An invite-only room: carol cannot join; bob, invited, can.
		_, err = carol.JoinRoom(ctx, roomID.String(), nil)
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
		var inv event.MemberEventContent
		mustNot(t, alice.StateEvent(ctx, roomID, event.StateMember, bob.UserID.String(), &inv))
		if inv.Membership != event.MembershipInvite || !inv.IsDirect {
			t.Fatalf("bob's invite = %+v", inv)
		}
		_, err = bob.JoinRoomByID(ctx, roomID)
		mustNot(t, err)
		// Joining again changes nothing; inviting a member is refused.
		_, err = bob.JoinRoomByID(ctx, roomID)
		mustNot(t, err)
		_, err = alice.InviteUser(ctx, roomID, &mautrix.ReqInviteUser{UserID: bob.UserID})
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
		// bob (power 0) cannot kick alice.
		_, err = bob.KickUser(ctx, roomID, &mautrix.ReqKickUser{UserID: alice.UserID})
		expectMatrixError(t, err, 403, "M_FORBIDDEN")

		_, err = alice.InviteUser(ctx, roomID, &mautrix.ReqInviteUser{UserID: carol.UserID, Reason: "welcome"})
		mustNot(t, err)
		_, err = alice.InviteUser(ctx, roomID, &mautrix.ReqInviteUser{UserID: carol.UserID})
		mustNot(t, err) // already invited: 200
		_, err = carol.JoinRoomByID(ctx, roomID)
		mustNot(t, err)
		joined, err := alice.JoinedMembers(ctx, roomID)
		mustNot(t, err)
		if len(joined.Joined) != 3 {
			t.Fatalf("joined members = %v", joined.Joined)
		}
		_, err = alice.KickUser(ctx, roomID, &mautrix.ReqKickUser{UserID: carol.UserID, Reason: "bye"})
		mustNot(t, err)
		_, err = alice.KickUser(ctx, roomID, &mautrix.ReqKickUser{UserID: carol.UserID})
		expectMatrixError(t, err, 403, "M_FORBIDDEN") // not in the room any more
		// carol, kicked, still sees the state up to her kick.
		state, err := carol.State(ctx, roomID)
		mustNot(t, err)
		if m := state[event.StateMember][carol.UserID.String()]; m == nil || m.Content.AsMember().Membership != event.MembershipLeave {
			t.Fatalf("carol's view of her membership: %+v", m)
		}
		_, err = alice.BanUser(ctx, roomID, &mautrix.ReqBanUser{UserID: carol.UserID, Reason: "spam"})
		mustNot(t, err)
		_, err = alice.InviteUser(ctx, roomID, &mautrix.ReqInviteUser{UserID: carol.UserID})
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
		_, err = alice.UnbanUser(ctx, roomID, &mautrix.ReqUnbanUser{UserID: carol.UserID})
		mustNot(t, err)
		_, err = alice.UnbanUser(ctx, roomID, &mautrix.ReqUnbanUser{UserID: carol.UserID})
		expectMatrixError(t, err, 403, "M_FORBIDDEN") // not banned

		// Members with filters.
		mem, err := alice.Members(ctx, roomID, mautrix.ReqMembers{Membership: event.MembershipJoin})
		mustNot(t, err)
		if len(mem.Chunk) != 2 {
			t.Fatalf("joined members via /members = %d", len(mem.Chunk))
		}
		mem, err = alice.Members(ctx, roomID, mautrix.ReqMembers{NotMembership: event.MembershipJoin})
		mustNot(t, err)
		if len(mem.Chunk) != 1 || mem.Chunk[0].GetStateKey() != carol.UserID.String() {
			t.Fatalf("non-joined members = %+v", mem.Chunk)
		}

		// /members at a sync token: the state then, before carol came back.
		sync, err := alice.SyncRequest(ctx, 0, "", "", false, event.PresenceOnline)
		mustNot(t, err)
		_, err = alice.InviteUser(ctx, roomID, &mautrix.ReqInviteUser{UserID: carol.UserID})
		mustNot(t, err)
		at, err := alice.Members(ctx, roomID, mautrix.ReqMembers{At: sync.NextBatch, Membership: event.MembershipInvite})
		mustNot(t, err)
		if len(at.Chunk) != 0 {
			t.Fatalf("members at %s = %d invited, want none", sync.NextBatch, len(at.Chunk))
		}
		now, err := alice.Members(ctx, roomID, mautrix.ReqMembers{Membership: event.MembershipInvite})
		mustNot(t, err)
		if len(now.Chunk) != 1 {
			t.Fatalf("members now = %d invited, want carol", len(now.Chunk))
		}
		_, err = alice.KickUser(ctx, roomID, &mautrix.ReqKickUser{UserID: carol.UserID})
		mustNot(t, err)

		// Forget: refused while joined, accepted after leaving.
		_, err = bob.ForgetRoom(ctx, roomID)
		expectMatrixError(t, err, 400, "M_UNKNOWN")
		_, err = bob.LeaveRoom(ctx, roomID)
		mustNot(t, err)
		_, err = bob.LeaveRoom(ctx, roomID)
		mustNot(t, err) // leaving again: no change
		rooms, err := bob.JoinedRooms(ctx)
		mustNot(t, err)
		if len(rooms.JoinedRooms) != 0 {
			t.Fatalf("bob's joined rooms after leaving = %v", rooms.JoinedRooms)
		}
		_, err = bob.State(ctx, roomID)
		mustNot(t, err) // a former member reads the state when he left
		_, err = bob.ForgetRoom(ctx, roomID)
		mustNot(t, err)
		_, err = bob.State(ctx, roomID)
		expectMatrixError(t, err, 403, "M_FORBIDDEN")

		// Knocking, in a room version that has it.
		kr, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{RoomVersion: "10", InitialState: []*event.Event{{
			Type: event.StateJoinRules, StateKey: ptr(""), Content: event.Content{Raw: map[string]any{"join_rule": "knock"}},
		}}})
		mustNot(t, err)
		_, err = carol.KnockRoom(ctx, kr.RoomID.String(), &mautrix.ReqKnockRoom{Reason: "let me in"})
		mustNot(t, err)
		mem, err = alice.Members(ctx, kr.RoomID, mautrix.ReqMembers{Membership: event.MembershipKnock})
		mustNot(t, err)
		if len(mem.Chunk) != 1 {
			t.Fatalf("knocking members = %d", len(mem.Chunk))
		}
		_, err = alice.InviteUser(ctx, kr.RoomID, &mautrix.ReqInviteUser{UserID: carol.UserID})
		mustNot(t, err)
		_, err = carol.JoinRoomByID(ctx, kr.RoomID)
		mustNot(t, err)
		// Knocking on an unknown room: 404.
		_, err = carol.KnockRoom(ctx, "!nowhere:localhost", nil)
		expectMatrixError(t, err, 404, "M_NOT_FOUND")
	})
}

func ptr[T any](v T) *T { return &v }

// TestRoomsRedaction checks redactions through both endpoints and what
// readers see of a redacted event.
func TestRoomsRedaction(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		for _, version := range []string{"10", "11", "12"} {
			resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", RoomVersion: id.RoomVersion(version)})
			mustNot(t, err)
			roomID := resp.RoomID
			_, err = bob.JoinRoomByID(ctx, roomID)
			mustNot(t, err)
			msg, err := alice.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "secret"})
			mustNot(t, err)
			// bob may not redact alice's event.
			_, err = bob.RedactEvent(ctx, roomID, msg.EventID)
			expectMatrixError(t, err, 403, "M_FORBIDDEN")
			red, err := alice.RedactEvent(ctx, roomID, msg.EventID, mautrix.ReqRedact{Reason: "oops"})
			mustNot(t, err)
			ev, err := bob.GetEvent(ctx, roomID, msg.EventID)
			mustNot(t, err)
			if len(ev.Content.Raw) != 0 || ev.Unsigned.RedactedBecause == nil || ev.Unsigned.RedactedBecause.ID != red.EventID {
				t.Fatalf("v%s: redacted event = content %v, redacted_because %+v", version, ev.Content.Raw, ev.Unsigned.RedactedBecause)
			}
			rev, err := bob.GetEvent(ctx, roomID, red.EventID)
			mustNot(t, err)
			if rev.Redacts != msg.EventID {
				t.Fatalf("v%s: redaction's top-level redacts = %q", version, rev.Redacts)
			}
			// bob redacts his own event through the send endpoint.
			own, err := bob.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "mine"})
			mustNot(t, err)
			_, err = bob.SendMessageEvent(ctx, roomID, event.EventRedaction, map[string]any{"redacts": own.EventID})
			mustNot(t, err)
			ev, err = alice.GetEvent(ctx, roomID, own.EventID)
			mustNot(t, err)
			if len(ev.Content.Raw) != 0 {
				t.Fatalf("v%s: redaction through /send did not redact: %v", version, ev.Content.Raw)
			}
			// An unknown event cannot be redacted.
			_, err = alice.RedactEvent(ctx, roomID, "$unknown")
			expectMatrixError(t, err, 404, "M_NOT_FOUND")
		}
	})
}

// TestRoomsHistoryVisibility checks /event and /state against membership
// and history visibility.
func TestRoomsHistoryVisibility(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob, eve := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob"), rmLogin(t, hs, "eve")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", InitialState: []*event.Event{{
			Type: event.StateHistoryVisibility, StateKey: ptr(""), Content: event.Content{Raw: map[string]any{"history_visibility": "joined"}},
		}}})
		mustNot(t, err)
		roomID := resp.RoomID
		before, err := alice.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"body": "before bob"})
		mustNot(t, err)
		// Non-members: 403 on state, 404 on events.
		_, err = eve.State(ctx, roomID)
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
		_, err = eve.GetEvent(ctx, roomID, before.EventID)
		expectMatrixError(t, err, 404, "M_NOT_FOUND")
		_, err = eve.JoinedMembers(ctx, roomID)
		expectMatrixError(t, err, 403, "M_FORBIDDEN")

		_, err = bob.JoinRoomByID(ctx, roomID)
		mustNot(t, err)
		_, err = bob.GetEvent(ctx, roomID, before.EventID)
		expectMatrixError(t, err, 404, "M_NOT_FOUND") // joined visibility: not before his join
		during, err := alice.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"body": "with bob"})
		mustNot(t, err)
		_, err = bob.GetEvent(ctx, roomID, during.EventID)
		mustNot(t, err)
		_, err = bob.LeaveRoom(ctx, roomID)
		mustNot(t, err)
		after, err := alice.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"body": "after bob"})
		mustNot(t, err)
		_, err = bob.GetEvent(ctx, roomID, during.EventID)
		mustNot(t, err) // seen while joined: still visible
		_, err = bob.GetEvent(ctx, roomID, after.EventID)
		expectMatrixError(t, err, 404, "M_NOT_FOUND")

		// shared: a later join shows earlier events.
		_, err = alice.SendStateEvent(ctx, roomID, event.StateHistoryVisibility, "", map[string]any{"history_visibility": "shared"})
		mustNot(t, err)
		shared, err := alice.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"body": "shared"})
		mustNot(t, err)
		_, err = eve.GetEvent(ctx, roomID, shared.EventID)
		expectMatrixError(t, err, 404, "M_NOT_FOUND")
		_, err = eve.JoinRoomByID(ctx, roomID)
		mustNot(t, err)
		_, err = eve.GetEvent(ctx, roomID, shared.EventID)
		mustNot(t, err)

		// world_readable: anyone reads.
		_, err = alice.SendStateEvent(ctx, roomID, event.StateHistoryVisibility, "", map[string]any{"history_visibility": "world_readable"})
		mustNot(t, err)
		open, err := alice.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"body": "open"})
		mustNot(t, err)
		carol := rmLogin(t, hs, "carol")
		_, err = carol.GetEvent(ctx, roomID, open.EventID)
		mustNot(t, err)
		_, err = carol.State(ctx, roomID)
		mustNot(t, err)
		_, err = carol.GetEvent(ctx, roomID, shared.EventID)
		expectMatrixError(t, err, 404, "M_NOT_FOUND")
		aliases, err := carol.GetAliases(ctx, roomID)
		mustNot(t, err)
		if len(aliases.Aliases) != 0 {
			t.Fatalf("aliases = %v", aliases.Aliases)
		}
	})
}

// TestRoomsAliases covers createRoom's alias and the directory endpoints.
func TestRoomsAliases(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", RoomAliasName: "town"})
		mustNot(t, err)
		roomID := resp.RoomID
		var ca event.CanonicalAliasEventContent
		mustNot(t, alice.StateEvent(ctx, roomID, event.StateCanonicalAlias, "", &ca))
		if ca.Alias != "#town:localhost" {
			t.Fatalf("canonical alias = %q", ca.Alias)
		}
		_, err = bob.CreateRoom(ctx, &mautrix.ReqCreateRoom{RoomAliasName: "town"})
		expectMatrixError(t, err, 400, "M_ROOM_IN_USE")

		_, err = bob.CreateAlias(ctx, "#bobs:localhost", roomID)
		expectMatrixError(t, err, 403, "M_FORBIDDEN") // not in the room
		_, err = bob.JoinRoom(ctx, "#town:localhost", nil)
		mustNot(t, err)
		_, err = bob.CreateAlias(ctx, "#bobs:localhost", roomID)
		mustNot(t, err)
		_, err = bob.CreateAlias(ctx, "#bobs:localhost", roomID)
		expectMatrixError(t, err, 409, "M_UNKNOWN")
		_, err = bob.CreateAlias(ctx, "#ünïcödé:localhost", roomID)
		mustNot(t, err)
		list, err := alice.GetAliases(ctx, roomID)
		mustNot(t, err)
		if len(list.Aliases) != 3 {
			t.Fatalf("aliases = %v", list.Aliases)
		}
		res, err := alice.ResolveAlias(ctx, "#ünïcödé:localhost")
		mustNot(t, err)
		if res.RoomID != roomID || len(res.Servers) != 1 || res.Servers[0] != "localhost" {
			t.Fatalf("resolve = %+v", res)
		}
		// Only its creator or the powerful may delete an alias.
		_, err = bob.DeleteAlias(ctx, "#town:localhost")
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
		_, err = alice.DeleteAlias(ctx, "#bobs:localhost")
		mustNot(t, err)
		_, err = alice.DeleteAlias(ctx, "#bobs:localhost")
		expectMatrixError(t, err, 404, "M_NOT_FOUND")
		// Deleting the canonical alias removes it from the state event.
		_, err = alice.DeleteAlias(ctx, "#town:localhost")
		mustNot(t, err)
		ca = event.CanonicalAliasEventContent{}
		mustNot(t, alice.StateEvent(ctx, roomID, event.StateCanonicalAlias, "", &ca))
		if ca.Alias != "" {
			t.Fatalf("canonical alias after deletion = %q", ca.Alias)
		}
		// The canonical alias must point here.
		other, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{RoomAliasName: "elsewhere"})
		mustNot(t, err)
		_ = other
		_, err = alice.SendStateEvent(ctx, roomID, event.StateCanonicalAlias, "", map[string]any{"alias": "#elsewhere:localhost"})
		expectMatrixError(t, err, 400, "M_BAD_ALIAS")
		_, err = alice.SendStateEvent(ctx, roomID, event.StateCanonicalAlias, "", map[string]any{"alias": "not an alias"})
		expectMatrixError(t, err, 400, "M_INVALID_PARAM")
		_, err = alice.SendStateEvent(ctx, roomID, event.StateCanonicalAlias, "", map[string]any{"alias": "#ünïcödé:localhost"})
		mustNot(t, err)
	})
}

// TestRoomsUpgrade upgrades a room and checks both rooms.
func TestRoomsUpgrade(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", RoomVersion: "10", Name: "old", RoomAliasName: "up"})
		mustNot(t, err)
		oldID := resp.RoomID
		_, err = bob.JoinRoomByID(ctx, oldID)
		mustNot(t, err)
		r := call(t, hs, "POST", "/_matrix/client/v3/rooms/"+url.PathEscape(oldID.String())+"/upgrade", bob.token, `{"new_version":"12"}`)
		r.expect(t, 403, "M_FORBIDDEN")
		r = call(t, hs, "POST", "/_matrix/client/v3/rooms/"+url.PathEscape(oldID.String())+"/upgrade", alice.token, `{"new_version":"99"}`)
		r.expect(t, 400, "M_UNSUPPORTED_ROOM_VERSION")
		r = call(t, hs, "POST", "/_matrix/client/v3/rooms/"+url.PathEscape(oldID.String())+"/upgrade", alice.token, `{"new_version":"12"}`)
		r.expect(t, 200, "")
		newID := id.RoomID(r.str("replacement_room"))
		var tomb event.TombstoneEventContent
		mustNot(t, bob.StateEvent(ctx, oldID, event.StateTombstone, "", &tomb))
		if tomb.ReplacementRoom != newID {
			t.Fatalf("tombstone = %+v", tomb)
		}
		var create event.CreateEventContent
		mustNot(t, alice.StateEvent(ctx, newID, event.StateCreate, "", &create))
		if create.Predecessor == nil || create.Predecessor.RoomID != oldID || create.RoomVersion != "12" {
			t.Fatalf("new create = %+v", create)
		}
		var name event.RoomNameEventContent
		mustNot(t, alice.StateEvent(ctx, newID, event.StateRoomName, "", &name))
		if name.Name != "old" {
			t.Fatalf("name not copied: %q", name.Name)
		}
		var pl event.PowerLevelsEventContent
		mustNot(t, alice.StateEvent(ctx, newID, event.StatePowerLevels, "", &pl))
		if _, listed := pl.Users[alice.UserID]; listed {
			t.Fatalf("the v12 creator is in users: %v", pl.Users)
		}
		alias, err := bob.ResolveAlias(ctx, "#up:localhost")
		mustNot(t, err)
		if alias.RoomID != newID {
			t.Fatalf("alias points to %s, want the new room", alias.RoomID)
		}
		// bob can no longer speak in the old room, and joins the new one.
		_, err = bob.SendMessageEvent(ctx, oldID, event.EventMessage, map[string]any{"body": "hello?"})
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
		_, err = bob.JoinRoomByID(ctx, newID)
		mustNot(t, err)
	})
}

// TestRoomsEncryptionDefault checks encryption.default and that an
// encrypted room's algorithm cannot change.
func TestRoomsEncryptionDefault(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := rmLogin(t, hs, "alice")
		private, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
		mustNot(t, err)
		var enc event.EncryptionEventContent
		mustNot(t, alice.StateEvent(ctx, private.RoomID, event.StateEncryption, "", &enc))
		if enc.Algorithm != "m.megolm.v1.aes-sha2" {
			t.Fatalf("algorithm = %q", enc.Algorithm)
		}
		public, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustNot(t, err)
		err = alice.StateEvent(ctx, public.RoomID, event.StateEncryption, "", &enc)
		expectMatrixError(t, err, 404, "M_NOT_FOUND")
		_, err = alice.SendStateEvent(ctx, private.RoomID, event.StateEncryption, "", map[string]any{"algorithm": "none"})
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
		_, err = alice.SendStateEvent(ctx, private.RoomID, event.StateEncryption, "", map[string]any{})
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
		// Same algorithm, new rotation settings: allowed.
		_, err = alice.SendStateEvent(ctx, private.RoomID, event.StateEncryption, "", map[string]any{"algorithm": "m.megolm.v1.aes-sha2", "rotation_period_ms": 1000})
		mustNot(t, err)

		hs.Config.Encryption.Default = "off"
		restart(hs)
		off, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
		mustNot(t, err)
		err = alice.StateEvent(ctx, off.RoomID, event.StateEncryption, "", &enc)
		expectMatrixError(t, err, 404, "M_NOT_FOUND")
	})
}

// TestRoomsBadInput sends malformed, unauthorised and over-size requests to
// every room endpoint: each gets the spec's error, and no event is stored.
func TestRoomsBadInput(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", RoomVersion: "10", RoomAliasName: "bad"})
		mustNot(t, err)
		room := url.PathEscape(resp.RoomID.String())
		msg, err := alice.SendMessageEvent(ctx, resp.RoomID, event.EventMessage, map[string]any{"body": "x"})
		mustNot(t, err)
		evID := url.PathEscape(msg.EventID.String())
		unknown := url.PathEscape("!unknown:localhost")
		big := `{"body":"` + strings.Repeat("a", 70000) + `"}`
		longType := strings.Repeat("t", 256)
		v3 := "/_matrix/client/v3/"
		posBefore := hs.Srv.Notifier.Position("events")

		for _, tc := range []struct {
			name, who, method, path, body string
			status                        int
			errcode                       string
		}{
			{"createRoom not JSON", "alice", "POST", "createRoom", `{"room_version":`, 400, "M_NOT_JSON"},
			{"createRoom array", "alice", "POST", "createRoom", `[1]`, 400, "M_BAD_JSON"},
			{"createRoom numeric version", "alice", "POST", "createRoom", `{"room_version":1}`, 400, "M_BAD_JSON"},
			{"createRoom unknown version", "alice", "POST", "createRoom", `{"room_version":"99"}`, 400, "M_UNSUPPORTED_ROOM_VERSION"},
			{"createRoom creation_content string", "alice", "POST", "createRoom", `{"creation_content":"{}"}`, 400, "M_BAD_JSON"},
			{"createRoom initial_state content string", "alice", "POST", "createRoom", `{"initial_state":[{"type":"m.x","content":"s"}]}`, 400, "M_BAD_JSON"},
			{"createRoom initial_state too large", "alice", "POST", "createRoom", `{"initial_state":[{"type":"m.x","content":` + big + `}]}`, 413, "M_TOO_LARGE"},
			{"createRoom bad invitee", "alice", "POST", "createRoom", `{"invite":["bob"]}`, 400, "M_INVALID_PARAM"},
			{"createRoom remote invitee", "alice", "POST", "createRoom", `{"invite":["@bob:elsewhere.org"]}`, 403, "M_FORBIDDEN"},
			{"createRoom bad preset", "alice", "POST", "createRoom", `{"preset":"party"}`, 400, "M_BAD_JSON"},
			{"createRoom bad visibility", "alice", "POST", "createRoom", `{"visibility":"sideways"}`, 400, "M_BAD_JSON"},
			{"createRoom bad alias name", "alice", "POST", "createRoom", `{"room_alias_name":"a:b"}`, 400, "M_INVALID_PARAM"},
			{"createRoom alias taken", "bob", "POST", "createRoom", `{"room_alias_name":"bad"}`, 400, "M_ROOM_IN_USE"},
			{"createRoom invalid initial state", "alice", "POST", "createRoom", `{"room_version":"10","power_level_content_override":{"users":{"@alice:localhost":0}}}`, 400, "M_INVALID_ROOM_STATE"},
			{"createRoom 3pid invite", "alice", "POST", "createRoom", `{"invite_3pid":[{"id_server":"x","medium":"email","address":"a@b"}]}`, 400, "M_UNKNOWN"},
			{"createRoom no token", "", "POST", "createRoom", `{}`, 401, "M_MISSING_TOKEN"},

			{"send not JSON", "alice", "PUT", "rooms/" + room + "/send/m.room.message/t1", `{`, 400, "M_NOT_JSON"},
			{"send array", "alice", "PUT", "rooms/" + room + "/send/m.room.message/t2", `[]`, 400, "M_BAD_JSON"},
			{"send float", "alice", "PUT", "rooms/" + room + "/send/m.room.message/t3", `{"n":1.5}`, 400, "M_BAD_JSON"},
			{"send too large", "alice", "PUT", "rooms/" + room + "/send/m.room.message/t4", big, 413, "M_TOO_LARGE"},
			{"send type too long", "alice", "PUT", "rooms/" + room + "/send/" + longType + "/t5", `{}`, 413, "M_TOO_LARGE"},
			{"send unknown room", "alice", "PUT", "rooms/" + unknown + "/send/m.room.message/t6", `{}`, 404, "M_NOT_FOUND"},
			{"send not a member", "bob", "PUT", "rooms/" + room + "/send/m.room.message/t7", `{"body":"hi"}`, 403, "M_FORBIDDEN"},
			{"send redaction without redacts", "alice", "PUT", "rooms/" + room + "/send/m.room.redaction/t8", `{}`, 400, "M_BAD_JSON"},
			{"send no token", "", "PUT", "rooms/" + room + "/send/m.room.message/t9", `{}`, 401, "M_MISSING_TOKEN"},

			{"state not a member", "bob", "PUT", "rooms/" + room + "/state/m.room.topic/", `{"topic":"x"}`, 403, "M_FORBIDDEN"},
			{"state key too long", "alice", "PUT", "rooms/" + room + "/state/m.x/" + longType, `{}`, 413, "M_TOO_LARGE"},
			{"state not an object", "alice", "PUT", "rooms/" + room + "/state/m.room.topic", `"x"`, 400, "M_BAD_JSON"},
			{"state unknown room", "alice", "PUT", "rooms/" + unknown + "/state/m.room.topic", `{}`, 404, "M_NOT_FOUND"},
			{"state create event", "alice", "PUT", "rooms/" + room + "/state/m.room.create", `{}`, 403, "M_FORBIDDEN"},
			{"state power too low", "bob", "PUT", "rooms/" + room + "/state/m.room.power_levels", `{}`, 403, "M_FORBIDDEN"},

			{"get state unknown room", "alice", "GET", "rooms/" + unknown + "/state", "", 403, "M_FORBIDDEN"},
			{"get state not a member", "bob", "GET", "rooms/" + room + "/state", "", 403, "M_FORBIDDEN"},
			{"get state event absent", "alice", "GET", "rooms/" + room + "/state/m.nothing", "", 404, "M_NOT_FOUND"},
			{"get state event bad format", "alice", "GET", "rooms/" + room + "/state/m.room.create?format=xml", "", 400, "M_INVALID_PARAM"},
			{"get state event not a member", "bob", "GET", "rooms/" + room + "/state/m.room.create", "", 403, "M_FORBIDDEN"},
			{"get event unknown", "alice", "GET", "rooms/" + room + "/event/" + url.PathEscape("$nope"), "", 404, "M_NOT_FOUND"},
			{"get event unknown room", "alice", "GET", "rooms/" + unknown + "/event/" + evID, "", 404, "M_NOT_FOUND"},
			{"get event not a member", "bob", "GET", "rooms/" + room + "/event/" + evID, "", 404, "M_NOT_FOUND"},
			{"members bad membership", "alice", "GET", "rooms/" + room + "/members?membership=lurking", "", 400, "M_INVALID_PARAM"},
			{"members bad at", "alice", "GET", "rooms/" + room + "/members?at=yesterday", "", 400, "M_INVALID_PARAM"},
			{"members not a member", "bob", "GET", "rooms/" + room + "/members", "", 403, "M_FORBIDDEN"},
			{"joined_members not a member", "bob", "GET", "rooms/" + room + "/joined_members", "", 403, "M_FORBIDDEN"},

			{"invite no user", "alice", "POST", "rooms/" + room + "/invite", `{}`, 400, "M_MISSING_PARAM"},
			{"invite bad user", "alice", "POST", "rooms/" + room + "/invite", `{"user_id":"bob"}`, 400, "M_INVALID_PARAM"},
			{"invite user wrong type", "alice", "POST", "rooms/" + room + "/invite", `{"user_id":5}`, 400, "M_BAD_JSON"},
			{"invite remote user", "alice", "POST", "rooms/" + room + "/invite", `{"user_id":"@bob:elsewhere.org"}`, 403, "M_FORBIDDEN"},
			{"invite by non-member", "bob", "POST", "rooms/" + room + "/invite", `{"user_id":"@carol:localhost"}`, 403, "M_FORBIDDEN"},
			{"invite unknown room", "alice", "POST", "rooms/" + unknown + "/invite", `{"user_id":"@bob:localhost"}`, 404, "M_NOT_FOUND"},
			{"join unknown room", "bob", "POST", "rooms/" + unknown + "/join", `{}`, 404, "M_NOT_FOUND"},
			{"join uninvited", "bob", "POST", "join/" + room, `{}`, 403, "M_FORBIDDEN"},
			{"join bad alias", "bob", "POST", "join/" + url.PathEscape("#bad"), `{}`, 400, "M_INVALID_PARAM"},
			{"join unknown alias", "bob", "POST", "join/" + url.PathEscape("#nope:localhost"), `{}`, 404, "M_NOT_FOUND"},
			{"join garbage", "bob", "POST", "join/garbage", `{}`, 400, "M_INVALID_PARAM"},
			{"join not JSON", "bob", "POST", "join/" + room, `{`, 400, "M_NOT_JSON"},
			{"leave not a member", "bob", "POST", "rooms/" + room + "/leave", `{}`, 403, "M_FORBIDDEN"},
			{"leave unknown room", "bob", "POST", "rooms/" + unknown + "/leave", `{}`, 404, "M_NOT_FOUND"},
			{"kick not in room", "alice", "POST", "rooms/" + room + "/kick", `{"user_id":"@bob:localhost"}`, 403, "M_FORBIDDEN"},
			{"kick by non-member", "bob", "POST", "rooms/" + room + "/kick", `{"user_id":"@alice:localhost"}`, 403, "M_FORBIDDEN"},
			{"ban by non-member", "bob", "POST", "rooms/" + room + "/ban", `{"user_id":"@alice:localhost"}`, 403, "M_FORBIDDEN"},
			{"ban missing user", "alice", "POST", "rooms/" + room + "/ban", `{"reason":"x"}`, 400, "M_MISSING_PARAM"},
			{"unban not banned", "alice", "POST", "rooms/" + room + "/unban", `{"user_id":"@bob:localhost"}`, 403, "M_FORBIDDEN"},
			{"forget while joined", "alice", "POST", "rooms/" + room + "/forget", `{}`, 400, "M_UNKNOWN"},
			{"forget unknown room", "alice", "POST", "rooms/" + unknown + "/forget", `{}`, 404, "M_NOT_FOUND"},
			{"knock invite-only room", "bob", "POST", "knock/" + room, `{}`, 403, "M_FORBIDDEN"},
			{"knock unknown room", "bob", "POST", "knock/" + unknown, `{}`, 404, "M_NOT_FOUND"},

			{"redact unknown event", "alice", "PUT", "rooms/" + room + "/redact/" + url.PathEscape("$nope") + "/r1", `{}`, 404, "M_NOT_FOUND"},
			{"redact unknown room", "alice", "PUT", "rooms/" + unknown + "/redact/" + evID + "/r2", `{}`, 404, "M_NOT_FOUND"},
			{"redact not a member", "bob", "PUT", "rooms/" + room + "/redact/" + evID + "/r3", `{}`, 403, "M_FORBIDDEN"},
			{"redact reason wrong type", "alice", "PUT", "rooms/" + room + "/redact/" + evID + "/r4", `{"reason":1}`, 400, "M_BAD_JSON"},

			{"upgrade no version", "alice", "POST", "rooms/" + room + "/upgrade", `{}`, 400, "M_MISSING_PARAM"},
			{"upgrade unknown room", "alice", "POST", "rooms/" + unknown + "/upgrade", `{"new_version":"12"}`, 404, "M_NOT_FOUND"},
			{"upgrade by non-member", "bob", "POST", "rooms/" + room + "/upgrade", `{"new_version":"12"}`, 403, "M_FORBIDDEN"},

			{"alias put invalid", "alice", "PUT", "directory/room/" + url.PathEscape("nope"), `{"room_id":"!a:localhost"}`, 400, "M_INVALID_PARAM"},
			{"alias put remote", "alice", "PUT", "directory/room/" + url.PathEscape("#a:elsewhere.org"), `{"room_id":"` + resp.RoomID.String() + `"}`, 400, "M_INVALID_PARAM"},
			{"alias put no room", "alice", "PUT", "directory/room/" + url.PathEscape("#a:localhost"), `{}`, 400, "M_MISSING_PARAM"},
			{"alias put unknown room", "alice", "PUT", "directory/room/" + url.PathEscape("#a:localhost"), `{"room_id":"!unknown:localhost"}`, 404, "M_NOT_FOUND"},
			{"alias put taken", "alice", "PUT", "directory/room/" + url.PathEscape("#bad:localhost"), `{"room_id":"` + resp.RoomID.String() + `"}`, 409, "M_UNKNOWN"},
			{"alias get invalid", "", "GET", "directory/room/nope", "", 400, "M_INVALID_PARAM"},
			{"alias get unknown", "", "GET", "directory/room/" + url.PathEscape("#nope:localhost"), "", 404, "M_NOT_FOUND"},
			{"alias delete unknown", "alice", "DELETE", "directory/room/" + url.PathEscape("#nope:localhost"), "", 404, "M_NOT_FOUND"},
			{"alias delete not allowed", "bob", "DELETE", "directory/room/" + url.PathEscape("#bad:localhost"), "", 403, "M_FORBIDDEN"},
			{"aliases not a member", "bob", "GET", "rooms/" + room + "/aliases", "", 403, "M_FORBIDDEN"},
			{"aliases unknown room", "alice", "GET", "rooms/" + unknown + "/aliases", "", 403, "M_FORBIDDEN"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				token := map[string]string{"alice": alice.token, "bob": bob.token}[tc.who]
				call(t, hs, tc.method, v3+tc.path, token, tc.body).expect(t, tc.status, tc.errcode)
			})
		}
		if pos := hs.Srv.Notifier.Position("events"); pos != posBefore {
			t.Fatalf("failed requests stored events: position %d, was %d", pos, posBefore)
		}
		// The legacy r0 prefix serves the same endpoints.
		call(t, hs, "GET", "/_matrix/client/r0/rooms/"+room+"/state/m.room.create", alice.token, "").expect(t, 200, "")
		call(t, hs, "GET", "/_matrix/client/r0/joined_rooms", alice.token, "").expect(t, 200, "")
		rooms, err := alice.JoinedRooms(ctx)
		mustNot(t, err)
		if len(rooms.JoinedRooms) != 1 {
			t.Fatalf("alice is in %d rooms: a failed createRoom left a room", len(rooms.JoinedRooms))
		}
	})
}

// TestRoomsRestrictedJoin joins a restricted room through membership of
// an allowed room: a local member who may invite authorises the join.
func TestRoomsRestrictedJoin(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob, carol := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob"), rmLogin(t, hs, "carol")
		space, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustNot(t, err)
		restricted, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", InitialState: []*event.Event{{
			Type: event.StateJoinRules, StateKey: ptr(""), Content: event.Content{Raw: map[string]any{
				"join_rule": "restricted", "allow": []any{map[string]any{"type": "m.room_membership", "room_id": space.RoomID}},
			}},
		}}})
		mustNot(t, err)
		_, err = bob.JoinRoomByID(ctx, restricted.RoomID)
		expectMatrixError(t, err, 403, "M_FORBIDDEN") // not in the allowed room
		_, err = bob.JoinRoomByID(ctx, space.RoomID)
		mustNot(t, err)
		_, err = bob.JoinRoomByID(ctx, restricted.RoomID)
		mustNot(t, err)
		var m event.MemberEventContent
		mustNot(t, bob.StateEvent(ctx, restricted.RoomID, event.StateMember, bob.UserID.String(), &m))
		if m.Membership != event.MembershipJoin || m.JoinAuthorisedViaUsersServer != alice.UserID {
			t.Fatalf("bob's join = %+v, want authorised by alice", m)
		}
		_, err = carol.JoinRoomByID(ctx, restricted.RoomID)
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
	})
}
