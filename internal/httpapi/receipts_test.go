package httpapi_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"myelin/internal/receipts"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// rcSend sends a text message and returns its ID.
func rcSend(t *testing.T, u testUser, room id.RoomID, content map[string]any) id.EventID {
	t.Helper()
	if content == nil {
		content = map[string]any{"msgtype": "m.text", "body": "hello"}
	}
	resp, err := u.SendMessageEvent(context.Background(), room, event.EventMessage, content)
	mustNot(t, err)
	return resp.EventID
}

// rcSet is a set of receipts: receipt type → user → "event ID|thread ID"
// (thread "" for unthreaded receipts).
type rcSet map[string]map[string]map[string]bool

// has reports whether the set holds a receipt.
func (s rcSet) has(typ, user string, eventID id.EventID, thread string) bool {
	return s[typ][user][eventID.String()+"|"+thread]
}

// rcReceipts returns what /sync would put in the room's ephemeral
// section for viewer, from after 0 up to the current position.
func rcReceipts(t *testing.T, hs *testserver.Server, viewer string, room id.RoomID) rcSet {
	t.Helper()
	ctx := context.Background()
	pos, err := hs.Srv.Receipts.Position(ctx)
	mustNot(t, err)
	got, err := hs.Srv.Receipts.Since(ctx, viewer, []string{room.String()}, 0, pos)
	mustNot(t, err)
	out := rcSet{}
	for _, raw := range got[room.String()] {
		var ev struct {
			Type    string `json:"type"`
			Content map[string]map[string]map[string]struct {
				TS       int64  `json:"ts"`
				ThreadID string `json:"thread_id"`
			} `json:"content"`
		}
		mustNot(t, json.Unmarshal(raw, &ev))
		if ev.Type != "m.receipt" || strings.Contains(string(raw), `"room_id"`) {
			t.Fatalf("ephemeral event %s", raw)
		}
		for eventID, types := range ev.Content {
			for typ, users := range types {
				for user, body := range users {
					if body.TS == 0 {
						t.Fatalf("receipt without ts: %s", raw)
					}
					if out[typ] == nil {
						out[typ] = map[string]map[string]bool{}
					}
					if out[typ][user] == nil {
						out[typ][user] = map[string]bool{}
					}
					out[typ][user][eventID+"|"+body.ThreadID] = true
				}
			}
		}
	}
	return out
}

