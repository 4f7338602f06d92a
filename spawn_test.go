package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// spawnPatience bounds every wait of these tests: a wait that takes longer means
// the behaviour under test is missing (a task that never ends), and the test
// fails instead of hanging.
const spawnPatience = 10 * time.Second

// spawnCtx is the context the tests fetch and wait with.
func spawnCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), spawnPatience)
	t.Cleanup(cancel)
	return ctx
}

func spawnSched(t *testing.T, cfg dagr.Config) *dagr.Scheduler {
	t.Helper()
	s, err := dagr.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return s
}

// spawnAwait waits for ch to be closed (or to deliver), failing the test after
// spawnPatience.
func spawnAwait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(spawnPatience):
		t.Fatalf("gave up waiting for %s after %v", what, spawnPatience)
		panic("unreachable")
	}
}

// spawnGate returns a channel for tasks to wait on and a function that
// closes it, however often it is called. A test defers the opener after
// its scheduler's Close, so that a test that stops early frees its tasks
// before Close waits for them.
func spawnGate() (gate <-chan struct{}, open func()) {
	ch := make(chan struct{})
	return ch, sync.OnceFunc(func() { close(ch) })
}

// spawnFetch fetches task as a T and fails the test on error.
func spawnFetch[T any](t *testing.T, task *dagr.Task) T {
	t.Helper()
	v, err := dagr.Fetch[T](spawnCtx(t), task)
	if err != nil {
		t.Fatalf("Fetch(%v): %v", task, err)
	}
	return v
}

// spawnFailure fetches task, which must have failed, and returns its
// *TaskError.
func spawnFailure(t *testing.T, task *dagr.Task) *dagr.TaskError {
	t.Helper()
	v, err := task.Fetch(spawnCtx(t))
	if err == nil {
		t.Fatalf("Fetch(%v) = %v, nil; want a failure", task, v)
	}
	var te *dagr.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("Fetch(%v): error %v (%T) is not a *dagr.TaskError", task, err, err)
	}
	if v != nil {
		t.Errorf("Fetch(%v) = %v with error %v; want a nil value", task, v, err)
	}
	return te
}

// spawnWantMessage checks that err's message holds every one of parts.
func spawnWantMessage(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func spawnLogger(buf *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func spawnAdd1(x int) int { return x + 1 }

func spawnAdd2(x int) int { return x + 2 }

func spawnCombine(xs ...int) int {
	sum := 0
	for _, x := range xs {
		sum += x
	}
	return sum
}

// spawnJoin is variadic with a fixed parameter first, a shape that has no fast
// call path.
func spawnJoin(sep string, parts ...string) string { return strings.Join(parts, sep) }

func TestSeedDAG(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 4})
	defer s.Close()

	for _, spawner := range []struct {
		name  string
		spawn func(f any, args ...any) *dagr.Task
	}{
		{"method", func(f any, args ...any) *dagr.Task { return s.Spawn(context.Background(), f, args...) }},
		{"package", func(f any, args ...any) *dagr.Task {
			return dagr.Spawn(dagr.WithScheduler(context.Background(), s), f, args...)
		}},
	} {
		t.Run(spawner.name, func(t *testing.T) {
			p := spawner.spawn(spawnAdd1, 4)
			q := spawner.spawn(spawnAdd2, p)
			r := spawner.spawn(spawnAdd1, 3)
			total := spawner.spawn(spawnCombine, p, q, r)
			for _, c := range []struct {
				task *dagr.Task
				want int
			}{{p, 5}, {q, 7}, {r, 4}, {total, 16}} {
				if got := spawnFetch[int](t, c.task); got != c.want {
					t.Errorf("Fetch(%v) = %d, want %d", c.task, got, c.want)
				}
			}
		})
	}
}

