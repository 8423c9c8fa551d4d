package room

import (
	"container/list"
	"sync"
)

// lru is a least-recently-used cache bounded by the total weight of its
// entries, safe for concurrent use. The room engine caches only immutable
// data in it (state snapshots, parsed events, interned keys), so entries
// never go stale, even when several processes share the database.
type lru[K comparable, V any] struct {
	mu     sync.Mutex
	max    int
	weight int
	order  *list.List // front = most recent; values are *lruEntry
	items  map[K]*list.Element
	// weigh gives an entry's weight (nil: 1 each).
	weigh func(V) int
}

type lruEntry[K comparable, V any] struct {
	key    K
	val    V
	weight int
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), items: map[K]*list.Element{}}
}

// newWeightedLRU returns a cache whose entries weigh weigh(v).
func newWeightedLRU[K comparable, V any](max int, weigh func(V) int) *lru[K, V] {
	c := newLRU[K, V](max)
	c.weigh = weigh
	return c
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*lruEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	w := 1
	if c.weigh != nil {
		w = max(1, c.weigh(v))
	}
	if w > c.max {
		return // larger than the whole cache
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		en := el.Value.(*lruEntry[K, V])
		c.weight += w - en.weight
		en.val, en.weight = v, w
		c.order.MoveToFront(el)
	} else {
		c.items[k] = c.order.PushFront(&lruEntry[K, V]{k, v, w})
		c.weight += w
	}
	for c.weight > c.max {
		last := c.order.Back()
		en := last.Value.(*lruEntry[K, V])
		c.order.Remove(last)
		delete(c.items, en.key)
		c.weight -= en.weight
	}
}
