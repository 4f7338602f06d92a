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
//
// While f runs, the task's own watch on the spawning context covers tc, so
// tc costs nothing more; only when f has returned and something still
// listens to tc (a task spawned with it, a derived context, Done) does tc
// watch the spawning context itself.
type taskContext struct {
	parent context.Context
	// values answers Value for the keys that are not the engine's: the
	// parent, or, when the parent is (or wraps only) a task's context, that
	// context's own values. A chain of nested tasks is then one step long
	// for Value, however deep, as it is for the standard library's
	// cancellation machinery, which asks Value when it attaches a child.
	values   context.Context
	s        *Scheduler
	group    *Group
	proc     *proc
	node     atomic.Pointer[Node] // while this try's f runs
	deadline time.Time            // the earliest of the parent's and the Timeout's
	timeout  time.Time            // when the try's own Timeout passes, if it has one
	timer    *time.Timer
	depth    int32 // tasks this one runs inside of on its goroutine (see maxInlineDepth)

	mu          sync.Mutex
	expired     bool // the try's Timeout passed while its f ran
	detached    bool // f has returned
	registered  bool // a watch on parent is in place
	userDone    bool // Done was called: someone may listen to done after f returns
	engineWaits int  // Waits on tc in progress (see engineWait)
	err         atomic.Pointer[error]
	done        chan struct{}
	children    *Node                  // tasks spawned with tc, not yet ended, through Node.sibNext
	listeners   map[*listener]struct{} // contexts derived from tc
}

// listener is what listens to a task context: a function (AfterFunc), or a
// child task context, held weakly, that ends with it (watchParentLocked).
type listener struct {
	f     func()
	child weak.Pointer[taskContext]
}

type groupKey struct{}
type taskContextKey struct{}
type schedulerKey struct{}

func newTaskContext(n *Node, p *proc, timeout time.Duration, depth int32) *taskContext {
	tc := &taskContext{parent: n.ctx, values: n.ctx, s: n.sched(), group: n.group, proc: p, depth: depth}
	if ptc := spawnParent(n.ctx); ptc != nil {
		tc.values = ptc.values
	}
	if d, ok := n.ctx.Deadline(); ok {
		tc.deadline = d
	}
	if timeout > 0 {
		tc.timeout = time.Now().Add(timeout)
		if tc.deadline.IsZero() || tc.timeout.Before(tc.deadline) {
			tc.deadline = tc.timeout
		}
	}
	return tc
}

// Deadline is the earliest of the try's Timeout and the spawning context's
// deadline.
func (tc *taskContext) Deadline() (time.Time, bool) { return tc.deadline, !tc.deadline.IsZero() }

// Err is context.Canceled or context.DeadlineExceeded once tc has ended.
// While f runs, the task's watch ends tc when the spawning context ends;
// after that, the spawning context is asked directly.
func (tc *taskContext) Err() error {
	if err := tc.err.Load(); err != nil {
		return *err
	}
	if tc.node.Load() != nil {
		return nil
	}
	if !tc.timeout.IsZero() && !time.Now().Before(tc.timeout) {
		return context.DeadlineExceeded
	}
	return tc.parent.Err()
}

// Done is made on first use: most tasks never ask.
func (tc *taskContext) Done() <-chan struct{} {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.userDone = true
	return tc.listenLocked()
}

// listenLocked returns the done channel for a listener that may outlive f.
func (tc *taskContext) listenLocked() chan struct{} {
	if tc.done == nil {
		tc.done = make(chan struct{})
		if tc.err.Load() != nil {
			close(tc.done)
		}
	}
	if tc.detached && tc.err.Load() == nil {
		tc.watchParentLocked()
	}
	return tc.done
}

// engineWait is Done for the engine's own waits (Wait): unlike a user's
// Done, it does not make tc listened to after f returns, once the wait is
// over (engineWaitOver). A task context whose f only ever waited in Fetch
// then needs no watch on its parent when f returns.
func (tc *taskContext) engineWait() <-chan struct{} {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.engineWaits++
	return tc.listenLocked()
}

func (tc *taskContext) engineWaitOver() {
	tc.mu.Lock()
	tc.engineWaits--
	tc.mu.Unlock()
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
	return tc.values.Value(key)
}

