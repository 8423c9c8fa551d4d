package httpapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

func TestProfile(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		bob := udLogin(t, hs, "bob")

		if err := alice.SetDisplayName(ctx, "Alice Liddell"); err != nil {
			t.Fatal(err)
		}
		avatar := id.ContentURI{Homeserver: "localhost", FileID: "abcDEF_123-x"}
		if err := alice.SetAvatarURL(ctx, avatar); err != nil {
			t.Fatal(err)
		}
		if err := alice.SetProfileField(ctx, "m.tz", "Europe/London"); err != nil {
			t.Fatal(err)
		}
		if err := alice.SetProfileField(ctx, "org.example.pet", map[string]any{"name": "Dinah", "weight": 3.5}); err != nil {
			t.Fatal(err)
		}
		// Another user reads it, with mautrix and raw.
		p, err := bob.GetProfile(ctx, alice.UserID)
		if err != nil || p.DisplayName != "Alice Liddell" || p.AvatarURL != avatar {
			t.Fatalf("GetProfile = %+v, %v", p, err)
		}
		restart(hs)
		status, body := udDo(t, hs, "", "GET", "/_matrix/client/v3/profile/@alice:localhost", "")
		if status != 200 || body != `{"avatar_url":"mxc://localhost/abcDEF_123-x","displayname":"Alice Liddell","m.tz":"Europe/London","org.example.pet":{"name":"Dinah","weight":3.5}}` {
			t.Fatalf("GET profile (no auth, after restart) = %d %s", status, body)
		}
		var tz struct {
			TZ string `json:"m.tz"`
		}
		if err := bob.GetProfileField(ctx, alice.UserID, "m.tz", &tz); err != nil || tz.TZ != "Europe/London" {
			t.Fatalf("GetProfileField = %+v, %v", tz, err)
		}
		if dn, err := bob.GetDisplayName(ctx, alice.UserID); err != nil || dn.DisplayName != "Alice Liddell" {
			t.Fatalf("GetDisplayName = %+v, %v", dn, err)
		}
		// The legacy r0 prefix serves the same.
		if status, body := udDo(t, hs, "", "GET", "/_matrix/client/r0/profile/@alice:localhost/displayname", ""); status != 200 || body != `{"displayname":"Alice Liddell"}` {
			t.Fatalf("r0 displayname = %d %s", status, body)
		}
		// Delete a field; deleting an absent one succeeds.
		if err := alice.DeleteProfileField(ctx, "org.example.pet"); err != nil {
			t.Fatal(err)
		}
		if err := alice.DeleteProfileField(ctx, "org.example.pet"); err != nil {
			t.Fatal(err)
		}
		var pet map[string]any
		if err := bob.GetProfileField(ctx, alice.UserID, "org.example.pet", &pet); !errors.Is(err, mautrix.MNotFound) {
			t.Fatalf("deleted field = %v, %v", pet, err)
		}
		// An empty display name unsets it.
		if err := alice.SetDisplayName(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if status, body := udDo(t, hs, "", "GET", "/_matrix/client/v3/profile/@alice:localhost/displayname", ""); status != 404 {
			t.Fatalf("unset displayname = %d %s", status, body)
		}
		// A user without any profile has an empty one.
		if status, body := udDo(t, hs, "", "GET", "/_matrix/client/v3/profile/@bob:localhost", ""); status != 200 || body != `{}` {
			t.Fatalf("empty profile = %d %s", status, body)
		}
	})
}

