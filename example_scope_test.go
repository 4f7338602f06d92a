package dagr_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/dagr/dagr"
)

func ExampleUnionScope() {
	s, _ := dagr.New(dagr.Config{Procs: 4})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)

	// Processors 1 and 3 of this process, or any of worker 2, which does
	// not exist here.
	scope := dagr.UnionScope(
		dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 1}),
		dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 3}),
		dagr.WorkerScope(2),
	)
	fmt.Println(scope)
	fmt.Println(dagr.CompatibleProcessors(ctx, scope))

	where := func(ctx context.Context) dagr.Processor { return dagr.CurrentProcessor(ctx) }
	p, _ := dagr.Fetch[dagr.Processor](ctx, dagr.Spawn(ctx, where, dagr.Options{Scope: scope}))
	fmt.Println(p.Worker(), p == dagr.ThreadProc{Owner: 1, Thread: 1} || p == dagr.ThreadProc{Owner: 1, Thread: 3})
	// Output:
	// UnionScope(ExactScope(ThreadProc(1, 1)), ExactScope(ThreadProc(1, 3)), WorkerScope(2))
	// [ThreadProc(1, 1) ThreadProc(1, 3)]
	// 1 true
}

func ExampleIntersectScope() {
	s, _ := dagr.New(dagr.Config{Procs: 4})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	where := func(ctx context.Context) string { return dagr.CurrentProcessor(ctx).String() }

	// Processor 2 of worker 1: Dagger's scope(worker=1, thread=2).
	second := dagr.IntersectScope(dagr.WorkerScope(1), dagr.ThreadScope(2))
	v, _ := dagr.Spawn(ctx, where, dagr.Options{Scope: second}).Fetch(ctx)
	fmt.Println(v)

	// Scopes with no processor in common allow nothing.
	apart := dagr.IntersectScope(dagr.WorkerScope(1), dagr.WorkerScope(2))
	_, err := dagr.Spawn(ctx, where, dagr.Options{Scope: apart}).Fetch(ctx)
	var te *dagr.TaskError
	if errors.As(err, &te) && errors.Is(err, dagr.ErrNoProcessor) {
		fmt.Println(te.Err)
	}
	// Output:
	// ThreadProc(1, 2)
	// dagr: no processor satisfies the task's options: IntersectScope(WorkerScope(1), WorkerScope(2)) allows no processor: WorkerScope(1) and WorkerScope(2) have no processor in common
}

func ExampleThreadScope() {
	s, _ := dagr.New(dagr.Config{Procs: 4})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)

	// The first two processors of every worker; here, of worker 1 only.
	fmt.Println(dagr.CompatibleProcessors(ctx, dagr.ThreadScope(1, 2)))
	// Output:
	// [ThreadProc(1, 1) ThreadProc(1, 2)]
}

func ExampleCompatibleProcessors() {
	s, _ := dagr.New(dagr.Config{Procs: 3})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)

	for _, scope := range []dagr.Scope{
		dagr.AnyScope(),
		dagr.WorkerScope(1),
		dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 2}),
		dagr.UnionScope(dagr.ThreadScope(3), dagr.WorkerScope(2)),
		dagr.IntersectScope(dagr.ThreadScope(1, 2), dagr.ThreadScope(2, 3)),
		dagr.WorkerScope(2),
	} {
		fmt.Printf("%v: %v\n", scope, s.CompatibleProcessors(ctx, scope))
	}
	// Output:
	// AnyScope(): [ThreadProc(1, 1) ThreadProc(1, 2) ThreadProc(1, 3)]
	// WorkerScope(1): [ThreadProc(1, 1) ThreadProc(1, 2) ThreadProc(1, 3)]
	// ExactScope(ThreadProc(1, 2)): [ThreadProc(1, 2)]
	// UnionScope(ThreadScope(3), WorkerScope(2)): [ThreadProc(1, 3)]
	// IntersectScope(ThreadScope(1, 2), ThreadScope(2, 3)): [ThreadProc(1, 2)]
	// WorkerScope(2): []
}
