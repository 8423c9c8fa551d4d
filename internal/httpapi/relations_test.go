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

// chunkIDs returns the event IDs of a reply's chunk, space separated.
func chunkIDs(r reply) string {
	var out []string
	chunk, _ := r.body["chunk"].([]any)
	for _, c := range chunk {
		ev, _ := c.(map[string]any)
		s, _ := ev["event_id"].(string)
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// TestRelations drives /relations and /threads over HTTP on both engines:
// filters by relation and event type, pagination both ways (also from a
// /sync token), recursion, and bundled aggregations.
func TestRelations(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := rmLogin(t, hs, "alice")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustNot(t, err)
		roomID := resp.RoomID
		send := func(typ string, content map[string]any) string {
			t.Helper()
			r, err := alice.SendMessageEvent(ctx, roomID, event.Type{Type: typ, Class: event.MessageEventType}, content)
			mustNot(t, err)
			return r.EventID.String()
		}
		thread := func(root string) map[string]any {
			return map[string]any{"event_id": root, "rel_type": "m.thread"}
		}
		root := send("m.room.message", map[string]any{"msgtype": "m.text", "body": "root"})
		reply1 := send("m.room.message", map[string]any{"msgtype": "m.text", "body": "reply", "m.relates_to": thread(root)})
		dummy := send("m.dummy", map[string]any{"m.relates_to": thread(root)})
		edit := send("m.room.message", map[string]any{"msgtype": "m.text", "body": "* edited", "m.new_content": map[string]any{"msgtype": "m.text", "body": "edited"},
			"m.relates_to": map[string]any{"event_id": root, "rel_type": "m.replace"}})
		ref := send("m.room.message", map[string]any{"msgtype": "m.text", "body": "see", "m.relates_to": map[string]any{"event_id": reply1, "rel_type": "m.reference"}})

		base := "/_matrix/client/v1/rooms/" + url.PathEscape(roomID.String()) + "/relations/" + url.PathEscape(root)
		get := func(path string) reply {
			t.Helper()
			return call(t, hs, "GET", path, alice.token, nil).expect(t, 200, "")
		}
		for _, tc := range []struct{ path, want string }{
			{base, strings.Join([]string{edit, dummy, reply1}, " ")},
			{base + "/m.thread", dummy + " " + reply1},
			{base + "/m.thread/m.room.message", reply1},
			{base + "?recurse=true", strings.Join([]string{ref, edit, dummy, reply1}, " ")},
			{base + "?dir=f", strings.Join([]string{reply1, dummy, edit}, " ")},
		} {
			if got := chunkIDs(get(tc.path)); got != tc.want {
				t.Errorf("GET %s = %s, want %s", tc.path, got, tc.want)
			}
		}
		if r := get(base + "?recurse=true"); r.body["recursion_depth"] != float64(3) {
			t.Errorf("recursion_depth = %v, want 3", r.body["recursion_depth"])
		}
		if r := get(base); r.body["recursion_depth"] != nil || r.body["next_batch"] != nil {
			t.Errorf("unpaged reply %s has recursion_depth or next_batch", r.raw)
		}

		// Pagination, backwards then forwards, page by page.
		for _, dir := range []string{"b", "f"} {
			want := []string{reply1, dummy, edit}
			if dir == "b" {
				want = []string{edit, dummy, reply1}
			}
			var got []string
			from := ""
			for page := 0; page < 5; page++ {
				r := get(base + "?limit=2&dir=" + dir + from)
				if ids := chunkIDs(r); ids != "" {
					got = append(got, strings.Fields(ids)...)
				}
				next, _ := r.body["next_batch"].(string)
				if next == "" {
					break
				}
				from = "&from=" + url.QueryEscape(next)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("dir %s pages = %v, want %v", dir, got, want)
			}
		}

		// From a /sync token forwards: only the children sent after it.
		sync, err := alice.SyncRequest(ctx, 0, "", "", false, "")
		mustNot(t, err)
		reply2 := send("m.room.message", map[string]any{"msgtype": "m.text", "body": "later", "m.relates_to": thread(root)})
		if got := chunkIDs(get(base + "?dir=f&from=" + url.QueryEscape(sync.NextBatch))); got != reply2 {
			t.Errorf("children after the sync token = %s, want %s", got, reply2)
		}

		// The root carries its aggregations on /event and /threads.
		ev := get("/_matrix/client/v3/rooms/" + url.PathEscape(roomID.String()) + "/event/" + url.PathEscape(root))
		rels, _ := ev.body["unsigned"].(map[string]any)["m.relations"].(map[string]any)
		th, _ := rels["m.thread"].(map[string]any)
		latest, _ := th["latest_event"].(map[string]any)
		if th["count"] != float64(3) || th["current_user_participated"] != true || latest["event_id"] != reply2 {
			t.Errorf("m.thread aggregation = %v", th)
		}
		if rep, _ := rels["m.replace"].(map[string]any); rep["event_id"] != edit {
			t.Errorf("m.replace aggregation = %v, want %s", rels["m.replace"], edit)
		}
		replyEv := get("/_matrix/client/v3/rooms/" + url.PathEscape(roomID.String()) + "/event/" + url.PathEscape(reply1))
		refs, _ := replyEv.body["unsigned"].(map[string]any)["m.relations"].(map[string]any)["m.reference"].(map[string]any)
		if fmt.Sprint(refs["chunk"]) != fmt.Sprintf("[map[event_id:%s]]", ref) {
			t.Errorf("m.reference aggregation = %v", refs)
		}

		// A second thread, then the first again: newest latest reply first.
		root2 := send("m.room.message", map[string]any{"msgtype": "m.text", "body": "root 2"})
		send("m.room.message", map[string]any{"msgtype": "m.text", "body": "in 2", "m.relates_to": thread(root2)})
		threads := "/_matrix/client/v1/rooms/" + url.PathEscape(roomID.String()) + "/threads"
		if got := chunkIDs(get(threads)); got != root2+" "+root {
			t.Errorf("threads = %s, want %s %s", got, root2, root)
		}
		reply3 := send("m.room.message", map[string]any{"msgtype": "m.text", "body": "again", "m.relates_to": thread(root)})
		r := get(threads + "?limit=1")
		if got := chunkIDs(r); got != root {
			t.Errorf("threads page 1 = %s, want %s", got, root)
		}
		chunk, _ := r.body["chunk"].([]any)
		latestID := fmt.Sprint(chunk[0].(map[string]any)["unsigned"].(map[string]any)["m.relations"].(map[string]any)["m.thread"].(map[string]any)["latest_event"].(map[string]any)["event_id"])
		if latestID != reply3 {
			t.Errorf("latest reply of %s = %s, want %s", root, latestID, reply3)
		}
		next, _ := r.body["next_batch"].(string)
		if r := get(threads + "?limit=1&from=" + url.QueryEscape(next)); chunkIDs(r) != root2 || r.body["next_batch"] != nil {
			t.Errorf("threads page 2 = %s", r.raw)
		}
		if got := chunkIDs(get(threads + "?include=participated")); got != root+" "+root2 {
			t.Errorf("participated threads = %s", got)
		}
		bob := rmLogin(t, hs, "bob")
		_, err = bob.JoinRoom(ctx, roomID.String(), nil)
		mustNot(t, err)
		if got := call(t, hs, "GET", threads+"?include=participated", bob.token, nil).expect(t, 200, ""); chunkIDs(got) != "" {
			t.Errorf("bob's participated threads = %s", got.raw)
		}
	})
}

