package sqlstore

import (
	"context"
	"fmt"
	"testing"

	"myelin/internal/directory"
	"myelin/internal/spec"
	"myelin/internal/store"
	"myelin/internal/testkit/testdb"
)

// BenchmarkPublicRooms measures a /publicRooms page of 20 over 1000
// published rooms (each with 9 state events and 5 joined members) and
// 1000 private ones, through the directory service: browsing (member
// counts of every room, state of the page's rooms) and searching (state of
// every room).
//
//	go test ./internal/sqlstore/ -run '^$' -bench PublicRooms -benchtime 20x
func BenchmarkPublicRooms(b *testing.B) {
	for _, e := range testdb.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			ctx := context.Background()
			dbURL, path := e.New(b)
			db, err := Open(ctx, Options{URL: dbURL, SQLitePath: path})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			for i := range 2000 {
				r := benchRoom(b, db, i)
				if i%2 == 0 {
					if err := db.SetRoomVisibility(ctx, r.NID, "public"); err != nil {
						b.Fatal(err)
					}
				}
			}
			svc := directory.New(directory.Options{ServerName: "test"}, db, db, nil)
			for _, q := range []struct {
				name string
				q    directory.Query
			}{
				{"browse", directory.Query{Limit: 20}},
				{"search", directory.Query{Limit: 20, SearchTerm: "room"}},
			} {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						p, err := svc.PublicRooms(ctx, q.q)
						if err != nil || len(p.Chunk) != 20 || p.TotalRoomCountEstimate != 1000 || p.Chunk[0].Name == "" {
							b.Fatalf("page = %d rooms of %d, %v", len(p.Chunk), p.TotalRoomCountEstimate, err)
						}
					}
				})
			}
		})
	}
}

func benchRoom(b *testing.B, db *DB, i int) store.Room {
	b.Helper()
	ctx := context.Background()
	roomID := fmt.Sprintf("!bench%d:test", i)
	events := []struct{ typ, key, membership, json string }{
		{"m.room.create", "", "", `{"content":{"room_version":"10"}}`},
		{"m.room.name", "", "", fmt.Sprintf(`{"content":{"name":"Room %d"}}`, i)},
		{"m.room.topic", "", "", `{"content":{"topic":"A topic long enough to look like a real one, about benchmarks"}}`},
		{"m.room.canonical_alias", "", "", fmt.Sprintf(`{"content":{"alias":"#room%d:test"}}`, i)},
		{"m.room.join_rules", "", "", `{"content":{"join_rule":"public"}}`},
		{"m.room.history_visibility", "", "", `{"content":{"history_visibility":"shared"}}`},
		{"m.room.guest_access", "", "", `{"content":{"guest_access":"forbidden"}}`},
		{"m.room.avatar", "", "", `{"content":{"url":"mxc://test/avatar"}}`},
		{"m.room.power_levels", "", "", `{"content":{}}`},
	}
	for u := range 5 + i%7 {
		membership := "join"
		if u >= 5 {
			membership = "leave"
		}
		events = append(events, struct{ typ, key, membership, json string }{"m.room.member", fmt.Sprintf("@u%d:test", u), membership,
			fmt.Sprintf(`{"content":{"membership":%q}}`, membership)})
	}
	room, _, err := db.CreateRoom(ctx, store.Room{ID: roomID, Version: "10"}, func(w store.RoomWriter) error {
		var tuples []spec.StateKeyTuple
		for _, ev := range events {
			tuples = append(tuples, spec.StateKeyTuple{Type: ev.typ, StateKey: ev.key})
		}
		keys, err := w.InternStateKeys(ctx, tuples)
		if err != nil {
			return err
		}
		state := store.StateMap{}
		for j, ev := range events {
			nid, err := w.InsertEvent(ctx, store.NewEvent{ID: fmt.Sprintf("$b%d-%d", i, j), Type: ev.typ, StateKeyNID: keys[j],
				Sender: "@u0:test", Membership: ev.membership, Depth: int64(j + 1), JSON: []byte(ev.json)})
			if err != nil {
				return err
			}
			state[keys[j]] = nid
		}
		snap, err := w.NewSnapshot(ctx, 0, store.StateMap{}, state)
		if err != nil {
			return err
		}
		return w.SetCurrentState(ctx, snap, state)
	})
	if err != nil {
		b.Fatal(err)
	}
	return room
}
