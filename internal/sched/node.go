package sched

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/dagr/dagr/internal/call"
)

// The life of a node (the engine's rules; see also proc for the room of a
// processor, and the locks below):
//
//	waiting --(last input)--> queued --(claimed)--> running --(end)--> ended
//	   \______________________(end)____________________________/
//
// Waiting: Spawn made it, and its inputs are being delivered (pending
// counts them, plus one while Spawn runs). Whoever delivers the last input
// moves it to queued and puts it on a processor (Scheduler.enqueue).
//
// Queued: it is in a processor's ready queue, or deferred (it had room on
// a processor while enough runners were on their way: Scheduler.starting),
// or in a runner's hands about to be put in one of those. A processor
// claims it (proc.claimLocked, the only move from queued to running) when
// it has room: for a runner, a steal, or a task that waits for it and runs
// it inline (Wait). A node waits in the queue of a processor without room
// only while no processor that it may use has room (Scheduler.enqueueAt,
// helpIdle).
//
// Running: its claimer executes it (Scheduler.execute: Restore, f with its
// retries and timeouts, Checkpoint) and it holds its share of the
// processor.
//
// Ended: final. end() is the only way in, under n.mu, once; it records the
// outcome, closes done and hands the dependents to its caller to notify. A
// node may end while its f still runs (Cancel, its spawning context, a
// Timeout on the last try, Close, a group's abort): such an interrupt gives
// the node's share back at once (proc.freeShareLocked), and the runner drops
// what f returns.
//
// Release (Node.release) comes once after the end, when no f of the node
// runs: from end() itself when the node was not running, else from its
// runner once execute returns. It drops the spawning context and counts the
// node out of its group and out of its scheduler's live nodes.
//
// Locks: Node.mu guards dependents, done, result, tc and watch; the
// scheduler's deferMu guards its deferred nodes; a
// processor's mu guards its queue, waiters and running list, and the
// blocked, runIdx, onProc, holds, reacquiring and shareFreed fields of the
// nodes it runs; a task
// context's mu guards its children (their sibling links) and listeners,
// and a context watch's mu its nodes (their sibling links: see ctxWatch).
// Locks nest in two places only. watchParentLocked takes the parent task
// context's mu under the child's, so the order is child before parent. A
// node joins its context's watch under the watch shard's mu, then the
// watch's, then its own (ctxWatch.join). No other of these locks is held
// while another is taken.
const (
	stateWaiting uint32 = iota
	stateQueued
	stateRunning
	stateEnded
)

var nextID atomic.Uint64

// closedChan is handed out by Done for nodes that ended before anyone asked.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// edge is a dependent waiting for this node's result as its argument arg.
type edge struct {
	n   *Node
	arg int
}

// edges are a node's dependents: most nodes have two at most, kept inline;
// the others go in chunks of a few, one allocation each.
type edges struct {
	first, second edge
	more          *edgeChunk
}

type edgeChunk struct {
	e    [3]edge
	n    int
	next *edgeChunk
}

func (e *edges) add(x edge) {
	switch {
	case e.first.n == nil:
		e.first = x
	case e.second.n == nil:
		e.second = x
	case e.more == nil || e.more.n == len(e.more.e):
		e.more = &edgeChunk{e: [3]edge{x}, n: 1, next: e.more}
	default:
		e.more.e[e.more.n] = x
		e.more.n++
	}
}

// each calls f for every dependent.
func (e edges) each(f func(edge)) {
	if e.first.n == nil {
		return
	}
	f(e.first)
	if e.second.n == nil {
		return
	}
	f(e.second)
	for c := e.more; c != nil; c = c.next {
		for _, x := range c.e[:c.n] {
			f(x)
		}
	}
}

// appendTo appends every dependent to work.
func (e edges) appendTo(work []edge) []edge {
	e.each(func(x edge) { work = append(work, x) })
	return work
}

// Dep says that argument Arg of a spawned call is the result of Node. An
// Arg of After says that the node runs after Node, taking nothing from it:
// it waits for Node's end, and fails if Node fails.
type Dep struct {
	Arg  int
	Node *Node
}

// After is the Arg of a Dep that orders two nodes, with no value between
// them.
const After = -1

