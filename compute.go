package dagr

import (
	"context"
	"errors"
	"fmt"

	"github.com/dagr/dagr/internal/sched"
)

// SchedulerOptions are the options of one Compute or Collect.
type SchedulerOptions struct {
	Single      int   // run the thunks that set neither Single nor Scope on this worker
	Scope       Scope // run the thunks that set neither Single nor Scope in this scope
	AllowErrors bool  // let every failure flow downstream instead of aborting the computation

	// Checkpoint gets the final result of a successful computation; its
	// error is logged.
	Checkpoint func(ctx context.Context, result any) error
	// Restore runs first: when ok, Compute returns its result and runs
	// nothing. Its error is logged and the computation runs.
	Restore func(ctx context.Context) (result any, ok bool, err error)
}

// Compute runs the DAG below t on the scheduler ctx carries (else
// Default()) and returns a *Chunk referring to t's result. Each Compute has
// scheduling state of its own that lives only for the call: a thunk shared
// by several thunks of the DAG runs once, and a thunk without Options.Cache
// runs again in the next Compute.
//
// By default the first failure aborts the computation: nothing new starts,
// what runs sees its context cancelled, and once what ran has returned,
// Compute returns that failure's *TaskError. With AllowErrors, or for a
// failure whose origin thunk has Options.AllowError, failures flow
// downstream as in the eager API, every other branch runs to its end, and
// Compute fails only if t itself failed. If ctx is cancelled, the
// computation is aborted and Compute returns an error wrapping ctx's.
//
// Called inside a task with the context it was handed, Compute gives the
// task's processor back while it waits.
func Compute(ctx context.Context, t *Thunk, opts ...SchedulerOptions) (*Chunk, error) {
	return schedulerOf(ctx).Compute(ctx, t, opts...)
}

// Collect returns the value of x: it computes a *Thunk (with opts) and
// fetches the result; it fetches a *Chunk or a *Task; any other value is
// returned as is.
func Collect(ctx context.Context, x any, opts ...SchedulerOptions) (any, error) {
	return schedulerOf(ctx).Collect(ctx, x, opts...)
}

// Collect is the package-level Collect on s.
func (s *Scheduler) Collect(ctx context.Context, x any, opts ...SchedulerOptions) (any, error) {
	ctx = orBackground(ctx)
	switch x := x.(type) {
	case *Thunk:
		c, err := s.Compute(ctx, x, opts...)
		if err != nil {
			return nil, err
		}
		return c.Fetch(ctx)
	case *Chunk:
		if x == nil {
			return nil, errors.New("dagr: Collect of a nil *Chunk")
		}
		return x.Fetch(ctx)
	case *Task:
		if x == nil {
			return nil, errors.New("dagr: Collect of a nil *Task")
		}
		return x.Fetch(ctx)
	}
	return x, nil
}

// Compute is the package-level Compute on s.
func (s *Scheduler) Compute(ctx context.Context, t *Thunk, opts ...SchedulerOptions) (*Chunk, error) {
	ctx = orBackground(ctx)
	if t == nil {
		return nil, errors.New("dagr: Compute of a nil *Thunk")
	}
	if !t.made() {
		return nil, errors.New("dagr: Compute of a *Thunk that Delayed did not make (a zero Thunk)")
	}
	var so SchedulerOptions
	switch len(opts) {
	case 0:
	case 1:
		so = opts[0]
	default:
		return nil, fmt.Errorf("dagr: Compute takes at most one SchedulerOptions, got %d", len(opts))
	}
	if so.Restore != nil {
		if v, ok := s.restoreComputation(ctx, so.Restore); ok {
			return &Chunk{value: v}, nil
		}
	}
	for {
		if v, ok := t.cachedValue(); ok {
			s.cache.Touch(t)
			return &Chunk{value: v}, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("dagr: Compute of %v: %w", t, err)
		}
		// A thunk that caches is computed by one Compute at a time: the
		// others wait for its result instead of computing it again.
		landed, leader := t.takeOff()
		if leader {
			defer t.land()
			break
		}
		resume := sched.Blocking(ctx)
		select {
		case <-landed:
		case <-ctx.Done():
		}
		resume()
	}

	c := &computation{s: s, opts: so, group: &sched.Group{Ctx: ctx}}
	// The computation's tasks are cancelled through its group, not through
	// a context each: an abort cancels what runs and stops what has not
	// started, at no cost per task while nothing goes wrong.
	c.ctx = sched.WithGroup(s.withSelf(context.WithoutCancel(ctx)), c.group)
	stop := context.AfterFunc(ctx, func() { c.group.AbortCtx(s.eng) })
	top := c.spawnAll(t)

	resume := sched.Blocking(ctx)
	c.group.Wait()
	resume()
	stop()

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dagr: Compute of %v: %w", t, err)
	}
	if why, aborted := c.group.Aborted(); aborted {
		return nil, newTaskError(why.Task, why.Name, why.Failure)
	}
	res, f := top.node.Outcome()
	if f != nil {
		return nil, newTaskError(top.ID(), top.Name(), f)
	}
	if so.Checkpoint != nil {
		s.checkpointComputation(ctx, t, withResult(so.Checkpoint), res)
	}
	return &Chunk{value: res}, nil
}

