package dagr

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/dagr/dagr/internal/cache"
	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/cluster"
	"github.com/dagr/dagr/internal/sched"
)

// Task is a handle on a spawned call, a future that any number of
// goroutines may wait on and fetch. It is made by Spawn. The task's result
// is kept while the Task is reachable (or a task that needs it has not run);
// after that it is released.
type Task struct {
	node sched.Node
}

// A *Task inside a value counts as a handle when the value's size is
// estimated: its insides belong to the engine, and change under the walk.
func init() { cache.Opaque(reflect.TypeFor[Task]()) }

// Fetch waits for the task to end and returns its result, or its error as a
// *TaskError. A task whose f returns nothing or only an error gives
// (nil, nil) on success. If ctx ends first, Fetch returns ctx.Err(); the
// task goes on. Called inside a task with the context it was handed, Fetch
// gives the task's processor back while it waits.
func (t *Task) Fetch(ctx context.Context) (any, error) {
	if err := t.Wait(ctx); err != nil {
		return nil, err
	}
	res, f := t.node.Outcome()
	if f != nil {
		return nil, newTaskError(t.node.ID(), t.node.Name(), f)
	}
	if v, ok := res.(*cluster.Value); ok {
		if res, err := getValue(orBackground(ctx), v); err != nil {
			return nil, fmt.Errorf("dagr: the result of %v: %w", t, err)
		} else {
			return res, nil
		}
	}
	return res, nil
}

// Fetch is t.Fetch with the result as a T. It returns an error, not a
// panic, when the result is not a T; a nil result gives the zero T when T
// is an interface, pointer, slice, map, channel or function type.
func Fetch[T any](ctx context.Context, t *Task) (T, error) {
	v, err := t.Fetch(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	r, bad := valueAs[T](v)
	if bad != "" {
		return r, fmt.Errorf("dagr: task %d (%s) returned %s", t.ID(), t.Name(), bad)
	}
	return r, nil
}

// valueAs returns v as a T, as Fetch[T] gives it: nil is the zero T when
// T can be nil. When v is not a T, bad says what it is instead ("nil,
// which is not a valid int", "a value of type string, not int"), for the
// caller's error.
func valueAs[T any](v any) (_ T, bad string) {
	var zero T
	if r, ok := v.(T); ok {
		return r, ""
	}
	want := reflect.TypeFor[T]()
	if v == nil {
		if call.Nillable(want) {
			return zero, ""
		}
		return zero, fmt.Sprintf("nil, which is not a valid %v", want)
	}
	return zero, fmt.Sprintf("a value of type %T, not %v", v, want)
}

// Wait waits for the task to end, failed or not, and returns nil; it returns
// ctx.Err() if ctx ends first. Called inside a task with the context it was
// handed, Wait gives the task's processor back while it waits, or, when
// the task it waits for is a child of that context that has not started
// yet, runs it itself. A task that waits for itself gets an error at once,
// and so does a wait on a nil or zero Task.
func (t *Task) Wait(ctx context.Context) error {
	if t == nil || !t.node.Spawned() {
		return errNotSpawned(t)
	}
	if t.node.Settled() {
		return nil
	}
	return sched.Wait(orBackground(ctx), &t.node)
}

// errNotSpawned is the error of a wait on a nil Task, or on one that Spawn
// did not make.
func errNotSpawned(t *Task) error {
	if t == nil {
		return errors.New("dagr: wait on a nil *Task")
	}
	return errors.New("dagr: wait on a *Task that is not spawned: one that a SpawnBulk block holds until it ends, or one that Spawn did not make (a zero Task)")
}

// Ready reports whether the task has ended, failed or not (Dagger's
// isready).
func (t *Task) Ready() bool { return t.node.Settled() }

// Done returns a channel that is closed when the task ends, failed or not.
// The result and the error are set before it is closed.
func (t *Task) Done() <-chan struct{} { return t.node.Done() }

// Cancel cancels the task (Dagger's cancel!): unless it has ended, it fails
// at once with an error for which errors.Is(err, context.Canceled) holds,
// and so does every task downstream; a queued task never runs, and a
// running f sees its context cancelled, what it returns being dropped.
// Cancel on an ended task does nothing.
func (t *Task) Cancel() { t.node.Cancel(sched.ErrCanceled) }

// ID returns the task's id, unique in this process.
func (t *Task) ID() uint64 { return t.node.ID() }

// Name returns Options.Name, or else the name of the task's function.
func (t *Task) Name() string { return t.node.Name() }

// String returns a short description, such as "task 12 (main.add)".
func (t *Task) String() string { return fmt.Sprintf("task %d (%s)", t.ID(), t.Name()) }
