package dagr

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/dagr/dagr/internal/sched"
)

// Waiting on many tasks at once: Julia's waitall and waitany, and its
// fetch.(tasks), for a slice of *Task.

// WaitAll waits until every task has ended, failed or not, and returns nil
// (like Task.Wait, it does not report failures: FetchAll does); the end of
// each task, and what its f did, happen before WaitAll returns. If ctx ends
// first it returns ctx.Err(), and the tasks go on. A nil *Task, or one that
// Spawn did not make, is an error, returned before anything is waited for.
//
// WaitAll waits for the tasks one after the other with Task.Wait, so it
// takes no goroutine and no channel per task; called inside a task with
// the context it was handed, it gives the task's processor back while it
// waits, or runs itself a child that has not started, as Task.Wait does.
func WaitAll(ctx context.Context, tasks ...*Task) error {
	if err := checkTasks("WaitAll", tasks); err != nil {
		return err
	}
	for _, t := range tasks {
		if err := t.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// FetchAll waits for every task and returns their results, in the order of
// tasks. The error is errors.Join of the error of each task that failed,
// in the same order, each as Task.Fetch returns it (a *TaskError, so that
// errors.Is and errors.As reach the original errors); the result of a task
// that failed is nil. If ctx ends before every task has ended, FetchAll
// returns nil and ctx.Err(), and the tasks go on. A nil *Task, or one that
// Spawn did not make, is an error, returned before anything is waited for.
//
// Like WaitAll, it waits with Task.Wait, one task after the other: inside
// a task, it gives the task's processor back while it waits.
func FetchAll(ctx context.Context, tasks ...*Task) ([]any, error) {
	return fetchAll(ctx, "FetchAll", tasks, func(ctx context.Context, t *Task) (any, error) {
		return t.Fetch(ctx)
	})
}

// FetchAllAs is FetchAll with the results as T's, each as Fetch[T] gives
// it: a result that is not a T is an error for that task (joined with the
// others), not a panic, and its place in the results holds the zero T, as
// does the place of a task that failed.
func FetchAllAs[T any](ctx context.Context, tasks ...*Task) ([]T, error) {
	return fetchAll(ctx, "FetchAllAs", tasks, func(ctx context.Context, t *Task) (T, error) {
		return Fetch[T](ctx, t)
	})
}

func fetchAll[T any](ctx context.Context, op string, tasks []*Task, fetch func(context.Context, *Task) (T, error)) ([]T, error) {
	if err := checkTasks(op, tasks); err != nil {
		return nil, err
	}
	results := make([]T, len(tasks))
	var errs []error
	for i, t := range tasks {
		// Wait first: an error here is ctx's, for all that is left, not
		// one more to join.
		if err := t.Wait(ctx); err != nil {
			return nil, err
		}
		v, err := fetch(ctx, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		results[i] = v
	}
	return results, errors.Join(errs...)
}

// WaitAny waits until one of the tasks has ended, failed or not, and
// returns its index in tasks; when several have ended by the time it looks,
// it returns the lowest index among them. The end of that task happens
// before WaitAny returns. The index is -1 and the error
// non-nil if ctx ends first (ctx.Err()), if tasks is empty (nothing could
// end), or if one of them is a nil *Task or one that Spawn did not make.
// The other tasks go on: WaitAnyCancel stops them. For tasks spawned only
// to race, a context of their own is the other idiom, as with
// errgroup.WithContext: spawn them with race, cancel :=
// context.WithCancel(ctx), and call cancel once WaitAny returns (it
// cancels every task spawned with race, any that takes the winner's result
// included).
//
// WaitAny returns at once if a task has ended. Otherwise it selects on the
// Done channels of all the tasks (with reflect.Select), which makes the
// channel of each task that had none (Done makes it on first use and keeps
// it until the task ends), so each call costs time and memory in
// proportion to len(tasks), and a loop that calls WaitAny to take n tasks
// one by one as they end costs n². To handle each result as soon as it is
// ready, spawn a task that takes it as its argument instead. Called inside a task with
// the context it was handed, WaitAny gives the task's processor back while
// it waits, as Sync does; unlike Task.Wait, it does not run a child that
// has not started itself (but for a single task, which it waits for with
// Task.Wait).
func WaitAny(ctx context.Context, tasks ...*Task) (int, error) {
	if len(tasks) == 0 {
		return -1, errors.New("dagr: WaitAny of no tasks, none of which can end")
	}
	if err := checkTasks("WaitAny", tasks); err != nil {
		return -1, err
	}
	if i := firstEnded(tasks); i >= 0 {
		return i, nil
	}
	ctx = orBackground(ctx)
	if len(tasks) == 1 {
		if err := tasks[0].Wait(ctx); err != nil {
			return -1, err
		}
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	resume := sched.Blocking(ctx)
	waitForAnyDone(ctx, tasks)
	resume()
	// A task that ended wins over ctx, as in Task.Wait.
	if i := firstEnded(tasks); i >= 0 {
		return i, nil
	}
	return -1, ctx.Err()
}

// WaitAnyCancel is WaitAny, then Cancel of every task of tasks but the one
// whose index it returns: when it returns, every task of tasks has ended,
// and those that had not ended before have failed with an error for which
// errors.Is(err, context.Canceled) holds, as has every task downstream of
// them. If WaitAny fails (ctx ended first, say), every task is cancelled.
// Use it to race tasks that compute the same thing in different ways, or
// to take the first of several replicas.
func WaitAnyCancel(ctx context.Context, tasks ...*Task) (int, error) {
	i, err := WaitAny(ctx, tasks...)
	for j, t := range tasks {
		if j != i && t != nil {
			t.Cancel()
		}
	}
	return i, err
}

// checkTasks returns an error naming the first of tasks that is nil or was
// not made by Spawn, for the function op.
func checkTasks(op string, tasks []*Task) error {
	for i, t := range tasks {
		if t == nil {
			return fmt.Errorf("dagr: %s: tasks[%d] is a nil *Task", op, i)
		}
		if !t.node.Spawned() {
			return fmt.Errorf("dagr: %s: tasks[%d] is a *Task that Spawn did not make (a zero Task)", op, i)
		}
	}
	return nil
}

// firstEnded returns the lowest index of a task that has ended, or -1.
func firstEnded(tasks []*Task) int {
	for i, t := range tasks {
		if t.Ready() {
			return i
		}
	}
	return -1
}

// maxSelectCases is the most cases that one reflect.Select takes.
const maxSelectCases = 1 << 16

// selectBatch is how many tasks' Done channels one reflect.Select watches,
// leaving a case for the channel that ends the watch. A variable, for tests.
var selectBatch = maxSelectCases - 1

// waitForAnyDone returns once ctx has ended or one of the tasks has. The
// caller's goroutine selects on all the channels at once; past the cases
// one select takes, each batch of tasks gets a goroutine of its own, which
// ends before waitForAnyDone returns.
func waitForAnyDone(ctx context.Context, tasks []*Task) {
	if len(tasks) <= selectBatch {
		selectAny(ctx.Done(), tasks)
		return
	}
	stop := make(chan struct{})
	woke := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for len(tasks) > 0 {
		batch := tasks[:min(selectBatch, len(tasks))]
		tasks = tasks[len(batch):]
		wg.Go(func() {
			selectAny(stop, batch)
			select {
			case woke <- struct{}{}:
			default:
			}
		})
	}
	select {
	case <-ctx.Done():
	case <-woke:
	}
	close(stop)
	wg.Wait()
}

// selectAny returns once stop is closed or one of the tasks has ended.
// stop may be nil: it then never ends the wait.
func selectAny(stop <-chan struct{}, tasks []*Task) {
	cases := make([]reflect.SelectCase, 0, len(tasks)+1)
	if stop != nil {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(stop)})
	}
	for _, t := range tasks {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.Done())})
	}
	reflect.Select(cases)
}
