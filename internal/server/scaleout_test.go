package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to kill the listeners
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// Scale-out (DESIGN.md, principle 5): two myelin processes on one
// PostgreSQL database wake each other's long-polls. One SQLite database has
// one process, so these run on PostgreSQL only.

// longPoll is how long the tests' /sync long-polls wait: far above any
// wake-up, so that a missing one fails the "arrived before the timeout"
// check rather than going unnoticed.
const longPoll = 30 * time.Second

// wokeWithin is how fast a woken long-poll must answer.
const wokeWithin = 10 * time.Second

// postgresEngine returns the PostgreSQL engine, or skips the test.
func postgresEngine(t testing.TB) testdb.Engine {
	t.Helper()
	for _, e := range testdb.Engines(t) {
		if e.Name == "postgres" {
			return e
		}
	}
	t.Skip("PostgreSQL only (set MYELIN_TEST_POSTGRES): one SQLite database has one process")
	return testdb.Engine{}
}

// loginOn creates an account through hs and logs it in on the instance at
// url.
func loginOn(t testing.TB, hs *testserver.Server, url, name string) *mautrix.Client {
	t.Helper()
	ctx := context.Background()
	if _, err := hs.Srv.Users.CreateAccount(ctx, name, "a long password", false); err != nil {
		t.Fatal(err)
	}
	cli, err := mautrix.NewClient(url, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypePassword, Password: "a long password",
		Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: name}, StoreCredentials: true}); err != nil {
		t.Fatal(err)
	}
	return cli
}

