package sched

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// The engine's counters, for the public Stats: what ended how, what waits
// where, and, while timing is on, how long tasks ran. Only failures are
// counted as they happen (a node that ends well is counted by its
// release), so that the common path pays nothing; run times cost two
// reads of the clock per task, and are taken only while timing is on.

// ProcStat is the state of one processor at one moment.
type ProcStat struct {
	Queued  int    // nodes in its ready queue
	Running int    // nodes running on it (blocked ones included)
	Used    uint32 // occupancy its running nodes hold, of FullOccupancy
}

// ProcStats returns the state of each processor, in order.
func (s *Scheduler) ProcStats() []ProcStat {
	out := make([]ProcStat, len(s.procs))
	for i, p := range s.procs {
		p.mu.Lock()
		out[i] = ProcStat{Queued: p.queue.len(), Running: len(p.running), Used: p.used.Load()}
		p.mu.Unlock()
	}
	return out
}

// Deferred returns the number of queued nodes waiting for a runner to
// place them (see Scheduler.starting).
func (s *Scheduler) Deferred() int { return int(s.deferredN.Load()) }

// Ends returns the number of nodes that failed and that were cancelled so
// far.
func (s *Scheduler) Ends() (failed, canceled int64) {
	return s.failed.Load(), s.canceled.Load()
}

// countEnd counts a node that ended with failure f.
func (s *Scheduler) countEnd(f *Failure) {
	if errors.Is(f.Err, context.Canceled) {
		s.canceled.Add(1)
	} else {
		s.failed.Add(1)
	}
}

// TimingBounds are the upper bounds of the buckets of run times: powers
// of 4 from 1µs to about 68 s. A last bucket holds the longer ones.
var TimingBounds = func() []time.Duration {
	var b []time.Duration
	for d := time.Microsecond; d <= 70*time.Second; d *= 4 {
		b = append(b, d)
	}
	return b
}()

// timing is a histogram of run times.
type timing struct {
	counts []atomic.Uint64 // len(TimingBounds)+1
	sum    atomic.Int64    // nanoseconds
}

// EnableTiming starts a fresh histogram of the run times of nodes (a
// node's Restore, tries of f and Checkpoint, on this process).
func (s *Scheduler) EnableTiming() {
	s.timing.Store(&timing{counts: make([]atomic.Uint64, len(TimingBounds)+1)})
}

// DisableTiming stops it; its counts are dropped.
func (s *Scheduler) DisableTiming() { s.timing.Store(nil) }

// Timing returns the histogram's counts (counts[i] nodes ran at most
// TimingBounds[i] and more than the bound before it) and their sum, or
// nil while timing is off.
func (s *Scheduler) Timing() (counts []uint64, sum time.Duration) {
	t := s.timing.Load()
	if t == nil {
		return nil, 0
	}
	counts = make([]uint64, len(t.counts))
	for i := range t.counts {
		counts[i] = t.counts[i].Load()
	}
	return counts, time.Duration(t.sum.Load())
}

// observe adds a run time of d.
func (t *timing) observe(d time.Duration) {
	i := 0
	for i < len(TimingBounds) && d > TimingBounds[i] {
		i++
	}
	t.counts[i].Add(1)
	t.sum.Add(int64(d))
}