// Node is one task: a call f(args...) whose arguments may be other nodes'
// results. The zero Node is ready for Spawn, which fills it in place, so
// that the public handle and the node are one allocation.
type Node struct {
	id    atomic.Uint64 // given on first use: most tasks never need one
	fn    any
	sig   *call.Sig
	args  []any
	spec  *Spec
	group *Group

	// ctx is the spawning context, until the node is released.
	ctx context.Context

	pending atomic.Int32  // inputs not yet delivered, plus one while Spawn runs
	state   atomic.Uint32 // stateWaiting ... stateEnded

	// Guarded by proc.mu of the processor it runs on.
	blocked     int32 // goroutines of f waiting in Fetch/Wait/Sync
	runIdx      int32 // index in proc.running
	onProc      bool  // claimed and not yet stopped by its runner
	holds       bool  // holds its share of the processor
	reacquiring bool  // its waits are over, and it waits in proc.waiters for room
	shareFreed  bool  // interrupted while running: it holds no share, and takes none again
	spilled     bool  // started by Spill: it takes no share (set once, by its claim)

	foreign bool // waits for a node of another scheduler (see Scheduler.foreign); set in Spawn
	linked  bool // is a child of its spawning task context, guarded by that context's mu
	endless bool // the spawning context can never end (its Done is nil); set in Spawn
	// where is, until the node runs, 1 + the index of the processor of the
	// task that spawned it, or 0: a node readied outside a runner starts
	// there if it has room. From its claim on, it is -(1 + the index) of
	// the processor it runs on, for an interrupt to find it.
	where atomic.Int32

	// When spawned with a task's context (ctx is then a *taskContext), the
	// node is one of that context's children, linked through
	// sibPrev/sibNext under its mu, so that cancelling the context cancels
	// it at no cost per child.
	sibPrev, sibNext *Node

	inline [2]any // the arguments, when the node owns them and they are few

	mu         sync.Mutex
	dependents edges
	done       chan struct{}
	result     any          // the result, or the *Failure of a failed node
	tc         *taskContext // the running try's context
	watch      *ctxWatch    // the watch on a spawning context that is not a task's
}

// ID is the task's process-unique id, given when first asked for.
func (n *Node) ID() uint64 {
	if id := n.id.Load(); id != 0 {
		return id
	}
	if n.id.CompareAndSwap(0, nextID.Add(1)) {
		return n.id.Load()
	}
	return n.id.Load()
}

// NewID returns a fresh id from the sequence that tasks' ids come from, for
// things that name tasks (a lazy thunk) to share it.
func NewID() uint64 { return nextID.Add(1) }

// SetIDBase makes the ids given from now on greater than base: a worker
// gives its tasks ids in a space of its own (wire.TaskID), so that they
// never meet those of another process.
func SetIDBase(base uint64) {
	for {
		old := nextID.Load()
		if old >= base || nextID.CompareAndSwap(old, base) {
			return
		}
	}
}

// SetID gives a node that Spawn has not filled in yet the id it will have.
func (n *Node) SetID(id uint64) { n.id.Store(id) }

// Name is the task's name: Options.Name, else the function's name.
func (n *Node) Name() string {
	if n.spec != nil && n.spec.Name != "" {
		return n.spec.Name
	}
	return call.Name(n.fn)
}

// sched is the node's scheduler.
func (n *Node) sched() *Scheduler { return n.spec.owner }

// Owner is the Config.Owner of the node's scheduler, or nil for a node
// that Spawn did not fill in.
func (n *Node) Owner() any {
	if n.spec == nil {
		return nil
	}
	return n.sched().Owner()
}

// Ref is the id of the task in another process that the node is a handle
// of (see Spec.Ref), or 0.
func (n *Node) Ref() uint64 {
	if n.spec == nil {
		return 0
	}
	return n.spec.Ref
}

// Fn is the node's function.
func (n *Node) Fn() any { return n.fn }

// hintProc is the processor the node's spawner ran on, if any.
func (n *Node) hintProc() *proc {
	if w := n.where.Load(); w > 0 {
		return n.sched().procs[w-1]
	}
	return nil
}

// runningOn is the processor the node was claimed by, or nil if it has not
// been (or the claim has not got that far: see proc.claimLocked).
func (n *Node) runningOn() *proc {
	if w := n.where.Load(); w < 0 {
		return n.sched().procs[-w-1]
	}
	return nil
}

// Thread returns the processor, from 1, that claimed the node to run it,
// or 0 if none has (yet).
func (n *Node) Thread() int {
	if w := n.where.Load(); w < 0 {
		return int(-w)
	}
	return 0
}

