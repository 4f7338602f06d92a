package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// nestedNew makes a scheduler for one test; the caller defers its Close.
func nestedNew(t *testing.T, procs int) *dagr.Scheduler {
	t.Helper()
	s, err := dagr.New(dagr.Config{Procs: procs})
	if err != nil {
		t.Fatalf("New(Procs: %d): %v", procs, err)
	}
	return s
}

// nestedCtx is a context on s that ends after a generous timeout, so that a
// deadlock fails the test instead of hanging it.
func nestedCtx(s *dagr.Scheduler) (context.Context, context.CancelFunc) {
	return context.WithTimeout(dagr.WithScheduler(context.Background(), s), 20*time.Second)
}

// nestedWaiting is the option of tasks that block on channels: they take no
// share of a processor, so they never starve the tasks that release them.
var nestedWaiting = dagr.Options{Occupancy: dagr.NoOccupancy}

// nestedFib spawns and fetches both halves from inside the task.
func nestedFib(ctx context.Context, n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	a := dagr.Spawn(ctx, nestedFib, n-1)
	b := dagr.Spawn(ctx, nestedFib, n-2)
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

// TestNestedFib: a task waiting in Fetch gives its processor back, so the
// recursion finishes even on one processor.
func TestNestedFib(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("Procs%d", procs), func(t *testing.T) {
			s := nestedNew(t, procs)
			defer s.Close()
			ctx, cancel := nestedCtx(s)
			defer cancel()
			got, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, nestedFib, 16))
			if err != nil {
				t.Fatalf("fib(16): %v", err)
			}
			if got != 987 {
				t.Errorf("fib(16) = %d, want 987", got)
			}
		})
	}
}

// TestNestedWaitInsideTaskOneProc: Wait inside a task gives the processor
// back too.
func TestNestedWaitInsideTaskOneProc(t *testing.T) {
	s := nestedNew(t, 1)
	defer s.Close()
	ctx, cancel := nestedCtx(s)
	defer cancel()
	parent := func(ctx context.Context) (int, error) {
		c := dagr.Spawn(ctx, func() int { return 7 })
		if err := c.Wait(ctx); err != nil {
			return 0, err
		}
		if !c.Ready() {
			return 0, errors.New("nested test: Wait returned before the child ended")
		}
		return dagr.Fetch[int](ctx, c)
	}
	got, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, parent))
	if err != nil || got != 7 {
		t.Fatalf("parent = %v, %v; want 7, nil", got, err)
	}
}

// TestNestedReturnedTaskOutlivesParent: a task returns a task it spawned;
// the child keeps running after its parent returned, its context is not
// cancelled, it can still spawn with that context, and the caller fetches it.
func TestNestedReturnedTaskOutlivesParent(t *testing.T) {
	s := nestedNew(t, 2)
	defer s.Close()
	ctx, cancel := nestedCtx(s)
	defer cancel()

	gate := make(chan struct{})
	child := func(ctx context.Context) (string, error) {
		select {
		case <-gate:
		case <-ctx.Done():
			return "", fmt.Errorf("nested test: child's context ended: %w", ctx.Err())
		}
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("nested test: child's context ended: %w", err)
		}
		g := dagr.Spawn(ctx, func(ctx context.Context, s string) (string, error) {
			return s + "+grandchild", ctx.Err()
		}, "child")
		return dagr.Fetch[string](ctx, g)
	}
	parent := func(ctx context.Context) *dagr.Task {
		return dagr.Spawn(ctx, child, nestedWaiting)
	}
	p := dagr.Spawn(ctx, parent)
	c, err := dagr.Fetch[*dagr.Task](ctx, p)
	if err != nil {
		t.Fatalf("parent: %v", err)
	}
	if c == nil {
		t.Fatalf("parent returned a nil *Task")
	}
	if !p.Ready() {
		t.Fatalf("parent not ready after Fetch")
	}
	if c.Ready() {
		t.Fatalf("child ended before its gate opened")
	}
	close(gate)
	got, err := dagr.Fetch[string](ctx, c)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if got != "child+grandchild" {
		t.Errorf("child = %q, want %q", got, "child+grandchild")
	}
}

