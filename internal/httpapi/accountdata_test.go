package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"myelin/internal/spec"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

func TestAccountData(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		uid, _ := spec.ParseUserID("@alice:localhost")
		room := id.RoomID("!room:localhost")

		start, err := hs.Srv.AccountData.Position(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.SetAccountData(ctx, "org.example.config", map[string]any{"theme": "dark", "scale": 1.25}); err != nil {
			t.Fatal(err)
		}
		if err := alice.SetRoomAccountData(ctx, room, "org.example.room", map[string]any{"pinned": true}); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := alice.GetAccountData(ctx, "org.example.config", &got); err != nil || got["theme"] != "dark" || got["scale"] != 1.25 {
			t.Fatalf("GetAccountData = %v, %v", got, err)
		}
		// Room data does not fall back to global data, nor the reverse.
		if err := alice.GetRoomAccountData(ctx, room, "org.example.config", &got); !errors.Is(err, mautrix.MNotFound) {
			t.Fatalf("room lookup of global type = %v", err)
		}
		if err := alice.GetAccountData(ctx, "org.example.room", &got); !errors.Is(err, mautrix.MNotFound) {
			t.Fatalf("global lookup of room type = %v", err)
		}
		restart(hs)
		got = nil
		if err := alice.GetRoomAccountData(ctx, room, "org.example.room", &got); err != nil || got["pinned"] != true {
			t.Fatalf("GetRoomAccountData after restart = %v, %v", got, err)
		}
		// Ignored users: a valid list is stored.
		if err := alice.SetAccountData(ctx, "m.ignored_user_list", map[string]any{"ignored_users": map[string]any{"@spam:elsewhere.org": map[string]any{}}}); err != nil {
			t.Fatal(err)
		}
		if ig, err := hs.Srv.AccountData.IgnoredUsers(ctx, uid); err != nil || len(ig) != 1 || ig[0].String() != "@spam:elsewhere.org" {
			t.Fatalf("IgnoredUsers = %v, %v", ig, err)
		}
		// m.push_rules can be read as account data: the rendered rules.
		var pr struct {
			Global struct {
				Override []struct {
					RuleID string `json:"rule_id"`
				} `json:"override"`
			} `json:"global"`
		}
		if err := alice.GetAccountData(ctx, "m.push_rules", &pr); err != nil || len(pr.Global.Override) == 0 || pr.Global.Override[0].RuleID != ".m.rule.master" {
			t.Fatalf("GET m.push_rules = %+v, %v", pr, err)
		}

		// What sync sees: every change after the start position, with
		// m.push_rules on an initial sync; nothing after the current one.
		now, err := hs.Srv.AccountData.Position(ctx)
		if err != nil || now <= start {
			t.Fatalf("Position = %d, %v (start %d)", now, err, start)
		}
		ch, err := hs.Srv.AccountData.Since(ctx, uid, 0, now)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range ch.Global {
			types = append(types, ev.Type)
		}
		if strings.Join(types, ",") != "org.example.config,m.ignored_user_list,m.push_rules" ||
			len(ch.Rooms[string(room)]) != 1 || ch.Rooms[string(room)][0].Type != "org.example.room" {
			t.Fatalf("Since(0) = %v, rooms %v", types, ch.Rooms)
		}
		if ch, err := hs.Srv.AccountData.Since(ctx, uid, now, now); err != nil || len(ch.Global) != 0 || len(ch.Rooms) != 0 {
			t.Fatalf("Since(now) = %+v, %v", ch, err)
		}
		if err := alice.SetAccountData(ctx, "org.example.config", map[string]any{"theme": "light"}); err != nil {
			t.Fatal(err)
		}
		next, _ := hs.Srv.AccountData.Position(ctx)
		if n := hs.Srv.Notifier.Position("account_data"); n != next {
			t.Fatalf("notifier saw account_data %d, want %d", n, next)
		}
		ch, err = hs.Srv.AccountData.Since(ctx, uid, now, next)
		if err != nil || len(ch.Global) != 1 || string(ch.Global[0].Content) != `{"theme":"light"}` {
			t.Fatalf("Since(%d) = %+v, %v", now, ch, err)
		}
	})
}

