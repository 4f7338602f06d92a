package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// The functions of the tests of scoped options across processes.
func init() {
	dagr.Register(scopedHere, scopedChild, flakyOnceScoped, scopedClosureChild, scopedNested, whereFromCtx)
}

// OptionsSeen is what a task saw of options (OptionsFrom, on the worker
// where it ran): their fields that CBOR encodes, and whether the function
// fields were set.
type OptionsSeen struct {
	Worker                              int
	Name                                string
	Single                              int
	Scope                               string
	Occupancy                           float64
	TimeUtil                            time.Duration
	AllocUtil                           int64
	GetResult, Persist, Cache, AllowErr bool
	Retries                             int
	Timeout                             time.Duration
	Priority                            int
	WorkerDeaths                        int
	RunOnce                             bool
	Checkpoint, Restore                 bool
}

func seenOptions(ctx context.Context) OptionsSeen {
	o := dagr.OptionsFrom(ctx)
	s := OptionsSeen{Worker: dagr.MyID(), Name: o.Name, Single: o.Single, Occupancy: o.Occupancy, TimeUtil: o.TimeUtil,
		AllocUtil: o.AllocUtil, GetResult: o.GetResult, Persist: o.Persist, Cache: o.Cache, AllowErr: o.AllowError,
		Retries: o.Retries, Timeout: o.Timeout, Priority: o.Priority, WorkerDeaths: o.WorkerDeaths, RunOnce: o.RunOnce,
		Checkpoint: o.Checkpoint != nil, Restore: o.Restore != nil}
	if o.Scope != nil {
		s.Scope = o.Scope.String()
	}
	return s
}

// scopedHere returns the options that its context carries.
func scopedHere(ctx context.Context) OptionsSeen { return seenOptions(ctx) }

// ChildSeen is what a task saw of a child it spawned: its name, and what
// the child saw of its own context.
type ChildSeen struct {
	Parent OptionsSeen
	Name   string
	Child  OptionsSeen
}

// onceFailed holds, in each process, the keys of flakyOnceScoped that
// failed once.
var onceFailed sync.Map

// flakyOnceScoped fails on its first call for key in the process that
// runs it, then returns the options that its context carries: it
// succeeds only with a retry.
func flakyOnceScoped(ctx context.Context, key string) (OptionsSeen, error) {
	if _, failed := onceFailed.LoadOrStore(key, true); !failed {
		return OptionsSeen{}, fmt.Errorf("%s fails once on worker %d", key, dagr.MyID())
	}
	return seenOptions(ctx), nil
}

// scopedChild spawns flakyOnceScoped on worker on, with no other option
// of its own, from the task it runs in.
func scopedChild(ctx context.Context, key string, on int) (ChildSeen, error) {
	child := dagr.Spawn(ctx, flakyOnceScoped, dagr.Options{Single: on}, key)
	seen, err := dagr.Fetch[OptionsSeen](ctx, child)
	return ChildSeen{Parent: seenOptions(ctx), Name: child.Name(), Child: seen}, err
}

// scopedClosureChild spawns a closure, which runs on this worker, with
// no options of its own; it fails on its first try.
func scopedClosureChild(ctx context.Context) (ChildSeen, error) {
	tries := 0
	child := dagr.Spawn(ctx, func(ctx context.Context) (OptionsSeen, error) {
		if tries++; tries == 1 {
			return OptionsSeen{}, errors.New("a closure fails once")
		}
		return seenOptions(ctx), nil
	})
	seen, err := dagr.Fetch[OptionsSeen](ctx, child)
	return ChildSeen{Parent: seenOptions(ctx), Name: child.Name(), Child: seen}, err
}

// scopedNested adds options of its own to its context, and spawns
// scopedHere on worker on with a name of its own.
func scopedNested(ctx context.Context, on int) (ChildSeen, error) {
	parent := seenOptions(ctx)
	ctx = dagr.WithOptions(ctx, dagr.Options{Priority: 7, AllocUtil: 1 << 20})
	child := dagr.Spawn(ctx, scopedHere, dagr.Options{Single: on, Name: "child"})
	seen, err := dagr.Fetch[OptionsSeen](ctx, child)
	return ChildSeen{Parent: parent, Name: child.Name(), Child: seen}, err
}

// whereFromCtx spawns whereAmI with no options of its own, and says where
// it ran.
func whereFromCtx(ctx context.Context) (Place, error) {
	return dagr.Fetch[Place](ctx, dagr.Spawn(ctx, whereAmI))
}

