package dagr

import (
	"context"
	"fmt"
	"runtime"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/cluster"
	"github.com/dagr/dagr/internal/sched"
	"github.com/dagr/dagr/internal/wire"
)

// On a worker, a task of a registered function that a task spawns lives on
// worker 1 (see home), which places it on any worker as its options say,
// this one included. The worker keeps a handle of it: a node that waits,
// taking no share of a processor, for the task's end, which worker 1
// sends. Its id is the one the worker chose and sent with the spawn, so
// that the handle may travel to other processes at once.

// forward spawns f(args...) on worker 1 for a task on this worker, and
// makes t its handle; false means that the task runs here, as it would
// on worker 1: f is not registered, the call or an Occupancy or Timeout
// is bad (the local spawn says why), its options hold Restore or
// Checkpoint (functions of this process), or an argument is a task that
// lives on this worker only. The options that ctx carries (WithOptions)
// go with the spawn, for what the task spawns in turn.
func (s *Scheduler) forward(t *Task, ctx context.Context, f any, args []any) bool {
	name, ok := registry.Registered(f)
	if !ok {
		return false
	}
	var o Options
	if len(args) > 0 {
		if oo, ok := args[0].(Options); ok {
			o, args = oo, args[1:]
		}
	}
	if o.Restore != nil || o.Checkpoint != nil {
		return false // functions of this process: the task runs here, with them
	}
	if wire.CheckOptions(0, o.Occupancy, o.Timeout) != nil {
		return false // worker 1 would refuse the spawn: the task fails here, saying why
	}
	sig, err := call.Analyze(f)
	if err != nil || sig.CheckCount(f, len(args)) != nil {
		return false
	}
	// An id from the counter of this process's tasks, so that no task of
	// this worker that lives here has it (see workerTaskID).
	id := wire.TaskID(MyID(), sched.NewID())
	sp := &wire.Spawn{Task: id, From: MyID(), Func: name, Name: o.Name, Single: o.Single,
		Occupancy: o.Occupancy, Priority: o.Priority, Timeout: o.Timeout, Retries: o.Retries,
		WorkerDeaths: o.WorkerDeaths, RunOnce: o.RunOnce, TimeUtil: o.TimeUtil, AllocUtil: o.AllocUtil,
		GetResult: o.GetResult, Persist: o.Persist,
		// What the task spawns takes them on worker 1 too, and where it
		// runs: the task's own, above, have them already.
		Scoped: scopedOnWire(ctx), Within: wire.TimeLeft(ctx)}
	workers, thread, ok := scopeOnWire(o.Scope)
	if !ok {
		// Worker 1 cannot be told this scope: the task is placed on this
		// worker's processors that it allows, or fails saying why.
		return false
	}
	sp.Workers, sp.Thread = workers, thread
	var bad error
	for i, a := range args {
		var data []byte
		switch a := a.(type) {
		case *Task:
			if a == nil || a.node.Ref() == 0 {
				return false // it lives here only: so does the task that takes it
			}
			data = wire.EncodeRef(a.node.Ref())
		case *Chunk:
			data, err = wire.EncodeValue(a.value)
		default:
			data, err = wire.EncodeValue(a)
		}
		if err != nil && bad == nil {
			bad = fmt.Errorf("dagr: argument %d of %s: %w", i+1, name, err)
		}
		sp.Args = append(sp.Args, data)
	}
	var wait *waitFor
	if bad == nil {
		// Only now that the spawn goes: large arguments stay here until
		// worker 1 pulls them. The references in them hold their tasks
		// until this one ends (see home).
		for i, data := range sp.Args {
			sp.Refs = append(sp.Refs, wire.RefsIn(data)...)
			sp.Args[i] = thisWorker.Offload(data)
		}
		a, err := thisWorker.SpawnHome(sp)
		if err != nil {
			bad = fmt.Errorf("dagr: sending %s to worker 1: %w", name, err)
		}
		// The handles among args name their tasks in the spawn: they must
		// not be garbage, and released (see releaseHome), before it went.
		runtime.KeepAlive(args)
		wait = &waitFor{id: id, a: a, cancel: true}
		// A cancel of the spawning context reaches the task on worker 1
		// even if the handle never runs.
		stop := context.AfterFunc(ctx, func() { thisWorker.CancelHome(ctx, id) })
		a.OnArrival(func() { stop() })
	}
	s.handle(t, ctx, id, f, sig, o.Name, wait, bad)
	if bad == nil {
		// Once t is garbage, its hold on worker 1 ends.
		runtime.AddCleanup(t, releaseHome, id)
	}
	return true
}

