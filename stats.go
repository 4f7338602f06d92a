package dagr

import (
	"slices"
	"time"

	"github.com/dagr/dagr/internal/sched"
)

// Stats is a snapshot of a scheduler's tasks, processors and workers, for
// dashboards and metrics (see Scheduler.Stats). The counts of tasks are
// read one after another while tasks run, so that they may disagree by
// the few tasks that moved meanwhile. They count every task of the
// scheduler, those it makes for itself included (on worker 1, a handle of
// a task that arrived in a value from another worker).
type Stats struct {
	Spawned  int64 // tasks spawned on the scheduler so far
	Done     int64 // tasks that ended, whichever way, and whose f has returned
	Failed   int64 // tasks that failed (their own f, or a task upstream)
	Canceled int64 // tasks that were cancelled
	Queued   int64 // tasks ready to run, waiting for a processor
	Running  int64 // tasks running on this process's processors (those sent to other workers too)

	Procs   []ProcStats   // this process's processors, in order
	Workers []WorkerStats // the live workers, worker 1 (this process) first

	// BytesMoved is the number of bytes of values that the run's processes
	// pulled from one another: by this process, and by the other workers
	// as of their last heartbeats.
	BytesMoved int64

	// Timing is the histogram of the run times of tasks on this process
	// since EnableTiming, nil while timing is off.
	Timing *Timing
}

// ProcStats is the state of one processor of this process.
type ProcStats struct {
	Thread    int     // its number, from 1 (Options.Thread)
	Queued    int     // tasks in its queue
	Running   int     // tasks running on it, blocked ones included
	Occupancy float64 // the share of it that its running tasks hold, from 0 to 1 (Options.Occupancy)
}

// WorkerStats is the state of one live worker.
type WorkerStats struct {
	ID    int // its worker id (MyID on it)
	Procs int // its processors
	// Running is the number of tasks that run on it: on worker 1, those
	// of Stats.Running that it did not send to other workers; on another,
	// the tasks sent to it and not yet done. A task cancelled on worker 1
	// counts on its worker until that worker says it ended, so worker 1's
	// count may be short by those meanwhile.
	Running int
}

// Timing is a histogram of tasks' run times: from the start of a task on
// a processor to its end there (its Restore, its tries of f, its
// Checkpoint). A task sent to another worker counts its time there and
// the trip.
type Timing struct {
	// Bounds are the buckets' upper bounds, ascending; Counts[i] is the
	// number of tasks that ran longer than Bounds[i-1] and at most
	// Bounds[i], and the last count, Counts[len(Bounds)], is of those that
	// ran longer than every bound.
	Bounds []time.Duration
	Counts []uint64
	Count  uint64        // the tasks timed: the sum of Counts
	Sum    time.Duration // the sum of their run times
}

// Stats returns a snapshot of s: its tasks by state, its processors, its
// workers, the bytes moved between them and, while timing is on, a
// histogram of run times.
func (s *Scheduler) Stats() Stats {
	spawned, released := s.eng.Counts()
	failed, canceled := s.eng.Ends()
	st := Stats{Spawned: spawned, Done: released, Failed: failed, Canceled: canceled, Queued: int64(s.eng.Deferred())}
	for i, p := range s.eng.ProcStats() {
		st.Procs = append(st.Procs, ProcStats{Thread: i + 1, Queued: p.Queued, Running: p.Running,
			Occupancy: float64(p.Used) / float64(sched.FullOccupancy)})
		st.Queued += int64(p.Queued)
		st.Running += int64(p.Running)
	}
	st.Workers = []WorkerStats{{ID: MyID(), Procs: len(st.Procs), Running: int(st.Running)}}
	if cl := s.cluster(); cl != nil {
		for _, w := range cl.Loads() {
			if w.ID != MyID() {
				st.Workers = append(st.Workers, WorkerStats{ID: w.ID, Procs: w.Procs, Running: w.Load})
				// Its tasks wait on worker 1's processors for their ends.
				st.Workers[0].Running = max(st.Workers[0].Running-w.Load, 0)
			}
		}
		st.BytesMoved = cl.Moved()
	}
	if counts, sum := s.eng.Timing(); counts != nil {
		t := &Timing{Bounds: slices.Clone(sched.TimingBounds), Counts: counts, Sum: sum}
		for _, c := range counts {
			t.Count += c
		}
		st.Timing = t
	}
	return st
}

// EnableTiming starts a fresh histogram of s's tasks' run times, which
// Stats returns: it costs two reads of the clock per task. Off by
// default. Called while timing is on, it starts afresh: a metrics
// collector that reads the histogram then sees its counts go down.
func (s *Scheduler) EnableTiming() { s.eng.EnableTiming() }

// DisableTiming stops the histogram of run times and drops it.
func (s *Scheduler) DisableTiming() { s.eng.DisableTiming() }
