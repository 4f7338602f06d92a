package dagr

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/dagr/dagr/internal/sched"
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

// queued is a spawn that a queue holds or passes on: t is to be the task
// of f(args...) on s with ctx. It is small, since a bulk block keeps one
// per task: the first few arguments are kept in place, so that a spawn in
// a block allocates for them no more than Spawn does, and what few spawns
// have (more arguments, tasks to run after) is kept apart.
type queued struct {
	t      *Task
	s      *Scheduler
	ctx    context.Context
	f      any
	nargs  int
	inline [2]any
	more   *queuedMore
}

// queuedMore is what a queued spawn has when it has more arguments than
// fit in place, or tasks to run after (in a sequence).
type queuedMore struct {
	args  []any
	after []*Task
}

// newQueued is the spawn of t as f(args...) on s with ctx, with a copy of
// args.
func newQueued(t *Task, s *Scheduler, ctx context.Context, f any, args []any) queued {
	q := queued{t: t, s: s, ctx: ctx, f: f, nargs: len(args)}
	if len(args) <= len(q.inline) {
		copy(q.inline[:], args)
	} else {
		q.more = &queuedMore{args: append([]any(nil), args...)}
	}
	return q
}

// args returns the spawn's arguments, which the scheduler copies.
func (q *queued) args() []any {
	if q.more != nil && q.more.args != nil {
		return q.more.args
	}
	return q.inline[:q.nargs]
}

// after returns the tasks that the spawn's task runs after.
func (q *queued) after() []*Task {
	if q.more == nil {
		return nil
	}
	return q.more.after
}

// runAfter makes the spawn's task run after the tasks of ts too.
func (q *queued) runAfter(ts []*Task) {
	if len(ts) == 0 {
		return
	}
	if q.more == nil {
		q.more = new(queuedMore)
	}
	q.more.after = append(q.more.after, ts...)
}

// spawnList is the spawns that a bulk block holds, in order. They are kept
// in chunks, which are never copied as the list grows (a slice of spawns
// grown by append copied each one about twice, and was most of the cost of
// a block of many), and which a block hands whole to the block around it.
type spawnList struct {
	chunks [][]queued
	n      int
}

// maxChunk bounds a chunk: a list of many spawns allocates one chunk for
// that many spawns.
const maxChunk = 128

func (l *spawnList) add(q queued) {
	last := len(l.chunks) - 1
	if last < 0 || len(l.chunks[last]) == cap(l.chunks[last]) {
		size := 8
		if last >= 0 {
			size = min(2*cap(l.chunks[last]), maxChunk)
		}
		l.chunks = append(l.chunks, make([]queued, 0, size))
		last++
	}
	l.chunks[last] = append(l.chunks[last], q)
	l.n++
}

// addList moves the spawns of m to the end of l.
func (l *spawnList) addList(m *spawnList) {
	l.chunks = append(l.chunks, m.chunks...)
	l.n += m.n
	*m = spawnList{}
}

// tasks returns the tasks of the spawns, in order.
func (l *spawnList) tasks() []*Task {
	ts := make([]*Task, 0, l.n)
	for _, c := range l.chunks {
		for i := range c {
			ts = append(ts, c[i].t)
		}
	}
	return ts
}

// queue is where the spawns of a block go.
type queue interface {
	// put makes q.t the task of q, now or when the block ends.
	put(q queued)
	// putList is put for the spawns of a bulk block that ended, which go
	// together. The list is the queue's from then on.
	putList(l *spawnList)
	// hide returns ctx, a context of the block, as the block's tasks see
	// it: without the block's queue.
	hide(ctx context.Context) context.Context
}

// queueBlock is what the queues of blocks share: the block's context, and that
// context as its tasks see it, made once.
type queueBlock struct {
	ctx    context.Context
	hidden context.Context // an *unqueued, made once
}

func (b *queueBlock) hide(ctx context.Context) context.Context {
	if ctx == b.ctx { // a pointer (context.WithValue's): == cannot panic
		return b.hidden
	}
	return &unqueued{ctx}
}

// newBlock gives b the context of a block with queue q, derived from ctx.
func newBlock(b *queueBlock, ctx context.Context, q queue) context.Context {
	b.ctx = context.WithValue(ctx, queueKey{}, q)
	b.hidden = &unqueued{b.ctx}
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

func (c *unqueued) Value(key any) any {
	if _, ok := key.(queueKey); ok {
		return nil
	}
	return c.Context.Value(key)
}

// direct is the queue outside any block: the scheduler.
type direct struct{}

func (direct) put(q queued) { q.s.spawnNow(nil, q.t, q.ctx, q.f, q.args(), q.after()) }

func (direct) hide(ctx context.Context) context.Context { return &unqueued{ctx} }

// putList spawns the tasks of a bulk block that ended, in their order, and
// places those ready at once in batches (sched.Batch): the first batch
// starts while the rest are spawned.
func (direct) putList(l *spawnList) {
	var b sched.Batch
	defer b.Submit() // whatever happens, nothing spawned is left unplaced
	for j, c := range l.chunks {
		for i := range c {
			q := &c[i]
			q.s.spawnNow(&b, q.t, q.ctx, q.f, q.args(), q.after())
		}
		b.Submit()
		l.chunks[j] = nil // the block keeps nothing of spawned tasks
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
//
// Holding costs little: the block keeps its spawns in chunks, and when it
// ends it submits them a chunk at a time, each placed on the processors
// together while the next is spawned, so that a fan-out spawned in bulk
// takes about as long as one spawned task by task.
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
	held   spawnList
}

// A spawn with the block's context after it ended goes to the parent.
func (b *bulk) put(q queued) {
	if !b.hold(func() { b.held.add(q) }) {
		b.parent.put(q)
	}
}

func (b *bulk) putList(l *spawnList) {
	if !b.hold(func() { b.held.addList(l) }) {
		b.parent.putList(l)
	}
}

// hold runs add under the block's lock unless the block has ended, and
// reports whether it did.
func (b *bulk) hold(add func()) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return false
	}
	add()
	return true
}

// end submits the block's tasks, as one group.
func (b *bulk) end() {
	b.mu.Lock()
	b.ended = true
	held := b.held
	b.held = spawnList{}
	b.mu.Unlock()
	if held.n > 0 {
		b.parent.putList(&held)
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

func (s *sequence) put(q queued) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q.runAfter(s.last)
	s.parent.put(q)
	s.last = append(s.last[:0:0], q.t)
}

func (s *sequence) putList(l *spawnList) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.last) > 0 {
		for _, c := range l.chunks {
			for i := range c {
				c[i].runAfter(s.last)
			}
		}
	}
	last := l.tasks()
	s.parent.putList(l)
	s.last = last
}
