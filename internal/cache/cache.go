// Package cache bounds the memory of the lazy API's cached results: it
// keeps, least recently used first, the sizes of the values that thunks
// cache, and tells a thunk to drop its value when the total passes the
// bound. It holds thunks weakly: a thunk that becomes unreachable takes its
// value with it, and its entry is pruned.
package cache

import (
	"container/list"
	"runtime"
	"sync"
	"weak"
)

// LRU bounds the total size of the values cached by holders of type T (the
// lazy API's thunks). A nil LRU, or one with no limit, bounds nothing.
type LRU[T any] struct {
	drop    func(h *T, gen uint64) // forgets h's value if gen is still its current one
	mu      sync.Mutex
	limit   int64 // bytes; 0 means no bound
	used    int64
	order   *list.List // of *entry[T], most recently used at the front
	entries map[weak.Pointer[T]]*list.Element
}

type entry[T any] struct {
	holder weak.Pointer[T]
	gen    uint64
	size   int64
}

// New returns an LRU that keeps at most limit bytes (0: no bound) and calls
// drop for each value it evicts.
func New[T any](limit int64, drop func(h *T, gen uint64)) *LRU[T] {
	return &LRU[T]{drop: drop, limit: limit, order: list.New(), entries: make(map[weak.Pointer[T]]*list.Element)}
}

// Add records that h now caches a value of the given size under generation
// gen, and drops the least recently used values past the bound. Values
// that must never be dropped (Persist) are not added.
func (c *LRU[T]) Add(h *T, gen uint64, size int64) {
	if c == nil || c.limit <= 0 {
		return
	}
	wp := weak.Make(h)
	var drop []entry[T]
	c.mu.Lock()
	el, seen := c.entries[wp]
	if seen {
		c.used -= el.Value.(*entry[T]).size
		c.order.Remove(el)
	} else {
		// Whatever h cached goes when h is collected.
		runtime.AddCleanup(h, c.forget, wp)
	}
	c.entries[wp] = c.order.PushFront(&entry[T]{holder: wp, gen: gen, size: size})
	c.used += size
	for c.used > c.limit && c.order.Len() > 0 {
		el := c.order.Back()
		e := el.Value.(*entry[T])
		c.order.Remove(el)
		delete(c.entries, e.holder)
		c.used -= e.size
		drop = append(drop, *e)
	}
	c.mu.Unlock()
	for _, e := range drop {
		if h := e.holder.Value(); h != nil {
			c.drop(h, e.gen)
		}
	}
}

// Touch marks h's value as just used.
func (c *LRU[T]) Touch(h *T) {
	if c == nil || c.limit <= 0 {
		return
	}
	c.mu.Lock()
	if el, ok := c.entries[weak.Make(h)]; ok {
		c.order.MoveToFront(el)
	}
	c.mu.Unlock()
}

// Forget removes h's entry, if any (its value was replaced by a persisted
// one).
func (c *LRU[T]) Forget(h *T) {
	if c == nil || c.limit <= 0 {
		return
	}
	c.forget(weak.Make(h))
}

func (c *LRU[T]) forget(wp weak.Pointer[T]) {
	c.mu.Lock()
	if el, ok := c.entries[wp]; ok {
		c.used -= el.Value.(*entry[T]).size
		c.order.Remove(el)
		delete(c.entries, wp)
	}
	c.mu.Unlock()
}

// Used returns the bytes counted now.
func (c *LRU[T]) Used() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
