package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"myelin/internal/store"
)

func mustAccount(t *testing.T, s Store, localparts ...string) {
	t.Helper()
	for _, lp := range localparts {
		if err := s.CreateAccount(context.Background(), store.Account{Localpart: lp, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
}

func testProfiles(t *testing.T, s Store) {
	ctx := context.Background()
	mustAccount(t, s, "alice", "bob", "carol", "dave_x")
	if got, err := s.Profiles(ctx, []string{"alice"}); err != nil || len(got) != 0 {
		t.Fatalf("Profiles(none stored) = %+v, %v", got, err)
	}
	_, _, err := s.UpdateProfile(ctx, "nobody", func(p *store.Profile) error { p.DisplayName = "x"; return nil })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateProfile(no account) = %v, want ErrNotFound", err)
	}
	p, _, err := s.UpdateProfile(ctx, "alice", func(p *store.Profile) error {
		if p.DisplayName != "" || p.AvatarURL != "" || len(p.Fields) != 0 {
			t.Errorf("fresh profile = %+v", p)
		}
		p.DisplayName = "Alice Ω"
		p.AvatarURL = "mxc://localhost/a"
		p.Fields = map[string]json.RawMessage{"m.tz": json.RawMessage(`"Europe/London"`), "org.example.n": json.RawMessage(`{"a":[1,0.5]}`)}
		return nil
	})
	if err != nil || p.DisplayName != "Alice Ω" {
		t.Fatalf("UpdateProfile = %+v, %v", p, err)
	}
	// A failing update writes nothing.
	boom := errors.New("boom")
	if _, _, err := s.UpdateProfile(ctx, "alice", func(p *store.Profile) error { p.DisplayName = "lost"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("UpdateProfile(failing) = %v", err)
	}
	got, err := s.Profiles(ctx, []string{"alice", "bob", "nobody"})
	if err != nil || len(got) != 1 {
		t.Fatalf("Profiles = %+v, %v", got, err)
	}
	if g := got[0]; g.DisplayName != "Alice Ω" || g.AvatarURL != "mxc://localhost/a" ||
		string(g.Fields["m.tz"]) != `"Europe/London"` || string(g.Fields["org.example.n"]) != `{"a":[1,0.5]}` {
		t.Fatalf("Profiles[0] = %+v", g)
	}
	// Concurrent updates of different fields lose nothing.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, _, err := s.UpdateProfile(ctx, "alice", func(p *store.Profile) error {
				if p.Fields == nil {
					p.Fields = map[string]json.RawMessage{}
				}
				p.Fields["org.example.f"+strconv.Itoa(i)] = json.RawMessage(`true`)
				return nil
			}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	got, _ = s.Profiles(ctx, []string{"alice"})
	if len(got) != 1 || len(got[0].Fields) != 10 {
		t.Fatalf("after concurrent updates: %+v", got)
	}

	// Search: by localpart or display name, prefix matches first, then
	// accounts with a display name; deactivated accounts never.
	for lp, name := range map[string]string{"bob": "Xalice fan", "dave_x": "ALICE-like"} {
		if _, _, err := s.UpdateProfile(ctx, lp, func(p *store.Profile) error { p.DisplayName = name; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	names := func(ps []store.Profile) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Localpart)
		}
		return out
	}
	res, err := s.SearchProfiles(ctx, "alice", nil, 10)
	if err != nil || fmt.Sprint(names(res)) != "[alice dave_x bob]" {
		t.Fatalf("SearchProfiles(alice) = %v, %v", names(res), err)
	}
	if res[0].AvatarURL != "mxc://localhost/a" {
		t.Fatalf("search result lacks avatar: %+v", res[0])
	}
	if res, _ := s.SearchProfiles(ctx, "alice", nil, 1); len(res) != 1 {
		t.Fatalf("limit ignored: %v", names(res))
	}
	if res, _ := s.SearchProfiles(ctx, "car", nil, 10); fmt.Sprint(names(res)) != "[carol]" {
		t.Fatalf("SearchProfiles(car) = %v (no profile row must still match by localpart)", names(res))
	}
	// LIKE wildcards in the term are literal.
	if res, _ := s.SearchProfiles(ctx, "_", nil, 10); fmt.Sprint(names(res)) != "[dave_x]" {
		t.Fatalf("SearchProfiles(_) = %v", names(res))
	}
	if res, _ := s.SearchProfiles(ctx, "%", nil, 10); len(res) != 0 {
		t.Fatalf("SearchProfiles(%%) = %v", names(res))
	}
	if err := s.DeactivateAccount(ctx, "dave_x"); err != nil {
		t.Fatal(err)
	}
	if res, _ := s.SearchProfiles(ctx, "alice", nil, 10); fmt.Sprint(names(res)) != "[alice bob]" {
		t.Fatalf("SearchProfiles after deactivation = %v", names(res))
	}
}

func testProfilePresencePosition(t *testing.T, s Store) {
	ctx := context.Background()
	mustAccount(t, s, "alice")
	pos1, err := s.SetPresence(ctx, store.PresenceRecord{Localpart: "alice", State: store.PresenceOnline, LastActiveTS: 5})
	if err != nil {
		t.Fatal(err)
	}
	// Changing a custom field leaves presence alone; changing the display
	// name moves the user's presence to a new position.
	if _, pos, err := s.UpdateProfile(ctx, "alice", func(p *store.Profile) error {
		p.Fields = map[string]json.RawMessage{"m.tz": json.RawMessage(`"UTC"`)}
		return nil
	}); err != nil || pos != 0 {
		t.Fatal(pos, err)
	}
	if got, _ := s.PresenceSince(ctx, pos1, 1<<62); len(got) != 0 {
		t.Fatalf("custom field moved presence: %+v", got)
	}
	_, pos2, err := s.UpdateProfile(ctx, "alice", func(p *store.Profile) error { p.DisplayName = "A"; return nil })
	if err != nil || pos2 <= pos1 {
		t.Fatal(pos2, err)
	}
	got, err := s.PresenceSince(ctx, pos1, 1<<62)
	if err != nil || len(got) != 1 || got[0].Position != pos2 || got[0].State != store.PresenceOnline {
		t.Fatalf("display name change: presence since %d = %+v, %v", pos1, got, err)
	}
}

func testAccountData(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.AccountData(ctx, "alice", "", "m.x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AccountData(absent) = %v", err)
	}
	if cur, err := s.AccountDataPosition(ctx); err != nil || cur != 0 {
		t.Fatalf("AccountDataPosition(empty) = %d, %v", cur, err)
	}
	set := func(room, typ, content string) int64 {
		t.Helper()
		pos, err := s.UpdateAccountData(ctx, "alice", room, typ, func(json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(content), nil
		})
		if err != nil || pos <= 0 {
			t.Fatalf("UpdateAccountData(%s, %s) = %d, %v", room, typ, pos, err)
		}
		return pos
	}
	p1 := set("", "m.a", `{"v":1}`)
	p2 := set("!r:localhost", "m.a", `{"room":true}`)
	p3 := set("", "m.b", `{"v":0.25}`)
	if !(p1 < p2 && p2 < p3) {
		t.Fatalf("positions not increasing: %d %d %d", p1, p2, p3)
	}
	r, err := s.AccountData(ctx, "alice", "", "m.a")
	if err != nil || string(r.Content) != `{"v":1}` || r.Position != p1 {
		t.Fatalf("AccountData = %+v, %v", r, err)
	}
	if r, _ := s.AccountData(ctx, "alice", "!r:localhost", "m.a"); string(r.Content) != `{"room":true}` {
		t.Fatalf("room AccountData = %+v", r)
	}
	if _, err := s.AccountData(ctx, "bob", "", "m.a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another user's data visible: %v", err)
	}
	// The update function sees the current content.
	p4, err := s.UpdateAccountData(ctx, "alice", "", "m.a", func(cur json.RawMessage) (json.RawMessage, error) {
		if string(cur) != `{"v":1}` {
			t.Errorf("current = %s", cur)
		}
		return json.RawMessage(`{"v":2}`), nil
	})
	if err != nil || p4 <= p3 {
		t.Fatal(p4, err)
	}
	// nil content: nothing written, no position used.
	if pos, err := s.UpdateAccountData(ctx, "alice", "", "m.a", func(json.RawMessage) (json.RawMessage, error) { return nil, nil }); err != nil || pos != 0 {
		t.Fatalf("unchanged update = %d, %v", pos, err)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateAccountData(ctx, "alice", "", "m.a", func(json.RawMessage) (json.RawMessage, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("failing update = %v", err)
	}
	if cur, err := s.AccountDataPosition(ctx); err != nil || cur != p4 {
		t.Fatalf("AccountDataPosition = %d, %v; want %d", cur, err, p4)
	}
	since, err := s.AccountDataSince(ctx, "alice", p1, p4)
	if err != nil || len(since) != 3 || since[0].RoomID != "!r:localhost" || since[1].Type != "m.b" ||
		since[2].Type != "m.a" || string(since[2].Content) != `{"v":2}` || since[2].Position != p4 {
		t.Fatalf("AccountDataSince(%d, %d) = %+v, %v", p1, p4, since, err)
	}
	if since, _ := s.AccountDataSince(ctx, "alice", p1, p3); len(since) != 2 {
		t.Fatalf("upTo not honoured: %+v", since)
	}
	if since, _ := s.AccountDataSince(ctx, "bob", 0, p4); len(since) != 0 {
		t.Fatalf("AccountDataSince(bob) = %+v", since)
	}

	// Concurrent read-modify-write updates are applied one after the other.
	const n = 10
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateAccountData(ctx, "alice", "", "m.counter", func(cur json.RawMessage) (json.RawMessage, error) {
				var c struct{ N int }
				if cur != nil {
					if err := json.Unmarshal(cur, &c); err != nil {
						return nil, err
					}
				}
				c.N++
				return json.Marshal(c)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if r, err := s.AccountData(ctx, "alice", "", "m.counter"); err != nil || string(r.Content) != fmt.Sprintf(`{"N":%d}`, n) {
		t.Fatalf("counter = %s, %v; want %d", r.Content, err, n)
	}
}

func testPresence(t *testing.T, s Store) {
	ctx := context.Background()
	if got, err := s.PresenceOf(ctx, []string{"alice"}); err != nil || len(got) != 0 {
		t.Fatalf("PresenceOf(none) = %+v, %v", got, err)
	}
	p1, err := s.SetPresence(ctx, store.PresenceRecord{Localpart: "alice", State: store.PresenceOnline, StatusMsg: "hi", LastActiveTS: 100})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.SetPresence(ctx, store.PresenceRecord{Localpart: "bob", State: store.PresenceUnavailable, LastActiveTS: 200})
	if err != nil || p2 <= p1 {
		t.Fatal(p2, err)
	}
	p3, err := s.SetPresence(ctx, store.PresenceRecord{Localpart: "alice", State: store.PresenceOffline, LastActiveTS: 300})
	if err != nil || p3 <= p2 {
		t.Fatal(p3, err)
	}
	got, err := s.PresenceOf(ctx, []string{"alice", "bob", "carol"})
	if err != nil || len(got) != 2 {
		t.Fatalf("PresenceOf = %+v, %v", got, err)
	}
	for _, g := range got {
		want := store.PresenceRecord{Localpart: "bob", State: store.PresenceUnavailable, LastActiveTS: 200, Position: p2}
		if g.Localpart == "alice" {
			want = store.PresenceRecord{Localpart: "alice", State: store.PresenceOffline, LastActiveTS: 300, Position: p3}
		}
		if g != want {
			t.Errorf("PresenceOf: %+v, want %+v", g, want)
		}
	}
	if cur, err := s.PresencePosition(ctx); err != nil || cur != p3 {
		t.Fatalf("PresencePosition = %d, %v; want %d", cur, err, p3)
	}
	since, err := s.PresenceSince(ctx, p1, p3)
	if err != nil || len(since) != 2 || since[0].Localpart != "bob" || since[1].Localpart != "alice" {
		t.Fatalf("PresenceSince = %+v, %v", since, err)
	}
	if since, _ := s.PresenceSince(ctx, 0, p2); len(since) != 1 || since[0].Localpart != "bob" {
		t.Fatalf("PresenceSince(upTo) = %+v", since)
	}
}

func testFilters(t *testing.T, s Store) {
	ctx := context.Background()
	id1, err := s.CreateFilter(ctx, "alice", json.RawMessage(`{"room":{"timeline":{"limit":10}}}`))
	if err != nil || id1 <= 0 {
		t.Fatal(id1, err)
	}
	id2, err := s.CreateFilter(ctx, "alice", json.RawMessage(`{}`))
	if err != nil || id2 == id1 {
		t.Fatal(id2, err)
	}
	if again, err := s.CreateFilter(ctx, "alice", json.RawMessage(`{"room":{"timeline":{"limit":10}}}`)); err != nil || again != id1 {
		t.Fatalf("identical filter = %d, %v; want %d", again, err, id1)
	}
	if other, err := s.CreateFilter(ctx, "bob", json.RawMessage(`{}`)); err != nil || other == id2 {
		t.Fatalf("bob's identical filter = %d, %v", other, err)
	}
	got, err := s.Filter(ctx, "alice", id1)
	if err != nil || string(got) != `{"room":{"timeline":{"limit":10}}}` {
		t.Fatalf("Filter = %s, %v", got, err)
	}
	if _, err := s.Filter(ctx, "bob", id1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Filter(another user's) = %v", err)
	}
	if _, err := s.Filter(ctx, "alice", 999999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Filter(absent) = %v", err)
	}
}
