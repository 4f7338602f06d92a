package dagr

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/dagr/dagr/internal/sched"
)

// NoOccupancy, as Options.Occupancy, says that a task takes no share of its
// processor: any number of such tasks may run on one processor at once. Use
// it for tasks that mostly wait (I/O, sleeps, remote calls). It is
// Dagger's occupancy of 0.
const NoOccupancy = -1.0

// Options says where and how a task runs. Pass it as the first argument
// after f to Spawn (or Delayed): it is then the task's options, not an
// argument of f. The zero Options is the default for every field.
type Options struct {
	Name       string        // shown in errors, logs and pictures; default: the function's name
	Single     int           // run on this worker (1 = the process that runs the scheduler); 0: any; with Scope, on the processors of this worker that Scope allows
	Scope      Scope         // the processors the task may run on; nil: any
	Occupancy  float64       // share of one processor the task takes while it runs: 0 (unset) means 1; a value in (0,1]; NoOccupancy for tasks that mostly wait
	TimeUtil   time.Duration // expected run time, a hint for placement
	AllocUtil  int64         // expected memory in bytes, a hint for placement
	GetResult  bool          // send the result value to the scheduler's process instead of keeping it on the worker
	Persist    bool          // keep the result after no task needs it any more
	Cache      bool          // lazy API: reuse the computed result when the thunk is computed again
	AllowError bool          // lazy API: let this thunk's failure flow downstream instead of aborting the computation
	Retries    int           // run f again up to this many times after it fails with an error or a panic (not after a cancellation)
	Timeout    time.Duration // cancel f after this long, on each try; the task fails with context.DeadlineExceeded
	Priority   int           // among ready tasks on a processor, higher runs first

	// WorkerDeaths is how many workers may die while they run the task
	// (a crash, a kill, a hang past Config.WorkerTimeout) before it fails
	// instead of running again on another worker: 0 means 3. Negative is
	// an error.
	WorkerDeaths int
	// RunOnce says that f must not run twice, as for a task with effects
	// that are not idempotent: if its worker dies while it runs, the task
	// fails instead of running again, and if the worker that keeps its
	// result dies, what needs the result fails instead of making it again.
	// Retries still run f again after it fails.
	RunOnce bool

	// Checkpoint runs after f succeeds, before any dependent or caller sees
	// the result; its error is logged, not fatal.
	Checkpoint func(ctx context.Context, result any) error
	// Restore runs before the first try; when ok, f does not run and the
	// task's result is result. Its error is logged and f runs.
	Restore func(ctx context.Context) (result any, ok bool, err error)
}

// spec resolves o, the options of a task of f, against s's processors and
// workers.
func (s *Scheduler) spec(o *Options, f any) (*sched.Spec, error) {
	sp := s.eng.NewSpec()
	sp.Name, sp.Priority, sp.Retries, sp.Timeout = o.Name, o.Priority, o.Retries, o.Timeout
	sp.TimeUtil, sp.AllocUtil = o.TimeUtil, o.AllocUtil
	sp.Restore, sp.Checkpoint = o.Restore, o.Checkpoint
	switch occ := o.Occupancy; {
	case occ == 0:
		sp.Occupancy = sched.FullOccupancy
	case occ == NoOccupancy:
		sp.Occupancy = 0
	case occ > 0 && occ <= 1:
		// Rounded down, so that k tasks of 1/k fit on one processor.
		sp.Occupancy = uint32(max(1, math.Floor(occ*sched.FullOccupancy)))
	default:
		return sp, fmt.Errorf("dagr: Options.Occupancy is %v; it must be in (0, 1], or NoOccupancy", occ)
	}
	if o.Retries < 0 {
		return sp, fmt.Errorf("dagr: Options.Retries is %d; it must not be negative", o.Retries)
	}
	if o.WorkerDeaths < 0 {
		return sp, fmt.Errorf("dagr: Options.WorkerDeaths is %d; it must be 0 (3) or more", o.WorkerDeaths)
	}
	if o.Timeout < 0 {
		return sp, fmt.Errorf("dagr: Options.Timeout is %v; it must not be negative", o.Timeout)
	}
	p, err := s.placement(o.Single, o.Scope)
	if err != nil || p.remote == nil {
		sp.Procs = p.procs
		return sp, err
	}
	return sp, s.remoteSpec(sp, o, f, p.remote)
}
