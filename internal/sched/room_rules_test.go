package sched

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// roomHeld is what the nodes running on p hold by the rules of proc's
// comment: a node holds its occupancy while it is on p, none of its f's
// goroutines waits (blocked == 0), it was not interrupted, and it is not
// queued for room among the waiters. Call with p.mu held.
var roomMismatch atomic.Value

func roomHeld(p *proc) uint32 {
	waiting := map[*Node]bool{}
	for _, w := range p.waiters {
		waiting[w.n] = true
	}
	var held uint32
	for _, n := range p.running {
		should := n.onProc && n.blocked == 0 && !n.shareFreed && !waiting[n]
		if should != n.holds || waiting[n] != n.reacquiring {
			roomMismatch.Store(fmt.Sprintf("onProc %v blocked %d shareFreed %v waiting %v; holds %v reacquiring %v ended %v", n.onProc, n.blocked, n.shareFreed, waiting[n], n.holds, n.reacquiring, n.Ended()))
			return FullOccupancy + 1 // the flags disagree with the rules: fail
		}
		if should {
			held += n.occupancy()
		}
	}
	return held
}

// roomCheckRoom fails the test when p's room is not what its running
// nodes hold, or when they hold more than a whole processor.
func roomCheckRoom(t *testing.T, p *proc, step string) {
	t.Helper()
	p.mu.Lock()
	held, used := roomHeld(p), p.used.Load()
	p.unlock()
	if held > FullOccupancy {
		t.Errorf("%s: the nodes running on the processor hold %.2f of it (used says %.2f)",
			step, float64(held)/FullOccupancy, float64(used)/FullOccupancy)
	}
}

func roomOcc(u uint32) string { return fmt.Sprintf("%.2f", float64(u)/FullOccupancy) }

// twoQueuedForRoom makes a full processor (c and e hold 0.5 each) with two
// running nodes of 0.5, m and n, whose waits are over and which queue for
// room, n behind m.
func twoQueuedForRoom(t *testing.T) (p *proc, n *Node) {
	s := newTestScheduler(t, 1)
	p = s.procs[0]
	m, n, c, e := nodeOf(s, 0.5), nodeOf(s, 0.5), nodeOf(s, 0.5), nodeOf(s, 0.5)
	p.mu.Lock()
	p.claimLocked(m)
	p.blockLocked(m) // m's f waits
	p.claimLocked(n)
	p.blockLocked(n) // a goroutine G1 of n's f waits
	p.claimLocked(c)
	p.claimLocked(e)   // the processor is full
	p.unblockLocked(m) // m's wait is over: no room, m queues for it
	p.unblockLocked(n) // G1's wait is over: no room, n queues behind m
	p.unlock()
	return p, n
}

// Two goroutines of one task's f wait (the node's blocked count is there
// for that). The first one's wait ends while the processor is full, so it
// queues for room among the waiters; then the second one starts a wait.
// blockLocked once gave the node's share back a second time, although the
// node held nothing (it is a waiter), so used falls below what the running
// nodes hold, and admission hands that room to the waiter ahead of it: the
// processor then runs 1.5 of occupancy.
func TestRoomBlockWhileWaitingForRoom(t *testing.T) {
	p, n := twoQueuedForRoom(t)
	roomCheckRoom(t, p, "before the second wait")

	// n's goroutine G2 waits in Fetch (Blocking does the same).
	if !p.block(n) {
		t.Fatal("block refused a node on its processor")
	}
	roomCheckRoom(t, p, "after a second goroutine of n's f started a wait while n queued for room")
}

// A goroutine of f queues for room after its wait, and f returns meanwhile:
// the runner's stopLocked once gave back a share that the node did not hold
// (it is a waiter), and next() hands it to the waiter ahead of it.
func TestRoomStopWhileWaitingForRoom(t *testing.T) {
	p, n := twoQueuedForRoom(t)
	roomCheckRoom(t, p, "before n's f returns")

	// n's f returns while G still waits for room: its runner goes on
	// (next, as proc.run calls it).
	if next := p.next(n, nil); next != nil {
		t.Fatalf("next started %p", next)
	}
	roomCheckRoom(t, p, "after n's runner stopped n while a goroutine of its f queued for room")
}
