package sched

import (
	"context"

	"github.com/dagr/dagr/internal/call"
)

// A Batch gathers nodes spawned together (SpawnIn) that are ready at once,
// and places them together (Submit): those that may run on any processor
// are dealt out over the processors, each processor locked once for its
// share, with a runner started only where there is room. Placed one by one,
// each would lock a processor and look for room and idle processors of its
// own. The zero Batch is ready to use; a Batch is not safe for concurrent
// use.
type Batch struct {
	ready []*Node
}

// SpawnIn is Spawn, except that n, if it is ready at once, waits in b until
// b.Submit. Until then, it is queued nowhere: a Wait may still run it
// inline.
func (s *Scheduler) SpawnIn(b *Batch, n *Node, ctx context.Context, fn any, sig *call.Sig, args []any, deps []Dep, spec *Spec, bad error) {
	own := n.inline[:0]
	if len(args) > len(n.inline) {
		own = make([]any, 0, len(args))
	}
	s.spawnOwned(b, n, ctx, fn, sig, append(own, args...), deps, spec, bad)
}

// SpawnOwnedIn is SpawnOwned, with n waiting in b as SpawnIn says.
func (s *Scheduler) SpawnOwnedIn(b *Batch, n *Node, ctx context.Context, fn any, sig *call.Sig, args []any, deps []Dep, spec *Spec, bad error) {
	s.spawnOwned(b, n, ctx, fn, sig, args, deps, spec, bad)
}

// Submit places the nodes waiting in b, and empties b, which keeps its
// buffer for the nodes of the next spawns.
func (b *Batch) Submit() {
	ns := b.ready
	if len(ns) == 0 {
		return
	}
	defer func() {
		clear(ns)
		b.ready = ns[:0]
	}()
	// Nodes of several schedulers (a batch of spawns on two of them) are
	// few, and so are nodes with a processor set of their own or another
	// occupancy than the first's: those of the first node's scheduler and
	// occupancy that may run anywhere go together, the others one by one,
	// placed as each would be alone.
	s, occ := ns[0].sched(), ns[0].occupancy()
	k := 0
	for _, n := range ns {
		if n.sched() != s || n.spec.Procs != nil || n.occupancy() != occ {
			n.sched().enqueue(n, n.hintProc())
			continue
		}
		ns[k] = n
		k++
	}
	s.placeAll(ns[:k], occ)
}

// placeAll places ns, ready nodes of s of occupancy occ that may run on
// any processor, in two passes. The first starts what the processors have
// room for, each processor in turn from the next in the round robin,
// locked once, each node on a runner of its own. The rest, for which no
// processor had room, the second deals out in equal shares to the queues
// of the processors, each locked once, for their runners or for idle
// processors to steal (helpIdle): so none waits in a queue while a
// processor has room for it.
//
// A node that would start but finds maxStarting runners on their way is
// deferred, as enqueue defers it, and the nodes after it are placed one
// by one as enqueue places them: queued on a processor with room, a node
// could wait for a runner that never comes.
func (s *Scheduler) placeAll(ns []*Node, occ uint32) {
	if len(ns) == 0 {
		return
	}
	var (
		buf    [8]*Node
		launch = buf[:0]
		open   []*proc // the processors not closed, in the order visited
	)
	start := int(s.rr.Add(1))
	for i := range len(s.procs) {
		p := s.procs[(start+i)%len(s.procs)]
		p.mu.Lock()
		if p.closed {
			p.unlock()
			continue
		}
		open = append(open, p)
		for len(ns) > 0 && p.startsLocked(occ) {
			if s.starting.Load()+int32(len(launch)) >= s.maxStarting {
				p.unlock()
				p.launch(launch)
				s.deferNode(ns[0])
				for _, n := range ns[1:] {
					s.enqueue(n, nil)
				}
				return
			}
			n := ns[0]
			ns = ns[1:]
			if p.claimLocked(n) { // else a Wait runs it already
				launch = append(launch, n)
			}
		}
		p.unlock()
		p.launch(launch)
		clear(launch)
		launch = launch[:0]
		if len(ns) == 0 {
			return
		}
	}
	if len(open) == 0 {
		for _, n := range ns {
			n.fail(errClosedCanceled)
		}
		return
	}
	var (
		deferred []*Node
		spill    bool
	)
	for i, p := range open {
		left := len(open) - i
		share := ns[:(len(ns)+left-1)/left]
		ns = ns[len(share):]
		if len(share) == 0 {
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.unlock()
			for _, n := range share {
				n.fail(errClosedCanceled)
			}
			continue
		}
		queued := false
		for _, n := range share {
			if !p.startsLocked(occ) {
				p.pushLocked(n)
				queued = true
				spill = spill || n.spec.Spill
				continue
			}
			// A runner freed room since the first pass.
			if s.starting.Load()+int32(len(launch)) >= s.maxStarting {
				deferred = append(deferred, n)
			} else if p.claimLocked(n) {
				launch = append(launch, n)
			}
		}
		p.unlock()
		p.launch(launch)
		clear(launch)
		launch = launch[:0]
		if queued {
			s.helpIdle(p)
		}
	}
	for _, n := range deferred {
		s.deferNode(n)
	}
	if spill {
		if f := s.spillable.Load(); f != nil {
			(*f)()
		}
	}
}
