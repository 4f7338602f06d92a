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
