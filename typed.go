package dagr

import (
	"context"
	"fmt"

	"github.com/dagr/dagr/internal/call"
)

// Typed graphs: Spawn0 ... Spawn4 and Gather are Spawn with f's type and
// every argument's type checked by the compiler. Each passes f and the
// arguments to Spawn as they are, so a typed task is the task that Spawn
// makes (same name, same call without reflection for common shapes of f,
// same placement on workers), at the same cost: no reflection and no
// allocation of its own (bench/typed_test.go measures it).
//
// Two shapes of f have typed spawns, the two that dagr's programs use
// most: a plain function func(A, ...) R (SpawnN), and the full form
// func(context.Context, A, ...) (R, error) (SpawnNCtx), which is handed
// the task's context, may fail, and may spawn. A function of another
// shape, func(A) (R, error) say, is spawned with a named wrapper of the
// full form, or with Spawn. Adapters inside dagr would be closures: the
// task would be named after the closure, could not run on a worker
// (Register takes named functions), and would lose Spawn's calls without
// reflection.

// TaskOf is a task whose result has type R, made by a typed spawn
// (Spawn0 ... Spawn4, their Ctx forms, Gather). It is the *Task it
// embeds, with a Fetch that returns an R: Wait, Ready, Done, Cancel, ID
// and Name are the Task's.
//
// A typed spawn takes a TaskOf[A] itself as an Arg[A]: it is a
// dependency, as a *Task is for Spawn. Where an untyped *Task is wanted
// (Spawn, Delayed, Collect, a []*Task), pass t.Task. Conversely,
// TaskOf[R]{Task: t} types an untyped task: its Fetch then checks the
// result's type as Fetch[R] does, and a task downstream of it fails, as
// with Spawn, if the result is not an R.
//
// A TaskOf is a small value (two words), copied freely and comparable,
// like the *Task it holds. The zero TaskOf holds no task: its Fetch and Wait return an
// error, and a typed spawn given it makes a task that fails, as Spawn does
// with a nil *Task.
type TaskOf[R any] struct {
	*Task

	// This word makes a TaskOf two words long, so that an Arg holding
	// one points to a copy of it, where a one-word TaskOf would be stored
	// in the Arg as the *Task itself. The compiler can then tell that
	// spawnArg only reads the Arg's insides, and a Value(x) passed to a
	// typed spawn stays on the caller's stack: x is boxed once, as when
	// passed to Spawn, not twice.
	_ uintptr
}

// Fetch waits for the task to end and returns its result, or its error as
// a *TaskError, as Task.Fetch does. A result that is not an R (only
// possible for a TaskOf made from an untyped task) is an error, as in
// Fetch[R]. If ctx ends first, Fetch returns ctx.Err(); the task goes on.
func (t TaskOf[R]) Fetch(ctx context.Context) (R, error) {
	return Fetch[R](ctx, t.Task)
}

// UnmarshalCBOR makes t a handle of the task that data refers to, as
// Task.UnmarshalCBOR does, so that a TaskOf may travel to another worker
// inside a value, as a *Task does. Programs do not call it.
func (t *TaskOf[R]) UnmarshalCBOR(data []byte) error {
	task := new(Task)
	if err := task.UnmarshalCBOR(data); err != nil {
		return err
	}
	t.Task = task
	return nil
}

func (TaskOf[R]) argOf(R) {}

// Arg is an argument of type A of a typed spawn: a TaskOf[A], whose
// result f receives once it is ready, or Value(x), which f receives as is.
// No other type implements it.
//
// Types must match exactly: a TaskOf[*bytes.Buffer] is not an
// Arg[io.Reader], since Go's generic types do not convert; pass
// Value[io.Reader](buf), or spawn the producer with the interface as its
// result type. A nil Arg is a nil dependency: the task fails, as Spawn's
// does with a nil *Task.
type Arg[A any] interface {
	// argOf ties the argument to A, so that a TaskOf[string] is no
	// Arg[int]. It is never called: spawnArg tells the kinds of Arg apart
	// with a type switch.
	argOf(A)
}

