package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	syncapi "myelin/internal/sync"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// syUser is a logged-in user of the sync tests.
type syUser struct {
	*mautrix.Client
	token string
	id    string
}

func syLogin(t *testing.T, hs *testserver.Server, name string) syUser {
	t.Helper()
	ctx := context.Background()
	if _, err := hs.Srv.Users.CreateAccount(ctx, name, "password", false); err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	cli, err := mautrix.NewClient(hs.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Login(ctx, &mautrix.ReqLogin{
		Type:             mautrix.AuthTypePassword,
		Identifier:       mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: name},
		Password:         "password",
		StoreCredentials: true,
	})
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return syUser{cli, resp.AccessToken, resp.UserID.String()}
}

// syGet makes a raw GET request and returns the status and body.
func syGet(t *testing.T, hs *testserver.Server, token, path string, query url.Values) (int, []byte) {
	t.Helper()
	u := hs.URL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, body
}

// syncRaw runs a /sync with raw query parameters and decodes the answer.
func syncRaw(t *testing.T, hs *testserver.Server, u syUser, query url.Values) *syncapi.Response {
	t.Helper()
	status, body := syGet(t, hs, u.token, "/_matrix/client/v3/sync", query)
	if status != http.StatusOK {
		t.Fatalf("sync %v = %d %s", query, status, body)
	}
	var resp syncapi.Response
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("sync response %s: %v", body, err)
	}
	return &resp
}

// syEvent is the part of a client event the tests look at.
type syEvent struct {
	EventID  string         `json:"event_id"`
	Type     string         `json:"type"`
	Sender   string         `json:"sender"`
	StateKey *string        `json:"state_key"`
	RoomID   *string        `json:"room_id"`
	Content  map[string]any `json:"content"`
}

func syEvents(t *testing.T, raw []json.RawMessage) []syEvent {
	t.Helper()
	out := make([]syEvent, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatalf("event %s: %v", r, err)
		}
	}
	return out
}

func bodies(evs []syEvent) []string {
	var out []string
	for _, e := range evs {
		if b, ok := e.Content["body"].(string); ok {
			out = append(out, b)
		}
	}
	return out
}

func memberKeys(evs []syEvent) []string {
	var out []string
	for _, e := range evs {
		if e.Type == "m.room.member" && e.StateKey != nil {
			out = append(out, *e.StateKey)
		}
	}
	slices.Sort(out)
	return out
}

func eventIDsOf(evs []*event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID.String()
	}
	return out
}

func mustRoom(t *testing.T, u syUser, req *mautrix.ReqCreateRoom) id.RoomID {
	t.Helper()
	resp, err := u.CreateRoom(context.Background(), req)
	if err != nil {
		t.Fatalf("createRoom: %v", err)
	}
	return resp.RoomID
}

func mustSend(t *testing.T, u syUser, roomID id.RoomID, body string) id.EventID {
	t.Helper()
	resp, err := u.SendText(context.Background(), roomID, body)
	if err != nil {
		t.Fatalf("send %q: %v", body, err)
	}
	return resp.EventID
}

func mustJoin(t *testing.T, u syUser, roomID id.RoomID) {
	t.Helper()
	if _, err := u.JoinRoomByID(context.Background(), roomID); err != nil {
		t.Fatalf("%s joining %s: %v", u.id, roomID, err)
	}
}

// syErrcode checks a raw answer's status and errcode.
func syErrcode(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	var e struct {
		Errcode string `json:"errcode"`
	}
	json.Unmarshal(body, &e)
	if status != wantStatus || e.Errcode != wantCode {
		t.Errorf("%s = %d %s, want %d %s", what, status, body, wantStatus, wantCode)
	}
}

// TestSyncLongPollWakesOnMessage: a message sent by one user ends another
// user's waiting long-poll with that message, long before its timeout.
func TestSyncLongPollWakesOnMessage(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		ctx := context.Background()
		alice, bob := syLogin(t, hs, "alice"), syLogin(t, hs, "bob")
		roomID := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustJoin(t, bob, roomID)
		first, err := bob.SyncRequest(ctx, 0, "", "", false, "")
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			resp *mautrix.RespSync
			err  error
		}
		done := make(chan result, 1)
		go func() {
			resp, err := bob.SyncRequest(ctx, 120_000, first.NextBatch, "", false, "")
			done <- result{resp, err}
		}()
		// Let the long-poll settle into its wait, then send.
		time.Sleep(100 * time.Millisecond)
		sent := mustSend(t, alice, roomID, "wake up")
		var res result
		select {
		case res = <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("the long-poll did not return after the message was sent")
		}
		if res.err != nil {
			t.Fatal(res.err)
		}
		jr := res.resp.Rooms.Join[roomID]
		if jr == nil || !slices.Contains(eventIDsOf(jr.Timeline.Events), sent.String()) {
			t.Fatalf("the long-poll returned without the message: %+v", res.resp.Rooms)
		}
		if res.resp.NextBatch == first.NextBatch {
			t.Fatal("next_batch did not advance")
		}
		// The token survives a restart, and the next sync has only what is
		// new.
		hs.Restart()
		again, err := bob.SyncRequest(ctx, 0, res.resp.NextBatch, "", false, "")
		if err != nil {
			t.Fatal(err)
		}
		if jr := again.Rooms.Join[roomID]; jr != nil && len(jr.Timeline.Events) > 0 {
			t.Fatalf("incremental sync after restart repeats events: %v", eventIDsOf(jr.Timeline.Events))
		}
		later := mustSend(t, alice, roomID, "after restart")
		again, err = bob.SyncRequest(ctx, 30_000, res.resp.NextBatch, "", false, "")
		if err != nil {
			t.Fatal(err)
		}
		jr = again.Rooms.Join[roomID]
		if jr == nil || !slices.Equal(eventIDsOf(jr.Timeline.Events), []string{later.String()}) || jr.Timeline.Limited {
			t.Fatalf("incremental sync after restart = %+v", again.Rooms.Join)
		}
	})
}

