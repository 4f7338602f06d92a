package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

var errFailureSentinel = errors.New("failure sentinel")

// failureCounted returns a function of one int that counts its calls.
func failureCounted(calls *atomic.Int32) func(int) int {
	return func(x int) int { calls.Add(1); return x + 1 }
}

func TestFailureThroughThreeLevels(t *testing.T) {
	for _, failFirst := range []bool{true, false} {
		name := "fails after the dependents are spawned"
		if failFirst {
			name = "fails before the dependents are spawned"
		}
		t.Run(name, func(t *testing.T) {
			s := spawnSched(t, dagr.Config{Procs: 2})
			defer s.Close()
			bg := context.Background()
			var calls atomic.Int32
			gate := make(chan struct{})
			a := s.Spawn(bg, func() (int, error) {
				<-gate
				return 0, fmt.Errorf("reading the input: %w", errFailureSentinel)
			}, dagr.Options{Name: "alpha"})
			if failFirst {
				close(gate)
				spawnAwait(t, a.Done(), "a's end")
			}
			b := s.Spawn(bg, failureCounted(&calls), dagr.Options{Name: "beta"}, a)
			c := s.Spawn(bg, failureCounted(&calls), dagr.Options{Name: "gamma"}, b)
			if !failFirst {
				close(gate)
			}

			te := spawnFailure(t, c)
			if te.Task != c.ID() || te.Name != "gamma" {
				t.Errorf("TaskError{Task: %d, Name: %q}, want {%d, gamma}", te.Task, te.Name, c.ID())
			}
			if te.Origin != a.ID() {
				t.Errorf("TaskError.Origin = %d, want a's id %d", te.Origin, a.ID())
			}
			if !errors.Is(te, errFailureSentinel) {
				t.Errorf("errors.Is(%v, sentinel) = false", te)
			}
			spawnWantMessage(t, te, "gamma", "alpha", strconv.FormatUint(c.ID(), 10), strconv.FormatUint(a.ID(), 10),
				"reading the input: failure sentinel")

			mid := spawnFailure(t, b)
			if mid.Task != b.ID() || mid.Origin != a.ID() || !errors.Is(mid, errFailureSentinel) {
				t.Errorf("b's error %#v: want Task %d, Origin %d, wrapping the sentinel", mid, b.ID(), a.ID())
			}
			own := spawnFailure(t, a)
			if own.Task != a.ID() || own.Origin != a.ID() || own.Name != "alpha" {
				t.Errorf("a's error %#v: want Task and Origin %d, Name alpha", own, a.ID())
			}
			spawnWantMessage(t, own, "alpha", "reading the input: failure sentinel")
			if n := calls.Load(); n != 0 {
				t.Errorf("the dependents' f ran %d times, want 0", n)
			}
		})
	}
}

func TestFailureThroughDiamond(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 4})
	defer s.Close()
	bg := context.Background()
	var calls atomic.Int32
	gate := make(chan struct{})
	a := s.Spawn(bg, func() (int, error) { <-gate; return 0, errFailureSentinel })
	b := s.Spawn(bg, failureCounted(&calls), a)
	c := s.Spawn(bg, failureCounted(&calls), a)
	d := s.Spawn(bg, func(x, y int) int { calls.Add(1); return x + y }, b, c)
	close(gate)

	for _, task := range []*dagr.Task{b, c, d} {
		te := spawnFailure(t, task)
		if te.Task != task.ID() || te.Origin != a.ID() || !errors.Is(te, errFailureSentinel) {
			t.Errorf("error of %v: %#v; want Task %d, Origin %d, wrapping the sentinel", task, te, task.ID(), a.ID())
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("f of the tasks below the failure ran %d times, want 0", n)
	}
}

