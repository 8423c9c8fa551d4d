package typing

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder records notifications.
type recorder struct {
	mu  sync.Mutex
	pos []int64
}

func (r *recorder) Notify(stream string, pos int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if stream == Stream {
		r.pos = append(r.pos, pos)
	}
}

func (r *recorder) last() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pos) == 0 {
		return 0
	}
	return r.pos[len(r.pos)-1]
}

func newTest(t *testing.T) (*Service, *fakeClock, *recorder) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	rec := &recorder{}
	s := New(Options{Notifier: rec, Now: clock.now}, nil)
	t.Cleanup(s.Close)
	return s, clock, rec
}

func TestTypingChangesAndVersions(t *testing.T) {
	s, clock, rec := newTest(t)
	start := s.Position()
	if start != clock.now().UnixMicro() {
		t.Fatalf("first version = %d, want the start time in µs %d", start, clock.now().UnixMicro())
	}
	deadline := clock.now().Add(10 * time.Second)
	s.set("!a:x", "@alice:x", true, deadline)
	v1 := s.Position()
	if v1 != start+1 || rec.last() != v1 {
		t.Fatalf("after start: version %d, notified %d; want %d", v1, rec.last(), start+1)
	}
	// Typing again only extends the deadline: no new version.
	s.set("!a:x", "@alice:x", true, deadline.Add(5*time.Second))
	if s.Position() != v1 {
		t.Fatalf("re-sent typing made a new version")
	}
	s.set("!a:x", "@bob:x", true, deadline)
	s.set("!b:x", "@carol:x", true, deadline)
	if got := s.Typing([]string{"!a:x", "!b:x", "!c:x"}); !slices.Equal(got["!a:x"], []string{"@alice:x", "@bob:x"}) ||
		!slices.Equal(got["!b:x"], []string{"@carol:x"}) || len(got) != 2 {
		t.Fatalf("Typing = %v", got)
	}
	v3 := s.Position()
	// Stopping twice changes the state once.
	s.set("!a:x", "@alice:x", false, time.Time{})
	s.set("!a:x", "@alice:x", false, time.Time{})
	if s.Position() != v3+1 {
		t.Fatalf("version after stopping = %d, want %d", s.Position(), v3+1)
	}
	changed, v := s.Since([]string{"!a:x", "!b:x"}, v3)
	if v != v3+1 || len(changed) != 1 || !slices.Equal(changed["!a:x"], []string{"@bob:x"}) {
		t.Fatalf("Since(v3) = %v, %d", changed, v)
	}
	if changed, _ := s.Since([]string{"!a:x", "!b:x"}, v); len(changed) != 0 {
		t.Fatalf("Since(now) = %v, want nothing", changed)
	}
	// A room whose last typer stopped is reported with an empty list.
	s.set("!b:x", "@carol:x", false, time.Time{})
	changed, _ = s.Since([]string{"!a:x", "!b:x"}, v)
	if l, ok := changed["!b:x"]; !ok || len(l) != 0 || len(changed) != 1 {
		t.Fatalf("Since after last typer stopped = %v", changed)
	}
	// An initial sync (since 0) lists only rooms where someone types.
	if got, _ := s.Since([]string{"!a:x", "!b:x"}, 0); len(got) != 1 || got["!a:x"] == nil {
		t.Fatalf("Since(0) = %v", got)
	}
}

func TestTypingExpiry(t *testing.T) {
	s, clock, rec := newTest(t)
	s.set("!a:x", "@alice:x", true, clock.now().Add(time.Second))
	s.set("!a:x", "@bob:x", true, clock.now().Add(3*time.Second))
	v := s.Position()
	clock.advance(2 * time.Second)
	got, v2 := s.Since([]string{"!a:x"}, v)
	if !slices.Equal(got["!a:x"], []string{"@bob:x"}) || v2 != v+1 || rec.last() != v2 {
		t.Fatalf("after alice's deadline: %v at %d (notified %d)", got, v2, rec.last())
	}
	clock.advance(time.Hour)
	if got := s.Typing([]string{"!a:x"}); len(got) != 0 {
		t.Fatalf("after every deadline: %v", got)
	}
}