// nestedBlock waits until ctx ends and returns its error.
func nestedBlock(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestNestedCancelParentCancelsChildren: cancelling a running parent
// cancels the tasks it spawned with its context, or one derived from it.
func TestNestedCancelParentCancelsChildren(t *testing.T) {
	s := nestedNew(t, 2)
	defer s.Close()
	ctx, cancel := nestedCtx(s)
	defer cancel()

	kids := make(chan [2]*dagr.Task, 1)
	type key struct{}
	parent := func(ctx context.Context) error {
		a := dagr.Spawn(ctx, nestedBlock, nestedWaiting)
		b := dagr.Spawn(context.WithValue(ctx, key{}, 1), nestedBlock, nestedWaiting)
		kids <- [2]*dagr.Task{a, b}
		return nestedBlock(ctx)
	}
	p := dagr.Spawn(ctx, parent, nestedWaiting)
	var ks [2]*dagr.Task
	select {
	case ks = <-kids:
	case <-ctx.Done():
		t.Fatalf("parent did not spawn its children: %v", ctx.Err())
	}
	if ks[0].Ready() || ks[1].Ready() {
		t.Fatalf("a child ended before its parent was cancelled")
	}
	p.Cancel()
	if _, err := p.Fetch(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("parent: err = %v, want context.Canceled", err)
	}
	for i, k := range ks {
		_, err := k.Fetch(ctx)
		if ctx.Err() != nil {
			t.Fatalf("child %d was not cancelled with its parent", i)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("child %d: err = %v, want context.Canceled", i, err)
		}
	}
}

// TestNestedCancelOuterCancelsGrandchildren: cancelling the context that
// spawned a parent cancels its grandchildren, whether the parents still run
// or have returned.
func TestNestedCancelOuterCancelsGrandchildren(t *testing.T) {
	t.Run("parents running", func(t *testing.T) {
		s := nestedNew(t, 2)
		defer s.Close()
		wait, cancelWait := nestedCtx(s)
		defer cancelWait()
		outer, cancel := context.WithCancel(wait)
		defer cancel()

		grand := make(chan *dagr.Task, 1)
		child := func(ctx context.Context) error {
			grand <- dagr.Spawn(ctx, nestedBlock, nestedWaiting)
			return nestedBlock(ctx)
		}
		parent := func(ctx context.Context) error {
			dagr.Spawn(ctx, child, nestedWaiting)
			return nestedBlock(ctx)
		}
		p := dagr.Spawn(outer, parent, nestedWaiting)
		var g *dagr.Task
		select {
		case g = <-grand:
		case <-wait.Done():
			t.Fatalf("the grandchild was not spawned: %v", wait.Err())
		}
		cancel()
		for name, tk := range map[string]*dagr.Task{"parent": p, "grandchild": g} {
			_, err := tk.Fetch(wait)
			if wait.Err() != nil {
				t.Fatalf("%s was not cancelled with the outer context", name)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: err = %v, want context.Canceled", name, err)
			}
		}
	})
	t.Run("parents returned", func(t *testing.T) {
		s := nestedNew(t, 2)
		defer s.Close()
		wait, cancelWait := nestedCtx(s)
		defer cancelWait()
		outer, cancel := context.WithCancel(wait)
		defer cancel()

		child := func(ctx context.Context) *dagr.Task {
			return dagr.Spawn(ctx, nestedBlock, nestedWaiting)
		}
		parent := func(ctx context.Context) (*dagr.Task, error) {
			return dagr.Fetch[*dagr.Task](ctx, dagr.Spawn(ctx, child))
		}
		g, err := dagr.Fetch[*dagr.Task](wait, dagr.Spawn(outer, parent))
		if err != nil {
			t.Fatalf("parent: %v", err)
		}
		// Nothing but the grandchild's handle is left of its ancestors; a
		// collection must not lose the path from the outer context to it.
		runtime.GC()
		runtime.GC()
		if g.Ready() {
			t.Fatalf("grandchild ended before the outer context was cancelled")
		}
		cancel()
		_, err = g.Fetch(wait)
		if wait.Err() != nil {
			t.Fatalf("grandchild was not cancelled with the outer context")
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("grandchild: err = %v, want context.Canceled", err)
		}
	})
}

// TestNestedDeadlineCarried: a child's context carries its parent's Timeout
// deadline, and so does a grandchild's.
func TestNestedDeadlineCarried(t *testing.T) {
	s := nestedNew(t, 2)
	defer s.Close()
	ctx, cancel := nestedCtx(s)
	defer cancel()

	type deadline struct {
		at time.Time
		ok bool
	}
	deadlineOf := func(ctx context.Context) deadline {
		at, ok := ctx.Deadline()
		return deadline{at, ok}
	}
	child := func(ctx context.Context) ([2]deadline, error) {
		g, err := dagr.Fetch[deadline](ctx, dagr.Spawn(ctx, deadlineOf))
		return [2]deadline{deadlineOf(ctx), g}, err
	}
	parent := func(ctx context.Context) ([3]deadline, error) {
		c, err := dagr.Fetch[[2]deadline](ctx, dagr.Spawn(ctx, child))
		return [3]deadline{deadlineOf(ctx), c[0], c[1]}, err
	}
	const timeout = 10 * time.Second // shorter than ctx's
	start := time.Now()
	got, err := dagr.Fetch[[3]deadline](ctx, dagr.Spawn(ctx, parent, dagr.Options{Timeout: timeout}))
	if err != nil {
		t.Fatalf("parent: %v", err)
	}
	p := got[0]
	if !p.ok || p.at.Before(start) || p.at.After(time.Now().Add(timeout)) {
		t.Fatalf("parent's deadline = %v (ok %v), want about now+%v", p.at, p.ok, timeout)
	}
	for i, name := range []string{"child", "grandchild"} {
		if d := got[i+1]; !d.ok || !d.at.Equal(p.at) {
			t.Errorf("%s's deadline = %v (ok %v), want the parent's %v", name, d.at, d.ok, p.at)
		}
	}
}

// TestNestedDeadlineEndsChildren: the deadline a child carries ends its
// context, while the parent runs and after it returned.
func TestNestedDeadlineEndsChildren(t *testing.T) {
	const timeout = 200 * time.Millisecond
	t.Run("parent running", func(t *testing.T) {
		s := nestedNew(t, 2)
		defer s.Close()
		ctx, cancel := nestedCtx(s)
		defer cancel()
		kid := make(chan *dagr.Task, 1)
		parent := func(ctx context.Context) error {
			kid <- dagr.Spawn(ctx, nestedBlock, nestedWaiting)
			return nestedBlock(ctx)
		}
		p := dagr.Spawn(ctx, parent, dagr.Options{Timeout: timeout, Occupancy: dagr.NoOccupancy})
		var c *dagr.Task
		select {
		case c = <-kid:
		case <-ctx.Done():
			t.Fatalf("the child was not spawned: %v", ctx.Err())
		}
		for name, tk := range map[string]*dagr.Task{"parent": p, "child": c} {
			_, err := tk.Fetch(ctx)
			if ctx.Err() != nil {
				t.Fatalf("%s did not end at the parent's deadline", name)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: err = %v, want context.DeadlineExceeded", name, err)
			}
		}
	})
	t.Run("parent returned", func(t *testing.T) {
		s := nestedNew(t, 2)
		defer s.Close()
		// Spawned with a context without deadline; waited for with one.
		spawn := dagr.WithScheduler(context.Background(), s)
		ctx, cancel := context.WithTimeout(spawn, 3*time.Second)
		defer cancel()
		release := make(chan struct{})
		child := func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-release:
				d, ok := ctx.Deadline()
				return fmt.Errorf("nested test: released at %v; the child's context has Deadline() = %v, %v and Err() = %v",
					time.Now().Format(time.StampMilli), d.Format(time.StampMilli), ok, ctx.Err())
			}
		}
		parent := func(ctx context.Context) *dagr.Task { return dagr.Spawn(ctx, child, nestedWaiting) }
		c, err := dagr.Fetch[*dagr.Task](ctx, dagr.Spawn(spawn, parent, dagr.Options{Timeout: timeout}))
		if err != nil {
			close(release)
			t.Fatalf("parent: %v", err)
		}
		_, err = c.Fetch(ctx)
		if ctx.Err() != nil {
			close(release)
			_, err = c.Fetch(context.Background())
			t.Fatalf("the child's context did not end at the deadline it carries (its parent, with Timeout %v, had returned): %v", timeout, err)
		}
		close(release)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("child: err = %v, want context.DeadlineExceeded", err)
		}
	})
}

