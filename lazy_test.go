package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// lazySafety bounds every wait of these tests on something that should
// happen, so that a bug makes a test fail instead of hanging.
const lazySafety = 30 * time.Second

func lazyAdd1(value int) int { return value + 1 }

func lazyAdd2(value int) int { return value + 2 }

func lazyAdd(a, b int) int { return a + b }

func lazyCombine(a ...int) int {
	sum := 0
	for _, v := range a {
		sum += v
	}
	return sum
}

// lazyScheduler makes a scheduler of the test's own, closed when the test
// ends, and a context that carries it.
func lazyScheduler(t *testing.T, cfg dagr.Config) (context.Context, *dagr.Scheduler) {
	t.Helper()
	s, err := dagr.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { s.Close() })
	return dagr.WithScheduler(context.Background(), s), s
}

// lazySeed builds the seed's DAG with Delayed: combine(p, q, r) with
// p = add1(4), q = add2(p), r = add1(3), which is 16.
func lazySeed() *dagr.Thunk {
	p := dagr.Delayed(lazyAdd1, 4)
	q := dagr.Delayed(lazyAdd2, p)
	r := dagr.Delayed(lazyAdd1, 3)
	return dagr.Delayed(lazyCombine, p, q, r)
}

// lazyWait fails the test if ch is not closed within lazySafety.
func lazyWait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(lazySafety):
		t.Fatalf("%s did not happen within %v", what, lazySafety)
	}
}

// lazyTaskError returns err as a *TaskError, failing the test if it is not
// one.
func lazyTaskError(t *testing.T, err error) *dagr.TaskError {
	t.Helper()
	var te *dagr.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *dagr.TaskError", err, err)
	}
	return te
}

