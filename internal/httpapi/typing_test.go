package httpapi_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
	"myelin/internal/typing"
)

// TestTyping sets and clears typing notifications with mautrix and checks
// what a /sync reader gets from the typing service, and its wake-ups.
func TestTyping(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, bob := rmLogin(t, hs, "alice"), rmLogin(t, hs, "bob")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustNot(t, err)
		room := resp.RoomID.String()
		_, err = bob.JoinRoomByID(ctx, resp.RoomID)
		mustNot(t, err)
		ty := hs.Srv.Typing

		before := ty.Position()
		woken := hs.Srv.Notifier.Wait(typing.Stream, before)
		_, err = alice.UserTyping(ctx, resp.RoomID, true, 10*time.Second)
		mustNot(t, err)
		select {
		case <-woken:
		case <-time.After(5 * time.Second):
			t.Fatal("typing did not wake a waiting reader")
		}
		_, err = bob.UserTyping(ctx, resp.RoomID, true, 10*time.Second)
		mustNot(t, err)
		if got := ty.Typing([]string{room}); !slices.Equal(got[room], []string{"@alice:localhost", "@bob:localhost"}) {
			t.Fatalf("typing = %v", got)
		}
		mid := ty.Position()
		_, err = alice.UserTyping(ctx, resp.RoomID, false, 0)
		mustNot(t, err)
		changed, _ := ty.Since([]string{room}, mid)
		if !slices.Equal(changed[room], []string{"@bob:localhost"}) {
			t.Fatalf("changes since %d = %v", mid, changed)
		}
		// A short timeout expires by itself, and wakes readers.
		pos := ty.Position()
		woken = hs.Srv.Notifier.Wait(typing.Stream, pos)
		_, err = bob.UserTyping(ctx, resp.RoomID, true, 50*time.Millisecond)
		mustNot(t, err)
		deadline := time.After(5 * time.Second)
		for len(ty.Typing([]string{room})) != 0 {
			select {
			case <-deadline:
				t.Fatalf("bob still typing after his timeout: %v", ty.Typing([]string{room}))
			case <-time.After(10 * time.Millisecond):
			}
		}
		select {
		case <-woken:
		default:
			t.Fatal("expiry did not notify")
		}
		// Over the cap, a timeout is accepted and capped.
		r := call(t, hs, "PUT", "/_matrix/client/v3/rooms/"+url.PathEscape(room)+"/typing/@alice:localhost", alice.token, `{"typing":true,"timeout":9007199254740991}`)
		r.expect(t, 200, "")
		// The legacy r0 prefix serves the endpoint too.
		r = call(t, hs, "PUT", "/_matrix/client/r0/rooms/"+url.PathEscape(room)+"/typing/@alice:localhost", alice.token, `{"typing":false}`)
		r.expect(t, 200, "")
	})
}

