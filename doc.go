// Package dagr runs graphs of tasks in parallel: a Go port of the
// task-spawning model of Dagger.jl.
//
// # Overview
//
// A task is a call f(args...). An argument that is itself a task is a
// dependency: f receives that task's result once it is ready. The arguments
// thus define a directed acyclic graph, which dagr runs on the processors
// (execution slots) of a [Scheduler], as soon as each task's inputs are
// done. Values flow along the edges, errors flow downstream, cancellation
// and deadlines come from [context.Context], and [Options] say where and
// how a task runs.
//
// This is the first example of Dagger.jl in Go:
//
//	func add1(value int) int { return value + 1 }
//	func add2(value int) int { return value + 2 }
//	func combine(a ...int) int {
//		sum := 0
//		for _, v := range a {
//			sum += v
//		}
//		return sum
//	}
//
//	ctx := context.Background()
//	p := dagr.Spawn(ctx, add1, 4)          // Dagger.@spawn add1(4)
//	q := dagr.Spawn(ctx, add2, p)          // Dagger.@spawn add2(p)
//	r := dagr.Spawn(ctx, add1, 3)          // Dagger.@spawn add1(3)
//	s := dagr.Spawn(ctx, combine, p, q, r) // Dagger.@spawn combine(p, q, r)
//	v, err := dagr.Fetch[int](ctx, s)      // fetch(s): 16, nil
//
// p and r run in parallel; q starts when p is done, and s when p, q and r
// are.
//
// Tasks run on the processors of this process and, once [AddProcs] has
// started worker processes of the same binary, on theirs: see Workers
// below.
//
// # Spawning tasks
//
// [Spawn] (Dagger's spawn, or @spawn) starts a task and returns its
// [*Task] at once; it never blocks on the task and never panics. f is any
// function:
//
//   - it may take a [context.Context] first: it is handed the task's own
//     context, which is cancelled when the task is;
//   - it may be variadic;
//   - it returns R, (R, error), error or nothing.
//
// An argument of type *Task is a dependency; every other argument is passed
// as is. A call that cannot be made (f not a function, a wrong number of
// arguments, an argument or a dependency's result that f cannot take)
// gives a task that fails with an error saying which argument and why:
//
//	n := dagr.Spawn(ctx, strconv.Atoi, "41") // (int, error)
//	m := dagr.Spawn(ctx, add1, n)            // 42, once n is done
//	bad := dagr.Spawn(ctx, add1, "x")        // fails: argument 1 of add1 has type string, not int
//
// # Fetching results
//
// [Task.Fetch] waits for the task and returns its result as an any, or its
// error; [Fetch] returns the result as a T, and an error (not a panic) when
// it is not one. A task whose f returns nothing or only an error gives
// (nil, nil) on success. Any number of goroutines may wait on one task.
//
//	v, err := m.Fetch(ctx)            // any(42), nil
//	n, err := dagr.Fetch[int](ctx, m) // 42, nil
//
// [Task.Wait] (Dagger's wait) waits without fetching, [Task.Ready]
// (isready) says whether the task has ended without waiting, and
// [Task.Done] is a channel closed when it ends, for use in select. None of
// them reports failure: they say only that the task ended. If the context
// of Fetch or Wait ends first, they return its error and the task goes on.
//
// # Failure
//
// A task fails when its f returns a non-nil error or panics. Every task
// downstream of it then fails at once without running its f, and so does
// every task spawned later with a failed task as an argument. Fetch of a
// failed task returns a [*TaskError], which names the fetched task and the
// task whose f failed first (its Origin), and wraps the original error, so
// that [errors.Is] and [errors.As] reach it at any depth:
//
//	load := dagr.Spawn(ctx, func() (int, error) { return 0, errNoRows })
//	report := dagr.Spawn(ctx, add1, load)
//	_, err := report.Fetch(ctx)
//	errors.Is(err, errNoRows) // true
//
//	var te *dagr.TaskError
//	errors.As(err, &te) // te.Task == report.ID(), te.Origin == load.ID()
//
// A panic in f does not crash the process: the task fails with a
// [*PanicError] that keeps the panic's value and stack (and unwraps to the
// value when it is an error). An f that fetched a failed task and returns
// its *TaskError passes the failure on with its first origin.
//
// # Cancellation and deadlines
//
// A task is cancelled when the context it was spawned with ends before it
// does, or when [Task.Cancel] (Dagger's cancel!) is called. It then fails
// at once, and so does everything downstream: a queued task never runs, a
// running f sees its context cancelled, and what it returns afterwards is
// dropped. After Cancel, or a cancel of the spawning context,
// errors.Is(err, context.Canceled) holds for the error; when the spawning
// context's deadline passed, errors.Is(err, context.DeadlineExceeded) does.
// Cancel on a task that has ended does nothing. A cancelled task gives its
// share of the processor back at once, as in Dagger: an f that ignores its
// context does not hold up the tasks queued behind it (though its goroutine
// runs on until f returns).
//
//	ctx, cancel := context.WithCancel(ctx)
//	t := dagr.Spawn(ctx, crawl, "https://example.com")
//	cancel() // t fails with context.Canceled, unless it has ended
//
// [Options].Timeout bounds each try of f: a task that runs out of time
// fails with an error for which errors.Is(err, context.DeadlineExceeded)
// holds. A deadline of the spawning context reaches f through its context
// as well.
//
//	t := dagr.Spawn(ctx, crawl, dagr.Options{Timeout: 5 * time.Second}, url)
//
// With Retries, the error of a task whose every try failed is the last
// try's, and its message says how many tries ran.
//
// # Structured waiting
//
// [Sync] is Julia's @sync: it runs its body and returns only after every
// task spawned with the body's context (or a context derived from it), and
// every task those tasks spawned with the contexts they were handed, has
// ended. It returns [errors.Join] of the body's error and one *TaskError
// per failure origin in the group. Sync cancels nothing; cancel its context
// to stop the group.
//
//	squares := make([]int, 10)
//	err := dagr.Sync(ctx, func(ctx context.Context) error {
//		for i := range squares {
//			dagr.Spawn(ctx, func() { squares[i] = i * i })
//		}
//		return nil
//	})
//	// every task has ended here, and its writes are visible
//
// [WaitAll], [FetchAll] and [FetchAllAs] wait for many tasks, and
// [WaitAny] and [WaitAnyCancel] for the first of them; [FetchChunks] and
// [FetchChunksAs] bring the values of many chunks at once. [SpawnBulk] (Dagger's
// spawn_bulk) holds the tasks spawned in its body until it ends, and
// [SpawnSequential] (spawn_sequential) runs them one after another.
//
// # Typed graphs
//
// [Spawn1] and its kin ([Spawn0] to [Spawn4], [Spawn0Ctx] to [Spawn4Ctx],
// [Gather]) check a spawn at compile time: arguments are typed tasks
// ([TaskOf]) or values ([Value]), and the task's Fetch returns the
// function's result type. [Args] passes an untyped slice of tasks as the
// arguments of Spawn.
//
// # Nested spawning
//
// A task's f may call Spawn, Fetch, Wait and Sync with the context it was
// handed. While it waits in Fetch, Wait or Sync it gives its processor
// back, so deep recursion finishes even on one processor:
//
//	func fib(ctx context.Context, n int) (int, error) {
//		if n < 2 {
//			return n, nil
//		}
//		a := dagr.Spawn(ctx, fib, n-1)
//		b := dagr.Spawn(ctx, fib, n-2)
//		x, err := dagr.Fetch[int](ctx, a)
//		if err != nil {
//			return 0, err
//		}
//		y, err := dagr.Fetch[int](ctx, b)
//		return x + y, err
//	}
//
// The task's context is not cancelled when f returns: a task spawned with
// it outlives its parent (a task may return a task it spawned, for anyone to
// fetch), and is cancelled when that context is: when the parent is
// cancelled while it runs, when the parent's own spawning context ends, or
// when the scheduler closes. It carries the parent's Timeout deadline, if
// any.
//
// When a task fetches (or waits for) a child that has not started yet, it
// runs the child itself, on its own goroutine, as a plain call, unless an
// idle processor took the child first: nested spawning costs little more
// than a function call. Only the task's own children are run so, since they
// are cancelled with it: a Fetch whose context ends returns as soon as the
// child it runs notices its own context; under a deadline, a child whose f
// takes no context is left to a runner, so that the Fetch returns in time. Recursion of any depth is fine (a
// goroutine runs at most a few hundred nested tasks; deeper ones get
// goroutines of their own). A task that fetches itself fails at once.
//
// If a child that its parent runs inline calls [runtime.Goexit] (as
// testing's t.FailNow does), it ends the goroutine it shares with its
// parent: the parent's f ends too, and the parent fails with the child's
// failure (its Origin is the child) instead of seeing that failure in
// Fetch.
//
// # Options
//
// An [Options] value as the first argument after f is the task's options,
// not an argument of f; the zero Options is the default for every field.
// This mirrors Dagger.spawn(+, Dagger.Options(;single=1), 1, 2):
//
//	t := dagr.Spawn(ctx, add, dagr.Options{Single: 1}, 1, 2) // 3
//
// The fields that act in this version:
//
//   - Name: shown in errors and returned by [Task.Name]; by default the
//     function's name, such as "main.add".
//   - Single, Scope: where the task may run (see Processors and scopes).
//   - Occupancy: the share of one processor the task takes while it runs.
//     0 (unset) means 1, a whole processor; a value in (0, 1] lets several
//     tasks share one (k tasks of 1/k fit at once); [NoOccupancy] (Dagger's
//     occupancy of 0) is for tasks that mostly wait, on I/O or timers, and
//     takes no share at all. A processor admits waiting tasks in order and
//     stops at the first that does not fit, so a task of a large share is
//     not starved by small ones queued after it.
//   - Retries: run f again, up to this many times, after an error or a
//     panic; a cancellation is not retried.
//   - Timeout: cancel each try of f after this long.
//   - Priority: among the ready tasks of a processor, higher runs first;
//     tasks of one priority run in the order they became ready. Any number
//     of priorities may be used: each costs O(log priorities in use).
//   - Restore: runs before the first try; when it reports ok, f does not run
//     and its result is the task's. Checkpoint: runs after f succeeds,
//     before anyone sees the result. Their errors are logged, not fatal.
//
// TimeUtil and AllocUtil are placement hints, kept for later use. Cache
// and AllowError belong to the lazy API (see Building a DAG first).
// GetResult and Persist matter once results live on worker processes; in
// one process every result is a Go value on worker 1, kept while a *Task,
// *Chunk or cached *Thunk reaches it and released by the garbage collector
// after that, and Persist also keeps a cached result from ever being
// dropped by [Config].CacheBytes.
//
//	fetch := dagr.Spawn(ctx, download, dagr.Options{
//		Name:      "download",
//		Occupancy: dagr.NoOccupancy,
//		Retries:   2,
//		Timeout:   10 * time.Second,
//	}, url)
//
// An invalid option (an Occupancy outside (0, 1] other than NoOccupancy, a
// negative Retries or Timeout) fails the task with an error that says so.
//
// # Building a DAG first
//
// [Delayed] (Dagger's delayed, or @par) builds a [*Thunk] and runs
// nothing; a *Thunk argument is a dependency. [Compute] runs the DAG below
// a thunk and returns a [*Chunk], a reference to the result where it was
// computed; [Collect] returns the value of a thunk, a chunk or a task:
//
//	p := dagr.Delayed(add1, 4)
//	q := dagr.Delayed(add2, p)
//	r := dagr.Delayed(add1, 3)
//	s := dagr.Delayed(combine, p, q, r) // nothing has run yet
//	v, err := dagr.Collect(ctx, s)      // 16, nil
//
// Each Compute has scheduling state of its own, living only for the call,
// on the processors of the scheduler its context carries: a thunk shared by
// several thunks of the DAG runs once, and runs again in the next Compute
// unless it has Options.Cache. A DAG of any depth is walked without
// recursion: a chain of a million thunks computes.
//
// Failure differs from the eager API: by default the first failure aborts
// the computation. Nothing new starts, what runs sees its context
// cancelled, and once it has returned, Compute returns that failure's
// *TaskError. With [SchedulerOptions].AllowErrors, or for a thunk with
// Options.AllowError, failures flow downstream as in the eager API, every
// other branch runs to its end, and Compute fails only if its own thunk
// failed.
//
// A thunk with Options.Cache keeps its result after a computation, and
// later computations (of it, or of new DAGs built on it) use the result
// instead of running it again. The result is dropped when the thunk becomes
// unreachable, or, with [Config].CacheBytes set, when the cached results of
// the scheduler pass that many bytes (estimated): the least recently used
// go first, except those of thunks with Options.Persist. A dropped result
// is computed again when needed. Options.Checkpoint and Options.Restore
// work on thunks as on tasks; [SchedulerOptions] has its own, for the final
// result of a computation, and a Single and Scope for the thunks that set
// neither.
//
// Prefer the eager API when the graph depends on results (spawn more
// tasks after fetching some), when results are wanted as soon as each is
// ready, or inside tasks; prefer the lazy API to describe a whole
// computation first, to run it several times, to reuse cached parts across
// runs, or to have the first failure stop everything.
//
// # Processors and scopes
//
// A [Processor] is a place where tasks run: an [OSProc] is a whole worker
// process, a [ThreadProc] one processor of it. The process that runs the
// scheduler is worker 1 ([MyID]) and has [Config].Procs processors,
// ThreadProc{1, 1} to ThreadProc{1, Procs}. A processor runs tasks whose
// occupancies add up to at most 1 at a time: by default, one task per
// processor.
//
// A [Scope] is a set of processors a task may run on: [AnyScope],
// [WorkerScope] (Dagger's ProcessScope), [ExactScope] of one processor, or
// [ThreadScope] (processors by number, on every worker); [UnionScope] and
// [IntersectScope] (Dagger's constrain) combine them, and
// [CompatibleProcessors] lists the live processors a scope allows.
// [Options].Single names one worker; with a Scope, the processors of that
// worker that it allows. [WithOptions] gives the tasks spawned with a
// context the options they do not set (Dagger's with_options). Inside a
// task, [CurrentProcessor] says where it runs:
//
//	first := dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 1})
//	where := func(ctx context.Context) string { return dagr.CurrentProcessor(ctx).String() }
//	t := dagr.Spawn(ctx, where, dagr.Options{Scope: first}) // "ThreadProc(1, 1)"
//
// A task whose Single or Scope names only workers or processors that do not
// exist fails with an error wrapping [ErrNoProcessor]; a scope naming
// several runs on any of them that exists.
//
// # Workers
//
// A program runs on several processes of its own binary (Dagger's
// Distributed.jl workers). [Main] is the first line of main (and of
// TestMain): in a process started as a worker it serves and exits. The
// functions that may run elsewhere are registered in init; [AddProcs]
// starts worker processes on this machine, and the scheduler talks to
// them over a NATS server that it embeds, on 127.0.0.1, with credentials
// made for the run:
//
//	func init() { dagr.Register(add) }
//
//	func main() {
//		dagr.Main()
//		ctx := context.Background()
//		ids, err := dagr.AddProcs(ctx, 2) // [2 3]
//		...
//		t := dagr.Spawn(ctx, add, dagr.Options{Single: 2}, 1, 2) // runs on worker 2
//	}
//
// [Options].Single, [WorkerScope] and [ExactScope] place a task on a
// worker, and a ThreadProc on one of its processors. Arguments and
// results travel as CBOR, decoded into the function's own parameter and
// result types; slices of numbers travel as their bytes. A task that
// fails on a worker fails with a [*WorkerError] that says where, and keeps
// a panic's value and stack as text, and whether it was a cancellation or
// a deadline. Cancel and Timeout reach f on the worker at once.
// Functions that are not registered, closures among them, run on worker
// 1; a task of one that its options place elsewhere fails.
// [RemoveProc] stops a worker after its running tasks end; Close stops
// them all. A worker exits by itself when its scheduler's process is
// gone.
//
// A task on a worker spawns as on worker 1: a spawn of a registered
// function goes to worker 1, which places it, and a *Task may travel in
// any value to any worker. A value over 64 KiB stays with its sender
// until its receiver pulls it, in pieces.
//
// A task of a registered function that its options do not pin goes to a
// worker with a free processor when it starts while other tasks wait for
// room on worker 1, unless its inputs are large (see [Options].TimeUtil).
//
// A task's large result stays on the worker that made it until something
// needs it, and is dropped there once nothing can reach it.
//
// The same binary, started on another machine with [JoinEnv] set to the
// run's [Scheduler.JoinURL], joins the run as a worker: through the
// embedded server, listening at [Config].Listen over TLS, or through an
// existing NATS cluster ([Config].NATS). When a worker dies or hangs (no
// heartbeat for [Config].WorkerTimeout), its running tasks run again
// elsewhere (up to [Options].WorkerDeaths deaths; never, with
// [Options].RunOnce), and the results it kept are made again from the
// tasks that made them when they are needed.
//
// # Watching a run
//
// [EnableLogging] (Dagger's enable_logging!) makes a scheduler record each
// task's spawn, readiness, start (processor, its share of it, and worker)
// and finish (outcome, and the origin of a failure), keeping about the
// last events of a given number; [FetchLogs] returns them as [Event]
// values. While it is on, the workers send worker 1 the events of the
// tasks that live on them only. [WriteDOT], [WriteTrace] and
// [WriteTimeline] draw a log: the DAG for Graphviz, a trace for
// ui.perfetto.dev, an SVG timeline of the processors.
//
// [Scheduler.ServeDashboard] serves a live web page of the run (workers,
// processors, tasks by state, throughput, the recent DAG and timeline), on
// loopback unless told otherwise; [Scheduler.DashboardHandler] is the same
// page as an http.Handler. [Scheduler.ShowProgress] shows the tasks done of
// spawned on a terminal, or as plain lines. [Scheduler.Stats] is a
// snapshot of the numbers, with a histogram of run times after
// [Scheduler.EnableTiming]; the package github.com/dagr/dagr/dagrprom
// exports them as Prometheus metrics, and github.com/dagr/dagr/dagrotel
// turns a log into OpenTelemetry spans.
//
// # Schedulers
//
// Package-level functions use the scheduler their context carries, else
// [Default], which is started on first use with one processor per
// GOMAXPROCS. Inside a task, the context it was handed carries the task's
// scheduler. [New] makes a scheduler of one's own, [WithScheduler] puts it
// in a context, and [Scheduler.Close] cancels what still runs, waits for
// it, and makes later spawns fail with an error wrapping [ErrClosed]. A task
// may close its own scheduler: Close then waits for every task but the one
// that called it.
// Several schedulers may live side by side in one process.
//
//	s, err := dagr.New(dagr.Config{Procs: 4})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	ctx = dagr.WithScheduler(ctx, s)
//	t := dagr.Spawn(ctx, add, 1, 2) // runs on s
//
// A *Scheduler has the package-level functions as methods too:
// s.Spawn(ctx, f, args...) and s.Sync(ctx, body).
package dagr
