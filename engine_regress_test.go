package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// Regression tests for the engine bugs of the issue: each fails on the
// engine it was written against (commit 08e3c5d) and passes once its bug is
// fixed; TestEngineCloseWhileSpawning and a few subtests (said so in their
// comments) are guards that passed there too. Those that can crash or hang
// the process run in a child process (see isolated).

// engNew returns a scheduler on cfg and a context that carries it; the
// test's cleanup closes it (Close may be called twice).
func engNew(t *testing.T, cfg dagr.Config) (*dagr.Scheduler, context.Context) {
	t.Helper()
	s, err := dagr.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			// Do not pile a second failure on the first one.
			done := make(chan struct{})
			go func() { s.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Second):
			}
			return
		}
		engClose(t, s, 5*time.Second)
	})
	return s, dagr.WithScheduler(context.Background(), s)
}

// engClose closes s and fails the test if Close takes longer than d. It
// does not end the test, so that it may run in a cleanup while a panic
// unwinds.
func engClose(t *testing.T, s *dagr.Scheduler, d time.Duration) bool {
	t.Helper()
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		t.Errorf("Close has not returned after %v", d)
		return false
	}
}

// engNoPanic runs f and turns a panic into a test failure.
func engNoPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", what, r)
		}
	}()
	f()
}

// engWait waits for every task until the deadline; it fails the test with
// the tasks that had not ended, and reports whether all did.
func engWait(t *testing.T, d time.Duration, ts ...*dagr.Task) bool {
	t.Helper()
	deadline := time.After(d)
	for i, tk := range ts {
		select {
		case <-tk.Done():
		case <-deadline:
			var left []string
			for _, tk := range ts[i:] {
				if !tk.Ready() {
					left = append(left, tk.Name())
				}
			}
			t.Errorf("%d of %d tasks have not ended after %v: %v", len(left), len(ts), d, left)
			return false
		}
	}
	return true
}

// engFetch fetches tk, failing the test if it has not ended within d.
func engFetch[T any](t *testing.T, d time.Duration, tk *dagr.Task) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	v, err := dagr.Fetch[T](ctx, tk)
	if ctx.Err() != nil {
		t.Fatalf("task %v has not ended after %v", tk, d)
	}
	return v, err
}

// ---- 1. Nested Fetch, Wait and Sync with mixed occupancies ----

// engFib spawns fib(n-1) and fib(n-2) with the task's context and fetches
// both; the calls that reach the base case take NoOccupancy.
func engFib(ctx context.Context, n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	opts := func(m int) dagr.Options {
		if m < 2 {
			return dagr.Options{Occupancy: dagr.NoOccupancy}
		}
		return dagr.Options{}
	}
	a := dagr.Spawn(ctx, engFib, opts(n-1), n-1)
	b := dagr.Spawn(ctx, engFib, opts(n-2), n-2)
	x, err := dagr.Fetch[int](ctx, a)
	if err != nil {
		return 0, err
	}
	y, err := dagr.Fetch[int](ctx, b)
	return x + y, err
}

// engTree is a tree of tasks of the given fan-out: each node counts its
// runs, spawns its children with the task's context and their opts, and
// waits for them (how): "fetch" fetches them, "wait" waits for each then
// fetches it, "sync" spawns and fetches them in a Sync body.
type engTree struct {
	t      *testing.T
	runs   []atomic.Int32 // by node id, in depth-first order
	reruns atomic.Int32   // f calls beyond the first of a node
	fan    int
	how    string
	opts   func(id, depth int) dagr.Options // the options of node id
}

func newEngTree(t *testing.T, depth, fan int, how string, opts func(id, depth int) dagr.Options) *engTree {
	return &engTree{t: t, runs: make([]atomic.Int32, engTreeSize(depth, fan)), fan: fan, how: how, opts: opts}
}

func engTreeSize(depth, fan int) int {
	if depth == 0 {
		return 1
	}
	return 1 + fan*engTreeSize(depth-1, fan)
}

// node is the f of the tree's node id at the given depth; it returns the
// size of its subtree.
func (tr *engTree) node(ctx context.Context, id, depth int) (int, error) {
	if n := tr.runs[id].Add(1); n != 1 && tr.reruns.Add(1) <= 3 {
		tr.t.Errorf("the f of tree node %d (depth %d) runs for the %d. time", id, depth, n)
	}
	if depth == 0 {
		return 1, nil
	}
	if tr.how == "sync" {
		total := 0
		err := dagr.Sync(ctx, func(ctx context.Context) (err error) {
			total, err = tr.kids(ctx, id, depth)
			return err
		})
		return total, err
	}
	return tr.kids(ctx, id, depth)
}