// scopedWant is what a task on a worker sees of the options of
// TestScopedOptionsTravel's context.
var scopedWant = OptionsSeen{Name: "scoped", Occupancy: 0.5, TimeUtil: time.Second, AllocUtil: 1 << 10, GetResult: true,
	Persist: true, Cache: true, AllowErr: true, Retries: 1, Timeout: time.Hour, Priority: 3, WorkerDeaths: 2, RunOnce: true}

func checkSeen(t *testing.T, what string, got OptionsSeen, worker int, want OptionsSeen) {
	t.Helper()
	want.Worker = worker
	if got != want {
		t.Errorf("%s: saw\n\t%+v\nwant\n\t%+v", what, got, want)
	}
}

// TestScopedOptionsTravel: the options of a context travel with a task
// to a worker: the task sees them there (OptionsFrom), except the
// functions, and what it spawns there takes them, whether it runs there
// (a closure) or where worker 1 places it, on another worker.
func TestScopedOptionsTravel(t *testing.T) {
	ctx := withWorkers(t, 2)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var checkpoints atomic.Int32
	scoped := dagr.WithOptions(ctx, dagr.Options{Name: "scoped", Occupancy: 0.5, TimeUtil: time.Second, AllocUtil: 1 << 10,
		GetResult: true, Persist: true, Cache: true, AllowError: true, Retries: 1, Timeout: time.Hour, Priority: 3,
		WorkerDeaths: 2, RunOnce: true,
		Checkpoint: func(context.Context, any) error { checkpoints.Add(1); return nil }})

	here := dagr.Spawn(scoped, scopedHere, dagr.Options{Single: 2})
	checkSeen(t, "a task on worker 2", fetch[OptionsSeen](t, ctx, here), 2, scopedWant)
	if here.Name() != "scoped" {
		t.Errorf("the task took the name %q, want the context's", here.Name())
	}
	if n := checkpoints.Load(); n != 1 {
		t.Errorf("its Checkpoint, a function of worker 1, ran %d times there, want 1", n)
	}

	// A child that worker 1 places on worker 3, on worker 2 again, or
	// runs itself: each fails once, and succeeds with the context's retry.
	for _, on := range []int{3, 2, 1} {
		got, err := dagr.Fetch[ChildSeen](ctx, dagr.Spawn(scoped, scopedChild, dagr.Options{Single: 2}, fmt.Sprintf("child on %d", on), on))
		if err != nil {
			t.Fatalf("a child spawned on worker 2 for worker %d: %v", on, err)
		}
		checkSeen(t, "a task that spawns", got.Parent, 2, scopedWant)
		if got.Name != "scoped" {
			t.Errorf("the child took the name %q, want the context's", got.Name)
		}
		checkSeen(t, fmt.Sprintf("the child, placed on worker %d", on), got.Child, on, scopedWant)
	}

	got, err := dagr.Fetch[ChildSeen](ctx, dagr.Spawn(scoped, scopedClosureChild, dagr.Options{Single: 3}))
	if err != nil {
		t.Fatalf("a closure spawned on worker 3: %v", err)
	}
	checkSeen(t, "a closure spawned on worker 3", got.Child, 3, scopedWant)
	if got.Name != "scoped" {
		t.Errorf("the closure took the name %q, want the context's", got.Name)
	}

	// Without options, none arrive.
	none := fetch[OptionsSeen](t, ctx, dagr.Spawn(ctx, scopedHere, dagr.Options{Single: 2}))
	checkSeen(t, "a task of a context without options", none, 2, OptionsSeen{})
}

// TestScopedOptionsPrecedenceRemote: on a worker, the precedence holds as
// on worker 1: the task's own options, then the innermost context's, then
// the outer ones'; a WithOptions there combines with those that came.
func TestScopedOptionsPrecedenceRemote(t *testing.T) {
	ctx := withWorkers(t, 2)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	outer := dagr.WithOptions(ctx, dagr.Options{Name: "outer", Priority: 3, Retries: 1, WorkerDeaths: 5})
	inner := dagr.WithOptions(outer, dagr.Options{Name: "inner", Timeout: time.Hour, WorkerDeaths: 4})
	for _, on := range []int{3, 1} {
		task := dagr.Spawn(inner, scopedNested, dagr.Options{Single: 2, Name: "own"}, on)
		got, err := dagr.Fetch[ChildSeen](ctx, task)
		if err != nil {
			t.Fatal(err)
		}
		if task.Name() != "own" {
			t.Errorf("the task's own name lost to %q", task.Name())
		}
		came := OptionsSeen{Name: "inner", Priority: 3, Retries: 1, Timeout: time.Hour, WorkerDeaths: 4}
		checkSeen(t, "the nested contexts' options on worker 2", got.Parent, 2, came)
		if got.Name != "child" {
			t.Errorf("the child's own name lost to %q", got.Name)
		}
		there := came
		there.Priority, there.AllocUtil = 7, 1<<20
		checkSeen(t, fmt.Sprintf("a child on worker %d of a context with options of worker 2's", on), got.Child, on, there)
	}
}

