package dagr_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// cancelCloseWait bounds a Close that has nothing to wait for, and should
// return at once.
const cancelCloseWait = 5 * time.Second

// cancelBlocker spawns, on a scheduler with one processor, a task that holds
// the processor until release is called (or the task is cancelled), and
// returns once it runs.
func cancelBlocker(t *testing.T, s *dagr.Scheduler) (blocker *dagr.Task, release func()) {
	t.Helper()
	gate, release := spawnGate()
	started := make(chan struct{})
	blocker = s.Spawn(context.Background(), func(ctx context.Context) int {
		close(started)
		select {
		case <-gate:
		case <-ctx.Done():
		}
		return 1
	})
	spawnAwait(t, started, "the blocker to start")
	return blocker, release
}

// cancelWantCanceled checks that task failed because origin was cancelled.
func cancelWantCanceled(t *testing.T, task, origin *dagr.Task) {
	t.Helper()
	te := spawnFailure(t, task)
	if !errors.Is(te, context.Canceled) {
		t.Errorf("error of %v: %v does not wrap context.Canceled", task, te)
	}
	if te.Task != task.ID() || te.Origin != origin.ID() {
		t.Errorf("error of %v: Task %d, Origin %d; want %d, %d", task, te.Task, te.Origin, task.ID(), origin.ID())
	}
}

func TestCancelQueued(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 1})
	defer s.Close()
	blocker, release := cancelBlocker(t, s)
	defer release()

	var ran atomic.Int32
	queued := s.Spawn(context.Background(), func() int { ran.Add(1); return 2 })
	below := s.Spawn(context.Background(), spawnAdd1, queued)
	if queued.Ready() {
		t.Fatal("the queued task ended before it was cancelled")
	}
	queued.Cancel()
	// It ends at once, while the blocker still holds the processor.
	cancelWantCanceled(t, queued, queued)
	cancelWantCanceled(t, below, queued)
	if blocker.Ready() {
		t.Error("the blocker ended before it was released")
	}

	release()
	spawnFetch[int](t, blocker)
	// This task queues behind the cancelled one: once it ran, the processor
	// went past the cancelled task.
	spawnFetch[int](t, s.Spawn(context.Background(), spawnAdd1, 1))
	if n := ran.Load(); n != 0 {
		t.Errorf("the cancelled task ran %d times, want 0", n)
	}
}

func TestCancelRunning(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 1})
	defer s.Close()
	started := make(chan struct{})
	seen := make(chan error, 1)
	release, open := spawnGate()
	defer open()
	returned := make(chan struct{})
	task := s.Spawn(context.Background(), func(ctx context.Context) int {
		defer close(returned)
		close(started)
		<-ctx.Done()
		seen <- ctx.Err()
		<-release
		return 42
	})
	before := s.Spawn(context.Background(), spawnAdd1, task)
	spawnAwait(t, started, "f to start")

	task.Cancel()
	// Fetch returns at once, while f still runs.
	cancelWantCanceled(t, task, task)
	cancelWantCanceled(t, before, task)
	if err := spawnAwait(t, seen, "f to see ctx.Done()"); !errors.Is(err, context.Canceled) {
		t.Errorf("f's ctx.Err() = %v, want context.Canceled", err)
	}
	select {
	case <-returned:
		t.Fatal("f returned before it was released")
	default:
	}

	open()
	spawnAwait(t, returned, "f to return")
	// What f returned is dropped, for old and new dependents alike.
	after := s.Spawn(context.Background(), spawnAdd1, task)
	cancelWantCanceled(t, task, task)
	cancelWantCanceled(t, after, task)
	// The processor is free again.
	if got := spawnFetch[int](t, s.Spawn(context.Background(), spawnAdd1, 1)); got != 2 {
		t.Errorf("a task after the cancelled one gave %d, want 2", got)
	}
}

