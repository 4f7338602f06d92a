package bench

import (
	"sync"
	"sync/atomic"
)

// The hand-written baselines. Each is written for its workload as a Go
// programmer who knows the DAG would write it, as fast as it honestly goes:
// typed values, slices allocated once per run, no interface boxing.

// future is a channel future that any number of goroutines may wait on: v
// is written before done is closed.
type future struct {
	done chan struct{}
	v    int
}

// newFutures allocates n futures in one slice.
func newFutures(n int) []future {
	fs := make([]future, n)
	for i := range fs {
		fs[i].done = make(chan struct{})
	}
	return fs
}

func (f *future) set(v int) {
	f.v = v
	close(f.done)
}

func (f *future) get() int {
	<-f.done
	return f.v
}

// W1 fan-out.

func goFanOut(n int) int {
	fs := newFutures(n)
	for i := range fs {
		go func() { fs[i].set(double(i)) }()
	}
	sum := 0
	for i := range fs {
		sum += fs[i].get()
	}
	return sum
}

func waitGroupFanOut(n int) int {
	vals := make([]int, n)
	var wg sync.WaitGroup
	for i := range vals {
		wg.Go(func() { vals[i] = double(i) })
	}
	wg.Wait()
	sum := 0
	for _, v := range vals {
		sum += v
	}
	return sum
}

// W2 chain: task i is inc of task i-1's result; task 0 is inc(0).

func goChain(n int) int {
	fs := newFutures(n)
	go func() { fs[0].set(inc(0)) }()
	for i := 1; i < n; i++ {
		go func() { fs[i].set(inc(fs[i-1].get())) }()
	}
	return fs[n-1].get()
}

func readyChain(n int) int {
	vals := make([]int, n)
	pending := make([]atomic.Int32, n) // unfinished inputs of each task
	for i := 1; i < n; i++ {
		pending[i].Store(1)
	}
	done := make(chan struct{})
	var run func(i int)
	run = func(i int) {
		in := 0
		if i > 0 {
			in = vals[i-1]
		}
		vals[i] = inc(in)
		if i == n-1 {
			close(done)
			return
		}
		if pending[i+1].Add(-1) == 0 {
			go run(i + 1)
		}
	}
	go run(0)
	<-done
	return vals[n-1]
}

// W3 pairwise reduction tree, laid out as a heap: node 1 is the root, the
// children of node i are 2i and 2i+1, and leaf i is node leaves+i.
// leaves is a power of two.

func goTree(leaves int) int {
	fs := newFutures(2 * leaves)
	for i := range leaves {
		go func() { fs[leaves+i].set(leaf(i)) }()
	}
	for i := leaves - 1; i >= 1; i-- {
		go func() { fs[i].set(add(fs[2*i].get(), fs[2*i+1].get())) }()
	}
	return fs[1].get()
}

func readyTree(leaves int) int {
	vals := make([]int, 2*leaves)
	pending := make([]atomic.Int32, leaves) // unfinished inputs of each inner node
	for i := 1; i < leaves; i++ {
		pending[i].Store(2)
	}
	done := make(chan struct{})
	var finished func(i int)
	sum := func(i int) {
		vals[i] = add(vals[2*i], vals[2*i+1])
		finished(i)
	}
	finished = func(i int) {
		if i == 1 {
			close(done)
			return
		}
		if p := i / 2; pending[p].Add(-1) == 0 {
			go sum(p)
		}
	}
	for i := range leaves {
		go func() {
			vals[leaves+i] = leaf(i)
			finished(leaves + i)
		}()
	}
	<-done
	return vals[1]
}

// W4 nested: each call runs its two halves on goroutines and waits.

func goFib(n int) int {
	if n < 2 {
		return n
	}
	var a, b int
	var wg sync.WaitGroup
	wg.Go(func() { a = goFib(n - 1) })
	wg.Go(func() { b = goFib(n - 2) })
	wg.Wait()
	return a + b
}