func (s *Scheduler) restoreComputation(ctx context.Context, restore func(context.Context) (any, bool, error)) (v any, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Warn("dagr: restore of a computation panicked; computing", "panic", r)
			v, ok = nil, false
		}
	}()
	v, ok, err := restore(ctx)
	if err != nil {
		s.log.Warn("dagr: restore of a computation failed; computing", "err", err)
		return nil, false
	}
	return v, ok
}

// checkpointComputation runs SchedulerOptions.Checkpoint; its error or panic
// is logged, as a task's Checkpoint's is.
func (s *Scheduler) checkpointComputation(ctx context.Context, t *Thunk, checkpoint func(context.Context, any) error, res any) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Warn("dagr: checkpoint of a computation panicked", "thunk", t.ID(), "name", t.Name(), "panic", r)
		}
	}()
	if err := checkpoint(ctx, res); err != nil {
		s.log.Warn("dagr: checkpoint of a computation failed", "thunk", t.ID(), "name", t.Name(), "err", err)
	}
}

// computation is the scheduling state of one Compute.
type computation struct {
	s     *Scheduler
	opts  SchedulerOptions
	ctx   context.Context
	group *sched.Group

	// The spec of the thunks without options, made once: a large DAG of
	// plain thunks costs no spec per thunk.
	plain    *sched.Spec
	plainErr error
}

// spec resolves a thunk's options: SchedulerOptions' Single and Scope apply
// when the thunk sets neither.
func (c *computation) spec(th *Thunk) (*sched.Spec, error) {
	if th.opts == nil && c.plain != nil {
		return c.plain, c.plainErr
	}
	var o Options
	if th.opts != nil {
		o = *th.opts
	}
	if o.Single == 0 && o.Scope == nil {
		o.Single, o.Scope = c.opts.Single, c.opts.Scope
	}
	spec, err := c.s.spec(&o, th.f)
	spec.AbortsGroup = !c.opts.AllowErrors && !o.AllowError
	spec.ErrorsFlow = !spec.AbortsGroup
	if o.Cache {
		s := c.s
		spec.OnSuccess = func(v any) { th.store(s, v) }
	}
	if th.opts == nil {
		c.plain, c.plainErr = spec, err
	}
	return spec, err
}

// pinned reports whether th's options, or the computation's, say where it
// runs.
func (c *computation) pinned(th *Thunk) bool {
	if th.opts != nil && (th.opts.Single != 0 || th.opts.Scope != nil) {
		return true
	}
	return c.opts.Single != 0 || c.opts.Scope != nil
}

// spawnAll spawns a task for every thunk below t that has no cached result,
// dependencies first, and returns t's task. The walk keeps its own stack, so
// a DAG of any depth is fine.
func (c *computation) spawnAll(top *Thunk) *Task {
	tasks := make(map[*Thunk]*Task)
	cached := make(map[*Thunk]any)
	type frame struct {
		t    *Thunk
		next int // the next argument to look at
	}
	stack := []frame{{t: top}}
	tasks[top] = nil
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		pushed := false
		for f.next < len(f.t.args) {
			dep, ok := f.t.args[f.next].(*Thunk)
			f.next++
			if !ok || dep == nil {
				continue
			}
			if _, seen := tasks[dep]; seen {
				continue
			}
			if _, seen := cached[dep]; seen {
				continue
			}
			if v, ok := dep.cachedValue(); ok {
				cached[dep] = v
				c.s.cache.Touch(dep)
				continue
			}
			tasks[dep] = nil
			stack = append(stack, frame{t: dep})
			pushed = true
			break
		}
		if pushed {
			continue
		}
		th := f.t
		stack = stack[:len(stack)-1]
		tasks[th] = c.spawn(th, tasks, cached)
	}
	return tasks[top]
}

// spawn starts the task of one thunk whose dependencies have tasks or
// cached values.
func (c *computation) spawn(th *Thunk, tasks map[*Thunk]*Task, cached map[*Thunk]any) *Task {
	task := new(Task)
	spec, bad := c.spec(th)
	if bad == nil {
		bad = th.bad
	}
	if bad == nil && !th.made() {
		bad = errors.New("dagr: a *Thunk that Delayed did not make (a zero Thunk) cannot be computed")
	}
	var args []any
	var deps []sched.Dep
	if bad == nil {
		args = make([]any, len(th.args))
		for i, a := range th.args {
			switch a := a.(type) {
			case *Thunk:
				if t := tasks[a]; t != nil {
					deps = append(deps, sched.Dep{Arg: i, Node: &t.node})
				} else {
					args[i] = cached[a]
				}
			case *Task:
				deps = append(deps, sched.Dep{Arg: i, Node: &a.node})
			case *Chunk:
				args[i] = a.value
			default:
				args[i] = a
			}
		}
	}
	if bad == nil && spec.Call == nil && c.s.cluster() != nil && !c.pinned(th) {
		spec = c.s.spread(spec, th.f, th.opts)
	}
	task.node.SetID(th.id)
	c.s.eng.SpawnOwned(&task.node, c.ctx, th.f, th.sig, args, deps, spec, bad)
	return task
}
