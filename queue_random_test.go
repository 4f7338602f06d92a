package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// TestTaskQueuesRandom nests bulk and sequential blocks at random, with
// plain spawns among them, tasks that take other tasks' results, contexts
// derived inside blocks, and tasks cancelled through their contexts; and
// checks every task against a model of the blocks:
//
//   - a task held by a bulk block starts after the outermost bulk block
//     around it ended;
//   - a task of a sequence starts after the step before it ended (a task,
//     or all the tasks of a bulk block), and fails when that step failed;
//   - a task's result is its number plus its inputs' results, or it fails
//     when one of them failed or its context was cancelled.
func TestTaskQueuesRandom(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(uint64(seed), 3))
	deadline := time.Now().Add(3 * time.Second)
	rounds := 0
	for ; rounds < 20 || time.Now().Before(deadline); rounds++ {
		m := &queueModel{t: t, r: r}
		if !m.run(1 + r.IntN(3)) {
			t.Fatalf("round %d (seed %d) failed", rounds, seed)
		}
	}
	t.Logf("%d rounds", rounds)
}

// queueModel is one round: the tasks spawned and what the model says of
// them.
type queueModel struct {
	t     *testing.T
	r     *rand.Rand
	clock atomic.Int64 // orders the events: starts, returns, blocks' ends

	tasks   []*modelTask
	cancels []context.CancelFunc
	bulkEnd map[int]int64 // a bulk block's number: the clock when it ended
	nbulk   int
}

type modelTask struct {
	task    *dagr.Task
	num     int
	inputs  []int // the numbers of the tasks it takes
	preds   []int // of the tasks it runs after (a sequence's step before)
	heldBy  int   // the outermost bulk block around it, or 0
	blocks  bool  // spawned with a context that is cancelled: it waits for that
	fails   bool  // the model's outcome
	want    int
	started atomic.Int64
	ended   atomic.Int64 // when f returned
}

// block is the model of the block a spawn is in.
type block struct {
	kind     byte // 'd' outside any block, 'b' bulk, 's' sequence
	outerRun int  // the outermost bulk around, or 0
	parent   *block
	last     []int // a sequence's step before the next
	held     []int // a bulk block's tasks, held until it ends
}

func (m *queueModel) run(procs int) bool {
	_, ctx := schedulerOf(m.t, procs)
	m.bulkEnd = map[int]int64{}
	top := &block{kind: 'd'}
	m.body(ctx, top, 0)
	for _, c := range m.cancels {
		c()
	}
	ok := true
	for _, mt := range m.tasks {
		wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		v, err := dagr.Fetch[int](wctx, mt.task)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && wctx.Err() != nil {
			m.t.Errorf("task %d did not end in 20 s", mt.num)
			return false
		}
		if mt.fails != (err != nil) || (err == nil && v != mt.want) {
			m.t.Errorf("task %d (inputs %v, after %v, blocks %v): got %d, %v; want %d, failure %v", mt.num, mt.inputs, mt.preds, mt.blocks, v, err, mt.want, mt.fails)
			ok = false
		}
		if s := mt.started.Load(); s != 0 {
			if mt.heldBy != 0 && s < m.bulkEnd[mt.heldBy] {
				m.t.Errorf("task %d started before bulk block %d ended", mt.num, mt.heldBy)
				ok = false
			}
			for _, p := range mt.preds {
				if e := m.tasks[p].ended.Load(); e == 0 || s < e {
					m.t.Errorf("task %d started before task %d, its step before, ended", mt.num, p)
					ok = false
				}
			}
		}
	}
	return ok
}

// body spawns a random mix of tasks and blocks with ctx, in b.
func (m *queueModel) body(ctx context.Context, b *block, depth int) {
	for range 1 + m.r.IntN(6) {
		switch k := m.r.IntN(10); {
		case k < 2 && depth < 4:
			m.nbulk++
			id := m.nbulk
			inner := &block{kind: 'b', parent: b, outerRun: b.outerRun}
			if inner.outerRun == 0 {
				inner.outerRun = id
			}
			before := m.stepBefore(b)
			_ = dagr.SpawnBulk(ctx, func(ctx context.Context) error {
				m.body(ctx, inner, depth+1)
				if inner.outerRun == id {
					m.bulkEnd[id] = m.clock.Add(1) // before the block submits its tasks
				}
				return nil
			})
			m.bulkEnded(b, inner.held, before)
		case k < 4 && depth < 4:
			inner := &block{kind: 's', parent: b, outerRun: b.outerRun}
			if b.kind == 's' {
				inner.last = b.last // a sequence in a sequence goes on from there
			}
			_ = dagr.SpawnSequential(ctx, func(ctx context.Context) error {
				m.body(ctx, inner, depth+1)
				return nil
			})
			if b.kind == 's' {
				b.last = inner.last
			}
		default:
			m.spawn(ctx, b)
		}
	}
}

// stepBefore is what a bulk block spawned in b runs after: the step before
// in a sequence.
func (m *queueModel) stepBefore(b *block) []int {
	if b.kind == 's' {
		return b.last
	}
	return nil
}

// bulkEnded gives the tasks of a bulk block that ended to b.
func (m *queueModel) bulkEnded(b *block, held, before []int) {
	for _, n := range held {
		mt := m.tasks[n]
		mt.preds = append(mt.preds, before...)
		for _, p := range before {
			mt.fails = mt.fails || m.tasks[p].fails
		}
	}
	m.give(b, held)
}

// give hands the tasks of a step to b: a bulk block holds them, a
// sequence runs what comes next after them.
func (m *queueModel) give(b *block, ns []int) {
	switch b.kind {
	case 'b':
		b.held = append(b.held, ns...)
	case 's':
		if len(ns) > 0 {
			b.last = append([]int(nil), ns...)
		}
		m.give(b.parent, ns) // a sequence passes its tasks on at once
	}
}

// spawn spawns one task in b: with b's context, one derived from it that
// is cancelled at the end, or one that carries a value.
func (m *queueModel) spawn(ctx context.Context, b *block) {
	mt := &modelTask{num: len(m.tasks), heldBy: b.outerRun}
	var args []any
	for range m.r.IntN(3) {
		if len(m.tasks) > 0 {
			in := m.r.IntN(len(m.tasks))
			mt.inputs = append(mt.inputs, in)
			args = append(args, m.tasks[in].task)
		}
	}
	switch m.r.IntN(8) {
	case 0:
		cctx, cancel := context.WithCancel(ctx)
		m.cancels = append(m.cancels, cancel)
		ctx, mt.blocks = cctx, true
	case 1:
		ctx = context.WithValue(ctx, modelKey{}, mt.num)
	}
	if b.kind == 's' {
		mt.preds = append(mt.preds, b.last...)
	}
	mt.want = mt.num
	mt.fails = mt.blocks
	for _, in := range mt.inputs {
		mt.want += m.tasks[in].want
		mt.fails = mt.fails || m.tasks[in].fails
	}
	for _, p := range mt.preds {
		mt.fails = mt.fails || m.tasks[p].fails
	}
	f := func(ctx context.Context, xs ...int) (int, error) {
		mt.started.Store(m.clock.Add(1))
		defer func() { mt.ended.Store(m.clock.Add(1)) }()
		if mt.blocks {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		sum := mt.num
		for _, x := range xs {
			sum += x
		}
		return sum, nil
	}
	mt.task = dagr.Spawn(ctx, dagr.Named(fmt.Sprintf("t%d", mt.num), f), args...)
	m.tasks = append(m.tasks, mt)
	m.give(b, []int{mt.num})
}

type modelKey struct{}
