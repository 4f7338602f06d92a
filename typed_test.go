package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// The functions of the typed tasks below, one or two per arity and shape.

func typedSeven() int       { return 7 }
func typedSquare(x int) int { return x * x }
func typedRepeat(s string, n int) string {
	return strings.Repeat(s, n)
}
func typedSum3(a, b, c int) int { return a + b + c }
func typedFormat(s string, n int, x float64, ok bool) string {
	return fmt.Sprint(s, n, x, ok)
}
func typedSum(xs ...int) int {
	sum := 0
	for _, x := range xs {
		sum += x
	}
	return sum
}

func typedNow(ctx context.Context) (int, error) { return 1, ctx.Err() }

// typedParse is strconv.Atoi in the full form.
func typedParse(_ context.Context, s string) (int, error) { return strconv.Atoi(s) }

func typedDivide(_ context.Context, a, b int) (int, error) {
	if b == 0 {
		return 0, errTypedDivideByZero
	}
	return a / b, nil
}

var errTypedDivideByZero = errors.New("divide by zero")

func typedScale3(_ context.Context, x, y, k int) (int, error) { return (x + y) * k, nil }

func typedJoin4(_ context.Context, a, b, c, d string) (string, error) { return a + b + c + d, nil }

func typedSumCtx(ctx context.Context, xs ...int) (int, error) { return typedSum(xs...), ctx.Err() }