func TestCancelRunningIgnoringContext(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 1})
	defer s.Close()
	started := make(chan struct{})
	release, open := spawnGate()
	defer open()
	task := s.Spawn(context.Background(), func() int {
		close(started)
		<-release
		return 42
	})
	spawnAwait(t, started, "f to start")
	task.Cancel()
	cancelWantCanceled(t, task, task)
	open()
	s.Close() // waits for f to return
	cancelWantCanceled(t, task, task)
}

func TestCancelEnded(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()

	ok := s.Spawn(bg, spawnAdd1, 1)
	spawnAwait(t, ok.Done(), "the task's end")
	ok.Cancel()
	ok.Cancel()
	if got := spawnFetch[int](t, ok); got != 2 {
		t.Errorf("Fetch after Cancel of an ended task = %d, want 2", got)
	}
	if got := spawnFetch[int](t, s.Spawn(bg, spawnAdd1, ok)); got != 3 {
		t.Errorf("a dependent spawned after the Cancel gave %d, want 3", got)
	}

	failed := s.Spawn(bg, func() error { return errFailureSentinel })
	spawnAwait(t, failed.Done(), "the task's end")
	failed.Cancel()
	te := spawnFailure(t, failed)
	if !errors.Is(te, errFailureSentinel) || errors.Is(te, context.Canceled) {
		t.Errorf("error after Cancel of a failed task = %v, want its own error", te)
	}

	cancelled := s.Spawn(bg, func(ctx context.Context) error { <-ctx.Done(); return nil })
	cancelled.Cancel()
	cancelled.Cancel()
	cancelWantCanceled(t, cancelled, cancelled)
}

func TestCancelDependents(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()
	var calls atomic.Int32
	gate := make(chan struct{})
	defer close(gate)
	a := s.Spawn(bg, func(ctx context.Context) (int, error) {
		select {
		case <-gate:
			return 1, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	b := s.Spawn(bg, failureCounted(&calls), a)
	other := s.Spawn(bg, spawnAdd1, 1)
	c := s.Spawn(bg, func(x, y int) int { calls.Add(1); return x + y }, b, other)
	a.Cancel()
	for _, task := range []*dagr.Task{a, b, c} {
		cancelWantCanceled(t, task, a)
	}
	late := s.Spawn(bg, failureCounted(&calls), c)
	cancelWantCanceled(t, late, a)
	if n := calls.Load(); n != 0 {
		t.Errorf("f of the dependents ran %d times, want 0", n)
	}
}

func TestCancelSpawningContext(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 1})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Several running tasks: the first holds the processor, the others take
	// no share of it. Each returns a value after its context ends, which
	// must be dropped.
	const runners = 8
	var started atomic.Int32
	allStarted := make(chan struct{})
	seen := make(chan error, runners)
	var running []*dagr.Task
	for i := range runners {
		opts := dagr.Options{Occupancy: dagr.NoOccupancy}
		if i == 0 {
			opts.Occupancy = 1
		}
		running = append(running, s.Spawn(ctx, func(ctx context.Context) int {
			if started.Add(1) == runners {
				close(allStarted)
			}
			<-ctx.Done()
			seen <- ctx.Err()
			return 1
		}, opts))
	}
	spawnAwait(t, allStarted, "the running tasks to start")
	var ran atomic.Int32
	queued := s.Spawn(ctx, func() int { ran.Add(1); return 2 })
	below := s.Spawn(context.Background(), spawnAdd1, queued)
	outside := s.Spawn(context.Background(), spawnAdd1, 10)

	cancel()
	for _, task := range running {
		cancelWantCanceled(t, task, task)
	}
	cancelWantCanceled(t, queued, queued)
	cancelWantCanceled(t, below, queued)
	for range runners {
		if err := spawnAwait(t, seen, "f to see ctx.Done()"); !errors.Is(err, context.Canceled) {
			t.Errorf("f's ctx.Err() = %v, want context.Canceled", err)
		}
	}
	if got := spawnFetch[int](t, outside); got != 11 {
		t.Errorf("a task spawned with another context gave %d, want 11", got)
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("the queued task ran %d times after its context was cancelled", n)
	}
}

func TestSpawnWithEndedContext(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()

	var ran atomic.Int32
	f := func(x int) int { ran.Add(1); return x }
	dep := s.Spawn(context.Background(), spawnAdd1, 1)
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"cancelled", cancelled},
		{"past its deadline", expired},
		{"cancelled, package level", dagr.WithScheduler(cancelled, s)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, task := range []*dagr.Task{
				s.Spawn(tc.ctx, f, 1),
				s.Spawn(tc.ctx, f, dep),
				dagr.Spawn(dagr.WithScheduler(tc.ctx, s), f, 1),
			} {
				te := spawnFailure(t, task)
				if !errors.Is(te, tc.ctx.Err()) {
					t.Errorf("error %v does not wrap the context's error %v", te, tc.ctx.Err())
				}
			}
		})
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("f ran %d times with an ended context, want 0", n)
	}
}