// AfterFunc lets contexts derived from tc (context.WithCancel and the like)
// follow it without a goroutine each.
func (tc *taskContext) AfterFunc(f func()) (stop func() bool) {
	tc.mu.Lock()
	if tc.err.Load() != nil {
		tc.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	l := &listener{f: f}
	if tc.listeners == nil {
		tc.listeners = make(map[*listener]struct{})
	}
	tc.listeners[l] = struct{}{}
	if tc.detached {
		tc.watchParentLocked()
	}
	tc.mu.Unlock()
	return func() bool {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		_, ok := tc.listeners[l]
		delete(tc.listeners, l)
		return ok
	}
}

// addChild makes n, spawned with tc, end when tc does.
func (tc *taskContext) addChild(n *Node) {
	tc.mu.Lock()
	if err := tc.err.Load(); err != nil {
		tc.mu.Unlock()
		n.Cancel(canceledBy(tc))
		return
	}
	// end() marks the node ended before it unlinks it: a node seen running
	// here is unlinked by its end, one seen ended is never linked.
	if n.state.Load() == stateEnded {
		tc.mu.Unlock()
		return
	}
	pushSibling(&tc.children, n)
	n.linked = true
	if tc.detached {
		tc.watchParentLocked()
	}
	tc.mu.Unlock()
}

func (tc *taskContext) removeChild(n *Node) {
	tc.mu.Lock()
	if n.linked {
		tc.unlinkLocked(n)
	}
	tc.mu.Unlock()
}

func (tc *taskContext) unlinkLocked(n *Node) {
	unlinkSibling(&tc.children, n)
	n.linked = false
}

// detach is f's return: tc now follows the spawning context itself if
// anything still listens to it, and its Timeout keeps ending it. It reports
// whether the try timed out.
func (tc *taskContext) detach() (expired bool) {
	tc.mu.Lock()
	tc.node.Store(nil)
	tc.detached = true
	expired = tc.expired
	listened := tc.children != nil || len(tc.listeners) > 0 || tc.userDone || tc.engineWaits > 0
	if listened && tc.err.Load() == nil {
		tc.watchParentLocked()
	}
	tc.mu.Unlock()
	if tc.timer != nil && !expired && !listened {
		tc.timer.Stop()
		tc.timer = nil // watchParentLocked starts another if something listens later
	}
	return expired
}

// watchParentLocked makes tc end when its parent does, and when its own
// Timeout passes, for what listens to tc after its f returned. The watch on
// the parent holds tc weakly and is removed when tc is collected, so a
// long-lived parent keeps nothing for tasks that ended.
func (tc *taskContext) watchParentLocked() {
	if tc.registered {
		return
	}
	tc.registered = true
	if !tc.timeout.IsZero() && tc.timer == nil {
		// detach stopped the try's timer, since nothing listened then.
		tc.timer = time.AfterFunc(time.Until(tc.timeout), func() {
			tc.cancel(context.DeadlineExceeded, nil)
		})
	}
	parent := tc.parent
	if parent.Done() == nil {
		return
	}
	wp := weak.Make(tc)
	if ptc := spawnParent(parent); ptc != nil {
		// The parent is a task's context, or a group's over one, which
		// ends when that task context does: listen to it directly. Neither
		// the listener nor its removal holds tc or ptc, so that a long
		// chain of task contexts is collected in one cycle, not one link
		// per cycle.
		l := &listener{child: wp}
		if !ptc.listen(l) {
			tc.cancelLater(ptc)
			return
		}
		wptc := weak.Make(ptc)
		runtime.AddCleanup(tc, func(l *listener) {
			if p := wptc.Value(); p != nil {
				p.unlisten(l)
			}
		}, l)
		return
	}
	stop := context.AfterFunc(parent, func() {
		if t := wp.Value(); t != nil {
			t.cancel(parent.Err(), context.Cause(parent))
		}
	})
	runtime.AddCleanup(tc, func(stop func() bool) { stop() }, stop)
}

// listen adds l unless tc has ended; it reports whether it did.
func (tc *taskContext) listen(l *listener) bool {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.err.Load() != nil {
		return false
	}
	if tc.listeners == nil {
		tc.listeners = make(map[*listener]struct{})
	}
	tc.listeners[l] = struct{}{}
	if tc.detached {
		tc.watchParentLocked()
	}
	return true
}

func (tc *taskContext) unlisten(l *listener) {
	tc.mu.Lock()
	delete(tc.listeners, l)
	tc.mu.Unlock()
}

// cancelLater ends tc because its parent task context has ended; tc.mu is
// held, so it is done on another goroutine.
func (tc *taskContext) cancelLater(parent *taskContext) {
	go tc.cancel(parent.Err(), nil)
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
		n.interrupt(timeout)
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

// cancel ends tc with err (context.Canceled or DeadlineExceeded). The cause
// is not kept: context.Cause of a task's context reports its Err.
func (tc *taskContext) cancel(err, _ error) {
	tc.mu.Lock()
	if tc.err.Load() != nil {
		tc.mu.Unlock()
		return
	}
	tc.err.Store(&err)
	if tc.done != nil {
		close(tc.done)
	}
	var children []*Node
	for c := tc.children; c != nil; {
		next := c.sibNext
		children = append(children, c)
		tc.unlinkLocked(c)
		c = next
	}
	ls := tc.listeners
	tc.listeners = nil
	tc.mu.Unlock()
	for _, c := range children {
		c.Cancel(canceledBy(tc))
	}
	for l := range ls {
		if l.f != nil {
			l.f()
		} else if c := l.child.Value(); c != nil {
			c.cancel(err, nil)
		}
	}
}

// fromContext returns the task context in ctx, if any.
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
	return &groupContext{ctx, g}
}

// groupContext is a context whose spawns join a group (Sync, Compute). It
// cannot be cancelled on its own, so a task spawned with one made from a
// task's context is that context's child, at no cost, as if it had been
// spawned with the task's context itself.
type groupContext struct {
	context.Context
	g *Group
}

// Value answers the group key and passes the others on.
func (c *groupContext) Value(key any) any {
	if _, ok := key.(groupKey); ok {
		return c.g
	}
	return c.Context.Value(key)
}

// spawnParent returns the task context that tasks spawned with ctx are
// children of, if any: ctx itself, or the task context under a group's.
func spawnParent(ctx context.Context) *taskContext {
	switch c := ctx.(type) {
	case *taskContext:
		return c
	case *groupContext:
		tc, _ := c.Context.(*taskContext)
		return tc
	}
	return nil
}

// CurrentThread returns the processor number (from 1) of the task that was
// handed ctx, or 0 outside a task.
func CurrentThread(ctx context.Context) int {
	if tc := fromContext(ctx); tc != nil {
		return tc.proc.Thread()
	}
	return 0
}
