package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// manyCtx returns a context on a scheduler of procs processors for one
// test, which ends after a generous timeout so that a deadlock fails the
// test instead of hanging it. The scheduler is closed when the test ends,
// after the cleanups registered later (the gates of manyGate).
func manyCtx(t *testing.T, procs int) context.Context {
	t.Helper()
	s, err := dagr.New(dagr.Config{Procs: procs})
	if err != nil {
		t.Fatalf("New(Procs: %d): %v", procs, err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(dagr.WithScheduler(context.Background(), s), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// manyGate returns a channel that the test closes to let tasks end; it is
// closed when the test ends, if not before, so that no f outlives it.
func manyGate(t *testing.T) (gate chan struct{}, open func()) {
	gate = make(chan struct{})
	var opened atomic.Bool
	open = func() {
		if opened.CompareAndSwap(false, true) {
			close(gate)
		}
	}
	t.Cleanup(open)
	return gate, open
}

// manyWaiting is the option of tasks that block on a gate: they take no
// share of a processor.
var manyWaiting = dagr.Options{Occupancy: dagr.NoOccupancy}

// gated returns v once gate is closed, or ctx's error if it ends first.
func gated(ctx context.Context, gate <-chan struct{}, v int) (int, error) {
	select {
	case <-gate:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// awaitDone waits for t to end, or fails the test when ctx ends first.
func awaitDone(ctx context.Context, t *testing.T, task *dagr.Task) {
	t.Helper()
	select {
	case <-task.Done():
	case <-ctx.Done():
		t.Fatalf("%v did not end: %v", task, ctx.Err())
	}
}

// TestFetchAllInOrder: the results come in the order of the tasks, not in
// the order in which the tasks ended (here, the reverse one).
func TestFetchAllInOrder(t *testing.T) {
	ctx := manyCtx(t, 2)
	const n = 5
	tasks := make([]*dagr.Task, n)
	opens := make([]func(), n)
	for i := range tasks {
		gate, open := manyGate(t)
		opens[i] = open
		tasks[i] = dagr.Spawn(ctx, gated, manyWaiting, gate, i*10)
	}
	for i := n - 1; i >= 0; i-- {
		opens[i]()
		awaitDone(ctx, t, tasks[i])
	}
	got, err := dagr.FetchAll(ctx, tasks...)
	if err != nil {
		t.Fatalf("FetchAll: %v", err)
	}
	if want := []any{0, 10, 20, 30, 40}; !slices.Equal(got, want) {
		t.Errorf("FetchAll = %v, want %v", got, want)
	}
	ints, err := dagr.FetchAllAs[int](ctx, tasks...)
	if err != nil {
		t.Fatalf("FetchAllAs[int]: %v", err)
	}
	if want := []int{0, 10, 20, 30, 40}; !slices.Equal(ints, want) {
		t.Errorf("FetchAllAs[int] = %v, want %v", ints, want)
	}
	if err := dagr.WaitAll(ctx, tasks...); err != nil {
		t.Errorf("WaitAll of ended tasks: %v", err)
	}
}

// TestFetchAllWaitsForAll: FetchAll and WaitAll return only once every task
// has ended; the tasks here end while they wait.
func TestFetchAllWaitsForAll(t *testing.T) {
	ctx := manyCtx(t, 2)
	gate, open := manyGate(t)
	tasks := []*dagr.Task{
		dagr.Spawn(ctx, add1, 1),
		dagr.Spawn(ctx, gated, manyWaiting, gate, 7),
	}
	tasks = append(tasks, dagr.Spawn(ctx, add, tasks[0], tasks[1]))
	type res struct {
		vals []int
		err  error
	}
	fetched := make(chan res, 1)
	waited := make(chan error, 1)
	go func() {
		vals, err := dagr.FetchAllAs[int](ctx, tasks...)
		fetched <- res{vals, err}
	}()
	go func() { waited <- dagr.WaitAll(ctx, tasks...) }()
	open()
	r := <-fetched
	if r.err != nil || !slices.Equal(r.vals, []int{2, 7, 9}) {
		t.Errorf("FetchAllAs = %v, %v; want [2 7 9], nil", r.vals, r.err)
	}
	if err := <-waited; err != nil {
		t.Errorf("WaitAll = %v", err)
	}
	for i, task := range tasks {
		if !task.Ready() {
			t.Errorf("task %d not ready after WaitAll", i)
		}
	}
}

// TestFetchAllJoinsErrors: FetchAll joins the *TaskError of each failed
// task, in order, and errors.Is reaches every original error; the results
// of failed tasks are nil, the others are there.
func TestFetchAllJoinsErrors(t *testing.T) {
	ctx := manyCtx(t, 2)
	errA, errB := errors.New("A failed"), errors.New("B failed")
	failWith := func(err error) (int, error) { return 0, err }
	a := dagr.Spawn(ctx, failWith, errA)
	b := dagr.Spawn(ctx, failWith, errB)
	tasks := []*dagr.Task{
		dagr.Spawn(ctx, add1, 1), // ok
		a,                        // fails itself
		dagr.Spawn(ctx, add1, 2), // ok
		dagr.Spawn(ctx, add1, a), // fails because a did
		b,                        // fails itself
		dagr.Spawn(ctx, add, 3, 4),
	}
	got, err := dagr.FetchAll(ctx, tasks...)
	if want := []any{2, nil, 3, nil, nil, 7}; !slices.Equal(got, want) {
		t.Errorf("FetchAll results = %v, want %v", got, want)
	}
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Fatalf("FetchAll error %v: errors.Is does not reach both originals", err)
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("FetchAll error %T is not errors.Join's", err)
	}
	errs := joined.Unwrap()
	wantTask := []*dagr.Task{tasks[1], tasks[3], tasks[4]}
	wantOrigin := []*dagr.Task{a, a, b}
	if len(errs) != len(wantTask) {
		t.Fatalf("FetchAll joined %d errors, want %d: %v", len(errs), len(wantTask), err)
	}
	for i, e := range errs {
		var te *dagr.TaskError
		if !errors.As(e, &te) {
			t.Errorf("joined error %d is %T, not a *TaskError: %v", i, e, e)
			continue
		}
		if te.Task != wantTask[i].ID() || te.Origin != wantOrigin[i].ID() {
			t.Errorf("joined error %d: Task %d, Origin %d; want %d, %d", i, te.Task, te.Origin, wantTask[i].ID(), wantOrigin[i].ID())
		}
	}

	// The same with FetchAllAs: zero values in place of the failed ones.
	ints, err := dagr.FetchAllAs[int](ctx, tasks...)
	if want := []int{2, 0, 3, 0, 0, 7}; !slices.Equal(ints, want) {
		t.Errorf("FetchAllAs results = %v, want %v", ints, want)
	}
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Errorf("FetchAllAs error %v: errors.Is does not reach both originals", err)
	}

	// WaitAll reports no failure: the tasks ended.
	if err := dagr.WaitAll(ctx, tasks...); err != nil {
		t.Errorf("WaitAll = %v; failures are not its to report", err)
	}
}

// TestFetchAllAsTypes: a result of another type is that task's error, not
// a panic; a nil result gives the zero value of a nillable type.
func TestFetchAllAsTypes(t *testing.T) {
	ctx := manyCtx(t, 2)
	words := dagr.Spawn(ctx, func() string { return "two" })
	got, err := dagr.FetchAllAs[int](ctx, dagr.Spawn(ctx, add1, 1), words)
	if !slices.Equal(got, []int{2, 0}) {
		t.Errorf("FetchAllAs[int] = %v, want [2 0]", got)
	}
	if err == nil {
		t.Fatalf("FetchAllAs[int] of a string result: no error")
	}
	var te *dagr.TaskError
	if errors.As(err, &te) {
		t.Errorf("the error of a result of the wrong type is a *TaskError (%v): the task did not fail", err)
	}

	nilSlice := dagr.Spawn(ctx, func() []int { return nil })
	some := dagr.Spawn(ctx, func() []int { return []int{1} })
	slicesGot, err := dagr.FetchAllAs[[]int](ctx, nilSlice, some)
	if err != nil || len(slicesGot) != 2 || slicesGot[0] != nil || !slices.Equal(slicesGot[1], []int{1}) {
		t.Errorf("FetchAllAs[[]int] = %v, %v; want [[] [1]], nil", slicesGot, err)
	}
}

// TestWaitManyNoTasks: WaitAll and FetchAll of nothing return at once;
// WaitAny of nothing is an error, since nothing can end.
func TestWaitManyNoTasks(t *testing.T) {
	ctx := manyCtx(t, 1)
	if err := dagr.WaitAll(ctx); err != nil {
		t.Errorf("WaitAll() = %v", err)
	}
	if got, err := dagr.FetchAll(ctx); err != nil || len(got) != 0 {
		t.Errorf("FetchAll() = %v, %v; want [], nil", got, err)
	}
	if i, err := dagr.WaitAny(ctx); err == nil || i != -1 {
		t.Errorf("WaitAny() = %d, %v; want -1 and an error", i, err)
	}
	if i, err := dagr.WaitAnyCancel(ctx); err == nil || i != -1 {
		t.Errorf("WaitAnyCancel() = %d, %v; want -1 and an error", i, err)
	}
}

// TestWaitManyBadTasks: a nil or zero Task is an error, returned at once,
// without waiting for the others.
func TestWaitManyBadTasks(t *testing.T) {
	ctx := manyCtx(t, 2)
	gate, _ := manyGate(t)
	blocked := dagr.Spawn(ctx, gated, manyWaiting, gate, 1)
	for _, bad := range []struct {
		name string
		task *dagr.Task
	}{{"nil", nil}, {"zero", new(dagr.Task)}} {
		t.Run(bad.name, func(t *testing.T) {
			calls := map[string]func() error{
				"WaitAll":  func() error { return dagr.WaitAll(ctx, blocked, bad.task) },
				"FetchAll": func() error { _, err := dagr.FetchAll(ctx, blocked, bad.task); return err },
				"FetchAllAs": func() error {
					_, err := dagr.FetchAllAs[int](ctx, blocked, bad.task)
					return err
				},
				"WaitAny": func() error { _, err := dagr.WaitAny(ctx, blocked, bad.task); return err },
			}
			for name, call := range calls {
				if err := call(); err == nil || errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s with a %s task = %v; want an error at once", name, bad.name, err)
				}
			}
		})
	}
	if blocked.Ready() {
		t.Errorf("a blocked task ended")
	}
}

// TestWaitManyContext: when ctx ends first, each returns ctx's error (its
// Err, whatever the cause) and the tasks go on; WaitAnyCancel cancels them.
func TestWaitManyContext(t *testing.T) {
	ctx := manyCtx(t, 2)
	gate, open := manyGate(t)
	tasks := []*dagr.Task{
		dagr.Spawn(ctx, gated, manyWaiting, gate, 1),
		dagr.Spawn(ctx, gated, manyWaiting, gate, 2),
	}
	cause := errors.New("the caller gave up")
	cctx, cancel := context.WithCancelCause(ctx)

	type result struct {
		name string
		err  error
	}
	results := make(chan result, 4)
	go func() { results <- result{"WaitAll", dagr.WaitAll(cctx, tasks...)} }()
	go func() { _, err := dagr.FetchAll(cctx, tasks...); results <- result{"FetchAll", err} }()
	go func() {
		i, err := dagr.WaitAny(cctx, tasks...)
		if err == nil {
			err = fmt.Errorf("WaitAny returned %d", i)
		}
		results <- result{"WaitAny", err}
	}()
	cancel(cause)
	for range 3 {
		r := <-results
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("%s = %v, want context.Canceled", r.name, r.err)
		}
	}
	for i, task := range tasks {
		if task.Ready() {
			t.Errorf("task %d ended with the waiter's context", i)
		}
	}

	// Called with a context that has ended already.
	if err := dagr.WaitAll(cctx, tasks...); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitAll with an ended context = %v", err)
	}
	if got, err := dagr.FetchAll(cctx, tasks...); got != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("FetchAll with an ended context = %v, %v; want nil, context.Canceled", got, err)
	}
	if i, err := dagr.WaitAny(cctx, tasks...); i != -1 || !errors.Is(err, context.Canceled) {
		t.Errorf("WaitAny with an ended context = %d, %v; want -1, context.Canceled", i, err)
	}

	// WaitAnyCancel whose context ends cancels every task.
	if i, err := dagr.WaitAnyCancel(cctx, tasks...); i != -1 || !errors.Is(err, context.Canceled) {
		t.Errorf("WaitAnyCancel with an ended context = %d, %v; want -1, context.Canceled", i, err)
	}
	for i, task := range tasks {
		if !task.Ready() {
			t.Errorf("task %d still runs after WaitAnyCancel returned", i)
			continue
		}
		if _, err := task.Fetch(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("task %d: %v, want context.Canceled", i, err)
		}
	}
	open()
}