func TestFailureDoesNotWaitForOtherInputs(t *testing.T) {
	tests := []struct {
		name        string
		failedFirst bool // the failed input is the first argument
		failEarly   bool // it fails before the dependent is spawned
	}{
		{"failed input first, failing later", true, false},
		{"failed input last, failing later", false, false},
		{"failed input first, already failed", true, true},
		{"failed input last, already failed", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := spawnSched(t, dagr.Config{Procs: 2})
			defer s.Close()
			bg := context.Background()
			var calls atomic.Int32
			blocked, unblock := spawnGate()
			defer unblock()
			failGate := make(chan struct{})
			blocker := s.Spawn(bg, func() int { <-blocked; return 1 }, dagr.Options{Occupancy: dagr.NoOccupancy})
			failer := s.Spawn(bg, func() (int, error) { <-failGate; return 0, errFailureSentinel })
			if tc.failEarly {
				close(failGate)
				spawnAwait(t, failer.Done(), "the failing input's end")
			}
			sum := func(x, y int) int { calls.Add(1); return x + y }
			args := []any{failer, blocker}
			if !tc.failedFirst {
				args = []any{blocker, failer}
			}
			d := s.Spawn(bg, sum, args...)
			e := s.Spawn(bg, failureCounted(&calls), d)
			if !tc.failEarly {
				close(failGate)
			}

			for _, task := range []*dagr.Task{d, e} {
				te := spawnFailure(t, task)
				if te.Origin != failer.ID() || !errors.Is(te, errFailureSentinel) {
					t.Errorf("error of %v: %v (origin %d); want origin %d, wrapping the sentinel", task, te, te.Origin, failer.ID())
				}
			}
			if blocker.Ready() {
				t.Error("the blocked input ended before its channel was closed")
			}
			unblock()
			if got := spawnFetch[int](t, blocker); got != 1 {
				t.Errorf("the blocked input gave %d, want 1", got)
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("f of the failed dependents ran %d times, want 0", n)
			}
		})
	}
}