func TestContextFirst(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()

	// checkCtx reports what is wrong with the context a task was handed.
	checkCtx := func(ctx context.Context) error {
		switch {
		case ctx == nil:
			return errors.New("ctx is nil")
		case ctx.Err() != nil:
			return fmt.Errorf("ctx already ended: %w", ctx.Err())
		case dagr.CurrentProcessor(ctx) == nil:
			return errors.New("CurrentProcessor(ctx) is nil inside the task")
		}
		return nil
	}
	tests := []struct {
		name string
		f    any
		args []any
		want any
	}{
		{"ctx only", func(ctx context.Context) (string, error) { return "ok", checkCtx(ctx) }, nil, "ok"},
		{"ctx and int", func(ctx context.Context, x int) (int, error) { return 2 * x, checkCtx(ctx) }, []any{21}, 42},
		{"ctx and variadic", func(ctx context.Context, xs ...string) (string, error) {
			return strings.Join(xs, "+"), checkCtx(ctx)
		}, []any{"a", "b", "c"}, "a+b+c"},
		{"ctx returning error", func(ctx context.Context) error { return checkCtx(ctx) }, nil, nil},
		{"ctx and a dependency", func(ctx context.Context, x int) (int, error) { return x * 10, checkCtx(ctx) },
			[]any{s.Spawn(bg, spawnAdd1, 1)}, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Spawn(bg, tc.f, tc.args...).Fetch(spawnCtx(t))
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Fetch = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestVariadic(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()
	five := s.Spawn(bg, spawnAdd1, 4)
	word := s.Spawn(bg, func() string { return "dag" })

	tests := []struct {
		name string
		f    any
		args []any
		want any
	}{
		{"no variadic arguments", spawnCombine, nil, 0},
		{"plain values", spawnCombine, []any{1, 2, 3}, 6},
		{"dependencies among the variadic arguments", spawnCombine, []any{1, five, 10, five}, 21},
		{"fixed parameter only", spawnJoin, []any{"-"}, ""},
		{"fixed parameter and values", spawnJoin, []any{"-", "a", "b"}, "a-b"},
		{"dependency in the variadic part", spawnJoin, []any{"/", word, "r", word}, "dag/r/dag"},
		{"variadic of any", func(xs ...any) any { return len(xs) }, []any{1, "two", nil, five}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Spawn(bg, tc.f, tc.args...).Fetch(spawnCtx(t))
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Fetch = %#v, want %#v", got, tc.want)
			}
		})
	}
}

type spawnPoint struct{ X, Y int }

func TestResultShapes(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	errShape := errors.New("shape failed")

	var ran atomic.Int32
	tests := []struct {
		name    string
		f       any
		want    any
		wantErr error
	}{
		{"R", func() string { ran.Add(1); return "v" }, "v", nil},
		{"R struct", func() spawnPoint { ran.Add(1); return spawnPoint{1, 2} }, spawnPoint{1, 2}, nil},
		{"R nil interface", func() any { ran.Add(1); return nil }, nil, nil},
		{"R nil pointer", func() *spawnPoint { ran.Add(1); return nil }, (*spawnPoint)(nil), nil},
		{"R with error nil", func() (int, error) { ran.Add(1); return 3, nil }, 3, nil},
		{"R with error", func() (int, error) { ran.Add(1); return 3, errShape }, nil, errShape},
		{"error nil", func() error { ran.Add(1); return nil }, nil, nil},
		{"error", func() error { ran.Add(1); return errShape }, nil, errShape},
		{"nothing", func() { ran.Add(1) }, nil, nil},
		{"ctx and nothing", func(context.Context) { ran.Add(1) }, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := ran.Load()
			task := s.Spawn(context.Background(), tc.f)
			defer func() {
				if n := ran.Load() - before; n != 1 {
					t.Errorf("f ran %d times, want once", n)
				}
			}()
			got, err := task.Fetch(spawnCtx(t))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Fetch = %v, %v; want an error wrapping %v", got, err, tc.wantErr)
				}
				if got != nil {
					t.Errorf("Fetch of a failed task gave value %v besides its error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Fetch = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestOptionsFirst(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()

	t.Run("name", func(t *testing.T) {
		task := s.Spawn(bg, spawnAdd1, dagr.Options{Name: "plus-one"}, 1)
		if got := task.Name(); got != "plus-one" {
			t.Errorf("Name() = %q, want %q", got, "plus-one")
		}
		if got := spawnFetch[int](t, task); got != 2 {
			t.Errorf("Fetch = %d, want 2: the Options must not be taken as an argument", got)
		}
		if !strings.Contains(task.String(), "plus-one") {
			t.Errorf("String() = %q does not hold the name", task.String())
		}
	})
	t.Run("default name is the function's", func(t *testing.T) {
		for _, task := range []*dagr.Task{s.Spawn(bg, spawnAdd1, 1), s.Spawn(bg, spawnAdd1, dagr.Options{}, 1)} {
			if got := task.Name(); !strings.HasSuffix(got, "spawnAdd1") {
				t.Errorf("Name() = %q, want the function's name, spawnAdd1", got)
			}
			spawnFetch[int](t, task)
		}
	})
	t.Run("only the first argument", func(t *testing.T) {
		nameOf := func(o dagr.Options) string { return o.Name }
		task := s.Spawn(bg, nameOf, dagr.Options{Name: "options"}, dagr.Options{Name: "argument"})
		if got := spawnFetch[string](t, task); got != "argument" {
			t.Errorf("f got Options %q, want the second one, %q", got, "argument")
		}
		if task.Name() != "options" {
			t.Errorf("Name() = %q, want %q", task.Name(), "options")
		}
	})
	t.Run("valid options", func(t *testing.T) {
		for _, o := range []dagr.Options{
			{Occupancy: 0.5},
			{Occupancy: 1},
			{Occupancy: dagr.NoOccupancy},
			{Single: 1},
			{Scope: dagr.AnyScope()},
			{Scope: dagr.WorkerScope(1)},
			{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 2})},
			{Scope: dagr.ExactScope(dagr.OSProc{ID: 1})},
			{Priority: 3, Retries: 1, Timeout: time.Minute, TimeUtil: time.Second, AllocUtil: 1 << 10},
		} {
			if got := spawnFetch[int](t, s.Spawn(bg, spawnAdd1, o, 1)); got != 2 {
				t.Errorf("with %+v: Fetch = %d, want 2", o, got)
			}
		}
	})
}

func TestFetchTyped(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()
	ctx := spawnCtx(t)

	t.Run("success", func(t *testing.T) {
		got, err := dagr.Fetch[int](ctx, s.Spawn(bg, spawnAdd1, 41))
		if err != nil || got != 42 {
			t.Errorf("Fetch[int] = %v, %v; want 42, nil", got, err)
		}
		var w fmt.Stringer
		w, err = dagr.Fetch[fmt.Stringer](ctx, s.Spawn(bg, func() *strings.Builder {
			var b strings.Builder
			b.WriteString("built")
			return &b
		}))
		if err != nil || w.String() != "built" {
			t.Errorf("Fetch[fmt.Stringer] = %v, %v; want the builder", w, err)
		}
	})
	t.Run("wrong type", func(t *testing.T) {
		task := s.Spawn(bg, spawnAdd1, 1)
		got, err := dagr.Fetch[string](ctx, task)
		if err == nil {
			t.Fatalf("Fetch[string] of an int result = %q, nil; want an error", got)
		}
		if got != "" {
			t.Errorf("Fetch[string] gave %q besides its error", got)
		}
		spawnWantMessage(t, err, "int", "string")
	})
	t.Run("failed task", func(t *testing.T) {
		boom := errors.New("typed boom")
		_, err := dagr.Fetch[int](ctx, s.Spawn(bg, func() (int, error) { return 0, boom }))
		var te *dagr.TaskError
		if !errors.As(err, &te) || !errors.Is(err, boom) {
			t.Errorf("Fetch[int] of a failed task: %v; want a *TaskError wrapping %v", err, boom)
		}
	})

	nilTask := s.Spawn(bg, func() any { return nil })
	t.Run("nil as interface", func(t *testing.T) { spawnFetchZero[error](t, nilTask) })
	t.Run("nil as any", func(t *testing.T) { spawnFetchZero[any](t, nilTask) })
	t.Run("nil as pointer", func(t *testing.T) { spawnFetchZero[*spawnPoint](t, nilTask) })
	t.Run("nil as slice", func(t *testing.T) { spawnFetchZero[[]int](t, nilTask) })
	t.Run("nil as map", func(t *testing.T) { spawnFetchZero[map[string]int](t, nilTask) })
	t.Run("nil as channel", func(t *testing.T) { spawnFetchZero[chan int](t, nilTask) })
	t.Run("nil as function", func(t *testing.T) { spawnFetchZero[func()](t, nilTask) })
	t.Run("nothing as pointer", func(t *testing.T) { spawnFetchZero[*spawnPoint](t, s.Spawn(bg, func() {})) })
	t.Run("nil as int", func(t *testing.T) {
		got, err := dagr.Fetch[int](ctx, nilTask)
		if err == nil {
			t.Fatalf("Fetch[int] of a nil result = %d, nil; want an error", got)
		}
		spawnWantMessage(t, err, "nil", "int")
	})
	t.Run("nil as struct", func(t *testing.T) {
		if got, err := dagr.Fetch[spawnPoint](ctx, nilTask); err == nil {
			t.Fatalf("Fetch[spawnPoint] of a nil result = %v, nil; want an error", got)
		}
	})
}

// spawnFetchZero checks that Fetch[T] of a task whose result is nil gives the
// zero T and no error.
func spawnFetchZero[T any](t *testing.T, task *dagr.Task) {
	t.Helper()
	got, err := dagr.Fetch[T](spawnCtx(t), task)
	if err != nil {
		t.Fatalf("Fetch[%v] of a nil result: %v; want the zero value", reflect.TypeFor[T](), err)
	}
	if !reflect.ValueOf(&got).Elem().IsZero() {
		t.Errorf("Fetch[%v] of a nil result = %v; want the zero value", reflect.TypeFor[T](), got)
	}
}

// spawnBadCallRuns counts the calls of the functions below, which the bad calls
// of TestBadCalls must never make.
var spawnBadCallRuns atomic.Int32

func spawnTakesInt(x int) int { spawnBadCallRuns.Add(1); return x }

func spawnTakesThree(a, b, c int) int { spawnBadCallRuns.Add(1); return a + b + c }

func spawnTakesStringAndInts(s string, xs ...int) int {
	spawnBadCallRuns.Add(1)
	return len(s) + len(xs)
}

func spawnTakesTwoPlus(a, b int, rest ...int) int { spawnBadCallRuns.Add(1); return a + b + len(rest) }

func spawnTakesPointer(p *spawnPoint) int { spawnBadCallRuns.Add(1); return p.X }

func spawnReturnsTwoInts() (int, int) { spawnBadCallRuns.Add(1); return 1, 2 }

func TestBadCalls(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()
	str := s.Spawn(bg, func() string { return "five" })
	nothing := s.Spawn(bg, func() any { return nil })

	tests := []struct {
		name string
		f    any
		args []any
		want []string // parts of the message
	}{
		{"f not a function", 42, nil, []string{"int", "not a function"}},
		{"f a string", "add1", []any{1}, []string{"string", "not a function"}},
		{"nil f", nil, []any{1}, []string{"nil"}},
		{"nil func value", (func(int) int)(nil), []any{1}, []string{"nil"}},
		{"bad result shape", spawnReturnsTwoInts, nil, []string{"spawnReturnsTwoInts", "(int, int)"}},
		{"too few arguments", spawnTakesThree, []any{1, 2}, []string{"spawnTakesThree", "3", "2"}},
		{"no arguments", spawnTakesInt, nil, []string{"spawnTakesInt", "1", "0"}},
		{"too many arguments", spawnTakesThree, []any{1, 2, 3, 4, 5}, []string{"spawnTakesThree", "3", "5"}},
		{"variadic too few", spawnTakesTwoPlus, []any{1}, []string{"spawnTakesTwoPlus", "2", "1"}},
		{"wrong argument type", spawnTakesThree, []any{1, "two", 3}, []string{"spawnTakesThree", "argument 2", "string", "int"}},
		{"wrong fixed type before variadic", spawnTakesStringAndInts, []any{1, 2}, []string{"spawnTakesStringAndInts", "argument 1", "int", "string"}},
		{"wrong variadic type", spawnTakesStringAndInts, []any{"s", 1, 2.5}, []string{"spawnTakesStringAndInts", "argument 3", "float64", "int"}},
		{"wrong pointer type", spawnTakesPointer, []any{spawnPoint{}}, []string{"spawnTakesPointer", "argument 1", "dagr_test.spawnPoint", "*dagr_test.spawnPoint"}},
		{"nil for an int", spawnTakesInt, []any{nil}, []string{"spawnTakesInt", "argument 1", "nil", "int"}},
		{"dependency of the wrong type", spawnTakesInt, []any{str}, []string{"spawnTakesInt", "argument 1", "string", "int"}},
		{"dependency of the wrong type, later position", spawnTakesThree, []any{1, 2, str}, []string{"spawnTakesThree", "argument 3", "string", "int"}},
		{"nil dependency for an int", spawnTakesInt, []any{nothing}, []string{"spawnTakesInt", "argument 1", "nil", "int"}},
		{"thunk argument", spawnTakesInt, []any{&dagr.Thunk{}}, []string{"spawnTakesInt", "argument 1", "Thunk"}},
		{"delayed thunk argument", spawnTakesInt, []any{dagr.Delayed(spawnAdd1, 1)}, []string{"spawnTakesInt", "argument 1", "Thunk"}},
		{"thunk among the variadic arguments", spawnTakesStringAndInts, []any{"s", 1, &dagr.Thunk{}}, []string{"spawnTakesStringAndInts", "argument 3", "Thunk"}},
		{"nil task", spawnTakesInt, []any{(*dagr.Task)(nil)}, []string{"spawnTakesInt", "argument 1", "nil", "Task"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var task *dagr.Task
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Fatalf("Spawn panicked: %v", v)
					}
				}()
				task = s.Spawn(bg, tc.f, tc.args...)
			}()
			te := spawnFailure(t, task)
			if te.Task != task.ID() || te.Origin != task.ID() {
				t.Errorf("TaskError{Task: %d, Origin: %d}; want both %d, the task itself", te.Task, te.Origin, task.ID())
			}
			var pe *dagr.PanicError
			if errors.As(te, &pe) {
				t.Errorf("the bad call ran f, which panicked: %v; want a failure before running", pe)
			}
			// The whole message is what users see; it names the task, whose
			// default name is the function's.
			spawnWantMessage(t, te, tc.want...)
		})
	}
	if n := spawnBadCallRuns.Load(); n != 0 {
		t.Errorf("the functions of bad calls ran %d times, want 0", n)
	}
}