// TestWaitAnyFirst: WaitAny returns the task released first, while the
// others still wait, whether it ended before the call or during it.
func TestWaitAnyFirst(t *testing.T) {
	for _, when := range []string{"during", "before"} {
		t.Run(when, func(t *testing.T) {
			ctx := manyCtx(t, 2)
			const n, first = 4, 2
			tasks := make([]*dagr.Task, n)
			opens := make([]func(), n)
			for i := range tasks {
				gate, open := manyGate(t)
				tasks[i], opens[i] = dagr.Spawn(ctx, gated, manyWaiting, gate, i), open
			}
			got := make(chan int, 1)
			errc := make(chan error, 1)
			wait := func() {
				i, err := dagr.WaitAny(ctx, tasks...)
				got <- i
				errc <- err
			}
			if when == "before" {
				opens[first]()
				awaitDone(ctx, t, tasks[first])
				wait()
			} else {
				go wait()
				opens[first]()
			}
			if i, err := <-got, <-errc; i != first || err != nil {
				t.Fatalf("WaitAny = %d, %v; want %d, nil", i, err, first)
			}
			for i, task := range tasks {
				if i != first && task.Ready() {
					t.Errorf("task %d ended, but its gate is shut", i)
				}
			}
		})
	}
}

// TestWaitAnyLowestEnded: of several tasks that have ended, WaitAny returns
// the lowest index; a failed task counts as ended.
func TestWaitAnyLowestEnded(t *testing.T) {
	ctx := manyCtx(t, 2)
	gate, _ := manyGate(t)
	failed := dagr.Spawn(ctx, func() error { return errors.New("no") })
	ok := dagr.Spawn(ctx, add1, 1)
	blocked := dagr.Spawn(ctx, gated, manyWaiting, gate, 0)
	awaitDone(ctx, t, failed)
	awaitDone(ctx, t, ok)
	if i, err := dagr.WaitAny(ctx, blocked, ok, failed); i != 1 || err != nil {
		t.Errorf("WaitAny(blocked, ok, failed) = %d, %v; want 1, nil", i, err)
	}
	if i, err := dagr.WaitAny(ctx, blocked, failed, ok); i != 1 || err != nil {
		t.Errorf("WaitAny(blocked, failed, ok) = %d, %v; want 1, nil", i, err)
	}
	if i, err := dagr.WaitAny(ctx, ok); i != 0 || err != nil {
		t.Errorf("WaitAny(ok) = %d, %v; want 0, nil", i, err)
	}
}