// Ended reports whether the node has ended, failed or not.
func (n *Node) Ended() bool { return n.state.Load() == stateEnded }

// Settled reports whether the node has ended and its end is recorded: the
// event log's finish, which end() writes under n.mu after the state says
// ended, is in the log for a caller that reads it next (a Wait that
// returns at once, then a read of the log, must find it). With the log
// off, it is Ended.
func (n *Node) Settled() bool {
	if n.state.Load() != stateEnded {
		return false
	}
	if logSites && n.spec.owner.events.Load() != nil {
		// end() holds n.mu from the state's change until after its log.
		n.mu.Lock()
		//lint:ignore SA2001 an empty critical section waits for end()
		n.mu.Unlock()
	}
	return true
}

// Done returns a channel closed when the node ends.
func (n *Node) Done() <-chan struct{} {
	if n.Settled() {
		return closedChan
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil {
		if n.state.Load() == stateEnded {
			return closedChan
		}
		n.done = make(chan struct{})
	}
	return n.done
}

// Outcome returns the result or the failure of an ended node.
func (n *Node) Outcome() (any, *Failure) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return outcome(n.result)
}

func outcome(r any) (any, *Failure) {
	if f, ok := r.(*Failure); ok {
		return nil, f
	}
	return r, nil
}

// Cancel fails the node with err (which should wrap context.Canceled) unless
// it has ended; a running f sees its context cancelled.
func (n *Node) Cancel(err error) {
	if n.spec == nil {
		return // the zero Task: never spawned
	}
	n.interrupt(err)
}

// Spawned reports whether Spawn filled n in: false for the zero Node.
func (n *Node) Spawned() bool { return n.spec != nil }

// interrupt fails the node from outside its runner (Cancel, a Timeout, a
// group's abort, Close): a running node gives its share back at once.
func (n *Node) interrupt(err error) {
	if prev, ok := n.finish(nil, n.failure(err), nil); ok && prev == stateRunning {
		if p := n.runningOn(); p != nil {
			p.interrupted(n)
		}
	}
}

func (n *Node) failure(err error) *Failure {
	return &Failure{Origin: n.ID(), OriginName: n.Name(), Err: err, Flows: n.spec.ErrorsFlow}
}

func (n *Node) fail(err error) bool {
	_, ok := n.finish(nil, n.failure(err), nil)
	return ok
}

// end records the outcome unless the node has ended, and hands back the
// dependents, which are the caller's to notify.
func (n *Node) end(res any, f *Failure) (_ edges, prev uint32, ok bool) {
	n.mu.Lock()
	// A runner may move the node from queued to running without n.mu: the
	// state's last value before ended decides who releases the node.
	var ptc *taskContext
	for {
		prev = n.state.Load()
		if prev == stateEnded {
			n.mu.Unlock()
			return edges{}, prev, false
		}
		// Read before the node ends: once it has, it may be released.
		ptc = spawnParent(n.ctx)
		if n.state.CompareAndSwap(prev, stateEnded) {
			break
		}
	}
	n.result = res
	if f != nil {
		n.result = f
	}
	if n.spec != nil {
		if f != nil {
			n.spec.owner.countEnd(f)
		}
		n.spec.owner.logFinish(n, f)
	}
	deps := n.dependents
	n.dependents = edges{}
	if n.done != nil {
		close(n.done)
	}
	w, tc := n.watch, n.tc
	n.watch = nil
	n.mu.Unlock()

	if w != nil {
		w.leave(n)
	}
	if ptc != nil {
		ptc.removeChild(n)
	}
	if f != nil && tc != nil {
		tc.cancelWith(f.Err)
	}
	// A failure aborts the group of a node that aborts groups when the node
	// is its origin, or when its origin does not let it flow (an eager task,
	// say, whose result the node took).
	if f != nil && n.group != nil && n.spec.AbortsGroup && (!f.Flows || f.Origin == n.ID()) {
		n.group.Abort(n.sched(), Failed{Task: n.ID(), Name: n.Name(), Failure: f})
	}
	if prev == stateQueued {
		// Every input arrived, and no runner will read them now.
		n.dropArgs()
	}
	if prev != stateRunning {
		n.release()
	}
	return deps, prev, true
}

