package sched

import (
	"sync"
	"sync/atomic"
)

// proc is one processor (execution slot) of this process.
//
// Its room is a weighted semaphore of FullOccupancy units. A running node
// holds its occupancy (holds), except while a goroutine of its f waits
// (blocked > 0), while it waits for room to take its share back after a
// wait (reacquiring), and once it has ended while f still runs (cancelled,
// timed out: shareFreed): then it holds nothing. Only holds says what is
// given back. A node is one holder, whatever goroutines its f starts: while
// any of them waits, the node holds nothing, even if another computes.
// Two kinds of waiters want room: blocked nodes taking their share back
// (waiters, first come first served, served first), then queued nodes (the
// ready queue, by priority). As in golang.org/x/sync/semaphore, admission
// stops at the first waiter that does not fit: letting smaller ones pass
// would starve a large one for as long as small ones keep coming.
//
// Every change of room goes through the methods below, under mu: a node is
// started by claimLocked, stopped by stopLocked, gives its share back and
// takes it again through blockLocked and unblockLocked, gives it up for good
// through freeShareLocked, and admitLocked hands the room that is free to
// the waiters. The nodes that admitLocked starts need a runner each, which
// the caller starts (launch) once it has unlocked mu.
//
// Nodes run on runner goroutines: a runner that finishes a node goes on
// with the next one (preferring a node that the finished one readied), or
// takes a deferred one, or steals one, so a goroutine is started only when
// a processor has room and no runner to use it, and only while few are on
// their way (see Scheduler.starting).
type proc struct {
	s     *Scheduler
	index int // 0-based; the public thread number is index+1

	mu      sync.Mutex
	queue   readyQueue
	queued  atomic.Int32  // queue.len() as of the last unlock, readable without mu
	used    atomic.Uint32 // occupancy held by running nodes; written under mu, read anywhere
	waiters []reacquirer  // blocked nodes waiting to take their share back, in arrival order
	running []*Node       // the running nodes, each at its runIdx
	closed  bool          // Close has drained the queue: nothing new starts

	idleShown   bool  // what unlock last published to the scheduler's idle set
	queuedShown int32 // what unlock last published to queued
}

// reacquirer is a blocked node waiting for room to take its share back.
type reacquirer struct {
	n    *Node
	wake chan struct{} // closed when the share is taken for it, or not needed any more
}

// Thread is the processor's public number, from 1.
func (p *proc) Thread() int { return p.index + 1 }

func (p *proc) fits(occ uint32) bool { return p.used.Load()+occ <= FullOccupancy }

// startsLocked reports whether a node of occupancy occ would start on p
// now: it fits, and no node waits ahead of it, blocked or queued.
func (p *proc) startsLocked(occ uint32) bool {
	return len(p.waiters) == 0 && p.queue.peek() == nil && p.fits(occ)
}

// roomFor reports, without mu, whether a node of occupancy occ would start
// at once on p: it fits, and nothing is queued ahead of it.
func (p *proc) roomFor(occ uint32) bool { return p.queued.Load() == 0 && p.fits(occ) }

// take and give change the room under mu; unlock publishes what changed.
func (p *proc) take(occ uint32) { p.used.Add(occ) }

func (p *proc) give(occ uint32) { p.used.Add(-occ) }

// unlock publishes what the critical section changed that others read
// without mu (whether p is idle, how long its queue is), then unlocks mu.
// Publishing once per critical section, and only what changed, keeps a
// runner that stops a node and starts the next from touching the
// scheduler's shared words at all.
func (p *proc) unlock() {
	if idle := p.used.Load() == 0; idle != p.idleShown {
		p.idleShown = idle
		if idle {
			p.s.idle.add(p.index)
		} else {
			p.s.idle.remove(p.index)
		}
	}
	if l := int32(p.queue.len()); l != p.queuedShown {
		if (l == 0) != (p.queuedShown == 0) {
			if l == 0 {
				p.s.queuedProcs.Add(-1)
				p.s.queuedSet.remove(p.index)
			} else {
				p.s.queuedSet.add(p.index)
				p.s.queuedProcs.Add(1)
			}
		}
		p.queuedShown = l
		p.queued.Store(l)
	}
	p.mu.Unlock()
}

// claimLocked moves a queued node to running on p, taking its share; it
// reports false when the node is no longer queued.
func (p *proc) claimLocked(n *Node) bool {
	if !n.state.CompareAndSwap(stateQueued, stateRunning) {
		return false
	}
	p.startLocked(n)
	return true
}

// startLocked moves a node that the caller has just moved from queued to
// running onto p, taking its share.
func (p *proc) startLocked(n *Node) {
	p.take(n.occupancy())
	n.onProc, n.holds = true, true
	n.runIdx = int32(len(p.running))
	p.running = append(p.running, n)
	n.where.Store(-int32(p.index + 1))
	if n.state.Load() == stateEnded {
		// Interrupted between the CAS and the line above: the interrupter
		// did not know where n runs, and left its share to us.
		p.freeShareLocked(n)
	}
}