func TestCloseWithRunningTasks(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()

	const runners = 2
	var started, finished atomic.Int32
	allStarted := make(chan struct{})
	seen := make(chan error, runners)
	proceed, open := spawnGate()
	defer open()
	var running []*dagr.Task
	for range runners {
		running = append(running, s.Spawn(bg, func(ctx context.Context) int {
			if started.Add(1) == runners {
				close(allStarted)
			}
			<-ctx.Done()
			seen <- ctx.Err()
			<-proceed
			finished.Add(1)
			return 1
		}))
	}
	spawnAwait(t, allStarted, "the tasks to start")
	var queuedRan atomic.Int32
	queued := s.Spawn(bg, func() int { queuedRan.Add(1); return 2 })
	below := s.Spawn(bg, spawnAdd1, running[0])

	closed := make(chan error)
	go func() { closed <- s.Close() }()
	for range runners {
		if err := spawnAwait(t, seen, "f to see ctx.Done()"); !errors.Is(err, context.Canceled) {
			t.Errorf("f's ctx.Err() = %v, want context.Canceled", err)
		}
	}
	// Close must wait for f to return. Had it returned early, it would
	// most likely have done so by now; this wait cannot fail a correct Close.
	select {
	case err := <-closed:
		t.Errorf("Close returned (%v) while f still ran", err)
	case <-time.After(100 * time.Millisecond):
	}
	open()
	if err := spawnAwait(t, closed, "Close to return"); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n := finished.Load(); n != runners {
		t.Errorf("Close returned when %d of %d tasks had returned", n, runners)
	}

	for _, task := range append(running, queued) {
		te := spawnFailure(t, task)
		if !errors.Is(te, dagr.ErrClosed) || !errors.Is(te, context.Canceled) {
			t.Errorf("error of %v: %v; want it to wrap ErrClosed and context.Canceled", task, te)
		}
		if te.Origin != task.ID() {
			t.Errorf("error of %v has origin %d, want the task itself", task, te.Origin)
		}
	}
	te := spawnFailure(t, below)
	if !errors.Is(te, dagr.ErrClosed) || te.Origin != running[0].ID() {
		t.Errorf("error of the dependent: %v (origin %d); want ErrClosed from %d", te, te.Origin, running[0].ID())
	}
	if n := queuedRan.Load(); n != 0 {
		t.Errorf("the queued task ran %d times", n)
	}
	if te := spawnFailure(t, s.Spawn(bg, spawnAdd1, 1)); !errors.Is(te, dagr.ErrClosed) {
		t.Errorf("a task spawned after Close: %v, want ErrClosed", te)
	}
}

