package sched

import (
	"context"
	"reflect"
	"sync"
)

// A node spawned with a context that can end, and that is not a task's,
// is cancelled when that context ends. A context.AfterFunc per node would
// do it, at three allocations and about as much time as the rest of the
// spawn; instead the nodes spawned with the same context share one watch
// on it, a ctxWatch, which the scheduler keeps while the context has
// nodes that have not ended. (A task's context has its children in a list
// of its own: see taskContext.addChild.)
//
// Locks: a watch shard's mu, then a watch's mu, then a node's mu; a node
// is linked into its watch's list (Node.sibPrev, sibNext, which only the
// children of task contexts use otherwise) under the watch's mu.

// watchHook, when set (by tests only), is called as a node goes to join
// its watch.
var watchHook func(n *Node)

// watchShards spreads the watches of a scheduler over that many maps, so
// that goroutines spawning with different contexts seldom share a lock.
const watchShards = 8

// watchShard holds the watches of some contexts.
type watchShard struct {
	mu sync.Mutex
	m  map[context.Context]*ctxWatch
}

// ctxWatch cancels its nodes when ctx ends.
type ctxWatch struct {
	ctx   context.Context
	shard *watchShard // where it is kept; nil for a context that cannot be a key
	stop  func() bool // the AfterFunc's

	mu      sync.Mutex
	nodes   *Node // the nodes not yet ended, through sibNext
	fired   bool  // ctx has ended: a node that comes now is cancelled at once
	retired bool  // out of its shard: no node joins it any more
}

// watch makes n, spawned with ctx, which can end and is not a task's
// context, end cancelled when ctx does, unless n ends first.
func (s *Scheduler) watch(n *Node, ctx context.Context) {
	if watchHook != nil {
		watchHook(n)
	}
	key, ok := watchKey(ctx)
	if !ok {
		// == on it might panic: a watch of its own.
		w := &ctxWatch{ctx: ctx}
		// fire may run at once, on a goroutine of its own, and retire w,
		// which reads stop under w.mu.
		w.mu.Lock()
		w.stop = context.AfterFunc(ctx, w.fire)
		w.mu.Unlock()
		live, linked := w.join(n)
		w.after(n, live, linked)
		return
	}
	sh := &s.watches[key%watchShards]
	sh.mu.Lock()
	w := sh.m[ctx]
	if w == nil {
		if sh.m == nil {
			sh.m = make(map[context.Context]*ctxWatch)
		}
		w = &ctxWatch{ctx: ctx, shard: sh}
		// If ctx has ended, fire runs at once, on a goroutine of its own:
		// it waits for sh.mu to retire the watch.
		w.stop = context.AfterFunc(ctx, w.fire)
		sh.m[ctx] = w
	}
	live, linked := w.join(n)
	sh.mu.Unlock()
	w.after(n, live, linked)
}

// after is what follows n's join of w, once no lock is held: n is
// cancelled if ctx had ended; and if n is not in w, the spawn retires w
// (unless other nodes are in it), so that w is gone once n is: fire may
// have found no node in it, or n ended before it could join the watch
// made for it, and no node will leave it.
func (w *ctxWatch) after(n *Node, live, linked bool) {
	if !live {
		n.Cancel(canceledBy(w.ctx))
	}
	if !linked {
		w.retire()
	}
}

// watchKey returns the address of ctx, when ctx is a pointer (the standard
// library's contexts are): the context can then be a map key, and the
// address spreads it over the shards.
func watchKey(ctx context.Context) (uintptr, bool) {
	v := reflect.ValueOf(ctx)
	if v.Kind() != reflect.Pointer {
		return 0, false
	}
	return v.Pointer() >> 4, true
}

// join links n into w, unless ctx has ended (live is false: the caller
// cancels n) or n has; linked says whether it did.
func (w *ctxWatch) join(n *Node) (live, linked bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired {
		return false, false
	}
	n.mu.Lock()
	if n.state.Load() == stateEnded {
		n.mu.Unlock()
		return true, false // its end did not see a watch: nothing to leave
	}
	n.watch = w
	n.mu.Unlock()
	pushSibling(&w.nodes, n)
	return true, true
}

// leave unlinks n, which has ended, from w; the last node to leave
// retires w.
func (w *ctxWatch) leave(n *Node) {
	w.mu.Lock()
	unlinkSibling(&w.nodes, n)
	empty := w.nodes == nil
	w.mu.Unlock()
	if empty {
		w.retire()
	}
}

// fire is the AfterFunc: ctx has ended. It cancels the nodes, which leave
// as they end; with none, it retires w itself.
func (w *ctxWatch) fire() {
	w.mu.Lock()
	w.fired = true
	var ns []*Node
	for n := w.nodes; n != nil; n = n.sibNext {
		ns = append(ns, n)
	}
	w.mu.Unlock()
	err := canceledBy(w.ctx)
	for _, n := range ns {
		n.Cancel(err)
	}
	if len(ns) == 0 {
		w.retire()
	}
}

// retire takes w, which has no nodes, out of its shard and stops it,
// unless a node joined it meanwhile. Out of the shard, no node joins it.
//
// It stops w with no lock held: stop runs the methods of the context,
// which is the program's.
func (w *ctxWatch) retire() {
	sh := w.shard
	if sh != nil {
		sh.mu.Lock()
	}
	w.mu.Lock()
	done := w.nodes != nil || w.retired // in use, or retired already
	if !done {
		w.retired = true
	}
	stop := w.stop
	w.mu.Unlock()
	if sh != nil {
		if !done && sh.m[w.ctx] == w {
			delete(sh.m, w.ctx)
		}
		sh.mu.Unlock()
	}
	if !done {
		stop()
	}
}