// TestTypingBadInput sends typing requests that must fail, and checks that
// nobody is typing afterwards.
func TestTypingBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice, carol := rmLogin(t, hs, "alice"), rmLogin(t, hs, "carol")
		resp, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustNot(t, err)
		room := url.PathEscape(resp.RoomID.String())
		path := func(roomID, user string) string {
			return "/_matrix/client/v3/rooms/" + roomID + "/typing/" + url.PathEscape(user)
		}
		ok := `{"typing":true,"timeout":10000}`
		for _, tc := range []struct {
			name, token, path, body string
			status                  int
			errcode                 string
		}{
			{"no token", "", path(room, "@alice:localhost"), ok, 401, "M_MISSING_TOKEN"},
			{"another user", alice.token, path(room, "@carol:localhost"), ok, 403, "M_FORBIDDEN"},
			{"not a user ID", alice.token, path(room, "alice"), ok, 403, "M_FORBIDDEN"},
			{"not joined", carol.token, path(room, "@carol:localhost"), ok, 403, "M_FORBIDDEN"},
			{"unknown room", alice.token, path("!nope:localhost", "@alice:localhost"), ok, 404, "M_NOT_FOUND"},
			{"invalid room ID", alice.token, path("nope", "@alice:localhost"), ok, 400, "M_INVALID_PARAM"},
			{"malformed JSON", alice.token, path(room, "@alice:localhost"), `{"typing":`, 400, "M_NOT_JSON"},
			{"not an object", alice.token, path(room, "@alice:localhost"), `[true]`, 400, "M_BAD_JSON"},
			{"typing not a boolean", alice.token, path(room, "@alice:localhost"), `{"typing":"yes"}`, 400, "M_BAD_JSON"},
			{"timeout not a number", alice.token, path(room, "@alice:localhost"), `{"typing":true,"timeout":"10"}`, 400, "M_BAD_JSON"},
			{"typing missing", alice.token, path(room, "@alice:localhost"), `{"timeout":1000}`, 400, "M_MISSING_PARAM"},
			{"negative timeout", alice.token, path(room, "@alice:localhost"), `{"typing":true,"timeout":-1}`, 400, "M_INVALID_PARAM"},
			{"over-size body", alice.token, path(room, "@alice:localhost"), `{"typing":true,"x":"` + strings.Repeat("a", int(hs.Config.MaxRequestBytes)) + `"}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				call(t, hs, "PUT", tc.path, tc.token, tc.body).expect(t, tc.status, tc.errcode)
			})
		}
		if got := hs.Srv.Typing.Typing([]string{resp.RoomID.String()}); len(got) != 0 {
			t.Fatalf("typing after bad requests: %v", got)
		}
		// A user who left may no longer type there.
		_, err = carol.JoinRoomByID(ctx, resp.RoomID)
		mustNot(t, err)
		_, err = carol.LeaveRoom(ctx, resp.RoomID)
		mustNot(t, err)
		_, err = carol.UserTyping(ctx, resp.RoomID, true, time.Second)
		expectMatrixError(t, err, 403, "M_FORBIDDEN")
	})
}

// ephSync is the part of a /sync answer TestEphemeralSync reads.
type ephSync struct {
	NextBatch string `json:"next_batch"`
	Rooms     struct {
		Join map[string]struct {
			Ephemeral struct {
				Events []json.RawMessage `json:"events"`
			} `json:"ephemeral"`
		} `json:"join"`
	} `json:"rooms"`
}

func ephDoSync(t *testing.T, hs *testserver.Server, token, since string, timeoutMS int) ephSync {
	t.Helper()
	q := "/_matrix/client/v3/sync?timeout=" + strconv.Itoa(timeoutMS)
	if since != "" {
		q += "&since=" + url.QueryEscape(since)
	}
	r := call(t, hs, "GET", q, token, "")
	r.expect(t, 200, "")
	var s ephSync
	mustNot(t, json.Unmarshal([]byte(r.raw), &s))
	return s
}

// TestEphemeralSync checks typing notifications and receipts end to end:
// sent with mautrix, read from another user's /sync, a waiting long-poll
// woken by a typing notification, private receipts kept private.
func TestEphemeralSync(t *testing.T) {
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
		msg, err := alice.SendText(ctx, room, "hello")
		mustNot(t, err)
		since := ephDoSync(t, hs, bob.token, "", 0).NextBatch

		// Bob waits; alice's typing wakes him.
		type result struct {
			s   ephSync
			end time.Time
		}
		done := make(chan result, 1)
		go func() {
			s := ephDoSync(t, hs, bob.token, since, 20000)
			done <- result{s, time.Now()}
		}()
		time.Sleep(100 * time.Millisecond)
		sent := time.Now()
		_, err = alice.UserTyping(ctx, room, true, 20*time.Second)
		mustNot(t, err)
		var got result
		select {
		case got = <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("the long-poll did not return after alice started typing")
		}
		evs := got.s.Rooms.Join[room.String()].Ephemeral.Events
		if len(evs) != 1 || !strings.Contains(string(evs[0]), `"m.typing"`) || !strings.Contains(string(evs[0]), `"@alice:localhost"`) {
			t.Fatalf("ephemeral after typing = %s", evs)
		}
		t.Logf("typing reached a waiting long-poll %v after the PUT was sent", got.end.Sub(sent))
		since = got.s.NextBatch

		// Alice stops typing, then sends a public and a private receipt.
		_, err = alice.UserTyping(ctx, room, false, 0)
		mustNot(t, err)
		mustNot(t, alice.SendReceipt(ctx, room, msg.EventID, event.ReceiptTypeRead, nil))
		mustNot(t, alice.SendReceipt(ctx, room, msg.EventID, event.ReceiptTypeReadPrivate, nil))
		s := ephDoSync(t, hs, bob.token, since, 0)
		raw := ""
		for _, ev := range s.Rooms.Join[room.String()].Ephemeral.Events {
			raw += string(ev)
		}
		if !strings.Contains(raw, `"user_ids":[]`) || !strings.Contains(raw, `"m.receipt"`) || !strings.Contains(raw, `"m.read"`) ||
			strings.Contains(raw, "m.read.private") || strings.Contains(raw, `"room_id"`) {
			t.Fatalf("bob's ephemeral = %s", raw)
		}
		// Alice's initial sync shows her own private receipt.
		s = ephDoSync(t, hs, alice.token, "", 0)
		raw = ""
		for _, ev := range s.Rooms.Join[room.String()].Ephemeral.Events {
			raw += string(ev)
		}
		if !strings.Contains(raw, "m.read.private") || strings.Contains(raw, `"m.typing"`) {
			t.Fatalf("alice's ephemeral = %s", raw)
		}
	})
}
