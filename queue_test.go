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

// These restate Dagger's test/task-queues.jl.

// gate counts the tasks that run at once, and lets each go when told.
type gate struct {
	running, most atomic.Int32
	entered       chan int      // each task's number as it starts
	release       chan struct{} // one per task to let go
	ran           atomic.Int32
}

// newGate returns a gate whose tasks are all let go when the test ends,
// so that a test that fails does not leave them blocked.
func newGate(t *testing.T) *gate {
	g := &gate{entered: make(chan int, 64), release: make(chan struct{}, 64)}
	t.Cleanup(func() { close(g.release) })
	return g
}

// task returns the function of task i: it starts, waits to be let go, and
// returns i.
func (g *gate) task(i int) func() int {
	return func() int {
		n := g.running.Add(1)
		for {
			m := g.most.Load()
			if n <= m || g.most.CompareAndSwap(m, n) {
				break
			}
		}
		g.entered <- i
		<-g.release
		g.running.Add(-1)
		g.ran.Add(1)
		return i
	}
}

// expect waits for the tasks of want to start, in any order, before the
// deadline of ctx.
func (g *gate) expect(t *testing.T, ctx context.Context, want ...int) {
	t.Helper()
	got := map[int]bool{}
	for range want {
		select {
		case i := <-g.entered:
			got[i] = true
		case <-ctx.Done():
			t.Fatalf("waiting for tasks %v to start: only %v did", want, got)
		}
	}
	for _, i := range want {
		if !got[i] {
			t.Fatalf("tasks %v started, want %v", got, want)
		}
	}
}

func (g *gate) letGo(n int) {
	for range n {
		g.release <- struct{}{}
	}
}

var waits = dagr.Options{Occupancy: dagr.NoOccupancy} // tasks that could all run at once

// TestSpawnBulkHolds: the tasks of a bulk block do not start before it
// ends, may take each other's results, cannot be waited for inside it,
// and run once it ends.
func TestSpawnBulkHolds(t *testing.T) {
	_, ctx := schedulerOf(t, 2)
	var ran atomic.Int32
	op := func(f func(a, b int) int) func(a, b int) int {
		return func(a, b int) int { ran.Add(1); return f(a, b) }
	}
	var d *dagr.Task
	err := dagr.SpawnBulk(ctx, func(ctx context.Context) error {
		b := dagr.Spawn(ctx, op(func(a, b int) int { return a * b }), 2, 3)
		if err := b.Wait(ctx); err == nil || !strings.Contains(err.Error(), "SpawnBulk") {
			t.Errorf("a wait inside the block for one of its tasks: %v, want an error at once", err)
		}
		c := dagr.Spawn(ctx, op(func(a, b int) int { return a + b }), 3, 4)
		d = dagr.Spawn(ctx, op(func(a, b int) int { return a*10 + b }), c, b)
		if n := ran.Load(); n != 0 {
			t.Errorf("%d tasks ran inside the block", n)
		}
		return errors.New("the block's own error")
	})
	if err == nil || err.Error() != "the block's own error" {
		t.Fatalf("SpawnBulk returned %v, want the block's error", err)
	}
	if v, err := dagr.Fetch[int](ctx, d); err != nil || v != 76 || ran.Load() != 3 {
		t.Fatalf("after the block: %v, %v, with %d tasks run; want 76 from 3", v, err, ran.Load())
	}
}