// Value returns x as an argument of a typed spawn, which f receives as
// is. As with Spawn, a value that is a *Task or a *Chunk stands for its
// result, and a *Thunk makes the task fail.
func Value[A any](x A) Arg[A] { return valueArg[A]{x} }

// valueArg is the Arg that Value makes.
type valueArg[A any] struct{ v A }

func (valueArg[A]) argOf(A) {}

// spawnArg returns what Spawn is passed for a: the *Task of a typed task
// (a nil one for a nil Arg, which Spawn reports), or the value. It reads
// a with a type switch, not a method call, and a TaskOf is two words
// long (see TaskOf): then a's dynamic value does not escape, the caller's
// Value(x) stays on its stack, and x is boxed once, as when it is passed
// to Spawn.
func spawnArg[A any](a Arg[A]) any {
	switch a := a.(type) {
	case TaskOf[A]:
		return a.Task
	case valueArg[A]:
		return a.v
	}
	return (*Task)(nil)
}

// spawnTyped is Spawn of f with args, for a typed spawn with at most one
// Options (more make a task that fails). It passes an Options first
// whenever args[0] is an Options value, which Spawn would take for the
// task's options.
func spawnTyped(ctx context.Context, f any, opts []Options, args ...any) *Task {
	switch len(opts) {
	case 0:
		if len(args) > 0 {
			if _, ok := args[0].(Options); ok {
				return spawnWithOptions(ctx, f, Options{}, args)
			}
		}
		return Spawn(ctx, f, args...)
	case 1:
		return spawnWithOptions(ctx, f, opts[0], args)
	}
	return spawnFailed(ctx, f, errTooManyOptions(f, len(opts)))
}

// spawnWithOptions is Spawn of f with o and then args, which hold at most
// four arguments.
func spawnWithOptions(ctx context.Context, f any, o Options, args []any) *Task {
	var buf [5]any
	buf[0] = o
	n := 1 + copy(buf[1:], args)
	return Spawn(ctx, f, buf[:n]...)
}

// errTooManyOptions is the error of a typed spawn of f given n > 1 Options.
func errTooManyOptions(f any, n int) error {
	return fmt.Errorf("dagr: a typed spawn of %s takes at most one Options, got %d", call.Name(f), n)
}

// spawnFailed spawns a task named after f that fails with err at once.
func spawnFailed(ctx context.Context, f any, err error) *Task {
	return Spawn(ctx, func() error { return err }, Options{Name: call.Name(f), Occupancy: NoOccupancy})
}

// Spawn0 is Spawn(ctx, f) with f's result type in the task's type. opts,
// at most one, are the task's options.
func Spawn0[R any](ctx context.Context, f func() R, opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: spawnTyped(ctx, f, opts)}
}

// Spawn1 is Spawn(ctx, f, a), checked by the compiler: a is a TaskOf[A],
// a dependency whose result f receives, or Value(x) of an A. opts, at
// most one, are the task's options.
func Spawn1[A, R any](ctx context.Context, f func(A) R, a Arg[A], opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: spawnTyped(ctx, f, opts, spawnArg(a))}
}

// Spawn2 is Spawn1 for a function of two arguments.
func Spawn2[A, B, R any](ctx context.Context, f func(A, B) R, a Arg[A], b Arg[B], opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: spawnTyped(ctx, f, opts, spawnArg(a), spawnArg(b))}
}

// Spawn3 is Spawn1 for a function of three arguments.
func Spawn3[A, B, C, R any](ctx context.Context, f func(A, B, C) R, a Arg[A], b Arg[B], c Arg[C], opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: spawnTyped(ctx, f, opts, spawnArg(a), spawnArg(b), spawnArg(c))}
}