// TestNestedCurrentProcessor: inside a task (and a task it spawned, and a
// context derived from a task's) CurrentProcessor is a ThreadProc of worker
// 1 within the scheduler's processors; outside a task it is nil.
func TestNestedCurrentProcessor(t *testing.T) {
	const procs = 3
	s := nestedNew(t, procs)
	defer s.Close()
	ctx, cancel := nestedCtx(s)
	defer cancel()

	for name, c := range map[string]context.Context{"Background": context.Background(), "WithScheduler": ctx} {
		if p := dagr.CurrentProcessor(c); p != nil {
			t.Errorf("CurrentProcessor(%s) = %v outside a task, want nil", name, p)
		}
	}
	type key struct{}
	child := func(ctx context.Context) []dagr.Processor {
		return []dagr.Processor{dagr.CurrentProcessor(ctx), dagr.CurrentProcessor(context.WithValue(ctx, key{}, 1))}
	}
	parent := func(ctx context.Context) ([]dagr.Processor, error) {
		kid, err := dagr.Fetch[[]dagr.Processor](ctx, dagr.Spawn(ctx, child))
		return append([]dagr.Processor{dagr.CurrentProcessor(ctx)}, kid...), err
	}
	var tasks []*dagr.Task
	for range 20 {
		tasks = append(tasks, dagr.Spawn(ctx, parent))
	}
	for _, tk := range tasks {
		ps, err := dagr.Fetch[[]dagr.Processor](ctx, tk)
		if err != nil {
			t.Fatalf("task: %v", err)
		}
		for _, p := range ps {
			tp, ok := p.(dagr.ThreadProc)
			if !ok {
				t.Fatalf("CurrentProcessor inside a task = %v (%T), want a dagr.ThreadProc", p, p)
			}
			if tp.Owner != 1 || tp.Worker() != 1 || tp.Thread < 1 || tp.Thread > procs {
				t.Errorf("CurrentProcessor inside a task = %v, want ThreadProc{1, 1..%d}", tp, procs)
			}
		}
	}
}

