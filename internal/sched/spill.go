package sched

import "context"

// Spill starts, on the processor where it waits, the first queued node of
// some processor whose spec allows it (Spec.Spill), without taking a share
// of that processor: its Call is to send it to another worker, which has
// room now while this process has none. Only the head of a processor's
// queue is taken, so that a spill never overtakes a node that comes
// first. It reports whether it started one.
func (s *Scheduler) Spill() bool {
	if s.queuedProcs.Load() == 0 {
		return false
	}
	for _, p := range s.procs {
		if p.queued.Load() == 0 {
			continue
		}
		p.mu.Lock()
		n := p.queue.peek()
		if n == nil || !n.spec.Spill || p.closed {
			p.unlock()
			continue
		}
		p.queue.pop()
		claimed := n.state.CompareAndSwap(stateQueued, stateRunning)
		if claimed {
			// Ours from the CAS on: nobody else claims it, or reads its
			// occupancy before it runs.
			n.spilled = true
			p.startLocked(n)
		}
		p.unlock()
		if claimed {
			p.goRun(n)
			return true
		}
	}
	return false
}

// OnSpillable sets f, which is called, on no lock, each time a node whose
// spec allows it to spill is queued to wait for room: then is the time to
// Spill it if another worker has room.
func (s *Scheduler) OnSpillable(f func()) { s.spillable.Store(&f) }

// Spilled reports whether ctx is the context of a task that Spill started.
func Spilled(ctx context.Context) bool {
	tc := fromContext(ctx)
	if tc == nil {
		return false
	}
	n := tc.node.Load()
	return n != nil && n.spilled
}
