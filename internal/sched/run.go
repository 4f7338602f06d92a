package sched

import (
	"context"
	"errors"
	"runtime/debug"
	"time"
)

// errGoexit is the error of a task whose f called runtime.Goexit.
var errGoexit = errors.New("the task's function called runtime.Goexit")

// abandon ends a node whose execution was cut short by runtime.Goexit.
func (s *Scheduler) abandon(n *Node) {
	n.fail(errGoexit)
	n.dropArgs()
	n.release()
}

// execute runs node n on processor p: Restore, then f with retries and
// timeouts, then Checkpoint, and finishes the node unless it ended
// meanwhile (cancelled, or timed out on its last try). It releases n.
//
// depth is the number of tasks that this goroutine runs n inside of (see
// maxInlineDepth).
func (s *Scheduler) execute(p *proc, n *Node, readied *[]*Node, depth int32) {
	spec := n.spec
	err := n.group.abortError(s)
	if err == nil && !n.endless && n.ctx.Err() != nil {
		// The spawning context ended, and the watch that cancels the node
		// has not run yet.
		err = canceledBy(n.ctx)
	}
	if err != nil {
		n.fail(err)
		n.dropArgs()
		n.release()
		return
	}
	s.logStart(n, p)
	var tm *timing
	if logSites {
		tm = s.timing.Load()
	}
	var started time.Time
	if tm != nil {
		started = time.Now()
	}
	var (
		res      any
		restored bool
	)
	if spec.Restore != nil {
		res, restored = s.restore(p, n, depth)
	}
	tries := 0
	for try := 0; !restored; try++ {
		tries++
		res, err = s.try(p, n, try == spec.Retries, depth)
		if !n.endless && n.ctx.Err() != nil {
			// The spawning context ended while f ran: whatever f
			// returned, the task is cancelled.
			err = canceledBy(n.ctx)
		}
		if n.Ended() || err == nil || try >= spec.Retries || errors.Is(err, context.Canceled) {
			break
		}
		s.cfg.Logger.Debug("dagr: retrying task", "task", n.ID(), "name", n.Name(), "try", try+1, "err", err)
	}
	switch {
	case n.Ended():
	case err != nil:
		if f := s.cfg.FailureOf(err); f != nil {
			n.finish(nil, f, nil)
		} else {
			if tries > 1 {
				err = &RetriesError{Tries: tries, Err: err}
			}
			n.fail(err)
		}
	default:
		if spec.Checkpoint != nil && !restored {
			s.checkpoint(p, n, res, depth)
		}
		if spec.OnSuccess != nil {
			spec.OnSuccess(res)
		}
		n.finish(res, nil, readied)
	}
	if tm != nil {
		tm.observe(time.Since(started))
	}
	n.dropArgs()
	n.release()
}

// try runs f once. A try with a Timeout fails with a timeout error once it
// passes; on the last try the node fails at once, without waiting for f.
func (s *Scheduler) try(p *proc, n *Node, last bool, depth int32) (res any, err error) {
	spec := n.spec
	var ctx context.Context
	var tc *taskContext
	if n.sig.TakesCtx || spec.Timeout > 0 || spec.Call != nil {
		if tc = s.attach(p, n, spec.Timeout, depth); tc == nil {
			return nil, nil // ended before the try began
		}
		ctx = tc
		if spec.Timeout > 0 {
			timeout := timeoutError(spec.Timeout)
			if last && spec.Retries > 0 {
				// The node fails with this error at once: it names the tries.
				timeout = &RetriesError{Tries: spec.Retries + 1, Err: timeout}
			}
			tc.timer = time.AfterFunc(spec.Timeout, func() { tc.expire(timeout, last) })
		}
	}
	res, err = s.call(n, ctx)
	if tc != nil && s.detach(n, tc) {
		return nil, timeoutError(spec.Timeout)
	}
	return res, err
}

// attach makes a context for a try and lets the node's cancellation reach
// it; it returns nil if the node has ended.
func (s *Scheduler) attach(p *proc, n *Node, timeout time.Duration, depth int32) *taskContext {
	tc := newTaskContext(n, p, timeout, depth)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state.Load() == stateEnded {
		return nil
	}
	n.tc = tc
	tc.node.Store(n)
	return tc
}

// detach ends a try's hold on its context and reports whether the try
// timed out.
func (s *Scheduler) detach(n *Node, tc *taskContext) (expired bool) {
	expired = tc.detach()
	n.mu.Lock()
	if n.tc == tc {
		n.tc = nil
	}
	n.mu.Unlock()
	return expired
}

// call runs f, turning a panic into an error.
func (s *Scheduler) call(n *Node, ctx context.Context) (res any, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, s.cfg.PanicError(v, debug.Stack())
		}
	}()
	if c := n.spec.Call; c != nil {
		return c(ctx, n.fn, n.sig, n.args)
	}
	if r := s.resolve.Load(); r != nil {
		rctx := ctx
		if rctx == nil { // f takes no context: the spawning one bounds the wait
			rctx = n.ctx
		}
		if rctx == nil {
			rctx = context.Background()
		}
		if err := ResolveArgs(rctx, *r, n.fn, n.spec.Name, n.sig, n.args); err != nil {
			return nil, err
		}
	}
	return n.sig.Call(n.fn, ctx, n.args)
}

// hookContext is the context for Restore and Checkpoint.
func (s *Scheduler) hookContext(p *proc, n *Node, depth int32) (*taskContext, bool) {
	// Timeout bounds each try of f, not the hooks: their context has the
	// spawning context's deadline only.
	tc := s.attach(p, n, 0, depth)
	return tc, tc != nil
}

func (s *Scheduler) restore(p *proc, n *Node, depth int32) (any, bool) {
	tc, ok := s.hookContext(p, n, depth)
	if !ok {
		return nil, true // ended: nothing to run
	}
	defer s.detach(n, tc)
	var (
		v   any
		hit bool
		err error
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = s.cfg.PanicError(r, debug.Stack())
			}
		}()
		v, hit, err = n.spec.Restore(tc)
	}()
	if err != nil {
		s.cfg.Logger.Warn("dagr: restore failed; running the task", "task", n.ID(), "name", n.Name(), "err", err)
		return nil, false
	}
	return v, hit
}

func (s *Scheduler) checkpoint(p *proc, n *Node, res any, depth int32) {
	tc, ok := s.hookContext(p, n, depth)
	if !ok {
		return
	}
	defer s.detach(n, tc)
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = s.cfg.PanicError(r, debug.Stack())
			}
		}()
		err = n.spec.Checkpoint(tc, res)
	}()
	if err != nil {
		s.cfg.Logger.Warn("dagr: checkpoint failed", "task", n.ID(), "name", n.Name(), "err", err)
	}
}