func TestBadOptions(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	var ran atomic.Int32
	f := func(x int) int { ran.Add(1); return x }

	tests := []struct {
		name    string
		opts    dagr.Options
		want    []string
		wantErr error
	}{
		{"occupancy above 1", dagr.Options{Occupancy: 1.5}, []string{"Occupancy", "1.5"}, nil},
		{"negative occupancy", dagr.Options{Occupancy: -0.5}, []string{"Occupancy", "-0.5"}, nil},
		{"negative retries", dagr.Options{Retries: -1}, []string{"Retries", "-1"}, nil},
		{"negative timeout", dagr.Options{Timeout: -time.Second}, []string{"Timeout", "-1s"}, nil},
		{"negative single", dagr.Options{Single: -1}, []string{"Single", "-1"}, nil},
		{"single names a missing worker", dagr.Options{Single: 2}, []string{"2"}, dagr.ErrNoProcessor},
		{"scope of a missing worker", dagr.Options{Scope: dagr.WorkerScope(3)}, nil, dagr.ErrNoProcessor},
		{"scope of a missing processor", dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 3})}, nil, dagr.ErrNoProcessor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Name = "badly-optioned"
			task := s.Spawn(context.Background(), f, tc.opts, 1)
			if task.Name() != "badly-optioned" {
				t.Errorf("Name() = %q, want the Options' name", task.Name())
			}
			te := spawnFailure(t, task)
			spawnWantMessage(t, te.Err, tc.want...)
			if tc.wantErr != nil && !errors.Is(te, tc.wantErr) {
				t.Errorf("error %v does not wrap %v", te, tc.wantErr)
			}
		})
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("f ran %d times with bad options, want 0", n)
	}
}