func lazyLogger(l *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// lazyCounted returns f(v) = v+1 that counts its calls in n.
func lazyCounted(n *atomic.Int32) func(int) int {
	return func(v int) int {
		n.Add(1)
		return v + 1
	}
}

func TestLazyDelayedRunsNothingUntilCompute(t *testing.T) {
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
	var leaf, mid, top atomic.Int32
	a := dagr.Delayed(lazyCounted(&leaf), 1)
	b := dagr.Delayed(lazyCounted(&mid), a)
	c := dagr.Delayed(func(x, y int) int { top.Add(1); return x + y }, a, b)

	// Give a Delayed that started work behind our back every chance to
	// show it: run other work on the same scheduler to its end first.
	if _, err := dagr.Spawn(ctx, lazyAdd1, 1).Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := dagr.Collect(ctx, dagr.Delayed(lazyAdd1, 1)); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		runtime.Gosched()
	}
	if l, m, tp := leaf.Load(), mid.Load(), top.Load(); l+m+tp != 0 {
		t.Fatalf("Delayed ran functions before Compute: leaf %d, mid %d, top %d", l, m, tp)
	}

	v, err := dagr.Collect(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if v != 5 { // a = 2, b = 3
		t.Fatalf("Collect = %v, want 5", v)
	}
	if l, m, tp := leaf.Load(), mid.Load(), top.Load(); l != 1 || m != 1 || tp != 1 {
		t.Fatalf("after Compute: leaf ran %d, mid %d, top %d times; want 1 each", l, m, tp)
	}
}

func TestLazySeedDAG(t *testing.T) {
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})

	t.Run("Collect", func(t *testing.T) {
		v, err := dagr.Collect(ctx, lazySeed())
		if err != nil || v != 16 {
			t.Fatalf("Collect(seed) = %v, %v; want 16, nil", v, err)
		}
	})

	t.Run("Compute", func(t *testing.T) {
		c, err := dagr.Compute(ctx, lazySeed())
		if err != nil {
			t.Fatalf("Compute(seed): %v", err)
		}
		if c == nil {
			t.Fatal("Compute returned a nil *Chunk and no error")
		}
		if w := c.Worker(); w != 1 {
			t.Errorf("chunk.Worker() = %d, want 1", w)
		}
		if v, err := dagr.Collect(ctx, c); err != nil || v != 16 {
			t.Errorf("Collect(chunk) = %v, %v; want 16, nil", v, err)
		}
		if v, err := c.Fetch(ctx); err != nil || v != 16 {
			t.Errorf("chunk.Fetch = %v, %v; want 16, nil", v, err)
		}
	})

	t.Run("SchedulerMethods", func(t *testing.T) {
		s, err := dagr.New(dagr.Config{Procs: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c, err := s.Compute(context.Background(), lazySeed())
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Collect(context.Background(), c); err != nil || v != 16 {
			t.Fatalf("s.Collect(chunk) = %v, %v; want 16, nil", v, err)
		}
		if v, err := s.Collect(context.Background(), lazySeed()); err != nil || v != 16 {
			t.Fatalf("s.Collect(seed) = %v, %v; want 16, nil", v, err)
		}
	})
}

func TestLazySharedThunkRunsOncePerCompute(t *testing.T) {
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
	var shared atomic.Int32
	base := dagr.Delayed(lazyCounted(&shared), 10) // 11
	left := dagr.Delayed(lazyAdd1, base)           // 12
	right := dagr.Delayed(lazyAdd2, base)          // 13
	top := dagr.Delayed(lazyCombine, left, right, base)

	for i := 1; i <= 2; i++ {
		v, err := dagr.Collect(ctx, top)
		if err != nil || v != 36 {
			t.Fatalf("Compute %d = %v, %v; want 36, nil", i, v, err)
		}
		if n := shared.Load(); n != int32(i) {
			t.Fatalf("after Compute %d, the shared thunk ran %d times; want %d (once per Compute)", i, n, i)
		}
	}
}

func TestLazyFirstFailureAborts(t *testing.T) {
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
	errBoom := errors.New("boom")
	started := make(chan struct{})
	var sawCancel, slowReturned, downstreamRan, queuedRan, topRan atomic.Bool

	// slow takes one processor and waits for its context to end; fail
	// takes the other, and fails once slow runs; queued waits for a free
	// processor, which it only gets after fail has failed.
	slow := dagr.Delayed(func(ctx context.Context) (int, error) {
		defer slowReturned.Store(true)
		close(started)
		select {
		case <-ctx.Done():
			sawCancel.Store(true)
		case <-time.After(lazySafety):
			return 0, errors.New("slow: the computation was not aborted")
		}
		for range 100 { // some clean-up work that Compute must wait for
			runtime.Gosched()
		}
		return 0, ctx.Err()
	})
	downstream := dagr.Delayed(func(v int) int { downstreamRan.Store(true); return v }, slow)
	fail := dagr.Delayed(func() (int, error) {
		select {
		case <-started:
			return 0, errBoom
		case <-time.After(lazySafety):
			return 0, errors.New("fail: slow never started")
		}
	}, dagr.Options{Name: "fail"})
	queued := dagr.Delayed(func() int { queuedRan.Store(true); return 1 })
	top := dagr.Delayed(func(a, b, c int) int { topRan.Store(true); return a + b + c }, downstream, fail, queued)

	c, err := dagr.Compute(ctx, top)
	if err == nil {
		t.Fatalf("Compute = %v, nil; want the failure", c)
	}
	if !slowReturned.Load() {
		t.Error("Compute returned before the f of the slow sibling returned")
	}
	te := lazyTaskError(t, err)
	if !errors.Is(err, errBoom) || te.Err != errBoom {
		t.Errorf("Compute's error %v has Err %v; want the original %v", err, te.Err, errBoom)
	}
	if te.Name != "fail" {
		t.Errorf("TaskError.Name = %q, want %q (the thunk that failed first)", te.Name, "fail")
	}
	if !strings.Contains(err.Error(), "boom") {
		t.Errorf("error %q does not hold the original message", err)
	}
	if !sawCancel.Load() {
		t.Error("the running sibling did not see its context cancelled")
	}
	if downstreamRan.Load() {
		t.Error("a thunk downstream of the cancelled sibling ran")
	}
	if queuedRan.Load() {
		t.Error("a queued thunk started after the computation was aborted")
	}
	if topRan.Load() {
		t.Error("the top thunk ran")
	}
}

// lazyFlowDAG is a DAG for the failure-flow tests, on a scheduler with two
// processors: slow runs on processor 1 until gate is closed (or its context
// ends); fail runs on processor 2 and fails; probe runs on processor 2 after
// fail has failed and its failure has been handled, and closes gate. useSlow
// takes slow's result. top depends on all of them. With withExtraFail, a
// thunk without AllowError that fails is queued behind fail instead of probe.
type lazyFlowDAG struct {
	errBoom, errExtra               error
	gate, slowStarted               chan struct{}
	onFirst, onSecond               dagr.Scope
	slow, useSlow, fail, probe, top *dagr.Thunk
	extraFail                       *dagr.Thunk
	slowCancelled, slowReturned     atomic.Bool
	probeRan, topRan                atomic.Bool
	usedSlow                        atomic.Int64
}

func lazyNewFlowDAG(failOpts dagr.Options, withExtraFail bool) *lazyFlowDAG {
	d := &lazyFlowDAG{
		errBoom:     errors.New("boom"),
		errExtra:    errors.New("second failure"),
		gate:        make(chan struct{}),
		slowStarted: make(chan struct{}),
		onFirst:     dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 1}),
		onSecond:    dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 2}),
	}
	d.slow = dagr.Delayed(func(ctx context.Context) (int, error) {
		defer d.slowReturned.Store(true)
		close(d.slowStarted)
		select {
		case <-d.gate:
			return 10, nil
		case <-ctx.Done():
			d.slowCancelled.Store(true)
			return 0, ctx.Err()
		case <-time.After(lazySafety):
			return 0, errors.New("slow: gate never closed")
		}
	}, dagr.Options{Name: "slow", Scope: d.onFirst})
	d.useSlow = dagr.Delayed(func(v int) int { d.usedSlow.Store(int64(v)); return v + 1 }, d.slow)
	failOpts.Name = "fail"
	failOpts.Scope = d.onSecond
	d.fail = dagr.Delayed(func() (int, error) { return 0, d.errBoom }, failOpts)
	args := []any{d.useSlow, d.fail}
	if withExtraFail {
		// Queued on processor 2 behind fail, without AllowError; it fails
		// once slow runs, so that there is a running branch to abort.
		d.extraFail = dagr.Delayed(func() (int, error) {
			select {
			case <-d.slowStarted:
				return 0, d.errExtra
			case <-time.After(lazySafety):
				return 0, errors.New("extra: slow never started")
			}
		}, dagr.Options{Name: "extra", Scope: d.onSecond})
		args = append(args, d.extraFail)
	} else {
		d.probe = dagr.Delayed(func() int { d.probeRan.Store(true); close(d.gate); return 1 },
			dagr.Options{Name: "probe", Scope: d.onSecond})
		args = append(args, d.probe)
	}
	d.top = dagr.Delayed(func(a, b, c int) int { d.topRan.Store(true); return a + b + c }, args...)
	return d
}