// TestWaitAnyBatches: past the cases that one select takes, WaitAny
// watches the tasks in batches, each on a goroutine that ends before it
// returns (goleak checks that at the end of the tests).
func TestWaitAnyBatches(t *testing.T) {
	defer dagr.SetSelectBatch(3)()
	ctx := manyCtx(t, 2)
	const n = 10
	tasks := make([]*dagr.Task, n)
	opens := make([]func(), n)
	for i := range tasks {
		gate, open := manyGate(t)
		tasks[i], opens[i] = dagr.Spawn(ctx, gated, manyWaiting, gate, i), open
	}
	for _, first := range []int{8, 9, 0, 4} {
		got := make(chan int, 1)
		go func() {
			i, err := dagr.WaitAny(ctx, tasks...)
			if err != nil {
				t.Errorf("WaitAny: %v", err)
			}
			got <- i
		}()
		opens[first]()
		if i := <-got; i != first {
			t.Fatalf("WaitAny = %d, want %d", i, first)
		}
		tasks[first] = dagr.Spawn(ctx, gated, manyWaiting, make(chan struct{}), 0)
		defer tasks[first].Cancel()
	}

	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := dagr.WaitAny(cctx, tasks...)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("WaitAny with its context cancelled = %v", err)
	}
}

// TestWaitAnyCancel: the first task to end wins; the others, and the tasks
// downstream of them, end cancelled before WaitAnyCancel returns, whether
// their f heeds its context or not.
func TestWaitAnyCancel(t *testing.T) {
	ctx := manyCtx(t, 2)
	slowGate, _ := manyGate(t)
	fastGate, openFast := manyGate(t)
	deaf := func(gate <-chan struct{}) int { <-gate; return -1 } // ignores its context
	tasks := []*dagr.Task{
		dagr.Spawn(ctx, gated, manyWaiting, slowGate, 0),
		dagr.Spawn(ctx, deaf, manyWaiting, slowGate),
		dagr.Spawn(ctx, gated, manyWaiting, fastGate, 2),
		dagr.Spawn(ctx, gated, manyWaiting, slowGate, 3),
	}
	downstream := dagr.Spawn(ctx, add1, tasks[0])
	withWinner := dagr.Spawn(ctx, add1, tasks[2])

	got := make(chan int, 1)
	go func() {
		i, err := dagr.WaitAnyCancel(ctx, tasks...)
		if err != nil {
			t.Errorf("WaitAnyCancel: %v", err)
		}
		got <- i
	}()
	openFast()
	if i := <-got; i != 2 {
		t.Fatalf("WaitAnyCancel = %d, want 2", i)
	}
	for i, task := range tasks {
		if !task.Ready() {
			t.Errorf("task %d has not ended when WaitAnyCancel returned", i)
		}
	}
	vals, err := dagr.FetchAll(ctx, tasks...)
	if want := []any{nil, nil, 2, nil}; !slices.Equal(vals, want) {
		t.Errorf("results = %v, want %v", vals, want)
	}
	for i, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if !errors.Is(e, context.Canceled) {
			t.Errorf("error %d of the losers: %v, want context.Canceled", i, e)
		}
	}
	if _, err := downstream.Fetch(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a task downstream of a loser: %v, want context.Canceled", err)
	}
	if v, err := dagr.Fetch[int](ctx, withWinner); v != 3 || err != nil {
		t.Errorf("a task downstream of the winner = %v, %v; want 3, nil", v, err)
	}
}