func TestNewNegativeProcs(t *testing.T) {
	s, err := dagr.New(dagr.Config{Procs: -1})
	if err == nil {
		s.Close()
		t.Fatal("New(Config{Procs: -1}) gave no error")
	}
	if s != nil {
		t.Errorf("New(Config{Procs: -1}) gave a scheduler besides its error")
	}
	spawnWantMessage(t, err, "Procs", "-1")
}

func TestTaskHandle(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	bg := context.Background()
	gate, open := spawnGate()
	defer open()
	task := s.Spawn(bg, func() int { <-gate; return 7 })
	other := s.Spawn(bg, spawnAdd1, 1)

	if task.ID() == 0 || task.ID() == other.ID() {
		t.Errorf("IDs %d and %d: want distinct non-zero ids", task.ID(), other.ID())
	}
	if task.Ready() {
		t.Error("Ready() before the task ended")
	}
	select {
	case <-task.Done():
		t.Error("Done() closed before the task ended")
	default:
	}
	ended, cancel := context.WithCancel(bg)
	cancel()
	if err := task.Wait(ended); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with an ended ctx on a running task = %v, want context.Canceled", err)
	}
	if v, err := task.Fetch(ended); !errors.Is(err, context.Canceled) || v != nil {
		t.Errorf("Fetch with an ended ctx on a running task = %v, %v; want nil, context.Canceled", v, err)
	} else if _, isTaskErr := errors.AsType[*dagr.TaskError](err); isTaskErr {
		t.Errorf("Fetch with an ended ctx gave a *TaskError %v; the task itself goes on", err)
	}

	open()
	spawnAwait(t, task.Done(), "Done()")
	if !task.Ready() {
		t.Error("Ready() is false after Done() was closed")
	}
	if err := task.Wait(spawnCtx(t)); err != nil {
		t.Errorf("Wait after the end = %v", err)
	}
	if err := task.Wait(ended); err != nil {
		t.Errorf("Wait with an ended ctx after the task ended = %v, want nil", err)
	}
	if got := spawnFetch[int](t, task); got != 7 {
		t.Errorf("Fetch = %d, want 7: the task must go on after a Fetch gave up", got)
	}
	if got, err := task.Fetch(ended); err != nil || got != 7 {
		t.Errorf("Fetch with an ended ctx after the task ended = %v, %v; want 7, nil", got, err)
	}
	select {
	case <-task.Done():
	default:
		t.Error("a second call of Done() gave a channel that is not closed")
	}
}