// checkFlowed verifies that fail's failure flowed: every other branch ran to
// its end before Compute returned, and Compute failed because top did.
func (d *lazyFlowDAG) checkFlowed(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("Compute succeeded; want the failure that reached the top thunk")
	}
	if !errors.Is(err, d.errBoom) {
		t.Errorf("Compute's error %v does not wrap the original %v", err, d.errBoom)
	}
	lazyTaskError(t, err)
	if d.slowCancelled.Load() {
		t.Error("the slow branch was cancelled: the failure aborted the computation")
	}
	if !d.probeRan.Load() {
		t.Error("the branch queued behind the failed thunk did not run")
	}
	if !d.slowReturned.Load() {
		t.Error("Compute returned before the slow branch ended")
	}
	if got := d.usedSlow.Load(); got != 10 {
		t.Errorf("the thunk using the slow branch's result saw %d before Compute returned; want 10", got)
	}
	if d.topRan.Load() {
		t.Error("the top thunk ran although an input failed")
	}
}

func TestLazyAllowErrors(t *testing.T) {
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
	d := lazyNewFlowDAG(dagr.Options{}, false)
	_, err := dagr.Compute(ctx, d.top, dagr.SchedulerOptions{AllowErrors: true})
	d.checkFlowed(t, err)
}

func TestLazyAllowErrorFailureOfTopOnly(t *testing.T) {
	// With AllowErrors, Compute fails exactly when t failed: a DAG whose
	// failure reaches the top through pick fails, with the original error.
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
	errBoom := errors.New("boom")
	var okRan atomic.Bool
	failing := dagr.Delayed(func() (int, error) { return 0, errBoom })
	ok := dagr.Delayed(func() int { okRan.Store(true); return 1 })
	pick := func(a, b int) int { return b }
	_, err := dagr.Compute(ctx, dagr.Delayed(pick, failing, ok), dagr.SchedulerOptions{AllowErrors: true})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Compute = %v; want an error wrapping %v", err, errBoom)
	}
	lazyTaskError(t, err)
	if !okRan.Load() {
		t.Error("the other branch did not run to its end")
	}

	// The same top over branches that succeed computes.
	v, err := dagr.Collect(ctx, dagr.Delayed(pick, ok, ok), dagr.SchedulerOptions{AllowErrors: true})
	if err != nil || v != 1 {
		t.Fatalf("Collect = %v, %v; want 1, nil", v, err)
	}
}

func TestLazyThunkAllowError(t *testing.T) {
	t.Run("FlowsDownstream", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		d := lazyNewFlowDAG(dagr.Options{AllowError: true}, false)
		_, err := dagr.Compute(ctx, d.top)
		d.checkFlowed(t, err)
	})

	t.Run("OtherFailureStillAborts", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		d := lazyNewFlowDAG(dagr.Options{AllowError: true}, true)
		_, err := dagr.Compute(ctx, d.top)
		if err == nil {
			t.Fatal("Compute succeeded")
		}
		if !errors.Is(err, d.errExtra) || errors.Is(err, d.errBoom) {
			t.Errorf("Compute's error is %v; want the failure of the thunk without AllowError (%v), which aborted", err, d.errExtra)
		}
		if te := lazyTaskError(t, err); te.Name != "extra" {
			t.Errorf("TaskError.Name = %q, want %q", te.Name, "extra")
		}
		if !d.slowCancelled.Load() {
			t.Error("the slow branch was not cancelled by the failure of a thunk without AllowError")
		}
		if !d.slowReturned.Load() {
			t.Error("Compute returned before the slow branch's f returned")
		}
		if d.usedSlow.Load() != 0 {
			t.Error("a thunk downstream of the cancelled branch ran")
		}
	})
}

