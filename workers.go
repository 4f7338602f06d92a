package dagr

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/dagr/dagr/internal/cluster"
	"github.com/dagr/dagr/internal/sched"
	"github.com/dagr/dagr/internal/wire"
)

// myID is this process's worker id: 1 unless Main made it a worker.
var myID atomic.Int64

// thisWorker is this process's side of the run, in a worker process; nil
// in any other. Main sets it before any task runs.
var thisWorker *cluster.Worker

// JoinEnv is the environment variable that makes a process of the program
// a worker of a run that it did not start: on this machine or another, the
// program's own binary, started with JoinEnv set to the run's join URL
// (see Scheduler.JoinURL), joins the run in Main, and serves it until the
// run ends. The URL may carry procs=N, the worker's processors.
const JoinEnv = cluster.JoinEnv

// Main is the first line of main() and of TestMain. In a process that
// AddProcs started as a worker, or that has JoinEnv set, it joins the run,
// serves tasks until the scheduler stops it or is gone, and exits; in any
// other process it returns at once.
func Main() {
	j, ok, err := cluster.WorkerFromEnv()
	if !ok {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defaultProcs = j.Procs
	s := Default()
	thisWorker = cluster.NewWorker(j, &registry, s.procs, s.runSubmitted, encodeError, values{s})
	thisWorker.OnLog(s.followLog)
	code := thisWorker.Connect()
	if code != 0 {
		os.Exit(code)
	}
	myID.Store(int64(thisWorker.ID()))
	sched.SetIDBase(wire.TaskID(thisWorker.ID(), 0)) // its tasks' ids are its own (see workerlog.go)
	code = thisWorker.Serve()
	if code == 0 {
		// Stopped: the tasks have ended. Otherwise the scheduler is gone,
		// and a task that ignores its context must not keep this process.
		s.Close()
	}
	os.Exit(code)
}

// registry holds the functions that may run on any worker.
var registry cluster.Registry

// Register names functions that may run on other processes; call it from
// init, in every build of the program alike. Functions are known by their
// runtime name ("main.add"). A value that is not a function is reported by
// AddProcs.
func Register(fs ...any) { registry.Register(fs...) }

// AddProcs starts n worker processes of this program's binary on this
// machine and returns their ids once each of them serves. The program's
// main (or TestMain) must call Main first. The first call starts the NATS
// server of the run, on 127.0.0.1 with credentials made for the run. A
// worker whose registered functions differ from this process's (another
// build) is refused, and the error says how they differ.
func AddProcs(ctx context.Context, n int) ([]int, error) {
	return schedulerOf(ctx).AddProcs(ctx, n)
}

// AddProcs is the package-level AddProcs on s.
func (s *Scheduler) AddProcs(ctx context.Context, n int) ([]int, error) {
	if MyID() != 1 {
		return nil, fmt.Errorf("dagr: AddProcs(%d) on worker %d: only worker 1 starts workers", n, MyID())
	}
	return s.coordinator().AddProcs(orBackground(ctx), n, s.workerProcs)
}

// coordinator returns the coordinator of s's workers, made on first use.
func (s *Scheduler) coordinator() *cluster.Coordinator {
	s.clMu.Lock()
	defer s.clMu.Unlock()
	cl := s.cl.Load()
	if cl == nil {
		cl = cluster.NewCoordinator(&registry, workerError, values{s}, home{s})
		cl.SetWorkerTimeout(s.workerTimeout)
		cl.SetTransport(s.transport)
		// The event log places tasks on the workers that ran them.
		cl.OnRan(func(ctx context.Context, r cluster.Ran) {
			s.eng.LogRemote(ctx, r.Worker, r.Thread, r.Moved, r.Start, r.End)
		})
		cl.LogEvents(s.eng.Logging, s.addWorkerEvents)
		s.eng.SetResolve(resolveRemote)
		cl.OnRoom(func() { s.eng.Spill() })
		cl.SetScoped(scopedOnWire) // a task's scoped options go with it
		s.eng.OnSpillable(s.spillIfRoom)
		s.cl.Store(cl)
		withWorkers.Store(s, struct{}{})
	}
	return cl
}

// JoinURL returns the URL with which a process of this program joins s's
// run as a worker: start the program's binary, on any machine that
// reaches the run's NATS server, with JoinEnv set to it. It holds the
// run's credentials: treat it as a secret. The first call starts the
// run's NATS server (see Config.Listen) or connects to Config.NATS. Only
// worker 1 has it.
func (s *Scheduler) JoinURL() (string, error) {
	if MyID() != 1 {
		return "", fmt.Errorf("dagr: JoinURL on worker %d: only worker 1 has it", MyID())
	}
	return s.coordinator().JoinURL()
}

// WaitWorkers waits until at least n workers besides worker 1 are live
// (started by AddProcs or joined by URL), and returns the live workers,
// 1 first; or ctx's error, saying how many joined.
func (s *Scheduler) WaitWorkers(ctx context.Context, n int) ([]int, error) {
	if MyID() != 1 {
		return nil, fmt.Errorf("dagr: WaitWorkers on worker %d: only worker 1 has it", MyID())
	}
	return s.coordinator().WaitWorkers(orBackground(ctx), n)
}

// cluster returns the coordinator of s's workers, or nil if s never
// started any.
func (s *Scheduler) cluster() *cluster.Coordinator { return s.cl.Load() }

// Workers returns the ids of the live workers of ctx's scheduler, 1 (this
// process) included, in order.
func Workers(ctx context.Context) []int { return schedulerOf(ctx).Workers(ctx) }

// Workers is the package-level Workers on s.
//
// On a worker, it asks worker 1; if that fails, it returns this worker's
// id only.
func (s *Scheduler) Workers(ctx context.Context) []int {
	if thisWorker != nil {
		ids, err := thisWorker.Ask(orBackground(ctx), wire.Ask{})
		if err != nil {
			return []int{MyID()}
		}
		return ids
	}
	if cl := s.cluster(); cl != nil {
		return cl.Workers()
	}
	return []int{MyID()}
}

// RemoveProc stops worker id: it takes no new task, finishes the tasks it
// runs, and exits; RemoveProc returns once its process has. If ctx ends
// first, the worker is killed. Worker 1, the scheduler's own process,
// cannot be removed.
func RemoveProc(ctx context.Context, id int) error { return schedulerOf(ctx).RemoveProc(ctx, id) }

// RemoveProc is the package-level RemoveProc on s.
//
// On a worker, it asks worker 1 to remove worker id; a worker cannot
// remove itself, since it would wait for its own end.
func (s *Scheduler) RemoveProc(ctx context.Context, id int) error {
	if id == 1 {
		return fmt.Errorf("dagr: RemoveProc(%d): worker %d is the scheduler's own process", id, id)
	}
	if thisWorker != nil {
		if id == MyID() {
			return fmt.Errorf("dagr: RemoveProc(%d) on worker %d: a worker cannot remove itself", id, id)
		}
		_, err := thisWorker.Ask(orBackground(ctx), wire.Ask{Remove: id})
		return err
	}
	if cl := s.cluster(); cl != nil {
		return cl.RemoveProc(orBackground(ctx), id)
	}
	return fmt.Errorf("dagr: RemoveProc(%d): no such worker (live workers: %v)", id, s.Workers(ctx))
}
