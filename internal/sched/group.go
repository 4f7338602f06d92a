package sched

import "sync"

// Group counts the nodes spawned under one Sync, including those they
// spawned with the contexts they were handed, and keeps one failure per
// origin.
type Group struct {
	mu     sync.Mutex
	live   int
	zero   chan struct{}
	seen   map[uint64]bool
	failed []Failed
}

// Failed is a failed node of a group.
type Failed struct {
	Task    uint64
	Name    string
	Failure *Failure
}

func (g *Group) add() {
	g.mu.Lock()
	g.live++
	g.mu.Unlock()
}

func (g *Group) done(n *Node) {
	var failed *Failed
	if _, f := n.Outcome(); f != nil {
		failed = &Failed{Task: n.id, Name: n.Name(), Failure: f}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if failed != nil && !g.seen[failed.Failure.Origin] {
		if g.seen == nil {
			g.seen = make(map[uint64]bool)
		}
		g.seen[failed.Failure.Origin] = true
		g.failed = append(g.failed, *failed)
	}
	g.live--
	if g.live == 0 && g.zero != nil {
		close(g.zero)
		g.zero = nil
	}
}

// Wait returns once every node of the group has been released: ended, with
// no f of it still running.
func (g *Group) Wait() {
	g.mu.Lock()
	if g.live == 0 {
		g.mu.Unlock()
		return
	}
	if g.zero == nil {
		g.zero = make(chan struct{})
	}
	zero := g.zero
	g.mu.Unlock()
	<-zero
}

// Failures returns one failed node per origin, in the order they failed.
func (g *Group) Failures() []Failed {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Failed(nil), g.failed...)
}