// kids spawns and waits for the children of node id, and returns the size
// of its subtree.
func (tr *engTree) kids(ctx context.Context, id, depth int) (int, error) {
	size := engTreeSize(depth-1, tr.fan)
	kids := make([]*dagr.Task, tr.fan)
	for i := range kids {
		kids[i] = dagr.Spawn(ctx, tr.node, tr.opts(id+1+i*size, depth-1), id+1+i*size, depth-1)
	}
	total := 1
	for _, k := range kids {
		if tr.how == "wait" {
			if err := k.Wait(ctx); err != nil {
				return 0, err
			}
		}
		v, err := dagr.Fetch[int](ctx, k)
		if err != nil {
			return 0, err
		}
		total += v
	}
	return total, nil
}

// run computes the tree of the given depth on ctx's scheduler, and checks
// its size and that every node ran once.
func (tr *engTree) run(ctx context.Context, depth int) {
	t := tr.t
	t.Helper()
	v, err := engFetch[int](t, 10*time.Second, dagr.Spawn(ctx, tr.node, tr.opts(0, depth), 0, depth))
	if err != nil || v != len(tr.runs) {
		t.Fatalf("tree = %d, %v; want %d nodes", v, err, len(tr.runs))
	}
	for i := range tr.runs {
		if n := tr.runs[i].Load(); n != 1 {
			t.Fatalf("tree node %d ran %d times, want once", i, n)
		}
	}
}

// Guards RunInline launching the same tasks twice: a task's f runs twice,
// then the process crashes (nil pointer, index out of range).
func TestEngineNestedMixedOccupancy(t *testing.T) {
	t.Run("fib NoOccupancy at the base case, default procs", func(t *testing.T) {
		isolated(t, 30*time.Second, func(t *testing.T) {
			for range 3 {
				_, ctx := engNew(t, dagr.Config{})
				v, err := engFetch[int](t, 10*time.Second, dagr.Spawn(ctx, engFib, 15))
				if err != nil || v != 610 {
					t.Fatalf("fib(15) = %d, %v; want 610", v, err)
				}
			}
		})
	})
	leaves := func(occ float64) func(id, depth int) dagr.Options {
		return func(_, depth int) dagr.Options {
			if depth == 0 {
				return dagr.Options{Occupancy: occ}
			}
			return dagr.Options{}
		}
	}
	trees := []struct {
		name  string
		procs int
		occ   float64
		how   string
	}{
		{"tree with leaves of Occupancy 0.5 on 2 procs, Fetch", 2, 0.5, "fetch"},
		{"tree with leaves of Occupancy 0.5 on 2 procs, Wait", 2, 0.5, "wait"},
		{"tree with leaves of Occupancy 0.5 on 2 procs, Sync", 2, 0.5, "sync"},
		{"tree with NoOccupancy leaves on 1 proc, Fetch", 1, dagr.NoOccupancy, "fetch"},
		{"tree with NoOccupancy leaves on 1 proc, Wait", 1, dagr.NoOccupancy, "wait"},
		{"tree with NoOccupancy leaves on 1 proc, Sync", 1, dagr.NoOccupancy, "sync"},
	}
	for _, tt := range trees {
		t.Run(tt.name, func(t *testing.T) {
			isolated(t, 30*time.Second, func(t *testing.T) {
				for range 3 {
					_, ctx := engNew(t, dagr.Config{Procs: tt.procs})
					newEngTree(t, 6, 3, tt.how, leaves(tt.occ)).run(ctx, 6)
				}
				if tt.how == "sync" {
					// The goroutine each task that waited in a Sync body
					// leaves until its context is collected is
					// TestEngineSyncInTaskNoGoroutineAfterReturn's business,
					// not goleak's here.
					engCollectContexts()
				}
			})
		})
	}
}

// ---- 2. More than 8 priority levels ----

// Guards the ready queue dropping its empty levels while it scans them:
// with more than 8 priorities, a cancelled task at the head of a level
// makes it skip a level, start a task out of order and lose another one,
// which never runs, so that its fetcher and Close hang.
func TestEnginePriorityLevels(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("tree with a priority per task on %d procs", procs), func(t *testing.T) {
			isolated(t, 30*time.Second, func(t *testing.T) {
				for range 3 {
					_, ctx := engNew(t, dagr.Config{Procs: procs})
					opts := func(id, _ int) dagr.Options { return dagr.Options{Priority: id % 50} }
					newEngTree(t, 5, 4, "fetch", opts).run(ctx, 5)
				}
			})
		})
	}
	t.Run("cancelled heads: each task runs once, in priority order", func(t *testing.T) {
		isolated(t, 20*time.Second, func(t *testing.T) {
			s, order, want, ts := engPriorityScenario(t)
			if engWait(t, 5*time.Second, ts...) {
				engClose(t, s, 5*time.Second)
			}
			if got := order(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("tasks ran in the order\n%v\nwant\n%v", got, want)
			}
		})
	})
	t.Run("cancelled heads: Close returns", func(t *testing.T) {
		isolated(t, 20*time.Second, func(t *testing.T) {
			s, _, want, ts := engPriorityScenario(t)
			// Close once the queue has been worked through: the last task
			// ends last.
			engWait(t, 5*time.Second, ts[len(want)-1])
			engClose(t, s, 5*time.Second)
		})
	})
}