func TestLazyBadCalls(t *testing.T) {
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
	variadicAfterOne := func(first int, rest ...int) int { return first + len(rest) }
	tests := []struct {
		name  string
		thunk func() *dagr.Thunk
		// spawn makes the same bad call with Spawn, when it can; the error
		// must then be the same.
		spawn func() *dagr.Task
		want  []string
	}{
		{
			name:  "TooManyArguments",
			thunk: func() *dagr.Thunk { return dagr.Delayed(lazyAdd1, 1, 2) },
			spawn: func() *dagr.Task { return dagr.Spawn(ctx, lazyAdd1, 1, 2) },
			want:  []string{"lazyAdd1", "takes 1 argument", "got 2"},
		},
		{
			name:  "TooFewArguments",
			thunk: func() *dagr.Thunk { return dagr.Delayed(lazyAdd, 1) },
			spawn: func() *dagr.Task { return dagr.Spawn(ctx, lazyAdd, 1) },
			want:  []string{"lazyAdd", "takes 2 argument", "got 1"},
		},
		{
			name:  "TooFewForVariadic",
			thunk: func() *dagr.Thunk { return dagr.Delayed(variadicAfterOne) },
			spawn: func() *dagr.Task { return dagr.Spawn(ctx, variadicAfterOne) },
			want:  []string{"takes at least 1 argument", "got 0"},
		},
		{
			name:  "WrongType",
			thunk: func() *dagr.Thunk { return dagr.Delayed(lazyAdd1, "x") },
			spawn: func() *dagr.Task { return dagr.Spawn(ctx, lazyAdd1, "x") },
			want:  []string{"argument 1 of", "lazyAdd1", "string", "int"},
		},
		{
			name:  "WrongTypeSecond",
			thunk: func() *dagr.Thunk { return dagr.Delayed(lazyAdd, 1, 2.5) },
			spawn: func() *dagr.Task { return dagr.Spawn(ctx, lazyAdd, 1, 2.5) },
			want:  []string{"argument 2 of", "lazyAdd", "float64", "int"},
		},
		{
			name:  "WrongTypeVariadic",
			thunk: func() *dagr.Thunk { return dagr.Delayed(lazyCombine, 1, 2, "3") },
			spawn: func() *dagr.Task { return dagr.Spawn(ctx, lazyCombine, 1, 2, "3") },
			want:  []string{"argument 3 of", "lazyCombine", "string", "int"},
		},
		{
			name:  "WrongTypeAfterOptions",
			thunk: func() *dagr.Thunk { return dagr.Delayed(lazyAdd1, dagr.Options{Name: "named"}, "x") },
			spawn: func() *dagr.Task { return dagr.Spawn(ctx, lazyAdd1, dagr.Options{Name: "named"}, "x") },
			want:  []string{"argument 1 of", "lazyAdd1", "string", "int"},
		},
		{
			name:  "NotAFunction",
			thunk: func() *dagr.Thunk { return dagr.Delayed(42, 1) },
			spawn: func() *dagr.Task { return dagr.Spawn(ctx, 42, 1) },
			want:  []string{"int", "not a function"},
		},
		{
			name:  "NilFunction",
			thunk: func() *dagr.Thunk { return dagr.Delayed(nil) },
			spawn: func() *dagr.Task { return dagr.Spawn(ctx, nil) },
			want:  []string{"nil"},
		},
		{
			name:  "NilThunkArgument",
			thunk: func() *dagr.Thunk { return dagr.Delayed(lazyAdd, 1, (*dagr.Thunk)(nil)) },
			want:  []string{"argument 2 of", "lazyAdd", "nil *Thunk"},
		},
		{
			name:  "NilChunkArgument",
			thunk: func() *dagr.Thunk { return dagr.Delayed(lazyAdd1, (*dagr.Chunk)(nil)) },
			spawn: func() *dagr.Task { return dagr.Spawn(ctx, lazyAdd1, (*dagr.Chunk)(nil)) },
			want:  []string{"argument 1 of", "lazyAdd1", "nil *Chunk"},
		},
		{
			name:  "DependencyOfWrongType",
			thunk: func() *dagr.Thunk { return dagr.Delayed(lazyAdd1, dagr.Delayed(strings.ToUpper, "x")) },
			want:  []string{"argument 1 of", "lazyAdd1", "result of", "string", "int"},
		},
		{
			name: "DependencyOfWrongTypeSecond",
			thunk: func() *dagr.Thunk {
				return dagr.Delayed(lazyAdd, dagr.Delayed(lazyAdd1, 1), dagr.Delayed(strings.ToUpper, "x"))
			},
			want: []string{"argument 2 of", "lazyAdd", "result of", "string", "int"},
		},
		{
			name: "BadCallBelowTop",
			thunk: func() *dagr.Thunk {
				return dagr.Delayed(lazyAdd1, dagr.Delayed(lazyAdd2, dagr.Delayed(lazyAdd1, "x")))
			},
			want: []string{"argument 1 of", "lazyAdd1", "string", "int"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var th *dagr.Thunk
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Delayed panicked: %v", r)
					}
				}()
				th = tt.thunk()
			}()
			c, err := dagr.Compute(ctx, th)
			if err == nil {
				v, _ := c.Fetch(ctx)
				t.Fatalf("Compute = %v, nil; want an error", v)
			}
			te := lazyTaskError(t, err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.spawn == nil {
				return
			}
			_, spawnErr := tt.spawn().Fetch(ctx)
			if spawnErr == nil {
				t.Fatal("the same call with Spawn did not fail")
			}
			if ste := lazyTaskError(t, spawnErr); ste.Err.Error() != te.Err.Error() {
				t.Errorf("Delayed's error %q differs from Spawn's %q for the same call", te.Err, ste.Err)
			}
		})
	}
}

func TestLazySpawnRejectsThunk(t *testing.T) {
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 1})
	var ran atomic.Bool
	th := dagr.Delayed(lazyAdd1, 1)
	task := dagr.Spawn(ctx, func(a, b int) int { ran.Store(true); return a + b }, 1, th)
	_, err := task.Fetch(ctx)
	if err == nil {
		t.Fatal("Spawn with a *Thunk argument succeeded")
	}
	lazyTaskError(t, err)
	for _, w := range []string{"argument 2", "*Thunk"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if ran.Load() {
		t.Error("f ran with a *Thunk argument")
	}
}

func TestLazyChunkArgument(t *testing.T) {
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
	c, err := dagr.Compute(ctx, lazySeed())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Spawn", func(t *testing.T) {
		v, err := dagr.Spawn(ctx, lazyAdd1, c).Fetch(ctx)
		if err != nil || v != 17 {
			t.Fatalf("Spawn(add1, chunk) = %v, %v; want 17, nil", v, err)
		}
		v, err = dagr.Spawn(ctx, lazyCombine, c, 1, c).Fetch(ctx)
		if err != nil || v != 33 {
			t.Fatalf("Spawn(combine, chunk, 1, chunk) = %v, %v; want 33, nil", v, err)
		}
	})

	t.Run("Delayed", func(t *testing.T) {
		v, err := dagr.Collect(ctx, dagr.Delayed(lazyAdd1, c))
		if err != nil || v != 17 {
			t.Fatalf("Delayed(add1, chunk) = %v, %v; want 17, nil", v, err)
		}
		v, err = dagr.Collect(ctx, dagr.Delayed(lazyAdd, c, dagr.Delayed(lazyAdd1, c)))
		if err != nil || v != 33 {
			t.Fatalf("Delayed(add, chunk, Delayed(add1, chunk)) = %v, %v; want 33, nil", v, err)
		}
	})

	t.Run("WrongType", func(t *testing.T) {
		_, err := dagr.Spawn(ctx, strings.ToUpper, c).Fetch(ctx)
		if err == nil || !strings.Contains(err.Error(), "argument 1") || !strings.Contains(err.Error(), "int") {
			t.Errorf("Spawn(ToUpper, int chunk) = %v; want an error about argument 1 and int", err)
		}
		_, err = dagr.Compute(ctx, dagr.Delayed(strings.ToUpper, c))
		if err == nil || !strings.Contains(err.Error(), "argument 1") || !strings.Contains(err.Error(), "int") {
			t.Errorf("Compute(Delayed(ToUpper, int chunk)) = %v; want an error about argument 1 and int", err)
		}
	})

	t.Run("TaskInDelayed", func(t *testing.T) {
		task := dagr.Spawn(ctx, lazyAdd, 1, 2)
		v, err := dagr.Collect(ctx, dagr.Delayed(lazyAdd1, task))
		if err != nil || v != 4 {
			t.Fatalf("Delayed(add1, task) = %v, %v; want 4, nil", v, err)
		}
	})
}

