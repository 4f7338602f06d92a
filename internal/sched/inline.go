package sched

import "context"

// RunInline is called by a task that is about to wait for target: when ctx
// is the context of a running task, and target is queued on the same
// scheduler, allowed on the task's processor and takes no more of it than
// the task does, the task runs target itself, on its own goroutine and
// under its own occupancy, instead of waiting for a processor to pick it
// up. It reports whether it did; target has then ended.
//
// This is what makes nested spawning cheap: a task that spawns its halves
// and fetches them runs them like plain calls unless an idle processor
// stole them first.
func RunInline(ctx context.Context, target *Node) bool {
	tc, ok := ctx.(*taskContext)
	if !ok || target.state.Load() != stateQueued {
		return false
	}
	n := tc.node.Load()
	if n == nil || target.sched() != n.sched() {
		return false
	}
	p := tc.proc
	holder := n
	if n.holder != nil {
		holder = n.holder
	}
	if !target.spec.allows(p) || target.occupancy() > holder.occupancy() {
		return false
	}

	p.mu.Lock()
	if p.closed || !n.onProc || holder.blocked > 0 || !target.state.CompareAndSwap(stateQueued, stateRunning) {
		p.mu.Unlock()
		return false
	}
	p.startInlineLocked(target, n)
	p.mu.Unlock()

	var buf [4]*Node
	readied := buf[:0]
	p.s.execute(p, target, &readied)

	p.mu.Lock()
	p.stopLocked(target)
	p.mu.Unlock()
	// The tasks a task spawns wait on its own processor while it runs: what
	// it ran inline is at the end of that queue.
	p.mu.Lock()
	p.queue.trimTail()
	p.mu.Unlock()
	for _, m := range readied {
		m.sched().enqueue(m, m.hintFor(p))
	}
	return true
}

// hintFor returns p as a placement hint if the node may use it.
func (n *Node) hintFor(p *proc) *proc {
	if p.s == n.sched() {
		return p
	}
	return nil
}