// TestSyncIncrementalAndGaps: an incremental sync has only what is new; a
// gappy sync is limited, and paginating back from its prev_batch with
// /messages reaches the start of the room without gaps or duplicates.
func TestSyncIncrementalAndGaps(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		ctx := context.Background()
		alice, bob := syLogin(t, hs, "alice"), syLogin(t, hs, "bob")
		roomID := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: "gaps"})
		quiet := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustJoin(t, bob, roomID)
		mustJoin(t, bob, quiet)
		mustSend(t, alice, roomID, "m0")

		initial, err := bob.SyncRequest(ctx, 0, "", "", false, "")
		if err != nil {
			t.Fatal(err)
		}
		jr := initial.Rooms.Join[roomID]
		if jr == nil || jr.Summary.JoinedMemberCount == nil || *jr.Summary.JoinedMemberCount != 2 {
			t.Fatalf("initial sync room = %+v", jr)
		}
		if jr.UnreadNotifications == nil {
			t.Fatal("unread_notifications missing")
		}
		// The state is the state before the timeline: the two together
		// hold the room's create event once.
		creates := 0
		for _, ev := range append(jr.State.Events, jr.Timeline.Events...) {
			if ev.Type == event.StateCreate {
				creates++
			}
		}
		if creates != 1 {
			t.Fatalf("initial sync has %d create events in state + timeline", creates)
		}

		var all []string
		for i := range 25 {
			all = append(all, mustSend(t, alice, roomID, fmt.Sprintf("g%d", i)).String())
		}
		filter := `{"room":{"timeline":{"limit":5}}}`
		resp := syncRaw(t, hs, bob, url.Values{"since": {initial.NextBatch}, "filter": {filter}})
		if _, ok := resp.Rooms.Join[quiet.String()]; ok {
			t.Errorf("an unchanged room is in the incremental sync")
		}
		room := resp.Rooms.Join[roomID.String()]
		if room == nil {
			t.Fatalf("the room is missing from the incremental sync: %+v", resp.Rooms)
		}
		tl := syEvents(t, room.Timeline.Events)
		if !room.Timeline.Limited || len(tl) != 5 || room.Timeline.PrevBatch == "" {
			t.Fatalf("gappy sync timeline: limited %v, %d events, prev_batch %q", room.Timeline.Limited, len(tl), room.Timeline.PrevBatch)
		}
		if got := bodies(tl); !slices.Equal(got, []string{"g20", "g21", "g22", "g23", "g24"}) {
			t.Fatalf("gappy sync timeline = %v", got)
		}
		for _, ev := range tl {
			if ev.RoomID != nil {
				t.Fatalf("a sync event has room_id: %+v", ev)
			}
		}

		// Back-paginate from prev_batch to the start of the room.
		var back []string
		from := room.Timeline.PrevBatch
		for range 100 {
			page, err := bob.Messages(ctx, roomID, from, "", mautrix.DirectionBackward, nil, 7)
			if err != nil {
				t.Fatal(err)
			}
			back = append(back, eventIDsOf(page.Chunk)...)
			if page.End == "" {
				break
			}
			from = page.End
		}
		slices.Reverse(back)
		// Forward from the start of the room must give the same events,
		// then the five of the timeline.
		var fwd []string
		from = ""
		for range 100 {
			page, err := bob.Messages(ctx, roomID, from, "", mautrix.DirectionForward, nil, 9)
			if err != nil {
				t.Fatal(err)
			}
			fwd = append(fwd, eventIDsOf(page.Chunk)...)
			if page.End == "" {
				break
			}
			from = page.End
		}
		var tlIDs []string
		for _, ev := range tl {
			tlIDs = append(tlIDs, ev.EventID)
		}
		if want := append(slices.Clone(back), tlIDs...); !slices.Equal(fwd, want) {
			t.Fatalf("back-pagination then timeline (%d events) differs from forward pagination (%d events)", len(want), len(fwd))
		}
		if !slices.Equal(back[len(back)-20:], all[:20]) {
			t.Fatal("back-pagination does not end with the gap's messages")
		}
		first, err := bob.Messages(ctx, roomID, "", "", mautrix.DirectionForward, nil, 1)
		if err != nil || len(first.Chunk) != 1 || first.Chunk[0].Type != event.StateCreate || back[0] != first.Chunk[0].ID.String() {
			t.Fatalf("pagination does not reach the create event: %v", err)
		}
		// Unique event IDs: no duplicates.
		seen := map[string]bool{}
		for _, id := range fwd {
			if seen[id] {
				t.Fatalf("event %s paginated twice", id)
			}
			seen[id] = true
		}

		// Nothing new: a sync with a timeout of 0 reports no room.
		empty := syncRaw(t, hs, bob, url.Values{"since": {resp.NextBatch}, "timeout": {"0"}})
		if len(empty.Rooms.Join) != 0 {
			t.Fatalf("sync without news has rooms: %v", empty.Rooms.Join)
		}
	})
}
