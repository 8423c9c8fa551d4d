package httpapi_test

import (
	"context"
	"net/url"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// TestServerNotices sends server notices through the admin API on both
// engines: one room per user, tagged, whose invite cannot be rejected,
// re-used after the user left, with idempotent transaction IDs.
func TestServerNotices(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		if _, err := hs.Srv.Users.CreateAccount(ctx, "admin", "password", true); err != nil {
			t.Fatal(err)
		}
		admin, alice := rmLogin(t, hs, "admin"), rmLogin(t, hs, "alice")
		const path = "/_synapse/admin/v1/send_server_notice"
		notice := map[string]any{"user_id": "@alice:localhost", "content": map[string]any{"msgtype": "m.server_notice", "body": "hello"}}
		call(t, hs, "POST", path, alice.token, nil).expect(t, 403, "M_FORBIDDEN")
		first := call(t, hs, "POST", path, admin.token, notice).expect(t, 200, "").str("event_id")

		// Alice is invited by the server notices user.
		sync, err := alice.SyncRequest(ctx, 0, "", "", false, "")
		mustNot(t, err)
		if len(sync.Rooms.Invite) != 1 {
			t.Fatalf("invites = %v", sync.Rooms.Invite)
		}
		var roomID id.RoomID
		for r, inv := range sync.Rooms.Invite {
			roomID = r
			for _, ev := range inv.State.Events {
				if ev.Type == event.StateMember && ev.GetStateKey() == "@alice:localhost" && ev.Sender != "@_server:localhost" {
					t.Fatalf("invite sent by %s", ev.Sender)
				}
			}
		}
		tags := call(t, hs, "GET", "/_matrix/client/v3/user/@alice:localhost/rooms/"+url.PathEscape(roomID.String())+"/tags", alice.token, nil).expect(t, 200, "")
		if _, ok := tags.body["tags"].(map[string]any)["m.server_notice"]; !ok {
			t.Fatalf("tags = %s", tags.raw)
		}
		// The invite cannot be rejected; joined, Alice reads the notice but
		// cannot write.
		call(t, hs, "POST", "/_matrix/client/v3/rooms/"+url.PathEscape(roomID.String())+"/leave", alice.token, map[string]any{}).
			expect(t, 403, "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM")
		_, err = alice.JoinRoomByID(ctx, roomID)
		mustNot(t, err)
		ev, err := alice.GetEvent(ctx, roomID, id.EventID(first))
		mustNot(t, err)
		if ev.Sender != "@_server:localhost" || ev.Content.Raw["body"] != "hello" {
			t.Fatalf("notice = %+v", ev)
		}
		_, err = alice.SendMessageEvent(ctx, roomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "hi"})
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
		// Once joined she may leave; the next notice invites her to the same room.
		_, err = alice.LeaveRoom(ctx, roomID)
		mustNot(t, err)
		call(t, hs, "POST", path, admin.token, notice).expect(t, 200, "")
		sync, err = alice.SyncRequest(ctx, 0, "", "", false, "")
		mustNot(t, err)
		if _, ok := sync.Rooms.Invite[roomID]; !ok || len(sync.Rooms.Invite) != 1 {
			t.Fatalf("invites after leaving = %v, want %s again", sync.Rooms.Invite, roomID)
		}
		// A transaction ID makes the send idempotent.
		a := call(t, hs, "PUT", path+"/t1", admin.token, notice).expect(t, 200, "").str("event_id")
		b := call(t, hs, "PUT", path+"/t1", admin.token, notice).expect(t, 200, "").str("event_id")
		c := call(t, hs, "PUT", path+"/t2", admin.token, notice).expect(t, 200, "").str("event_id")
		if a == "" || a != b || a == c {
			t.Fatalf("event IDs of t1, t1, t2 = %s, %s, %s", a, b, c)
		}
	})
}

// TestServerNoticesBadInput checks the errors of send_server_notice.
func TestServerNoticesBadInput(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		if _, err := hs.Srv.Users.CreateAccount(ctx, "admin", "password", true); err != nil {
			t.Fatal(err)
		}
		admin := rmLogin(t, hs, "admin")
		rmLogin(t, hs, "alice")
		const path = "/_synapse/admin/v1/send_server_notice"
		content := map[string]any{"msgtype": "m.text", "body": "x"}
		for _, tc := range []struct {
			name    string
			body    any
			status  int
			errcode string
		}{
			{"not JSON", `{"user_id":`, 400, "M_NOT_JSON"},
			{"no user_id", map[string]any{"content": content}, 400, "M_MISSING_PARAM"},
			{"no content", map[string]any{"user_id": "@alice:localhost"}, 400, "M_MISSING_PARAM"},
			{"content not an object", map[string]any{"user_id": "@alice:localhost", "content": "x"}, 400, "M_BAD_JSON"},
			{"user_id a number", map[string]any{"user_id": 1, "content": content}, 400, "M_BAD_JSON"},
			{"not a user ID", map[string]any{"user_id": "alice", "content": content}, 400, "M_INVALID_PARAM"},
			{"remote user", map[string]any{"user_id": "@alice:elsewhere.example", "content": content}, 400, "M_INVALID_PARAM"},
			{"unknown user", map[string]any{"user_id": "@nobody:localhost", "content": content}, 404, "M_NOT_FOUND"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				call(t, hs, "POST", path, admin.token, tc.body).expect(t, tc.status, tc.errcode)
			})
		}
		call(t, hs, "POST", path, "", map[string]any{"user_id": "@alice:localhost", "content": content}).expect(t, 401, "M_MISSING_TOKEN")
		// Nothing was sent: Alice has no invite.
		cli := rmLogin(t, hs, "alice")
		sync, err := cli.SyncRequest(ctx, 0, "", "", false, "")
		mustNot(t, err)
		if len(sync.Rooms.Invite) != 0 {
			t.Fatalf("invites after bad input = %v", sync.Rooms.Invite)
		}
	})
}
