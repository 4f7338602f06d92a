package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dagr/dagr"
)

func add1(value int) int { return value + 1 }

func add2(value int) int { return value + 2 }

func add(a, b int) int { return a + b }

func combine(a ...int) int {
	sum := 0
	for _, v := range a {
		sum += v
	}
	return sum
}

// The first example of Dagger.jl. A *Task passed to Spawn is a dependency:
// q runs after p, s after p, q and r, and p and r run in parallel.
func Example() {
	ctx := context.Background()

	p := dagr.Spawn(ctx, add1, 4)          // Dagger.@spawn add1(4)
	q := dagr.Spawn(ctx, add2, p)          // Dagger.@spawn add2(p)
	r := dagr.Spawn(ctx, add1, 3)          // Dagger.@spawn add1(3)
	s := dagr.Spawn(ctx, combine, p, q, r) // Dagger.@spawn combine(p, q, r)

	v, err := dagr.Fetch[int](ctx, s) // fetch(s)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v)
	// Output: 16
}

// Any function can be a task: here strconv.Atoi, which returns (int, error),
// feeds add1.
func ExampleSpawn() {
	ctx := context.Background()

	n := dagr.Spawn(ctx, strconv.Atoi, "41")
	m := dagr.Spawn(ctx, add1, n)

	v, err := m.Fetch(ctx)
	fmt.Println(v, err)
	// Output: 42 <nil>
}

// A task may spawn tasks and wait for them with the context it was handed;
// it gives its processor back while it waits, so the recursion cannot run
// out of processors.
func ExampleSpawn_nested() {
	ctx := context.Background()

	v, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, fib, 15))
	fmt.Println(v, err)
	// Output: 610 <nil>
}

func fib(ctx context.Context, n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	a := dagr.Spawn(ctx, fib, n-1)
	b := dagr.Spawn(ctx, fib, n-2)
	x, err := dagr.Fetch[int](ctx, a)
	if err != nil {
		return 0, err
	}
	y, err := dagr.Fetch[int](ctx, b)
	if err != nil {
		return 0, err
	}
	return x + y, nil
}

func ExampleTask_Fetch() {
	ctx := context.Background()
	t := dagr.Spawn(ctx, add, 1, 2)

	v, err := t.Fetch(ctx) // the result as an any
	fmt.Printf("%v %T %v\n", v, v, err)

	// A function that returns only an error gives a nil result.
	done := dagr.Spawn(ctx, func() error { return nil })
	v, err = done.Fetch(ctx)
	fmt.Println(v, err)
	// Output:
	// 3 int <nil>
	// <nil> <nil>
}

func ExampleFetch() {
	ctx := context.Background()
	t := dagr.Spawn(ctx, add, 1, 2)

	n, err := dagr.Fetch[int](ctx, t)
	fmt.Println(n+1, err)

	// A result of another type is an error, not a panic.
	_, err = dagr.Fetch[string](ctx, t)
	fmt.Println(err != nil)
	// Output:
	// 4 <nil>
	// true
}

// Ready is Dagger's isready: it says whether the task has ended, without
// waiting.
func ExampleTask_Ready() {
	ctx := context.Background()
	gate := make(chan struct{})
	t := dagr.Spawn(ctx, func() int { <-gate; return 1 })

	fmt.Println(t.Ready())
	close(gate)
	<-t.Done()
	fmt.Println(t.Ready())
	// Output:
	// false
	// true
}

// Wait (Dagger's wait) returns once the task has ended; it does not report
// failure, Fetch does.
func ExampleTask_Wait() {
	ctx := context.Background()
	t := dagr.Spawn(ctx, func() (int, error) { return 0, errors.New("no luck") })

	fmt.Println(t.Wait(ctx), t.Ready())
	_, err := t.Fetch(ctx)
	fmt.Println(err != nil)
	// Output:
	// <nil> true
	// true
}

