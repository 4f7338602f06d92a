package dagr

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/cluster"
	"github.com/dagr/dagr/internal/sched"
)

// placement is where a task's options let it run: on processors of this
// process (procs: their indexes, nil for all), or on other workers.
type placement struct {
	procs  []int
	remote *cluster.Target
}

// placement resolves Options.Single and Options.Scope. Both together
// allow the processors of worker Single that the scope allows. A scope
// that allows processors of this process runs the task here, on any of
// them; one that allows only other workers' runs it on one of those (see
// targetOf). A scope that allows nothing fails the task, saying why.
func (s *Scheduler) placement(single int, scope Scope) (placement, error) {
	me := MyID()
	switch {
	case single < 0:
		return placement{}, fmt.Errorf("dagr: Options.Single is %d; worker ids start at 1", single)
	case scope == nil && single > 0 && single != me:
		return s.remotePlacement(fmt.Sprintf("Options.Single names worker %d", single), cluster.Target{Workers: []int{single}})
	case scope == nil:
		return placement{}, nil
	}
	if single == 0 || single == me {
		// Most scopes allow processors here: that is found without a set.
		if procs, ok := scope.on(me, s.procs); ok {
			return placement{procs: procs}, nil
		}
	}
	set := scope.procs()
	if len(set) == 0 {
		return placement{}, fmt.Errorf("%w: %v allows no processor: %s", ErrNoProcessor, scope, whyEmpty(scope))
	}
	next := func() uint64 { return 0 }
	if t, ok := scope.(interface{ next() uint64 }); ok {
		next = t.next // the tasks of one scope take its processors in turn, with or without a Single
	}
	if single > 0 {
		if set = set.and(WorkerScope(single).procs()); len(set) == 0 {
			return placement{}, fmt.Errorf("%w: Options.Single is %d and Options.Scope is %v, which allows no processor of worker %d", ErrNoProcessor, single, scope, single)
		}
		scope = IntersectScope(WorkerScope(single), scope) // for messages
	}
	// Here the scope allows no processor of this worker.
	if me != 1 {
		return placement{}, fmt.Errorf("%w: %v allows no processor of worker %d, which has %d processors; a task on worker %d spawns tasks on its own worker only, in this version", ErrNoProcessor, scope, me, s.procs, me)
	}
	t, ok := s.remoteTarget(set, next)
	if !ok {
		return placement{}, s.noProcessor(scope)
	}
	return placement{remote: &t}, nil
}

// remoteTarget returns where a task of the processors set runs when it
// allows none of this process (see targetOf), among the workers that live
// now.
func (s *Scheduler) remoteTarget(set procSet, next func() uint64) (cluster.Target, bool) {
	cl := s.cluster()
	if cl == nil {
		return cluster.Target{}, false
	}
	var live []workerProcs
	for _, w := range cl.Workers() {
		if n := cl.Procs(w); w != MyID() && n > 0 {
			live = append(live, workerProcs{id: w, procs: n})
		}
	}
	return targetOf(set, live, next)
}

// workerProcs is a live worker and its number of processors.
type workerProcs struct{ id, procs int }

// targetOf returns a target of set among workers, in increasing order of
// id: the workers whose processors set holds all of, any of them (and the
// workers that set holds whole by name, which may join later); else,
// when it holds only some processors of each worker, processor t of the
// workers that have t in set, for the t numbered next() among those that
// set holds (next spreads the tasks of a scope over them). A Target names
// workers and one processor number for all of them, so a set that holds
// several, but not all, processors of a worker cannot be given to it
// whole: the task goes to one of them. False means that set holds no
// processor of workers.
func targetOf(set procSet, workers []workerProcs, next func() uint64) (cluster.Target, bool) {
	var (
		whole    []int
		byThread = map[int][]int{} // processor number: the workers whose processor of that number set holds
	)
	for _, w := range workers {
		switch idx, ok := set.on(w.id, w.procs); {
		case !ok:
		case idx == nil:
			whole = append(whole, w.id)
		default:
			for _, i := range idx {
				byThread[i+1] = append(byThread[i+1], w.id)
			}
		}
	}
	if len(whole) > 0 {
		// With the workers it names whole that do not live yet: one may
		// by the time the task starts.
		for _, b := range set {
			if b.threads.every && !b.workers.every {
				whole = append(whole, b.workers.ids...)
			}
		}
		slices.Sort(whole)
		return cluster.Target{Workers: slices.Compact(whole)}, true
	}
	if len(byThread) == 0 {
		return cluster.Target{}, false
	}
	threads := slices.Sorted(maps.Keys(byThread))
	th := threads[next()%uint64(len(threads))]
	return cluster.Target{Workers: byThread[th], Thread: th}, true
}

