package dagr

import (
	"context"
	"fmt"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/sched"
)

// Spawn starts f(args...) as a task on the scheduler ctx carries (see
// WithScheduler; inside a task, the task's own), else on Default(), and
// returns its handle at once. It is Dagger's spawn.
//
// f is any function. It may take a context.Context first, in which case it
// is handed the task's context; it may be variadic; and it returns R,
// (R, error), error or nothing. An argument of type *Task is a dependency:
// f receives that task's result once it is ready, and fails without running
// if that task fails. Every other argument is passed as is. If args[0] is an
// Options, it is the task's options and not an argument.
//
// Spawn never blocks on the task and never panics: a bad call (f not a
// function, a wrong number of arguments, an argument f cannot take, a
// dependency whose result f cannot take) gives a task that fails with an
// error saying which argument and why. If ctx is cancelled before the task
// ends, the task is cancelled.
func Spawn(ctx context.Context, f any, args ...any) *Task {
	return schedulerOf(ctx).Spawn(ctx, f, args...)
}

// Spawn is the package-level Spawn on s.
func (s *Scheduler) Spawn(ctx context.Context, f any, args ...any) *Task {
	ctx = orBackground(ctx)
	t := new(Task)
	spec := sched.DefaultSpec
	var bad error
	if len(args) > 0 {
		if o, ok := args[0].(Options); ok {
			args = args[1:]
			spec, bad = s.spec(&o)
		}
	}
	sig, err := call.Analyze(f)
	if err != nil && bad == nil {
		bad = err
	}
	var deps []sched.Dep
	if bad == nil {
		args, deps, bad = bindArgs(sig, f, args)
	}
	s.eng.Spawn(&t.node, ctx, f, sig, args, deps, spec, bad)
	return t
}

// bindArgs checks the arguments against f's signature and finds the
// dependencies among them. When some arguments stand for other values
// (dependencies, chunks), it returns a copy of args, whose dependency slots
// the engine fills.
func bindArgs(sig *call.Sig, f any, args []any) ([]any, []sched.Dep, error) {
	name := call.Name(f)
	if err := sig.CheckCount(name, len(args)); err != nil {
		return nil, nil, err
	}
	var deps []sched.Dep
	copied := false
	own := func() {
		if !copied {
			args, copied = append([]any(nil), args...), true
		}
	}
	for i, a := range args {
		switch a := a.(type) {
		case *Task:
			if a == nil {
				return nil, nil, fmt.Errorf("dagr: argument %d of %s is a nil *Task", i+1, name)
			}
			own()
			deps = append(deps, sched.Dep{Arg: i, Node: &a.node})
		case *Chunk:
			if a == nil {
				return nil, nil, fmt.Errorf("dagr: argument %d of %s is a nil *Chunk", i+1, name)
			}
			if err := sig.Accepts(name, i, a.value, 0); err != nil {
				return nil, nil, err
			}
			own()
			args[i] = a.value
		case *Thunk:
			return nil, nil, fmt.Errorf("dagr: argument %d of %s is a *Thunk, which Spawn does not take: Compute it, or build the DAG with Delayed", i+1, name)
		default:
			if err := sig.Accepts(name, i, a, 0); err != nil {
				return nil, nil, err
			}
		}
	}
	return args, deps, nil
}
