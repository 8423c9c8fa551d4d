package room

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"testing"

	"myelin/internal/notify"
	"myelin/internal/pdu"
	"myelin/internal/signing"
	"myelin/internal/spec"
	"myelin/internal/sqlstore"
	"myelin/internal/stateres"
	"myelin/internal/store"
	"myelin/internal/testkit/roomgen"
	"myelin/internal/testkit/testdb"
)

func openStore(t testing.TB, e testdb.Engine) *sqlstore.DB {
	t.Helper()
	dbURL, path := e.New(t)
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: dbURL, SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newEngine(t testing.TB, st store.Rooms) *Engine {
	t.Helper()
	key, err := signing.GenerateKey(rand.Reader, "test")
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{ServerName: "a.test", Key: key, EncryptionDefault: EncryptOff}, st, notify.New())
}

func sender(t testing.TB, s string) Sender {
	t.Helper()
	uid, err := spec.ParseUserID(s)
	if err != nil {
		t.Fatal(err)
	}
	return Sender{UserID: uid, DeviceID: "DEV"}
}

// mapSource is a stateres.EventSource over a generated room.
type mapSource map[string]*pdu.Event

func (m mapSource) Events(ids []string) (map[string]*pdu.Event, error) {
	out := map[string]*pdu.Event{}
	for _, id := range ids {
		if ev, ok := m[id]; ok {
			out[id] = ev
		}
	}
	return out, nil
}

func resolveStates(v *spec.RoomVersion, events map[string]*pdu.Event, states []roomgen.State) (roomgen.State, error) {
	in := make([]stateres.StateMap, len(states))
	for i, s := range states {
		in[i] = stateres.StateMap(s)
	}
	out, err := stateres.Resolve(v, in, mapSource(events))
	return roomgen.State(out), err
}

// spelled turns a stored state into (type, state_key) -> event ID.
func spelled(t *testing.T, ctx context.Context, st store.Rooms, m store.StateMap) roomgen.State {
	t.Helper()
	keys := slices.Collect(maps.Keys(m))
	ks, err := st.StateKeys(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(ctx, slices.Collect(maps.Values(m)))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int64]string{}
	for _, e := range evs {
		ids[e.NID] = e.ID
	}
	out := roomgen.State{}
	for _, k := range ks {
		out[spec.StateKeyTuple{Type: k.Type, StateKey: k.StateKey}] = ids[m[k.NID]]
	}
	return out
}

// TestIngestForkedHistories feeds generated room histories with forks and
// merges, in every state resolution algorithm, through the engine's
// ingest path (the one federation will use), in batches of random size.
// Each event's stored state after must equal the generator's; the
// materialized current state must equal the resolution of the forward
// extremities' states; the extremities must be the unreferenced events.
func TestIngestForkedHistories(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t, e)
			eng := newEngine(t, st)
			for vi, vid := range []string{"1", "2", "6", "10", "11", "12"} {
				for seed := uint64(10*vi + 1); seed <= uint64(10*vi+2); seed++ {
					t.Run(fmt.Sprintf("v%s/seed%d", vid, seed), func(t *testing.T) {
						v := spec.MustRoomVersion(vid)
						room, err := roomgen.Generate(roomgen.Options{Version: v, Seed: seed, Branches: 3,
							Merge: func(r *roomgen.Room, states []roomgen.State) (roomgen.State, error) {
								return resolveStates(v, r.Events, states)
							}})
						if err != nil {
							t.Fatal(err)
						}
						ingestAll(t, ctx, eng, room, seed)
						checkIngested(t, ctx, st, room)
					})
				}
			}
		})
	}
}

