package sched

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

// taskContext is the context a task's f is handed, one per try. It is
// cancelled when the task is cancelled while it runs (Cancel, its spawning
// context, its Timeout, Close), and afterwards whenever the spawning context
// is: it is not cancelled when f returns, so tasks spawned with it outlive
// their parent. It answers the engine's own questions (which scheduler, which
// group, which processor) without walking the context chain.
type taskContext struct {
	parent   context.Context
	s        *Scheduler
	group    *Group
	proc     *proc
	node     atomic.Pointer[Node] // while this try's f runs
	deadline time.Time
	timer    *time.Timer

	mu         sync.Mutex
	expired    bool  // the try's Timeout passed while its f ran
	err        error // context.Canceled or context.DeadlineExceeded once cancelled
	cause      error
	done       chan struct{}
	listeners  map[*listener]struct{}
	registered bool // a watch on parent is in place
}

type listener struct{ f func() }

type groupKey struct{}
type taskContextKey struct{}
type schedulerKey struct{}

func newTaskContext(n *Node, p *proc, timeout time.Duration) *taskContext {
	tc := &taskContext{parent: n.ctx, s: n.s, group: n.group, proc: p}
	if d, ok := n.ctx.Deadline(); ok {
		tc.deadline = d
	}
	if timeout > 0 {
		if d := time.Now().Add(timeout); tc.deadline.IsZero() || d.Before(tc.deadline) {
			tc.deadline = d
		}
	}
	return tc
}

// Deadline is the earliest of the try's Timeout and the spawning context's
// deadline.
func (tc *taskContext) Deadline() (time.Time, bool) { return tc.deadline, !tc.deadline.IsZero() }

// Err is context.Canceled or context.DeadlineExceeded once tc or its
// parent has ended.
func (tc *taskContext) Err() error {
	tc.mu.Lock()
	err := tc.err
	tc.mu.Unlock()
	if err != nil {
		return err
	}
	return tc.parent.Err()
}

// Done is made on first use: most tasks never ask.
func (tc *taskContext) Done() <-chan struct{} {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.done == nil {
		tc.done = make(chan struct{})
		if tc.err != nil {
			close(tc.done)
		} else {
			tc.watchParentLocked()
		}
	}
	return tc.done
}

// Value answers the engine's keys itself and passes the others on.
func (tc *taskContext) Value(key any) any {
	switch key.(type) {
	case taskContextKey:
		return tc
	case schedulerKey:
		return tc.s
	case groupKey:
		if tc.group == nil {
			return nil
		}
		return tc.group
	}
	return tc.parent.Value(key)
}

// AfterFunc lets contexts derived from tc (context.WithCancel and the like)
// follow it without a goroutine each.
func (tc *taskContext) AfterFunc(f func()) (stop func() bool) { return tc.afterFunc(f) }

func (tc *taskContext) afterFunc(f func()) (stop func() bool) {
	tc.mu.Lock()
	if tc.err != nil {
		tc.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	l := &listener{f}
	if tc.listeners == nil {
		tc.listeners = make(map[*listener]struct{})
	}
	tc.listeners[l] = struct{}{}
	tc.watchParentLocked()
	tc.mu.Unlock()
	return func() bool {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		_, ok := tc.listeners[l]
		delete(tc.listeners, l)
		return ok
	}
}

// watchParentLocked makes the parent's cancellation reach tc once someone
// listens to tc. The watch holds tc weakly and is removed when tc is
// collected, so a long-lived parent keeps nothing for tasks that ended.
func (tc *taskContext) watchParentLocked() {
	if tc.registered {
		return
	}
	tc.registered = true
	parent := tc.parent
	wp := weak.Make(tc)
	onParent := func() {
		if t := wp.Value(); t != nil {
			t.cancel(parent.Err(), context.Cause(parent))
		}
	}
	var stop func() bool
	if ptc, ok := parent.(*taskContext); ok {
		stop = ptc.afterFunc(onParent)
	} else if parent.Done() != nil {
		stop = context.AfterFunc(parent, onParent)
	} else {
		return
	}
	runtime.AddCleanup(tc, func(stop func() bool) { stop() }, stop)
}

// expire is the try's Timeout passing: tc ends with DeadlineExceeded, and
// on the last try a node still running fails at once.
func (tc *taskContext) expire(timeout error, last bool) {
	tc.mu.Lock()
	n := tc.node.Load()
	tc.expired = n != nil
	tc.mu.Unlock()
	tc.cancel(context.DeadlineExceeded, timeout)
	if last && n != nil {
		n.fail(timeout)
	}
}

// cancelWith cancels tc because its task failed with err while running.
func (tc *taskContext) cancelWith(err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		tc.cancel(context.DeadlineExceeded, err)
		return
	}
	tc.cancel(context.Canceled, err)
}

func (tc *taskContext) cancel(err, cause error) {
	tc.mu.Lock()
	if tc.err != nil {
		tc.mu.Unlock()
		return
	}
	tc.err, tc.cause = err, cause
	if tc.done != nil {
		close(tc.done)
	}
	ls := tc.listeners
	tc.listeners = nil
	tc.mu.Unlock()
	for l := range ls {
		l.f()
	}
}

// FromContext returns the task context in ctx, if any.
func fromContext(ctx context.Context) *taskContext {
	if tc, ok := ctx.(*taskContext); ok {
		return tc
	}
	tc, _ := ctx.Value(taskContextKey{}).(*taskContext)
	return tc
}

// WithScheduler returns a context that carries s.
func WithScheduler(ctx context.Context, s *Scheduler) context.Context {
	return context.WithValue(ctx, schedulerKey{}, s)
}

// SchedulerFrom returns the scheduler ctx carries: the one of the task that
// was handed ctx, else the one set by WithScheduler, else nil.
func SchedulerFrom(ctx context.Context) *Scheduler {
	if tc, ok := ctx.(*taskContext); ok {
		return tc.s
	}
	s, _ := ctx.Value(schedulerKey{}).(*Scheduler)
	return s
}

// WithGroup returns a context whose spawns join g.
func WithGroup(ctx context.Context, g *Group) context.Context {
	return context.WithValue(ctx, groupKey{}, g)
}

// CurrentThread returns the processor number (from 1) of the task that was
// handed ctx, or 0 outside a task.
func CurrentThread(ctx context.Context) int {
	if tc := fromContext(ctx); tc != nil {
		return tc.proc.Thread()
	}
	return 0
}

// Blocking is called before a wait inside a task's f: when ctx is the
// context of a running task, the task's processor is given back until the
// returned function is called.
func Blocking(ctx context.Context) (resume func()) {
	tc := fromContext(ctx)
	if tc == nil {
		return noop
	}
	n := tc.node.Load()
	if n == nil || n.occupancy() == 0 {
		return noop
	}
	if !tc.proc.block(n) {
		return noop
	}
	return func() { tc.proc.unblock(n) }
}

func noop() {}