// releaseHome runs when a handle of task id, which lives on worker 1, is
// garbage: its hold there ends (see home).
func releaseHome(id uint64) { thisWorker.Release(id) }

// waitFor is what a handle of a task on worker 1 waits for.
type waitFor struct {
	id     uint64
	a      *cluster.Awaited
	cancel bool // cancel the task when the handle's context ends
}

// handle makes t the local handle of task id, which lives on worker 1.
func (s *Scheduler) handle(t *Task, ctx context.Context, id uint64, f any, sig *call.Sig, name string, wait *waitFor, bad error) {
	t.node.SetID(id)
	spec := s.eng.NewSpec()
	spec.Name = name
	spec.Occupancy = 0
	spec.Ref = id
	spec.Unlogged = true // worker 1 logs the task
	spec.Call = func(ctx context.Context, _ any, _ *call.Sig, _ []any) (any, error) {
		a := wait.a
		for tries := 1; ; tries++ {
			r, err := thisWorker.Await(ctx, wait.id, a, wait.cancel)
			if err != nil {
				return nil, err
			}
			res, pulled, err := s.resultOf(ctx, r)
			if pulled || ctx.Err() != nil || tries == maxRewatches {
				return res, err
			}
			// Its value could not be pulled: its holder may have died, and
			// worker 1 then makes it again.
			if a, err = thisWorker.Rewatch(wait.id); err != nil {
				return nil, err
			}
		}
	}
	s.eng.SpawnOwned(&t.node, ctx, f, sig, nil, nil, spec, bad)
}

// maxRewatches bounds the tries of a handle whose value cannot be pulled.
const maxRewatches = 4

// resultOf decodes the end of a task that lived on worker 1; pulled is
// false when its value could not be pulled from the worker that has it.
func (s *Scheduler) resultOf(ctx context.Context, r *wire.Result) (_ any, pulled bool, _ error) {
	if r.Err != nil {
		return nil, true, workerError(1, r.Err)
	}
	data, owned, err := thisWorker.Materialize(ctx, r.Result)
	if err != nil {
		return nil, false, err
	}
	v, err := s.decodeResult(r, data, owned)
	return v, true, err
}

// decodeResult decodes the value of a task's end, pulled as data.
func (s *Scheduler) decodeResult(r *wire.Result, data []byte, owned bool) (any, error) {
	fn, ok := registry.Lookup(r.Func)
	if !ok {
		return wire.DecodeValue(data, nil)
	}
	sig, err := call.Analyze(fn)
	if err != nil || (sig.Results != call.ResultValue && sig.Results != call.ResultValueErr) {
		return nil, err
	}
	return values{s}.Decode(data, sig.Type.Out(0), owned)
}

// refHandle makes t a handle, on this worker, of task id, which lives on
// worker 1: a *Task that arrived in a value.
func refHandle(t *Task, id uint64) {
	s := Default()
	a, err := thisWorker.Watch(id)
	if err != nil {
		err = fmt.Errorf("dagr: asking worker 1 for task %d: %w", id, err)
	}
	sig, _ := call.Analyze(awaitRemote)
	s.handle(t, context.Background(), id, awaitRemote, sig, fmt.Sprintf("task %d", id), &waitFor{id: id, a: a}, err)
	if err == nil {
		runtime.AddCleanup(t, releaseHome, id)
	}
}

// awaitRemote is the function of a handle of a task that another process
// made: its handle runs no function, and waits for the task's end.
func awaitRemote() {}
