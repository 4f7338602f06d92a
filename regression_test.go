package dagr_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/dagr/dagr"
)

func TestRegressionNoOccInlineDeadlock(t *testing.T) {
	s, _ := dagr.New(dagr.Config{Procs: 1})
	ctx := dagr.WithScheduler(context.Background(), s)
	h := dagr.Spawn(ctx, func(ctx context.Context) (int, error) {
		x := dagr.Spawn(ctx, func() int { return 1 }) // queued: h holds the only processor
		tt := dagr.Spawn(ctx, func(ctx context.Context) (int, error) {
			u := dagr.Spawn(ctx, func(v int) int { return v + 1 }, x) // waits for x
			return dagr.Fetch[int](ctx, u)
		}, dagr.Options{Occupancy: dagr.NoOccupancy})
		return dagr.Fetch[int](ctx, tt)
	})
	wctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	v, err := dagr.Fetch[int](wctx, h)
	if err != nil {
		s.Close()
		t.Fatalf("deadlock: %v", err)
	}
	s.Close()
	if v != 2 {
		t.Fatalf("got %d", v)
	}
}

func TestRegressionInlineFromGoroutineDoubleGive(t *testing.T) {
	s, _ := dagr.New(dagr.Config{Procs: 1})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	started := make(chan struct{})
	release := make(chan struct{})
	gdone := make(chan struct{})
	var x *dagr.Task
	h := dagr.Spawn(ctx, func(ctx context.Context) error {
		x = dagr.Spawn(ctx, func() int { return 1 }) // queued behind h
		tt := dagr.Spawn(ctx, func(ctx context.Context) (int, error) {
			close(started)
			<-release
			z := dagr.Spawn(ctx, func(v int) int { time.Sleep(20 * time.Millisecond); return v }, x) // runs on its own runner
			return dagr.Fetch[int](ctx, z)
		})
		go func() { defer close(gdone); tt.Wait(ctx) }() // runs tt inline on this goroutine
		<-started
		return nil // h ends while tt still runs inline under h's occupancy
	})
	h.Wait(context.Background())
	close(release)
	select {
	case <-gdone:
	case <-time.After(3 * time.Second):
		t.Fatal("inline task never finished")
	}
	half := dagr.Spawn(ctx, func() int { return 1 }, dagr.Options{Occupancy: 0.5})
	hctx, hcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer hcancel()
	if err := half.Wait(hctx); err != nil {
		t.Fatalf("a task with Occupancy 0.5 never started on the idle processor: %v", err)
	}
	// Procs: 1 and the default occupancy: at most one task at a time.
	var cur, peak atomic.Int32
	var ts []*dagr.Task
	for range 4 {
		ts = append(ts, dagr.Spawn(ctx, func() {
			if c := cur.Add(1); c > peak.Load() {
				peak.Store(c)
			}
			time.Sleep(50 * time.Millisecond)
			cur.Add(-1)
		}))
	}
	for _, w := range ts {
		w.Wait(context.Background())
	}
	if peak.Load() > 1 {
		t.Fatalf("%d tasks ran at once on one processor: occupancy count corrupted", peak.Load())
	}
}

func TestRegressionGoexitInTask(t *testing.T) {
	s, _ := dagr.New(dagr.Config{Procs: 1})
	ctx := dagr.WithScheduler(context.Background(), s)
	bad := dagr.Spawn(ctx, func() { runtime.Goexit() })
	wctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := bad.Wait(wctx); err != nil {
		t.Errorf("a task whose f called runtime.Goexit never ended: %v", err)
	}
	next := dagr.Spawn(ctx, func() int { return 1 })
	if err := next.Wait(wctx); err != nil {
		t.Errorf("the processor stays taken: %v", err)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(time.Second):
		t.Errorf("Close never returns")
	}
}

