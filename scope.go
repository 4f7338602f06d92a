package dagr

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/dagr/dagr/internal/sched"
)

// Processor is a place where tasks run: a whole worker process (OSProc) or
// one processor of a worker (ThreadProc).
type Processor interface {
	Worker() int    // the worker the processor belongs to
	String() string // e.g. "ThreadProc(1, 2)"
}

// OSProc is a whole worker process: ExactScope(OSProc{ID: 1}) allows every
// processor of worker 1.
type OSProc struct{ ID int }

// Worker returns p.ID.
func (p OSProc) Worker() int { return p.ID }

// String returns "OSProc(id)".
func (p OSProc) String() string { return fmt.Sprintf("OSProc(%d)", p.ID) }

// ThreadProc is one processor (execution slot) of a worker; Thread counts
// from 1 up to the worker's number of processors (Config.Procs on worker 1).
type ThreadProc struct{ Owner, Thread int }

// Worker returns p.Owner.
func (p ThreadProc) Worker() int { return p.Owner }

// String returns "ThreadProc(owner, thread)".
func (p ThreadProc) String() string { return fmt.Sprintf("ThreadProc(%d, %d)", p.Owner, p.Thread) }

// Scope is a set of processors a task may run on. AnyScope, WorkerScope,
// ExactScope and ThreadScope make the basic sets; UnionScope and
// IntersectScope combine any scopes. Scopes are values: they are safe for
// use by any number of goroutines, and one scope may serve any number of
// tasks and schedulers. String describes a scope as it was built, e.g.
// "UnionScope(WorkerScope(2), ExactScope(ThreadProc(1, 2)))".
//
// A task whose scope holds no existing processor fails with an error
// wrapping ErrNoProcessor that names the scope and says why; one whose
// scope holds several runs on one of them. CompatibleProcessors lists the
// processors of the live workers that a scope allows.
//
// A task runs only where its scope allows, but not always on every
// processor it allows. When the scope allows processors of the process
// that spawns the task, the task runs on one of those, and not on other
// workers. Otherwise (in worker 1) it goes to the live workers that the
// scope allows whole, to the one where it starts soonest; when the scope
// allows only some processors of each, a worker is told one processor
// number, so the task goes to processor t of the workers whose processor t
// the scope allows, for one t, and the tasks of one scope value take the
// allowed numbers in turn. A task spawned inside a task on another worker is placed by
// worker 1 when its scope names whole workers or one processor; with any
// other scope, it runs on that worker's processors that the scope allows,
// or fails with ErrNoProcessor.
//
// Every task runs on a ThreadProc, so Dagger's
// ProcessorTypeScope(ThreadProc) is AnyScope here, and an OSProc is a
// whole worker rather than a kind of processor.
type Scope interface {
	String() string
	// procs returns the set of processors in the scope.
	procs() procSet
	// on is procs().on, without making the set.
	on(w, n int) ([]int, bool)
}

// AnyScope is the scope of every processor of every worker.
func AnyScope() Scope { return anyScope{} }

// WorkerScope is the scope of every processor of the given workers
// (Dagger's ProcessScope). Ids below 1 name no worker; WorkerScope() allows
// nothing.
func WorkerScope(ids ...int) Scope { return workerScope(append([]int(nil), ids...)) }

// ExactScope is the scope of one processor; an OSProc means every processor
// of that worker. A ThreadProc whose Thread is below 1, a nil Processor, or
// one of another type allows nothing.
func ExactScope(p Processor) Scope {
	var set procSet
	switch p := p.(type) {
	case OSProc:
		set = set.add(block{workers: idsOf(p.ID), threads: everyID})
	case ThreadProc:
		set = set.add(block{workers: idsOf(p.Owner), threads: idsOf(p.Thread)})
	}
	return exactScope{p: p, set: set}
}

// ThreadScope is the scope of the processors with the given numbers on
// every worker: ThreadScope(1) is the first processor of each worker
// (Dagger's scope(thread=1)). Intersected with WorkerScope it picks the
// processors of some workers: IntersectScope(WorkerScope(2, 3),
// ThreadScope(1, 2)) is Dagger's scope(workers=[2, 3], threads=[1, 2]).
// Numbers below 1 name no processor; ThreadScope() allows nothing.
func ThreadScope(threads ...int) Scope {
	s := &threadScope{threads: append([]int(nil), threads...)}
	s.set = procSet(nil).add(block{workers: everyID, threads: idsOf(s.threads...)})
	return s
}

