package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// TestDeactivationLeavesRooms: a deactivated account leaves the rooms it
// was joined to and rejects the invites it had, so other members see it go.
func TestDeactivationLeavesRooms(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		login := func(name string) *mautrix.Client {
			if _, err := hs.Srv.Users.CreateAccount(ctx, name, "a long password", false); err != nil {
				t.Fatal(err)
			}
			cli, _ := mautrix.NewClient(hs.URL, "", "")
			if _, err := cli.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypePassword, Password: "a long password",
				Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: name}, StoreCredentials: true}); err != nil {
				t.Fatal(err)
			}
			return cli
		}
		alice, bob := login("alice"), login("bob")
		joined, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bob.JoinRoomByID(ctx, joined.RoomID); err != nil {
			t.Fatal(err)
		}
		invited, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{bob.UserID}})
		if err != nil {
			t.Fatal(err)
		}
		// The first attempt asks for user-interactive auth; the second gives the password.
		deactivate := func(body string) (int, map[string]any) {
			req, _ := http.NewRequest("POST", hs.URL+"/_matrix/client/v3/account/deactivate", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+bob.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			return resp.StatusCode, out
		}
		status, flows := deactivate(`{}`)
		session, _ := flows["session"].(string)
		if status != 401 || session == "" {
			t.Fatalf("deactivate without auth = %d %v, want 401 with a session", status, flows)
		}
		status, out := deactivate(`{"auth":{"type":"m.login.password","session":"` + session +
			`","password":"a long password","identifier":{"type":"m.id.user","user":"bob"}}}`)
		if status != 200 {
			t.Fatalf("deactivate = %d %v", status, out)
		}
		for _, roomID := range []id.RoomID{joined.RoomID, invited.RoomID} {
			members, err := alice.Members(ctx, roomID)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range members.Chunk {
				if ev.GetStateKey() == bob.UserID.String() && ev.Content.AsMember().Membership != "leave" {
					t.Errorf("room %s: bob's membership is %s after deactivation", roomID, ev.Content.AsMember().Membership)
				}
			}
		}
	})
}
