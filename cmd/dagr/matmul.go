package main

import (
	"context"
	"math/rand/v2"

	"github.com/dagr/dagr"
)

// matrix is an n×n matrix kept as an nt×nt grid of t×t tiles, each tile a
// row-major slice of its own, so that a tile is a value a task can take.
type matrix struct {
	n, t  int
	tiles [][]float64 // tile (i, j) at i*nt+j
}

func newMatrix(n, t int) *matrix {
	nt := n / t
	return &matrix{n: n, t: t, tiles: make([][]float64, nt*nt)}
}

func (m *matrix) nt() int { return m.n / m.t }

func (m *matrix) tile(i, j int) []float64 { return m.tiles[i*m.nt()+j] }

func (m *matrix) at(r, c int) float64 {
	return m.tile(r/m.t, c/m.t)[(r%m.t)*m.t+c%m.t]
}

// randomMatrix fills an n×n matrix with values in [-1, 1) drawn from a
// generator seeded with seed, in row-major order of the whole matrix, so the
// matrix does not depend on the tile size.
func randomMatrix(n, t int, seed uint64) *matrix {
	m := newMatrix(n, t)
	for i := range m.tiles {
		m.tiles[i] = make([]float64, t*t)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for r := range n {
		for c := range n {
			m.tile(r/t, c/t)[(r%t)*t+c%t] = 2*rng.Float64() - 1
		}
	}
	return m
}

// sum adds the elements in row-major order.
func (m *matrix) sum() float64 {
	s := 0.0
	for r := range m.n {
		for c := range m.n {
			s += m.at(r, c)
		}
	}
	return s
}

// firstDifference returns the first element where x and y differ, and
// false, or true when they are equal.
func firstDifference(x, y *matrix) (r, c int, equal bool) {
	for r := range x.n {
		for c := range x.n {
			if x.at(r, c) != y.at(r, c) {
				return r, c, false
			}
		}
	}
	return 0, 0, true
}

// mulAddTile returns acc + a·b for t×t tiles; a nil acc is the zero tile. It
// leaves its arguments alone: acc is another task's result.
func mulAddTile(acc, a, b []float64, t int) []float64 {
	c := make([]float64, t*t)
	copy(c, acc)
	for i := range t {
		ci := c[i*t : (i+1)*t]
		for k, aik := range a[i*t : (i+1)*t] {
			bk := b[k*t : (k+1)*t]
			ci := ci[:len(bk)]
			for j, bkj := range bk {
				ci[j] += aik * bkj
			}
		}
	}
	return c
}

// multiplyParallel computes a·b as a task graph: output tile (i, j) is a
// chain of nt tasks, the k-th adding A(i,k)·B(k,j) to the sum the previous
// one passes on. The nt² chains are independent and run in parallel; each
// chain tends to stay on one processor, which goes on with the task its
// last one readied.
func multiplyParallel(ctx context.Context, a, b *matrix) (*matrix, error) {
	nt, t := a.nt(), a.t
	sums := make([]*dagr.Task, nt*nt)
	for i := range nt {
		for j := range nt {
			var acc any // nil: the zero tile
			for k := range nt {
				acc = dagr.Spawn(ctx, mulAddTile, acc, a.tile(i, k), b.tile(k, j), t)
			}
			sums[i*nt+j] = acc.(*dagr.Task)
		}
	}
	c := newMatrix(a.n, t)
	for i, sum := range sums {
		tile, err := dagr.Fetch[[]float64](ctx, sum)
		if err != nil {
			return nil, err
		}
		c.tiles[i] = tile
	}
	return c, nil
}

// multiplySerial computes a·b with the same tile kernel, in the same order
// of additions, on the calling goroutine: the baseline of the speed-up, and
// equal to multiplyParallel's product element for element.
func multiplySerial(a, b *matrix) *matrix {
	nt, t := a.nt(), a.t
	c := newMatrix(a.n, t)
	for i := range nt {
		for j := range nt {
			var acc []float64
			for k := range nt {
				acc = mulAddTile(acc, a.tile(i, k), b.tile(k, j), t)
			}
			c.tiles[i*nt+j] = acc
		}
	}
	return c
}
