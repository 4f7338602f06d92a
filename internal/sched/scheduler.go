// Package sched is dagr's engine: task nodes with atomic counts of
// unfinished inputs, per-processor ready queues with occupancy, runners that
// go on with the work they readied, stealing between processors, waiting
// without holding a processor, and cancellation.
package sched

import (
	"context"
	"log/slog"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dagr/dagr/internal/call"
)

// Config configures an engine.
type Config struct {
	Procs  int          // processors; at least 1
	Logger *slog.Logger // for failed checkpoints and restores; nil means slog.Default()
	// PanicError turns a recovered panic into the error the task fails with.
	PanicError func(value any, stack []byte) error
	// FailureOf, when it returns non-nil for an error that f returned, is
	// the failure the node fails with (an error that carries its own origin).
	FailureOf func(err error) *Failure
	// Owner is handed back by SchedulerFrom's callers; the public package
	// keeps its own scheduler here.
	Owner any
}

// Scheduler runs nodes on the processors of this process.
//
// Its fields come in two blocks: those that every spawn and run reads and
// that change seldom or never, then, a cache line apart, those that tasks
// write as they go, so that a write of the second kind does not make the
// processors that read the first fetch their line again. (An object of
// this size starts 8 bytes past a cache line, after its malloc header:
// the padding holds however it is aligned.)
type Scheduler struct {
	cfg         Config
	defaultSpec *Spec
	procs       []*proc
	queuedSet   bitset // the processors whose queue is not empty, so that a steal finds one without a scan
	idle        bitset // processors with no share taken, so that placement finds one without a scan
	maxStarting int32  // see starting
	closed      atomic.Bool
	events      atomic.Pointer[eventLog] // nil while the event log is off
	timing      atomic.Pointer[timing]   // nil while timing is off
	// resolve brings a Remote argument here; nil until SetResolve.
	resolve atomic.Pointer[func(context.Context, Remote) (any, error)]
	// spillable is called when a node that may spill waits for room; nil
	// until OnSpillable.
	spillable atomic.Pointer[func()]

	_ [64]byte

	rr          atomic.Uint32 // round robin over processors for nodes without a hint
	queuedProcs atomic.Int32  // processors whose queue is not empty (as of their last unlock), for idle runners to know whether to steal
	failed      atomic.Int64  // nodes that failed (see countEnd)
	canceled    atomic.Int64  // nodes that were cancelled

	// A runner is a goroutine, and starting one for every node that finds
	// a processor with room costs a goroutine per task on a scheduler of
	// many processors, where runners going from node to node cost far
	// less. So, as Go's scheduler does with its threads, enqueue starts a
	// runner only while fewer than maxStarting are on their way (started,
	// not yet running their first node); else it defers the node. Each
	// runner, as it begins, places the deferred nodes until one of them
	// gets a runner of its own (undefer), so that the chain goes on while
	// some are deferred, and a runner with nothing to do takes one. None is
	// left with no runner coming: a runner decrements starting and then
	// reads deferredN, enqueue defers a node and then reads starting, and
	// whichever reads second sees the other's write and undefers.
	starting  atomic.Int32
	deferMu   sync.Mutex
	deferred  []*Node // FIFO
	deferredN atomic.Int32

	// The live nodes are those spawned and not yet released. The two
	// counts are kept apart, so that the goroutine that spawns and the
	// runners that release never write the same cache line; each is
	// spread over shards by the node's address, so that goroutines doing
	// the same seldom do.
	spawned  [liveShards]liveCount
	released [liveShards]liveCount

	// foreign holds the nodes that depend on another scheduler's nodes:
	// Close fails them, since their inputs may outlive this scheduler.
	// Nodes that wait only for this scheduler's nodes fail as those do.
	foreignMu sync.Mutex
	foreign   map[*Node]struct{}
	// Close waits for the live nodes to drain; drainWaiters are the Close
	// calls waiting, each for the count to fall to its slack.
	drainMu      sync.Mutex
	drainWaiters []drainWaiter

	// The watches on the contexts that spawned live nodes (see ctxWatch).
	watches [watchShards]watchShard
}

const liveShards = 16

// liveCount fills two cache lines, so that neighbours never share one,
// however the array is aligned.
type liveCount struct {
	n atomic.Int64
	_ [120]byte
}

// liveShard is the shard where n is counted.
func liveShard(n *Node) int { return int(uintptr(unsafe.Pointer(n)) >> 8 % liveShards) }

// liveTotal is the number of nodes not yet released; it is exact once no
// node is spawned any more, and never less than the number at the time of
// the call. The released count is read first: a node released while the
// spawned count is read was counted as spawned before, and so is not
// counted as released only.
func (s *Scheduler) liveTotal() int64 {
	var t int64
	for i := range s.released {
		t -= s.released[i].n.Load()
	}
	for i := range s.spawned {
		t += s.spawned[i].n.Load()
	}
	return t
}