// engPriorityScenario queues tasks with more than 8 priorities behind a
// task that holds the only processor, cancels some of them so that the
// queue holds an empty level and a level whose only task is cancelled
// ahead of the others, and releases the processor. It returns the order in
// which the tasks ran so far, the order in which they should run (by
// priority, first in first out within one), and the tasks that should run.
func engPriorityScenario(t *testing.T) (*dagr.Scheduler, func() []string, []string, []*dagr.Task) {
	s, ctx := engNew(t, dagr.Config{Procs: 1})
	var mu sync.Mutex
	var ran []string
	task := func(name string) func() {
		return func() {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
		}
	}
	gate := make(chan struct{})
	started := make(chan struct{})
	blocker := dagr.Spawn(ctx, func() { close(started); <-gate })
	<-started

	// A level (100) whose only task is cancelled and dropped by the next
	// spawn's look at the queue: it stays there, empty.
	a := dagr.Spawn(ctx, task("a"), dagr.Options{Priority: 100})
	a.Cancel()
	// A level (50) whose only task is cancelled after the others queue.
	b := dagr.Spawn(ctx, task("b"), dagr.Options{Priority: 50})
	var want []string
	var ts []*dagr.Task
	for prio := 49; prio >= 40; prio-- {
		for i := range 2 {
			name := fmt.Sprintf("p%d.%d", prio, i)
			want = append(want, name)
			ts = append(ts, dagr.Spawn(ctx, task(name), dagr.Options{Name: name, Priority: prio}))
		}
	}
	b.Cancel()
	close(gate)
	ts = append(ts, blocker)
	order := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ran...)
	}
	return s, order, want, ts
}

// ---- 3. Deep recursion ----

// engSum spawns sum(n-1) with the task's context and fetches it.
func engSum(ctx context.Context, n int) (int, error) {
	if n == 0 {
		return 0, nil
	}
	v, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, engSum, n-1))
	return n + v, err
}

// Guards the cost of deep nested spawning: a chain of tasks each of which
// spawns and fetches the next must take time linear in its depth (n=10k
// took 3.6 s on 2 processors, 40k 50 s) and no stack beyond what the
// runtime allows (n=1M on 1 processor died of a stack overflow).
//
// Under the race detector, where each level costs some 60 µs, the 1M chain
// would take a minute even on a sound engine: there the chain has 50k
// levels and each goroutine may have 32 MB of stack (Go's limit is 1 GB),
// which a single goroutine running the whole chain inline overflows at
// about 15k levels.
func TestEngineDeepRecursion(t *testing.T) {
	t.Run("n=30000 on 2 procs in linear time", func(t *testing.T) {
		const n, limit = 30_000, 15 * time.Second
		isolated(t, limit+5*time.Second, func(t *testing.T) {
			_, ctx := engNew(t, dagr.Config{Procs: 2})
			start := time.Now()
			v, err := engFetch[int](t, limit, dagr.Spawn(ctx, engSum, n))
			t.Logf("sum(%d) on 2 procs took %v", n, time.Since(start))
			if err != nil || v != n*(n+1)/2 {
				t.Fatalf("sum(%d) = %d, %v; want %d", n, v, err, n*(n+1)/2)
			}
		})
	})
	n, maxStack := 1_000_000, 0
	if raceEnabled() {
		n, maxStack = 50_000, 32<<20
	}
	t.Run(fmt.Sprintf("n=%d on 1 proc without stack overflow", n), func(t *testing.T) {
		const limit = 60 * time.Second
		isolated(t, limit+5*time.Second, func(t *testing.T) {
			if maxStack > 0 {
				debug.SetMaxStack(maxStack)
			}
			_, ctx := engNew(t, dagr.Config{Procs: 1})
			start := time.Now()
			v, err := engFetch[int](t, limit, dagr.Spawn(ctx, engSum, n))
			t.Logf("sum(%d) on 1 proc took %v", n, time.Since(start))
			if err != nil || v != n*(n+1)/2 {
				t.Fatalf("sum(%d) = %d, %v; want %d", n, v, err, n*(n+1)/2)
			}
		})
	})
}

// ---- 4. Deadlines ----

