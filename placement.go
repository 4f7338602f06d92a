package dagr

import (
	"context"
	"fmt"
	"slices"
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

// placement resolves Options.Single and Options.Scope. A scope that allows
// processors of this process runs the task here; one that allows only
// other workers' runs it on one of those, chosen when the task starts.
func (s *Scheduler) placement(single int, scope Scope) (placement, error) {
	me := MyID()
	switch {
	case single < 0:
		return placement{}, fmt.Errorf("dagr: Options.Single is %d; worker ids start at 1", single)
	case single > 0 && single != me:
		return s.remotePlacement(fmt.Sprintf("Options.Single names worker %d", single), cluster.Target{Workers: []int{single}})
	case scope == nil:
		return placement{}, nil
	}
	if procs, ok := scope.procsOn(me, s.procs); ok {
		return placement{procs: procs}, nil
	}
	var t cluster.Target
	switch sc := scope.(type) {
	case workerScope:
		t.Workers = slices.DeleteFunc(slices.Clone([]int(sc)), func(id int) bool { return id == me })
	case exactScope:
		t.Workers = []int{sc.p.Worker()}
		if tp, ok := sc.p.(ThreadProc); ok {
			t.Thread = tp.Thread
			if t.Thread < 1 {
				return placement{}, fmt.Errorf("%w: %v names processor %d, and processors count from 1", ErrNoProcessor, scope, t.Thread)
			}
		}
	}
	if len(t.Workers) == 0 {
		return placement{}, fmt.Errorf("%w: no processor of the live workers %v (with %d processors on worker %d) is in %v", ErrNoProcessor, s.Workers(context.Background()), s.procs, me, scope)
	}
	return s.remotePlacement(scope.String(), t)
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
