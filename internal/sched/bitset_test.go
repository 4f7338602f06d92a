package sched

import "testing"

func TestBitsetFind(t *testing.T) {
	for _, size := range []int{1, 63, 64, 65, 200} {
		b := newBitset(size)
		if _, ok := b.find(0); ok {
			t.Fatalf("size %d: empty set found a member", size)
		}
		members := []int{0, size / 2, size - 1}
		for _, m := range members {
			b.add(m)
		}
		for start := range size {
			got, ok := b.find(start)
			want := -1
			for _, m := range members { // the first member at or after start, wrapping
				if m >= start && (want == -1 || m < want) {
					want = m
				}
			}
			if want == -1 {
				want = members[0]
			}
			if !ok || got != want {
				t.Fatalf("size %d: find(%d) = %d, %v; want %d", size, start, got, ok, want)
			}
		}
		for _, m := range members {
			b.remove(m)
		}
		if got, ok := b.find(size / 3); ok {
			t.Fatalf("size %d: emptied set found %d", size, got)
		}
	}
}
