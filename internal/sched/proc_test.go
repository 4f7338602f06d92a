package sched

import (
	"testing"
)

func newTestScheduler(t *testing.T, procs int) *Scheduler {
	t.Helper()
	s := New(Config{Procs: procs, PanicError: func(v any, _ []byte) error { return nil }, FailureOf: func(error) *Failure { return nil }})
	t.Cleanup(s.Close)
	return s
}

func nodeOf(s *Scheduler, occ float64) *Node {
	spec := s.NewSpec()
	spec.Occupancy = uint32(occ * FullOccupancy)
	n := &Node{spec: spec}
	n.state.Store(stateQueued)
	return n
}

// The room of a processor through every step that changes it: each row
// does one step under mu and says what the processor then holds.
func TestProcRoomLifeCycle(t *testing.T) {
	s := newTestScheduler(t, 1)
	p := s.procs[0]
	a, b, c := nodeOf(s, 0.5), nodeOf(s, 0.5), nodeOf(s, 1)
	var wait chan struct{}
	steps := []struct {
		what string
		do   func()
		used float64
		idle bool
	}{
		{"claim a (0.5)", func() { p.claimLocked(a) }, 0.5, false},
		{"claim b (0.5)", func() { p.claimLocked(b) }, 1, false},
		{"a waits: gives its share back", func() { p.blockLocked(a) }, 0.5, false},
		{"a waits again: nothing more to give", func() { p.blockLocked(a) }, 0.5, false},
		{"b is interrupted: its share is freed at once", func() { b.state.Store(stateEnded); p.freeShareLocked(b) }, 0, true},
		{"b's runner stops it: nothing given twice", func() { p.stopLocked(b) }, 0, true},
		{"claim c (1)", func() { p.claimLocked(c) }, 1, false},
		{"one of a's waits ends: a still waits", func() { wait = p.unblockLocked(a) }, 1, false},
		{"a's last wait ends: no room, a queues", func() { wait = p.unblockLocked(a) }, 1, false},
		{"c ends normally", func() { p.stopLocked(c) }, 0, true},
		{"admission hands a its share back", func() { p.admitLocked() }, 0.5, false},
		{"a's runner stops it", func() { p.stopLocked(a) }, 0, true},
	}
	for _, st := range steps {
		p.mu.Lock()
		st.do()
		p.unlock()
		if got := float64(p.used.Load()) / FullOccupancy; got != st.used {
			t.Fatalf("%s: used %v, want %v", st.what, got, st.used)
		}
		if _, idle := s.idle.find(0); idle != st.idle {
			t.Fatalf("%s: idle %v, want %v", st.what, idle, st.idle)
		}
		if st.what == "a's last wait ends: no room, a queues" && (wait == nil || len(p.waiters) != 1) {
			t.Fatalf("%s: a does not wait for room", st.what)
		}
	}
	select {
	case <-wait:
	default:
		t.Fatal("a was not woken when it got its share back")
	}
	if len(p.running) != 0 {
		t.Fatalf("%d nodes still in the running list", len(p.running))
	}
}

// A waiting node that is interrupted while it waits for room is let go at
// once, holding nothing.
func TestProcInterruptedWaiterLetGo(t *testing.T) {
	s := newTestScheduler(t, 1)
	p := s.procs[0]
	a, c := nodeOf(s, 1), nodeOf(s, 1)
	p.mu.Lock()
	p.claimLocked(a)
	p.blockLocked(a)
	p.claimLocked(c)
	wait := p.unblockLocked(a)
	a.state.Store(stateEnded)
	p.freeShareLocked(a)
	p.unlock()
	select {
	case <-wait:
	default:
		t.Fatal("the interrupted waiter still waits for room")
	}
	p.mu.Lock()
	p.stopLocked(a)
	p.stopLocked(c)
	p.unlock()
	if u := p.used.Load(); u != 0 {
		t.Fatalf("used %d after every node stopped", u)
	}
}

// Admission stops at the first queued node that does not fit, so that a
// large task is not starved by small ones queued behind it.
func TestProcAdmissionStopsAtFirstMisfit(t *testing.T) {
	s := newTestScheduler(t, 1)
	p := s.procs[0]
	small, big, small2 := nodeOf(s, 0.5), nodeOf(s, 1), nodeOf(s, 0.5)
	p.mu.Lock()
	p.claimLocked(small)
	p.pushLocked(big)
	p.pushLocked(small2)
	started := p.admitLocked()
	p.unlock()
	if len(started) != 0 {
		t.Fatalf("admitted %d nodes past a node that does not fit", len(started))
	}
	p.mu.Lock()
	p.stopLocked(small)
	started = p.admitLocked()
	p.unlock()
	if len(started) != 1 || started[0] != big {
		t.Fatalf("admitted %d nodes, want the big one first", len(started))
	}
	p.mu.Lock()
	p.stopLocked(big)
	started = p.admitLocked()
	p.stopLocked(small2)
	p.unlock()
	if len(started) != 1 || started[0] != small2 {
		t.Fatalf("admitted %d nodes, want the second small one", len(started))
	}
}

// TestStealClaimedMeanwhile: the node that a steal takes from another
// processor's queue may be claimed where it was before the steal claims
// it (a wait runs it inline); the steal then takes the node behind it.
// (A steal that gave up there left an idle processor beside a queue whose
// processor was held by a task waiting for the node behind:
// TestProcsIdleProcessorsSteal hung about once in 200 runs under load.)
func TestStealClaimedMeanwhile(t *testing.T) {
	s := newTestScheduler(t, 2)
	p1, p2 := s.procs[0], s.procs[1]
	first, behind := nodeOf(s, 1), nodeOf(s, 1)
	p1.mu.Lock()
	p1.pushLocked(first)
	p1.pushLocked(behind)
	p1.unlock()
	afterStealPop = func(n *Node) {
		if n == first {
			n.state.Store(stateRunning) // a wait on p1 claims it inline
		}
	}
	t.Cleanup(func() { afterStealPop = nil })

	got := p2.steal()
	if got != behind {
		t.Fatalf("p2 stole %p, want the node behind the one claimed meanwhile (%p)", got, behind)
	}
	if got.state.Load() != stateRunning || p2.used.Load() != FullOccupancy {
		t.Fatalf("the stolen node is in state %d on a processor using %d", got.state.Load(), p2.used.Load())
	}
	p2.mu.Lock()
	p2.stopLocked(got)
	p2.unlock()
}
