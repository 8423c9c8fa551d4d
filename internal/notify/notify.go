// Package notify wakes in-process readers of the durable streams (room
// events, to-device messages, receipts, ...) when a writer has committed a
// new position.
//
// A notification carries only "stream S reached position P": readers always
// fetch the data from the database, so a lost or early wake-up costs a
// query, never correctness. The database stays the log (DESIGN.md,
// principle 3).
//
// The reader pattern that never misses a change:
//
//	ch := n.Wait(stream, since) // first take the channel...
//	data := readFromDB(since)   // ...then read
//	if len(data) == 0 {
//		select {
//		case <-ch:              // a position after since was committed
//		case <-ctx.Done():
//		case <-timeout:
//		}
//	}
//
// Wait returns an already-closed channel when the notifier has seen a
// position after since, so a commit between Wait and the read is never
// lost.
//
// Several processes sharing one PostgreSQL database wake each other through
// a Relay (package sqlstore's Bridge, over LISTEN/NOTIFY): NewRelayed hands
// every local Notify to it, and the positions other processes committed
// come back through Deliver, which wakes local waiters without relaying
// them again.
package notify

import "sync"

// Notifier broadcasts stream positions to waiters. The zero value is not
// usable; make one with New. It is safe for concurrent use.
type Notifier struct {
	relay Relay // nil: this process only

	mu      sync.Mutex
	streams map[string]*stream
}

// Relay carries the positions notified in this process to the other
// processes sharing its database. Relay must not block: it is called on
// the writers' path.
type Relay interface {
	Relay(stream string, pos int64)
}

type stream struct {
	pos int64
	// ch is closed, and replaced, at every advance of pos.
	ch chan struct{}
}

// New returns a notifier that has seen no position yet.
func New() *Notifier {
	return &Notifier{streams: map[string]*stream{}}
}

// NewRelayed returns a notifier that also hands every Notify to relay,
// for the waiters of other processes. Streams that are not shared (a
// process's own counters) are for the relay to leave out.
func NewRelayed(relay Relay) *Notifier {
	return &Notifier{relay: relay, streams: map[string]*stream{}}
}

var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (n *Notifier) stream(name string) *stream {
	s := n.streams[name]
	if s == nil {
		s = &stream{ch: make(chan struct{})}
		n.streams[name] = s
	}
	return s
}

// Notify records that stream has committed position pos and wakes every
// waiter of that stream. Positions at or below the highest seen are
// ignored (notifications may arrive out of order).
//
// A relayed notifier relays every call, also one at or below the highest
// position seen: that position may have been learned from the database or
// another process before this process's own commit was announced, and the
// other processes may not have it yet.
func (n *Notifier) Notify(streamName string, pos int64) {
	n.advance(streamName, pos)
	if n.relay != nil {
		n.relay.Relay(streamName, pos)
	}
}

// Deliver records a position committed by another process (or read from
// the database) and wakes the waiters of stream, as Notify does, but does
// not relay it.
func (n *Notifier) Deliver(streamName string, pos int64) {
	n.advance(streamName, pos)
}

func (n *Notifier) advance(streamName string, pos int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.stream(streamName)
	if pos <= s.pos {
		return
	}
	s.pos = pos
	close(s.ch)
	s.ch = make(chan struct{})
}

// Wait returns a channel that is closed once stream has a position after
// after: immediately (an already-closed channel) if the notifier has seen
// one, else at the next Notify of the stream. Callers that stop waiting
// simply drop the channel.
func (n *Notifier) Wait(streamName string, after int64) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.stream(streamName)
	if s.pos > after {
		return closed
	}
	return s.ch
}

// Position returns the highest position notified for stream (0 if none).
func (n *Notifier) Position(streamName string) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s := n.streams[streamName]; s != nil {
		return s.pos
	}
	return 0
}
