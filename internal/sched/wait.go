package sched

import (
	"context"
	"fmt"
)

// maxInlineDepth bounds how many tasks one goroutine runs inline, one inside
// the other. Past it, the waiting task waits as usual and the target gets a
// runner of its own: a recursion of any depth then spreads its frames over
// goroutines of at most this many levels each, instead of outgrowing the
// largest stack that Go allows one goroutine.
const maxInlineDepth = 256

// Wait is how anything waits for target to end: Task.Wait and Fetch call it
// (Sync and Compute wait for a group with Blocking). It returns nil once
// target has ended, or ctx.Err() if ctx ends first.
//
// Inside a task (ctx is, or carries, the context of a task whose f is
// running), the task gives its share of the processor back while it waits,
// and takes it back afterwards, first in line. When target is queued on the
// same processor and is a child of ctx (spawned with it), the task runs it
// itself, on its own goroutine, instead of waiting for a runner to pick it
// up: this is what makes nested spawning cheap, since a task that spawns
// its halves and fetches them runs them like plain calls unless an idle
// processor took them first. Only children are run so: when ctx ends, they
// are cancelled with it, so a wait never outlasts its context by more than
// the time a child takes to notice its own. And under a deadline, only
// children that take a context, and so can notice.
func Wait(ctx context.Context, target *Node) error {
	if target.Settled() {
		return nil
	}
	var (
		n *Node
		p *proc
	)
	if tc := fromContext(ctx); tc != nil {
		if n = tc.node.Load(); n != nil {
			if n == target {
				return fmt.Errorf("task %d (%s) waits for itself, which would never end", n.ID(), n.Name())
			}
			p = tc.proc
			switch p.waitInline(ctx, tc, n, target) {
			case ranInline:
				return nil
			case notBlocked:
				p = nil
			}
		}
	}
	var done <-chan struct{}
	if tc, ok := ctx.(*taskContext); ok {
		done = tc.engineWait()
		defer tc.engineWaitOver()
	} else {
		done = ctx.Done()
	}
	var err error
	select {
	case <-target.Done():
	case <-done:
		if !target.Settled() {
			err = ctx.Err()
		}
	}
	if p != nil {
		p.unblock(n)
	}
	return err
}

type inlineResult int

const (
	notBlocked inlineResult = iota // n holds its share: the caller waits as is
	blocked                        // n gave its share back: the caller waits, then unblocks n
	ranInline                      // target has ended, and n holds its share again
)

// waitInline blocks n, the running task of tc on p, for a wait on target,
// and runs target inline when it may (see Wait).
func (p *proc) waitInline(ctx context.Context, tc *taskContext, n, target *Node) inlineResult {
	mayInline := target.state.Load() == stateQueued && target.sched() == p.s &&
		target.spec.allows(p) && spawnParent(ctx) == tc && tc.depth < maxInlineDepth &&
		// A wait that has a deadline must return by it: a child that takes
		// no context cannot be told to stop, so it gets a runner of its own.
		(tc.deadline.IsZero() || target.sig.TakesCtx)
	p.mu.Lock()
	if !n.onProc {
		// A goroutine of f that outlived it: the runner is done with n.
		p.unlock()
		return notBlocked
	}
	p.blockLocked(n)
	// target is queued, maybe on another processor: its spec's occupancy
	// is its own until a claim (Spill's or this one) makes it someone's.
	claimed := mayInline && !p.closed && len(p.waiters) == 0 && p.fits(target.spec.Occupancy) && p.claimLocked(target)
	launch := p.admitLocked()
	p.unlock()
	p.launch(launch)
	if !claimed {
		return blocked
	}
	// The claim makes target ours to run, so its context may be read.
	if spawnParent(target.ctx) != tc {
		p.goRun(target)
		return blocked
	}
	p.runInline(n, target, tc.depth+1)
	return ranInline
}

// runInline executes target, which p claimed for n's wait, on this
// goroutine, then lets n take its share back.
func (p *proc) runInline(n, target *Node, depth int32) {
	completed := false
	defer func() {
		if completed {
			return
		}
		// target's f called runtime.Goexit, which ends this goroutine and
		// so n's f, which waits for target: n fails with target's failure,
		// as it would have had f returned the error of its wait, and n's
		// runner, further up this goroutine, releases it.
		p.s.abandon(target)
		_, f := target.Outcome()
		p.mu.Lock()
		p.stopLocked(target)
		if n.blocked--; n.blocked == 0 {
			// n holds nothing, and takes nothing again: its runner, dying
			// too, stops it.
			n.shareFreed = true
		}
		launch := p.admitLocked()
		p.unlock()
		p.launch(launch)
		n.finish(nil, f, nil)
	}()
	var buf [4]*Node
	readied := buf[:0]
	p.s.execute(p, target, &readied, depth)
	completed = true

	p.mu.Lock()
	p.stopLocked(target)
	// The tasks a task spawns wait on its own processor while it runs: what
	// it ran inline is at the end of that queue.
	p.queue.trimTail(target.spec.Priority)
	wait := p.unblockLocked(n)
	launch := p.admitLocked()
	p.unlock()
	p.launch(launch)
	for _, m := range readied {
		m.sched().enqueue(m, m.hintFor(p))
	}
	if wait != nil {
		<-wait
	}
}

// hintFor returns p as a placement hint if the node may use it.
func (n *Node) hintFor(p *proc) *proc {
	if p.s == n.sched() {
		return p
	}
	return nil
}

// Blocking is called before a wait for something other than one node (a
// group) inside a task's f: when ctx carries the context of a running task,
// the task's share of its processor is given back until the returned
// function is called.
func Blocking(ctx context.Context) (resume func()) {
	tc := fromContext(ctx)
	if tc == nil {
		return noop
	}
	n := tc.node.Load()
	if n == nil || n.occupancy() == 0 {
		return noop
	}
	if !tc.proc.block(n) {
		return noop
	}
	return func() { tc.proc.unblock(n) }
}

func noop() {}

// GiveUpShare gives back, for good, the share of its processor that the
// running task ctx was handed to holds: the rest of its f runs without
// taking room, as a task that waits for another worker should. It does
// nothing outside a task.
func GiveUpShare(ctx context.Context) {
	tc := fromContext(ctx)
	if tc == nil {
		return
	}
	if n := tc.node.Load(); n != nil {
		tc.proc.interrupted(n)
	}
}
