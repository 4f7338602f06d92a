package sched

import (
	"math/bits"
	"sync/atomic"
)

// bitset is a set of small integers that any goroutine may change and read
// without locks.
type bitset []atomic.Uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) add(i int)    { b[i/64].Or(1 << (i % 64)) }
func (b bitset) remove(i int) { b[i/64].And(^uint64(1 << (i % 64))) }

// find returns a member, looking from start on and wrapping around, so that
// callers that start at different places spread over the members.
func (b bitset) find(start int) (int, bool) {
	w, bit := start/64, start%64
	if m := b[w].Load() >> bit; m != 0 {
		return start + bits.TrailingZeros64(m), true
	}
	for k := 1; k <= len(b); k++ {
		i := (w + k) % len(b)
		if m := b[i].Load(); m != 0 {
			return i*64 + bits.TrailingZeros64(m), true
		}
	}
	return 0, false
}
