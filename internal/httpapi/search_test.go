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

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// roomEventsOf returns search_categories.room_events of a search reply.
func roomEventsOf(t *testing.T, r reply) map[string]any {
	t.Helper()
	cats, _ := r.body["search_categories"].(map[string]any)
	re, ok := cats["room_events"].(map[string]any)
	if !ok {
		t.Fatalf("no room_events in %s", r.raw)
	}
	return re
}

// resultBodies lists content.body of the results.
func resultBodies(re map[string]any) string {
	var out []string
	results, _ := re["results"].([]any)
	for _, r := range results {
		ev := r.(map[string]any)["result"].(map[string]any)
		out = append(out, fmt.Sprint(ev["content"].(map[string]any)["body"]))
	}
	return strings.Join(out, "|")
}

// TestSearch searches room events over HTTP on both engines: matching by
// words, context, pagination, redactions, left rooms, groups and state.
func TestSearch(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Greetings"})
		mustNot(t, err)
		roomID := resp.RoomID
		send := func(u testUser, room id.RoomID, body string) id.EventID {
			t.Helper()
			r, err := u.SendMessageEvent(ctx, room, event.EventMessage, map[string]any{"msgtype": "m.text", "body": body})
			mustNot(t, err)
			return r.EventID
		}
		for i := 1; i <= 7; i++ {
			send(alice, roomID, fmt.Sprintf("Message number %d", i))
		}
		redacted := send(alice, roomID, "a message to be redacted")
		_, err = alice.RedactEvent(ctx, roomID, redacted)
		mustNot(t, err)
		search := func(u testUser, next string, criteria map[string]any) map[string]any {
			t.Helper()
			path := "/_matrix/client/v3/search"
			if next != "" {
				path += "?next_batch=" + url.QueryEscape(next)
			}
			return roomEventsOf(t, call(t, hs, "POST", path, u.token, map[string]any{"search_categories": map[string]any{"room_events": criteria}}).expect(t, 200, ""))
		}

		re := search(alice, "", map[string]any{"search_term": "MESSAGE 4", "keys": []string{"content.body"}, "order_by": "recent",
			"filter": map[string]any{"limit": 1}, "event_context": map[string]any{"before_limit": 2, "after_limit": 2}})
		if re["count"] != float64(1) || resultBodies(re) != "Message number 4" || re["next_batch"] == nil {
			t.Fatalf("search MESSAGE 4 = %v", re)
		}
		c := re["results"].([]any)[0].(map[string]any)["context"].(map[string]any)
		var before, after []string
		for _, ev := range c["events_before"].([]any) {
			before = append(before, fmt.Sprint(ev.(map[string]any)["content"].(map[string]any)["body"]))
		}
		for _, ev := range c["events_after"].([]any) {
			after = append(after, fmt.Sprint(ev.(map[string]any)["content"].(map[string]any)["body"]))
		}
		if fmt.Sprint(before) != "[Message number 3 Message number 2]" || fmt.Sprint(after) != "[Message number 5 Message number 6]" {
			t.Fatalf("context = before %v, after %v", before, after)
		}
		// The redacted message is not found; the room name is, by its key.
		if re := search(alice, "", map[string]any{"search_term": "redacted"}); re["count"] != float64(0) || resultBodies(re) != "" {
			t.Fatalf("search of a redacted message = %v", re)
		}
		if re := search(alice, "", map[string]any{"search_term": "greetings", "keys": []string{"content.name"}}); re["count"] != float64(1) {
			t.Fatalf("search of the room name = %v", re)
		}

		// Pages of three, newest first, until no next_batch.
		var bodies []string
		next := ""
		for page := 0; page < 5; page++ {
			re := search(alice, next, map[string]any{"search_term": "number", "filter": map[string]any{"limit": 3}})
			if re["count"] != float64(7) {
				t.Fatalf("count = %v, want 7", re["count"])
			}
			if b := resultBodies(re); b != "" {
				bodies = append(bodies, strings.Split(b, "|")...)
			}
			n, _ := re["next_batch"].(string)
			if n == "" {
				break
			}
			next = n
		}
		if len(bodies) != 7 || bodies[0] != "Message number 7" || bodies[6] != "Message number 1" {
			t.Fatalf("paged results = %v", bodies)
		}

		// A room Alice left: what was sent before she left is found, not
		// what came after; Bob's room without her is not searched.
		other, err := bob.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustNot(t, err)
		send(bob, other.RoomID, "unicorn before")
		_, err = alice.JoinRoom(ctx, other.RoomID.String(), nil)
		mustNot(t, err)
		send(bob, other.RoomID, "unicorn while in")
		_, err = alice.LeaveRoom(ctx, other.RoomID)
		mustNot(t, err)
		send(bob, other.RoomID, "unicorn after")
		private, err := bob.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
		mustNot(t, err)
		send(bob, private.RoomID, "unicorn secret")
		re = search(alice, "", map[string]any{"search_term": "unicorn", "groupings": map[string]any{"group_by": []any{map[string]any{"key": "room_id"}}},
			"include_state": true})
		if got := resultBodies(re); got != "unicorn while in|unicorn before" {
			t.Fatalf("unicorns found by alice = %s", got)
		}
		groups := re["groups"].(map[string]any)["room_id"].(map[string]any)
		if g, ok := groups[other.RoomID.String()].(map[string]any); !ok || len(g["results"].([]any)) != 2 || g["order"] != float64(1) {
			t.Fatalf("groups = %v", groups)
		}
		if st, ok := re["state"].(map[string]any)[other.RoomID.String()].([]any); !ok || len(st) == 0 {
			t.Fatalf("state = %v", re["state"])
		}
		if got := resultBodies(search(bob, "", map[string]any{"search_term": "unicorn", "filter": map[string]any{"rooms": []string{private.RoomID.String()}}})); got != "unicorn secret" {
			t.Fatalf("bob's search of his private room = %s", got)
		}
	})
}

