package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// dirPage is a /publicRooms answer.
type dirPage struct {
	Chunk []struct {
		RoomID           string `json:"room_id"`
		Name             string `json:"name"`
		Topic            string `json:"topic"`
		CanonicalAlias   string `json:"canonical_alias"`
		NumJoinedMembers int    `json:"num_joined_members"`
		WorldReadable    bool   `json:"world_readable"`
		GuestCanJoin     bool   `json:"guest_can_join"`
		AvatarURL        string `json:"avatar_url"`
		JoinRule         string `json:"join_rule"`
		RoomType         string `json:"room_type"`
	} `json:"chunk"`
	NextBatch string `json:"next_batch"`
	PrevBatch string `json:"prev_batch"`
	Total     int    `json:"total_room_count_estimate"`
}

func (p dirPage) ids() []string {
	var out []string
	for _, r := range p.Chunk {
		out = append(out, r.RoomID)
	}
	return out
}

// dirQuery POSTs a /publicRooms query with mautrix.
func dirQuery(t *testing.T, u testUser, body map[string]any) dirPage {
	t.Helper()
	var p dirPage
	_, err := u.MakeRequest(context.Background(), http.MethodPost, u.BuildClientURL("v3", "publicRooms"), body, &p)
	mustNot(t, err)
	return p
}

// dirSetVisibility sets a room's directory visibility with mautrix.
func dirSetVisibility(u testUser, room id.RoomID, visibility string) error {
	_, err := u.MakeRequest(context.Background(), http.MethodPut, u.BuildClientURL("v3", "directory", "list", "room", room),
		map[string]string{"visibility": visibility}, nil)
	return err
}

// dirVisibility reads a room's directory visibility without a token.
func dirVisibility(t *testing.T, hs *testserver.Server, room id.RoomID) string {
	t.Helper()
	r := call(t, hs, "GET", "/_matrix/client/v3/directory/list/room/"+url.PathEscape(room.String()), "", "")
	r.expect(t, 200, "")
	return r.str("visibility")
}