// TestRelationsBadInput checks the errors of /relations and /threads.
func TestRelationsBadInput(t *testing.T) {
	t.Parallel()
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
		mustNot(t, err)
		room := url.PathEscape(resp.RoomID.String())
		msg, err := alice.SendMessageEvent(ctx, resp.RoomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "x"})
		mustNot(t, err)
		rel := "/_matrix/client/v1/rooms/" + room + "/relations/" + url.PathEscape(msg.EventID.String())
		// A thread cannot start from an event that has a relation itself.
		reply, err := alice.SendMessageEvent(ctx, resp.RoomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "r",
			"m.relates_to": map[string]any{"event_id": msg.EventID, "rel_type": "m.thread"}})
		mustNot(t, err)
		call(t, hs, "PUT", "/_matrix/client/v3/rooms/"+room+"/send/m.room.message/nested", alice.token,
			map[string]any{"body": "nested", "m.relates_to": map[string]any{"event_id": reply.EventID, "rel_type": "m.thread"}}).expect(t, 400, "M_UNKNOWN")
		threads := "/_matrix/client/v1/rooms/" + room + "/threads"
		unknownRoom := url.PathEscape(id.RoomID("!nope:localhost").String())
		for _, tc := range []struct {
			name, token, path string
			status            int
			errcode           string
		}{
			{"bad dir", alice.token, rel + "?dir=up", 400, "M_INVALID_PARAM"},
			{"bad limit", alice.token, rel + "?limit=many", 400, "M_INVALID_PARAM"},
			{"negative limit", alice.token, rel + "?limit=-3", 400, "M_INVALID_PARAM"},
			{"zero limit", alice.token, rel + "?limit=0", 400, "M_INVALID_PARAM"},
			{"bad from", alice.token, rel + "?from=yesterday", 400, "M_INVALID_PARAM"},
			{"bad to", alice.token, rel + "?to=m9_x", 400, "M_INVALID_PARAM"},
			{"bad recurse", alice.token, rel + "?recurse=yes", 400, "M_INVALID_PARAM"},
			{"unknown event", alice.token, "/_matrix/client/v1/rooms/" + room + "/relations/" + url.PathEscape("$nope"), 404, "M_NOT_FOUND"},
			{"unknown room", alice.token, "/_matrix/client/v1/rooms/" + unknownRoom + "/relations/" + url.PathEscape(msg.EventID.String()), 404, "M_NOT_FOUND"},
			{"not a member", bob.token, rel, 404, "M_NOT_FOUND"},
			{"no token", "", rel, 401, "M_MISSING_TOKEN"},
			{"threads bad include", alice.token, threads + "?include=mine", 400, "M_INVALID_PARAM"},
			{"threads bad limit", alice.token, threads + "?limit=0", 400, "M_INVALID_PARAM"},
			{"threads bad from", alice.token, threads + "?from=x", 400, "M_INVALID_PARAM"},
			{"threads not a member", bob.token, threads, 403, "M_FORBIDDEN"},
			{"threads unknown room", alice.token, "/_matrix/client/v1/rooms/" + unknownRoom + "/threads", 403, "M_FORBIDDEN"},
			{"threads no token", "", threads, 401, "M_MISSING_TOKEN"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				call(t, hs, "GET", tc.path, tc.token, nil).expect(t, tc.status, tc.errcode)
			})
		}
	})
}