// Guards a task's Timeout while it waits: running a queued task inline in
// Fetch ignored the fetching task's deadline, and a task's context stopped
// closing Done at its Timeout once the task's f had returned.
func TestEngineTimeoutWhileWaiting(t *testing.T) {
	// inlineRun is what inline observed: the parent's Fetch by the test,
	// and the parent's own Fetch of its child (inner, if it returned
	// within 1 s of the parent's end and was waited for).
	type inlineRun struct {
		err, innerErr   error
		took, innerTook time.Duration
		inner           bool
	}
	// inline runs a parent with Timeout 100ms that fetches a child queued
	// behind it on the only processor, so that the parent's Fetch may run
	// it inline; the child ignores its context for 2 s.
	inline := func(t *testing.T, waitInner bool) inlineRun {
		_, ctx := engNew(t, dagr.Config{Procs: 1})
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		in := make(chan inlineRun, 1)
		start := time.Now()
		parent := dagr.Spawn(ctx, func(ctx context.Context) (int, error) {
			child := dagr.Spawn(ctx, func() int {
				select {
				case <-release:
				case <-time.After(2 * time.Second):
				}
				return 1
			})
			v, err := dagr.Fetch[int](ctx, child)
			in <- inlineRun{innerErr: err, innerTook: time.Since(start), inner: true}
			return v, err
		}, dagr.Options{Timeout: 100 * time.Millisecond})
		_, err := engFetch[int](t, 5*time.Second, parent)
		r := inlineRun{err: err, took: time.Since(start)}
		if waitInner {
			select {
			case i := <-in:
				r.innerErr, r.innerTook, r.inner = i.innerErr, i.innerTook, true
			case <-time.After(time.Second):
			}
		}
		return r
	}
	t.Run("parent's Timeout passes while its child runs inline", func(t *testing.T) {
		r := inline(t, false)
		if !errors.Is(r.err, context.DeadlineExceeded) || r.took > time.Second {
			t.Errorf("parent with Timeout 100ms ended after %v with %v; want context.DeadlineExceeded well before 2 s", r.took.Round(time.Millisecond), r.err)
		}
	})
	// The parent's own Fetch is bound by its deadline too: a child that
	// takes no context (and so cannot notice the deadline) is not run
	// inline under a deadline.
	t.Run("parent's Fetch returns at its deadline although the inline child ignores its context", func(t *testing.T) {
		r := inline(t, true)
		switch {
		case !r.inner:
			t.Errorf("the parent's Fetch of its child has not returned 1 s after the parent's 100ms Timeout")
		case !errors.Is(r.innerErr, context.DeadlineExceeded) || r.innerTook > time.Second:
			t.Errorf("the parent's Fetch of its child returned after %v with %v; want context.DeadlineExceeded well before 2 s", r.innerTook.Round(time.Millisecond), r.innerErr)
		}
	})
	t.Run("ctx Done closes at the Timeout after f returned", func(t *testing.T) {
		_, ctx := engNew(t, dagr.Config{Procs: 1})
		tk := dagr.Spawn(ctx, func(ctx context.Context) context.Context { return ctx }, dagr.Options{Timeout: 50 * time.Millisecond})
		tctx, err := engFetch[context.Context](t, 5*time.Second, tk)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tctx.Deadline(); !ok {
			t.Errorf("the task's context has no deadline")
		}
		select {
		case <-tctx.Done():
		case <-time.After(2 * time.Second):
			t.Fatalf("the context of a task with Timeout 50ms is not done 2 s later (Err: %v)", tctx.Err())
		}
		if !errors.Is(tctx.Err(), context.DeadlineExceeded) {
			t.Errorf("ctx.Err() = %v; want context.DeadlineExceeded", tctx.Err())
		}
	})
}

// ---- 5. Occupancy arithmetic ----