func TestLazyCollect(t *testing.T) {
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})

	t.Run("Task", func(t *testing.T) {
		v, err := dagr.Collect(ctx, dagr.Spawn(ctx, lazyAdd, 1, 2))
		if err != nil || v != 3 {
			t.Fatalf("Collect(task) = %v, %v; want 3, nil", v, err)
		}
	})

	t.Run("FailedTask", func(t *testing.T) {
		errNo := errors.New("no")
		_, err := dagr.Collect(ctx, dagr.Spawn(ctx, func() (int, error) { return 0, errNo }))
		if !errors.Is(err, errNo) {
			t.Fatalf("Collect(failed task) = %v; want an error wrapping %v", err, errNo)
		}
		lazyTaskError(t, err)
	})

	t.Run("Chunk", func(t *testing.T) {
		c, err := dagr.Compute(ctx, dagr.Delayed(strings.Repeat, "ab", 2))
		if err != nil {
			t.Fatal(err)
		}
		v, err := dagr.Collect(ctx, c)
		if err != nil || v != "abab" {
			t.Fatalf("Collect(chunk) = %v, %v; want abab, nil", v, err)
		}
	})

	t.Run("Thunk", func(t *testing.T) {
		v, err := dagr.Collect(ctx, dagr.Delayed(strings.Repeat, "ab", 2))
		if err != nil || v != "abab" {
			t.Fatalf("Collect(thunk) = %v, %v; want abab, nil", v, err)
		}
	})

	t.Run("PlainValues", func(t *testing.T) {
		p := &struct{ n int }{7}
		m := map[string]int{"a": 1}
		for _, x := range []any{42, "x", 2.5, p, nil, dagr.ThreadProc{Owner: 1, Thread: 1}} {
			v, err := dagr.Collect(ctx, x)
			if err != nil || v != x {
				t.Errorf("Collect(%v) = %v, %v; want it as is", x, v, err)
			}
		}
		v, err := dagr.Collect(ctx, m)
		if vm, ok := v.(map[string]int); err != nil || !ok || vm["a"] != 1 {
			t.Errorf("Collect(map) = %v, %v; want it as is", v, err)
		}
	})
}

func TestLazyComputeErrors(t *testing.T) {
	ctx, s := lazyScheduler(t, dagr.Config{Procs: 1})

	t.Run("NilThunk", func(t *testing.T) {
		if c, err := dagr.Compute(ctx, nil); err == nil {
			t.Fatalf("Compute(nil) = %v, nil; want an error", c)
		}
		if c, err := s.Compute(ctx, nil); err == nil {
			t.Fatalf("s.Compute(nil) = %v, nil; want an error", c)
		}
		if v, err := dagr.Collect(ctx, (*dagr.Thunk)(nil)); err == nil {
			t.Fatalf("Collect of a nil *Thunk = %v, nil; want an error", v)
		}
	})

	t.Run("TwoSchedulerOptions", func(t *testing.T) {
		var ran atomic.Bool
		th := dagr.Delayed(func() int { ran.Store(true); return 1 })
		if _, err := dagr.Compute(ctx, th, dagr.SchedulerOptions{}, dagr.SchedulerOptions{}); err == nil {
			t.Fatal("Compute with two SchedulerOptions succeeded")
		}
		if ran.Load() {
			t.Error("Compute ran a thunk although its options were refused")
		}
	})
}

func TestLazyComputeCancelled(t *testing.T) {
	t.Run("Before", func(t *testing.T) {
		// Like Spawn with a cancelled context, Compute with one starts
		// nothing. Several rounds, so that an abort that merely races with
		// the first thunks is caught.
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		var ran atomic.Int32
		for range 20 {
			leaves := make([]any, 64)
			for i := range leaves {
				leaves[i] = dagr.Delayed(lazyCounted(&ran), i)
			}
			c, err := dagr.Compute(ctx, dagr.Delayed(lazyCombine, leaves...))
			if err == nil {
				t.Fatalf("Compute with a cancelled context = %v, nil; want an error", c)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Compute's error %v does not wrap context.Canceled", err)
			}
		}
		if n := ran.Load(); n != 0 {
			t.Errorf("%d of 20×64 thunks ran although Compute's context was cancelled before it began", n)
		}
	})

	t.Run("While", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		started := make(chan struct{})
		var sawCancel, returned, downstreamRan atomic.Bool
		slow := dagr.Delayed(func(ctx context.Context) (int, error) {
			defer returned.Store(true)
			close(started)
			select {
			case <-ctx.Done():
				sawCancel.Store(true)
				return 0, ctx.Err()
			case <-time.After(lazySafety):
				return 0, errors.New("slow: never cancelled")
			}
		})
		top := dagr.Delayed(func(v int) int { downstreamRan.Store(true); return v }, slow)
		go func() {
			<-started
			cancel()
		}()
		_, err := dagr.Compute(ctx, top)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Compute = %v; want an error wrapping context.Canceled", err)
		}
		if !sawCancel.Load() {
			t.Error("the running thunk did not see its context cancelled")
		}
		if !returned.Load() {
			t.Error("Compute returned before the running f returned")
		}
		if downstreamRan.Load() {
			t.Error("a thunk downstream of the cancelled one ran")
		}
	})
}

