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
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	syncapi "myelin/internal/sync"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// syUser is a logged-in user of the sync tests, with its user ID.
type syUser struct {
	testUser
	id string
}

func syLogin(t *testing.T, hs *testserver.Server, name string) syUser {
	t.Helper()
	createAccount(t, hs, name, false)
	cli, resp := loginClient(t, hs, name)
	return syUser{testUser{cli, resp.AccessToken}, resp.UserID.String()}
}

// syGet makes a raw GET request and returns the status and body.
func syGet(t *testing.T, hs *testserver.Server, token, path string, query url.Values) (int, []byte) {
	t.Helper()
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	resp, body := do(t, hs, token, http.MethodGet, path, nil)
	return resp.StatusCode, body
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
		// A shutdown ends waiting long-polls at once, with an answer (the
		// server's graceful shutdown would otherwise wait for them, and
		// Stop reports the error).
		waiting := make(chan result, 1)
		go func() {
			resp, err := bob.SyncRequest(ctx, 30_000, res.resp.NextBatch, "", false, "")
			waiting <- result{resp, err}
		}()
		time.Sleep(100 * time.Millisecond)
		// The token survives a restart, and the next sync has only what is
		// new.
		hs.Restart()
		if w := <-waiting; w.err != nil || len(w.resp.Rooms.Join) != 0 {
			t.Fatalf("long-poll across a shutdown = %+v, %v", w.resp, w.err)
		}
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

// stateTypes lists "type|state_key" of events.
func stateTypes(evs []syEvent) []string {
	var out []string
	for _, e := range evs {
		sk := ""
		if e.StateKey != nil {
			sk = *e.StateKey
		}
		out = append(out, e.Type+"|"+sk)
	}
	return out
}

// TestSyncMembershipSections: invites, knocks, rejections, kicks and bans
// reach the invite, knock and leave sections, once, with what each must
// hold; left rooms stop at the leave.
func TestSyncMembershipSections(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		ctx := context.Background()
		alice, bob, carol := syLogin(t, hs, "alice"), syLogin(t, hs, "bob"), syLogin(t, hs, "carol")
		bobStart := syncRaw(t, hs, bob, nil).NextBatch
		carolStart := syncRaw(t, hs, carol, nil).NextBatch

		// Invite, then reject.
		invRoom := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "invite me",
			InitialState: []*event.Event{{Type: event.StateHistoryVisibility, StateKey: new(string),
				Content: event.Content{Raw: map[string]any{"history_visibility": "joined"}}}}})
		if _, err := alice.InviteUser(ctx, invRoom, &mautrix.ReqInviteUser{UserID: id.UserID(bob.id)}); err != nil {
			t.Fatal(err)
		}
		resp := syncRaw(t, hs, bob, url.Values{"since": {bobStart}})
		inv := resp.Rooms.Invite[invRoom.String()]
		if inv == nil {
			t.Fatalf("the invite is not in the invite section: %+v", resp.Rooms)
		}
		st := stateTypes(syEvents(t, inv.InviteState.Events))
		for _, want := range []string{"m.room.create|", "m.room.name|", "m.room.member|" + bob.id, "m.room.member|" + alice.id} {
			if !slices.Contains(st, want) {
				t.Errorf("invite_state %v lacks %s", st, want)
			}
		}
		for _, ev := range inv.InviteState.Events {
			var m map[string]any
			json.Unmarshal(ev, &m)
			if _, has := m["event_id"]; has || len(m) != 4 {
				t.Errorf("invite_state event is not stripped: %s", ev)
			}
		}
		afterInvite := resp.NextBatch
		if again := syncRaw(t, hs, bob, url.Values{"since": {afterInvite}}); len(again.Rooms.Invite) != 0 {
			t.Errorf("the invite is repeated in the next incremental sync")
		}
		if _, err := bob.LeaveRoom(ctx, invRoom); err != nil {
			t.Fatal(err)
		}
		resp = syncRaw(t, hs, bob, url.Values{"since": {afterInvite}})
		left := resp.Rooms.Leave[invRoom.String()]
		if left == nil {
			t.Fatalf("the rejected invite is not in the leave section: %+v", resp.Rooms)
		}
		// The rejection is visible even though the history is not.
		tl := syEvents(t, left.Timeline.Events)
		if len(tl) != 1 || tl[0].Type != "m.room.member" || tl[0].Content["membership"] != "leave" {
			t.Fatalf("leave timeline = %+v", tl)
		}
		if _, ok := resp.Rooms.Invite[invRoom.String()]; ok {
			t.Fatal("the rejected invite is still in the invite section")
		}

		// Knock.
		knockRoom := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "private_chat", RoomVersion: "12",
			InitialState: []*event.Event{{Type: event.StateJoinRules, StateKey: new(string),
				Content: event.Content{Raw: map[string]any{"join_rule": "knock"}}}}})
		if _, err := carol.KnockRoom(ctx, knockRoom.String(), &mautrix.ReqKnockRoom{Reason: "let me in"}); err != nil {
			t.Fatal(err)
		}
		resp = syncRaw(t, hs, carol, url.Values{"since": {carolStart}})
		kn := resp.Rooms.Knock[knockRoom.String()]
		if kn == nil {
			t.Fatalf("the knock is not in the knock section: %+v", resp.Rooms)
		}
		st = stateTypes(syEvents(t, kn.KnockState.Events))
		if !slices.Contains(st, "m.room.create|") || !slices.Contains(st, "m.room.member|"+carol.id) || !slices.Contains(st, "m.room.join_rules|") {
			t.Errorf("knock_state = %v", st)
		}
		// An initial sync shows the pending knock too.
		if init := syncRaw(t, hs, carol, nil); init.Rooms.Knock[knockRoom.String()] == nil {
			t.Error("the initial sync lacks the knock")
		}

		// Kick: the leave section's timeline ends with the kick; later
		// events stay hidden.
		pub := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustJoin(t, bob, pub)
		beforeKick := syncRaw(t, hs, bob, url.Values{"since": {resp.NextBatch}}).NextBatch
		mustSend(t, alice, pub, "before kick")
		if _, err := alice.KickUser(ctx, pub, &mautrix.ReqKickUser{UserID: id.UserID(bob.id), Reason: "bye"}); err != nil {
			t.Fatal(err)
		}
		mustSend(t, alice, pub, "after kick")
		resp = syncRaw(t, hs, bob, url.Values{"since": {beforeKick}})
		left = resp.Rooms.Leave[pub.String()]
		if left == nil {
			t.Fatalf("the kick is not in the leave section: %+v", resp.Rooms)
		}
		tl = syEvents(t, left.Timeline.Events)
		if got := bodies(tl); !slices.Equal(got, []string{"before kick"}) || tl[len(tl)-1].Content["membership"] != "leave" {
			t.Fatalf("kicked timeline = %v", stateTypes(tl))
		}
		if _, ok := resp.Rooms.Join[pub.String()]; ok {
			t.Fatal("the room is still in the join section")
		}
		// /messages for the kicked user stops at the kick.
		page, err := bob.Messages(ctx, pub, "", "", mautrix.DirectionBackward, nil, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Chunk) == 0 || page.Chunk[0].Type != event.StateMember {
			t.Fatalf("/messages after a kick starts with %v", eventIDsOf(page.Chunk))
		}
		// Later incremental syncs no longer show the room; with
		// include_leave an initial sync does.
		if again := syncRaw(t, hs, bob, url.Values{"since": {resp.NextBatch}, "filter": {`{"room":{"include_leave":true}}`}}); len(again.Rooms.Leave) != 0 {
			t.Errorf("an old leave is in an incremental sync: %v", again.Rooms.Leave)
		}
		init := syncRaw(t, hs, bob, nil)
		if len(init.Rooms.Leave) != 0 {
			t.Errorf("left rooms in an initial sync without include_leave: %v", init.Rooms.Leave)
		}
		init = syncRaw(t, hs, bob, url.Values{"filter": {`{"room":{"include_leave":true}}`}})
		if init.Rooms.Leave[pub.String()] == nil || init.Rooms.Leave[invRoom.String()] == nil {
			t.Errorf("include_leave initial sync leave section: %v", init.Rooms.Leave)
		}
		// Ban, after a re-join: the leave section again.
		mustJoin(t, bob, pub)
		rejoined := syncRaw(t, hs, bob, url.Values{"since": {resp.NextBatch}})
		if rejoined.Rooms.Join[pub.String()] == nil {
			t.Fatalf("re-join is not in the join section: %+v", rejoined.Rooms)
		}
		if _, err := alice.BanUser(ctx, pub, &mautrix.ReqBanUser{UserID: id.UserID(bob.id)}); err != nil {
			t.Fatal(err)
		}
		banned := syncRaw(t, hs, bob, url.Values{"since": {rejoined.NextBatch}})
		left = banned.Rooms.Leave[pub.String()]
		if left == nil {
			t.Fatalf("the ban is not in the leave section: %+v", banned.Rooms)
		}
		tl = syEvents(t, left.Timeline.Events)
		if tl[len(tl)-1].Content["membership"] != "ban" {
			t.Fatalf("ban timeline = %v", stateTypes(tl))
		}
		// A leave forgotten before the next sync still reaches it.
		forgot := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustJoin(t, bob, forgot)
		mark := syncRaw(t, hs, bob, url.Values{"since": {banned.NextBatch}}).NextBatch
		if _, err := bob.LeaveRoom(ctx, forgot); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.ForgetRoom(ctx, forgot); err != nil {
			t.Fatal(err)
		}
		if resp := syncRaw(t, hs, bob, url.Values{"since": {mark}}); resp.Rooms.Leave[forgot.String()] == nil {
			t.Errorf("a leave forgotten at once is not in the incremental sync: %+v", resp.Rooms)
		}
		if init := syncRaw(t, hs, bob, url.Values{"filter": {`{"room":{"include_leave":true}}`}}); init.Rooms.Leave[forgot.String()] != nil {
			t.Errorf("a forgotten room is in an include_leave initial sync")
		}

		// Join, leave and join again between two syncs: join section only.
		cycle := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mark = syncRaw(t, hs, bob, url.Values{"since": {mark}}).NextBatch
		mustJoin(t, bob, cycle)
		if _, err := bob.LeaveRoom(ctx, cycle); err != nil {
			t.Fatal(err)
		}
		mustJoin(t, bob, cycle)
		resp = syncRaw(t, hs, bob, url.Values{"since": {mark}})
		if resp.Rooms.Join[cycle.String()] == nil || resp.Rooms.Leave[cycle.String()] != nil {
			t.Fatalf("join-leave-join: join %v, leave %v", resp.Rooms.Join[cycle.String()] != nil, resp.Rooms.Leave[cycle.String()] != nil)
		}
		// A room joined anew comes with its whole state.
		st = stateTypes(syEvents(t, resp.Rooms.Join[cycle.String()].State.Events))
		tlTypes := stateTypes(syEvents(t, resp.Rooms.Join[cycle.String()].Timeline.Events))
		if !slices.Contains(append(st, tlTypes...), "m.room.create|") {
			t.Errorf("newly joined room lacks its create event: state %v timeline %v", st, tlTypes)
		}
	})
}