// TestWaitAnyRaceContext: the other idiom, a context for the race: the
// losers spawned with it end cancelled once it is.
func TestWaitAnyRaceContext(t *testing.T) {
	ctx := manyCtx(t, 2)
	slowGate, _ := manyGate(t)
	fastGate, openFast := manyGate(t)
	race, cancel := context.WithCancel(ctx)
	tasks := []*dagr.Task{
		dagr.Spawn(race, gated, manyWaiting, slowGate, 0),
		dagr.Spawn(race, gated, manyWaiting, fastGate, 1),
	}
	openFast()
	i, err := dagr.WaitAny(ctx, tasks...)
	cancel()
	if i != 1 || err != nil {
		t.Fatalf("WaitAny = %d, %v; want 1, nil", i, err)
	}
	if _, err := tasks[0].Fetch(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("loser: %v, want context.Canceled", err)
	}
}

// TestWaitAllUpdatesShared restates Dagger's "Distributed Histogram" test
// (test/mutation.jl): wait for a hundred tasks that each add to a shared
// value, then read it. And its "fetch_all" test (test/thunk.jl): the
// results of a vector of tasks.
func TestWaitAllUpdatesShared(t *testing.T) {
	ctx := manyCtx(t, 4)
	var sum atomic.Int64
	tasks := make([]*dagr.Task, 100)
	for i := range tasks {
		tasks[i] = dagr.Spawn(ctx, func() { sum.Add(52) })
	}
	if err := dagr.WaitAll(ctx, tasks...); err != nil {
		t.Fatalf("WaitAll: %v", err)
	}
	if got := sum.Load(); got != 52*100 {
		t.Errorf("sum = %d, want %d", got, 52*100)
	}

	four := make([]*dagr.Task, 4)
	for i := range four {
		four[i] = dagr.Spawn(ctx, add, 1, 1)
	}
	if got, err := dagr.FetchAllAs[int](ctx, four...); err != nil || !slices.Equal(got, []int{2, 2, 2, 2}) {
		t.Errorf("FetchAllAs = %v, %v; want [2 2 2 2], nil", got, err)
	}
}