// UnionScope is the scope of the processors that any of scopes allows
// (Dagger's UnionScope). A nil scope stands for AnyScope, as in Options.
// UnionScope() allows nothing.
func UnionScope(scopes ...Scope) Scope {
	u := &unionScope{scopes: orAny(scopes)}
	for _, sc := range u.scopes {
		u.set = u.set.or(sc.procs())
	}
	return u
}

// IntersectScope is the scope of the processors that every one of scopes
// allows (Dagger's constrain). A nil scope stands for AnyScope, as in
// Options; IntersectScope() is AnyScope. When no processor is in all of
// them, the scope allows nothing, and a task with it fails with an error
// that says which of scopes have no processor in common.
func IntersectScope(scopes ...Scope) Scope {
	x := &intersectScope{scopes: orAny(scopes), set: everySet}
	for _, sc := range x.scopes {
		x.set = x.set.and(sc.procs())
	}
	return x
}

// orAny returns a copy of scopes with AnyScope for nil.
func orAny(scopes []Scope) []Scope {
	out := make([]Scope, len(scopes))
	for i, sc := range scopes {
		if sc == nil {
			sc = AnyScope()
		}
		out[i] = sc
	}
	return out
}

type anyScope struct{}

func (anyScope) String() string            { return "AnyScope()" }
func (anyScope) procs() procSet            { return everySet }
func (anyScope) on(int, int) ([]int, bool) { return nil, true }

type workerScope []int

func (s workerScope) String() string { return "WorkerScope(" + joinInts(s) + ")" }

func (s workerScope) procs() procSet {
	return procSet(nil).add(block{workers: idsOf(s...), threads: everyID})
}

func (s workerScope) on(w, n int) ([]int, bool) { return nil, n > 0 && w >= 1 && slices.Contains(s, w) }

type exactScope struct {
	p   Processor
	set procSet // made by ExactScope
}

func (s exactScope) String() string            { return fmt.Sprintf("ExactScope(%v)", s.p) }
func (s exactScope) procs() procSet            { return s.set }
func (s exactScope) on(w, n int) ([]int, bool) { return s.set.on(w, n) }

// turns spreads the tasks of one scope over the processors of other
// workers that it allows, when it allows no worker whole (see targetOf).
// The zero turns is ready for use.
type turns struct{ n atomic.Uint64 }

func (t *turns) next() uint64 { return t.n.Add(1) - 1 }

type threadScope struct {
	threads []int
	set     procSet // made by ThreadScope
	turns
}

func (s *threadScope) String() string { return "ThreadScope(" + joinInts(s.threads) + ")" }

func (s *threadScope) procs() procSet            { return s.set }
func (s *threadScope) on(w, n int) ([]int, bool) { return s.set.on(w, n) }

type unionScope struct {
	scopes []Scope
	set    procSet // the union of the scopes' sets, made once
	turns
}

func (s *unionScope) String() string            { return "UnionScope(" + joinScopes(s.scopes) + ")" }
func (s *unionScope) procs() procSet            { return s.set }
func (s *unionScope) on(w, n int) ([]int, bool) { return s.set.on(w, n) }

type intersectScope struct {
	scopes []Scope
	set    procSet // the intersection of the scopes' sets, made once
	turns
}

func (s *intersectScope) String() string            { return "IntersectScope(" + joinScopes(s.scopes) + ")" }
func (s *intersectScope) procs() procSet            { return s.set }
func (s *intersectScope) on(w, n int) ([]int, bool) { return s.set.on(w, n) }

func joinInts(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}

func joinScopes(scopes []Scope) string {
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = sc.String()
	}
	return strings.Join(s, ", ")
}

// idSet is a set of ids from 1 (of workers, or of the processors of a
// worker): every id, or those listed, in increasing order. Its ids are
// never changed in place.
type idSet struct {
	every bool
	ids   []int
}

// everyID is the set of every id.
var everyID = idSet{every: true}