// TestSyncLazyLoadMembers: with lazy_load_members the state holds only
// the members the timeline needs (and the user), later syncs leave out
// memberships the device already has, unless include_redundant_members.
func TestSyncLazyLoadMembers(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice, bob, carol, dave := syLogin(t, hs, "alice"), syLogin(t, hs, "bob"), syLogin(t, hs, "carol"), syLogin(t, hs, "dave")
		roomID := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: "lazy"})
		for _, u := range []syUser{bob, carol, dave} {
			mustJoin(t, u, roomID)
		}
		mustSend(t, bob, roomID, "from bob")
		lazy := `{"room":{"timeline":{"limit":1},"state":{"lazy_load_members":true}}}`
		full := syncRaw(t, hs, alice, url.Values{"filter": {`{"room":{"timeline":{"limit":1}}}`}})
		if got := memberKeys(syEvents(t, full.Rooms.Join[roomID.String()].State.Events)); len(got) != 4 {
			t.Fatalf("without lazy loading the state has members %v", got)
		}
		resp := syncRaw(t, hs, alice, url.Values{"filter": {lazy}})
		jr := resp.Rooms.Join[roomID.String()]
		if got, want := memberKeys(syEvents(t, jr.State.Events)), []string{alice.id, bob.id}; !slices.Equal(got, want) {
			t.Fatalf("lazy initial sync members = %v, want %v", got, want)
		}
		if jr.Summary == nil || jr.Summary.Joined != 4 {
			t.Fatalf("summary = %+v", jr.Summary)
		}
		// carol speaks: her membership comes along; bob speaks again: his
		// does not, the device has it.
		mustSend(t, carol, roomID, "from carol")
		resp = syncRaw(t, hs, alice, url.Values{"filter": {lazy}, "since": {resp.NextBatch}})
		jr = resp.Rooms.Join[roomID.String()]
		if got := memberKeys(syEvents(t, jr.State.Events)); !slices.Equal(got, []string{carol.id}) {
			t.Fatalf("lazy incremental members = %v, want carol's", got)
		}
		mustSend(t, bob, roomID, "bob again")
		resp = syncRaw(t, hs, alice, url.Values{"filter": {lazy}, "since": {resp.NextBatch}})
		if got := memberKeys(syEvents(t, resp.Rooms.Join[roomID.String()].State.Events)); len(got) != 0 {
			t.Fatalf("redundant members sent: %v", got)
		}
		mustSend(t, bob, roomID, "bob once more")
		redundant := `{"room":{"timeline":{"limit":1},"state":{"lazy_load_members":true,"include_redundant_members":true}}}`
		resp = syncRaw(t, hs, alice, url.Values{"filter": {redundant}, "since": {resp.NextBatch}})
		if got := memberKeys(syEvents(t, resp.Rooms.Join[roomID.String()].State.Events)); !slices.Equal(got, []string{bob.id}) {
			t.Fatalf("include_redundant_members members = %v", got)
		}
		// A gap: dave's profile change in the gap comes along although dave
		// does not speak.
		if _, err := dave.SendStateEvent(context.Background(), roomID, event.StateMember, dave.id,
			map[string]any{"membership": "join", "displayname": "Dave"}); err != nil {
			t.Fatal(err)
		}
		mustSend(t, bob, roomID, "gap filler")
		mustSend(t, bob, roomID, "last")
		resp = syncRaw(t, hs, alice, url.Values{"filter": {lazy}, "since": {resp.NextBatch}})
		jr = resp.Rooms.Join[roomID.String()]
		if !jr.Timeline.Limited || !slices.Contains(memberKeys(syEvents(t, jr.State.Events)), dave.id) {
			t.Fatalf("gap membership: limited %v, members %v", jr.Timeline.Limited, memberKeys(syEvents(t, jr.State.Events)))
		}
		// /messages with lazy loading: the senders of the chunk.
		status, body := syGet(t, hs, alice.token, "/_matrix/client/v3/rooms/"+roomID.String()+"/messages",
			url.Values{"dir": {"b"}, "limit": {"3"}, "filter": {`{"lazy_load_members":true}`}})
		var page syncapi.MessagesResponse
		if status != http.StatusOK || json.Unmarshal(body, &page) != nil {
			t.Fatalf("/messages = %d %s", status, body)
		}
		if got := memberKeys(syEvents(t, page.State)); !slices.Equal(got, []string{bob.id, dave.id}) {
			t.Fatalf("/messages lazy state = %v", got)
		}
	})
}