// Guards the rounding of occupancies: k tasks of Occupancy 1/k must all run
// at once on one processor (ten of 0.1 fitted only nine at a time).
func TestEngineOccupancyFractionsFit(t *testing.T) {
	for _, k := range []int{10, 20, 100, 3, 7} {
		occ := 1 / float64(k) // 0.1, 0.05, 0.01 exactly as those literals
		t.Run(fmt.Sprintf("%d tasks of Occupancy 1/%d", k, k), func(t *testing.T) {
			s, ctx := engNew(t, dagr.Config{Procs: 1})
			var started atomic.Int32
			all := make(chan struct{})
			for range k {
				dagr.Spawn(ctx, func(ctx context.Context) error {
					if started.Add(1) == int32(k) {
						close(all)
					}
					select {
					case <-all:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}, dagr.Options{Occupancy: occ})
			}
			select {
			case <-all:
			case <-time.After(2 * time.Second):
				t.Errorf("only %d of %d tasks of Occupancy %.3g run at once on one processor", started.Load(), k, occ)
			}
			engClose(t, s, 5*time.Second)
		})
	}
}

// ---- 6. Cancellation gives the processor back ----

// Guards the processor share of a cancelled task: it is given back at once,
// so a cancelled f that ignores its context does not hold up the tasks
// queued behind it.
func TestEngineCancelledTaskFreesProcessor(t *testing.T) {
	_, ctx := engNew(t, dagr.Config{Procs: 1})
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	a := dagr.Spawn(ctx, func() { close(started); <-release }) // ignores its context
	<-started
	b := dagr.Spawn(ctx, func() int { return 2 })
	a.Cancel()
	select {
	case <-b.Done():
	case <-time.After(2 * time.Second):
		t.Fatalf("a task queued behind a cancelled one has not run 2 s later: the cancelled f keeps the processor")
	}
	if v, err := dagr.Fetch[int](ctx, b); err != nil || v != 2 {
		t.Errorf("b = %v, %v; want 2", v, err)
	}
	if _, err := a.Fetch(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled task's error is %v; want context.Canceled", err)
	}
}

// ---- 7. Close ----

// Guards Close called by a task of the scheduler: it waits for what runs
// but not for the task that calls it (it deadlocked), and later Closes
// return too (they blocked forever).
func TestEngineCloseInsideTask(t *testing.T) {
	// closeInside runs a task that closes s beside one that runs until Close
	// cancels it, and returns a channel closed when the inner Close returns.
	closeInside := func(t *testing.T) (*dagr.Scheduler, <-chan struct{}, []*dagr.Task) {
		s, ctx := engNew(t, dagr.Config{Procs: 2})
		other := dagr.Spawn(ctx, func(ctx context.Context) { <-ctx.Done() })
		closed := make(chan struct{})
		closer := dagr.Spawn(ctx, func() { s.Close(); close(closed) })
		return s, closed, []*dagr.Task{other, closer}
	}
	t.Run("Close inside a task returns", func(t *testing.T) {
		isolated(t, 20*time.Second, func(t *testing.T) {
			_, closed, ts := closeInside(t)
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatalf("Close called inside a task has not returned after 5 s")
			}
			engWait(t, 5*time.Second, ts...)
		})
	})
	t.Run("Close after a Close inside a task returns", func(t *testing.T) {
		isolated(t, 20*time.Second, func(t *testing.T) {
			s, closed, _ := closeInside(t)
			select {
			case <-closed:
			case <-time.After(time.Second):
			}
			engClose(t, s, 5*time.Second)
		})
	})
}

// Guards Close while other goroutines keep spawning: it returns once the
// backlog is failed. It passes on the engine it was written against (Close
// took 0.1-1.1 s under -race, in proportion to the tasks queued, 6k-68k,
// 7-16 µs each), and is here so that a Close that waits for the spawners
// to stop is caught.
func TestEngineCloseWhileSpawning(t *testing.T) {
	isolated(t, 30*time.Second, func(t *testing.T) {
		s, ctx := engNew(t, dagr.Config{Procs: 2})
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var spawned atomic.Int64
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					dagr.Spawn(ctx, func() {})
					spawned.Add(1)
				}
			})
		}
		defer func() { close(stop); wg.Wait() }()
		<-time.After(300 * time.Millisecond) // the spawners' work
		start := time.Now()
		engClose(t, s, 20*time.Second)
		took := time.Since(start)
		t.Logf("Close took %v; %d tasks spawned", took, spawned.Load())
		if took > 5*time.Second {
			t.Errorf("Close took %v while 2 goroutines kept spawning; want well under 5 s", took)
		}
	})
}

// ---- 8. runtime.Goexit and zero values ----

