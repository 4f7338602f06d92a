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
	// few: those of the first node's go together, the others one by one.
	s := ns[0].sched()
	k := 0
	for _, n := range ns {
		if n.sched() != s || n.spec.Procs != nil {
			// Where a node may run is its own: placed as it would be alone.
			n.sched().enqueue(n, n.hintProc())
			continue
		}
		ns[k] = n
		k++
	}
	s.placeAll(ns[:k])
}

// placeAll places ns, ready nodes of s that may run on any processor: each
// processor in turn, from the next in the round robin, takes an equal
// share of what is left. Of its share, a processor starts what it has room
// for, each on a runner of its own, and queues the rest, for its runners
// or for idle processors to steal (helpIdle).
//
// A node that would start but finds maxStarting runners on their way is
// deferred, as enqueue defers it: queued on a processor with room, it
// could wait for a runner that never comes.
func (s *Scheduler) placeAll(ns []*Node) {
	var (
		buf      [8]*Node
		launch   = buf[:0]
		deferred []*Node
		spill    bool
	)
	start := int(s.rr.Add(1))
	for i := range len(s.procs) {
		if len(ns) == 0 {
			break
		}
		p := s.procs[(start+i)%len(s.procs)]
		left := len(s.procs) - i
		share := ns[:(len(ns)+left-1)/left]
		ns = ns[len(share):]
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
			if !p.startsLocked(n.occupancy()) {
				p.pushLocked(n)
				queued = true
				spill = spill || n.spec.Spill
				continue
			}
			if s.starting.Load()+int32(len(launch)) >= s.maxStarting {
				deferred = append(deferred, n)
				continue
			}
			if p.claimLocked(n) { // else a Wait runs it already
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