// Spawn4 is Spawn1 for a function of four arguments.
func Spawn4[A, B, C, D, R any](ctx context.Context, f func(A, B, C, D) R, a Arg[A], b Arg[B], c Arg[C], d Arg[D], opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: spawnTyped(ctx, f, opts, spawnArg(a), spawnArg(b), spawnArg(c), spawnArg(d))}
}

// Spawn0Ctx is Spawn0 for a function that is handed the task's context,
// and may fail: a non-nil error fails the task, and the tasks downstream.
func Spawn0Ctx[R any](ctx context.Context, f func(context.Context) (R, error), opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: spawnTyped(ctx, f, opts)}
}

// Spawn1Ctx is Spawn1 for a function that is handed the task's context,
// and may fail: a non-nil error fails the task, and the tasks downstream.
func Spawn1Ctx[A, R any](ctx context.Context, f func(context.Context, A) (R, error), a Arg[A], opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: spawnTyped(ctx, f, opts, spawnArg(a))}
}

// Spawn2Ctx is Spawn1Ctx for a function of two arguments.
func Spawn2Ctx[A, B, R any](ctx context.Context, f func(context.Context, A, B) (R, error), a Arg[A], b Arg[B], opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: spawnTyped(ctx, f, opts, spawnArg(a), spawnArg(b))}
}

// Spawn3Ctx is Spawn1Ctx for a function of three arguments.
func Spawn3Ctx[A, B, C, R any](ctx context.Context, f func(context.Context, A, B, C) (R, error), a Arg[A], b Arg[B], c Arg[C], opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: spawnTyped(ctx, f, opts, spawnArg(a), spawnArg(b), spawnArg(c))}
}

// Spawn4Ctx is Spawn1Ctx for a function of four arguments.
func Spawn4Ctx[A, B, C, D, R any](ctx context.Context, f func(context.Context, A, B, C, D) (R, error), a Arg[A], b Arg[B], c Arg[C], d Arg[D], opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: spawnTyped(ctx, f, opts, spawnArg(a), spawnArg(b), spawnArg(c), spawnArg(d))}
}

// Gather spawns f with the results of tasks, in order, as its variadic
// arguments: it is Spawn(ctx, f, tasks[0].Task, tasks[1].Task, ...) for a
// slice of any length. The task runs once all of them are done, and fails
// without running if one of them fails; with no tasks, f runs with no
// arguments. opts, at most one, are the task's options.
//
// f is variadic, func(...A) R, so that Spawn runs f itself, as it does
// for Spawn1: a function of a slice, func([]A) R, is spawned through a
// variadic function of the program's own (a named one, so that it may run
// on workers).
func Gather[A, R any](ctx context.Context, f func(...A) R, tasks []TaskOf[A], opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: gather(ctx, f, tasks, opts)}
}

// GatherCtx is Gather for a function that is handed the task's context,
// and may fail.
func GatherCtx[A, R any](ctx context.Context, f func(context.Context, ...A) (R, error), tasks []TaskOf[A], opts ...Options) TaskOf[R] {
	return TaskOf[R]{Task: gather(ctx, f, tasks, opts)}
}

// gather is Gather's body, for either shape of f.
func gather[A any](ctx context.Context, f any, tasks []TaskOf[A], opts []Options) *Task {
	if len(opts) > 1 {
		return spawnFailed(ctx, f, errTooManyOptions(f, len(opts)))
	}
	args := make([]any, 0, len(opts)+len(tasks))
	if len(opts) == 1 {
		args = append(args, opts[0])
	}
	for _, t := range tasks {
		args = append(args, t.Task)
	}
	return Spawn(ctx, f, args...)
}

// Untyped returns the *Task of each typed task, in order, for the
// functions that take *Task's, such as WaitAll:
// WaitAll(ctx, Untyped(tasks)...).
func Untyped[R any](tasks []TaskOf[R]) []*Task {
	out := make([]*Task, len(tasks))
	for i, t := range tasks {
		out[i] = t.Task
	}
	return out
}
