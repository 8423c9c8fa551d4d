package room

import (
	"context"
	"errors"
	"sync"

	"myelin/internal/spec"
)

// Group commit (design-notes/state-and-streams.md): the event sends that
// queue up behind a room's writer are built and persisted together, in one
// transaction, by the goroutine that finds the room idle. Each send is
// checked on its own: a send the rules reject fails alone, with its
// *spec.Error, and leaves no write behind (the engine rejects before it
// persists). Any other error fails the whole batch, since the transaction
// is lost.

// maxBatch caps the sends of one transaction.
const maxBatch = 64

// batchItem is one queued send: do builds and persists it in the batch's
// transaction and returns the event ID.
type batchItem struct {
	do   func(w *writer) (string, error)
	id   string
	err  error
	done chan struct{}
}

// roomQueue holds a room's queued sends.
type roomQueue struct {
	pending []*batchItem
	running bool
}

// batches is the engine's set of room queues.
type batches struct {
	mu     sync.Mutex
	queues map[int64]*roomQueue
}

// submit queues do for the room and returns its result. The first caller
// to find the room idle runs batches until the queue is empty; the others
// wait for theirs.
func (e *Engine) submit(ctx context.Context, ri roomInfo, do func(w *writer) (string, error)) (string, error) {
	it := &batchItem{do: do, done: make(chan struct{})}
	b := &e.batches
	b.mu.Lock()
	q := b.queues[ri.NID]
	if q == nil {
		q = &roomQueue{}
		b.queues[ri.NID] = q
	}
	q.pending = append(q.pending, it)
	if q.running {
		b.mu.Unlock()
		<-it.done
		return it.id, it.err
	}
	q.running = true
	b.mu.Unlock()

	// The batch must not fail because the client that happened to run it
	// went away: the others' sends are in it.
	runCtx := context.WithoutCancel(ctx)
	for {
		b.mu.Lock()
		n := min(len(q.pending), maxBatch)
		batch := q.pending[:n:n]
		q.pending = q.pending[n:]
		if n == 0 {
			q.running = false
			delete(b.queues, ri.NID)
			b.mu.Unlock()
			break
		}
		b.mu.Unlock()
		e.runBatch(runCtx, ri, batch)
	}
	<-it.done
	return it.id, it.err
}

// runBatch persists a batch in one transaction and reports each item's
// result.
func (e *Engine) runBatch(ctx context.Context, ri roomInfo, batch []*batchItem) {
	err := e.write(ctx, ri, func(w *writer) error {
		for _, it := range batch {
			it.id, it.err = it.do(w)
			var me *spec.Error
			if it.err != nil && !errors.As(it.err, &me) {
				return it.err
			}
		}
		return nil
	})
	for _, it := range batch {
		if err != nil {
			it.id, it.err = "", err
		}
		close(it.done)
	}
}