// pair starts instance A, a peer B on its database, alice on A and bob on
// B in one room, and returns bob's next sync token.
func pair(t testing.TB) (a, b *testserver.Server, alice, bob *mautrix.Client, roomID id.RoomID, since string) {
	t.Helper()
	ctx := context.Background()
	a = testserver.Start(t, postgresEngine(t))
	b = a.StartPeer()
	alice, bob = loginOn(t, a, a.URL, "alice"), loginOn(t, a, b.URL, "bob")
	created, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.JoinRoomByID(ctx, created.RoomID); err != nil {
		t.Fatal(err)
	}
	first, err := bob.SyncRequest(ctx, 0, "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	return a, b, alice, bob, created.RoomID, first.NextBatch
}

type syncResult struct {
	resp    *mautrix.RespSync
	err     error
	elapsed time.Duration
}

// startLongPoll starts cli's /sync long-poll from since and gives it time
// to reach its wait, so that what follows can only reach it as a wake-up.
func startLongPoll(cli *mautrix.Client, since string) <-chan syncResult {
	done := make(chan syncResult, 1)
	go func() {
		start := time.Now()
		resp, err := cli.SyncRequest(context.Background(), int(longPoll.Milliseconds()), since, "", false, "")
		done <- syncResult{resp, err, time.Since(start)}
	}()
	time.Sleep(300 * time.Millisecond)
	return done
}

// awaitWoken waits for a long-poll that something must have woken.
func awaitWoken(t *testing.T, what string, done <-chan syncResult) *mautrix.RespSync {
	t.Helper()
	res := <-done
	if res.err != nil {
		t.Fatalf("%s: sync: %v", what, res.err)
	}
	if res.elapsed > wokeWithin {
		t.Fatalf("%s: the long-poll answered after %v: it was not woken, only timed out", what, res.elapsed)
	}
	return res.resp
}

func timelineHas(resp *mautrix.RespSync, roomID id.RoomID, eventID id.EventID) bool {
	jr := resp.Rooms.Join[roomID]
	if jr == nil {
		return false
	}
	return slices.ContainsFunc(jr.Timeline.Events, func(ev *event.Event) bool { return ev.ID == eventID })
}

// typingIn returns the user IDs of the m.typing event of roomID in resp
// (nil if none).
func typingIn(resp *mautrix.RespSync, roomID id.RoomID) []id.UserID {
	jr := resp.Rooms.Join[roomID]
	if jr == nil {
		return nil
	}
	for _, ev := range jr.Ephemeral.Events {
		if ev.Type == event.EphemeralEventTyping {
			ev.Content.ParseRaw(ev.Type)
			return ev.Content.AsTyping().UserIDs
		}
	}
	return nil
}

// TestScaleOutSyncWakesAcrossInstances: a message sent through instance A
// wakes a long-poll waiting on instance B, with the message in it; so does
// a typing notification, which lives in each instance's memory.
func TestScaleOutSyncWakesAcrossInstances(t *testing.T) {
	ctx := context.Background()
	_, _, alice, bob, roomID, since := pair(t)

	done := startLongPoll(bob, since)
	sent, err := alice.SendText(ctx, roomID, "hello from A")
	if err != nil {
		t.Fatal(err)
	}
	resp := awaitWoken(t, "message", done)
	if !timelineHas(resp, roomID, sent.EventID) {
		t.Fatalf("B's long-poll answered without A's message %s", sent.EventID)
	}

	done = startLongPoll(bob, resp.NextBatch)
	if _, err := alice.UserTyping(ctx, roomID, true, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	resp = awaitWoken(t, "typing", done)
	if got := typingIn(resp, roomID); !slices.Equal(got, []id.UserID{alice.UserID}) {
		t.Fatalf("typing on B = %v, want [%s]", got, alice.UserID)
	}

	done = startLongPoll(bob, resp.NextBatch)
	if _, err := alice.UserTyping(ctx, roomID, false, 0); err != nil {
		t.Fatal(err)
	}
	resp = awaitWoken(t, "typing stopped", done)
	if got := typingIn(resp, roomID); got == nil || len(got) != 0 {
		t.Fatalf("typing on B after the stop = %v, want an empty list", got)
	}
}

// TestScaleOutListenerRecovers: when the instances' listening connections
// are killed, they reconnect; a message committed meanwhile still wakes
// the long-poll waiting on B, and later ones do too.
func TestScaleOutListenerRecovers(t *testing.T) {
	ctx := context.Background()
	a, _, alice, bob, roomID, since := pair(t)
	admin, err := sql.Open("pgx", a.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	listeners := func() []int64 {
		rows, err := admin.QueryContext(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN myelin_streams' ORDER BY pid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var pids []int64
		for rows.Next() {
			var pid int64
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		return pids
	}
	before := listeners()
	if len(before) != 2 {
		t.Fatalf("%d listening connections, want one per instance", len(before))
	}

	done := startLongPoll(bob, since)
	for _, pid := range before {
		var ok bool
		if err := admin.QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("killing listener %d: %v, %v", pid, ok, err)
		}
	}
	sent, err := alice.SendText(ctx, roomID, "sent while B was not listening")
	if err != nil {
		t.Fatal(err)
	}
	resp := awaitWoken(t, "message during the gap", done)
	if !timelineHas(resp, roomID, sent.EventID) {
		t.Fatalf("B's long-poll answered without the message %s", sent.EventID)
	}

	deadline := time.Now().Add(wokeWithin)
	for {
		after := listeners()
		if len(after) == 2 && !slices.Contains(before, after[0]) && !slices.Contains(before, after[1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listeners after the kill: %v (before: %v); want two new ones", after, before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	done = startLongPoll(bob, resp.NextBatch)
	sent, err = alice.SendText(ctx, roomID, "after the reconnect")
	if err != nil {
		t.Fatal(err)
	}
	if resp := awaitWoken(t, "message after the reconnect", done); !timelineHas(resp, roomID, sent.EventID) {
		t.Fatalf("B's long-poll answered without the message %s", sent.EventID)
	}
}

// BenchmarkCrossInstanceWakeup measures the cross-instance /sync wake-up
// latency: alice sends a message through instance A, bob's long-poll
// waiting on instance B (same PostgreSQL database) returns with it. ns/op
// is the whole round trip from the start of the send; wake-ns/op the part
// after A answered the send (the LISTEN/NOTIFY hop plus B's sync).
//
//	MYELIN_TEST_POSTGRES=$(scripts/postgres.sh) go test ./internal/server/ -run '^$' -bench BenchmarkCrossInstanceWakeup -benchtime 200x
func BenchmarkCrossInstanceWakeup(b *testing.B) {
	ctx := context.Background()
	_, _, alice, bob, roomID, since := pair(b)
	var wake time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		type result struct {
			resp *mautrix.RespSync
			err  error
			at   time.Time
		}
		done := make(chan result, 1)
		go func() {
			resp, err := bob.SyncRequest(ctx, int(longPoll.Milliseconds()), since, "", false, "")
			done <- result{resp, err, time.Now()}
		}()
		time.Sleep(5 * time.Millisecond) // the long-poll reaches its wait
		b.StartTimer()
		sent, err := alice.SendText(ctx, roomID, fmt.Sprintf("m%d", i))
		if err != nil {
			b.Fatal(err)
		}
		answered := time.Now()
		res := <-done
		b.StopTimer()
		if res.err != nil {
			b.Fatal(res.err)
		}
		if !timelineHas(res.resp, roomID, sent.EventID) {
			b.Fatal("long-poll returned without the message")
		}
		wake += res.at.Sub(answered)
		since = res.resp.NextBatch
		b.StartTimer()
	}
	b.ReportMetric(float64(wake.Nanoseconds())/float64(b.N), "wake-ns/op")
}