func TestRegressionSpawnAliasesArgs(t *testing.T) {
	s, _ := dagr.New(dagr.Config{Procs: 1})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	gate := make(chan struct{})
	blocker := dagr.Spawn(ctx, func() { <-gate }) // holds the only processor
	args := []any{1}
	tk := dagr.Spawn(ctx, func(x int) int { return x }, args...)
	args[0] = 2 // the caller reuses its slice
	close(gate)
	blocker.Wait(ctx)
	v, _ := dagr.Fetch[int](ctx, tk)
	if v != 1 {
		t.Fatalf("the task got %d, not the argument it was spawned with (1)", v)
	}
}

func TestRegressionCloseRacesForeignSpawn(t *testing.T) {
	s2, _ := dagr.New(dagr.Config{Procs: 1})
	defer s2.Close()
	gate := make(chan struct{})
	defer close(gate)
	ext := dagr.Spawn(dagr.WithScheduler(context.Background(), s2), func() int { <-gate; return 1 }, dagr.Options{Occupancy: dagr.NoOccupancy})
	for iter := range 40 {
		s, _ := dagr.New(dagr.Config{Procs: 1})
		ctx := dagr.WithScheduler(context.Background(), s)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		spawning := make(chan struct{}, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				spawning <- struct{}{}
				for {
					select {
					case <-stop:
						return
					default:
					}
					dagr.Spawn(ctx, func(v int) int { return v }, ext)
				}
			}()
		}
		<-spawning
		closed := make(chan struct{})
		go func() { s.Close(); close(closed) }()
		select {
		case <-closed:
			close(stop)
			wg.Wait()
		case <-time.After(2 * time.Second):
			close(stop)
			wg.Wait()
			t.Fatalf("iteration %d: Close hangs on a task that waits for another scheduler's task", iter)
		}
	}
}

func TestRegressionRestoreCtxDeadlineNeverFires(t *testing.T) {
	s, _ := dagr.New(dagr.Config{Procs: 1})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	var got error
	var hasDeadline bool
	tk := dagr.Spawn(ctx, func() int { return 1 }, dagr.Options{
		Timeout: 20 * time.Millisecond,
		Restore: func(ctx context.Context) (any, bool, error) {
			_, hasDeadline = ctx.Deadline()
			select {
			case <-ctx.Done():
				got = ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
			return nil, false, nil
		},
	})
	tk.Wait(context.Background())
	if hasDeadline && got == nil {
		t.Fatal("Restore's ctx has a deadline 20ms away, and was not done 500ms later")
	}
}

func TestRegressionRunInlineHolderRace(t *testing.T) {
	for range 30 {
		func() {
			s, _ := dagr.New(dagr.Config{Procs: 2})
			defer s.Close()
			ctx := dagr.WithScheduler(context.Background(), s)
			gate := make(chan struct{})
			defer close(gate)
			on2 := dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 2})}
			blocker := dagr.Spawn(ctx, func() { <-gate }, on2)
			_ = blocker
			x := dagr.Spawn(ctx, func() {}, on2) // queued on processor 2, not allowed on 1
			var wg sync.WaitGroup
			// Added before the task runs: h may time out, and the test
			// reach wg.Wait, before f starts.
			wg.Add(4)
			h := dagr.Spawn(ctx, func(ctx context.Context) {
				for range 4 {
					go func() {
						defer wg.Done()
						for range 500 {
							x.Wait(ctx) // returns at once: ctx has timed out
						}
					}()
				}
				<-ctx.Done()
			}, dagr.Options{Timeout: time.Millisecond, Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 1})})
			h.Wait(context.Background())
			wg.Wait()
		}()
	}
}

func TestRegressionCancelledQueuedTaskKeepsArgs(t *testing.T) {
	s, _ := dagr.New(dagr.Config{Procs: 1})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	gate := make(chan struct{})
	defer close(gate)
	dagr.Spawn(ctx, func() { <-gate }) // holds the only processor
	type big [1 << 20]byte
	arg := new(big)
	w := weak.Make(arg)
	tk := dagr.Spawn(ctx, func(*big) {}, arg)
	arg = nil
	tk.Cancel()
	runtime.GC()
	runtime.GC()
	if w.Value() != nil {
		t.Errorf("the 1 MiB argument of a cancelled task is still reachable through its handle")
	}
	runtime.KeepAlive(tk)
}