// Guards runtime.Goexit in a task that another task fetches: the child's
// Goexit fails the child, and the parent either sees that failure in its
// Fetch (a *TaskError whose Origin is the child) or, when the child ran
// inline on the parent's goroutine and so ended the parent's f too, fails
// with it, Origin the child. It must not be blamed itself (Origin the
// parent, as when the child ran inline on one processor).
func TestEngineGoexitInFetchedTask(t *testing.T) {
	cases := []struct {
		name  string
		procs int
		busy  bool // another task holds the other processor: the child is queued behind the parent and runs inline
	}{
		{"1 proc, the child runs inline", 1, false},
		{"2 procs, the other one busy: the child runs inline", 2, true},
		{"2 procs", 2, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			isolated(t, 20*time.Second, func(t *testing.T) {
				_, ctx := engNew(t, dagr.Config{Procs: c.procs})
				if c.busy {
					release := make(chan struct{})
					defer close(release)
					started := make(chan struct{})
					dagr.Spawn(ctx, func() { close(started); <-release })
					<-started
				}
				var childID atomic.Uint64
				parentErr := make(chan error, 1)
				parent := dagr.Spawn(ctx, func(ctx context.Context) (int, error) {
					child := dagr.Spawn(ctx, func() int { runtime.Goexit(); return 1 })
					childID.Store(child.ID())
					_, err := child.Fetch(ctx)
					parentErr <- err
					return 2, nil
				})
				v, err := engFetch[int](t, 5*time.Second, parent)
				var te *dagr.TaskError
				switch {
				case err == nil:
					// The parent's f went on: its Fetch returned the child's
					// failure.
					if v != 2 {
						t.Errorf("parent = %v; want 2", v)
					}
					select {
					case err := <-parentErr:
						if !errors.As(err, &te) || te.Origin != childID.Load() {
							t.Errorf("the parent's Fetch of the child returned %v; want a *TaskError with Origin %d (the child)", err, childID.Load())
						}
					default:
						t.Errorf("the parent succeeded, but its Fetch of the child never returned")
					}
				case errors.As(err, &te) && te.Origin == childID.Load():
					// The child ran inline, and its Goexit ended the
					// goroutine it shared with the parent's f: the parent
					// fails with the child's failure.
				default:
					t.Errorf("parent = %v, %v; want 2, or a *TaskError whose Origin is the child (%d): the parent is blamed for its child's Goexit", v, err, childID.Load())
				}
			})
		})
	}
}

// Guards zero values passed where the API takes handles: they must give
// clear errors, not panics or crashes on a scheduler goroutine.
func TestEngineZeroValues(t *testing.T) {
	t.Run("Spawn with a zero *Task argument", func(t *testing.T) {
		isolated(t, 20*time.Second, func(t *testing.T) {
			_, ctx := engNew(t, dagr.Config{Procs: 1})
			var tk *dagr.Task
			engNoPanic(t, "Spawn(ctx, f, &dagr.Task{})", func() {
				tk = dagr.Spawn(ctx, func(x int) int { return x }, &dagr.Task{})
			})
			if tk == nil {
				return
			}
			if _, err := engFetch[int](t, 5*time.Second, tk); err == nil {
				t.Errorf("a task with a zero *Task argument succeeded; want an error")
			}
		})
	})
	t.Run("Fetch of a nil *Task", func(t *testing.T) {
		isolated(t, 20*time.Second, func(t *testing.T) {
			engNoPanic(t, "dagr.Fetch[int](ctx, nil)", func() {
				if _, err := dagr.Fetch[int](context.Background(), nil); err == nil {
					t.Errorf("Fetch[int](ctx, nil) returned no error")
				}
			})
		})
	})
	t.Run("Collect of a zero *Thunk", func(t *testing.T) {
		isolated(t, 20*time.Second, func(t *testing.T) {
			_, ctx := engNew(t, dagr.Config{Procs: 1})
			engNoPanic(t, "Collect(ctx, &dagr.Thunk{})", func() {
				if _, err := dagr.Collect(ctx, &dagr.Thunk{}); err == nil {
					t.Errorf("Collect of a zero *Thunk returned no error")
				}
			})
		})
	})
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("Delayed with a zero *Thunk argument, AllowErrors=%v", allow), func(t *testing.T) {
			isolated(t, 20*time.Second, func(t *testing.T) {
				_, ctx := engNew(t, dagr.Config{Procs: 1})
				// Repeated: without AllowErrors, a task run for the zero
				// thunk crashes only when it starts before the failure of
				// the thunk that takes it stops the computation.
				for range 50 {
					engNoPanic(t, "Delayed(f, &dagr.Thunk{}) and its Collect", func() {
						th := dagr.Delayed(func(x int) int { return x }, &dagr.Thunk{})
						if _, err := dagr.Collect(ctx, th, dagr.SchedulerOptions{AllowErrors: allow}); err == nil {
							t.Errorf("Collect of a thunk with a zero *Thunk argument returned no error")
						}
					})
					if t.Failed() {
						return
					}
				}
			})
		})
	}
}

// ---- 9. Cost per task and Config.Procs ----

// engEmptyTasks spawns n empty tasks on a new scheduler with procs
// processors and returns how long they took to end, or false if they had
// not ended after limit.
func engEmptyTasks(t *testing.T, procs, n int, limit time.Duration) (time.Duration, bool) {
	t.Helper()
	s, ctx := engNew(t, dagr.Config{Procs: procs})
	defer engClose(t, s, 30*time.Second)
	start := time.Now()
	ts := make([]*dagr.Task, n)
	for i := range ts {
		ts[i] = dagr.Spawn(ctx, func() {})
		if i%1000 == 999 && time.Since(start) > limit {
			return time.Since(start), false
		}
	}
	deadline := time.After(limit - time.Since(start))
	for _, tk := range ts {
		select {
		case <-tk.Done():
		case <-deadline:
			return time.Since(start), false
		}
	}
	return time.Since(start), true
}