// manyFib computes fib(n) with a task per call, fetching the halves with
// FetchAllAs.
func manyFib(ctx context.Context, n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	halves, err := dagr.FetchAllAs[int](ctx, dagr.Spawn(ctx, manyFib, n-1), dagr.Spawn(ctx, manyFib, n-2))
	if err != nil {
		return 0, err
	}
	return halves[0] + halves[1], nil
}

// manyFibWaitAll is manyFib with WaitAll, then Fetch.
func manyFibWaitAll(ctx context.Context, n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	a, b := dagr.Spawn(ctx, manyFibWaitAll, n-1), dagr.Spawn(ctx, manyFibWaitAll, n-2)
	if err := dagr.WaitAll(ctx, a, b); err != nil {
		return 0, err
	}
	x, _ := dagr.Fetch[int](ctx, a)
	y, _ := dagr.Fetch[int](ctx, b)
	return x + y, nil
}

// manyFibWaitAny is manyFib with WaitAny for the first half to end, then
// WaitAll for both.
func manyFibWaitAny(ctx context.Context, n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	halves := []*dagr.Task{dagr.Spawn(ctx, manyFibWaitAny, n-1), dagr.Spawn(ctx, manyFibWaitAny, n-2)}
	i, err := dagr.WaitAny(ctx, halves...)
	if err != nil {
		return 0, err
	}
	if !halves[i].Ready() {
		return 0, fmt.Errorf("WaitAny returned %d, which has not ended", i)
	}
	vals, err := dagr.FetchAllAs[int](ctx, halves...)
	if err != nil {
		return 0, err
	}
	return vals[0] + vals[1], nil
}