// TestRoomDirectory publishes rooms and lists, searches, filters and
// pages through them with mautrix, on both engines.
func TestRoomDirectory(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob, carol := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob"), rmLogin(t, hs, "carol")
		hs.Srv.Users.CreateAccount(ctx, "root", "password", true)
		root := rmLogin(t, hs, "root")

		// A public room created with everything the list shows.
		big, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Visibility: "public", Preset: "public_chat",
			Name: "Wombat Club", Topic: "All about WOMBLES", RoomAliasName: "wombats",
			InitialState: []*event.Event{
				{Type: event.StateHistoryVisibility, Content: event.Content{Raw: map[string]any{"history_visibility": "world_readable"}}},
				{Type: event.StateGuestAccess, Content: event.Content{Raw: map[string]any{"guest_access": "can_join"}}},
				{Type: event.StateRoomAvatar, Content: event.Content{Raw: map[string]any{"url": "mxc://localhost/wombat"}}},
			}})
		mustNot(t, err)
		for _, u := range []testUser{bob, carol} {
			_, err := u.JoinRoomByID(ctx, big.RoomID)
			mustNot(t, err)
		}
		space, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Visibility: "public", Preset: "public_chat", Name: "A space",
			CreationContent: map[string]any{"type": "m.space"}})
		mustNot(t, err)
		_, err = bob.JoinRoomByID(ctx, space.RoomID)
		mustNot(t, err)
		private, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Wombat secrets"})
		mustNot(t, err)

		if v := dirVisibility(t, hs, big.RoomID); v != "public" {
			t.Fatalf("visibility of a room created public = %q", v)
		}
		if v := dirVisibility(t, hs, private.RoomID); v != "private" {
			t.Fatalf("visibility of a private room = %q", v)
		}

		// GET /publicRooms needs no token; the biggest room comes first.
		list, err := mautrix.NewClient(hs.URL, "", "")
		mustNot(t, err)
		resp, err := list.PublicRooms(ctx, &mautrix.ReqPublicRooms{})
		mustNot(t, err)
		if len(resp.Chunk) != 2 || resp.Chunk[0].RoomID != big.RoomID || resp.Chunk[1].RoomID != space.RoomID || resp.TotalRoomCountEstimate != 2 {
			t.Fatalf("public rooms = %+v", resp)
		}
		if r := resp.Chunk[0]; r.Name != "Wombat Club" || r.Topic != "All about WOMBLES" || r.CanonicalAlias != "#wombats:localhost" ||
			r.NumJoinedMembers != 3 || !r.WorldReadable || !r.GuestCanJoin || r.AvatarURL != "mxc://localhost/wombat" ||
			r.JoinRule != "public" || r.RoomType != "" {
			t.Fatalf("listed room = %+v", r)
		}
		if r := resp.Chunk[1]; r.RoomType != "m.space" || r.NumJoinedMembers != 2 || r.WorldReadable || r.GuestCanJoin {
			t.Fatalf("listed space = %+v", r)
		}
		// The server parameter may name this server.
		if resp, err := list.PublicRooms(ctx, &mautrix.ReqPublicRooms{Server: "localhost", Limit: 1}); err != nil || len(resp.Chunk) != 1 || resp.NextBatch == "" {
			t.Fatalf("public rooms of localhost, limit 1 = %+v, %v", resp, err)
		}

		// Search by name, topic and alias, ignoring case; filter by type.
		for term, want := range map[string][]string{
			"wombles": {big.RoomID.String()}, "CLUB": {big.RoomID.String()}, "#wombats": {big.RoomID.String()},
			"space": {space.RoomID.String()}, "secrets": nil, "": {big.RoomID.String(), space.RoomID.String()},
		} {
			p := dirQuery(t, alice, map[string]any{"filter": map[string]any{"generic_search_term": term}})
			if !slices.Equal(p.ids(), want) || p.Total != len(want) {
				t.Errorf("search %q = %v (total %d), want %v", term, p.ids(), p.Total, want)
			}
		}
		if p := dirQuery(t, alice, map[string]any{"filter": map[string]any{"room_types": []any{"m.space"}}}); !slices.Equal(p.ids(), []string{space.RoomID.String()}) {
			t.Fatalf("room_types [m.space] = %v", p.ids())
		}
		if p := dirQuery(t, alice, map[string]any{"filter": map[string]any{"room_types": []any{nil}}}); !slices.Equal(p.ids(), []string{big.RoomID.String()}) {
			t.Fatalf("room_types [null] = %v", p.ids())
		}
		if p := dirQuery(t, alice, map[string]any{"include_all_networks": true}); len(p.Chunk) != 2 {
			t.Fatalf("include_all_networks = %v", p.ids())
		}
		if p := dirQuery(t, alice, map[string]any{"third_party_instance_id": "irc"}); len(p.Chunk) != 0 {
			t.Fatalf("third_party_instance_id = %v", p.ids())
		}

		// Who may change a room's visibility: its moderators and admins,
		// not an ordinary member, nor an outsider.
		expectMatrixError(t, dirSetVisibility(bob, private.RoomID, "public"), 403, "M_FORBIDDEN")
		_, err = bob.JoinRoomByID(ctx, space.RoomID)
		mustNot(t, err)
		expectMatrixError(t, dirSetVisibility(bob, space.RoomID, "private"), 403, "M_FORBIDDEN")
		mustNot(t, dirSetVisibility(alice, private.RoomID, "public"))
		mustNot(t, dirSetVisibility(alice, private.RoomID, "public")) // no change needed: still 200
		if v := dirVisibility(t, hs, private.RoomID); v != "public" {
			t.Fatalf("visibility after publishing = %q", v)
		}
		mustNot(t, dirSetVisibility(root, space.RoomID, "private"))
		p := dirQuery(t, carol, map[string]any{})
		if !slices.Equal(p.ids(), []string{big.RoomID.String(), private.RoomID.String()}) {
			t.Fatalf("after changes: %v", p.ids())
		}
		// A member whom the power levels let set the canonical alias may.
		_, err = alice.SendStateEvent(ctx, big.RoomID, event.StatePowerLevels, "", map[string]any{
			"users": map[string]any{"@bob:localhost": 50}, "events": map[string]any{"m.room.canonical_alias": 50}})
		mustNot(t, err)
		mustNot(t, dirSetVisibility(bob, big.RoomID, "private"))
		expectMatrixError(t, dirSetVisibility(carol, big.RoomID, "public"), 403, "M_FORBIDDEN")
		// An absent visibility means public.
		_, err = bob.MakeRequest(ctx, http.MethodPut, bob.BuildClientURL("v3", "directory", "list", "room", big.RoomID), map[string]any{}, nil)
		mustNot(t, err)
		if v := dirVisibility(t, hs, big.RoomID); v != "public" {
			t.Fatalf("visibility after {} = %q", v)
		}

		// An upgraded room leaves the list; its successor takes its place.
		var upgraded struct {
			ReplacementRoom string `json:"replacement_room"`
		}
		_, err = alice.MakeRequest(ctx, http.MethodPost, alice.BuildClientURL("v3", "rooms", private.RoomID, "upgrade"),
			map[string]any{"new_version": "11"}, &upgraded)
		mustNot(t, err)
		p = dirQuery(t, carol, map[string]any{})
		if slices.Contains(p.ids(), private.RoomID.String()) || !slices.Contains(p.ids(), upgraded.ReplacementRoom) {
			t.Fatalf("after upgrade: %v (old %s, new %s)", p.ids(), private.RoomID, upgraded.ReplacementRoom)
		}

		// The visibility is durable.
		restart(hs)
		if v := dirVisibility(t, hs, big.RoomID); v != "public" {
			t.Fatalf("after restart: %q", v)
		}
		// The legacy r0 prefix serves the endpoints too.
		call(t, hs, "GET", "/_matrix/client/r0/publicRooms", "", "").expect(t, 200, "")
		call(t, hs, "GET", "/_matrix/client/r0/directory/list/room/"+url.PathEscape(big.RoomID.String()), "", "").expect(t, 200, "")
	})
}

