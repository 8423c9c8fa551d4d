package stateres

import (
	"container/heap"
	"fmt"
	"slices"
)

// authGraph is the auth_events graph induced on a set of loaded events,
// with events numbered in event ID order.
type authGraph struct {
	ids   []string
	index map[string]int32
	// auth[i] lists the distinct auth events of event i that are in the
	// graph.
	auth [][]int32
}

func (r *resolver) graph(nodes idSet) *authGraph {
	g := &authGraph{ids: sortedKeys(nodes), index: make(map[string]int32, len(nodes))}
	for i, id := range g.ids {
		g.index[id] = int32(i)
	}
	g.auth = make([][]int32, len(g.ids))
	for i, id := range g.ids {
		for _, a := range r.event(id).AuthEventIDs() {
			if j, ok := g.index[a]; ok && !slices.Contains(g.auth[i], j) {
				g.auth[i] = append(g.auth[i], j)
			}
		}
	}
	return g
}

// kahn runs Kahn's algorithm from the auth events towards the events citing
// them. Among the events whose auth events have all been emitted, free
// ones (for which ranked returns false) are emitted first, in index order;
// then the ranked one that less orders first. It returns the ranked events
// in emission order, or fails with ErrAuthCycle when some event is never
// ready.
//
// Emitting the free events eagerly makes the result the lexicographically
// smallest topological ordering of the ranked events under the order the
// whole graph induces on them, even where they are linked only through
// free events.
func (g *authGraph) kahn(ranked func(int32) bool, less func(a, b int32) bool) ([]int32, error) {
	n := len(g.ids)
	pending := make([]int32, n)
	dependents := make([][]int32, n)
	for i, as := range g.auth {
		pending[i] = int32(len(as))
		for _, a := range as {
			dependents[a] = append(dependents[a], int32(i))
		}
	}
	var free []int32
	ready := &indexHeap{less: less}
	push := func(i int32) {
		if ranked(i) {
			heap.Push(ready, i)
		} else {
			free = append(free, i)
		}
	}
	for i := int32(0); i < int32(n); i++ {
		if pending[i] == 0 {
			push(i)
		}
	}
	var out []int32
	done := 0
	emit := func(i int32) {
		done++
		for _, d := range dependents[i] {
			if pending[d]--; pending[d] == 0 {
				push(d)
			}
		}
	}
	for {
		for len(free) > 0 {
			i := free[len(free)-1]
			free = free[:len(free)-1]
			emit(i)
		}
		if ready.Len() == 0 {
			break
		}
		i := heap.Pop(ready).(int32)
		out = append(out, i)
		emit(i)
	}
	if done != n {
		return nil, fmt.Errorf("%d of %d events: %w", n-done, n, ErrAuthCycle)
	}
	return out, nil
}

// topological returns every event of the graph after its auth events.
func (g *authGraph) topological() ([]int32, error) {
	all := func(int32) bool { return true }
	return g.kahn(all, func(a, b int32) bool { return a < b })
}

// indexHeap is a min-heap of event indices under less.
type indexHeap struct {
	items []int32
	less  func(a, b int32) bool
}

func (h *indexHeap) Len() int           { return len(h.items) }
func (h *indexHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *indexHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *indexHeap) Push(x any)         { h.items = append(h.items, x.(int32)) }
func (h *indexHeap) Pop() any {
	last := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return last
}
