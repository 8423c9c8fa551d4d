package room

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"myelin/internal/testkit/testdb"
)

// BenchmarkSend measures events persisted per second through the whole
// write path (build, sign, authorize, persist with stream position and
// transaction ID, notify), into one room from one sender and from 100 at
// once (group commit), and into 100 rooms in parallel, on each engine:
//
//	go test ./internal/room -run '^$' -bench BenchmarkSend -benchtime 2000x
func BenchmarkSend(b *testing.B) {
	content := json.RawMessage(`{"msgtype":"m.text","body":"benchmark message"}`)
	for _, e := range testdb.Engines(b) {
		b.Run(e.Name+"/1room", func(b *testing.B) {
			ctx := context.Background()
			eng := newEngine(b, openStore(b, e))
			alice := sender(b, "@alice:a.test")
			roomID, err := eng.CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPublicChat})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := eng.SendMessage(ctx, alice, roomID, "m.room.message", fmt.Sprint(i), content); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
		b.Run(e.Name+"/1room-100senders", func(b *testing.B) {
			ctx := context.Background()
			eng := newEngine(b, openStore(b, e))
			alice := sender(b, "@alice:a.test")
			roomID, err := eng.CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPublicChat})
			if err != nil {
				b.Fatal(err)
			}
			var txn atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(max(1, 100/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := eng.SendMessage(ctx, alice, roomID, "m.room.message", fmt.Sprint(txn.Add(1)), content); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
		b.Run(e.Name+"/100rooms", func(b *testing.B) {
			ctx := context.Background()
			eng := newEngine(b, openStore(b, e))
			alice := sender(b, "@alice:a.test")
			rooms := make([]string, 100)
			for i := range rooms {
				id, err := eng.CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPublicChat})
				if err != nil {
					b.Fatal(err)
				}
				rooms[i] = id
			}
			var next, txn atomic.Int64
			b.ReportAllocs()
			// 100 senders, one per room, whatever GOMAXPROCS is.
			b.SetParallelism(max(1, 100/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				room := rooms[int(next.Add(1)-1)%len(rooms)]
				for pb.Next() {
					if _, err := eng.SendMessage(ctx, alice, room, "m.room.message", fmt.Sprint(txn.Add(1)), content); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
