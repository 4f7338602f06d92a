package bench

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dagr/dagr"
)

// The forms of the cliff benchmarks (cliffs_test.go): shapes on which the
// engine once fell far behind hand-written Go, each beside its baselines.

// Deep recursion: level n spawns and fetches level n-1; sum(0) = 0, so
// sum(n) = n(n+1)/2.

func deepWant(n int) int { return n * (n + 1) / 2 }

// recSum is plain Go recursion, one stack frame per level.
//
//go:noinline
func recSum(n int) int {
	if n == 0 {
		return 0
	}
	return n + recSum(n-1)
}

// goDeep runs each level on a goroutine of its own: level n starts level
// n-1's goroutine and waits for its value on a channel.
func goDeep(n int) int {
	ch := make(chan int, 1)
	go func() {
		if n == 0 {
			ch <- 0
			return
		}
		ch <- n + goDeep(n-1)
	}()
	return <-ch
}

// dagrDeepSum is a task that spawns and fetches the level below with the
// context it was handed.
func dagrDeepSum(ctx context.Context, n int) (int, error) {
	if n == 0 {
		return 0, nil
	}
	v, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, dagrDeepSum, n-1))
	return n + v, err
}

func dagrDeep(ctx context.Context, n int) (int, error) {
	return dagr.Fetch[int](ctx, dagr.Spawn(ctx, dagrDeepSum, n))
}

// Priorities: n tasks queued at once on one processor, task i with
// priority prio(i). Every form returns how many tasks ran (or were popped)
// right after one of no lower priority, the first included: n when they ran
// in priority order.

// prioItem is a queued task of the heap baseline: higher prio first, then
// lower seq (first in, first out within a priority, as dagr's queue).
type prioItem struct{ prio, seq int }

type prioHeap []prioItem