// TestRoomDirectoryPagination pages forwards and backwards through a list
// longer than a page.
func TestRoomDirectoryPagination(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		ctx := context.Background()
		hs := testserver.Start(t, e)
		users := []testUser{rmLogin(t, hs, "u0"), rmLogin(t, hs, "u1"), rmLogin(t, hs, "u2")}
		// Rooms with 1, 2, 3, 1 and 2 joined members.
		var rooms []id.RoomID
		for i, members := range []int{1, 2, 3, 1, 2} {
			resp, err := users[0].CreateRoom(ctx, &mautrix.ReqCreateRoom{Visibility: "public", Preset: "public_chat", Name: fmt.Sprintf("room %d", i)})
			mustNot(t, err)
			for _, u := range users[1:members] {
				_, err := u.JoinRoomByID(ctx, resp.RoomID)
				mustNot(t, err)
			}
			rooms = append(rooms, resp.RoomID)
		}
		all := dirQuery(t, users[0], map[string]any{})
		if len(all.Chunk) != 5 || all.NextBatch != "" || all.PrevBatch != "" {
			t.Fatalf("whole list = %+v", all)
		}
		for i := 1; i < len(all.Chunk); i++ {
			a, b := all.Chunk[i-1], all.Chunk[i]
			if a.NumJoinedMembers < b.NumJoinedMembers || (a.NumJoinedMembers == b.NumJoinedMembers && a.RoomID > b.RoomID) {
				t.Fatalf("list not sorted by members, then room ID: %+v", all.Chunk)
			}
		}
		// Forwards two at a time, with GET.
		var seen []string
		var pages []dirPage
		since := ""
		for {
			q := "/_matrix/client/v3/publicRooms?limit=2"
			if since != "" {
				q += "&since=" + url.QueryEscape(since)
			}
			r := call(t, hs, "GET", q, "", "")
			r.expect(t, 200, "")
			var p dirPage
			mustNot(t, json.Unmarshal([]byte(r.raw), &p))
			if p.Total != 5 || (len(pages) == 0) != (p.PrevBatch == "") {
				t.Fatalf("page %d = %+v", len(pages), p)
			}
			pages = append(pages, p)
			seen = append(seen, p.ids()...)
			if p.NextBatch == "" {
				break
			}
			since = p.NextBatch
		}
		if !slices.Equal(seen, all.ids()) || len(pages) != 3 {
			t.Fatalf("pages %v, want %v in 3 pages", seen, all.ids())
		}
		// Backwards from the last page, with POST.
		back := dirQuery(t, users[1], map[string]any{"limit": 2, "since": pages[2].PrevBatch})
		if !slices.Equal(back.ids(), pages[1].ids()) {
			t.Fatalf("previous page = %v, want %v", back.ids(), pages[1].ids())
		}
		back = dirQuery(t, users[1], map[string]any{"limit": 2, "since": back.PrevBatch})
		if !slices.Equal(back.ids(), pages[0].ids()) || back.PrevBatch != "" {
			t.Fatalf("first page again = %+v", back)
		}
		// A search pages within its results.
		p := dirQuery(t, users[0], map[string]any{"limit": 1, "filter": map[string]any{"generic_search_term": "ROOM 3"}})
		if len(p.Chunk) != 1 || p.Chunk[0].RoomID != rooms[3].String() || p.NextBatch != "" || p.Total != 1 {
			t.Fatalf("search page = %+v", p)
		}
	})
}

