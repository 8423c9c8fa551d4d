package room

import "testing"

func TestLRU(t *testing.T) {
	c := newLRU[int, string](2)
	c.put(1, "a")
	c.put(2, "b")
	c.get(1) // 1 is now the most recent
	c.put(3, "c")
	if _, ok := c.get(2); ok {
		t.Fatal("the least recently used entry was kept")
	}
	if v, ok := c.get(1); !ok || v != "a" {
		t.Fatalf("get(1) = %q, %v", v, ok)
	}
	w := newWeightedLRU[int](10, func(s string) int { return len(s) })
	w.put(1, "aaaa")
	w.put(2, "bbbb")
	w.put(3, "cccc") // 12 > 10: evicts 1
	if _, ok := w.get(1); ok {
		t.Fatal("weight bound not enforced")
	}
	w.put(4, "xxxxxxxxxxxx") // heavier than the cache: not kept
	if _, ok := w.get(4); ok {
		t.Fatal("an entry heavier than the cache was kept")
	}
	w.put(2, "b") // re-weighing an entry
	w.put(5, "eeeee")
	if _, ok := w.get(3); !ok {
		t.Fatalf("entry 3 evicted although the weight fits (%d)", w.weight)
	}
}