// TestNestedWorkerIDs: this process is worker 1, the only live worker, seen
// from outside and inside tasks.
func TestNestedWorkerIDs(t *testing.T) {
	s := nestedNew(t, 2)
	defer s.Close()
	ctx, cancel := nestedCtx(s)
	defer cancel()
	if id := dagr.MyID(); id != 1 {
		t.Errorf("MyID() = %d, want 1", id)
	}
	if ws := dagr.Workers(ctx); !slices.Equal(ws, []int{1}) {
		t.Errorf("Workers(ctx) = %v, want [1]", ws)
	}
	if ws := s.Workers(ctx); !slices.Equal(ws, []int{1}) {
		t.Errorf("s.Workers(ctx) = %v, want [1]", ws)
	}
	type ids struct {
		my      int
		workers []int
	}
	inside := func(ctx context.Context) ids { return ids{dagr.MyID(), dagr.Workers(ctx)} }
	parent := func(ctx context.Context) ([2]ids, error) {
		kid, err := dagr.Fetch[ids](ctx, dagr.Spawn(ctx, inside))
		return [2]ids{inside(ctx), kid}, err
	}
	got, err := dagr.Fetch[[2]ids](ctx, dagr.Spawn(ctx, parent))
	if err != nil {
		t.Fatalf("task: %v", err)
	}
	for i, g := range got {
		if g.my != 1 || !slices.Equal(g.workers, []int{1}) {
			t.Errorf("inside task %d: MyID() = %d, Workers(ctx) = %v; want 1, [1]", i, g.my, g.workers)
		}
	}
}