func TestProfileBadInput(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		udLogin(t, hs, "bob")
		if err := alice.SetDisplayName(context.Background(), "Alice"); err != nil {
			t.Fatal(err)
		}
		const me = "/_matrix/client/v3/profile/@alice:localhost"
		udRun(t, hs, alice.token, []udCall{
			{"unknown user", "GET", "/_matrix/client/v3/profile/@nobody:localhost", "", 404, "M_NOT_FOUND"},
			{"unknown user field", "GET", "/_matrix/client/v3/profile/@nobody:localhost/displayname", "", 404, "M_NOT_FOUND"},
			// NOTSPEC until federation exists: remote profiles are not found.
			{"remote user", "GET", "/_matrix/client/v3/profile/@alice:elsewhere.org", "", 404, "M_NOT_FOUND"},
			{"malformed user ID", "GET", "/_matrix/client/v3/profile/alice", "", 400, "M_INVALID_PARAM"},
			{"unset field", "GET", me + "/avatar_url", "", 404, "M_NOT_FOUND"},
			{"another user's profile", "PUT", "/_matrix/client/v3/profile/@bob:localhost/displayname", `{"displayname":"Bob?"}`, 403, "M_FORBIDDEN"},
			{"delete another user's field", "DELETE", "/_matrix/client/v3/profile/@bob:localhost/displayname", "", 403, "M_FORBIDDEN"},
			{"not JSON", "PUT", me + "/displayname", `{"displayname":`, 400, "M_NOT_JSON"},
			{"empty body", "PUT", me + "/displayname", ``, 400, "M_NOT_JSON"},
			{"array body", "PUT", me + "/displayname", `["x"]`, 400, "M_BAD_JSON"},
			{"missing key", "PUT", me + "/displayname", `{"avatar_url":"mxc://a/b"}`, 400, "M_MISSING_PARAM"},
			{"extra key", "PUT", me + "/displayname", `{"displayname":"A","avatar_url":"mxc://a/b"}`, 400, "M_BAD_JSON"},
			{"displayname not a string", "PUT", me + "/displayname", `{"displayname":5}`, 400, "M_BAD_JSON"},
			{"displayname null", "PUT", me + "/displayname", `{"displayname":null}`, 400, "M_BAD_JSON"},
			{"displayname with NUL", "PUT", me + "/displayname", `{"displayname":"a\u0000b"}`, 400, "M_BAD_JSON"},
			{"displayname too long", "PUT", me + "/displayname", `{"displayname":"` + strings.Repeat("é", 257) + `"}`, 400, "M_INVALID_PARAM"},
			{"avatar not mxc", "PUT", me + "/avatar_url", `{"avatar_url":"https://example.org/a.png"}`, 400, "M_BAD_JSON"},
			{"avatar bad media ID", "PUT", me + "/avatar_url", `{"avatar_url":"mxc://localhost/a/b"}`, 400, "M_BAD_JSON"},
			{"m.tz not a string", "PUT", me + "/m.tz", `{"m.tz":1}`, 400, "M_BAD_JSON"},
			{"invalid key", "PUT", me + "/Bad.Key", `{"Bad.Key":1}`, 400, "M_INVALID_PARAM"},
			{"un-namespaced key", "PUT", me + "/custom", `{"custom":1}`, 400, "M_INVALID_PARAM"},
			{"key too long", "PUT", me + "/org." + strings.Repeat("a", 260), `{}`, 400, "M_KEY_TOO_LARGE"},
			{"profile too large", "PUT", me + "/org.example.big", `{"org.example.big":"` + strings.Repeat("a", 70000) + `"}`, 400, "M_PROFILE_TOO_LARGE"},
			{"over-size body", "PUT", me + "/org.example.big", `{"org.example.big":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
			{"DELETE has no r0 route", "DELETE", "/_matrix/client/r0/profile/@alice:localhost/displayname", "", 405, "M_UNRECOGNIZED"},
		})
		udRun(t, hs, "", []udCall{
			{"missing auth", "PUT", me + "/displayname", `{"displayname":"x"}`, 401, "M_MISSING_TOKEN"},
			{"missing auth delete", "DELETE", me + "/displayname", ``, 401, "M_MISSING_TOKEN"},
		})
		// Nothing changed.
		if status, body := udDo(t, hs, "", "GET", me, ""); status != 200 || body != `{"displayname":"Alice"}` {
			t.Fatalf("profile after bad input = %d %s", status, body)
		}
	})
}

func TestUserDirectorySearch(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		bob := udLogin(t, hs, "bob")
		carol := udLogin(t, hs, "carol")
		udLogin(t, hs, "alina") // shares no room with anyone
		if err := bob.SetDisplayName(ctx, "Bob Alison"); err != nil {
			t.Fatal(err)
		}
		if err := alice.SetAvatarURL(ctx, id.ContentURI{Homeserver: "localhost", FileID: "av"}); err != nil {
			t.Fatal(err)
		}
		// Carol finds no one before the rooms exist.
		if res, err := carolSearch(t, hs, "ALI", 10); err != nil || len(res.Results) != 0 {
			t.Fatalf("search before rooms = %+v, %v", res, err)
		}
		// Alice is in a public room; Bob shares a private room with Carol.
		if _, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"}); err != nil {
			t.Fatal(err)
		}
		private, err := bob.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{"@carol:localhost"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := carol.JoinRoomByID(ctx, private.RoomID); err != nil {
			t.Fatal(err)
		}
		res, err := carolSearch(t, hs, "ALI", 10)
		if err != nil || res.Limited || len(res.Results) != 2 ||
			res.Results[0].UserID != "@alice:localhost" || res.Results[0].AvatarURL.String() != "mxc://localhost/av" ||
			// The spec names the field display_name (mautrix reads displayname).
			res.Results[1].UserID != "@bob:localhost" || res.Results[1].Extra["display_name"] != "Bob Alison" {
			t.Fatalf("search ALI = %+v, %v", res, err)
		}
		if res, err := carolSearch(t, hs, "ali", 1); err != nil || !res.Limited || len(res.Results) != 1 {
			t.Fatalf("search limit 1 = %+v, %v", res, err)
		}
		if res, err := carolSearch(t, hs, "@bob:localhost", 0); err != nil || len(res.Results) != 1 || res.Results[0].UserID != "@bob:localhost" {
			t.Fatalf("search by user ID = %+v, %v", res, err)
		}
		// Carol shares a room with no one but Bob: she does not find herself.
		if res, err := carolSearch(t, hs, "carol", 0); err != nil || len(res.Results) != 0 {
			t.Fatalf("search for herself = %+v, %v", res, err)
		}
		// Bob finds Carol, who only shares his room, and Alice.
		if res, err := bob.SearchUserDirectory(ctx, "l", 10); err != nil || len(res.Results) != 2 ||
			res.Results[0].UserID != "@alice:localhost" || res.Results[1].UserID != "@carol:localhost" {
			t.Fatalf("bob's search = %+v, %v", res, err)
		}
		if res, err := carolSearch(t, hs, "zzz", 0); err != nil || len(res.Results) != 0 || res.Limited {
			t.Fatalf("search zzz = %+v, %v", res, err)
		}
		const path = "/_matrix/client/v3/user_directory/search"
		udRun(t, hs, alice.token, []udCall{
			{"no search_term", "POST", path, `{"limit":3}`, 400, "M_MISSING_PARAM"},
			{"search_term not a string", "POST", path, `{"search_term":3}`, 400, "M_BAD_JSON"},
			{"negative limit", "POST", path, `{"search_term":"a","limit":-1}`, 400, "M_BAD_JSON"},
			{"not JSON", "POST", path, `{`, 400, "M_NOT_JSON"},
			{"over-size body", "POST", path, `{"search_term":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
			{"r0", "POST", "/_matrix/client/r0/user_directory/search", `{"search_term":"bob"}`, 200, ""},
		})
		udRun(t, hs, "", []udCall{{"missing auth", "POST", path, `{"search_term":"a"}`, 401, "M_MISSING_TOKEN"}})
	})
}

func carolSearch(t *testing.T, hs *testserver.Server, term string, limit int) (*mautrix.RespSearchUserDirectory, error) {
	t.Helper()
	cli := client(t, hs, "")
	tok, err := hs.Srv.Users.NewSession(context.Background(), "carol", "", "", "127.0.0.1", false)
	if err != nil {
		t.Fatal(err)
	}
	cli.AccessToken = tok.AccessToken
	return cli.SearchUserDirectory(context.Background(), term, limit)
}