// TestSearchBadInput checks the errors of POST /search.
func TestSearchBadInput(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		alice := rmLogin(t, hs, "alice")
		const path = "/_matrix/client/v3/search"
		crit := func(c map[string]any) map[string]any {
			return map[string]any{"search_categories": map[string]any{"room_events": c}}
		}
		for _, tc := range []struct {
			name, path string
			body       any
			status     int
			errcode    string
		}{
			{"not JSON", path, `{"search_categories":`, 400, "M_NOT_JSON"},
			{"array", path, `[]`, 400, "M_BAD_JSON"},
			{"no search_term", path, crit(map[string]any{}), 400, "M_MISSING_PARAM"},
			{"search_term a number", path, crit(map[string]any{"search_term": 4}), 400, "M_BAD_JSON"},
			{"unknown key", path, crit(map[string]any{"search_term": "x", "keys": []string{"content.secret"}}), 400, "M_INVALID_PARAM"},
			{"unknown order", path, crit(map[string]any{"search_term": "x", "order_by": "random"}), 400, "M_INVALID_PARAM"},
			{"bad filter", path, crit(map[string]any{"search_term": "x", "filter": map[string]any{"limit": -1}}), 400, "M_BAD_JSON"},
			{"filter not an object", path, crit(map[string]any{"search_term": "x", "filter": "all"}), 400, "M_BAD_JSON"},
			{"negative context", path, crit(map[string]any{"search_term": "x", "event_context": map[string]any{"before_limit": -1}}), 400, "M_INVALID_PARAM"},
			{"unknown grouping", path, crit(map[string]any{"search_term": "x", "groupings": map[string]any{"group_by": []any{map[string]any{"key": "type"}}}}), 400, "M_INVALID_PARAM"},
			{"bad next_batch", path + "?next_batch=abc", crit(map[string]any{"search_term": "x"}), 400, "M_INVALID_PARAM"},
			{"over-size body", path, `{"search_categories":{"room_events":{"search_term":"` + strings.Repeat("a", 2<<20) + `"}}}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				call(t, hs, "POST", tc.path, alice.token, tc.body).expect(t, tc.status, tc.errcode)
			})
		}
		call(t, hs, "POST", path, "", crit(map[string]any{"search_term": "x"})).expect(t, 401, "M_MISSING_TOKEN")
		// No category: nothing to search.
		if r := call(t, hs, "POST", path, alice.token, map[string]any{"search_categories": map[string]any{}}).expect(t, 200, ""); r.raw != `{"search_categories":{}}` {
			t.Fatalf("no categories = %s", r.raw)
		}
	})
}