// TestSyncFilters: timeline types, not_types, limit, senders and rooms;
// stored and inline filters; state filters.
func TestSyncFilters(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		ctx := context.Background()
		alice, bob := syLogin(t, hs, "alice"), syLogin(t, hs, "bob")
		roomA := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		roomB := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustJoin(t, bob, roomA)
		since := syncRaw(t, hs, alice, nil).NextBatch
		mustSend(t, alice, roomA, "a1")
		if _, err := alice.SendMessageEvent(ctx, roomA, event.NewEventType("org.example.custom"), map[string]any{"x": 1}); err != nil {
			t.Fatal(err)
		}
		mustSend(t, bob, roomA, "a2")
		if _, err := alice.SendStateEvent(ctx, roomA, event.StateTopic, "", map[string]any{"topic": "t"}); err != nil {
			t.Fatal(err)
		}
		mustSend(t, alice, roomB, "b1")

		timeline := func(f string, room id.RoomID) ([]syEvent, *syncapi.Response) {
			t.Helper()
			resp := syncRaw(t, hs, alice, url.Values{"since": {since}, "filter": {f}})
			jr := resp.Rooms.Join[room.String()]
			if jr == nil {
				return nil, resp
			}
			return syEvents(t, jr.Timeline.Events), resp
		}
		if tl, _ := timeline(`{"room":{"timeline":{"types":["m.room.message"]}}}`, roomA); !slices.Equal(bodies(tl), []string{"a1", "a2"}) || len(tl) != 2 {
			t.Errorf("types filter = %v", stateTypes(tl))
		}
		if tl, _ := timeline(`{"room":{"timeline":{"not_types":["m.room.*"]}}}`, roomA); len(tl) != 1 || tl[0].Type != "org.example.custom" {
			t.Errorf("not_types filter = %v", stateTypes(tl))
		}
		tl, resp := timeline(`{"room":{"timeline":{"limit":2}}}`, roomA)
		if len(tl) != 2 || tl[1].Type != "m.room.topic" || !resp.Rooms.Join[roomA.String()].Timeline.Limited {
			t.Errorf("limit filter = %v", stateTypes(tl))
		}
		if tl, _ := timeline(`{"room":{"timeline":{"senders":["`+bob.id+`"]}}}`, roomA); !slices.Equal(bodies(tl), []string{"a2"}) {
			t.Errorf("senders filter = %v", bodies(tl))
		}
		// The topic filtered out of the timeline still reaches the state.
		_, resp = timeline(`{"room":{"timeline":{"types":["m.room.message"]}}}`, roomA)
		if st := stateTypes(syEvents(t, resp.Rooms.Join[roomA.String()].State.Events)); !slices.Contains(st, "m.room.topic|") {
			t.Errorf("a state event filtered out of the timeline is not in state: %v", st)
		}
		// Room filters.
		_, resp = timeline(`{"room":{"rooms":["`+roomB.String()+`"]}}`, roomB)
		if _, ok := resp.Rooms.Join[roomA.String()]; ok || resp.Rooms.Join[roomB.String()] == nil {
			t.Errorf("rooms filter: join = %v", slices.Collect(mapKeys(resp.Rooms.Join)))
		}
		_, resp = timeline(`{"room":{"not_rooms":["`+roomB.String()+`"]}}`, roomA)
		if _, ok := resp.Rooms.Join[roomB.String()]; ok {
			t.Errorf("not_rooms filter kept the room")
		}
		// A stored filter, and state types in an initial sync.
		stored, err := alice.CreateFilter(ctx, &mautrix.Filter{Room: &mautrix.RoomFilter{
			Timeline: &mautrix.FilterPart{Limit: 1},
			State:    &mautrix.FilterPart{Types: []event.Type{event.StateCreate}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		init, err := alice.SyncRequest(ctx, 0, "", stored.FilterID, false, "")
		if err != nil {
			t.Fatal(err)
		}
		jr := init.Rooms.Join[roomA]
		if len(jr.Timeline.Events) != 1 || len(jr.State.Events) != 1 || jr.State.Events[0].Type != event.StateCreate {
			t.Errorf("stored filter: %d timeline events, state %v", len(jr.Timeline.Events), eventIDsOf(jr.State.Events))
		}
		// Presence and account data filters.
		if err := alice.SetAccountData(ctx, "org.example.a", map[string]any{"k": 1}); err != nil {
			t.Fatal(err)
		}
		resp = syncRaw(t, hs, alice, url.Values{"since": {since}, "filter": {`{"account_data":{"types":["org.example.a"]},"presence":{"not_types":["*"]}}`}})
		if ad := syEvents(t, resp.AccountData.Events); len(ad) != 1 || ad[0].Type != "org.example.a" || len(resp.Presence.Events) != 0 {
			t.Errorf("account data %v, presence %d events", stateTypes(ad), len(resp.Presence.Events))
		}
	})
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestSyncHistoryVisibility: a user who joins a room with joined
// visibility sees nothing from before the join, in /sync, /messages,
// /context and timestamp_to_event; with shared visibility they see it all.
func TestSyncHistoryVisibility(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		ctx := context.Background()
		alice, bob := syLogin(t, hs, "alice"), syLogin(t, hs, "bob")
		for _, vis := range []string{"joined", "shared"} {
			roomID := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat",
				InitialState: []*event.Event{{Type: event.StateHistoryVisibility, StateKey: new(string),
					Content: event.Content{Raw: map[string]any{"history_visibility": vis}}}}})
			early := mustSend(t, alice, roomID, "before the join")
			mustJoin(t, bob, roomID)
			mustSend(t, alice, roomID, "after the join")

			resp := syncRaw(t, hs, bob, url.Values{"filter": {`{"room":{"timeline":{"limit":50}}}`}})
			got := bodies(syEvents(t, resp.Rooms.Join[roomID.String()].Timeline.Events))
			page, err := bob.Messages(ctx, roomID, "", "", mautrix.DirectionBackward, nil, 50)
			if err != nil {
				t.Fatal(err)
			}
			var paged []string
			for _, ev := range page.Chunk {
				if b, ok := ev.Content.Raw["body"].(string); ok {
					paged = append(paged, b)
				}
			}
			slices.Reverse(paged)
			status, body := syGet(t, hs, bob.token, "/_matrix/client/v3/rooms/"+roomID.String()+"/context/"+early.String(), nil)
			want := []string{"before the join", "after the join"}
			if vis == "joined" {
				want = want[1:]
				syErrcode(t, "/context of a hidden event", status, body, http.StatusNotFound, "M_NOT_FOUND")
			} else if status != http.StatusOK {
				t.Errorf("/context of a shared event = %d %s", status, body)
			}
			if !slices.Equal(got, want) || !slices.Equal(paged, want) {
				t.Errorf("%s visibility: sync shows %v, /messages %v, want %v", vis, got, paged, want)
			}
			// The room's creation is before the join too.
			ts, err := bob.TimestampToEvent(ctx, roomID, time.UnixMilli(0), mautrix.DirectionForward)
			if vis == "joined" {
				if err != nil || ts.EventID == early {
					t.Errorf("timestamp_to_event from 0 = %+v, %v; want the first visible event", ts, err)
				}
			} else if err != nil {
				t.Errorf("timestamp_to_event = %v", err)
			}
		}
	})
}