// lazyCollectWithin collects x on a goroutine and fails the test if that
// takes longer than lazySafety (a deadlock), instead of hanging; the
// scheduler's Close at the end of the test then frees what is stuck.
func lazyCollectWithin(t *testing.T, ctx context.Context, x any) (any, error) {
	t.Helper()
	type outcome struct {
		v   any
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		v, err := dagr.Collect(ctx, x)
		done <- outcome{v, err}
	}()
	select {
	case o := <-done:
		return o.v, o.err
	case <-time.After(lazySafety):
		t.Fatalf("Collect did not return within %v: deadlock", lazySafety)
		return nil, nil
	}
}

func TestLazyNestedCompute(t *testing.T) {
	t.Run("InTask", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 1})
		outer := dagr.Spawn(ctx, func(ctx context.Context) (int, error) {
			c, err := dagr.Compute(ctx, lazySeed())
			if err != nil {
				return 0, err
			}
			v, err := dagr.Collect(ctx, c)
			if err != nil {
				return 0, err
			}
			return v.(int) + 1, nil
		})
		v, err := lazyCollectWithin(t, ctx, outer)
		if err != nil || v != 17 {
			t.Fatalf("nested Compute in a task = %v, %v; want 17, nil", v, err)
		}
	})

	t.Run("InThunk", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 1})
		outer := dagr.Delayed(func(ctx context.Context, base int) (int, error) {
			v, err := dagr.Collect(ctx, lazySeed())
			if err != nil {
				return 0, err
			}
			return base + v.(int), nil
		}, dagr.Delayed(lazyAdd1, 0))
		v, err := lazyCollectWithin(t, ctx, dagr.Delayed(lazyAdd1, outer))
		if err != nil || v != 18 {
			t.Fatalf("nested Compute in a thunk = %v, %v; want 18, nil", v, err)
		}
	})

	t.Run("Recursive", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 1})
		var fib func(ctx context.Context, n int) (int, error)
		fib = func(ctx context.Context, n int) (int, error) {
			if n < 2 {
				return n, nil
			}
			v, err := dagr.Collect(ctx, dagr.Delayed(lazyAdd, dagr.Delayed(fib, n-1), dagr.Delayed(fib, n-2)))
			if err != nil {
				return 0, err
			}
			return v.(int), nil
		}
		v, err := lazyCollectWithin(t, ctx, dagr.Delayed(fib, 10))
		if err != nil || v != 55 {
			t.Fatalf("recursive nested Compute = %v, %v; want 55, nil", v, err)
		}
	})

	t.Run("CancelReachesInner", func(t *testing.T) {
		// Cancelling the outer task aborts the computation its f runs.
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 1})
		started := make(chan struct{})
		innerCancelled := make(chan struct{})
		inner := dagr.Delayed(func(ctx context.Context) (int, error) {
			close(started)
			select {
			case <-ctx.Done():
				close(innerCancelled)
				return 0, ctx.Err()
			case <-time.After(lazySafety):
				return 0, errors.New("inner: never cancelled")
			}
		})
		outer := dagr.Spawn(ctx, func(ctx context.Context) (any, error) { return dagr.Collect(ctx, inner) })
		lazyWait(t, started, "the inner thunk's start")
		outer.Cancel()
		if _, err := lazyCollectWithin(t, ctx, outer); !errors.Is(err, context.Canceled) {
			t.Fatalf("Fetch of the cancelled outer task = %v; want context.Canceled", err)
		}
		lazyWait(t, outer.Done(), "the outer task's end")
		// The inner f sees the cancellation once the outer f's Compute
		// aborts (before the scheduler's Close, which would cancel it too).
		lazyWait(t, innerCancelled, "the inner thunk's cancellation")
	})
}