func ingestAll(t *testing.T, ctx context.Context, eng *Engine, room *roomgen.Room, seed uint64) {
	t.Helper()
	rng := mrand.New(mrand.NewPCG(seed, 99))
	ri, err := eng.create(ctx, store.Room{ID: room.ID, Version: room.Version.ID}, func(w *writer) error {
		return w.ingest(room.Order[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	rest := room.Order[1:]
	for len(rest) > 0 {
		n := min(len(rest), 1+rng.IntN(5))
		batch := rest[:n]
		rest = rest[n:]
		if err := eng.write(ctx, ri, func(w *writer) error {
			for _, ev := range batch {
				if err := w.ingest(ev); err != nil {
					return fmt.Errorf("ingesting %s (%s): %w", ev.EventID(), ev.Type(), err)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func checkIngested(t *testing.T, ctx context.Context, st store.Rooms, room *roomgen.Room) {
	t.Helper()
	ids := make([]string, len(room.Order))
	for i, ev := range room.Order {
		ids[i] = ev.EventID()
	}
	stored, err := st.EventsByID(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(ids) {
		t.Fatalf("%d of %d events stored", len(stored), len(ids))
	}
	for _, se := range stored {
		after, err := st.Snapshot(ctx, se.StateAfter)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := spelled(t, ctx, st, after), room.StateAfter(se.ID); !maps.Equal(got, want) {
			t.Fatalf("state after %s:\n got %v\nwant %v", se.ID, got, want)
		}
	}

	// Forward extremities: the events no other event names as prev.
	referenced := map[string]bool{}
	for _, ev := range room.Order {
		for _, p := range ev.PrevEventIDs() {
			referenced[p] = true
		}
	}
	var tips []string
	var tipStates []roomgen.State
	for _, ev := range room.Order {
		if !referenced[ev.EventID()] {
			tips = append(tips, ev.EventID())
			tipStates = append(tipStates, room.StateAfter(ev.EventID()))
		}
	}
	r, err := st.RoomByID(ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	var gotTips []string
	if _, err := st.WriteRoom(ctx, r.NID, func(w store.RoomWriter) error {
		x, err := w.Extremities(ctx)
		for _, e := range x {
			gotTips = append(gotTips, e.EventID)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(tips)
	slices.Sort(gotTips)
	if !slices.Equal(tips, gotTips) {
		t.Fatalf("extremities = %v, want %v", gotTips, tips)
	}

	want, err := resolveStates(room.Version, room.Events, tipStates)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := st.Snapshot(ctx, r.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if got := spelled(t, ctx, st, cur); !maps.Equal(got, want) {
		t.Fatalf("current state snapshot:\n got %v\nwant %v", got, want)
	}
	entries, err := st.CurrentState(ctx, r.NID, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := store.StateMap{}
	for _, en := range entries {
		rows[en.NID] = en.EventNID
	}
	if !maps.Equal(rows, cur) {
		t.Fatalf("room_current_state rows differ from the current snapshot")
	}
	// Memberships follow the current state.
	ms, err := st.RoomMemberships(ctx, r.NID, nil)
	if err != nil {
		t.Fatal(err)
	}
	members := 0
	for k := range want {
		if k.Type == spec.MRoomMember {
			members++
		}
	}
	if len(ms) != members {
		t.Fatalf("%d memberships, want %d", len(ms), members)
	}
}

// TestConcurrentSends has many goroutines send to one room through the
// engine: every event persists, with distinct stream positions, on one
// linear chain (each event's prev event is the one before it).
func TestConcurrentSends(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t, e)
			eng := newEngine(t, st)
			alice := sender(t, "@alice:a.test")
			roomID, err := eng.CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPublicChat})
			if err != nil {
				t.Fatal(err)
			}
			const goroutines, each = 8, 15
			var wg sync.WaitGroup
			// A non-member sends at the same time: each of its events is
			// rejected alone, in whatever batch it lands.
			wg.Add(1)
			go func() {
				defer wg.Done()
				eve := sender(t, "@eve:a.test")
				for i := 0; i < each; i++ {
					_, err := eng.SendMessage(ctx, eve, roomID, "m.room.message", fmt.Sprint(i), json.RawMessage(`{"body":"spam"}`))
					var me *spec.Error
					if !errors.As(err, &me) || me.Code != spec.ErrForbidden {
						t.Errorf("non-member send = %v, want M_FORBIDDEN", err)
						return
					}
				}
			}()
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						_, err := eng.SendMessage(ctx, alice, roomID, "m.room.message", fmt.Sprintf("g%d-%d", g, i),
							json.RawMessage(`{"msgtype":"m.text","body":"hi"}`))
						if err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			r, err := st.RoomByID(ctx, roomID)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := st.RoomEvents(ctx, []int64{r.NID}, 0, 1<<60, 0)
			if err != nil {
				t.Fatal(err)
			}
			var msgs int
			seen := map[int64]bool{}
			for i, se := range evs {
				if seen[se.Pos] {
					t.Fatalf("position %d twice", se.Pos)
				}
				seen[se.Pos] = true
				if se.Type == "m.room.message" {
					msgs++
				}
				if se.Sender == "@eve:a.test" {
					t.Fatalf("a rejected event was stored: %s", se.JSON)
				}
				if i+1 < len(evs) {
					ev, err := pdu.Parse(spec.MustRoomVersion(spec.DefaultRoomVersion), se.JSON)
					if err != nil {
						t.Fatal(err)
					}
					if prev := ev.PrevEventIDs(); len(prev) != 1 || prev[0] != evs[i+1].ID {
						t.Fatalf("event %s has prev %v, want the previous event %s", se.ID, prev, evs[i+1].ID)
					}
				}
			}
			if msgs != goroutines*each {
				t.Fatalf("%d messages stored, want %d", msgs, goroutines*each)
			}
			if got := eng.notify.Position(StreamEvents); got != evs[0].Pos {
				t.Fatalf("notified position %d, want the last event's %d", got, evs[0].Pos)
			}
		})
	}
}

// TestStateDeltaAndVisibility checks StateEvents, StateDelta and
// FilterVisible on a small room.
func TestStateDeltaAndVisibility(t *testing.T) {
	e := testdb.Engines(t)[0]
	ctx := context.Background()
	st := openStore(t, e)
	eng := newEngine(t, st)
	alice, bob := sender(t, "@alice:a.test"), sender(t, "@bob:a.test")
	roomID, err := eng.CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPublicChat, InitialState: []StateEvent{
		{Type: "m.room.history_visibility", Content: json.RawMessage(`{"history_visibility":"joined"}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	early, err := eng.SendMessage(ctx, alice, roomID, "m.room.message", "1", json.RawMessage(`{"body":"early"}`))
	if err != nil {
		t.Fatal(err)
	}
	topic, err := eng.SendState(ctx, alice, roomID, "m.room.topic", "", json.RawMessage(`{"topic":"t"}`))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := eng.SendState(ctx, alice, roomID, "m.room.topic", "", json.RawMessage(`{ "topic" : "t" }`)); err != nil || again != topic {
		t.Fatalf("setting the same state again = %s, %v; want the existing %s", again, err, topic)
	}
	if _, err := eng.Join(ctx, bob, roomID, ""); err != nil {
		t.Fatal(err)
	}
	late, err := eng.SendMessage(ctx, alice, roomID, "m.room.message", "2", json.RawMessage(`{"body":"late"}`))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.EventsByID(ctx, []string{early, topic, late})
	if err != nil || len(evs) != 3 {
		t.Fatal(evs, err)
	}
	byID := map[string]store.Event{}
	for _, se := range evs {
		byID[se.ID] = se
	}
	delta, err := eng.StateDelta(ctx, byID[early].StateAfter, byID[late].StateBefore)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, se := range delta {
		types = append(types, se.Type)
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"m.room.member", "m.room.topic"}) {
		t.Fatalf("state delta = %v, want bob's join and the topic", types)
	}
	all, err := eng.StateEvents(ctx, byID[late].StateBefore)
	if err != nil || len(all) < 7 {
		t.Fatalf("StateEvents = %d events, %v", len(all), err)
	}
	visible, err := eng.FilterVisible(ctx, "@bob:a.test", []store.Event{byID[early], byID[topic], byID[late]})
	if err != nil {
		t.Fatal(err)
	}
	if len(visible) != 1 || visible[0].ID != late {
		t.Fatalf("bob sees %d events, want only the one after his join", len(visible))
	}
	formatted, err := eng.ClientEvents(ctx, visible, Viewer{UserID: "@alice:a.test", DeviceID: "DEV"})
	if err != nil {
		t.Fatal(err)
	}
	var ce map[string]any
	json.Unmarshal(formatted[0], &ce)
	if ce["event_id"] != late || ce["unsigned"].(map[string]any)["transaction_id"] != "2" || ce["unsigned"].(map[string]any)["membership"] != "join" {
		t.Fatalf("client event = %s", formatted[0])
	}
	// unsigned.membership is the viewer's: leave before bob's join, join
	// on it and after.
	var bobJoin store.Event
	if ms, err := st.MembershipEvents(ctx, "@bob:a.test", 0, 1<<60); err != nil || len(ms) != 1 {
		t.Fatal(ms, err)
	} else {
		bobJoin = ms[0]
	}
	formatted, err = eng.ClientEvents(ctx, []store.Event{byID[early], bobJoin, byID[late]}, Viewer{UserID: "@bob:a.test"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"leave", "join", "join"} {
		var ce struct {
			Unsigned struct {
				Membership    string `json:"membership"`
				TransactionID string `json:"transaction_id"`
			} `json:"unsigned"`
		}
		json.Unmarshal(formatted[i], &ce)
		if ce.Unsigned.Membership != want || ce.Unsigned.TransactionID != "" {
			t.Fatalf("event %d for bob: %s; want membership %s and no transaction ID", i, formatted[i], want)
		}
	}
}

// TestTwoEnginesShareDatabase runs two engines, each with its own store
// handle, on one database (as two processes would) and has both send to
// one room at once: the room's writes serialize in the database (advisory
// lock on PostgreSQL, the write lock on SQLite), so every event persists
// on one linear chain.
func TestTwoEnginesShareDatabase(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			dbURL, path := e.New(t)
			var engines []*Engine
			var first *sqlstore.DB
			for i := 0; i < 2; i++ {
				db, err := sqlstore.Open(ctx, sqlstore.Options{URL: dbURL, SQLitePath: path})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if first == nil {
					first = db
				}
				engines = append(engines, newEngine(t, db))
			}
			alice := sender(t, "@alice:a.test")
			roomID, err := engines[0].CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPublicChat})
			if err != nil {
				t.Fatal(err)
			}
			const each = 20
			var wg sync.WaitGroup
			for i, eng := range engines {
				for g := 0; g < 3; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for n := 0; n < each; n++ {
							if _, err := eng.SendMessage(ctx, alice, roomID, "m.room.message", fmt.Sprintf("e%d-g%d-%d", i, g, n),
								json.RawMessage(`{"body":"x"}`)); err != nil {
								t.Error(err)
								return
							}
						}
					}()
				}
			}
			wg.Wait()
			r, err := first.RoomByID(ctx, roomID)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := first.RoomEvents(ctx, []int64{r.NID}, 0, 1<<60, 0)
			if err != nil {
				t.Fatal(err)
			}
			msgs := 0
			for i, se := range evs {
				if se.Type == "m.room.message" {
					msgs++
				}
				if i+1 < len(evs) {
					ev, err := pdu.Parse(spec.MustRoomVersion(spec.DefaultRoomVersion), se.JSON)
					if err != nil {
						t.Fatal(err)
					}
					if prev := ev.PrevEventIDs(); len(prev) != 1 || prev[0] != evs[i+1].ID {
						t.Fatalf("event %s has prev %v, want %s: the engines' writes interleaved", se.ID, prev, evs[i+1].ID)
					}
				}
			}
			if msgs != 2*3*each {
				t.Fatalf("%d messages, want %d", msgs, 2*3*each)
			}
		})
	}
}
