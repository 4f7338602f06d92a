package cache_test

import (
	"reflect"
	"runtime"
	"testing"

	"github.com/dagr/dagr/internal/cache"
)

func TestSizeof(t *testing.T) {
	type pair struct {
		name string
		data []float64
	}
	shared := make([]byte, 1000)
	tests := []struct {
		name     string
		v        any
		min, max int64
	}{
		{"nil", nil, 0, 0},
		{"int", 7, 8, 8},
		{"bytes", make([]byte, 1<<20), 1 << 20, 1<<20 + 64},
		{"floats", make([]float64, 1000), 8000, 8000 + 64},
		{"string", string(make([]byte, 500)), 500, 500 + 32},
		{"struct with a slice", pair{"x", make([]float64, 100)}, 800, 800 + 64},
		{"pointer to struct", &pair{"x", make([]float64, 100)}, 800, 800 + 128},
		{"shared block counted once", [][]byte{shared, shared}, 1000, 1000 + 128},
		{"map", map[int]int{1: 1, 2: 2}, 32, 256},
		{"slices of slices", [][]float64{make([]float64, 10), make([]float64, 10)}, 160, 160 + 128},
		{"many small pointers (sampled)", func() []*[16]byte {
			s := make([]*[16]byte, 10_000)
			for i := range s {
				s[i] = new([16]byte)
			}
			return s
		}(), 10_000 * (8 + 16) * 8 / 10, 10_000 * (8 + 16) * 12 / 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cache.Sizeof(tt.v); got < tt.min || got > tt.max {
				t.Errorf("Sizeof = %d, want between %d and %d", got, tt.min, tt.max)
			}
		})
	}
}

func TestSizeofCycle(t *testing.T) {
	type node struct{ next *node }
	a := &node{}
	a.next = a
	if got := cache.Sizeof(a); got <= 0 || got > 64 {
		t.Errorf("Sizeof of a cycle = %d", got)
	}
}

type holder struct{ id int }

func TestLRUDropsLeastRecentlyUsed(t *testing.T) {
	var dropped []int
	c := cache.New(100, func(h *holder, gen uint64) { dropped = append(dropped, h.id) })
	a, b, d := &holder{1}, &holder{2}, &holder{3}
	c.Add(a, 1, 40)
	c.Add(b, 1, 40)
	c.Touch(a)      // b is now the least recently used
	c.Add(d, 1, 40) // 120 > 100: b goes
	if len(dropped) != 1 || dropped[0] != 2 {
		t.Fatalf("dropped %v, want [2]", dropped)
	}
	if got := c.Used(); got != 80 {
		t.Errorf("Used = %d, want 80", got)
	}
	c.Forget(a)
	if got := c.Used(); got != 40 {
		t.Errorf("Used after Forget = %d, want 40", got)
	}
	c.Add(d, 2, 150) // alone over the bound: not kept
	if len(dropped) != 2 || dropped[1] != 3 || c.Used() != 0 {
		t.Errorf("dropped %v, Used %d; want the oversized value dropped and nothing counted", dropped, c.Used())
	}
	runtime.KeepAlive(b)
}

func TestLRUForgetsCollectedHolders(t *testing.T) {
	c := cache.New(1<<20, func(*holder, uint64) {})
	for i := range 100 {
		c.Add(&holder{i}, 1, 1000)
	}
	// The holders are unreachable: their cleanups, which run after a
	// collection on a goroutine of the runtime, remove their entries.
	for range 500 {
		runtime.GC()
		if c.Used() == 0 {
			return
		}
		runtime.Gosched()
	}
	if got := c.Used(); got != 0 {
		t.Errorf("Used = %d after the holders were collected, want 0", got)
	}
}

func TestNilLRUBoundsNothing(t *testing.T) {
	var c *cache.LRU[holder]
	h := &holder{1}
	c.Add(h, 1, 1<<40)
	c.Touch(h)
	c.Forget(h)
}

type opaqueHandle struct{ big []byte }

func init() { cache.Opaque(reflect.TypeFor[opaqueHandle]()) }

// TestSizeofOpaque: a value reached through a pointer to an opaque type
// counts by its own size; what it points to is not walked.
func TestSizeofOpaque(t *testing.T) {
	h := &opaqueHandle{big: make([]byte, 1<<20)}
	if n := cache.Sizeof(struct{ H *opaqueHandle }{h}); n >= 1<<20 {
		t.Fatalf("Sizeof walked into an opaque handle: %d bytes", n)
	}
	if n := cache.Sizeof(struct{ B []byte }{h.big}); n < 1<<20 {
		t.Fatalf("Sizeof of 1 MiB of bytes = %d", n)
	}
}