// noProcessor is the error of a task of scope, which allows processors,
// but none of the live workers'.
func (s *Scheduler) noProcessor(scope Scope) error {
	var named string
	if sc, ok := scope.(exactScope); ok {
		if tp, ok := sc.p.(ThreadProc); ok {
			named = fmt.Sprintf(" (it names processor %d of worker %d)", tp.Thread, tp.Owner)
		}
	}
	var live []string
	for _, w := range s.Workers(context.Background()) {
		n, noun := s.procsOf(w), "processors"
		if n == 1 {
			noun = "processor"
		}
		live = append(live, fmt.Sprintf("worker %d has %d %s", w, n, noun))
	}
	return fmt.Errorf("%w: %v allows no processor of the live workers%s: %s", ErrNoProcessor, scope, named, strings.Join(live, ", "))
}

// procsOf returns the number of processors of live worker w, or 0 when w
// is not live, or not known here: a worker other than 1 knows its own
// only.
func (s *Scheduler) procsOf(w int) int {
	if w == MyID() {
		return s.procs
	}
	if cl := s.cluster(); cl != nil {
		return cl.Procs(w)
	}
	return 0
}

// whyEmpty says why sc, whose set is empty, allows no processor.
func whyEmpty(sc Scope) string {
	switch sc := sc.(type) {
	case workerScope:
		if len(sc) == 0 {
			return "it names no worker"
		}
		return "worker ids count from 1"
	case exactScope:
		switch p := sc.p.(type) {
		case nil:
			return "it names no processor"
		case OSProc:
			return "worker ids count from 1"
		case ThreadProc:
			if p.Owner < 1 {
				return "worker ids count from 1"
			}
			return fmt.Sprintf("it names processor %d, and processors count from 1", p.Thread)
		default:
			return fmt.Sprintf("a %T is not a processor that tasks run on: name an OSProc or a ThreadProc", p)
		}
	case *threadScope:
		if len(sc.threads) == 0 {
			return "it names no processor"
		}
		return "processors count from 1"
	case *unionScope:
		if len(sc.scopes) == 0 {
			return "it unites no scope"
		}
		return fmt.Sprintf("none of its scopes allows one (%v: %s)", sc.scopes[0], whyEmpty(sc.scopes[0]))
	case *intersectScope:
		return whyDisjoint(sc.scopes)
	}
	return "it allows none"
}

// whyDisjoint says why scopes have no processor in common: the first
// that allows none, or the first that has none in common with another
// before it, or with those before it together.
func whyDisjoint(scopes []Scope) string {
	set := everySet
	for i, sc := range scopes {
		own := sc.procs()
		if len(own) == 0 {
			return fmt.Sprintf("%v allows none: %s", sc, whyEmpty(sc))
		}
		if set = set.and(own); len(set) > 0 {
			continue
		}
		for _, before := range scopes[:i] {
			if len(before.procs().and(own)) == 0 {
				return fmt.Sprintf("%v and %v have no processor in common", before, sc)
			}
		}
		return fmt.Sprintf("%s and %v have no processor in common", joinScopes(scopes[:i]), sc)
	}
	return "they have no processor in common"
}