func TestRegressionConcurrentInlineOversubscribes(t *testing.T) {
	s, _ := dagr.New(dagr.Config{Procs: 1})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	var cur, peak atomic.Int32
	h := dagr.Spawn(ctx, func(ctx context.Context) error {
		var ts []*dagr.Task
		for range 4 {
			ts = append(ts, dagr.Spawn(ctx, func() {
				c := cur.Add(1)
				for {
					p := peak.Load()
					if c <= p || peak.CompareAndSwap(p, c) {
						break
					}
				}
				time.Sleep(50 * time.Millisecond)
				cur.Add(-1)
			}))
		}
		var wg sync.WaitGroup
		for _, tk := range ts {
			wg.Add(1)
			go func() { defer wg.Done(); tk.Wait(ctx) }()
		}
		wg.Wait()
		return nil
	})
	h.Wait(context.Background())
	if peak.Load() > 1 {
		t.Fatalf("%d tasks ran at once on a scheduler with one processor", peak.Load())
	}
}

// Inside a task, each task spawned in a Sync body used to cost a goroutine
// (a watch on Sync's context) until it ended.
func TestRegressionSyncInTaskNoGoroutinePerSpawn(t *testing.T) {
	s, _ := dagr.New(dagr.Config{Procs: 1})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	gate := make(chan struct{})
	base := runtime.NumGoroutine()
	peak := make(chan int, 1)
	h := dagr.Spawn(ctx, func(ctx context.Context) error {
		return dagr.Sync(ctx, func(ctx context.Context) error {
			for range 1000 {
				dagr.Spawn(ctx, func() { <-gate })
			}
			peak <- runtime.NumGoroutine()
			close(gate)
			return nil
		})
	})
	if err := h.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := <-peak - base; n > 100 {
		t.Errorf("%d goroutines for 1000 tasks spawned in a Sync body inside a task", n)
	}
}

// Cancelling the task that runs a Sync body cancels what the body spawned.
func TestRegressionSyncInTaskCancelReachesChildren(t *testing.T) {
	s, _ := dagr.New(dagr.Config{Procs: 2})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	spawned := make(chan *dagr.Task, 1)
	h := dagr.Spawn(ctx, func(ctx context.Context) error {
		return dagr.Sync(ctx, func(ctx context.Context) error {
			spawned <- dagr.Spawn(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, dagr.Options{Occupancy: dagr.NoOccupancy})
			return nil
		})
	}, dagr.Options{Occupancy: dagr.NoOccupancy})
	child := <-spawned
	h.Cancel()
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := child.Wait(wctx); err != nil {
		t.Fatalf("the child of a cancelled task's Sync body never ended: %v", err)
	}
	if _, err := child.Fetch(wctx); !errors.Is(err, context.Canceled) {
		t.Errorf("child error %v, want context.Canceled", err)
	}
}

// A thunk that fails because an eager task it takes failed aborts the
// computation: that origin has no AllowError.
func TestRegressionComputeAbortsOnEagerInputFailure(t *testing.T) {
	s, _ := dagr.New(dagr.Config{Procs: 2})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	errBad := errors.New("bad input")
	ext := dagr.Spawn(ctx, func() (int, error) { return 0, errBad })
	ext.Wait(ctx)
	sawCancel := make(chan bool, 1)
	a := dagr.Delayed(func(v int) int { return v }, ext)
	b := dagr.Delayed(func(ctx context.Context) int {
		select {
		case <-ctx.Done():
			sawCancel <- true
		case <-time.After(10 * time.Second):
			sawCancel <- false
		}
		return 1
	}, dagr.Options{Occupancy: dagr.NoOccupancy})
	_, err := dagr.Compute(ctx, dagr.Delayed(func(x, y int) int { return x + y }, a, b))
	if !errors.Is(err, errBad) {
		t.Fatalf("Compute error %v, want errBad", err)
	}
	// Compute has returned, so the slow branch has ended: either it never
	// started, or it saw its context cancelled.
	select {
	case saw := <-sawCancel:
		if !saw {
			t.Error("the slow branch ran to its end: the failure did not abort the computation")
		}
	default:
	}
}