// TestRoomDirectoryBadInput sends directory requests that must fail and
// checks that nothing changed.
func TestRoomDirectoryBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := rmLogin(t, hs, "alice")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustNot(t, err)
		vis := "/_matrix/client/v3/directory/list/room/" + url.PathEscape(resp.RoomID.String())
		pub := "/_matrix/client/v3/publicRooms"
		big := `{"x":"` + strings.Repeat("a", int(hs.Config.MaxRequestBytes)) + `"}`
		for _, tc := range []struct {
			name, token, method, path, body string
			status                          int
			errcode                         string
		}{
			{"get: unknown room", "", "GET", "/_matrix/client/v3/directory/list/room/!nope:localhost", "", 404, "M_NOT_FOUND"},
			{"get: invalid room ID", "", "GET", "/_matrix/client/v3/directory/list/room/nope", "", 400, "M_INVALID_PARAM"},
			{"put: no token", "", "PUT", vis, `{"visibility":"public"}`, 401, "M_MISSING_TOKEN"},
			{"put: unknown room", alice.token, "PUT", "/_matrix/client/v3/directory/list/room/!nope:localhost", `{"visibility":"public"}`, 404, "M_NOT_FOUND"},
			{"put: bad visibility", alice.token, "PUT", vis, `{"visibility":"secret"}`, 400, "M_INVALID_PARAM"},
			{"put: visibility not a string", alice.token, "PUT", vis, `{"visibility":true}`, 400, "M_BAD_JSON"},
			{"put: malformed JSON", alice.token, "PUT", vis, `{"visibility":`, 400, "M_NOT_JSON"},
			{"put: over-size body", alice.token, "PUT", vis, big, 413, "M_TOO_LARGE"},
			{"list: POST without token", "", "POST", pub, `{}`, 401, "M_MISSING_TOKEN"},
			{"list: bad token", "nope", "GET", pub, "", 401, "M_UNKNOWN_TOKEN"},
			{"list: limit not a number", "", "GET", pub + "?limit=ten", "", 400, "M_INVALID_PARAM"},
			{"list: negative limit", "", "GET", pub + "?limit=-1", "", 400, "M_INVALID_PARAM"},
			{"list: bad since", "", "GET", pub + "?since=garbage", "", 400, "M_INVALID_PARAM"},
			{"list: bad include_all_networks", "", "GET", pub + "?include_all_networks=maybe", "", 400, "M_INVALID_PARAM"},
			{"list: invalid server", "", "GET", pub + "?server=bad%20name", "", 400, "M_INVALID_PARAM"},
			{"list: other server", "", "GET", pub + "?server=example.org", "", 404, "M_NOT_FOUND"},
			{"query: malformed JSON", alice.token, "POST", pub, `{"limit":`, 400, "M_NOT_JSON"},
			{"query: limit not a number", alice.token, "POST", pub, `{"limit":"2"}`, 400, "M_BAD_JSON"},
			{"query: filter not an object", alice.token, "POST", pub, `{"filter":"wombles"}`, 400, "M_BAD_JSON"},
			{"query: room_types not a list", alice.token, "POST", pub, `{"filter":{"room_types":"m.space"}}`, 400, "M_BAD_JSON"},
			{"query: bad since", alice.token, "POST", pub, `{"since":"n1.%%%"}`, 400, "M_INVALID_PARAM"},
			{"query: networks and instance", alice.token, "POST", pub, `{"include_all_networks":true,"third_party_instance_id":"irc"}`, 400, "M_INVALID_PARAM"},
			{"query: other server", alice.token, "POST", pub + "?server=example.org", `{}`, 404, "M_NOT_FOUND"},
			{"query: over-size body", alice.token, "POST", pub, big, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				call(t, hs, tc.method, tc.path, tc.token, tc.body).expect(t, tc.status, tc.errcode)
			})
		}
		if v := dirVisibility(t, hs, resp.RoomID); v != "private" {
			t.Fatalf("visibility after bad requests = %q", v)
		}
	})
}
