package sched

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/dagr/dagr/internal/call"
)

// A Batch gathers nodes spawned together (SpawnIn) that are ready at once,
// and places them together (Submit): those that may run on any processor
// are dealt out over the processors, each processor locked once for its
// share, with a runner started only where there is room. Placed one by one,
// each would lock a processor and look for room and idle processors of its
// own. The zero Batch is ready to use; a Batch is not safe for concurrent
// use.
//
// The nodes of a batch spawned with the same context that can end, and
// that is not a task's, share one watch on it (context.AfterFunc), which
// cancels them all when it ends: a node spawned alone has a watch of its
// own, which costs more than the rest of its spawn.
type Batch struct {
	ready []*Node
	cw    *ctxWatch // of the latest nodes, started by Submit
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
	if w := b.cw; w != nil {
		b.cw = nil
		w.start()
	}
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

// watch makes n, spawned with ctx, which can end and is not a task's
// context, one of the nodes that a watch of b cancels when ctx ends.
func (b *Batch) watch(n *Node, ctx context.Context) {
	w := b.cw
	if w == nil || !sameContext(w.ctx, ctx) {
		if w != nil {
			w.start()
		}
		w = newCtxWatch(ctx)
		b.cw = w
	}
	w.add(n)
}

// sameContext reports whether a and b are the same context, for contexts
// that are pointers (the standard library's are): == on two contexts of
// another type may panic, and they count as different.
func sameContext(a, b context.Context) bool {
	t := reflect.TypeOf(a)
	return t != nil && t.Kind() == reflect.Pointer && a == b
}

// ctxWatch cancels its nodes when ctx ends. It lives until ctx has ended
// or all of its nodes have: each node's end releases it (Node.stopWatch),
// and the last release stops the watch. It keeps its nodes until then.
type ctxWatch struct {
	ctx     context.Context
	release func() bool // w.done, made once for all the nodes
	// live counts the nodes not yet ended, and one more until start.
	live  atomic.Int32
	mu    sync.Mutex
	nodes []*Node
	stop  func() bool // the AfterFunc's, from start
}

func newCtxWatch(ctx context.Context) *ctxWatch {
	w := &ctxWatch{ctx: ctx}
	w.release = w.done
	w.live.Store(1)
	return w
}

// add puts n under the watch, unless n has ended.
func (w *ctxWatch) add(n *Node) {
	w.live.Add(1)
	n.mu.Lock()
	if n.state.Load() == stateEnded {
		n.mu.Unlock()
		w.live.Add(-1) // the hold of start keeps it above 0
		return
	}
	n.stopWatch = w.release
	n.mu.Unlock()
	w.mu.Lock()
	w.nodes = append(w.nodes, n)
	w.mu.Unlock()
}

// start begins the watch on ctx, once no more nodes are added; a node that
// ended meanwhile may have released it already.
func (w *ctxWatch) start() {
	stop := context.AfterFunc(w.ctx, w.cancel)
	w.mu.Lock()
	w.stop = stop
	w.mu.Unlock()
	w.done()
}

// cancel cancels the nodes: ctx has ended.
func (w *ctxWatch) cancel() {
	w.mu.Lock()
	ns := w.nodes
	w.mu.Unlock()
	err := canceledBy(w.ctx)
	for _, n := range ns {
		n.Cancel(err)
	}
}

// done is the end of a node of the watch, or of start's hold: the last
// stops the watch.
func (w *ctxWatch) done() bool {
	if w.live.Add(-1) != 0 {
		return true
	}
	w.mu.Lock()
	stop := w.stop
	w.nodes = nil
	w.mu.Unlock()
	return stop()
}