func TestAccountDataBadInput(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		udLogin(t, hs, "bob")
		if err := alice.SetAccountData(ctx, "org.example.keep", map[string]any{"v": 1}); err != nil {
			t.Fatal(err)
		}
		const g = "/_matrix/client/v3/user/@alice:localhost/account_data/"
		const rm = "/_matrix/client/v3/user/@alice:localhost/rooms/!r:localhost/account_data/"
		udRun(t, hs, alice.token, []udCall{
			{"absent", "GET", g + "org.example.none", "", 404, "M_NOT_FOUND"},
			{"absent room data", "GET", rm + "org.example.none", "", 404, "M_NOT_FOUND"},
			{"another user's get", "GET", "/_matrix/client/v3/user/@bob:localhost/account_data/x", "", 403, "M_FORBIDDEN"},
			{"another user's put", "PUT", "/_matrix/client/v3/user/@bob:localhost/account_data/x", `{}`, 403, "M_FORBIDDEN"},
			{"another user's room put", "PUT", "/_matrix/client/v3/user/@bob:localhost/rooms/!r:localhost/account_data/x", `{}`, 403, "M_FORBIDDEN"},
			{"m.fully_read", "PUT", g + "m.fully_read", `{"event_id":"$x"}`, 405, "M_BAD_JSON"},
			{"m.push_rules", "PUT", g + "m.push_rules", `{"global":{}}`, 405, "M_BAD_JSON"},
			{"room m.fully_read", "PUT", rm + "m.fully_read", `{"event_id":"$x"}`, 405, "M_BAD_JSON"},
			{"room m.push_rules", "PUT", rm + "m.push_rules", `{}`, 405, "M_BAD_JSON"},
			{"not JSON", "PUT", g + "org.example.keep", `{"v":`, 400, "M_NOT_JSON"},
			{"duplicate keys", "PUT", g + "org.example.keep", `{"v":1,"v":2}`, 400, "M_NOT_JSON"},
			{"empty body", "PUT", g + "org.example.keep", ``, 400, "M_NOT_JSON"},
			{"array", "PUT", g + "org.example.keep", `[1]`, 400, "M_BAD_JSON"},
			{"string", "PUT", g + "org.example.keep", `"x"`, 400, "M_BAD_JSON"},
			{"null", "PUT", g + "org.example.keep", `null`, 400, "M_BAD_JSON"},
			{"bad room ID", "PUT", "/_matrix/client/v3/user/@alice:localhost/rooms/notaroom/account_data/x", `{}`, 400, "M_INVALID_PARAM"},
			{"bad room ID get", "GET", "/_matrix/client/v3/user/@alice:localhost/rooms/@alice:localhost/account_data/x", "", 400, "M_INVALID_PARAM"},
			{"type too long", "PUT", g + strings.Repeat("t", 256), `{}`, 400, "M_INVALID_PARAM"},
			{"type with NUL", "PUT", g + "a%00b", `{}`, 400, "M_INVALID_PARAM"},
			{"ignored list not an object", "PUT", g + "m.ignored_user_list", `{"ignored_users":["@a:b"]}`, 400, "M_BAD_JSON"},
			{"ignored list missing", "PUT", g + "m.ignored_user_list", `{}`, 400, "M_BAD_JSON"},
			{"ignored list bad user", "PUT", g + "m.ignored_user_list", `{"ignored_users":{"spam":{}}}`, 400, "M_BAD_JSON"},
			{"ignored list value", "PUT", g + "m.ignored_user_list", `{"ignored_users":{"@a:b":true}}`, 400, "M_BAD_JSON"},
			{"m.tag with bad order", "PUT", rm + "m.tag", `{"tags":{"u.x":{"order":"first"}}}`, 400, "M_BAD_JSON"},
			{"over-size body", "PUT", g + "org.example.keep", `{"v":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
			{"floats are fine", "PUT", g + "org.example.float", `{"v":0.5,"w":1e3}`, 200, ""},
			{"r0 get", "GET", "/_matrix/client/r0/user/@alice:localhost/account_data/org.example.keep", "", 200, ""},
		})
		udRun(t, hs, "", []udCall{
			{"missing auth", "GET", g + "org.example.keep", "", 401, "M_MISSING_TOKEN"},
			{"missing auth put", "PUT", g + "org.example.keep", `{}`, 401, "M_MISSING_TOKEN"},
		})
		if status, body := udDo(t, hs, alice.token, "GET", g+"org.example.keep", ""); status != 200 || body != `{"v":1}` {
			t.Fatalf("after bad input = %d %s", status, body)
		}
		if status, _ := udDo(t, hs, alice.token, "GET", g+"m.ignored_user_list", ""); status != 404 {
			t.Fatalf("invalid ignored list was stored: %d", status)
		}
	})
}

func TestTags(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := udLogin(t, hs, "alice")
		udLogin(t, hs, "bob")
		room := id.RoomID("!room:localhost")
		if tags, err := alice.GetTags(ctx, room); err != nil || len(tags.Tags) != 0 {
			t.Fatalf("GetTags(none) = %+v, %v", tags, err)
		}
		if err := alice.AddTag(ctx, room, event.RoomTagFavourite, 0.25); err != nil {
			t.Fatal(err)
		}
		if err := alice.AddTagWithCustomData(ctx, room, "u.work", map[string]any{"order": 0.5, "org.example.colour": "red"}); err != nil {
			t.Fatal(err)
		}
		tags, err := alice.GetTags(ctx, room)
		// mautrix writes 0.25 as 2.5e-01, which is kept as written.
		if order, _ := tags.Tags[event.RoomTagFavourite].Order.Float64(); err != nil || len(tags.Tags) != 2 || order != 0.25 {
			t.Fatalf("GetTags = %+v, %v", tags, err)
		}
		// Tags are the m.tag room account data, so sync gets them.
		var mtag map[string]map[string]map[string]any
		if err := alice.GetRoomAccountData(ctx, room, "m.tag", &mtag); err != nil || mtag["tags"]["u.work"]["org.example.colour"] != "red" {
			t.Fatalf("m.tag = %v, %v", mtag, err)
		}
		if err := alice.RemoveTag(ctx, room, event.RoomTagFavourite); err != nil {
			t.Fatal(err)
		}
		// Removing an absent tag succeeds and changes nothing.
		before, _ := hs.Srv.AccountData.Position(ctx)
		if err := alice.RemoveTag(ctx, room, event.RoomTagFavourite); err != nil {
			t.Fatal(err)
		}
		if after, _ := hs.Srv.AccountData.Position(ctx); after != before {
			t.Fatalf("removing an absent tag moved the stream: %d → %d", before, after)
		}
		status, body := udDo(t, hs, alice.token, "GET", "/_matrix/client/r0/user/@alice:localhost/rooms/!room:localhost/tags", "")
		if status != 200 || body != `{"tags":{"u.work":{"order":0.5,"org.example.colour":"red"}}}` {
			t.Fatalf("r0 tags = %d %s", status, body)
		}

		const p = "/_matrix/client/v3/user/@alice:localhost/rooms/!room:localhost/tags/"
		udRun(t, hs, alice.token, []udCall{
			{"another user's tags", "GET", "/_matrix/client/v3/user/@bob:localhost/rooms/!room:localhost/tags", "", 403, "M_FORBIDDEN"},
			{"tag another user's room", "PUT", "/_matrix/client/v3/user/@bob:localhost/rooms/!room:localhost/tags/u.x", `{}`, 403, "M_FORBIDDEN"},
			{"untag another user's room", "DELETE", "/_matrix/client/v3/user/@bob:localhost/rooms/!room:localhost/tags/u.x", "", 403, "M_FORBIDDEN"},
			{"bad room", "PUT", "/_matrix/client/v3/user/@alice:localhost/rooms/room/tags/u.x", `{}`, 400, "M_INVALID_PARAM"},
			{"bad room get", "GET", "/_matrix/client/v3/user/@alice:localhost/rooms/room/tags", "", 400, "M_INVALID_PARAM"},
			{"tag too long", "PUT", p + strings.Repeat("t", 256), `{}`, 400, "M_INVALID_PARAM"},
			{"order not a number", "PUT", p + "u.x", `{"order":"1"}`, 400, "M_BAD_JSON"},
			{"not an object", "PUT", p + "u.x", `[]`, 400, "M_BAD_JSON"},
			{"not JSON", "PUT", p + "u.x", `{`, 400, "M_NOT_JSON"},
			{"over-size body", "PUT", p + "u.x", `{"a":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
		})
		udRun(t, hs, "", []udCall{{"missing auth", "PUT", p + "u.x", `{}`, 401, "M_MISSING_TOKEN"}})
		tags, _ = alice.GetTags(ctx, room)
		if raw, _ := json.Marshal(tags.Tags); string(raw) != `{"u.work":{"order":0.5}}` {
			t.Fatalf("tags after bad input = %s", raw)
		}
	})
}