// CompatibleProcessors returns the processors of the live workers of
// ctx's scheduler that scope allows (Dagger's compatible_processors), in
// order of worker and processor number; a nil scope is AnyScope. Each is a
// ThreadProc, since tasks run on those. A task with scope runs on one of
// them, or fails with ErrNoProcessor when there is none; it may use fewer
// than all of them (see Scope). Inside a task on a worker other
// than 1, only that worker's processors are known, and only those are
// listed.
func CompatibleProcessors(ctx context.Context, scope Scope) []Processor {
	return schedulerOf(ctx).CompatibleProcessors(ctx, scope)
}

// CompatibleProcessors is the package-level CompatibleProcessors on s.
func (s *Scheduler) CompatibleProcessors(ctx context.Context, scope Scope) []Processor {
	if scope == nil {
		scope = AnyScope()
	}
	set := scope.procs()
	var out []Processor
	if len(set) == 0 {
		return out
	}
	for _, w := range s.Workers(ctx) {
		n := s.procsOf(w)
		idx, ok := set.on(w, n)
		switch {
		case !ok:
		case idx == nil:
			for t := 1; t <= n; t++ {
				out = append(out, ThreadProc{Owner: w, Thread: t})
			}
		default:
			for _, i := range idx {
				out = append(out, ThreadProc{Owner: w, Thread: i + 1})
			}
		}
	}
	return out
}

// scopeOnWire returns sc as a spawn from a worker tells it to worker 1
// (wire.Spawn's Workers and Thread, which home makes a scope of again):
// ok is false when those cannot express sc, and the task must then be
// placed on the worker that spawns it, or fail there.
func scopeOnWire(sc Scope) (workers []int, thread int, ok bool) {
	if sc == nil {
		return nil, 0, true
	}
	set := sc.procs()
	switch {
	case len(set) == 0:
		return nil, 0, false
	case len(set) == 1 && set[0].workers.every && set[0].threads.every:
		return nil, 0, true
	case len(set) == 1 && len(set[0].workers.ids) == 1 && len(set[0].threads.ids) == 1:
		return set[0].workers.ids, set[0].threads.ids[0], true
	}
	var ids idSet
	for _, b := range set {
		if b.workers.every || !b.threads.every {
			return nil, 0, false
		}
		ids = ids.or(b.workers)
	}
	return ids.ids, 0, true
}

// remotePlacement checks that a worker of t lives, with processor
// t.Thread if it names one.
func (s *Scheduler) remotePlacement(what string, t cluster.Target) (placement, error) {
	if MyID() != 1 {
		return placement{}, fmt.Errorf("dagr: %s; a task on worker %d spawns tasks on its own worker only, in this version", what, MyID())
	}
	cl := s.cluster()
	if cl != nil {
		for _, id := range t.Workers {
			if n := cl.Procs(id); n > 0 && t.Thread <= n {
				return placement{remote: &t}, nil
			}
		}
	}
	return placement{}, fmt.Errorf("%w: %s, and %s is not among the live workers %v and their processors", ErrNoProcessor, what, describe(&t), s.Workers(context.Background()))
}

// remoteSpec makes sp the spec of a task of f that runs on a worker of t:
// its node waits on this process, taking no room, while the worker runs f.
// Only registered functions run elsewhere.
func (s *Scheduler) remoteSpec(sp *sched.Spec, o *Options, f any, t *cluster.Target) error {
	if name, ok := registry.Registered(f); !ok {
		return fmt.Errorf("dagr: %s is not registered (see Register), so it runs on worker 1 only, and its options place it on %s", name, describe(t))
	}
	cl := s.cluster()
	opts := remoteOptions(o)
	opts.Occupancy = o.Occupancy
	sp.Occupancy = 0
	sp.Checkpoint = withResult(sp.Checkpoint)
	sp.Call = func(ctx context.Context, fn any, sig *call.Sig, args []any) (any, error) {
		return cl.Call(ctx, *t, opts, fn, sig, args)
	}
	return nil
}

