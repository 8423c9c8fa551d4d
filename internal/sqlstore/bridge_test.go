package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"myelin/internal/notify"
	"myelin/internal/testkit/testdb"
)

// postgresURL returns a fresh PostgreSQL database, or skips the test: one
// SQLite database has one process, so there is nothing to bridge.
func postgresURL(t *testing.T) string {
	t.Helper()
	for _, e := range testdb.Engines(t) {
		if e.Name == "postgres" {
			u, _ := e.New(t)
			return u
		}
	}
	t.Skip("PostgreSQL only (set MYELIN_TEST_POSTGRES)")
	return ""
}

// typingSink records the typing changes a bridge receives.
type typingSink struct {
	mu  sync.Mutex
	got []string
}

func (s *typingSink) SetTypingFromPeer(roomID, userID string, typing bool, timeout time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, fmt.Sprintf("%s %s %v %v", roomID, userID, typing, timeout))
}

func (s *typingSink) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// process is one myelin process's store, bridge and notifier.
type process struct {
	db     *DB
	bridge *Bridge
	n      *notify.Notifier
	typing *typingSink
}

func startProcess(t *testing.T, url string) *process {
	t.Helper()
	db, err := Open(context.Background(), Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.NewBridge(BridgeOptions{URL: url, MinBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p := &process{db: db, bridge: b, n: notify.NewRelayed(b), typing: &typingSink{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx, BridgeSinks{Streams: p.n, Typing: p.typing})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close()
	})
	waitFor(t, "the bridge listens", func() bool { return b.connects.Load() > 0 })
	return p
}

// commit advances stream in the database, as a writer does, and returns
// the new position.
func (p *process) commit(t *testing.T, stream string) int64 {
	t.Helper()
	var pos int64
	err := p.db.inTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		pos, err = nextPosition(context.Background(), tx, stream)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting until %s", what)
	}
}

func TestBridgeWakesOtherProcesses(t *testing.T) {
	url := postgresURL(t)
	a, b := startProcess(t, url), startProcess(t, url)

	wake := b.n.Wait(StreamEvents, b.n.Position(StreamEvents))
	pos := a.commit(t, StreamEvents)
	a.n.Notify(StreamEvents, pos)
	waitClosed(t, "B's waiter wakes at A's commit", wake)
	if got := b.n.Position(StreamEvents); got != pos {
		t.Fatalf("B's events position %d, want %d", got, pos)
	}

	// A process's own counters (typing's versions) stay in the process.
	a.n.Notify("typing", 1<<50)
	rpos := a.commit(t, StreamReceipts)
	a.n.Notify(StreamReceipts, rpos)
	waitFor(t, "B learns the receipts position", func() bool { return b.n.Position(StreamReceipts) == rpos })
	if got := b.n.Position("typing"); got != 0 {
		t.Fatalf("B's typing position %d: a per-process stream was relayed", got)
	}

	// Typing changes go to the others, not back to the sender.
	a.bridge.PublishTyping("!r:x", "@alice:x", true, 30*time.Second)
	waitFor(t, "B gets A's typing change", func() bool { return len(b.typing.list()) == 1 })
	if got := b.typing.list()[0]; got != "!r:x @alice:x true 30s" {
		t.Fatalf("B got %q", got)
	}
	b.bridge.PublishTyping("!r:x", "@bob:x", false, 0)
	// A's own notification was committed before B's: once B's arrives,
	// A's has been seen (and must have been skipped).
	waitFor(t, "A gets B's typing change", func() bool { return len(a.typing.list()) > 0 })
	if got := a.typing.list(); !slices.Equal(got, []string{"!r:x @bob:x false 0s"}) {
		t.Fatalf("A got %q, want only B's change", got)
	}
}

func TestBridgeReconnectsAndCatchesUp(t *testing.T) {
	url := postgresURL(t)
	a, b := startProcess(t, url), startProcess(t, url)
	pid := b.bridge.listenerPID.Load()
	if pid == 0 {
		t.Fatal("no listener PID")
	}
	// A commit that nobody announces: only B's catch-up after its
	// reconnect can tell B about it.
	pos := a.commit(t, StreamToDevice)
	if b.n.Position(StreamToDevice) >= pos {
		t.Fatal("B knows an unannounced position before reconnecting")
	}
	var ok bool
	if err := a.db.write.QueryRow(`SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating B's listener: %v, %v", ok, err)
	}
	waitFor(t, "B reconnects and catches up", func() bool {
		p := b.bridge.listenerPID.Load()
		return p != 0 && p != pid && b.n.Position(StreamToDevice) == pos
	})
	if c := b.bridge.connects.Load(); c != 2 {
		t.Fatalf("B connected %d times, want 2", c)
	}
	// Listening again.
	wake := b.n.Wait(StreamEvents, b.n.Position(StreamEvents))
	epos := a.commit(t, StreamEvents)
	a.n.Notify(StreamEvents, epos)
	waitClosed(t, "B wakes at A's commit after reconnecting", wake)
}

// streamSink records delivered positions.
type streamSink map[string]int64

func (s streamSink) Deliver(stream string, pos int64) { s[stream] = max(s[stream], pos) }

func TestBridgeCoalescesAndParses(t *testing.T) {
	b := &Bridge{id: "0123456789abcdef", streams: map[string]int64{}, kick: make(chan struct{}, 1)}
	for i := int64(1); i <= 1000; i++ {
		b.Relay(StreamEvents, i)
	}
	b.Relay(StreamEvents, 3) // a late announcement does not move it back
	b.Relay(StreamReceipts, 5)
	b.Relay("typing", 99) // per process: not carried
	b.PublishTyping("!r:x", "@alice:x", true, 10*time.Second)
	payloads, _ := b.take()
	if len(payloads) != 1 {
		t.Fatalf("%d payloads, want one", len(payloads))
	}
	lines := strings.Split(payloads[0], "\n")
	slices.Sort(lines[1:3])
	want := []string{b.id, "s events 1000", "s receipts 5", `t {"room_id":"!r:x","user_id":"@alice:x","typing":true,"timeout_ms":10000}`}
	if !slices.Equal(lines, want) {
		t.Fatalf("payload lines %q, want %q", lines, want)
	}
	if p, _ := b.take(); len(p) != 0 {
		t.Fatalf("second take = %q, want nothing", p)
	}

	// Many typing changes split into payloads under PostgreSQL's limit.
	for i := range 200 {
		b.PublishTyping(fmt.Sprintf("!%0100d:x", i), fmt.Sprintf("@%0100d:x", i), true, time.Second)
	}
	payloads, _ = b.take()
	n := 0
	for _, p := range payloads {
		if len(p) > maxPayload || !strings.HasPrefix(p, b.id+"\n") {
			t.Fatalf("payload of %d bytes, or without the sender ID", len(p))
		}
		n += strings.Count(p, "\nt ")
	}
	if len(payloads) < 2 || n != 200 {
		t.Fatalf("%d payloads with %d changes, want several with 200", len(payloads), n)
	}

	// Receiving: the own ID is skipped, malformed items are ignored.
	streams, typing := streamSink{}, &typingSink{}
	sinks := BridgeSinks{Streams: streams, Typing: typing}
	b.receive(b.id+"\ns events 7", sinks)
	b.receive("other\ns events 7\ns events x\ns typing 9\ns receipts -1\nq what\nt {bad\n"+
		`t {"room_id":"!r:x","user_id":"@u:x","typing":true,"timeout_ms":99999999999999999}`, sinks)
	b.receive("no newline", sinks)
	if len(streams) != 1 || streams[StreamEvents] != 7 {
		t.Fatalf("delivered %v, want events 7 only", streams)
	}
	if got := typing.list(); !slices.Equal(got, []string{"!r:x @u:x true 1h0m0s"}) {
		t.Fatalf("typing got %q", got)
	}
}