// TestScopedOptionsScopeTravels: a Scope in the options of a context
// travels as the processors it allows: what a task spawns on a worker
// runs where it would have from worker 1; a task's own Single wins over
// it, for the task itself.
func TestScopedOptionsScopeTravels(t *testing.T) {
	ctx := withWorkersOf(t, 2, dagr.Config{WorkerProcs: 2})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, c := range []struct {
		scope dagr.Scope
		shown string // OptionsFrom(ctx).Scope.String() on worker 2
		may   []string
	}{
		{dagr.WorkerScope(3), "WorkerScope(3)", []string{"ThreadProc(3, 1)", "ThreadProc(3, 2)"}},
		{dagr.ExactScope(dagr.ThreadProc{Owner: 3, Thread: 2}), "ExactScope(ThreadProc(3, 2))", []string{"ThreadProc(3, 2)"}},
		{dagr.IntersectScope(dagr.WorkerScope(2, 3), dagr.ThreadScope(2)), "IntersectScope(WorkerScope(2, 3), ThreadScope(2))", []string{"ThreadProc(2, 2)"}},
		{dagr.ThreadScope(1), "ThreadScope(1)", []string{"ThreadProc(2, 1)"}}, // placed by worker 2, on its own processors
	} {
		scoped := dagr.WithOptions(ctx, dagr.Options{Scope: c.scope})
		seen := fetch[OptionsSeen](t, ctx, dagr.Spawn(scoped, scopedHere, dagr.Options{Single: 2}))
		if seen.Worker != 2 || seen.Scope != c.shown {
			t.Errorf("%v: a task with Single 2 ran on worker %d and saw the scope %q, want worker 2 and %q", c.scope, seen.Worker, seen.Scope, c.shown)
		}
		for range 4 {
			p := fetch[Place](t, ctx, dagr.Spawn(scoped, whereFromCtx, dagr.Options{Single: 2}))
			ok := false
			for _, m := range c.may {
				ok = ok || p.Proc == m
			}
			if !ok {
				t.Errorf("%v: a task spawned on worker 2 ran on %s, want one of %v", c.scope, p.Proc, c.may)
			}
		}
	}
	// A scope that allows nothing fails what the task spawns there.
	nowhere := dagr.WithOptions(ctx, dagr.Options{Scope: dagr.WorkerScope(0)})
	_, err := dagr.Spawn(nowhere, whereFromCtx, dagr.Options{Single: 2}).Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "allows no processor") {
		t.Errorf("a task spawned on worker 2 with a scope that allows nothing: %v, want an error saying it allows no processor", err)
	}
}

// TestScopedOptionsBadRemote: options of a context that no task could
// take travel as they are, and fail each task spawned with them on a
// worker with the error that they give on worker 1, whether worker 1
// (Retries) or the worker (Occupancy) finds them wrong.
func TestScopedOptionsBadRemote(t *testing.T) {
	ctx := withWorkers(t, 1)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, c := range []struct {
		bad  dagr.Options
		own  dagr.Options // the task's on worker 2, which it can take
		want string
	}{
		{dagr.Options{Occupancy: 2}, dagr.Options{Single: 2, Occupancy: 0.5}, "Options.Occupancy is 2"},
		{dagr.Options{Timeout: -time.Second}, dagr.Options{Single: 2, Timeout: time.Minute}, "Options.Timeout is -1s"},
		{dagr.Options{Retries: -1}, dagr.Options{Single: 2, Retries: 1}, "Options.Retries is -1"},
	} {
		_, err := dagr.Spawn(dagr.WithOptions(ctx, c.bad), whereFromCtx, c.own).Fetch(ctx)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("a task spawned on worker 2 with scoped options %+v: %v, want an error saying %q", c.bad, err, c.want)
		}
	}
}