// TestSpawnSequentialInOrder: the tasks of a sequential block run one at a
// time, in order, though each could run beside the others; the last takes
// the results of the first two.
func TestSpawnSequentialInOrder(t *testing.T) {
	_, ctx := schedulerOf(t, 2)
	dl, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	g := newGate(t)
	var d *dagr.Task
	if err := dagr.SpawnSequential(ctx, func(ctx context.Context) error {
		b := dagr.Spawn(ctx, g.task(1), waits)
		c := dagr.Spawn(ctx, g.task(2), waits)
		d = dagr.Spawn(ctx, func(x, y int) int { return g.task(3)() + 10*x + 100*y }, waits, b, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		g.expect(t, dl, i)
		g.letGo(1)
	}
	if v, err := dagr.Fetch[int](dl, d); err != nil || v != 213 || g.most.Load() != 1 {
		t.Fatalf("the last task: %v, %v, with at most %d tasks at once; want 213, one at a time", v, err, g.most.Load())
	}
}

// TestSpawnBulkInSequential: a bulk block inside a sequential one is one
// step: its ten tasks run together, after the step before, and the next
// block's tasks after all of them.
func TestSpawnBulkInSequential(t *testing.T) {
	_, ctx := schedulerOf(t, 2)
	dl, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	g := newGate(t)
	var last *dagr.Task
	err := dagr.SpawnSequential(ctx, func(ctx context.Context) error {
		for group := range 3 {
			if err := dagr.SpawnBulk(ctx, func(ctx context.Context) error {
				for i := range 10 {
					last = dagr.Spawn(ctx, g.task(group*10+i), waits)
				}
				if n := g.ran.Load(); n != 0 && group == 0 {
					t.Errorf("%d tasks ran inside the first bulk block", n)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for group := range 3 {
		want := make([]int, 10)
		for i := range want {
			want[i] = group*10 + i
		}
		g.expect(t, dl, want...) // all ten at once: none has been let go
		if n := g.running.Load(); n != 10 {
			t.Fatalf("group %d: %d tasks run at once, want its 10", group, n)
		}
		g.letGo(10)
	}
	if _, err := last.Fetch(dl); err != nil {
		t.Fatal(err)
	}
	if g.most.Load() != 10 {
		t.Fatalf("at most %d tasks ran at once, want 10 (a group)", g.most.Load())
	}
}

// TestSpawnSequentialInBulk: a sequential block inside a bulk one starts
// nothing before the bulk block ends, then runs its tasks one at a time.
func TestSpawnSequentialInBulk(t *testing.T) {
	_, ctx := schedulerOf(t, 2)
	dl, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	g := newGate(t)
	var d *dagr.Task
	err := dagr.SpawnBulk(ctx, func(ctx context.Context) error {
		err := dagr.SpawnSequential(ctx, func(ctx context.Context) error {
			for i := 1; i <= 3; i++ {
				d = dagr.Spawn(ctx, g.task(i), waits)
			}
			return nil
		})
		if n := g.ran.Load() + g.running.Load(); n != 0 {
			t.Errorf("%d tasks started before the bulk block ended", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		g.expect(t, dl, i)
		g.letGo(1)
	}
	if v, err := dagr.Fetch[int](dl, d); err != nil || v != 3 || g.most.Load() != 1 {
		t.Fatalf("the last task: %v, %v, at most %d at once", v, err, g.most.Load())
	}
}

// TestSpawnSequentialFailure: a task after one that failed fails too, as
// downstream of it, without running.
func TestSpawnSequentialFailure(t *testing.T) {
	_, ctx := schedulerOf(t, 1)
	boom := errors.New("boom")
	var ran atomic.Bool
	var first, second *dagr.Task
	_ = dagr.SpawnSequential(ctx, func(ctx context.Context) error {
		first = dagr.Spawn(ctx, func() error { return boom })
		second = dagr.Spawn(ctx, func() int { ran.Store(true); return 1 })
		return nil
	})
	_, err := second.Fetch(ctx)
	var te *dagr.TaskError
	if !errors.Is(err, boom) || !errors.As(err, &te) || te.Origin != first.ID() || ran.Load() {
		t.Fatalf("the task after a failure: %v (ran: %v); want boom from task %d", err, ran.Load(), first.ID())
	}
}

// TestTaskQueueDoesNotPropagate: what a task of a block spawns is not part
// of the block: two tasks spawned by a task of a sequential block run
// together.
func TestTaskQueueDoesNotPropagate(t *testing.T) {
	_, ctx := schedulerOf(t, 2)
	dl, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	g := newGate(t)
	var parent *dagr.Task
	_ = dagr.SpawnSequential(ctx, func(ctx context.Context) error {
		parent = dagr.Spawn(ctx, func(ctx context.Context) (int, error) {
			a := dagr.Spawn(ctx, g.task(1), waits)
			b := dagr.Spawn(ctx, g.task(2), waits)
			va, err := dagr.Fetch[int](ctx, a)
			if err != nil {
				return 0, err
			}
			vb, err := dagr.Fetch[int](ctx, b)
			return va + vb, err
		})
		return nil
	})
	g.expect(t, dl, 1, 2) // both start before either is let go
	g.letGo(2)
	if v, err := dagr.Fetch[int](dl, parent); err != nil || v != 3 {
		t.Fatalf("the parent: %v, %v", v, err)
	}
}

// TestTaskQueueWithWorkers: the tasks of a sequential block of registered
// functions, placed on two other workers, run one after another: each
// starts after the one before it ended, as the event log says.
func TestTaskQueueWithWorkers(t *testing.T) {
	ctx := withWorkers(t, 2)
	dagr.EnableLogging(ctx, 0)
	var tasks []*dagr.Task
	_ = dagr.SpawnSequential(ctx, func(ctx context.Context) error {
		for i := range 6 {
			tasks = append(tasks, dagr.Spawn(ctx, double, dagr.Options{Single: 2 + i%2}, float64(i)))
		}
		return nil
	})
	for i, task := range tasks {
		if v := fetch[float64](t, ctx, task); v != float64(2*i) {
			t.Fatalf("task %d: %v", i, v)
		}
	}
	evs, _ := dagr.FetchLogs(ctx)
	byID := byTask(evs)
	for i := 1; i < len(tasks); i++ {
		prev, this := byID[tasks[i-1].ID()], byID[tasks[i].ID()]
		var ended, started time.Time
		for _, e := range prev {
			if e.Kind == dagr.EventFinish {
				ended = e.Time
			}
		}
		for _, e := range this {
			if e.Kind == dagr.EventStart && started.IsZero() {
				started = e.Time
			}
		}
		if ended.IsZero() || started.IsZero() || started.Before(ended) {
			t.Errorf("task %d started at %v, and the one before it ended at %v", i, started, ended)
		}
	}
}