func TestConcurrentFetch(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	defer s.Close()
	gate := make(chan struct{})
	task := s.Spawn(context.Background(), func() []int { <-gate; return []int{1, 2, 3} })

	const fetchers = 16
	ctx := spawnCtx(t)
	var wg sync.WaitGroup
	var waiting sync.WaitGroup
	waiting.Add(fetchers)
	results := make(chan []int, fetchers)
	for range fetchers {
		wg.Go(func() {
			waiting.Done()
			v, err := dagr.Fetch[[]int](ctx, task)
			if err != nil {
				t.Errorf("Fetch: %v", err)
			}
			results <- v
		})
	}
	waiting.Wait()
	close(gate)
	wg.Wait()
	close(results)
	n := 0
	for v := range results {
		n++
		if !slices.Equal(v, []int{1, 2, 3}) {
			t.Errorf("a fetcher got %v, want [1 2 3]", v)
		}
	}
	if n != fetchers {
		t.Errorf("%d fetchers returned, want %d", n, fetchers)
	}
}

func TestConcurrentDiamonds(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 4})
	defer s.Close()
	double := func(x int) int { return 2 * x }
	sum := func(a, b int) int { return a + b }

	const spawners = 64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range spawners {
		wg.Go(func() {
			<-start
			ctx := context.Background()
			a := s.Spawn(ctx, func() int { return i })
			b := s.Spawn(ctx, double, a)
			c := s.Spawn(ctx, spawnAdd1, a)
			d := s.Spawn(ctx, sum, b, c)
			got, err := dagr.Fetch[int](spawnCtx(t), d)
			if want := 3*i + 1; err != nil || got != want {
				t.Errorf("diamond %d: Fetch = %d, %v; want %d", i, got, err, want)
			}
		})
	}
	close(start)
	wg.Wait()
}

