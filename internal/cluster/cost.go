package cluster

import (
	"time"

	"github.com/dagr/dagr/internal/cache"
)

// Placement weighs how soon a task may start on a worker: the tasks
// queued there before it, and the time to move its inputs there from
// where they are. Small data moves, large data stays, and an idle worker
// beats a busy one unless the task's inputs are large and elsewhere.

// Moving a task's inputs to another worker costs about this much time per
// byte on this machine's loopback, and this much per task.
const (
	MoveByteCost = 10 * time.Nanosecond
	MoveCost     = 300 * time.Microsecond
)

// defaultTaskTime is how long a task is taken to run when its options do
// not say (Options.TimeUtil): the wait behind each task queued before it.
const defaultTaskTime = time.Millisecond

// Inputs is where a task's inputs are: for each, the worker that has it
// and the size of its encoding.
type Inputs []Input

// Input is one of a task's inputs (see Inputs).
type Input struct {
	Worker int
	Size   int64
}

// InputsOf returns where args are: a *Value where it lives, any other
// value on worker 1, with its size estimated from its type.
func InputsOf(args []any) Inputs {
	in := make(Inputs, 0, len(args))
	for _, a := range args {
		if v, ok := a.(*Value); ok {
			w, size := v.Where()
			in = append(in, Input{w, size})
			continue
		}
		in = append(in, Input{1, cache.Sizeof(a)})
	}
	return in
}

// Away returns the bytes of in that are not on worker w.
func (in Inputs) Away(w int) int64 {
	var n int64
	for _, x := range in {
		if x.Worker != w {
			n += x.Size
		}
	}
	return n
}

// MoveTime is how long moving in to worker w takes.
func (in Inputs) MoveTime(w int) time.Duration {
	return time.Duration(in.Away(w)) * MoveByteCost
}

// HereCost is how long a task with inputs in takes to start on worker 1,
// on a processor that it holds: the moving of its inputs there, and, when
// other tasks wait for room there (waiting), one task's time (timeUtil, or
// defaultTaskTime), which is what sending it elsewhere would save them.
func HereCost(in Inputs, waiting bool, timeUtil time.Duration) time.Duration {
	cost := in.MoveTime(1)
	if waiting {
		cost += max(timeUtil, defaultTaskTime)
	}
	return cost
}

// startCost is how long a task with inputs in would take to start on w:
// the tasks queued there beyond its processors, each taken to run for
// timeUtil (or defaultTaskTime), and the moving of its inputs.
func startCost(w *workerProc, in Inputs, timeUtil time.Duration) time.Duration {
	if timeUtil <= 0 {
		timeUtil = defaultTaskTime
	}
	var wait time.Duration
	if queued := w.load - w.procs + 1; queued > 0 {
		wait = time.Duration(queued) * timeUtil / time.Duration(max(w.procs, 1))
	}
	return wait + MoveCost + in.MoveTime(w.id)
}