// finish ends the node and passes its outcome downstream: a result to each
// dependent (collecting those it readies into readied, or queueing them when
// readied is nil), a failure to every node below, at once and without
// recursion.
func (n *Node) finish(res any, f *Failure, readied *[]*Node) (prev uint32, ok bool) {
	deps, prev, ok := n.end(res, f)
	if !ok {
		return prev, false
	}
	if f == nil {
		if d := deps.first; d.n != nil {
			d.n.deliver(d.arg, res, n, readied)
		}
		if d := deps.second; d.n != nil {
			d.n.deliver(d.arg, res, n, readied)
		}
		for c := deps.more; c != nil; c = c.next {
			for _, d := range c.e[:c.n] {
				d.n.deliver(d.arg, res, n, readied)
			}
		}
		return prev, true
	}
	failAll(deps, f)
	return prev, true
}

// failAll fails every node below deps with f, with a worklist rather than
// recursion, so that a chain of any length fails at once.
func failAll(deps edges, f *Failure) {
	if deps.first.n == nil {
		return
	}
	work := deps.appendTo(nil)
	for len(work) > 0 {
		e := work[len(work)-1]
		work = work[:len(work)-1]
		if more, _, ok := e.n.end(nil, f); ok {
			work = more.appendTo(work)
		}
		e.n.inputDone()
	}
}

// release is called once, when the node has ended and no f of it runs.
func (n *Node) release() {
	if n.foreign {
		n.sched().forgetForeign(n)
	}
	if n.group != nil {
		n.group.done(n)
	}
	n.ctx = nil
	n.sched().taskDone(n)
}

// deliver gives the node the result of the node from as its argument arg.
func (n *Node) deliver(arg int, v any, from *Node, readied *[]*Node) {
	if n.state.Load() == stateEnded {
		n.inputDone()
		return
	}
	if arg == After {
		if n.pending.Add(-1) == 0 {
			n.ready(readied)
		}
		return
	}
	if !n.sig.Fits(arg, v) && !fitsRemote(n.sig, arg, v) {
		n.fail(n.sig.Accepts(n.fn, n.spec.Name, arg, v, from.ID()))
		n.inputDone()
		return
	}
	n.args[arg] = v
	if n.pending.Add(-1) == 0 {
		n.ready(readied)
	}
}

// inputDone counts an input that will not be used; the last one frees the
// arguments of a node that ended without running.
func (n *Node) inputDone() {
	if n.pending.Add(-1) == 0 {
		n.dropArgs()
	}
}

func (n *Node) dropArgs() {
	n.args = nil
	n.inline = [2]any{}
}

// ready moves a node whose inputs have all arrived to a processor.
func (n *Node) ready(readied *[]*Node) { n.readyAt(readied, 0) }

// readyAt is ready, for a node that the log says was ready at the time at
// (see eventLog.now), if not 0.
func (n *Node) readyAt(readied *[]*Node, at int64) {
	if !n.state.CompareAndSwap(stateWaiting, stateQueued) {
		n.dropArgs()
		return
	}
	n.spec.owner.logReady(n, at)
	if readied != nil {
		*readied = append(*readied, n)
		return
	}
	n.sched().enqueue(n, n.hintProc())
}

// addDependent registers d as waiting for n's result as its argument arg,
// unless n has ended, in which case its outcome is returned.
func (n *Node) addDependent(d *Node, arg int) (done bool, res any, f *Failure) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state.Load() == stateEnded {
		res, f := outcome(n.result)
		return true, res, f
	}
	n.dependents.add(edge{d, arg})
	return false, nil, nil
}

// pushSibling links n at the head of the list at *head, through the
// nodes' sibling links: the children of a task context, or the nodes of a
// context watch. The caller holds the lock that guards the list.
func pushSibling(head **Node, n *Node) {
	n.sibPrev, n.sibNext = nil, *head
	if *head != nil {
		(*head).sibPrev = n
	}
	*head = n
}

// unlinkSibling unlinks n from the list at *head (see pushSibling).
func unlinkSibling(head **Node, n *Node) {
	if n.sibPrev != nil {
		n.sibPrev.sibNext = n.sibNext
	} else {
		*head = n.sibNext
	}
	if n.sibNext != nil {
		n.sibNext.sibPrev = n.sibPrev
	}
	n.sibPrev, n.sibNext = nil, nil
}

func (n *Node) occupancy() uint32 {
	if n.spilled {
		return 0
	}
	return n.spec.Occupancy
}