func TestTypingExpiryTimerWakes(t *testing.T) {
	rec := &recorder{}
	s := New(Options{Notifier: rec}, nil)
	defer s.Close()
	s.set("!a:x", "@alice:x", true, time.Now().Add(30*time.Millisecond))
	v := s.Position()
	deadline := time.Now().Add(5 * time.Second)
	for rec.last() <= v {
		if time.Now().After(deadline) {
			t.Fatal("expiry did not notify within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := s.Typing([]string{"!a:x"}); len(got) != 0 {
		t.Fatalf("after expiry: %v", got)
	}
}

func TestTypingForeignPositions(t *testing.T) {
	s, _, _ := newTest(t)
	s.set("!a:x", "@alice:x", true, time.Now().Add(time.Hour))
	rooms := []string{"!a:x", "!b:x"}
	// A position of an earlier process, or one from the future: every
	// room, empty lists included, so that the client forgets stale typers.
	for _, since := range []int64{12345, s.Position() + 1000} {
		got, _ := s.Since(rooms, since)
		if len(got) != 2 || len(got["!a:x"]) != 1 || got["!b:x"] == nil || len(got["!b:x"]) != 0 {
			t.Fatalf("Since(%d) = %v", since, got)
		}
	}
}

func TestTypingPrune(t *testing.T) {
	s, clock, _ := newTest(t)
	for i := range maxTracked + 1 {
		room := "!r" + string(rune('a'+i%26)) + time.Duration(i).String() + ":x"
		s.set(room, "@alice:x", true, clock.now().Add(time.Hour))
		s.set(room, "@alice:x", false, time.Time{})
	}
	if len(s.changed) > maxTracked {
		t.Fatalf("tracking %d rooms, want at most %d", len(s.changed), maxTracked)
	}
	// A position before the prune cannot be answered exactly any more.
	got, _ := s.Since([]string{"!zz:x"}, s.floor-1)
	if l, ok := got["!zz:x"]; !ok || len(l) != 0 {
		t.Fatalf("Since(before prune) = %v, want a reset", got)
	}
}

func TestEvent(t *testing.T) {
	if got := string(Event(nil)); got != `{"content":{"user_ids":[]},"type":"m.typing"}` {
		t.Fatalf("Event(nil) = %s", got)
	}
	if got := string(Event([]string{"@a:x"})); got != `{"content":{"user_ids":["@a:x"]},"type":"m.typing"}` {
		t.Fatalf("Event = %s", got)
	}
}

func TestSetTypingFromPeer(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	rec := &recorder{}
	peers := &peerRecorder{}
	s := New(Options{Notifier: rec, Peers: peers, Now: clock.now}, nil)
	t.Cleanup(s.Close)
	v := s.Position()
	s.SetTypingFromPeer("!a:x", "@alice:x", true, 10*time.Second)
	if got := s.Typing([]string{"!a:x"}); !slices.Equal(got["!a:x"], []string{"@alice:x"}) || rec.last() != v+1 {
		t.Fatalf("after a peer's start: %v, notified %d (want %d)", got, rec.last(), v+1)
	}
	if peers.n != 0 {
		t.Fatal("a peer's change was handed back to the peers")
	}
	// A peer's timeout above MaxTimeout is capped; the copy expires here.
	s.SetTypingFromPeer("!a:x", "@bob:x", true, time.Hour)
	clock.advance(11 * time.Second)
	if got := s.Typing([]string{"!a:x"}); !slices.Equal(got["!a:x"], []string{"@bob:x"}) {
		t.Fatalf("after alice's timeout: %v", got)
	}
	clock.advance(MaxTimeout)
	if got := s.Typing([]string{"!a:x"}); len(got) != 0 {
		t.Fatalf("after MaxTimeout: %v", got)
	}
	s.SetTypingFromPeer("!a:x", "@carol:x", true, time.Minute)
	s.SetTypingFromPeer("!a:x", "@carol:x", false, 0)
	if got := s.Typing([]string{"!a:x"}); len(got) != 0 {
		t.Fatalf("after a peer's stop: %v", got)
	}
}

type peerRecorder struct{ n int }

func (p *peerRecorder) PublishTyping(string, string, bool, time.Duration) { p.n++ }