// TestSyncFullStatePresenceEphemeral: full_state returns every room's state
// at once; set_presence reaches other users' presence sections; typing and
// receipts reach the ephemeral section; room account data its room.
func TestSyncFullStatePresenceEphemeral(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		ctx := context.Background()
		alice, bob := syLogin(t, hs, "alice"), syLogin(t, hs, "bob")
		roomID := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustJoin(t, bob, roomID)
		msg := mustSend(t, alice, roomID, "hello")
		since := syncRaw(t, hs, bob, nil).NextBatch

		// full_state: the unchanged room with its whole state, at once
		// although a timeout is given.
		start := time.Now()
		resp := syncRaw(t, hs, bob, url.Values{"since": {since}, "full_state": {"true"}, "timeout": {"30000"}})
		if time.Since(start) > 20*time.Second {
			t.Fatal("full_state waited for the timeout")
		}
		jr := resp.Rooms.Join[roomID.String()]
		if jr == nil || len(jr.Timeline.Events) != 0 {
			t.Fatalf("full_state join = %+v", jr)
		}
		st := stateTypes(syEvents(t, jr.State.Events))
		for _, want := range []string{"m.room.create|", "m.room.power_levels|", "m.room.member|" + alice.id, "m.room.member|" + bob.id} {
			if !slices.Contains(st, want) {
				t.Errorf("full_state lacks %s: %v", want, st)
			}
		}

		// Presence set by alice's sync reaches bob.
		syncRaw(t, hs, alice, url.Values{"set_presence": {"unavailable"}})
		resp = syncRaw(t, hs, bob, url.Values{"since": {since}, "timeout": {"5000"}})
		var found bool
		for _, ev := range resp.Presence.Events {
			var p struct {
				Sender  string `json:"sender"`
				Content struct {
					Presence string `json:"presence"`
				} `json:"content"`
			}
			json.Unmarshal(ev, &p)
			found = found || p.Sender == alice.id && p.Content.Presence == "unavailable"
		}
		if !found {
			t.Fatalf("alice's presence did not reach bob: %s", resp.Presence.Events)
		}

		// Typing, a receipt and room account data.
		since = resp.NextBatch
		if _, err := alice.UserTyping(ctx, roomID, true, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := alice.SendReceipt(ctx, roomID, msg, event.ReceiptTypeRead, nil); err != nil {
			t.Fatal(err)
		}
		if err := bob.SetRoomAccountData(ctx, roomID, "org.example.room", map[string]any{"v": 1}); err != nil {
			t.Fatal(err)
		}
		types := map[string]bool{}
		for range 10 {
			resp = syncRaw(t, hs, bob, url.Values{"since": {since}, "timeout": {"5000"}})
			if jr := resp.Rooms.Join[roomID.String()]; jr != nil {
				for _, ev := range append(syEvents(t, jr.Ephemeral.Events), syEvents(t, jr.AccountData.Events)...) {
					types[ev.Type] = true
				}
			}
			since = resp.NextBatch
			if types["m.typing"] && types["m.receipt"] && types["org.example.room"] {
				break
			}
		}
		if !types["m.typing"] || !types["m.receipt"] || !types["org.example.room"] {
			t.Fatalf("ephemeral and account data seen: %v", types)
		}
		// An initial sync has the current typing state.
		init := syncRaw(t, hs, bob, nil)
		if got := stateTypes(syEvents(t, init.Rooms.Join[roomID.String()].Ephemeral.Events)); !slices.Contains(got, "m.typing|") {
			t.Errorf("initial sync ephemeral = %v", got)
		}
	})
}