// Counts returns the number of nodes spawned on s so far, and of those
// that have ended and been released; released never exceeds spawned.
func (s *Scheduler) Counts() (spawned, released int64) {
	for i := range s.released {
		released += s.released[i].n.Load()
	}
	for i := range s.spawned {
		spawned += s.spawned[i].n.Load()
	}
	return spawned, released
}

// New starts an engine.
func New(cfg Config) *Scheduler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Scheduler{cfg: cfg}
	s.defaultSpec = s.NewSpec()
	s.idle = newBitset(cfg.Procs)
	s.queuedSet = newBitset(cfg.Procs)
	s.maxStarting = int32(runtime.GOMAXPROCS(0))
	for i := range cfg.Procs {
		s.procs = append(s.procs, &proc{s: s, index: i, idleShown: true})
		s.idle.add(i)
	}
	return s
}

// Owner returns Config.Owner.
func (s *Scheduler) Owner() any { return s.cfg.Owner }

// NumProcs is the number of processors.
func (s *Scheduler) NumProcs() int { return len(s.procs) }

// Backlog reports whether ready tasks wait for room on some processor (as
// of the processors' last changes).
func (s *Scheduler) Backlog() bool { return s.queuedProcs.Load() > 0 }

// Closed reports whether Close was called.
func (s *Scheduler) Closed() bool { return s.closed.Load() }

// Spawn fills in n and starts it once its dependencies are done. args are
// the call's arguments, which the node copies (in place when they are few),
// so that the caller's slice never leaves its stack; deps name those that
// are other nodes' results, whose slots are filled in place. bad, when not
// nil, fails the node at once.
func (s *Scheduler) Spawn(n *Node, ctx context.Context, fn any, sig *call.Sig, args []any, deps []Dep, spec *Spec, bad error) {
	s.SpawnIn(nil, n, ctx, fn, sig, args, deps, spec, bad)
}

// SpawnOwned is Spawn with arguments that belong to the scheduler from now
// on: the node keeps args itself.
func (s *Scheduler) SpawnOwned(n *Node, ctx context.Context, fn any, sig *call.Sig, args []any, deps []Dep, spec *Spec, bad error) {
	s.spawnOwned(nil, n, ctx, fn, sig, args, deps, spec, bad)
}

// spawnOwned is SpawnOwned; with a batch, a node ready at once waits in it
// to be placed (Batch.Submit).
func (s *Scheduler) spawnOwned(b *Batch, n *Node, ctx context.Context, fn any, sig *call.Sig, args []any, deps []Dep, spec *Spec, bad error) {
	if spec == nil {
		spec = s.defaultSpec
	} else if spec.owner != s {
		own := *spec
		own.owner = s
		spec = &own
	}
	n.fn, n.sig, n.spec = fn, sig, spec
	n.args = args
	tc := spawnParent(ctx)
	switch {
	case ctx == context.Context(tc):
		n.group = tc.group
	default:
		if g, ok := ctx.Value(groupKey{}).(*Group); ok {
			n.group = g
		}
	}
	if tc != nil && tc.s == s {
		n.where.Store(int32(tc.proc.index + 1))
	}
	s.spawned[liveShard(n)].n.Add(1)
	if n.group != nil {
		n.group.add()
	}
	var spawnedAt int64 // the spawn's time in the event log, if it is on
	if l := s.events.Load(); logSites && l != nil {
		spawnedAt = l.spawn(n, deps, tc)
	}
	switch {
	case bad != nil:
	case s.closed.Load():
		bad = ErrClosed
	case ctx.Err() != nil:
		bad = canceledBy(ctx)
	default:
		bad = n.group.abortError(s)
	}
	if bad != nil {
		n.dropArgs()
		n.ctx = nil
		n.fail(bad)
		return
	}
	n.ctx = ctx
	// Written before the node is published to its inputs: a write after
	// that would share a cache line with the runners finishing them.
	n.endless = tc == nil && ctx.Done() == nil
	n.pending.Store(int32(len(deps)) + 1)
	for _, d := range deps {
		if d.Node.sched() != s && !n.foreign {
			n.foreign = true
			s.foreignMu.Lock()
			if s.foreign == nil {
				s.foreign = make(map[*Node]struct{})
			}
			s.foreign[n] = struct{}{}
			// Close reads the set after it marks the scheduler closed: a
			// node that joins it later must see the mark.
			closed := s.closed.Load()
			s.foreignMu.Unlock()
			if closed {
				n.dropArgs()
				n.ctx = nil
				n.fail(ErrClosed)
				return
			}
		}
	}
	for i, d := range deps {
		done, res, f := d.Node.addDependent(n, d.Arg)
		if !done {
			continue
		}
		if f != nil {
			// Dependencies after this one were never registered.
			n.pending.Add(-int32(len(deps) - i))
			n.finish(nil, f, nil)
			n.inputDone()
			return
		}
		n.deliver(d.Arg, res, d.Node, nil)
	}
	// The watch on the spawning context: ctx and tc, not the node's own
	// fields, since a failing input may end and release it meanwhile.
	if !n.endless && n.state.Load() != stateEnded {
		if tc != nil {
			tc.addChild(n)
		} else {
			s.watch(n, ctx)
		}
	}
	if n.pending.Add(-1) == 0 {
		if b != nil {
			n.readyAt(&b.ready, spawnedAt)
		} else {
			n.readyAt(nil, spawnedAt) // ready as it was spawned
		}
	}
}

