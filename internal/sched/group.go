package sched

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Group counts the nodes spawned under one Sync, including those they
// spawned with the contexts they were handed, and keeps one failure per
// origin.
type Group struct {
	mu     sync.Mutex
	live   int
	zero   chan struct{}
	seen   map[uint64]bool
	failed []Failed

	aborted  atomic.Bool
	abortErr error  // the error that nodes failed by the abort fail with
	first    Failed // what aborted the group

	// Ctx, if set before the group's first node is spawned, aborts the group
	// when it ends: its nodes check it before they start, so none starts
	// once it has ended, even before the watch on it has run.
	Ctx context.Context
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
		failed = &Failed{Task: n.ID(), Name: n.Name(), Failure: f}
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

// Abort stops the group: its running nodes are cancelled, and its nodes
// that have not started fail without running when their turn comes, with an
// error that wraps context.Canceled and names what aborted the group. The
// first Abort wins; it reports whether this one did.
func (g *Group) Abort(s *Scheduler, why Failed) bool {
	g.mu.Lock()
	if g.aborted.Load() {
		g.mu.Unlock()
		return false
	}
	g.first = why
	g.abortErr = fmt.Errorf("computation aborted because task %d (%s) failed: %w", why.Task, why.Name, context.Canceled)
	g.aborted.Store(true)
	g.mu.Unlock()

	var running []*Node
	for _, p := range s.procs {
		p.mu.Lock()
		for _, n := range p.running {
			if n.group == g {
				running = append(running, n)
			}
		}
		p.mu.Unlock()
	}
	for _, n := range running {
		n.Cancel(g.abortErr)
	}
	return true
}

// Aborted returns what aborted the group, if anything did.
func (g *Group) Aborted() (Failed, bool) {
	if !g.aborted.Load() {
		return Failed{}, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.first, true
}

// abortError is the error of a node that the group's abort stops before it
// runs, or nil while the group runs.
func (g *Group) abortError(s *Scheduler) error {
	if g == nil {
		return nil
	}
	if !g.aborted.Load() {
		if g.Ctx == nil || g.Ctx.Err() == nil {
			return nil
		}
		g.AbortCtx(s)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.abortErr
}

// AbortCtx aborts the group because its Ctx ended.
func (g *Group) AbortCtx(s *Scheduler) {
	g.Abort(s, Failed{Name: "the computation's context", Failure: &Failure{Err: context.Cause(g.Ctx)}})
}