func TestCancelWaiting(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()
	gate, open := spawnGate()
	defer open()
	input := s.Spawn(bg, func() int { <-gate; return 1 })
	var calls atomic.Int32
	waiting := s.Spawn(bg, failureCounted(&calls), input)
	below := s.Spawn(bg, failureCounted(&calls), waiting)

	waiting.Cancel()
	cancelWantCanceled(t, waiting, waiting)
	cancelWantCanceled(t, below, waiting)
	if input.Ready() {
		t.Error("the input ended before its channel was closed")
	}
	open()
	// The input is not the cancelled task's to cancel: it runs to its end.
	if got := spawnFetch[int](t, input); got != 1 {
		t.Errorf("the input gave %d, want 1", got)
	}
	cancelWantCanceled(t, waiting, waiting)
	if n := calls.Load(); n != 0 {
		t.Errorf("f of the cancelled task and its dependent ran %d times, want 0", n)
	}
}

// TestCloseCancelsWaitingTasks closes a scheduler that holds a task waiting
// for an input that another scheduler computes: Close must end that task
// too, without waiting for the input.
func TestCloseCancelsWaitingTasks(t *testing.T) {
	other := spawnSched(t, dagr.Config{Procs: 1})
	defer other.Close()
	s := spawnSched(t, dagr.Config{Procs: 1})
	bg := context.Background()
	gate, open := spawnGate()
	defer open()
	input := other.Spawn(bg, func() int { <-gate; return 1 })
	var calls atomic.Int32
	waiting := s.Spawn(bg, failureCounted(&calls), input)

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
		if !waiting.Ready() {
			t.Error("Close returned before the waiting task ended")
		}
		if input.Ready() {
			t.Error("the input, on the other scheduler, ended before its channel was closed")
		}
		open()
	case <-time.After(cancelCloseWait):
		t.Errorf("Close did not return within %v while a task of its scheduler waited for an input", cancelCloseWait)
		open()
		spawnAwait(t, closed, "Close to return once the input ended")
	}
	te := spawnFailure(t, waiting)
	if !errors.Is(te, dagr.ErrClosed) {
		t.Errorf("error of the waiting task: %v, want ErrClosed", te)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("f of the waiting task ran %d times, want 0", n)
	}
	if got := spawnFetch[int](t, input); got != 1 {
		t.Errorf("the input, on the other scheduler, gave %d, want 1", got)
	}
}

// TestCancelRacingStart cancels queued tasks while their processor starts
// them. Whether each one runs is a race, but whichever way it goes, every
// task must end exactly once: the scheduler's books must balance, so that
// Close returns, and the race detector must find nothing.
//
// The test runs in a child process (this test binary, run again), because
// a scheduler that gets this wrong may crash the process, which would hide
// the results of every test after this one.
func TestCancelRacingStart(t *testing.T) {
	const childEnv = "DAGR_TEST_CANCEL_RACING_START"
	if os.Getenv(childEnv) == "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCancelRacingStart$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			const keep = 4 << 10 // of each end of the output
			if len(out) > 2*keep {
				out = slices.Concat(out[:keep], []byte("\n[...]\n"), out[len(out)-keep:])
			}
			t.Fatalf("the test failed in its child process (%v):\n%s", err, out)
		}
		return
	}

	s := spawnSched(t, dagr.Config{Procs: 1})
	bg := context.Background()
	const rounds, victims = 3000, 16
	for range rounds {
		release := make(chan struct{})
		started := make(chan struct{})
		blocker := s.Spawn(bg, func() int { close(started); <-release; return 1 })
		spawnAwait(t, started, "the blocker to start")
		var queued [victims]*dagr.Task
		for i := range queued {
			queued[i] = s.Spawn(bg, spawnAdd1, i)
		}
		go close(release)
		for _, task := range queued {
			task.Cancel()
		}
		for _, task := range queued {
			spawnAwait(t, task.Done(), "a cancelled task to end")
			// A task may have ended before its Cancel came.
			if v, err := task.Fetch(bg); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("Fetch of a cancelled task = %v, %v; want its result or context.Canceled", v, err)
			}
		}
		spawnAwait(t, blocker.Done(), "the blocker to end")
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(cancelCloseWait):
		// Not deferred: a Close that hangs would hang the test binary.
		t.Fatalf("Close did not return within %v, with no task left running", cancelCloseWait)
	}
}