func TestLazySchedulerOptionsPlacement(t *testing.T) {
	second := dagr.ThreadProc{Owner: 1, Thread: 2}
	first := dagr.ThreadProc{Owner: 1, Thread: 1}

	t.Run("Scope", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		var mu sync.Mutex
		where := map[string]dagr.Processor{}
		record := func(name string) func(ctx context.Context, args ...int) int {
			return func(ctx context.Context, args ...int) int {
				mu.Lock()
				where[name] = dagr.CurrentProcessor(ctx)
				mu.Unlock()
				return lazyCombine(args...) + 1
			}
		}
		var leaves []any
		for i := range 8 {
			leaves = append(leaves, dagr.Delayed(record(fmt.Sprint("leaf", i)), i))
		}
		withOptions := func(o dagr.Options) []any { return append([]any{o}, leaves...) }
		named := dagr.Delayed(record("named"), withOptions(dagr.Options{Name: "named"})...)
		own := dagr.Delayed(record("own"), withOptions(dagr.Options{Scope: dagr.ExactScope(first)})...)
		top := dagr.Delayed(record("top"), named, own)
		_, err := dagr.Compute(ctx, top, dagr.SchedulerOptions{Scope: dagr.ExactScope(second)})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(where) != 11 {
			t.Fatalf("%d thunks ran, want 11", len(where))
		}
		for name, p := range where {
			want := dagr.Processor(second)
			if name == "own" {
				want = first
			}
			if p != want {
				t.Errorf("thunk %s ran on %v, want %v", name, p, want)
			}
		}
	})

	t.Run("Single", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		v, err := dagr.Collect(ctx, lazySeed(), dagr.SchedulerOptions{Single: 1})
		if err != nil || v != 16 {
			t.Fatalf("Collect with Single 1 = %v, %v; want 16, nil", v, err)
		}
		_, err = dagr.Compute(ctx, lazySeed(), dagr.SchedulerOptions{Single: 2})
		if !errors.Is(err, dagr.ErrNoProcessor) {
			t.Fatalf("Compute with Single 2 = %v; want an error wrapping ErrNoProcessor", err)
		}
		// A thunk with its own Single keeps it.
		own := dagr.Delayed(lazyAdd1, dagr.Options{Single: 1}, 1)
		v, err = dagr.Collect(ctx, own, dagr.SchedulerOptions{Single: 2})
		if err != nil || v != 2 {
			t.Fatalf("a thunk with its own Single under SchedulerOptions{Single: 2} = %v, %v; want 2, nil", v, err)
		}
	})
}

func TestLazyThunkCheckpointRestore(t *testing.T) {
	t.Run("Checkpoint", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		var got atomic.Value
		var checkpointed, early atomic.Bool
		produce := dagr.Delayed(func() int { return 7 }, dagr.Options{
			Checkpoint: func(ctx context.Context, result any) error {
				got.Store(result)
				for range 100 { // widen the window in which a dependent could run early
					runtime.Gosched()
				}
				checkpointed.Store(true)
				return nil
			},
		})
		dependent := dagr.Delayed(func(v int) int {
			if !checkpointed.Load() {
				early.Store(true)
			}
			return 2 * v
		}, produce)
		v, err := dagr.Collect(ctx, dependent)
		if err != nil || v != 14 {
			t.Fatalf("Collect = %v, %v; want 14, nil", v, err)
		}
		if g := got.Load(); g != 7 {
			t.Errorf("Checkpoint got %v, want 7", g)
		}
		if early.Load() {
			t.Error("a dependent ran before Checkpoint returned")
		}

		// Checkpoint of the top thunk has returned before Compute returns.
		checkpointed.Store(false)
		if _, err := dagr.Compute(ctx, produce); err != nil {
			t.Fatal(err)
		}
		if !checkpointed.Load() {
			t.Error("Compute returned before the top thunk's Checkpoint returned")
		}
	})

	t.Run("RestoreSkipsF", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		var fRan, restoreRan atomic.Bool
		restored := dagr.Delayed(func() int { fRan.Store(true); return 1 }, dagr.Options{
			Restore: func(ctx context.Context) (any, bool, error) {
				restoreRan.Store(true)
				return 41, true, nil
			},
		})
		v, err := dagr.Collect(ctx, dagr.Delayed(lazyAdd1, restored))
		if err != nil || v != 42 {
			t.Fatalf("Collect = %v, %v; want 42 (the restored 41, plus one), nil", v, err)
		}
		if !restoreRan.Load() {
			t.Error("Restore did not run")
		}
		if fRan.Load() {
			t.Error("f ran although Restore returned ok")
		}
	})

	t.Run("RestoredIsNotCheckpointed", func(t *testing.T) {
		// As in Dagger: a restored result is not checkpointed again
		// (Checkpoint runs after f succeeds, and f did not run).
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 1})
		var checkpoints atomic.Int32
		restored := dagr.Delayed(func() int { return 1 }, dagr.Options{
			Restore:    func(context.Context) (any, bool, error) { return 41, true, nil },
			Checkpoint: func(context.Context, any) error { checkpoints.Add(1); return nil },
		})
		v, err := dagr.Collect(ctx, restored)
		if err != nil || v != 41 {
			t.Fatalf("Collect = %v, %v; want 41, nil", v, err)
		}
		if n := checkpoints.Load(); n != 0 {
			t.Errorf("Checkpoint ran %d times for a restored result; want 0", n)
		}
	})

	t.Run("RestoreNotOK", func(t *testing.T) {
		var log logBuffer
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 1, Logger: lazyLogger(&log)})
		var fRan atomic.Bool
		th := dagr.Delayed(func() int { fRan.Store(true); return 5 }, dagr.Options{
			Restore: func(context.Context) (any, bool, error) { return 99, false, nil },
		})
		v, err := dagr.Collect(ctx, th)
		if err != nil || v != 5 || !fRan.Load() {
			t.Fatalf("Collect = %v, %v (f ran: %v); want 5 from f", v, err, fRan.Load())
		}
		if s := log.String(); s != "" {
			t.Errorf("a Restore that found nothing logged %q", s)
		}
	})

	hookFailures := []struct {
		name    string
		opts    func(errDisk error) dagr.Options
		logWant string
	}{
		{
			name: "RestoreError",
			opts: func(errDisk error) dagr.Options {
				return dagr.Options{Restore: func(context.Context) (any, bool, error) { return 99, true, errDisk }}
			},
			logWant: "restore failed",
		},
		{
			name: "RestorePanic",
			opts: func(errDisk error) dagr.Options {
				return dagr.Options{Restore: func(context.Context) (any, bool, error) { panic(errDisk) }}
			},
			logWant: "restore failed",
		},
		{
			name: "CheckpointError",
			opts: func(errDisk error) dagr.Options {
				return dagr.Options{Checkpoint: func(context.Context, any) error { return errDisk }}
			},
			logWant: "checkpoint failed",
		},
		{
			name: "CheckpointPanic",
			opts: func(errDisk error) dagr.Options {
				return dagr.Options{Checkpoint: func(context.Context, any) error { panic(errDisk) }}
			},
			logWant: "checkpoint failed",
		},
	}
	for _, tt := range hookFailures {
		t.Run(tt.name, func(t *testing.T) {
			var log logBuffer
			ctx, _ := lazyScheduler(t, dagr.Config{Procs: 1, Logger: lazyLogger(&log)})
			errDisk := errors.New("disk on fire")
			var fRan atomic.Bool
			th := dagr.Delayed(func() int { fRan.Store(true); return 5 }, tt.opts(errDisk))
			v, err := dagr.Collect(ctx, dagr.Delayed(lazyAdd1, th))
			if err != nil || v != 6 {
				t.Fatalf("Collect = %v, %v; want 6, nil: a failing hook must not fail the thunk", v, err)
			}
			if !fRan.Load() {
				t.Error("f did not run")
			}
			s := log.String()
			if !strings.Contains(s, tt.logWant) || !strings.Contains(s, "disk on fire") {
				t.Errorf("log %q does not report %q with the hook's error", s, tt.logWant)
			}
			if !strings.Contains(s, "level=WARN") && !strings.Contains(s, "level=ERROR") {
				t.Errorf("log %q: the hook's failure is not logged as a warning or an error", s)
			}
		})
	}
}