// enqueue puts a queued node on a processor, starting it at once when the
// processor has room, or defers it (see Scheduler.starting).
func (s *Scheduler) enqueue(n *Node, hint *proc) { s.enqueueAt(n, hint, true) }

// enqueueAt is enqueue; mayDefer false never defers n. It reports whether
// it started a runner for n.
//
// It queues n on a processor without room only when none that n may use
// has room: placement reads room without locks, so the processor it chose
// may have been taken meanwhile (by another spawn, or a runner's steal),
// and then it chooses again. A node queued behind a task that blocks,
// while processors are free, would wait for that task; for ever if the
// task waits for the node.
func (s *Scheduler) enqueueAt(n *Node, hint *proc, mayDefer bool) bool {
	occ := n.occupancy()
	p := s.place(n, hint)
	p.mu.Lock()
	for !p.closed && !p.startsLocked(occ) {
		q := s.place(n, nil)
		if q == p || !q.roomFor(occ) {
			break
		}
		p.unlock()
		p = q
		p.mu.Lock()
	}
	if p.closed {
		p.unlock()
		n.fail(errClosedCanceled)
		return false
	}
	if p.startsLocked(occ) {
		if mayDefer && s.starting.Load() >= s.maxStarting {
			p.unlock()
			s.deferNode(n)
			return false
		}
		claimed := p.claimLocked(n)
		p.unlock()
		if claimed {
			p.goRun(n)
		}
		return claimed
	}
	p.pushLocked(n)
	p.unlock()
	s.helpIdle(p)
	if n.spec.Spill {
		if f := s.spillable.Load(); f != nil {
			(*f)()
		}
	}
	return false
}

// deferNode leaves n, which has room on a processor, to a runner on its
// way (see Scheduler.starting).
func (s *Scheduler) deferNode(n *Node) {
	s.deferMu.Lock()
	s.deferred = append(s.deferred, n)
	s.deferMu.Unlock()
	s.deferredN.Add(1)
	if s.starting.Load() < s.maxStarting {
		s.undefer()
	}
}

// popDeferred takes the first deferred node, if any.
func (s *Scheduler) popDeferred() *Node {
	if s.deferredN.Load() == 0 {
		return nil
	}
	s.deferMu.Lock()
	defer s.deferMu.Unlock()
	if len(s.deferred) == 0 {
		return nil
	}
	n := s.deferred[0]
	s.deferred[0] = nil
	s.deferred = s.deferred[1:]
	s.deferredN.Add(-1)
	return n
}

// undefer places the deferred nodes, without deferring them again, until
// one of them gets a runner of its own: that runner, as it begins, goes
// on (runnerStarted).
func (s *Scheduler) undefer() {
	for {
		n := s.popDeferred()
		if n == nil || s.enqueueAt(n, nil, false) {
			return
		}
	}
}

// runnerStarted is called by each runner as it begins: it is no longer on
// its way, and places the deferred nodes, if any.
func (s *Scheduler) runnerStarted() {
	s.starting.Add(-1)
	if s.deferredN.Load() > 0 {
		s.undefer()
	}
}

// helpIdle is called once a node waits for room on p: a processor that
// went idle meanwhile may have missed it, its runner having looked for
// waiting nodes before. Waiting first, then looking for an idle processor
// here, pairs with going idle, then looking for waiting nodes there
// (proc.next): one of the two sees the other, and the idle processor gets
// the node (or another waiting one).
func (s *Scheduler) helpIdle(p *proc) {
	if i, ok := s.idle.find(p.index); ok {
		if q := s.procs[i]; q != p {
			if m := q.steal(); m != nil {
				q.goRun(m)
			}
		}
	}
}

