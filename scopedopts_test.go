package dagr_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// TestWithOptionsPrecedence restates Dagger's with_options tests: the
// options of a context apply to the tasks spawned with it; a task's own
// option wins over the context's; nested contexts combine, the inner one
// first; get_options (OptionsFrom) returns what applies.
func TestWithOptionsPrecedence(t *testing.T) {
	_, ctx := schedulerOf(t, 2)
	outer := dagr.WithOptions(ctx, dagr.Options{Name: "outer", Retries: 2, Timeout: time.Hour})
	inner := dagr.WithOptions(outer, dagr.Options{Name: "inner", Priority: 3})
	if got := dagr.OptionsFrom(inner); got.Name != "inner" || got.Retries != 2 || got.Timeout != time.Hour || got.Priority != 3 {
		t.Fatalf("OptionsFrom(inner) = %+v; want inner's name and priority, outer's retries and timeout", got)
	}
	if got := dagr.OptionsFrom(ctx); got.Name != "" || got.Retries != 0 {
		t.Fatalf("OptionsFrom of a context without options = %+v", got)
	}

	// The context's name, and its retries: a task that fails twice
	// succeeds on its third try.
	var tries atomic.Int32
	flaky := func() (int, error) {
		if tries.Add(1) < 3 {
			return 0, errors.New("not yet")
		}
		return 7, nil
	}
	task := dagr.Spawn(inner, flaky)
	if v, err := dagr.Fetch[int](ctx, task); err != nil || v != 7 || task.Name() != "inner" {
		t.Fatalf("a task of the inner context: %v, %v, named %q; want 7 after 3 tries, named inner", v, err, task.Name())
	}
	// Its own options win, field by field.
	own := dagr.Spawn(inner, add, dagr.Options{Name: "own"}, 1, 2)
	if v, err := dagr.Fetch[int](ctx, own); err != nil || v != 3 || own.Name() != "own" {
		t.Fatalf("a task with its own name: %v, %v, named %q", v, err, own.Name())
	}
	// The inner context's timeout wins over the outer's hour.
	short := dagr.WithOptions(inner, dagr.Options{Timeout: 20 * time.Millisecond})
	_, err := dagr.Spawn(short, waitForCancel).Fetch(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a task of a context with a 20ms timeout: %v, want a deadline", err)
	}
}

// TestWithOptionsReachesNestedTasks: what a task spawns with the context
// it was handed takes the options of the context the task was spawned
// with; a task that says where it runs takes neither Single nor Scope from
// the context.
func TestWithOptionsReachesNestedTasks(t *testing.T) {
	_, ctx := schedulerOf(t, 2)
	second := dagr.WithOptions(ctx, dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 2})})
	where := func(ctx context.Context) dagr.Processor { return dagr.CurrentProcessor(ctx) }
	nested := func(ctx context.Context) (dagr.Processor, error) {
		return dagr.Fetch[dagr.Processor](ctx, dagr.Spawn(ctx, where))
	}
	for range 20 {
		p, err := dagr.Fetch[dagr.Processor](ctx, dagr.Spawn(second, nested))
		if err != nil || p != (dagr.ThreadProc{Owner: 1, Thread: 2}) {
			t.Fatalf("a task spawned inside a task of the context ran on %v (%v), want ThreadProc(1, 2)", p, err)
		}
	}
	pinned := dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 1})}
	for range 20 {
		p, err := dagr.Fetch[dagr.Processor](ctx, dagr.Spawn(second, where, pinned))
		if err != nil || p != (dagr.ThreadProc{Owner: 1, Thread: 1}) {
			t.Fatalf("a task with its own scope ran on %v (%v), want ThreadProc(1, 1)", p, err)
		}
	}
	// Single set by the task: the context's Scope does not apply.
	p, err := dagr.Fetch[dagr.Processor](ctx, dagr.Spawn(second, where, dagr.Options{Single: 1}))
	if err != nil || p == nil || p.Worker() != 1 {
		t.Fatalf("a task with Single 1 ran on %v (%v)", p, err)
	}
}

// TestWithOptionsBadOptions: options of a context that no task could take
// fail each task spawned with it, with the error that the task's own would
// give.
func TestWithOptionsBadOptions(t *testing.T) {
	_, ctx := schedulerOf(t, 1)
	bad := dagr.WithOptions(ctx, dagr.Options{Occupancy: 2})
	_, err := dagr.Spawn(bad, add, 1, 2).Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "Options.Occupancy is 2") {
		t.Fatalf("a task of a context with Occupancy 2: %v", err)
	}
}