// TestReceipts sends receipts and read markers with mautrix and checks
// what /sync readers get, the private receipts' privacy, the read marker
// in room account data, and that receipts survive a restart.
func TestReceipts(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustNot(t, err)
		room := resp.RoomID
		_, err = bob.JoinRoomByID(ctx, room)
		mustNot(t, err)
		e1 := rcSend(t, alice, room, nil)
		e2 := rcSend(t, alice, room, nil)
		threaded := rcSend(t, alice, room, map[string]any{"msgtype": "m.text", "body": "in thread",
			"m.relates_to": map[string]any{"rel_type": "m.thread", "event_id": e1.String()}})

		before, err := hs.Srv.Receipts.Position(ctx)
		mustNot(t, err)
		woken := hs.Srv.Notifier.Wait(receipts.Stream, before)
		mustNot(t, alice.SendReceipt(ctx, room, e1, event.ReceiptTypeRead, nil))
		select {
		case <-woken:
		case <-time.After(5 * time.Second):
			t.Fatal("a receipt did not wake a waiting reader")
		}
		// An unthreaded and a threaded receipt on one event both reach
		// readers (in two m.receipt events).
		mustNot(t, alice.SendReceipt(ctx, room, threaded, event.ReceiptTypeRead, nil))
		mustNot(t, alice.SendReceipt(ctx, room, threaded, event.ReceiptTypeRead, &mautrix.ReqSendReceipt{ThreadID: e1.String()}))
		mustNot(t, alice.SendReceipt(ctx, room, e2, event.ReceiptTypeRead, &mautrix.ReqSendReceipt{ThreadID: "main"}))
		mustNot(t, bob.SendReceipt(ctx, room, e2, event.ReceiptTypeReadPrivate, nil))
		mustNot(t, bob.SendReceipt(ctx, room, e1, event.ReceiptTypeRead, nil))

		got := rcReceipts(t, hs, "@alice:localhost", room)
		// Alice's unthreaded receipt moved from e1 to the threaded event.
		if len(got["m.read"]["@alice:localhost"]) != 3 || !got.has("m.read", "@alice:localhost", threaded, "") ||
			!got.has("m.read", "@alice:localhost", threaded, e1.String()) || !got.has("m.read", "@alice:localhost", e2, "main") {
			t.Fatalf("alice's m.read receipts = %v", got["m.read"]["@alice:localhost"])
		}
		if !got.has("m.read", "@bob:localhost", e1, "") || len(got["m.read.private"]) != 0 {
			t.Fatalf("alice sees %v", got)
		}
		// Alice's two receipts on the threaded event need two m.receipt
		// events.
		evs, err := hs.Srv.Receipts.Since(ctx, "@alice:localhost", []string{room.String()}, before, 1<<60)
		mustNot(t, err)
		if n := len(evs[room.String()]); n != 2 {
			t.Fatalf("%d m.receipt events, want 2 (one user's two receipts on one event): %s", n, evs[room.String()])
		}
		gotBob := rcReceipts(t, hs, "@bob:localhost", room)
		if !gotBob.has("m.read.private", "@bob:localhost", e2, "") || len(gotBob["m.read.private"]) != 1 {
			t.Fatalf("bob's private receipt = %v", gotBob["m.read.private"])
		}
		if !gotBob.has("m.read", "@alice:localhost", e2, "main") {
			t.Fatalf("alice's main-timeline receipt seen by bob = %v", gotBob["m.read"]["@alice:localhost"])
		}
		// A later receipt replaces an earlier one even if its event is older
		// (the spec's "replace" rule).
		mustNot(t, bob.SendReceipt(ctx, room, e2, event.ReceiptTypeRead, nil))
		mustNot(t, bob.SendReceipt(ctx, room, e1, event.ReceiptTypeRead, nil))
		if r := rcReceipts(t, hs, "@bob:localhost", room); len(r["m.read"]["@bob:localhost"]) != 1 || !r.has("m.read", "@bob:localhost", e1, "") {
			t.Fatalf("bob's m.read after moving back = %v", r["m.read"]["@bob:localhost"])
		}

		// m.fully_read through the receipt endpoint is the read marker.
		mustNot(t, alice.SendReceipt(ctx, room, e1, "m.fully_read", nil))
		var marker struct {
			EventID string `json:"event_id"`
		}
		mustNot(t, alice.GetRoomAccountData(ctx, room, "m.fully_read", &marker))
		if marker.EventID != e1.String() {
			t.Fatalf("m.fully_read = %q", marker.EventID)
		}
		if r := rcReceipts(t, hs, "@alice:localhost", room); len(r["m.fully_read"]) != 0 {
			t.Fatalf("m.fully_read appeared as a receipt: %v", r)
		}
		// The read markers endpoint sets all three at once; its m.read is
		// unthreaded, and moves alice's unthreaded receipt to e2.
		mustNot(t, alice.SetReadMarkers(ctx, room, &mautrix.ReqSetReadMarkers{FullyRead: e2, Read: e2, ReadPrivate: e2}))
		mustNot(t, alice.GetRoomAccountData(ctx, room, "m.fully_read", &marker))
		r := rcReceipts(t, hs, "@alice:localhost", room)
		if marker.EventID != e2.String() || !r.has("m.read", "@alice:localhost", e2, "") || r.has("m.read", "@alice:localhost", threaded, "") ||
			!r.has("m.read", "@alice:localhost", threaded, e1.String()) || !r.has("m.read.private", "@alice:localhost", e2, "") {
			t.Fatalf("after read_markers: marker %q, receipts %v", marker.EventID, r)
		}
		// Only the read marker: no receipt changes.
		pos, _ := hs.Srv.Receipts.Position(ctx)
		mustNot(t, alice.SetReadMarkers(ctx, room, &mautrix.ReqSetReadMarkers{FullyRead: e1}))
		if now, _ := hs.Srv.Receipts.Position(ctx); now != pos {
			t.Fatalf("read marker alone moved the receipts stream from %d to %d", pos, now)
		}

		// Receipts are durable.
		restart(hs)
		if r := rcReceipts(t, hs, "@bob:localhost", room); !r.has("m.read", "@bob:localhost", e1, "") ||
			!r.has("m.read.private", "@bob:localhost", e2, "") {
			t.Fatalf("after restart: %v", r)
		}
		// The legacy r0 prefix serves both endpoints.
		base := "/_matrix/client/r0/rooms/" + url.PathEscape(room.String())
		call(t, hs, "POST", base+"/receipt/m.read/"+url.PathEscape(e2.String()), alice.token, `{}`).expect(t, 200, "")
		call(t, hs, "POST", base+"/read_markers", alice.token, `{"m.fully_read":"`+e2.String()+`"}`).expect(t, 200, "")
	})
}