// remoteOptions returns the options of o that go with a task to another
// worker, or that say what to do when a worker dies; o may be nil.
func remoteOptions(o *Options) cluster.Options {
	if o == nil {
		return cluster.Options{}
	}
	return cluster.Options{Name: o.Name, Priority: o.Priority, GetResult: o.GetResult, TimeUtil: o.TimeUtil,
		Deaths: o.WorkerDeaths, Once: o.RunOnce}
}

func describe(t *cluster.Target) string {
	s := fmt.Sprintf("workers %v", t.Workers)
	if len(t.Workers) == 1 {
		s = fmt.Sprintf("worker %d", t.Workers[0])
	}
	if t.Thread > 0 {
		s += fmt.Sprintf(", processor %d", t.Thread)
	}
	return s
}

// spread returns the spec of a task of f that its options do not pin, on
// a scheduler with workers. When the task starts on a processor here, it
// goes to a worker with a free processor instead if it would start sooner
// there: when other tasks wait here for room, or when its inputs are on
// that worker and would take longer to come here than the task to go
// there (see cluster.Inputs). Then it gives its processor here back. And
// while it waits for room here, a worker whose processor becomes free
// takes it (sched.Spill, see spillIfRoom). Only registered functions
// go. o is the task's Options, if it has any.
func (s *Scheduler) spread(spec *sched.Spec, f any, o *Options) *sched.Spec {
	if _, ok := registry.Registered(f); !ok {
		return spec
	}
	cl := s.cluster()
	opts := remoteOptions(o)
	opts.Name, opts.Priority, opts.TimeUtil = spec.Name, spec.Priority, spec.TimeUtil
	opts.Occupancy = float64(spec.Occupancy) / sched.FullOccupancy
	if spec.Occupancy == 0 {
		opts.Occupancy = NoOccupancy
	}
	own := *spec
	own.Checkpoint = withResult(spec.Checkpoint)
	own.Spill = true
	var moved atomic.Bool // a try went to a worker: the task holds no processor here any more
	own.Call = func(ctx context.Context, fn any, sig *call.Sig, args []any) (any, error) {
		if sched.Spilled(ctx) && !moved.Load() {
			// A worker had room while the task waited for some here.
			moved.Store(true)
			in := cluster.InputsOf(args)
			if w, _, ok := cl.Reserve(in); ok {
				return cl.Call(ctx, cluster.Target{Workers: []int{w}, Reserved: true, Inputs: in}, opts, fn, sig, args)
			}
		}
		if moved.Load() {
			// A retry goes to a worker too, to any that lives.
			return cl.Call(ctx, cluster.Target{}, opts, fn, sig, args)
		}
		backlog := s.eng.Backlog()
		if backlog || hasRemote(args) {
			in := cluster.InputsOf(args)
			// Starting elsewhere costs MoveCost at least.
			if here := cluster.HereCost(in, backlog, opts.TimeUtil); here > cluster.MoveCost {
				if w, there, ok := cl.Reserve(in); ok {
					if there < here {
						moved.Store(true)
						sched.GiveUpShare(ctx)
						return cl.Call(ctx, cluster.Target{Workers: []int{w}, Reserved: true, Inputs: in}, opts, fn, sig, args)
					}
					cl.Unreserve(w)
				}
			}
		}
		if err := resolveArgs(ctx, fn, sig, args); err != nil {
			return nil, err
		}
		return sig.Call(fn, ctx, args)
	}
	return &own
}

// hasRemote reports whether any of args is a remote value.
func hasRemote(args []any) bool {
	for _, a := range args {
		if _, ok := a.(*cluster.Value); ok {
			return true
		}
	}
	return false
}

// spillIfRoom is called when a spread task is queued here: if a worker has
// a free processor, the first spread task that waits goes there. When a
// worker's processor becomes free, the coordinator spills one at once.
func (s *Scheduler) spillIfRoom() {
	if cl := s.cluster(); cl != nil && cl.HasRoom() {
		s.eng.Spill()
	}
}