// Guards the cost of a task against the number of processors: idle
// processors must cost (next to) nothing. 100k empty tasks took 93 ms on 2
// processors and 1.2 s on 1000 (30-70 times as long under -race). The
// bound, 8 times the best of three runs on 2 processors, leaves room for a
// goroutine per task.
func TestEngineCostPerTaskWithManyProcs(t *testing.T) {
	n := 100_000
	if raceEnabled() {
		n = 20_000
	}
	base := time.Duration(1<<63 - 1)
	for range 3 {
		d, ok := engEmptyTasks(t, 2, n, 30*time.Second)
		if !ok {
			t.Fatalf("%d empty tasks on 2 procs have not ended after %v", n, d)
		}
		base = min(base, d)
	}
	limit := 8*base + 50*time.Millisecond
	d, ok := engEmptyTasks(t, 1000, n, limit)
	if !ok {
		t.Fatalf("%d empty tasks on 1000 procs have not ended after %v; on 2 procs they took %v", n, d.Round(time.Millisecond), base.Round(time.Millisecond))
	}
	t.Logf("%d empty tasks: %v on 2 procs, %v on 1000", n, base, d)
}

// ---- 10. Smaller ones ----

// Guards SchedulerOptions.Checkpoint: its panic is logged, like its error,
// and does not reach Collect's caller.
func TestEngineComputeCheckpointPanic(t *testing.T) {
	var log logBuffer
	_, ctx := engNew(t, dagr.Config{Procs: 1, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	th := dagr.Delayed(func() int { return 7 })
	engNoPanic(t, "Collect with a panicking SchedulerOptions.Checkpoint", func() {
		v, err := dagr.Collect(ctx, th, dagr.SchedulerOptions{
			Checkpoint: func(context.Context, any) error { panic("checkpoint boom") },
		})
		if err != nil || v != 7 {
			t.Errorf("Collect = %v, %v; want 7, nil", v, err)
		}
	})
	if !strings.Contains(log.String(), "checkpoint boom") {
		t.Errorf("the Checkpoint's panic was not logged; the log:\n%s", log.String())
	}
}

// Guards the ids in a failed Compute's *TaskError: they are the thunks'
// ID()s, not the ids of the engine's internal tasks.
func TestEngineComputeErrorIDs(t *testing.T) {
	errBoom := errors.New("boom")
	for range 1000 {
		// Thunk ids and task ids count from 1 apart: keep them from
		// coinciding.
		dagr.Delayed(func() {})
	}
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("AllowErrors=%v", allow), func(t *testing.T) {
			_, ctx := engNew(t, dagr.Config{Procs: 1})
			failing := dagr.Delayed(func() (int, error) { return 0, errBoom }, dagr.Options{Name: "failing"})
			top := dagr.Delayed(func(x int) int { return x + 1 }, dagr.Options{Name: "top"}, failing)
			_, err := dagr.Compute(ctx, top, dagr.SchedulerOptions{AllowErrors: allow})
			var te *dagr.TaskError
			if !errors.As(err, &te) {
				t.Fatalf("Compute = %v; want a *TaskError", err)
			}
			if te.Origin != failing.ID() {
				t.Errorf("TaskError.Origin = %d; want the failing thunk's ID() %d (error: %v)", te.Origin, failing.ID(), err)
			}
			if te.Task != failing.ID() && te.Task != top.ID() {
				t.Errorf("TaskError.Task = %d; want the ID() of a thunk: top %d or failing %d (error: %v)", te.Task, top.ID(), failing.ID(), err)
			}
		})
	}
}

// Guards a task that fetches itself: the Fetch fails at once (it hung).
func TestEngineFetchSelf(t *testing.T) {
	_, ctx := engNew(t, dagr.Config{Procs: 2})
	self := make(chan *dagr.Task, 1)
	inner := make(chan error, 1)
	tk := dagr.Spawn(ctx, func(ctx context.Context) error {
		_, err := (<-self).Fetch(ctx)
		inner <- err
		return err
	})
	self <- tk
	select {
	case err := <-inner:
		if err == nil {
			t.Errorf("a task's Fetch of itself returned no error")
		}
	case <-time.After(2 * time.Second):
		t.Errorf("a task's Fetch of itself has not returned after 2 s")
		tk.Cancel()
	}
}

