package dagr

import (
	"context"
	"sync"
	"sync/atomic"
)

// Task queues are Dagger's spawn_bulk and spawn_sequential: a block of
// code whose spawns are held until it ends, or run one after another.
// A block's context carries its queue; Spawn with that context hands the
// spawn to the queue, which gives it to the enclosing block's queue, or
// to the scheduler, in its own time.

// queueKey is the context key of a block's queue.
type queueKey struct{}

// queuesUsed is set once any block has begun: until then, a spawn does not
// look for a queue, and pays nothing.
var queuesUsed atomic.Bool

// queued is a spawn that a queue holds or passes on: f(args...) on s with
// ctx, after the tasks of after.
type queued struct {
	s     *Scheduler
	ctx   context.Context
	f     any
	args  []any
	after []*Task
}

// queue is where the spawns of a block go.
type queue interface {
	// put makes t the task of q, now or when the block ends.
	put(t *Task, q queued)
	// putGroup is put for the spawns of a bulk block that ended: they go
	// together.
	putGroup(ts []*Task, qs []queued)
	// hide returns ctx, a context of the block, as the block's tasks see
	// it: without the block's queue.
	hide(ctx context.Context) context.Context
}

// queueBlock is what the queues of blocks share: the block's context, and that
// context as its tasks see it, made once.
type queueBlock struct {
	ctx    context.Context
	hidden context.Context // an unqueued, boxed once
}

func (b *queueBlock) hide(ctx context.Context) context.Context {
	if ctx == b.ctx { // a pointer (context.WithValue's): == cannot panic
		return b.hidden
	}
	return unqueued{ctx}
}

// newBlock gives b the context of a block with queue q, derived from ctx.
func newBlock(b *queueBlock, ctx context.Context, q queue) context.Context {
	b.ctx = context.WithValue(ctx, queueKey{}, q)
	b.hidden = unqueued{b.ctx}
	return b.ctx
}

func queueOf(ctx context.Context) (queue, bool) {
	if ctx == nil {
		return nil, false
	}
	q, ok := ctx.Value(queueKey{}).(queue)
	return q, ok
}

// unqueued hides the queue of a block from the tasks spawned in it: what a
// task spawns with the context it was handed is not part of the block
// (as in Dagger).
type unqueued struct{ context.Context }

func (c unqueued) Value(key any) any {
	if _, ok := key.(queueKey); ok {
		return nil
	}
	return c.Context.Value(key)
}

// direct is the queue outside any block: the scheduler.
type direct struct{}

func (direct) put(t *Task, q queued) { q.s.spawnNow(t, q.ctx, q.f, q.args, q.after) }

func (direct) hide(ctx context.Context) context.Context { return unqueued{ctx} }

func (d direct) putGroup(ts []*Task, qs []queued) {
	for i := range ts {
		d.put(ts[i], qs[i])
	}
}

func parentQueue(ctx context.Context) queue {
	if q, ok := queueOf(ctx); ok {
		return q
	}
	return direct{}
}

// SpawnBulk runs body, and holds the tasks that body spawns with the
// context it is handed (or one derived from it) until body returns; then
// they are submitted together, in the order of their spawns (Dagger's
// spawn_bulk). Their handles are returned at once, and may be passed to
// other spawns of the block, but not waited for inside it: a Wait or Fetch
// of a task held by the block returns an error at once, since it would
// wait forever.
//
// The tasks are submitted when body returns, whatever it returns, and
// SpawnBulk returns body's error. Blocks nest: the tasks of a block inside
// a SpawnBulk are held until the outer block ends; inside a
// SpawnSequential, they run together, after the task before the block,
// and the tasks after it run after all of them. The tasks that a held
// task spawns are not part of the block.
func SpawnBulk(ctx context.Context, body func(ctx context.Context) error) error {
	ctx = orBackground(ctx)
	b := &bulk{parent: parentQueue(ctx)}
	queuesUsed.Store(true)
	defer b.end()
	return body(newBlock(&b.queueBlock, ctx, b))
}

// bulk is the queue of a SpawnBulk block.
type bulk struct {
	queueBlock
	parent queue
	mu     sync.Mutex
	ended  bool
	tasks  []*Task
	spawns []queued
}

func (b *bulk) put(t *Task, q queued) {
	b.mu.Lock()
	if !b.ended {
		b.tasks, b.spawns = append(b.tasks, t), append(b.spawns, q)
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	b.parent.put(t, q) // a spawn with the queueBlock's context after it ended
}

func (b *bulk) putGroup(ts []*Task, qs []queued) {
	b.mu.Lock()
	if !b.ended {
		b.tasks, b.spawns = append(b.tasks, ts...), append(b.spawns, qs...)
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	b.parent.putGroup(ts, qs) // a spawn with the queueBlock's context after it ended
}

// end submits the block's tasks, as one group.
func (b *bulk) end() {
	b.mu.Lock()
	b.ended = true
	ts, qs := b.tasks, b.spawns
	b.tasks, b.spawns = nil, nil
	b.mu.Unlock()
	if len(ts) > 0 {
		b.parent.putGroup(ts, qs)
	}
}

// SpawnSequential runs body, and makes each task that body spawns with
// the context it is handed (or one derived from it) run after the task
// spawned before it ended, taking nothing from it (Dagger's
// spawn_sequential): they run one at a time, in the order of their
// spawns, even where their options would let them run together. A task
// whose predecessor failed fails too, as downstream of it. The group of
// tasks of a SpawnBulk block inside counts as one step: its tasks run
// together, after the task before, and the task after runs after all of
// them. SpawnSequential returns body's error once body has returned; it
// does not wait for the tasks.
func SpawnSequential(ctx context.Context, body func(ctx context.Context) error) error {
	ctx = orBackground(ctx)
	q := &sequence{parent: parentQueue(ctx)}
	if outer, ok := q.parent.(*sequence); ok {
		// A sequence in a sequence goes on from where the outer one is.
		outer.mu.Lock()
		q.last = outer.last
		outer.mu.Unlock()
		defer func() {
			q.mu.Lock()
			last := q.last
			q.mu.Unlock()
			outer.mu.Lock()
			outer.last = last
			outer.mu.Unlock()
		}()
	}
	queuesUsed.Store(true)
	return body(newBlock(&q.queueBlock, ctx, q))
}

// sequence is the queue of a SpawnSequential block: last is the step
// before the next spawn, a task or a bulk block's group.
type sequence struct {
	queueBlock
	parent queue
	mu     sync.Mutex // held while a spawn is passed on, so that steps keep their order
	last   []*Task
}

func (s *sequence) put(t *Task, q queued) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q.after = append(q.after, s.last...)
	s.parent.put(t, q)
	s.last = append(s.last[:0:0], t)
}

func (s *sequence) putGroup(ts []*Task, qs []queued) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range qs {
		qs[i].after = append(qs[i].after, s.last...)
	}
	s.parent.putGroup(ts, qs)
	s.last = ts
}