// Cancel is Dagger's cancel!: the task fails at once, its f sees its
// context cancelled, and the tasks downstream fail too.
func ExampleTask_Cancel() {
	ctx := context.Background()
	started := make(chan struct{})
	t := dagr.Spawn(ctx, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	next := dagr.Spawn(ctx, add1, t)

	<-started
	t.Cancel()
	_, err := next.Fetch(ctx)
	fmt.Println(errors.Is(err, context.Canceled))
	// Output: true
}

// Sync is Julia's @sync: it returns once every task spawned with the
// context body was handed has ended.
func ExampleSync() {
	ctx := context.Background()
	squares := make([]int, 6)

	err := dagr.Sync(ctx, func(ctx context.Context) error {
		for i := range squares {
			dagr.Spawn(ctx, func() { squares[i] = i * i })
		}
		return nil
	})
	fmt.Println(squares, err)
	// Output: [0 1 4 9 16 25] <nil>
}

// Sync returns the failures of the tasks of the group, each as a
// *TaskError.
func ExampleSync_failure() {
	ctx := context.Background()
	errBadInput := errors.New("bad input")

	err := dagr.Sync(ctx, func(ctx context.Context) error {
		check := func(n int) error {
			if n < 0 {
				return errBadInput
			}
			return nil
		}
		for _, n := range []int{3, -1, 4} {
			dagr.Spawn(ctx, check, n)
		}
		return nil
	})
	var te *dagr.TaskError
	fmt.Println(errors.Is(err, errBadInput), errors.As(err, &te))
	// Output: true true
}

// Options come first among the arguments: this mirrors
// Dagger.spawn(+, Dagger.Options(;single=1), 1, 2).
func ExampleOptions() {
	ctx := context.Background()

	t := dagr.Spawn(ctx, add, dagr.Options{Single: 1}, 1, 2)
	v, err := t.Fetch(ctx)
	fmt.Println(v, err)

	named := dagr.Spawn(ctx, add, dagr.Options{Name: "sum"}, 3, 4)
	fmt.Println(named.Name())
	// Output:
	// 3 <nil>
	// sum
}

// A task whose Timeout passes fails with context.DeadlineExceeded; its f
// sees its context end.
func ExampleOptions_timeout() {
	ctx := context.Background()
	slow := func(ctx context.Context) error {
		<-ctx.Done() // stands for work that takes too long
		return ctx.Err()
	}

	t := dagr.Spawn(ctx, slow, dagr.Options{Timeout: 10 * time.Millisecond})
	_, err := t.Fetch(ctx)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output: true
}

// Retries runs f again after an error or a panic.
func ExampleOptions_retries() {
	ctx := context.Background()
	tries := 0
	flaky := func() (string, error) {
		tries++
		if tries < 3 {
			return "", errors.New("try again")
		}
		return "ok", nil
	}

	v, err := dagr.Spawn(ctx, flaky, dagr.Options{Retries: 2}).Fetch(ctx)
	fmt.Println(v, err, tries)
	// Output: ok <nil> 3
}

// A scope says where a task may run; CurrentProcessor says where it runs.
func ExampleExactScope() {
	ctx := context.Background()
	where := func(ctx context.Context) string { return dagr.CurrentProcessor(ctx).String() }

	first := dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 1})
	v, _ := dagr.Spawn(ctx, where, dagr.Options{Scope: first}).Fetch(ctx)
	fmt.Println(v)

	// A scope that no processor is in fails the task.
	missing := dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 1000})
	_, err := dagr.Spawn(ctx, where, dagr.Options{Scope: missing}).Fetch(ctx)
	fmt.Println(errors.Is(err, dagr.ErrNoProcessor))
	// Output:
	// ThreadProc(1, 1)
	// true
}

// A failure flows downstream: the tasks below a failed one fail without
// running, and errors.Is and errors.As reach the original error through
// the *TaskError at any depth.
func ExampleTaskError() {
	ctx := context.Background()
	errNoRows := errors.New("no rows")

	load := dagr.Spawn(ctx, func() (int, error) { return 0, errNoRows })
	double := dagr.Spawn(ctx, func(n int) int { return 2 * n }, load)
	report := dagr.Spawn(ctx, add1, double)

	_, err := report.Fetch(ctx)
	fmt.Println(errors.Is(err, errNoRows))
	var te *dagr.TaskError
	if errors.As(err, &te) {
		fmt.Println(te.Task == report.ID(), te.Origin == load.ID())
		fmt.Println(te.Err)
	}
	// Output:
	// true
	// true true
	// no rows
}

// A panic in f fails the task with a *PanicError; the process goes on.
func ExamplePanicError() {
	ctx := context.Background()
	t := dagr.Spawn(ctx, func() int { panic("out of cheese") })

	_, err := t.Fetch(ctx)
	var pe *dagr.PanicError
	if errors.As(err, &pe) {
		fmt.Println(pe.Value, len(pe.Stack) > 0)
	}
	// Output: out of cheese true
}

// A scheduler of one's own: WithScheduler makes the package-level
// functions use it.
func ExampleNew() {
	s, err := dagr.New(dagr.Config{Procs: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := dagr.WithScheduler(context.Background(), s)

	v, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, add, 20, 22))
	fmt.Println(v, err)

	s.Close()
	_, err = dagr.Spawn(ctx, add, 1, 2).Fetch(ctx)
	fmt.Println(errors.Is(err, dagr.ErrClosed))
	// Output:
	// 42 <nil>
	// true
}

// WithOptions gives the tasks spawned with a context, and what they spawn,
// the options they do not set themselves (Dagger's with_options).
func ExampleWithOptions() {
	ctx := dagr.WithOptions(context.Background(), dagr.Options{Name: "stage 1", Retries: 2})
	a := dagr.Spawn(ctx, strings.ToUpper, "dagr")
	b := dagr.Spawn(ctx, strings.ToUpper, dagr.Options{Name: "stage 1b"}, "dag")
	fmt.Println(a.Name(), b.Name(), dagr.OptionsFrom(ctx).Retries)
	// Output: stage 1 stage 1b 2
}

// Args passes a slice of tasks as the arguments of a variadic function:
// it gets their results.
func ExampleArgs() {
	ctx := context.Background()
	parts := make([]*dagr.Task, 4)
	for i := range parts {
		parts[i] = dagr.Spawn(ctx, add, i, 10)
	}
	sum := func(xs ...int) int {
		total := 0
		for _, x := range xs {
			total += x
		}
		return total
	}

	total := dagr.Spawn(ctx, sum, dagr.Args(parts)...)
	fmt.Println(dagr.Fetch[int](ctx, total))
	// Output: 46 <nil>
}