// typedCtx returns a context with a scheduler of two processors, closed
// when the test ends, and a deadline past which a wait means a task that
// never ends.
func typedCtx(t *testing.T) context.Context {
	t.Helper()
	s, err := dagr.New(dagr.Config{Procs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(dagr.WithScheduler(context.Background(), s), spawnPatience)
	t.Cleanup(cancel)
	return ctx
}

// typedFetch is t.Fetch, failing the test on an error.
func typedFetch[R any](t *testing.T, ctx context.Context, task dagr.TaskOf[R]) R {
	t.Helper()
	v, err := task.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTypedSpawnArities spawns a typed task of every arity and shape, with
// values and typed tasks as arguments, and fetches its result as its own
// type.
func TestTypedSpawnArities(t *testing.T) {
	ctx := typedCtx(t)
	three := dagr.Spawn1(ctx, typedSquare, dagr.Value(3)) // 9
	word := dagr.Spawn2(ctx, typedRepeat, dagr.Value("ab"), dagr.Value(2))
	tests := []struct {
		name string
		run  func() (any, error)
		want any
	}{
		{"Spawn0", func() (any, error) { return dagr.Spawn0(ctx, typedSeven).Fetch(ctx) }, 7},
		{"Spawn1 of a value", func() (any, error) { return three.Fetch(ctx) }, 9},
		{"Spawn1 of a task", func() (any, error) { return dagr.Spawn1(ctx, typedSquare, three).Fetch(ctx) }, 81},
		{"Spawn2", func() (any, error) { return dagr.Spawn2(ctx, typedRepeat, word, dagr.Value(3)).Fetch(ctx) }, "abababababab"},
		{"Spawn3", func() (any, error) {
			return dagr.Spawn3(ctx, typedSum3, three, dagr.Value(1), dagr.Spawn0(ctx, typedSeven)).Fetch(ctx)
		}, 17},
		{"Spawn4", func() (any, error) {
			return dagr.Spawn4(ctx, typedFormat, word, three, dagr.Value(0.5), dagr.Value(true)).Fetch(ctx)
		}, "abab9 0.5 true"},
		{"Spawn0Ctx", func() (any, error) { return dagr.Spawn0Ctx(ctx, typedNow).Fetch(ctx) }, 1},
		{"Spawn1Ctx", func() (any, error) { return dagr.Spawn1Ctx(ctx, typedParse, dagr.Value("42")).Fetch(ctx) }, 42},
		{"Spawn2Ctx", func() (any, error) { return dagr.Spawn2Ctx(ctx, typedDivide, three, dagr.Value(2)).Fetch(ctx) }, 4},
		{"Spawn3Ctx", func() (any, error) {
			return dagr.Spawn3Ctx(ctx, typedScale3, three, three, dagr.Value(2)).Fetch(ctx)
		}, 36},
		{"Spawn4Ctx", func() (any, error) {
			return dagr.Spawn4Ctx(ctx, typedJoin4, word, dagr.Value("-"), word, dagr.Value("!")).Fetch(ctx)
		}, "abab-abab!"},
		{"Gather", func() (any, error) {
			return dagr.Gather(ctx, typedSum, []dagr.TaskOf[int]{three, three, dagr.Spawn0(ctx, typedSeven)}).Fetch(ctx)
		}, 25},
		{"Gather of no tasks", func() (any, error) { return dagr.Gather(ctx, typedSum, nil).Fetch(ctx) }, 0},
		{"GatherCtx", func() (any, error) {
			return dagr.GatherCtx(ctx, typedSumCtx, []dagr.TaskOf[int]{three, three}).Fetch(ctx)
		}, 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.run()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestTypedGatherMany gathers a fan-out of a thousand typed tasks.
func TestTypedGatherMany(t *testing.T) {
	ctx := typedCtx(t)
	parts := make([]dagr.TaskOf[int], 1000)
	want := 0
	for i := range parts {
		parts[i] = dagr.Spawn1(ctx, typedSquare, dagr.Value(i))
		want += i * i
	}
	if got := typedFetch(t, ctx, dagr.Gather(ctx, typedSum, parts)); got != want {
		t.Fatalf("the sum of %d squares: %d, want %d", len(parts), got, want)
	}
}

// TestTypedErrorsFlowDownstream: a failure of a typed task fails every
// task downstream, typed or not, and reaches its fetcher as a *TaskError
// that names the origin and wraps the original error, or the panic.
func TestTypedErrorsFlowDownstream(t *testing.T) {
	ctx := typedCtx(t)
	tests := []struct {
		name   string
		origin func() dagr.TaskOf[int]
		is     func(error) bool
	}{
		{"error", func() dagr.TaskOf[int] {
			return dagr.Spawn1Ctx(ctx, typedParse, dagr.Value("forty-two"))
		}, func(err error) bool { return errors.Is(err, strconv.ErrSyntax) }},
		{"error of two tasks' results", func() dagr.TaskOf[int] {
			return dagr.Spawn2Ctx(ctx, typedDivide, dagr.Spawn0(ctx, typedSeven), dagr.Spawn1(ctx, typedSquare, dagr.Value(0)))
		}, func(err error) bool { return errors.Is(err, errTypedDivideByZero) }},
		{"panic", func() dagr.TaskOf[int] {
			return dagr.Spawn1(ctx, func(x int) int { return 1 / x }, dagr.Value(0))
		}, func(err error) bool { var p *dagr.PanicError; return errors.As(err, &p) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin := tt.origin()
			one := dagr.Spawn1(ctx, typedSquare, origin)
			two := dagr.Spawn3(ctx, typedSum3, one, dagr.Value(1), origin)
			gathered := dagr.Gather(ctx, typedSum, []dagr.TaskOf[int]{dagr.Spawn0(ctx, typedSeven), two})
			untyped := dagr.Spawn(ctx, typedSquare, two.Task)
			downstream := map[string]*dagr.Task{
				"origin": origin.Task, "one": one.Task, "two": two.Task,
				"gathered": gathered.Task, "untyped": untyped,
			}
			for name, task := range downstream {
				_, err := dagr.TaskOf[int]{Task: task}.Fetch(ctx)
				var te *dagr.TaskError
				if !errors.As(err, &te) || te.Origin != origin.ID() || !tt.is(err) {
					t.Errorf("%s: got %v, want a *TaskError from task %d that wraps the original failure", name, err, origin.ID())
				}
			}
		})
	}
}

// TestTypedCancel: cancelling a typed task, or the context it was spawned
// with, cancels it and fails the tasks downstream with context.Canceled;
// a running f of the full form sees its context cancelled.
func TestTypedCancel(t *testing.T) {
	for _, how := range []string{"Cancel", "context"} {
		t.Run(how, func(t *testing.T) {
			ctx := typedCtx(t)
			spawning, cancel := context.WithCancel(ctx)
			defer cancel()
			started, sawCancel := make(chan struct{}), make(chan struct{})
			blocked := dagr.Spawn0Ctx(spawning, func(ctx context.Context) (int, error) {
				close(started)
				<-ctx.Done()
				close(sawCancel)
				return 0, ctx.Err()
			}, dagr.Options{Occupancy: dagr.NoOccupancy})
			downstream := dagr.Spawn1(ctx, typedSquare, blocked)
			spawnAwait(t, started, "the task to start")
			if how == "Cancel" {
				blocked.Cancel()
			} else {
				cancel()
			}
			spawnAwait(t, sawCancel, "f to see its context cancelled")
			for _, task := range []dagr.TaskOf[int]{blocked, downstream} {
				if _, err := task.Fetch(ctx); !errors.Is(err, context.Canceled) {
					t.Errorf("%v: %v, want context.Canceled", task, err)
				}
			}
		})
	}
}

// TestTypedFetchContext: a Fetch whose context ends first returns its
// error, and the task goes on.
func TestTypedFetchContext(t *testing.T) {
	ctx := typedCtx(t)
	release := make(chan struct{})
	slow := dagr.Spawn0(ctx, func() int { <-release; return 5 }, dagr.Options{Occupancy: dagr.NoOccupancy})
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if _, err := slow.Fetch(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch with an ended context: %v, want context.DeadlineExceeded", err)
	}
	close(release)
	if got := typedFetch(t, ctx, slow); got != 5 {
		t.Fatalf("got %d, want 5", got)
	}
}

// TestTypedInterop: typed and untyped tasks mix, in both directions, and
// with Sync and the lazy API.
func TestTypedInterop(t *testing.T) {
	ctx := typedCtx(t)
	three := dagr.Spawn1(ctx, typedSquare, dagr.Value(3))

	t.Run("typed task to Spawn", func(t *testing.T) {
		got, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, typedSum, three.Task, 1, three.Task))
		if err != nil || got != 19 {
			t.Fatalf("got %d, %v, want 19", got, err)
		}
	})
	t.Run("TaskOf itself to Spawn is refused", func(t *testing.T) {
		// Spawn takes a *Task as a dependency, and nothing else: a TaskOf
		// would reach f as a value, so the call is refused.
		_, err := dagr.Spawn(ctx, typedSquare, three).Fetch(ctx)
		if err == nil || !strings.Contains(err.Error(), "dagr.TaskOf[int]") {
			t.Fatalf("got %v, want an error naming dagr.TaskOf[int]", err)
		}
	})
	t.Run("untyped task typed", func(t *testing.T) {
		four := dagr.TaskOf[int]{Task: dagr.Spawn(ctx, typedSquare, 2)}
		if got := typedFetch(t, ctx, dagr.Spawn2(ctx, typedRepeat, dagr.Value("x"), four)); got != "xxxx" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("untyped task mistyped", func(t *testing.T) {
		wrong := dagr.TaskOf[string]{Task: dagr.Spawn(ctx, typedSquare, 2)}
		if _, err := wrong.Fetch(ctx); err == nil || !strings.Contains(err.Error(), "not string") {
			t.Fatalf("Fetch: %v, want an error: the result is not a string", err)
		}
		_, err := dagr.Spawn2(ctx, typedRepeat, wrong, dagr.Value(1)).Fetch(ctx)
		if err == nil || !strings.Contains(err.Error(), "argument 1") {
			t.Fatalf("a task downstream: %v, want an error about its argument 1", err)
		}
	})
	t.Run("Sync", func(t *testing.T) {
		var last dagr.TaskOf[int]
		err := dagr.Sync(ctx, func(ctx context.Context) error {
			last = dagr.Spawn1(ctx, typedSquare, dagr.Spawn1(ctx, typedSquare, dagr.Value(2)))
			dagr.Spawn1Ctx(ctx, typedParse, dagr.Value("x"))
			return nil
		})
		if !last.Ready() {
			t.Error("Sync returned before a typed task ended")
		}
		if !errors.Is(err, strconv.ErrSyntax) {
			t.Errorf("Sync: %v, want the typed task's failure", err)
		}
	})
	t.Run("Delayed", func(t *testing.T) {
		got, err := dagr.Collect(ctx, dagr.Delayed(typedSquare, three.Task))
		if err != nil || got != 81 {
			t.Fatalf("got %v, %v, want 81", got, err)
		}
	})
	t.Run("Untyped", func(t *testing.T) {
		tasks := dagr.Untyped([]dagr.TaskOf[int]{three, dagr.Spawn0(ctx, typedSeven)})
		var got []int
		for _, task := range tasks {
			v, err := dagr.Fetch[int](ctx, task)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		if fmt.Sprint(got) != "[9 7]" {
			t.Fatalf("got %v, want [9 7]", got)
		}
	})
}

// TestTypedOptions: one Options is the task's; more make a task that
// fails; an Options value that is f's first argument reaches f.
func TestTypedOptions(t *testing.T) {
	ctx := typedCtx(t)
	named := dagr.Spawn1(ctx, typedSquare, dagr.Value(5), dagr.Options{Name: "square"})
	if got := typedFetch(t, ctx, named); got != 25 || named.Name() != "square" {
		t.Errorf("got %d named %q, want 25 named square", got, named.Name())
	}
	gathered := dagr.Gather(ctx, typedSum, []dagr.TaskOf[int]{named}, dagr.Options{Name: "sum"})
	if got := typedFetch(t, ctx, gathered); got != 25 || gathered.Name() != "sum" {
		t.Errorf("Gather: got %d named %q, want 25 named sum", got, gathered.Name())
	}

	for name, task := range map[string]dagr.TaskOf[int]{
		"Spawn1": dagr.Spawn1(ctx, typedSquare, dagr.Value(5), dagr.Options{}, dagr.Options{}),
		"Gather": dagr.Gather(ctx, typedSum, nil, dagr.Options{}, dagr.Options{}),
	} {
		_, err := task.Fetch(ctx)
		if err == nil || !strings.Contains(err.Error(), "at most one Options, got 2") {
			t.Errorf("%s with two Options: %v, want an error", name, err)
		}
	}

	nameOf := func(o dagr.Options, suffix string) string { return o.Name + suffix }
	for _, opts := range [][]dagr.Options{nil, {{Name: "task"}}} {
		got := typedFetch(t, ctx, dagr.Spawn2(ctx, nameOf, dagr.Value(dagr.Options{Name: "arg"}), dagr.Value("!"), opts...))
		if got != "arg!" {
			t.Errorf("an Options argument, with options %v: f got %q, want arg!", opts, got)
		}
	}
}

// TestTypedNil: a nil Arg or a zero TaskOf as an argument makes a task
// that fails as Spawn's does with a nil *Task; a zero TaskOf cannot be
// waited for or fetched; neither panics.
func TestTypedNil(t *testing.T) {
	ctx := typedCtx(t)
	var zero dagr.TaskOf[int]
	for name, task := range map[string]dagr.TaskOf[int]{
		"nil Arg":        dagr.Spawn1(ctx, typedSquare, nil),
		"zero":           dagr.Spawn1(ctx, typedSquare, zero),
		"zero in Gather": dagr.Gather(ctx, typedSum, []dagr.TaskOf[int]{zero}),
	} {
		if _, err := task.Fetch(ctx); err == nil || !strings.Contains(err.Error(), "nil *Task") {
			t.Errorf("%s: %v, want an error about a nil *Task", name, err)
		}
	}
	if _, err := zero.Fetch(ctx); err == nil {
		t.Error("Fetch of a zero TaskOf succeeded")
	}
	if err := zero.Wait(ctx); err == nil {
		t.Error("Wait of a zero TaskOf succeeded")
	}
	var back dagr.TaskOf[int]
	if err := back.UnmarshalCBOR([]byte{0x01}); err == nil || back.Task != nil {
		t.Errorf("UnmarshalCBOR of a value that is not a reference: %v, task %v; want an error and no task", err, back.Task)
	}
}

// The functions of typed tasks on workers.
func init() { dagr.Register(typedSquare, typedSquareThere) }

// typedSquareThere spawns typedSquare(x) and returns its typed task, which
// travels to whoever fetches the result.
func typedSquareThere(ctx context.Context, x int) (dagr.TaskOf[int], error) {
	return dagr.Spawn1(ctx, typedSquare, dagr.Value(x)), nil
}

// TestTypedOnWorkers: typed tasks run on workers, take typed tasks there
// as arguments, and travel between processes inside results, as *Task's
// do.
func TestTypedOnWorkers(t *testing.T) {
	ctx := withWorkers(t, 1)
	onWorker2 := dagr.Options{Single: 2}
	nine := dagr.Spawn1(ctx, typedSquare, dagr.Value(3), onWorker2)
	handle := dagr.Spawn1Ctx(ctx, typedSquareThere, nine, onWorker2)
	inner := typedFetch(t, ctx, handle)
	if got := typedFetch(t, ctx, inner); got != 81 {
		t.Fatalf("the typed task that a task on worker 2 returned: %d, want 81", got)
	}
	if got := typedFetch(t, ctx, dagr.Spawn2(ctx, typedRepeat, dagr.Value("x"), inner)); len(got) != 81 {
		t.Fatalf("a typed task downstream of it: %d x's, want 81", len(got))
	}
}

// TestTypedAllocatesAsSpawn: a typed spawn of a value, and of a typed
// task, allocates no more than Spawn of the same: Value(x) does not
// escape, and x is boxed once (see spawnArg).
func TestTypedAllocatesAsSpawn(t *testing.T) {
	ctx := typedCtx(t)
	const n = 2000
	// mallocsPerTask runs spawn n times, from 1000 so that every int is
	// boxed, waits for the tasks, and returns the allocations per task.
	// Other goroutines of the process (the scheduler's, what earlier
	// tests left) may allocate meanwhile: the four kinds are measured in
	// turn, five times, and each keeps its least.
	mallocsPerTask := func(spawn func(i int) *dagr.Task) float64 {
		tasks := make([]*dagr.Task, n)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range tasks {
			tasks[i] = spawn(1000 + i)
		}
		for _, task := range tasks {
			if _, err := task.Fetch(ctx); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return float64(after.Mallocs-before.Mallocs) / n
	}
	root := dagr.Spawn1(ctx, typedSquare, dagr.Value(3))
	kinds := []func(i int) *dagr.Task{
		func(i int) *dagr.Task { return dagr.Spawn(ctx, typedSquare, i) },
		func(i int) *dagr.Task { return dagr.Spawn1(ctx, typedSquare, dagr.Value(i)).Task },
		func(int) *dagr.Task { return dagr.Spawn(ctx, typedSquare, root.Task) },
		func(int) *dagr.Task { return dagr.Spawn1(ctx, typedSquare, root).Task },
	}
	least := make([]float64, len(kinds))
	for round := range 5 {
		for k, spawn := range kinds {
			if per := mallocsPerTask(spawn); round == 0 || per < least[k] {
				least[k] = per
			}
		}
	}
	untypedValue, typedValue, untypedTask, typedTask := least[0], least[1], least[2], least[3]
	t.Logf("allocations per task: of a value %.2f untyped, %.2f typed; of a task %.2f untyped, %.2f typed", untypedValue, typedValue, untypedTask, typedTask)
	if typedValue > untypedValue+0.5 || typedTask > untypedTask+0.5 {
		t.Errorf("a typed spawn allocates more than Spawn")
	}
}