// TestWaitManyInsideTaskOneProc: inside a task, the waits give the
// processor back (or run the children inline), so recursions built on them
// finish on one processor. In a child process, since a deadlock would hang.
func TestWaitManyInsideTaskOneProc(t *testing.T) {
	isolated(t, 60*time.Second, func(t *testing.T) {
		for _, c := range []struct {
			name string
			fib  func(context.Context, int) (int, error)
			n    int
			want int
		}{
			{"FetchAllAs", manyFib, 16, 987},
			{"WaitAll", manyFibWaitAll, 16, 987},
			{"WaitAny", manyFibWaitAny, 12, 144},
		} {
			t.Run(c.name, func(t *testing.T) {
				ctx := manyCtx(t, 1)
				got, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, c.fib, c.n))
				if err != nil || got != c.want {
					t.Fatalf("fib(%d) = %d, %v; want %d, nil", c.n, got, err, c.want)
				}
			})
		}
	})
}

// TestWaitAnyInsideTaskGivesProcessorBack: a task that waits in WaitAny on
// one processor lets the tasks it waits for run there, even one that it did
// not spawn and that was queued behind it.
func TestWaitAnyInsideTaskGivesProcessorBack(t *testing.T) {
	isolated(t, 60*time.Second, func(t *testing.T) {
		ctx := manyCtx(t, 1)
		gate, _ := manyGate(t)
		blocked := dagr.Spawn(ctx, gated, manyWaiting, gate, 0)
		started := make(chan struct{})
		handed := make(chan *dagr.Task, 1)
		waiter := dagr.Spawn(ctx, func(ctx context.Context) (int, error) {
			close(started)
			work := <-handed // the processor is this task's meanwhile
			tasks := []*dagr.Task{blocked, work}
			i, err := dagr.WaitAny(ctx, tasks...)
			if err != nil {
				return 0, err
			}
			return dagr.Fetch[int](ctx, tasks[i])
		})
		select {
		case <-started:
		case <-ctx.Done():
			t.Fatalf("the waiter did not start: %v", ctx.Err())
		}
		// It takes the processor's whole share: it runs only if the
		// waiter gives its share back while it waits.
		handed <- dagr.Spawn(ctx, add, 20, 1)
		if v, err := dagr.Fetch[int](ctx, waiter); v != 21 || err != nil {
			t.Errorf("waiter = %d, %v; want 21, nil", v, err)
		}
	})
}
