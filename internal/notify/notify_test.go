package notify

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestWaitAndNotify(t *testing.T) {
	n := New()
	ch := n.Wait("events", 0)
	if isClosed(ch) {
		t.Fatal("Wait before any position returned a closed channel")
	}
	other := n.Wait("receipts", 0)
	n.Notify("events", 5)
	if !isClosed(ch) {
		t.Fatal("Notify did not wake the waiter")
	}
	if isClosed(other) {
		t.Fatal("Notify of events woke a receipts waiter")
	}
	if !isClosed(n.Wait("events", 4)) {
		t.Fatal("Wait(after 4) with position 5 seen is not immediately ready")
	}
	ch = n.Wait("events", 5)
	if isClosed(ch) {
		t.Fatal("Wait(after 5) with position 5 seen is ready")
	}
	n.Notify("events", 3) // late, out-of-order notification: ignored
	if isClosed(ch) || n.Position("events") != 5 {
		t.Fatal("an older position woke waiters or moved the position back")
	}
	n.Notify("events", 6)
	if !isClosed(ch) || n.Position("events") != 6 {
		t.Fatal("position 6 did not wake the waiter")
	}
}

func TestManyWaiters(t *testing.T) {
	n := New()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		ch := n.Wait("events", 0)
		go func() {
			defer wg.Done()
			select {
			case <-ch:
			case <-time.After(5 * time.Second):
				t.Error("waiter not woken")
			}
		}()
	}
	n.Notify("events", 1)
	wg.Wait()
}

type recordingRelay struct {
	mu  sync.Mutex
	got []string
}

func (r *recordingRelay) Relay(stream string, pos int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%s:%d", stream, pos))
}

func TestRelayAndDeliver(t *testing.T) {
	r := &recordingRelay{}
	n := NewRelayed(r)
	ch := n.Wait("events", 0)
	n.Deliver("events", 7) // from another process: wakes, not relayed
	if !isClosed(ch) || n.Position("events") != 7 {
		t.Fatal("Deliver did not wake the waiter or record the position")
	}
	n.Notify("events", 8)
	n.Notify("events", 6) // a local commit announced late: still relayed
	if got := strings.Join(r.got, " "); got != "events:8 events:6" {
		t.Fatalf("relayed %q, want \"events:8 events:6\"", got)
	}
	if n.Position("events") != 8 {
		t.Fatalf("position %d, want 8", n.Position("events"))
	}
	New().Notify("events", 1) // no relay: nothing to call
}