// TestSyncBadInput: malformed parameters are refused with the spec's
// errcodes, before anything is read or waited for.
func TestSyncBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice, bob := syLogin(t, hs, "alice"), syLogin(t, hs, "bob")
		next := syncRaw(t, hs, alice, nil).NextBatch
		bobFilter, err := bob.CreateFilter(context.Background(), &mautrix.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			token  string
			query  url.Values
			status int
			code   string
		}{
			{"no token", "", nil, 401, "M_MISSING_TOKEN"},
			{"garbage since", alice.token, url.Values{"since": {"garbage"}}, 400, "M_INVALID_PARAM"},
			{"since of another format", alice.token, url.Values{"since": {"s72594_4483_1934"}}, 400, "M_INVALID_PARAM"},
			{"since with a negative position", alice.token, url.Values{"since": {"m1_e-1_a0_p0"}}, 400, "M_INVALID_PARAM"},
			{"since without its events part", alice.token, url.Values{"since": {"m1_a0_p0_x1"}}, 400, "M_INVALID_PARAM"},
			{"since with a repeated part", alice.token, url.Values{"since": {"m1_e1_e2_a0_p0"}}, 400, "M_INVALID_PARAM"},
			{"filter not JSON", alice.token, url.Values{"filter": {"{nope"}}, 400, "M_NOT_JSON"},
			{"filter of the wrong shape", alice.token, url.Values{"filter": {`{"room":{"timeline":{"limit":"ten"}}}`}}, 400, "M_BAD_JSON"},
			{"unknown filter ID", alice.token, url.Values{"filter": {"987654"}}, 404, "M_NOT_FOUND"},
			{"another user's filter", alice.token, url.Values{"filter": {bobFilter.FilterID}}, 404, "M_NOT_FOUND"},
			{"timeout not a number", alice.token, url.Values{"timeout": {"soon"}}, 400, "M_INVALID_PARAM"},
			{"negative timeout", alice.token, url.Values{"timeout": {"-5"}}, 400, "M_INVALID_PARAM"},
			{"full_state not a boolean", alice.token, url.Values{"full_state": {"yes"}}, 400, "M_INVALID_PARAM"},
			{"unknown set_presence", alice.token, url.Values{"set_presence": {"busy"}}, 400, "M_INVALID_PARAM"},
		} {
			status, body := syGet(t, hs, c.token, "/_matrix/client/v3/sync", c.query)
			syErrcode(t, c.name, status, body, c.status, c.code)
		}
		// The r0 prefix serves /sync too.
		if status, body := syGet(t, hs, alice.token, "/_matrix/client/r0/sync", nil); status != http.StatusOK {
			t.Errorf("r0 sync = %d %s", status, body)
		}
		// A token from the future (a reset database) is served from now on,
		// without waiting for positions that never come.
		future := "m1_e999999_a999999_p999999"
		start := time.Now()
		resp := syncRaw(t, hs, alice, url.Values{"since": {future}, "timeout": {"0"}})
		if time.Since(start) > 10*time.Second || resp.NextBatch == future {
			t.Fatalf("future token: next_batch %s", resp.NextBatch)
		}
		roomID := mustRoom(t, alice, &mautrix.ReqCreateRoom{})
		resp = syncRaw(t, hs, alice, url.Values{"since": {resp.NextBatch}, "timeout": {"10000"}})
		if resp.Rooms.Join[roomID.String()] == nil {
			t.Fatalf("after a future token, a new room is missed: %+v", resp.Rooms)
		}
		_ = next
	})
}