func TestLazySchedulerCheckpointRestore(t *testing.T) {
	t.Run("RestoreRunsNothing", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		var ran atomic.Int32
		top := dagr.Delayed(lazyCounted(&ran), dagr.Delayed(lazyCounted(&ran), 1))
		c, err := dagr.Compute(ctx, top, dagr.SchedulerOptions{
			Restore: func(context.Context) (any, bool, error) { return "restored", true, nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := c.Fetch(ctx); err != nil || v != "restored" {
			t.Errorf("chunk = %v, %v; want the restored value", v, err)
		}
		if n := ran.Load(); n != 0 {
			t.Errorf("%d thunks ran although the computation was restored", n)
		}
		v, err := dagr.Collect(ctx, top, dagr.SchedulerOptions{
			Restore: func(context.Context) (any, bool, error) { return 99, true, nil },
		})
		if err != nil || v != 99 || ran.Load() != 0 {
			t.Errorf("Collect with a Restore = %v, %v (%d ran); want 99 and nothing run", v, err, ran.Load())
		}
	})

	t.Run("RestoreNotOK", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		v, err := dagr.Collect(ctx, lazySeed(), dagr.SchedulerOptions{
			Restore: func(context.Context) (any, bool, error) { return 99, false, nil },
		})
		if err != nil || v != 16 {
			t.Fatalf("Collect = %v, %v; want 16, nil", v, err)
		}
	})

	t.Run("RestoreError", func(t *testing.T) {
		var log logBuffer
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2, Logger: lazyLogger(&log)})
		v, err := dagr.Collect(ctx, lazySeed(), dagr.SchedulerOptions{
			Restore: func(context.Context) (any, bool, error) { return 99, true, errors.New("disk on fire") },
		})
		if err != nil || v != 16 {
			t.Fatalf("Collect = %v, %v; want 16 computed, nil", v, err)
		}
		if s := log.String(); !strings.Contains(s, "restore") || !strings.Contains(s, "disk on fire") {
			t.Errorf("log %q does not report the failed restore", s)
		}
	})

	t.Run("Checkpoint", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		var got atomic.Value
		var calls atomic.Int32
		v, err := dagr.Collect(ctx, lazySeed(), dagr.SchedulerOptions{
			Checkpoint: func(ctx context.Context, result any) error {
				calls.Add(1)
				got.Store(result)
				return nil
			},
		})
		if err != nil || v != 16 {
			t.Fatalf("Collect = %v, %v; want 16, nil", v, err)
		}
		if calls.Load() != 1 || got.Load() != 16 {
			t.Errorf("Checkpoint ran %d times and got %v; want once, with 16", calls.Load(), got.Load())
		}
	})

	t.Run("CheckpointError", func(t *testing.T) {
		var log logBuffer
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2, Logger: lazyLogger(&log)})
		v, err := dagr.Collect(ctx, lazySeed(), dagr.SchedulerOptions{
			Checkpoint: func(context.Context, any) error { return errors.New("disk on fire") },
		})
		if err != nil || v != 16 {
			t.Fatalf("Collect = %v, %v; want 16, nil: a failed checkpoint is not fatal", v, err)
		}
		if s := log.String(); !strings.Contains(s, "checkpoint") || !strings.Contains(s, "disk on fire") {
			t.Errorf("log %q does not report the failed checkpoint", s)
		}
	})

	t.Run("NoCheckpointOnFailure", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		for _, allow := range []bool{false, true} {
			var calls atomic.Int32
			_, err := dagr.Compute(ctx, dagr.Delayed(lazyAdd1, dagr.Delayed(func() (int, error) { return 0, errors.New("no") })),
				dagr.SchedulerOptions{
					AllowErrors: allow,
					Checkpoint:  func(context.Context, any) error { calls.Add(1); return nil },
				})
			if err == nil {
				t.Fatalf("AllowErrors %v: Compute succeeded", allow)
			}
			if calls.Load() != 0 {
				t.Errorf("AllowErrors %v: the computation's Checkpoint ran although it failed", allow)
			}
		}
	})
}