func TestLongChain(t *testing.T) {
	s := spawnSched(t, dagr.Config{})
	defer s.Close()
	const length = 10_000
	ctx := context.Background()
	task := s.Spawn(ctx, func() int { return 0 })
	for range length {
		task = s.Spawn(ctx, spawnAdd1, task)
	}
	if got := spawnFetch[int](t, task); got != length {
		t.Errorf("Fetch of the chain's end = %d, want %d", got, length)
	}
}

func TestClosedScheduler(t *testing.T) {
	s := spawnSched(t, dagr.Config{Procs: 2})
	bg := context.Background()
	before := s.Spawn(bg, spawnAdd1, 1)
	if got := spawnFetch[int](t, before); got != 2 {
		t.Fatalf("Fetch before Close = %d, want 2", got)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	var ran atomic.Int32
	f := func(x int) int { ran.Add(1); return x }
	tests := []struct {
		name string
		task func() *dagr.Task
	}{
		{"method", func() *dagr.Task { return s.Spawn(bg, f, 1) }},
		{"package level", func() *dagr.Task { return dagr.Spawn(dagr.WithScheduler(bg, s), f, 1) }},
		{"on a result from before Close", func() *dagr.Task { return s.Spawn(bg, f, before) }},
		{"with options", func() *dagr.Task { return s.Spawn(bg, f, dagr.Options{Name: "late"}, 1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te := spawnFailure(t, tc.task())
			if !errors.Is(te, dagr.ErrClosed) {
				t.Errorf("error %v does not wrap ErrClosed", te)
			}
		})
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("f ran %d times on a closed scheduler", n)
	}
	if got := spawnFetch[int](t, before); got != 2 {
		t.Errorf("Fetch after Close of a task that ended before = %d, want 2", got)
	}
}

func TestSchedulersSideBySide(t *testing.T) {
	var log1, log3 logBuffer
	s1 := spawnSched(t, dagr.Config{Procs: 1, Logger: spawnLogger(&log1)})
	defer s1.Close()
	s3 := spawnSched(t, dagr.Config{Procs: 3, Logger: spawnLogger(&log3)})
	defer s3.Close()
	ctx1 := dagr.WithScheduler(context.Background(), s1)
	ctx3 := dagr.WithScheduler(context.Background(), s3)

	where := func(ctx context.Context) dagr.Processor { return dagr.CurrentProcessor(ctx) }

	t.Run("one processor", func(t *testing.T) {
		var tasks []*dagr.Task
		for range 20 {
			tasks = append(tasks, dagr.Spawn(ctx1, where))
		}
		for _, task := range tasks {
			if p := spawnFetch[dagr.Processor](t, task); p != (dagr.ThreadProc{Owner: 1, Thread: 1}) {
				t.Errorf("a task on the one-processor scheduler ran on %v, want ThreadProc(1, 1)", p)
			}
		}
	})

	t.Run("three processors at once", func(t *testing.T) {
		// The three tasks wait for each other, so they must run at the same
		// time, on three processors.
		var arrived atomic.Int32
		all := make(chan struct{})
		meet := func(ctx context.Context) (dagr.Processor, error) {
			if arrived.Add(1) == 3 {
				close(all)
			}
			select {
			case <-all:
				return dagr.CurrentProcessor(ctx), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var threads []int
		var tasks []*dagr.Task
		for range 3 {
			tasks = append(tasks, dagr.Spawn(ctx3, meet))
		}
		for _, task := range tasks {
			p := spawnFetch[dagr.Processor](t, task)
			tp, ok := p.(dagr.ThreadProc)
			if !ok || tp.Owner != 1 {
				t.Fatalf("CurrentProcessor = %v, want a ThreadProc of worker 1", p)
			}
			threads = append(threads, tp.Thread)
		}
		slices.Sort(threads)
		if !slices.Equal(threads, []int{1, 2, 3}) {
			t.Errorf("threads %v, want [1 2 3]", threads)
		}
	})

	// mark makes a task log marker through its scheduler's logger.
	mark := func(marker string) dagr.Options {
		return dagr.Options{Checkpoint: func(context.Context, any) error { return errors.New(marker) }}
	}
	t.Run("logs go to the scheduler that ran the task", func(t *testing.T) {
		spawnFetch[int](t, dagr.Spawn(ctx1, spawnAdd1, mark("marker-one"), 1))
		spawnFetch[int](t, dagr.Spawn(ctx3, spawnAdd1, mark("marker-three"), 1))
		// A task's own context spawns on the task's scheduler, whatever
		// scheduler the caller's context named.
		nested := func(ctx context.Context) (int, error) {
			return dagr.Fetch[int](ctx, dagr.Spawn(ctx, spawnAdd1, mark("marker-nested"), 1))
		}
		spawnFetch[int](t, s1.Spawn(ctx3, nested))
		one, three := log1.String(), log3.String()
		if !strings.Contains(one, "marker-one") || strings.Contains(three, "marker-one") {
			t.Errorf("marker-one should be logged by the first scheduler only:\nfirst: %s\nsecond: %s", one, three)
		}
		if !strings.Contains(three, "marker-three") || strings.Contains(one, "marker-three") {
			t.Errorf("marker-three should be logged by the second scheduler only:\nfirst: %s\nsecond: %s", one, three)
		}
		if !strings.Contains(one, "marker-nested") || strings.Contains(three, "marker-nested") {
			t.Errorf("marker-nested should be logged by the first scheduler only:\nfirst: %s\nsecond: %s", one, three)
		}
	})

	t.Run("a dependency from another scheduler", func(t *testing.T) {
		// The input runs on the second scheduler; the dependent belongs to
		// the first one, whose only processor a blocker holds. The dependent
		// must wait for that processor, not run where its input ran.
		gate, open := spawnGate()
		defer open()
		input := dagr.Spawn(ctx3, func() int { <-gate; return 2 })
		blocker, release := cancelBlocker(t, s1)
		defer release()
		dependent := dagr.Spawn(ctx1, spawnAdd1, mark("marker-cross"), input)
		open()
		spawnFetch[int](t, input)
		// A correct scheduler cannot end the dependent now, so this wait
		// cannot fail it.
		select {
		case <-dependent.Done():
			t.Error("a task of the one-processor scheduler ran while another task held its processor")
		case <-time.After(100 * time.Millisecond):
		}
		release()
		spawnFetch[int](t, blocker)
		if got := spawnFetch[int](t, dependent); got != 3 {
			t.Errorf("Fetch = %d, want 3", got)
		}
		one, three := log1.String(), log3.String()
		if !strings.Contains(one, "marker-cross") || strings.Contains(three, "marker-cross") {
			t.Errorf("marker-cross should be logged by the first scheduler only:\nfirst: %s\nsecond: %s", one, three)
		}
	})

	t.Run("closing one leaves the other", func(t *testing.T) {
		s2 := spawnSched(t, dagr.Config{Procs: 2})
		defer s2.Close()
		s2.Close()
		if te := spawnFailure(t, s2.Spawn(context.Background(), spawnAdd1, 1)); !errors.Is(te, dagr.ErrClosed) {
			t.Errorf("error %v does not wrap ErrClosed", te)
		}
		if got := spawnFetch[int](t, dagr.Spawn(ctx3, spawnAdd1, 1)); got != 2 {
			t.Errorf("Fetch on the other scheduler = %d, want 2", got)
		}
	})
}

func TestDefaultScheduler(t *testing.T) {
	first, second := dagr.Default(), dagr.Default()
	if first != second {
		t.Fatal("Default() gave two schedulers")
	}
	ctx := context.Background()
	if p := dagr.CurrentProcessor(ctx); p != nil {
		t.Errorf("CurrentProcessor outside a task = %v, want nil", p)
	}
	task := dagr.Spawn(ctx, func(ctx context.Context) dagr.Processor { return dagr.CurrentProcessor(ctx) })
	p := spawnFetch[dagr.Processor](t, task)
	if tp, ok := p.(dagr.ThreadProc); !ok || tp.Owner != 1 || tp.Thread < 1 {
		t.Errorf("a task on Default() ran on %v, want a ThreadProc of worker 1", p)
	}
	if got := spawnFetch[int](t, dagr.Default().Spawn(ctx, spawnAdd1, 1)); got != 2 {
		t.Errorf("Default().Spawn: Fetch = %d, want 2", got)
	}
}