// stopLocked ends the run of a node whose runner is done with it, giving
// back what share it still holds.
func (p *proc) stopLocked(n *Node) {
	p.dropShareLocked(n)
	n.onProc = false
	last := len(p.running) - 1
	moved := p.running[last]
	p.running[n.runIdx], moved.runIdx = moved, n.runIdx
	p.running[last] = nil
	p.running = p.running[:last]
}

// dropShareLocked gives back n's share if it holds it, and takes it out of
// the waiters if it waits for room, so that it holds nothing and waits for
// nothing.
func (p *proc) dropShareLocked(n *Node) {
	if n.holds {
		n.holds = false
		p.give(n.occupancy())
	}
	p.stopWaitingLocked(n)
}

// stopWaitingLocked takes n out of the waiters, if it waits for room, and
// lets the goroutines that wait with it go on without the share.
func (p *proc) stopWaitingLocked(n *Node) {
	if !n.reacquiring {
		return
	}
	n.reacquiring = false
	for i, w := range p.waiters {
		if w.n == n {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			close(w.wake)
			return
		}
	}
}

// freeShareLocked gives up for good the share of a running node that has
// ended (cancelled, timed out) while its f still runs, so that what is
// queued behind it does not wait for an f that may ignore its context.
func (p *proc) freeShareLocked(n *Node) {
	if !n.onProc || n.shareFreed {
		return
	}
	n.shareFreed = true
	p.dropShareLocked(n)
}

// blockLocked gives back the share of a running node whose f waits. A node
// that does not hold its share (another goroutine of f waits, or waits for
// room) has nothing to give.
//
// A node that waits for room when another goroutine of f starts to wait
// stops waiting for room: the share is taken back when the last wait ends.
func (p *proc) blockLocked(n *Node) {
	n.blocked++
	if n.holds {
		n.holds = false
		p.give(n.occupancy())
	}
	p.stopWaitingLocked(n)
}

// unblockLocked counts a wait of n's f over. When the last one is over, n
// takes its share back, or returns a channel to wait on for room (the same
// channel for every goroutine of f that finds n waiting for room).
func (p *proc) unblockLocked(n *Node) (wait chan struct{}) {
	n.blocked--
	if n.blocked > 0 || !n.onProc || n.shareFreed || n.holds {
		return nil
	}
	if n.reacquiring {
		for _, w := range p.waiters {
			if w.n == n {
				return w.wake
			}
		}
	}
	if len(p.waiters) == 0 && p.fits(n.occupancy()) {
		p.take(n.occupancy())
		n.holds = true
		return nil
	}
	wait = make(chan struct{})
	n.reacquiring = true
	p.waiters = append(p.waiters, reacquirer{n, wait})
	return wait
}

// wakeWaitersLocked gives free room to blocked nodes, in arrival order, and
// reports whether none is left waiting.
func (p *proc) wakeWaitersLocked() bool {
	for len(p.waiters) > 0 && p.fits(p.waiters[0].n.occupancy()) {
		w := p.waiters[0]
		p.waiters[0] = reacquirer{}
		p.waiters = p.waiters[1:]
		p.take(w.n.occupancy())
		w.n.holds, w.n.reacquiring = true, false
		close(w.wake)
	}
	return len(p.waiters) == 0
}

// takeLocked pops the first queued node if it fits, and starts it.
func (p *proc) takeLocked() *Node {
	for {
		n := p.queue.peek()
		if n == nil || !p.fits(n.occupancy()) {
			return nil
		}
		p.queue.pop()
		if p.claimLocked(n) {
			return n
		}
	}
}

// admitLocked hands the free room to the waiters: blocked nodes first, then
// queued ones. It returns the queued nodes it started; the caller starts a
// runner for each (see launch) once it has unlocked mu.
func (p *proc) admitLocked() []*Node {
	if !p.wakeWaitersLocked() || p.closed {
		return nil
	}
	var out []*Node
	for {
		n := p.takeLocked()
		if n == nil {
			return out
		}
		out = append(out, n)
	}
}

// pushLocked queues a ready node.
func (p *proc) pushLocked(n *Node) {
	p.queue.push(n)
}

// launch starts a runner for each of ns, which p has claimed.
func (p *proc) launch(ns []*Node) {
	for _, n := range ns {
		p.goRun(n)
	}
}

// goRun starts a runner for n, which p has claimed. Every runner starts
// here, so that Scheduler.starting counts the runners on their way.
func (p *proc) goRun(n *Node) {
	p.s.starting.Add(1)
	go p.run(n)
}

// run is a runner: it runs n, then whatever p has next.
func (p *proc) run(n *Node) {
	p.s.runnerStarted()
	var buf [4]*Node
	var cur *Node // the node being executed
	defer func() {
		if cur != nil {
			// f called runtime.Goexit, which ends this goroutine: fail the
			// node, and hand what p has next to a new runner.
			p.s.abandon(cur)
			if next := p.next(cur, nil); next != nil {
				p.goRun(next)
			}
		}
	}()
	for n != nil {
		readied := buf[:0]
		cur = n
		p.s.execute(p, n, &readied, 0)
		cur = nil
		n = p.next(n, readied)
		clear(buf[:])
	}
}

