package httpapi_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// BenchmarkSyncWakeup measures the /sync wake-up latency: from the start of
// a message send by one user to the return of another user's waiting
// long-poll with that message, on the real server over loopback HTTP.
// ns/op is that round trip; wake-ns/op the part after the send's answer.
//
//	MYELIN_TEST_POSTGRES=$(scripts/postgres.sh) go test ./internal/httpapi/ -run '^$' -bench BenchmarkSyncWakeup -benchtime 200x
func BenchmarkSyncWakeup(b *testing.B) {
	for _, e := range testdb.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			hs := testserver.Start(b, e)
			ctx := context.Background()
			alice, bob := benchLogin(b, hs, "alice"), benchLogin(b, hs, "bob")
			created, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
			if err != nil {
				b.Fatal(err)
			}
			roomID := created.RoomID
			if _, err := bob.JoinRoomByID(ctx, roomID); err != nil {
				b.Fatal(err)
			}
			first, err := bob.SyncRequest(ctx, 0, "", "", false, "")
			if err != nil {
				b.Fatal(err)
			}
			since := first.NextBatch
			type result struct {
				resp *mautrix.RespSync
				err  error
				at   time.Time
			}
			var wake time.Duration
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				done := make(chan result, 1)
				go func() {
					resp, err := bob.SyncRequest(ctx, 60_000, since, "", false, "")
					done <- result{resp, err, time.Now()}
				}()
				// Give the long-poll time to reach its wait.
				time.Sleep(5 * time.Millisecond)
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
				jr := res.resp.Rooms.Join[roomID]
				if jr == nil || !slices.Contains(eventIDsOf(jr.Timeline.Events), sent.EventID.String()) {
					b.Fatalf("long-poll returned without the message")
				}
				wake += res.at.Sub(answered)
				since = res.resp.NextBatch
				b.StartTimer()
			}
			b.ReportMetric(float64(wake.Nanoseconds())/float64(b.N), "wake-ns/op")
		})
	}
}

func benchLogin(b *testing.B, hs *testserver.Server, name string) *mautrix.Client {
	b.Helper()
	createAccount(b, hs, name, false)
	cli, _ := loginClient(b, hs, name)
	return cli
}

// BenchmarkSyncInitial measures an initial /sync of a user in 100 rooms
// of 20 events each (default filter: timeline limit 10, full state).
//
//	MYELIN_TEST_POSTGRES=$(scripts/postgres.sh) go test ./internal/httpapi/ -run '^$' -bench BenchmarkSyncInitial -benchtime 20x
func BenchmarkSyncInitial(b *testing.B) {
	for _, e := range testdb.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			hs := testserver.Start(b, e)
			ctx := context.Background()
			alice := benchLogin(b, hs, "alice")
			for i := range 100 {
				created, err := alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: fmt.Sprintf("room %d", i)})
				if err != nil {
					b.Fatal(err)
				}
				for j := range 12 {
					if _, err := alice.SendText(ctx, created.RoomID, fmt.Sprintf("m%d", j)); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ResetTimer()
			for range b.N {
				resp, err := alice.SyncRequest(ctx, 0, "", "", false, "")
				if err != nil {
					b.Fatal(err)
				}
				if len(resp.Rooms.Join) != 100 {
					b.Fatalf("%d rooms", len(resp.Rooms.Join))
				}
			}
		})
	}
}