// TestMessagesContextTimestamp: /messages directions, from/to and limit;
// /context; timestamp_to_event; and their bad input.
func TestMessagesContextTimestamp(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		ctx := context.Background()
		alice, bob, eve := syLogin(t, hs, "alice"), syLogin(t, hs, "bob"), syLogin(t, hs, "eve")
		roomID := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		other := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		otherEv := mustSend(t, alice, other, "elsewhere")
		mustJoin(t, bob, roomID)
		before := syncRaw(t, hs, alice, nil).NextBatch
		var ids []id.EventID
		for i := range 9 {
			ids = append(ids, mustSend(t, alice, roomID, fmt.Sprintf("c%d", i)))
		}
		after := syncRaw(t, hs, alice, url.Values{"since": {before}}).NextBatch

		// from a sync token to another, both directions.
		fwd, err := bob.Messages(ctx, roomID, before, after, mautrix.DirectionForward, nil, 100)
		if err != nil || !slices.Equal(eventIDsOf(fwd.Chunk), idStrings(ids)) || fwd.Start != before {
			t.Fatalf("forward between tokens = %v, %v", eventIDsOf(fwd.Chunk), err)
		}
		back, err := bob.Messages(ctx, roomID, after, before, mautrix.DirectionBackward, nil, 4)
		if err != nil || len(back.Chunk) != 4 || back.Chunk[0].ID != ids[8] || back.End == "" {
			t.Fatalf("backward between tokens = %v, %v", eventIDsOf(back.Chunk), err)
		}
		rest, err := bob.Messages(ctx, roomID, back.End, before, mautrix.DirectionBackward, nil, 100)
		if err != nil || len(rest.Chunk) != 5 || rest.Chunk[4].ID != ids[0] || rest.End != "" {
			t.Fatalf("rest of the backward pages = %v, end %q, %v", eventIDsOf(rest.Chunk), rest.End, err)
		}
		// A content filter.
		page, err := bob.Messages(ctx, roomID, "", "", mautrix.DirectionBackward, &mautrix.FilterPart{NotTypes: []event.Type{event.EventMessage}}, 100)
		if err != nil || len(page.Chunk) == 0 {
			t.Fatalf("filtered /messages = %v", err)
		}
		for _, ev := range page.Chunk {
			if ev.Type == event.EventMessage {
				t.Fatal("not_types let a message through")
			}
		}

		// /context around c4 with limit 4: two before, two after.
		cx, err := bob.Context(ctx, roomID, ids[4], nil, 4)
		if err != nil {
			t.Fatal(err)
		}
		if cx.Event.ID != ids[4] || !slices.Equal(eventIDsOf(cx.EventsBefore), idStrings([]id.EventID{ids[3], ids[2]})) ||
			!slices.Equal(eventIDsOf(cx.EventsAfter), idStrings(ids[5:7])) || len(cx.State) == 0 {
			t.Fatalf("context = event %s, before %v, after %v, %d state", cx.Event.ID, eventIDsOf(cx.EventsBefore), eventIDsOf(cx.EventsAfter), len(cx.State))
		}
		// Its tokens continue the pagination seamlessly.
		prev, err := bob.Messages(ctx, roomID, cx.Start, "", mautrix.DirectionBackward, nil, 2)
		if err != nil || !slices.Equal(eventIDsOf(prev.Chunk), idStrings([]id.EventID{ids[1], ids[0]})) {
			t.Fatalf("backward from context start = %v, %v", eventIDsOf(prev.Chunk), err)
		}
		next, err := bob.Messages(ctx, roomID, cx.End, "", mautrix.DirectionForward, nil, 2)
		if err != nil || !slices.Equal(eventIDsOf(next.Chunk), idStrings(ids[7:9])) {
			t.Fatalf("forward from context end = %v, %v", eventIDsOf(next.Chunk), err)
		}

		// timestamp_to_event.
		evs, err := bob.Messages(ctx, roomID, before, after, mautrix.DirectionForward, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		ts := evs.Chunk[3].Timestamp
		got, err := bob.TimestampToEvent(ctx, roomID, time.UnixMilli(ts), mautrix.DirectionForward)
		if err != nil || got.Timestamp.UnixMilli() < ts {
			t.Fatalf("timestamp_to_event forward = %+v, %v", got, err)
		}
		got, err = bob.TimestampToEvent(ctx, roomID, time.UnixMilli(ts), mautrix.DirectionBackward)
		if err != nil || got.Timestamp.UnixMilli() > ts {
			t.Fatalf("timestamp_to_event backward = %+v, %v", got, err)
		}
		tsPath := "/_matrix/client/v1/rooms/" + roomID.String() + "/timestamp_to_event"
		status, body := syGet(t, hs, bob.token, tsPath, url.Values{"ts": {"1"}, "dir": {"b"}})
		syErrcode(t, "timestamp_to_event before the room", status, body, 404, "M_NOT_FOUND")

		msgPath := "/_matrix/client/v3/rooms/" + roomID.String() + "/messages"
		ctxPath := "/_matrix/client/v3/rooms/" + roomID.String() + "/context/"
		for _, c := range []struct {
			name   string
			token  string
			path   string
			query  url.Values
			status int
			code   string
		}{
			{"messages without auth", "", msgPath, url.Values{"dir": {"b"}}, 401, "M_MISSING_TOKEN"},
			{"messages with a bad dir", bob.token, msgPath, url.Values{"dir": {"up"}}, 400, "M_INVALID_PARAM"},
			{"messages with a bad from", bob.token, msgPath, url.Values{"dir": {"b"}, "from": {"t12_x"}}, 400, "M_INVALID_PARAM"},
			{"messages with a bad to", bob.token, msgPath, url.Values{"dir": {"b"}, "to": {"-3"}}, 400, "M_INVALID_PARAM"},
			{"messages with a bad limit", bob.token, msgPath, url.Values{"dir": {"b"}, "limit": {"many"}}, 400, "M_INVALID_PARAM"},
			{"messages with a negative limit", bob.token, msgPath, url.Values{"dir": {"b"}, "limit": {"-1"}}, 400, "M_INVALID_PARAM"},
			{"messages with a filter not JSON", bob.token, msgPath, url.Values{"dir": {"b"}, "filter": {"{"}}, 400, "M_NOT_JSON"},
			{"messages with a filter not an object", bob.token, msgPath, url.Values{"dir": {"b"}, "filter": {"[1]"}}, 400, "M_BAD_JSON"},
			{"messages with a filter escaping its place", bob.token, msgPath, url.Values{"dir": {"b"}, "filter": {`{}},"x":{`}}, 400, "M_NOT_JSON"},
			{"messages with a bad filter", bob.token, msgPath, url.Values{"dir": {"b"}, "filter": {`{"types":"m.room.message"}`}}, 400, "M_BAD_JSON"},
			{"messages of an unknown room", bob.token, "/_matrix/client/v3/rooms/!nope:localhost/messages", url.Values{"dir": {"b"}}, 403, "M_FORBIDDEN"},
			{"messages of a room one is not in", eve.token, msgPath, url.Values{"dir": {"b"}}, 403, "M_FORBIDDEN"},
			{"context of an unknown event", bob.token, ctxPath + "$nope", nil, 404, "M_NOT_FOUND"},
			{"context of another room's event", bob.token, ctxPath + otherEv.String(), nil, 404, "M_NOT_FOUND"},
			{"context with a bad limit", bob.token, ctxPath + ids[0].String(), url.Values{"limit": {"x"}}, 400, "M_INVALID_PARAM"},
			{"context with a bad filter", bob.token, ctxPath + ids[0].String(), url.Values{"filter": {"nope"}}, 400, "M_NOT_JSON"},
			{"context of a room one is not in", eve.token, ctxPath + ids[0].String(), nil, 403, "M_FORBIDDEN"},
			{"timestamp_to_event without ts", bob.token, tsPath, url.Values{"dir": {"f"}}, 400, "M_MISSING_PARAM"},
			{"timestamp_to_event with a bad ts", bob.token, tsPath, url.Values{"dir": {"f"}, "ts": {"noon"}}, 400, "M_INVALID_PARAM"},
			{"timestamp_to_event with a bad dir", bob.token, tsPath, url.Values{"dir": {"x"}, "ts": {"1"}}, 400, "M_INVALID_PARAM"},
			{"timestamp_to_event in a room one is not in", eve.token, tsPath, url.Values{"dir": {"f"}, "ts": {"1"}}, 403, "M_FORBIDDEN"},
		} {
			status, body := syGet(t, hs, c.token, c.path, c.query)
			syErrcode(t, c.name, status, body, c.status, c.code)
		}
		// The prev_batch of a timeline holding the whole room names this
		// sync's point: /members?at= gives the members as of then.
		small := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustSend(t, alice, small, "hello")
		init := syncRaw(t, hs, alice, nil)
		prevBatch := init.Rooms.Join[small.String()].Timeline.PrevBatch
		mustJoin(t, bob, small)
		status, body = syGet(t, hs, alice.token, "/_matrix/client/v3/rooms/"+small.String()+"/members", url.Values{"at": {prevBatch}})
		var members struct {
			Chunk []syEvent `json:"chunk"`
		}
		if json.Unmarshal(body, &members); status != 200 || !slices.Equal(memberKeys(members.Chunk), []string{alice.id}) {
			t.Errorf("/members at the initial sync's prev_batch = %d %s", status, body)
		}

		// Without dir, /messages paginates forward (as Synapse).
		status, body = syGet(t, hs, bob.token, msgPath, url.Values{"limit": {"1"}})
		var firstPage syncapi.MessagesResponse
		if json.Unmarshal(body, &firstPage); status != 200 || len(firstPage.Chunk) != 1 || syEvents(t, firstPage.Chunk)[0].Type != "m.room.create" {
			t.Errorf("/messages without dir = %d %s", status, body)
		}

		// limit=0 gives an empty chunk and no end.
		status, body = syGet(t, hs, bob.token, msgPath, url.Values{"dir": {"b"}, "limit": {"0"}})
		var empty syncapi.MessagesResponse
		if json.Unmarshal(body, &empty); status != 200 || len(empty.Chunk) != 0 || empty.End != "" || empty.Start == "" {
			t.Errorf("limit 0 = %d %s", status, body)
		}
		// Events of /messages keep their room_id.
		if status, body = syGet(t, hs, bob.token, "/_matrix/client/r0/rooms/"+roomID.String()+"/messages", url.Values{"dir": {"b"}, "limit": {"1"}}); status != 200 ||
			!json.Valid(body) || !strings.Contains(string(body), `"room_id"`) {
			t.Errorf("r0 /messages = %d %s", status, body)
		}
	})
}