// place picks the processor for a ready node: the hint (where its input was
// computed, or where its spawner runs) when it has room, else an idle
// processor, else one with room (looking at a bounded number of them), else
// the hint, else the next allowed one in turn. Room is read without locks:
// placement is a heuristic, and runners with nothing to do steal.
func (s *Scheduler) place(n *Node, hint *proc) *proc {
	occ := n.occupancy()
	spec := n.spec
	if hint != nil && spec.allows(hint) && hint.roomFor(occ) {
		return hint
	}
	start := int(s.rr.Add(1))
	if spec.Procs == nil {
		if i, ok := s.idle.find(start % len(s.procs)); ok {
			return s.procs[i]
		}
		if occ < FullOccupancy {
			// No processor is idle: one that is partly used may have room.
			for i := range min(len(s.procs), maxPlaceProbes) {
				if p := s.procs[(start+i)%len(s.procs)]; p.roomFor(occ) {
					return p
				}
			}
		}
		if hint != nil {
			return hint
		}
		return s.procs[start%len(s.procs)]
	}
	for i := range spec.Procs {
		if p := s.procs[spec.Procs[(start+i)%len(spec.Procs)]]; p.roomFor(occ) {
			return p
		}
	}
	if hint != nil && spec.allows(hint) {
		return hint
	}
	return s.procs[spec.Procs[start%len(spec.Procs)]]
}

// maxPlaceProbes bounds the processors that place looks at for room, and
// maxStealProbes those that a steal looks at, so that the cost of a task
// does not grow with the number of processors.
const (
	maxPlaceProbes = 64
	maxStealProbes = 64
)

func (s *Scheduler) forgetForeign(n *Node) {
	s.foreignMu.Lock()
	delete(s.foreign, n)
	s.foreignMu.Unlock()
}

// taskDone counts n released.
func (s *Scheduler) taskDone(n *Node) {
	s.released[liveShard(n)].n.Add(1)
	if s.closed.Load() {
		s.notifyDrained()
	}
}

// drainWaiter is a Close waiting until at most slack nodes are live: the
// nodes that its own goroutine executes, which cannot end before it returns.
type drainWaiter struct {
	slack int64
	done  chan struct{}
}

// notifyDrained wakes the Close calls whose wait is over.
func (s *Scheduler) notifyDrained() {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	if len(s.drainWaiters) == 0 {
		return
	}
	live := s.liveTotal()
	kept := s.drainWaiters[:0]
	for _, w := range s.drainWaiters {
		if live <= w.slack {
			close(w.done)
			continue
		}
		kept = append(kept, w)
	}
	clear(s.drainWaiters[len(kept):])
	s.drainWaiters = kept
}

// Close fails the queued nodes, cancels the running ones, and returns once
// every node of the scheduler has been released, but for the ones that the
// calling goroutine executes: Close called from a task's f does not wait
// for that task (nor for the tasks that run it inline). Nodes spawned
// afterwards fail with ErrClosed. Close may be called any number of times,
// from anywhere; each call waits as the first does.
func (s *Scheduler) Close() {
	w := drainWaiter{slack: int64(executingHere()), done: make(chan struct{})}
	s.drainMu.Lock()
	s.drainWaiters = append(s.drainWaiters, w)
	s.drainMu.Unlock()
	if !s.closed.Swap(true) {
		s.cancelAll()
	}
	s.notifyDrained()
	<-w.done
}

// cancelAll stops every processor, fails the queued nodes and the nodes
// that wait for another scheduler's, and cancels the running ones.
func (s *Scheduler) cancelAll() {
	var queued, running []*Node
	for _, p := range s.procs {
		p.mu.Lock()
		p.closed = true
		queued = append(queued, p.queue.drain()...)
		running = append(running, p.running...)
		p.unlock()
	}
	s.foreignMu.Lock()
	for n := range s.foreign {
		queued = append(queued, n)
	}
	s.foreignMu.Unlock()
	// Interrupts all: a node may have been claimed since it was read.
	for _, n := range queued {
		n.interrupt(errClosedCanceled)
	}
	for _, n := range running {
		n.interrupt(errClosedCanceled)
	}
}

// executingHere counts the nodes that the calling goroutine is executing:
// a runner's, and those it runs inline inside it. They are all of one
// scheduler, since only a scheduler's own nodes are run inline, but not
// necessarily of the one that Close is called on: a task of another
// scheduler that closes this one makes Close leave as many of this one's
// nodes as it counts. Go gives no goroutine an
// identity, so they are counted on its stack, as calls of execute; only
// Close asks. (runtime.Callers, unlike a printed stack, leaves out no frame
// of a deep one.)
func executingHere() int {
	pcs := make([]uintptr, 256)
	for {
		n := runtime.Callers(2, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	count := 0
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function == executeName {
			count++
		}
		if !more {
			return count
		}
	}
}

var executeName = runtime.FuncForPC(reflect.ValueOf((*Scheduler).execute).Pointer()).Name()
