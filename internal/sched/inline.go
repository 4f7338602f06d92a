package sched

import "context"

// RunInline is called by a task that is about to wait for target: when ctx
// is the context of a running task and target is queued on the same
// scheduler and allowed on the task's processor, the task runs target
// itself, on its own goroutine, instead of waiting for a runner to pick it
// up. It reports whether it did; target has then ended.
//
// The shares of the processor are counted as if a runner had picked target
// up: the waiting task gives its share back, as any task that waits does,
// and target takes its own, if there is room for it. So any number of
// goroutines of a task may wait at once, each running what it waits for,
// without ever running more than the processor holds.
//
// This is what makes nested spawning cheap: a task that spawns its halves
// and fetches them runs them like plain calls unless an idle processor
// stole them first.
func RunInline(ctx context.Context, target *Node) bool {
	tc := spawnParent(ctx)
	if tc == nil || target.state.Load() != stateQueued {
		return false
	}
	n := tc.node.Load()
	if n == nil || target.sched() != n.sched() {
		return false
	}
	p := tc.proc
	if !target.spec.allows(p) {
		return false
	}

	p.mu.Lock()
	if p.closed || !n.onProc {
		p.mu.Unlock()
		return false
	}
	n.blocked++
	if n.blocked == 1 {
		p.give(n.occupancy())
	}
	if len(p.waiters) > 0 || !p.fits(target.occupancy()) || !target.state.CompareAndSwap(stateQueued, stateRunning) {
		// No room: undo, and wait as usual. What was given back fits again,
		// since nothing could take it meanwhile.
		if n.blocked--; n.blocked == 0 {
			p.take(n.occupancy())
		}
		p.mu.Unlock()
		return false
	}
	p.startLocked(target)
	launch := p.fillLocked()
	p.mu.Unlock()
	p.launch(launch)

	completed := false
	defer func() {
		if !completed {
			// target's f called runtime.Goexit, which ends this goroutine
			// and so the waiting task's f too; its runner cleans up after it.
			p.s.abandon(target)
			p.mu.Lock()
			p.stopLocked(target)
			launch := p.fillLocked()
			p.mu.Unlock()
			p.launch(launch)
		}
	}()
	var buf [4]*Node
	readied := buf[:0]
	p.s.execute(p, target, &readied)
	completed = true

	p.mu.Lock()
	p.stopLocked(target)
	// The tasks a task spawns wait on its own processor while it runs: what
	// it ran inline is at the end of that queue.
	p.queue.trimTail()
	var wake chan struct{}
	if n.blocked--; n.blocked == 0 && n.onProc {
		if p.wakeWaitersLocked() && p.fits(n.occupancy()) {
			p.take(n.occupancy())
		} else {
			wake = make(chan struct{})
			p.waiters = append(p.waiters, reacquirer{n.occupancy(), wake})
		}
	}
	if p.wakeWaitersLocked() && !p.closed {
		launch = p.fillLocked()
	}
	p.mu.Unlock()
	p.launch(launch)
	for _, m := range readied {
		m.sched().enqueue(m, m.hintFor(p))
	}
	if wake != nil {
		<-wake
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