func idStrings(ids []id.EventID) []string {
	out := make([]string, len(ids))
	for i, x := range ids {
		out[i] = x.String()
	}
	return out
}

// TestSyncIgnoredUsers: the non-state events and invites of ignored users
// are not delivered; their state events are.
func TestSyncIgnoredUsers(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		ctx := context.Background()
		alice, bob, carol := syLogin(t, hs, "alice"), syLogin(t, hs, "bob"), syLogin(t, hs, "carol")
		roomID := mustRoom(t, alice, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		mustJoin(t, bob, roomID)
		if err := alice.SetAccountData(ctx, "m.ignored_user_list", map[string]any{"ignored_users": map[string]any{bob.id: map[string]any{}}}); err != nil {
			t.Fatal(err)
		}
		since := syncRaw(t, hs, alice, nil).NextBatch
		mustSend(t, bob, roomID, "from bob")
		mustSend(t, carol, mustRoom(t, carol, &mautrix.ReqCreateRoom{}), "elsewhere")
		if _, err := bob.SendStateEvent(ctx, roomID, event.StateMember, bob.id, map[string]any{"membership": "join", "displayname": "Bob"}); err != nil {
			t.Fatal(err)
		}
		mustSend(t, alice, roomID, "from alice")
		bobRoom := mustRoom(t, bob, &mautrix.ReqCreateRoom{Invite: []id.UserID{id.UserID(alice.id)}})
		carolRoom := mustRoom(t, carol, &mautrix.ReqCreateRoom{Invite: []id.UserID{id.UserID(alice.id)}})
		resp := syncRaw(t, hs, alice, url.Values{"since": {since}})
		tl := syEvents(t, resp.Rooms.Join[roomID.String()].Timeline.Events)
		if got := bodies(tl); !slices.Equal(got, []string{"from alice"}) || !slices.Contains(stateTypes(tl), "m.room.member|"+bob.id) {
			t.Errorf("timeline with bob ignored = %v", stateTypes(tl))
		}
		if resp.Rooms.Invite[bobRoom.String()] != nil || resp.Rooms.Invite[carolRoom.String()] == nil {
			t.Errorf("invites with bob ignored: %v", slices.Collect(mapKeys(resp.Rooms.Invite)))
		}
		page, err := alice.Messages(ctx, roomID, "", "", mautrix.DirectionBackward, nil, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Chunk {
			if ev.Sender.String() == bob.id && ev.StateKey == nil {
				t.Errorf("/messages delivers an ignored user's message %s", ev.ID)
			}
		}
	})
}
