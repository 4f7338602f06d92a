package sched

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// proc is one processor (execution slot) of this process. It runs nodes
// whose occupancies add up to at most FullOccupancy at a time. Nodes run on
// runner goroutines: a runner that finishes a node goes on with the next
// one (preferring a node that the finished one readied), so a goroutine is
// started only when a processor has room and no runner to use it.
type proc struct {
	s     *Scheduler
	index int // 0-based; the public thread number is index+1

	mu      sync.Mutex
	queue   readyQueue
	used    atomic.Uint32 // occupancy of the running nodes that are not blocked; written under mu, read anywhere
	waiters []reacquirer  // blocked nodes waiting to take their occupancy back, first come first served
	running []*Node       // the running nodes, each at its runIdx
	closed  bool
}

type reacquirer struct {
	occ  uint32
	wake chan struct{}
}

// Thread is the processor's public number, from 1.
func (p *proc) Thread() int { return p.index + 1 }

func (p *proc) fits(occ uint32) bool { return p.used.Load()+occ <= FullOccupancy }

func (p *proc) take(occ uint32) { p.used.Add(occ) }

func (p *proc) give(occ uint32) { p.used.Add(-occ) }

// startLocked makes n a running node of p.
func (p *proc) startLocked(n *Node) {
	p.take(n.occupancy())
	n.onProc = true
	p.addRunningLocked(n)
}

func (p *proc) addRunningLocked(n *Node) {
	n.runIdx = int32(len(p.running))
	p.running = append(p.running, n)
}

// stopLocked gives back the occupancy of a node whose runner is done with it.
func (p *proc) stopLocked(n *Node) {
	if n.blocked == 0 {
		p.give(n.occupancy())
	}
	n.onProc = false
	last := len(p.running) - 1
	moved := p.running[last]
	p.running[n.runIdx], moved.runIdx = moved, n.runIdx
	p.running[last] = nil
	p.running = p.running[:last]
}

// wakeWaitersLocked gives freed occupancy to blocked nodes first, and reports
// whether none is left waiting.
func (p *proc) wakeWaitersLocked() bool {
	for len(p.waiters) > 0 && p.fits(p.waiters[0].occ) {
		w := p.waiters[0]
		p.waiters[0] = reacquirer{}
		p.waiters = p.waiters[1:]
		p.take(w.occ)
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
		if n.state.CompareAndSwap(stateQueued, stateRunning) {
			p.startLocked(n)
			return n
		}
	}
}

// fillLocked starts every queued node that fits beside the running ones; the
// caller starts a runner for each.
func (p *proc) fillLocked() []*Node {
	var out []*Node
	if len(p.waiters) > 0 {
		return nil
	}
	for {
		n := p.takeLocked()
		if n == nil {
			return out
		}
		out = append(out, n)
	}
}

func (p *proc) launch(ns []*Node) {
	for _, n := range ns {
		go p.run(n)
	}
}

// run is a runner: it runs n, then whatever p has next.
func (p *proc) run(n *Node) {
	var buf [4]*Node
	var y yielder
	y.init()
	var cur *Node // the node being executed
	defer func() {
		if cur != nil {
			// f called runtime.Goexit, which ends this goroutine: fail the
			// node, and hand what p has next to a new runner.
			p.s.abandon(cur)
			if next := p.next(cur, nil); next != nil {
				go p.run(next)
			}
		}
	}()
	for n != nil {
		readied := buf[:0]
		cur = n
		p.s.execute(p, n, &readied)
		cur = nil
		n = p.next(n, readied)
		clear(buf[:])
		y.tick()
	}
}

// yielder lets a runner give its OS thread to other goroutines now and
// then. A runner goes from task to task without returning to the Go
// scheduler; when Go preempts another runner (for the garbage collector,
// say), that runner could otherwise wait for this one's forced preemption,
// some 10 ms, in the middle of its task. The clock is read every batch
// tasks, batch adapting to the tasks' length, so that short tasks pay
// almost nothing and long ones yield after each.
type yielder struct {
	start     time.Time
	lastCheck time.Duration
	lastYield time.Duration
	count     int
	batch     int
}

const (
	yieldEvery = 50 * time.Microsecond
	maxBatch   = 64
)

func (y *yielder) init() {
	y.start, y.batch = time.Now(), 1
}

func (y *yielder) tick() {
	if y.count++; y.count < y.batch {
		return
	}
	now := time.Since(y.start)
	if now-y.lastCheck > yieldEvery/4 {
		y.batch = max(1, y.batch/2)
	} else {
		y.batch = min(maxBatch, y.batch*2)
	}
	y.count, y.lastCheck = 0, now
	if now-y.lastYield >= yieldEvery {
		y.lastYield = now
		runtime.Gosched()
	}
}

// next is called by the runner that finished done. It queues the nodes done
// readied, keeping the first for itself when p may run it, frees done's
// occupancy and returns the node to run next, if any.
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
				keep.state.CompareAndSwap(stateQueued, stateRunning) {
				p.startLocked(keep)
				next, keep = keep, nil
			}
		}
		if next == nil {
			next = p.takeLocked()
		}
	}
	launch := p.fillLocked()
	idle := p.used.Load() == 0 && p.queue.peek() == nil
	p.mu.Unlock()

	p.launch(launch)
	if keep != nil {
		p.s.enqueue(keep, p)
	}
	if next == nil && idle {
		next = p.steal()
	}
	return next
}

// steal takes the first queued node of another processor that p may run.
func (p *proc) steal() *Node {
	procs := p.s.procs
	for i := 1; i < len(procs); i++ {
		q := procs[(p.index+i)%len(procs)]
		q.mu.Lock()
		n := q.queue.peek()
		if n == nil || !n.spec.allows(p) {
			q.mu.Unlock()
			continue
		}
		q.queue.pop()
		q.mu.Unlock()

		p.mu.Lock()
		if !p.closed && len(p.waiters) == 0 && p.fits(n.occupancy()) &&
			n.state.CompareAndSwap(stateQueued, stateRunning) {
			p.startLocked(n)
			p.mu.Unlock()
			return n
		}
		p.mu.Unlock()
		p.s.enqueue(n, p)
		return nil
	}
	return nil
}

// block gives back the occupancy of a running node whose f waits, so that
// other nodes may run meanwhile. It reports false, doing nothing, when the
// runner is already done with n (a goroutine of f outlived it).
func (p *proc) block(n *Node) bool {
	p.mu.Lock()
	if !n.onProc {
		p.mu.Unlock()
		return false
	}
	n.blocked++
	var launch []*Node
	if n.blocked == 1 {
		p.give(n.occupancy())
		if p.wakeWaitersLocked() && !p.closed {
			launch = p.fillLocked()
		}
	}
	p.mu.Unlock()
	p.launch(launch)
	return true
}

// unblock takes the occupancy back, waiting for room if need be; blocked
// nodes come before queued ones.
func (p *proc) unblock(n *Node) {
	p.mu.Lock()
	n.blocked--
	if n.blocked > 0 || !n.onProc {
		p.mu.Unlock()
		return
	}
	if len(p.waiters) == 0 && p.fits(n.occupancy()) {
		p.take(n.occupancy())
		p.mu.Unlock()
		return
	}
	wake := make(chan struct{})
	p.waiters = append(p.waiters, reacquirer{n.occupancy(), wake})
	p.mu.Unlock()
	<-wake
}