// TestReceiptsBadInput sends receipts and read markers that must fail, and
// checks that nothing was stored.
func TestReceiptsBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, carol := rmLogin(t, hs, "alice"), rmLogin(t, hs, "carol")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", InitialState: []*event.Event{{
			Type: event.StateHistoryVisibility, Content: event.Content{Raw: map[string]any{"history_visibility": "joined"}}}}})
		mustNot(t, err)
		room := resp.RoomID
		other, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustNot(t, err)
		e1 := rcSend(t, alice, room, nil)
		threaded := rcSend(t, alice, room, map[string]any{"msgtype": "m.text", "body": "t",
			"m.relates_to": map[string]any{"rel_type": "m.thread", "event_id": e1.String()}})
		elsewhere := rcSend(t, alice, other.RoomID, nil)
		// Carol joins after e1: with history visibility "joined" she
		// cannot see it.
		_, err = carol.JoinRoomByID(ctx, room)
		mustNot(t, err)
		e2 := rcSend(t, alice, room, nil)

		rp := url.PathEscape(room.String())
		receipt := func(roomID, typ, eventID string) string {
			return "/_matrix/client/v3/rooms/" + roomID + "/receipt/" + typ + "/" + url.PathEscape(eventID)
		}
		markers := "/_matrix/client/v3/rooms/" + rp + "/read_markers"
		pos0, _ := hs.Srv.Receipts.Position(ctx)
		big := `{"x":"` + strings.Repeat("a", int(hs.Config.MaxRequestBytes)) + `"}`
		for _, tc := range []struct {
			name, token, method, path, body string
			status                          int
			errcode                         string
		}{
			{"no token", "", "POST", receipt(rp, "m.read", e1.String()), `{}`, 401, "M_MISSING_TOKEN"},
			{"unknown receipt type", alice.token, "POST", receipt(rp, "m.seen", e1.String()), `{}`, 400, "M_INVALID_PARAM"},
			{"unknown event", alice.token, "POST", receipt(rp, "m.read", "$nope"), `{}`, 404, "M_NOT_FOUND"},
			{"event of another room", alice.token, "POST", receipt(rp, "m.read", elsewhere.String()), `{}`, 404, "M_NOT_FOUND"},
			{"event not visible", carol.token, "POST", receipt(rp, "m.read", e1.String()), `{}`, 404, "M_NOT_FOUND"},
			{"invalid event ID", alice.token, "POST", receipt(rp, "m.read", "nope"), `{}`, 400, "M_INVALID_PARAM"},
			{"unknown room", alice.token, "POST", receipt("!nope:localhost", "m.read", e1.String()), `{}`, 404, "M_NOT_FOUND"},
			{"invalid room ID", alice.token, "POST", receipt("nope", "m.read", e1.String()), `{}`, 400, "M_INVALID_PARAM"},
			{"not joined", carol.token, "POST", receipt(url.PathEscape(other.RoomID.String()), "m.read", elsewhere.String()), `{}`, 403, "M_FORBIDDEN"},
			{"malformed JSON", alice.token, "POST", receipt(rp, "m.read", e1.String()), `{"thread_id":`, 400, "M_NOT_JSON"},
			{"body not an object", alice.token, "POST", receipt(rp, "m.read", e1.String()), `"main"`, 400, "M_BAD_JSON"},
			{"thread_id a number", alice.token, "POST", receipt(rp, "m.read", e1.String()), `{"thread_id":5}`, 400, "M_INVALID_PARAM"},
			{"thread_id null", alice.token, "POST", receipt(rp, "m.read", e1.String()), `{"thread_id":null}`, 400, "M_INVALID_PARAM"},
			{"thread_id empty", alice.token, "POST", receipt(rp, "m.read", e1.String()), `{"thread_id":""}`, 400, "M_INVALID_PARAM"},
			{"thread_id not an event", alice.token, "POST", receipt(rp, "m.read", e1.String()), `{"thread_id":"thread"}`, 400, "M_INVALID_PARAM"},
			{"thread_id with NUL", alice.token, "POST", receipt(rp, "m.read", e1.String()), `{"thread_id":"$a\u0000b"}`, 400, "M_INVALID_PARAM"},
			{"event ID with NUL", alice.token, "POST", receipt(rp, "m.read", "$a\x00b"), `{}`, 400, "M_INVALID_PARAM"},
			{"thread_id with m.fully_read", alice.token, "POST", receipt(rp, "m.fully_read", e1.String()), `{"thread_id":"main"}`, 400, "M_INVALID_PARAM"},
			{"thread_id of another thread", alice.token, "POST", receipt(rp, "m.read", threaded.String()), `{"thread_id":"main"}`, 400, "M_INVALID_PARAM"},
			{"over-size body", alice.token, "POST", receipt(rp, "m.read", e1.String()), big, 413, "M_TOO_LARGE"},
			{"markers: no token", "", "POST", markers, `{}`, 401, "M_MISSING_TOKEN"},
			{"markers: malformed JSON", alice.token, "POST", markers, `{`, 400, "M_NOT_JSON"},
			{"markers: wrong type", alice.token, "POST", markers, `{"m.read":5}`, 400, "M_BAD_JSON"},
			{"markers: empty event ID", alice.token, "POST", markers, `{"m.read":""}`, 400, "M_INVALID_PARAM"},
			{"markers: unknown event", alice.token, "POST", markers, `{"m.read":"` + e2.String() + `","m.fully_read":"$nope"}`, 404, "M_NOT_FOUND"},
			{"markers: event not visible", carol.token, "POST", markers, `{"m.read.private":"` + e1.String() + `"}`, 404, "M_NOT_FOUND"},
			{"markers: unknown room", alice.token, "POST", "/_matrix/client/v3/rooms/!nope:localhost/read_markers", `{"m.read":"` + e2.String() + `"}`, 404, "M_NOT_FOUND"},
			{"markers: not joined", carol.token, "POST", "/_matrix/client/v3/rooms/" + url.PathEscape(other.RoomID.String()) + "/read_markers", `{}`, 403, "M_FORBIDDEN"},
			{"markers: over-size body", alice.token, "POST", markers, big, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				call(t, hs, tc.method, tc.path, tc.token, tc.body).expect(t, tc.status, tc.errcode)
			})
		}
		if pos, _ := hs.Srv.Receipts.Position(ctx); pos != pos0 {
			t.Fatalf("bad requests moved the receipts stream from %d to %d", pos0, pos)
		}
		var marker map[string]any
		err = alice.GetRoomAccountData(ctx, room, "m.fully_read", &marker)
		expectMatrixError(t, err, 404, "M_NOT_FOUND")
		// The read marker cannot be set as ordinary account data.
		err = alice.SetRoomAccountData(ctx, room, "m.fully_read", map[string]any{"event_id": e1.String()})
		if err == nil {
			t.Fatal("m.fully_read set through the account data API")
		}
		// Carol may acknowledge what she can see; the threaded event in
		// its own thread is fine too.
		mustNot(t, carol.SendReceipt(ctx, room, e2, event.ReceiptTypeRead, nil))
		mustNot(t, alice.SendReceipt(ctx, room, threaded, event.ReceiptTypeRead, &mautrix.ReqSendReceipt{ThreadID: e1.String()}))
		// An empty body counts as {}.
		call(t, hs, "POST", receipt(rp, "m.read", e2.String()), alice.token, "").expect(t, 200, "")
	})
}