// idsOf returns the set of ids, without those below 1. It may keep ids,
// which must not change.
func idsOf(ids ...int) idSet {
	if increasingFrom1(ids) {
		return idSet{ids: ids}
	}
	s := slices.DeleteFunc(slices.Clone(ids), func(id int) bool { return id < 1 })
	slices.Sort(s)
	return idSet{ids: slices.Compact(s)}
}

// increasingFrom1 reports whether ids increase, without repeats, from 1
// or more.
func increasingFrom1(ids []int) bool {
	for i, id := range ids {
		if id < 1 || i > 0 && id <= ids[i-1] {
			return false
		}
	}
	return true
}

func (a idSet) empty() bool { return !a.every && len(a.ids) == 0 }

func (a idSet) has(id int) bool {
	if a.every {
		return id >= 1
	}
	_, ok := slices.BinarySearch(a.ids, id)
	return ok
}

func (a idSet) equal(b idSet) bool { return a.every == b.every && slices.Equal(a.ids, b.ids) }

func (a idSet) and(b idSet) idSet {
	switch {
	case a.every:
		return b
	case b.every:
		return a
	}
	var out []int
	for _, id := range a.ids {
		if b.has(id) {
			out = append(out, id)
		}
	}
	return idSet{ids: out}
}

func (a idSet) or(b idSet) idSet {
	if a.every || b.every {
		return everyID
	}
	return idsOf(append(slices.Clone(a.ids), b.ids...)...)
}

// block is the processors numbered threads of the workers: every pair of
// a worker and a thread of them.
type block struct{ workers, threads idSet }

// everyProc is the block of every processor of every worker, and
// everySet the set of it.
var (
	everyProc = block{workers: everyID, threads: everyID}
	everySet  = procSet{everyProc}
)

func (b block) empty() bool { return b.workers.empty() || b.threads.empty() }

// procSet is a set of processors, as the union of blocks: what a scope
// allows, known before the workers and their numbers of processors are.
// Its blocks are not empty; nil is the empty set. Unions and intersections
// of sets make new ones and never change their operands.
type procSet []block

// add returns the union of p and b, merging b into a block of p that has
// the same workers or the same threads, so that unions of scopes of one
// worker or one thread number stay one block.
func (p procSet) add(b block) procSet {
	if b.empty() {
		return p
	}
	for i, a := range p {
		var merged block
		switch {
		case a.threads.equal(b.threads):
			merged = block{workers: a.workers.or(b.workers), threads: a.threads}
		case a.workers.equal(b.workers):
			merged = block{workers: a.workers, threads: a.threads.or(b.threads)}
		default:
			continue
		}
		out := slices.Clone(p)
		out[i] = merged
		return out
	}
	return append(slices.Clip(p), b)
}

func (p procSet) or(q procSet) procSet {
	for _, b := range q {
		p = p.add(b)
	}
	return p
}

func (p procSet) and(q procSet) procSet {
	var out procSet
	for _, a := range p {
		for _, b := range q {
			out = out.add(block{workers: a.workers.and(b.workers), threads: a.threads.and(b.threads)})
		}
	}
	return out
}

// on returns the processors of worker w, which has n of them, that p
// holds, as indexes from 0: nil for all of them, and false for none.
func (p procSet) on(w, n int) ([]int, bool) {
	if n < 1 {
		return nil, false
	}
	var (
		idx    []int
		blocks int // that hold w: idx is in order, without repeats, when one does
	)
	for _, b := range p {
		if !b.workers.has(w) {
			continue
		}
		if b.threads.every {
			return nil, true
		}
		blocks++
		for _, t := range b.threads.ids {
			if t > n {
				break
			}
			idx = append(idx, t-1)
		}
	}
	if blocks > 1 {
		slices.Sort(idx)
		idx = slices.Compact(idx)
	}
	switch len(idx) {
	case 0:
		return nil, false
	case n:
		return nil, true
	}
	return idx, true
}

// MyID returns this process's worker id: 1 in the process that runs the
// scheduler.
func MyID() int {
	if id := myID.Load(); id > 0 {
		return int(id)
	}
	return 1
}

// CurrentProcessor returns the processor that runs the task ctx was handed
// to, or nil when ctx is not a task's.
func CurrentProcessor(ctx context.Context) Processor {
	if ctx == nil {
		return nil
	}
	if th := sched.CurrentThread(ctx); th > 0 {
		return ThreadProc{Owner: MyID(), Thread: th}
	}
	return nil
}