func TestFailureSpawnedLater(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()
	var calls atomic.Int32
	a := s.Spawn(bg, func() (int, error) { return 0, errFailureSentinel })
	spawnAwait(t, a.Done(), "a's end")
	ok := s.Spawn(bg, spawnAdd1, 1)
	spawnFetch[int](t, ok)

	tests := []struct {
		name string
		f    any
		args []any
	}{
		{"only argument", failureCounted(&calls), []any{a}},
		{"beside a good dependency", func(x, y int) int { calls.Add(1); return x + y }, []any{ok, a}},
		{"before a plain value", func(x, y int) int { calls.Add(1); return x + y }, []any{a, 3}},
		{"variadic", func(xs ...int) int { calls.Add(1); return len(xs) }, []any{1, ok, a, 2}},
		{"with options", failureCounted(&calls), []any{dagr.Options{Name: "late"}, a}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			task := s.Spawn(bg, tc.f, tc.args...)
			te := spawnFailure(t, task)
			if te.Task != task.ID() || te.Origin != a.ID() || !errors.Is(te, errFailureSentinel) {
				t.Errorf("error %#v: want Task %d, Origin %d, wrapping the sentinel", te, task.ID(), a.ID())
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("f of tasks spawned on a failed task ran %d times, want 0", n)
	}
}

type failureCode int

func (c failureCode) Error() string { return fmt.Sprintf("code %d", int(c)) }

func TestPanics(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()

	tests := []struct {
		name  string
		f     any
		args  []any
		check func(t *testing.T, pe *dagr.PanicError, err error)
	}{
		{"string", func() int { panic("boom") }, nil, func(t *testing.T, pe *dagr.PanicError, err error) {
			if pe.Value != "boom" {
				t.Errorf("Value = %#v, want \"boom\"", pe.Value)
			}
			spawnWantMessage(t, err, "boom")
		}},
		{"error", func() int { panic(errFailureSentinel) }, nil, func(t *testing.T, pe *dagr.PanicError, err error) {
			if !errors.Is(err, errFailureSentinel) {
				t.Errorf("errors.Is(%v, sentinel) = false through a panic(err)", err)
			}
			if pe.Value != errFailureSentinel {
				t.Errorf("Value = %#v, want the sentinel", pe.Value)
			}
		}},
		{"wrapped error", func(ctx context.Context) error { panic(fmt.Errorf("deep: %w", errFailureSentinel)) }, nil,
			func(t *testing.T, pe *dagr.PanicError, err error) {
				if !errors.Is(err, errFailureSentinel) {
					t.Errorf("errors.Is(%v, sentinel) = false", err)
				}
			}},
		{"error type", func(int) int { panic(failureCode(7)) }, []any{1}, func(t *testing.T, pe *dagr.PanicError, err error) {
			var code failureCode
			if !errors.As(err, &code) || code != 7 {
				t.Errorf("errors.As(%v, *failureCode) gave %v", err, code)
			}
		}},
		{"runtime error", func() int { var xs []int; return xs[3] }, nil, func(t *testing.T, pe *dagr.PanicError, err error) {
			var re runtime.Error
			if !errors.As(err, &re) {
				t.Errorf("errors.As(%v, runtime.Error) = false", err)
			}
		}},
		{"non-error value", func() (int, error) { panic(42) }, nil, func(t *testing.T, pe *dagr.PanicError, err error) {
			if pe.Value != 42 {
				t.Errorf("Value = %#v, want 42", pe.Value)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			task := s.Spawn(bg, tc.f, tc.args...)
			below := s.Spawn(bg, func(x int) int { return x }, task)
			for _, tk := range []*dagr.Task{task, below} {
				te := spawnFailure(t, tk)
				if te.Origin != task.ID() {
					t.Errorf("error of %v has origin %d, want %d", tk, te.Origin, task.ID())
				}
				var pe *dagr.PanicError
				if !errors.As(te, &pe) {
					t.Fatalf("error %v of %v: errors.As(*dagr.PanicError) = false", te, tk)
				}
				if len(pe.Stack) == 0 {
					t.Error("PanicError.Stack is empty")
				} else if !strings.Contains(string(pe.Stack), "failure_test.go") {
					t.Errorf("PanicError.Stack does not show the panicking function:\n%s", pe.Stack)
				}
				tc.check(t, pe, te)
			}
		})
	}
	// The process and the scheduler keep running.
	if got := spawnFetch[int](t, s.Spawn(bg, spawnAdd1, 1)); got != 2 {
		t.Errorf("a task after the panics gave %d, want 2", got)
	}
}

func TestEndSignalsDoNotReportFailure(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()
	for name, f := range map[string]any{
		"error":    func() error { return errFailureSentinel },
		"panic":    func() { panic("boom") },
		"bad call": 7,
	} {
		t.Run(name, func(t *testing.T) {
			task := s.Spawn(bg, f)
			below := s.Spawn(bg, func(any) {}, task)
			for _, tk := range []*dagr.Task{task, below} {
				if err := tk.Wait(spawnCtx(t)); err != nil {
					t.Errorf("Wait on a failed task = %v, want nil", err)
				}
				if !tk.Ready() {
					t.Error("Ready() = false after Wait returned")
				}
				select {
				case <-tk.Done():
				default:
					t.Error("Done() is not closed after Wait returned")
				}
				spawnFailure(t, tk)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()

	// failing fails its first n tries, with an error or a panic, then
	// gives the try number.
	failing := func(runs *atomic.Int32, n int32, panics bool) func() (int32, error) {
		return func() (int32, error) {
			try := runs.Add(1)
			if try <= n {
				if panics {
					panic(fmt.Sprintf("try %d", try))
				}
				return 0, fmt.Errorf("try %d: %w", try, errFailureSentinel)
			}
			return try, nil
		}
	}
	tests := []struct {
		name      string
		failures  int32
		panics    bool
		retries   int
		wantRuns  int32
		wantError bool
	}{
		{"two errors, two retries", 2, false, 2, 3, false},
		{"two errors, one retry", 2, false, 1, 2, true},
		{"two panics, two retries", 2, true, 2, 3, false},
		{"two panics, one retry", 2, true, 1, 2, true},
		{"one error, no retries", 1, false, 0, 1, true},
		{"no error, retries unused", 0, false, 3, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var runs atomic.Int32
			task := s.Spawn(context.Background(), failing(&runs, tc.failures, tc.panics), dagr.Options{Retries: tc.retries})
			if tc.wantError {
				te := spawnFailure(t, task)
				last := fmt.Sprintf("try %d", tc.wantRuns)
				spawnWantMessage(t, te, last)
				if tc.panics {
					var pe *dagr.PanicError
					if !errors.As(te, &pe) {
						t.Errorf("error %v is not a panic", te)
					}
				} else if !errors.Is(te, errFailureSentinel) {
					t.Errorf("error %v does not wrap the sentinel", te)
				}
			} else if got := spawnFetch[int32](t, task); got != tc.wantRuns {
				t.Errorf("Fetch = %d, want the result of try %d", got, tc.wantRuns)
			}
			if n := runs.Load(); n != tc.wantRuns {
				t.Errorf("f ran %d times, want %d", n, tc.wantRuns)
			}
		})
	}

	t.Run("a cancellation is not retried", func(t *testing.T) {
		var runs atomic.Int32
		task := s.Spawn(context.Background(), func() error {
			runs.Add(1)
			return fmt.Errorf("gave up: %w", context.Canceled)
		}, dagr.Options{Retries: 3})
		if te := spawnFailure(t, task); !errors.Is(te, context.Canceled) {
			t.Errorf("error %v does not wrap context.Canceled", te)
		}
		if n := runs.Load(); n != 1 {
			t.Errorf("f ran %d times, want 1", n)
		}
	})
}

func TestTimeout(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()
	const timeout = 50 * time.Millisecond

	t.Run("f sees its context end", func(t *testing.T) {
		seen := make(chan error, 1)
		task := s.Spawn(bg, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			seen <- ctx.Err()
			return 0, ctx.Err()
		}, dagr.Options{Timeout: timeout})
		te := spawnFailure(t, task)
		if !errors.Is(te, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", te)
		}
		if err := spawnAwait(t, seen, "f to see ctx.Done()"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("f's ctx.Err() = %v, want context.DeadlineExceeded", err)
		}
	})

	t.Run("f ignores its context", func(t *testing.T) {
		release, open := spawnGate()
		defer open()
		returned := make(chan struct{})
		task := s.Spawn(bg, func() int {
			defer close(returned)
			<-release
			return 1
		}, dagr.Options{Timeout: timeout})
		te := spawnFailure(t, task)
		if !errors.Is(te, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", te)
		}
		open()
		spawnAwait(t, returned, "f to return")
		if _, err := task.Fetch(spawnCtx(t)); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("after f returned, Fetch = %v; what f returns after the timeout must be dropped", err)
		}
	})

	t.Run("a quick task is not affected", func(t *testing.T) {
		if got := spawnFetch[int](t, s.Spawn(bg, spawnAdd1, dagr.Options{Timeout: time.Minute}, 1)); got != 2 {
			t.Errorf("Fetch = %d, want 2", got)
		}
	})

	t.Run("each try has its own timeout", func(t *testing.T) {
		for _, succeedOnLast := range []bool{false, true} {
			var tries atomic.Int32
			fresh := make(chan bool, 10)
			task := s.Spawn(bg, func(ctx context.Context) (int, error) {
				try := tries.Add(1)
				_, hasDeadline := ctx.Deadline()
				select {
				case fresh <- ctx.Err() == nil && hasDeadline:
				default:
				}
				if succeedOnLast && try == 3 {
					return int(try), nil
				}
				<-ctx.Done()
				return 0, ctx.Err()
			}, dagr.Options{Timeout: timeout, Retries: 2})
			if succeedOnLast {
				if got := spawnFetch[int](t, task); got != 3 {
					t.Errorf("Fetch = %d, want 3, the result of the third try", got)
				}
			} else if te := spawnFailure(t, task); !errors.Is(te, context.DeadlineExceeded) {
				t.Errorf("error %v does not wrap context.DeadlineExceeded", te)
			}
			if n := tries.Load(); n != 3 {
				t.Errorf("f ran %d times, want 3: each try should time out on its own", n)
			}
			for i := range tries.Load() {
				if !<-fresh {
					t.Errorf("try %d began with an ended context or one without a deadline", i+1)
				}
			}
		}
	})
}

func TestRestoreAndCheckpoint(t *testing.T) {
	bg := context.Background()
	var logs logBuffer
	s := spawnSched(t, dagr.Config{Procs: 2, Logger: spawnLogger(&logs)})
	defer s.Close()

	t.Run("restore ok skips f", func(t *testing.T) {
		var calls atomic.Int32
		task := s.Spawn(bg, failureCounted(&calls), dagr.Options{
			Restore: func(ctx context.Context) (any, bool, error) { return 99, true, nil },
		}, 1)
		below := s.Spawn(bg, spawnAdd1, task)
		if got := spawnFetch[int](t, task); got != 99 {
			t.Errorf("Fetch = %d, want the restored 99", got)
		}
		if got := spawnFetch[int](t, below); got != 100 {
			t.Errorf("the dependent got %d, want 100: it should see the restored value", got-1)
		}
		if n := calls.Load(); n != 0 {
			t.Errorf("f ran %d times, want 0", n)
		}
	})

	t.Run("restore not ok runs f", func(t *testing.T) {
		var calls, restores atomic.Int32
		task := s.Spawn(bg, failureCounted(&calls), dagr.Options{
			Restore: func(ctx context.Context) (any, bool, error) { restores.Add(1); return 99, false, nil },
		}, 1)
		if got := spawnFetch[int](t, task); got != 2 {
			t.Errorf("Fetch = %d, want f's 2", got)
		}
		if calls.Load() != 1 || restores.Load() != 1 {
			t.Errorf("f ran %d times and Restore %d times, want once each", calls.Load(), restores.Load())
		}
	})

	t.Run("restore error is logged and f runs", func(t *testing.T) {
		var calls atomic.Int32
		task := s.Spawn(bg, failureCounted(&calls), dagr.Options{
			Restore: func(ctx context.Context) (any, bool, error) { return 99, true, errors.New("restore-boom") },
		}, 1)
		if got := spawnFetch[int](t, task); got != 2 {
			t.Errorf("Fetch = %d, want f's 2", got)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("f ran %d times, want once", n)
		}
		if !strings.Contains(logs.String(), "restore-boom") {
			t.Errorf("the restore error is not in the log:\n%s", logs.String())
		}
	})

	t.Run("restore panic is logged and f runs", func(t *testing.T) {
		var calls atomic.Int32
		task := s.Spawn(bg, failureCounted(&calls), dagr.Options{
			Restore: func(ctx context.Context) (any, bool, error) { panic("restore-panic") },
		}, 1)
		if got := spawnFetch[int](t, task); got != 2 {
			t.Errorf("Fetch = %d, want f's 2", got)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("f ran %d times, want once", n)
		}
		if !strings.Contains(logs.String(), "restore-panic") {
			t.Errorf("the restore panic is not in the log:\n%s", logs.String())
		}
	})

	t.Run("restore runs once before the tries", func(t *testing.T) {
		var runs, restores atomic.Int32
		task := s.Spawn(bg, func() (int, error) {
			if runs.Add(1) < 3 {
				return 0, errFailureSentinel
			}
			return 5, nil
		}, dagr.Options{
			Retries: 2,
			Restore: func(ctx context.Context) (any, bool, error) { restores.Add(1); return nil, false, nil },
		})
		if got := spawnFetch[int](t, task); got != 5 {
			t.Errorf("Fetch = %d, want 5", got)
		}
		if restores.Load() != 1 || runs.Load() != 3 {
			t.Errorf("Restore ran %d times and f %d; want 1 and 3", restores.Load(), runs.Load())
		}
	})

	t.Run("checkpoint", func(t *testing.T) {
		var got atomic.Value
		var returned atomic.Bool
		task := s.Spawn(bg, spawnAdd1, dagr.Options{
			Checkpoint: func(ctx context.Context, result any) error {
				if ctx == nil {
					return errors.New("nil ctx")
				}
				got.Store(result)
				returned.Store(true)
				return nil
			},
		}, 41)
		below := s.Spawn(bg, func(int) bool { return returned.Load() }, task)
		if v := spawnFetch[int](t, task); v != 42 {
			t.Errorf("Fetch = %d, want 42", v)
		}
		if !returned.Load() {
			t.Error("Fetch returned before Checkpoint did")
		}
		if v := got.Load(); v != 42 {
			t.Errorf("Checkpoint got %v, want the result 42", v)
		}
		if !spawnFetch[bool](t, below) {
			t.Error("a dependent ran before Checkpoint returned")
		}
	})

	t.Run("checkpoint error is logged, not fatal", func(t *testing.T) {
		task := s.Spawn(bg, spawnAdd1, dagr.Options{
			Checkpoint: func(ctx context.Context, result any) error { return errors.New("checkpoint-boom") },
		}, 1)
		if v := spawnFetch[int](t, task); v != 2 {
			t.Errorf("Fetch = %d, want 2", v)
		}
		if !strings.Contains(logs.String(), "checkpoint-boom") {
			t.Errorf("the checkpoint error is not in the log:\n%s", logs.String())
		}
	})

	t.Run("checkpoint panic is logged, not fatal", func(t *testing.T) {
		task := s.Spawn(bg, spawnAdd1, dagr.Options{
			Checkpoint: func(ctx context.Context, result any) error { panic("checkpoint-panic") },
		}, 1)
		if v := spawnFetch[int](t, task); v != 2 {
			t.Errorf("Fetch = %d, want 2", v)
		}
		if !strings.Contains(logs.String(), "checkpoint-panic") {
			t.Errorf("the checkpoint panic is not in the log:\n%s", logs.String())
		}
	})

	t.Run("no checkpoint after a failure", func(t *testing.T) {
		var checkpoints atomic.Int32
		task := s.Spawn(bg, func() (int, error) { return 0, errFailureSentinel }, dagr.Options{
			Checkpoint: func(ctx context.Context, result any) error { checkpoints.Add(1); return nil },
		})
		spawnFailure(t, task)
		if n := checkpoints.Load(); n != 0 {
			t.Errorf("Checkpoint ran %d times after f failed, want 0", n)
		}
	})
}
