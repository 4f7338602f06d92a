package main

import (
	"context"
	"math/rand/v2"
	"slices"

	"github.com/dagr/dagr"
)

// The tile kernel's task is registered so that its tasks may run on worker
// processes; every process of the program registers it, in init.
func init() { dagr.Register(mulAddTileTask) }

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

// tileSum is a partial sum of an output tile as it goes along its chain of
// tasks: the sum so far, and the worker each of its products ran on. Its
// fields are exported so that it travels between processes as CBOR.
type tileSum struct {
	C   []float64 // t×t, row-major; nil is the zero tile
	Ran []int     // the worker of each product added so far, in order
}

// mulAddTileTask is the task of one tile product: it adds a·b to acc with
// mulAddTile and notes the worker it ran on (dagr.MyID), so that the demo
// counts where tasks ran rather than where it asked them to. It is
// registered (see init), so tasks of it may run on worker processes.
func mulAddTileTask(acc tileSum, a, b []float64, t int) tileSum {
	return tileSum{
		C:   mulAddTile(acc.C, a, b, t),
		Ran: append(slices.Clip(acc.Ran), dagr.MyID()),
	}
}

// multiplyParallel computes a·b as a task graph: output tile (i, j) is a
// chain of nt tasks, the k-th adding A(i,k)·B(k,j) to the sum the previous
// one passes on. The nt² chains are independent and run in parallel; each
// chain tends to stay on one processor, which goes on with the task its
// last one readied.
//
// With no workers, the tasks run anywhere on the scheduler's own
// processors. Otherwise chain number c (row-major) is pinned to worker
// workers[c%len(workers)] with Options.Single, so that the chains are
// dealt round-robin. ran counts the tasks by the worker that ran them.
func multiplyParallel(ctx context.Context, a, b *matrix, workers []int) (c *matrix, ran map[int]int, err error) {
	nt, t := a.nt(), a.t
	sums := make([]*dagr.Task, nt*nt)
	for i := range nt {
		for j := range nt {
			var opts dagr.Options // the zero Options: anywhere on this process
			if len(workers) > 0 {
				opts.Single = workers[(i*nt+j)%len(workers)]
			}
			var acc any = tileSum{}
			for k := range nt {
				acc = dagr.Spawn(ctx, mulAddTileTask, opts, acc, a.tile(i, k), b.tile(k, j), t)
			}
			sums[i*nt+j] = acc.(*dagr.Task)
		}
	}
	c = newMatrix(a.n, t)
	ran = make(map[int]int)
	for i, sum := range sums {
		tile, err := dagr.Fetch[tileSum](ctx, sum)
		if err != nil {
			return nil, nil, err
		}
		c.tiles[i] = tile.C
		for _, w := range tile.Ran {
			ran[w]++
		}
	}
	return c, ran, nil
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