// next is called by the runner that finished done. It queues the nodes done
// readied, keeping the first for itself when p may run it, stops done and
// returns the node to run next, if any.
func (p *proc) next(done *Node, readied []*Node) *Node {
	var keep *Node
	for _, m := range readied {
		if m.sched() != p.s {
			m.sched().enqueue(m, nil) // readied by a node of another scheduler
			continue
		}
		if keep == nil && m.spec.allows(p) {
			keep = m
			continue
		}
		p.s.enqueue(m, p)
	}

	p.mu.Lock()
	p.stopLocked(done)
	var next *Node
	if p.wakeWaitersLocked() && !p.closed {
		if keep != nil {
			head := p.queue.peek()
			if (head == nil || head.spec.Priority <= keep.spec.Priority) && p.fits(keep.occupancy()) &&
				p.claimLocked(keep) {
				next, keep = keep, nil
			}
		}
		if next == nil {
			next = p.takeLocked()
		}
	}
	launch := p.admitLocked()
	idle := p.used.Load() == 0 && p.queue.len() == 0
	p.unlock()

	p.launch(launch)
	if keep != nil {
		p.s.enqueue(keep, p)
	}
	if next == nil && idle {
		next = p.takeDeferred()
	}
	if next == nil && idle {
		next = p.steal()
	}
	return next
}

// takeDeferred starts on p, which is idle, the first deferred node (see
// Scheduler.starting), if any; one that p may not run, or that does not
// fit any more, is placed anew.
func (p *proc) takeDeferred() *Node {
	n := p.s.popDeferred()
	if n == nil {
		return nil
	}
	p.mu.Lock()
	if n.spec.allows(p) && !p.closed && p.startsLocked(n.occupancy()) && p.claimLocked(n) {
		p.unlock()
		return n
	}
	p.unlock()
	p.s.enqueueAt(n, nil, false)
	return nil
}

// steal takes the first queued node of another processor that p may run,
// looking at maxStealProbes processors with something queued at most. Only
// those are looked at, through the scheduler's set of them, so that a
// steal costs about the same however many processors there are.
//
// The node taken may be claimed where it was queued before p claims it (a
// wait that runs its child inline reads the node's state, not the queue):
// steal then looks again, since the nodes behind it may have no other
// runner coming. Giving up there, as it once did, left an idle processor
// beside a queue of nodes it could run, while that queue's processor was
// held by a task waiting for them (TestProcsIdleProcessorsSteal hung about
// once in 200 runs under load).
func (p *proc) steal() *Node {
	if p.s.queuedProcs.Load() == 0 {
		return nil
	}
	procs := p.s.procs
	from := p.index + 1
	for range maxStealProbes {
		i, ok := p.s.queuedSet.find(from % len(procs))
		// Stop on coming back round to p, or past it.
		if !ok || i == p.index || (i-p.index-1+len(procs))%len(procs) < (from-p.index-1+len(procs))%len(procs) {
			return nil
		}
		from = i + 1
		q := procs[i]
		q.mu.Lock()
		n := q.queue.peek()
		if n == nil || !n.spec.allows(p) {
			q.unlock()
			continue
		}
		q.queue.pop()
		q.unlock()
		if afterStealPop != nil {
			afterStealPop(n)
		}

		p.mu.Lock()
		if !p.closed && p.startsLocked(n.occupancy()) && p.claimLocked(n) {
			p.unlock()
			return n
		}
		p.unlock()
		if n.state.Load() != stateQueued {
			from = i // claimed meanwhile: look at q again
			continue
		}
		p.s.enqueue(n, p)
		return nil
	}
	return nil
}

// afterStealPop, when not nil, runs in steal between taking a node from
// another processor's queue and claiming it: tests claim the node there.
var afterStealPop func(n *Node)

// block gives back the share of a running node whose f waits, so that
// other nodes may run meanwhile. It reports false, doing nothing, when the
// runner is already done with n (a goroutine of f outlived it).
func (p *proc) block(n *Node) bool {
	p.mu.Lock()
	if !n.onProc {
		p.unlock()
		return false
	}
	p.blockLocked(n)
	launch := p.admitLocked()
	p.unlock()
	p.launch(launch)
	return true
}

// unblock takes the share back, waiting for room if need be; blocked nodes
// come before queued ones.
func (p *proc) unblock(n *Node) {
	p.mu.Lock()
	wait := p.unblockLocked(n)
	p.unlock()
	if wait != nil {
		<-wait
	}
}

// interrupted gives up the share of n, which ended while it ran on p, or
// gives it up for good (GiveUpShare).
func (p *proc) interrupted(n *Node) {
	p.mu.Lock()
	p.freeShareLocked(n)
	launch := p.admitLocked()
	p.unlock()
	p.launch(launch)
}