func (h prioHeap) Len() int { return len(h) }
func (h prioHeap) Less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio > h[j].prio
	}
	return h[i].seq < h[j].seq
}
func (h prioHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *prioHeap) Push(x any)   { *h = append(*h, x.(prioItem)) }
func (h *prioHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// heapPriorities pushes n items onto a container/heap, then pops them all.
// h is reused from run to run, as a scheduler's queue is.
func heapPriorities(h *prioHeap, n int, prio func(i int) int) int {
	*h = (*h)[:0]
	for i := range n {
		heap.Push(h, prioItem{prio(i), i})
	}
	inOrder, last := 0, int(^uint(0)>>1)
	for h.Len() > 0 {
		it := heap.Pop(h).(prioItem)
		if it.prio <= last {
			inOrder++
		}
		last = it.prio
	}
	return inOrder
}

// dagrPriorities blocks ctx's scheduler's only processor with a task that
// waits on a channel, spawns n tasks with priorities prio(i) (so all of
// them queue), then lets the processor go and waits until they all ran.
func dagrPriorities(ctx context.Context, n int, prio func(i int) int) (int, error) {
	started, release := make(chan struct{}), make(chan struct{})
	blocker := dagr.Spawn(ctx, func() {
		close(started)
		<-release
	})
	select {
	case <-started:
	case <-blocker.Done():
		_, err := blocker.Fetch(ctx)
		return 0, fmt.Errorf("the blocking task ended before it blocked: %v", err)
	}
	// The tasks run one at a time on the one processor: the runner hands
	// each over under the processor's lock, so last needs no lock.
	var left atomic.Int64
	left.Store(int64(n))
	done := make(chan struct{})
	inOrder, last := 0, int(^uint(0)>>1)
	body := func(p int) {
		if p <= last {
			inOrder++
		}
		last = p
		if left.Add(-1) == 0 {
			close(done)
		}
	}
	ts := make([]*dagr.Task, n)
	for i := range ts {
		ts[i] = dagr.Spawn(ctx, body, dagr.Options{Priority: prio(i)}, prio(i))
	}
	close(release)
	if err := blocker.Wait(ctx); err != nil {
		return 0, err
	}
	select {
	case <-done:
	case <-ts[0].Done(): // the first task failed or was cancelled, so done may never close
		if _, err := ts[0].Fetch(ctx); err != nil {
			return 0, err
		}
		<-done
	}
	return inOrder, nil
}

// Starvation: a batch of CPU-bound tasks of about 20 µs each, beside
// goroutines that spin without yielding.

// spinIters is the number of spin iterations that take about 20 µs on
// this machine, calibrated once on first use (before any spinner runs).
var spinIters = sync.OnceValue(func() int {
	const probe = 1 << 20
	best := time.Duration(1<<63 - 1)
	for range 5 {
		t0 := time.Now()
		spinSink.Store(spin(probe, 1))
		best = min(best, time.Since(t0))
	}
	return max(1, int(int64(probe)*int64(20*time.Microsecond)/int64(max(best, 1))))
})

var spinSink atomic.Uint64

// spin is a xorshift loop of iters steps that the compiler cannot fold.
//
//go:noinline
func spin(iters int, seed uint64) uint64 {
	x := seed | 1
	for range iters {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// spinTask is one task of the batch: its result is 0..255, for the check.
func spinTask(iters, i int) int { return int(spin(iters, uint64(i)) & 0xff) }

func spinWant(iters, n int) int {
	sum := 0
	for i := range n {
		sum += spinTask(iters, i)
	}
	return sum
}

// startSpinners starts k goroutines that spin on an atomic flag, with no
// call that yields, and returns once all of them spin. stop ends them and
// waits for them.
func startSpinners(k int) (stop func()) {
	var quit atomic.Bool
	var wg, running sync.WaitGroup
	running.Add(k)
	for range k {
		wg.Go(func() {
			running.Done()
			x := uint64(1)
			for !quit.Load() {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
			}
			spinSink.Store(x)
		})
	}
	running.Wait()
	return func() {
		quit.Store(true)
		wg.Wait()
	}
}

// pool is a fixed set of worker goroutines taking jobs from a channel.
type pool struct {
	jobs chan func()
	wg   sync.WaitGroup
}

func newPool(workers int) *pool {
	p := &pool{jobs: make(chan func(), 64)}
	for range workers {
		p.wg.Go(func() {
			for job := range p.jobs {
				job()
			}
		})
	}
	return p
}

func (p *pool) close() {
	close(p.jobs)
	p.wg.Wait()
}

func poolSpinBatch(p *pool, iters, n int) int {
	vals := make([]int, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range vals {
		p.jobs <- func() {
			vals[i] = spinTask(iters, i)
			wg.Done()
		}
	}
	wg.Wait()
	sum := 0
	for _, v := range vals {
		sum += v
	}
	return sum
}

func dagrSpinBatch(ctx context.Context, iters, n int) (int, error) {
	ts := make([]*dagr.Task, n)
	for i := range ts {
		ts[i] = dagr.Spawn(ctx, spinTask, iters, i)
	}
	return fetchSum(ctx, ts)
}

// A spawning loop: n empty tasks spawned in a tight loop, then waited
// for. Each form also returns how many tasks had run when the loop ended.

func goSpawnLoop(n int) (ranAtEnd int64) {
	var ran atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { ran.Add(1) })
	}
	ranAtEnd = ran.Load()
	wg.Wait()
	return ranAtEnd
}

func dagrSpawnLoop(ctx context.Context, n int) (ranAtEnd int64, err error) {
	var ran atomic.Int64
	body := func() { ran.Add(1) }
	ts := make([]*dagr.Task, n)
	for i := range ts {
		ts[i] = dagr.Spawn(ctx, body)
	}
	ranAtEnd = ran.Load()
	for _, t := range ts {
		if _, err := t.Fetch(ctx); err != nil {
			return 0, err
		}
	}
	if got := ran.Load(); got != int64(n) {
		return 0, errors.New("not every task ran")
	}
	return ranAtEnd, nil
}
