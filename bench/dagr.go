package bench

import (
	"context"

	"github.com/dagr/dagr"
)

// The workloads spawned with dagr, on the scheduler ctx carries. Each
// fetches what the hand-written forms wait for and returns the same result.

// fetchSum fetches every task and adds their results.
func fetchSum(ctx context.Context, ts []*dagr.Task) (int, error) {
	sum := 0
	for _, t := range ts {
		v, err := dagr.Fetch[int](ctx, t)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

func dagrFanOut(ctx context.Context, n int) (int, error) {
	ts := make([]*dagr.Task, n)
	for i := range ts {
		ts[i] = dagr.Spawn(ctx, double, i)
	}
	return fetchSum(ctx, ts)
}

func dagrChain(ctx context.Context, n int) (int, error) {
	t := dagr.Spawn(ctx, inc, 0)
	for range n - 1 {
		t = dagr.Spawn(ctx, inc, t)
	}
	return dagr.Fetch[int](ctx, t)
}

// dagrTree spawns the leaves, then each level of pairwise sums; leaves is a
// power of two.
func dagrTree(ctx context.Context, leaves int) (int, error) {
	level := make([]*dagr.Task, leaves)
	for i := range level {
		level[i] = dagr.Spawn(ctx, leaf, i)
	}
	for len(level) > 1 {
		next := level[:len(level)/2]
		for i := range next {
			next[i] = dagr.Spawn(ctx, add, level[2*i], level[2*i+1])
		}
		level = next
	}
	return dagr.Fetch[int](ctx, level[0])
}

// dagrFib is a task that spawns and fetches its two halves with the context
// it was handed.
func dagrFib(ctx context.Context, n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	a := dagr.Spawn(ctx, dagrFib, n-1)
	b := dagr.Spawn(ctx, dagrFib, n-2)
	x, err := dagr.Fetch[int](ctx, a)
	if err != nil {
		return 0, err
	}
	y, err := dagr.Fetch[int](ctx, b)
	if err != nil {
		return 0, err
	}
	return x + y, nil
}

func dagrFibRoot(ctx context.Context, n int) (int, error) {
	return dagr.Fetch[int](ctx, dagr.Spawn(ctx, dagrFib, n))
}

// dagrWavefront spawns the grid row by row, keeping only the row above.
func dagrWavefront(ctx context.Context, n int) (int, error) {
	above, row := make([]*dagr.Task, n), make([]*dagr.Task, n)
	for i := range n {
		for j := range n {
			switch {
			case i == 0 && j == 0:
				row[j] = dagr.Spawn(ctx, one)
			case i == 0:
				row[j] = dagr.Spawn(ctx, pass, row[j-1])
			case j == 0:
				row[j] = dagr.Spawn(ctx, pass, above[0])
			default:
				row[j] = dagr.Spawn(ctx, addMod, above[j], row[j-1])
			}
		}
		above, row = row, above
	}
	return dagr.Fetch[int](ctx, above[n-1])
}

func dagrMatmul(ctx context.Context, m *matmul) (int, error) {
	ts := make([]*dagr.Task, 0, m.tiles()*m.tiles())
	for bi := range m.tiles() {
		for bj := range m.tiles() {
			ts = append(ts, dagr.Spawn(ctx, func() { m.mulTile(bi, bj) }))
		}
	}
	for _, t := range ts {
		if _, err := t.Fetch(ctx); err != nil {
			return 0, err
		}
	}
	return m.trace(), nil
}

func dagrSeed(ctx context.Context) (int, error) {
	p := dagr.Spawn(ctx, add1, 4)
	q := dagr.Spawn(ctx, add2, p)
	r := dagr.Spawn(ctx, add1, 3)
	s := dagr.Spawn(ctx, combine, p, q, r)
	return dagr.Fetch[int](ctx, s)
}

func dagrContention(ctx context.Context, spawners, n int) (int, error) {
	return contend(spawners, func() (int, error) { return dagrFanOut(ctx, n) })
}

func dagrEmpty(ctx context.Context, n int) (int, error) {
	ts := make([]*dagr.Task, n)
	for i := range ts {
		ts[i] = dagr.Spawn(ctx, empty)
	}
	for _, t := range ts {
		if _, err := t.Fetch(ctx); err != nil {
			return 0, err
		}
	}
	return n, nil
}
