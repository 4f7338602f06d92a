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
	f, args = unname(f, args) // a Named function: its name goes in the Options, before the context's
	if scopedOptions.Load() {
		args = withScopedOptions(ctx, args)
	}
	if queuesUsed.Load() {
		if q, ok := queueOf(ctx); ok {
			t := new(Task)
			q.put(newQueued(t, s, q.hide(ctx), f, args))
			return t
		}
	}
	return s.spawnNow(nil, new(Task), ctx, f, args, nil)
}

// spawnNow makes t the task of f(args...), now, to run after the tasks of
// after too; with a batch, t waits in it to be placed (sched.Batch).
func (s *Scheduler) spawnNow(b *sched.Batch, t *Task, ctx context.Context, f any, args []any, after []*Task) *Task {
	if thisWorker != nil && len(after) == 0 && s.forward(t, orBackground(ctx), f, args) {
		return t
	}
	return s.spawnInto(b, t, ctx, 0, f, args, after)
}

// spawn is Spawn, with the task's id when not 0.
func (s *Scheduler) spawn(ctx context.Context, id uint64, f any, args ...any) *Task {
	return s.spawnInto(nil, new(Task), ctx, id, f, args, nil)
}

// spawnInto makes t the task of f(args...), with id when not 0, to run
// after the tasks of after too; with a batch, t waits in it to be placed
// (sched.Batch).
func (s *Scheduler) spawnInto(b *sched.Batch, t *Task, ctx context.Context, id uint64, f any, args []any, after []*Task) *Task {
	ctx = orBackground(ctx)
	if id != 0 {
		t.node.SetID(id)
	}
	spec := s.eng.DefaultSpec()
	var (
		bad    error
		pinned bool     // Options.Single or Options.Scope says where
		opts   *Options // the task's, if it has any
	)
	if len(args) > 0 {
		if o, ok := args[0].(Options); ok {
			args = args[1:]
			spec, bad = s.spec(&o, f)
			pinned = o.Single != 0 || o.Scope != nil
			opts = &o
		}
	}
	sig, err := call.Analyze(f)
	if err != nil && bad == nil {
		bad = err
	}
	var (
		depBuf [4]sched.Dep // most calls have few dependencies: no allocation
		deps   []sched.Dep
		copied []any
	)
	if bad == nil {
		copied, deps, bad = bindArgs(sig, f, args, depBuf[:0])
	}
	for _, a := range after {
		if bad == nil && !a.node.Spawned() {
			bad = fmt.Errorf("dagr: %s was to run after a task that was never spawned", call.Name(f))
		}
		deps = append(deps, sched.Dep{Arg: sched.After, Node: &a.node})
	}
	if bad == nil && !pinned && s.cl.Load() != nil {
		spec = s.spread(spec, f, opts)
	}
	// args stays on the caller's stack: the engine copies it, unless
	// bindArgs made a copy of its own already.
	if copied != nil {
		s.eng.SpawnOwnedIn(b, &t.node, ctx, f, sig, copied, deps, spec, bad)
	} else {
		s.eng.SpawnIn(b, &t.node, ctx, f, sig, args, deps, spec, bad)
	}
	return t
}

// bindArgs checks the arguments against f's signature and appends the
// dependencies among them to deps. A *Chunk stands for its value: then
// copied is a copy of args with the values in place, which the scheduler
// may keep; otherwise it is nil.
func bindArgs(sig *call.Sig, f any, args []any, deps []sched.Dep) (copied []any, _ []sched.Dep, _ error) {
	if err := sig.CheckCount(f, len(args)); err != nil {
		return nil, nil, err
	}
	for i, a := range args {
		switch a := a.(type) {
		case *Task:
			if a == nil {
				return nil, nil, fmt.Errorf("dagr: argument %d of %s is a nil *Task", i+1, call.Name(f))
			}
			if !a.node.Spawned() {
				return nil, nil, fmt.Errorf("dagr: argument %d of %s is a *Task that Spawn did not make (a zero Task)", i+1, call.Name(f))
			}
			deps = append(deps, sched.Dep{Arg: i, Node: &a.node})
		case *Chunk:
			if a == nil {
				return nil, nil, fmt.Errorf("dagr: argument %d of %s is a nil *Chunk", i+1, call.Name(f))
			}
			if err := a.acceptedBy(sig, f, "", i); err != nil {
				return nil, nil, err
			}
			if copied == nil {
				copied = append([]any(nil), args...)
			}
			copied[i] = a.value
		case *Thunk:
			return nil, nil, fmt.Errorf("dagr: argument %d of %s is a *Thunk, which Spawn does not take: Compute it, or build the DAG with Delayed", i+1, call.Name(f))
		default:
			if err := sig.Accepts(f, "", i, a, 0); err != nil {
				return nil, nil, err
			}
		}
	}
	return copied, deps, nil
}