// Guards the text of a *TaskError: the "dagr:" prefix appears once, not
// again before the original error ("dagr: task 4 (x) failed: dagr: task
// timed out").
func TestEngineErrorPrefixOnce(t *testing.T) {
	_, ctx := engNew(t, dagr.Config{Procs: 2})
	timedOut := dagr.Spawn(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, dagr.Options{Name: "x", Timeout: 10 * time.Millisecond})
	cancelled := dagr.Spawn(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, dagr.Options{Name: "y"})
	cancelled.Cancel()
	downstream := dagr.Spawn(ctx, func(any) {}, dagr.Options{Name: "z"}, timedOut)
	badCall := dagr.Spawn(ctx, func(int) {}, "not an int")
	badOptions := dagr.Spawn(ctx, func() {}, dagr.Options{Occupancy: 2})
	closed, _ := dagr.New(dagr.Config{Procs: 1})
	closed.Close()
	onClosed := closed.Spawn(context.Background(), func() {})
	cases := map[string]*dagr.Task{
		"timed out":                     timedOut,
		"cancelled":                     cancelled,
		"downstream of a time-out":      downstream,
		"bad argument":                  badCall,
		"bad Occupancy":                 badOptions,
		"spawned on a closed scheduler": onClosed,
	}
	for name, tk := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := engFetch[any](t, 5*time.Second, tk)
			if err == nil {
				t.Fatalf("no error")
			}
			if n := strings.Count(err.Error(), "dagr:"); n != 1 {
				t.Errorf("the error says \"dagr:\" %d times: %q", n, err.Error())
			}
		})
	}
}

// Guards the error of a task that failed on every try: it says how many
// tries ran.
func TestEngineRetriesCountInError(t *testing.T) {
	_, ctx := engNew(t, dagr.Config{Procs: 1})
	var tries atomic.Int32
	tk := dagr.Spawn(ctx, func() error { tries.Add(1); return errors.New("always fails") }, dagr.Options{Retries: 2})
	_, err := engFetch[any](t, 5*time.Second, tk)
	if err == nil || tries.Load() != 3 {
		t.Fatalf("Fetch = %v after %d tries; want an error after 3", err, tries.Load())
	}
	if !regexp.MustCompile(`\b3 (tries|attempts)\b`).MatchString(err.Error()) {
		t.Errorf("the error of a task that failed 3 tries does not say so: %q", err.Error())
	}
}

// Guards Options.Cache under concurrent Collects: a cached thunk that
// several goroutines collect at once runs once (16 Collects ran it 16
// times).
func TestEngineCacheConcurrentCollect(t *testing.T) {
	_, ctx := engNew(t, dagr.Config{Procs: 2})
	var runs atomic.Int32
	th := dagr.Delayed(func() int {
		runs.Add(1)
		time.Sleep(20 * time.Millisecond) // the workload
		return 42
	}, dagr.Options{Cache: true})
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			<-start
			if v, err := dagr.Collect(ctx, th); err != nil || v != 42 {
				t.Errorf("Collect = %v, %v; want 42", v, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Errorf("16 concurrent Collects of one Cache thunk ran it %d times; want once", n)
	}
}

// ---- Found while writing these ----

// Guards the contexts of tasks spawned in a Sync body inside a task: once a
// task's f has returned, its context follows the spawning one without a
// goroutine. A task whose f looked at ctx.Done() (as Fetch and Wait do)
// left a goroutine in context.propagateCancel, since the Sync body's
// context has no AfterFunc method, until the garbage collector took the
// task's context; goleak then fails the process that ran such a tree.
func TestEngineSyncInTaskNoGoroutineAfterReturn(t *testing.T) {
	isolated(t, 20*time.Second, func(t *testing.T) {
		defer debug.SetGCPercent(debug.SetGCPercent(-1)) // keep the contexts from being collected
		_, ctx := engNew(t, dagr.Config{Procs: 2})
		const k = 100
		parent := dagr.Spawn(ctx, func(ctx context.Context) error {
			return dagr.Sync(ctx, func(ctx context.Context) error {
				for range k {
					dagr.Spawn(ctx, func(ctx context.Context) {
						select {
						case <-ctx.Done():
						default:
						}
					})
				}
				return nil
			})
		})
		if _, err := engFetch[any](t, 5*time.Second, parent); err != nil {
			t.Fatal(err)
		}
		if n := engPropagating(); n > k/10 {
			t.Errorf("%d goroutines in context.propagateCancel after %d tasks spawned in a Sync body inside a task have ended", n, k)
		}
	})
}

// engPropagating counts the goroutines that package context started to
// follow a parent context that has no AfterFunc method.
func engPropagating() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "created by context.(*cancelCtx).propagateCancel")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// engCollectContexts runs the garbage collector until the goroutines that
// follow task contexts nobody holds are gone: each collected context stops
// its goroutine, which may hold its parent's.
func engCollectContexts() {
	for i := 0; i < 100 && engPropagating() > 0; i++ {
		runtime.GC()
		runtime.Gosched()
	}
}