// goFibRoot runs the root call on a goroutine too, so that there is one
// goroutine per call, as there is one task per call in dagr.
func goFibRoot(n int) int {
	var r int
	var wg sync.WaitGroup
	wg.Go(func() { r = goFib(n) })
	wg.Wait()
	return r
}

// W5 wavefront: cell (i, j) of an n x n grid is computed from cells (i-1, j)
// and (i, j-1), where they exist.

func cell(vals []int, n, i, j int) int {
	switch {
	case i == 0 && j == 0:
		return one()
	case i == 0:
		return pass(vals[j-1])
	case j == 0:
		return pass(vals[(i-1)*n])
	}
	return addMod(vals[(i-1)*n+j], vals[i*n+j-1])
}

func goWavefront(n int) int {
	fs := newFutures(n * n)
	for i := range n {
		for j := range n {
			go func() {
				var v int
				switch {
				case i == 0 && j == 0:
					v = one()
				case i == 0:
					v = pass(fs[j-1].get())
				case j == 0:
					v = pass(fs[(i-1)*n].get())
				default:
					v = addMod(fs[(i-1)*n+j].get(), fs[i*n+j-1].get())
				}
				fs[i*n+j].set(v)
			}()
		}
	}
	return fs[n*n-1].get()
}

func readyWavefront(n int) int {
	vals := make([]int, n*n)
	pending := make([]atomic.Int32, n*n) // unfinished inputs of each cell
	for i := range n {
		for j := range n {
			pending[i*n+j].Store(int32(min(i, 1) + min(j, 1)))
		}
	}
	done := make(chan struct{})
	var run func(i, j int)
	run = func(i, j int) {
		vals[i*n+j] = cell(vals, n, i, j)
		if i == n-1 && j == n-1 {
			close(done)
			return
		}
		if i+1 < n && pending[(i+1)*n+j].Add(-1) == 0 {
			go run(i+1, j)
		}
		if j+1 < n && pending[i*n+j+1].Add(-1) == 0 {
			go run(i, j+1)
		}
	}
	go run(0, 0)
	<-done
	return vals[n*n-1]
}

// W6 tiled matmul: a goroutine per block of C.

func goMatmul(m *matmul) int {
	var wg sync.WaitGroup
	for bi := range m.tiles() {
		for bj := range m.tiles() {
			wg.Go(func() { m.mulTile(bi, bj) })
		}
	}
	wg.Wait()
	return m.trace()
}

// W7 the seed's DAG.

func goSeed() int {
	fs := newFutures(4)
	p, q, r, s := &fs[0], &fs[1], &fs[2], &fs[3]
	go func() { p.set(add1(4)) }()
	go func() { q.set(add2(p.get())) }()
	go func() { r.set(add1(3)) }()
	go func() { s.set(combine(p.get(), q.get(), r.get())) }()
	return s.get()
}

// Contention: spawners goroutines each fan out n tasks at once.

func goContention(spawners, n int) int {
	sum, _ := contend(spawners, func() (int, error) { return goFanOut(n), nil })
	return sum
}

// contend runs fanOut on spawners goroutines at once and adds their sums.
func contend(spawners int, fanOut func() (int, error)) (int, error) {
	sums := make([]int, spawners)
	errs := make([]error, spawners)
	var wg sync.WaitGroup
	for g := range sums {
		wg.Go(func() { sums[g], errs[g] = fanOut() })
	}
	wg.Wait()
	total := 0
	for g, s := range sums {
		if errs[g] != nil {
			return 0, errs[g]
		}
		total += s
	}
	return total, nil
}

// Empty tasks: n goroutines that do nothing, then wait for all.

func goEmpty(n int) int {
	fs := make([]chan struct{}, n)
	for i := range fs {
		fs[i] = make(chan struct{})
		go func() {
			empty()
			close(fs[i])
		}()
	}
	for _, f := range fs {
		<-f
	}
	return n
}

func waitGroupEmpty(n int) int {
	var wg sync.WaitGroup
	for range n {
		wg.Go(empty)
	}
	wg.Wait()
	return n
}
