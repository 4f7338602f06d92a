package dagr_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/dagr/dagr"
)

// TestStats: while two tasks block on a scheduler of two processors, Stats
// counts them running, the tasks after them queued, and each processor
// full; after a known run, it counts every task done, the failures (the
// failed task and the one downstream of it) and the cancellations, and
// the histogram of run times has one entry per task that ran.
func TestStats(t *testing.T) {
	s, ctx := schedulerOf(t, 2)
	s.EnableTiming()
	var ran atomic.Int64
	gate := make(chan struct{})
	started := make(chan struct{}, 16)
	block := func() int {
		ran.Add(1)
		started <- struct{}{}
		<-gate
		return 1
	}
	var spawned int64
	spawn := func(ctx context.Context, f any, args ...any) *dagr.Task {
		spawned++
		return dagr.Spawn(ctx, f, args...)
	}
	var blocked []*dagr.Task
	for range 2 {
		blocked = append(blocked, spawn(ctx, block))
	}
	for range 2 {
		<-started
	}
	for range 3 {
		blocked = append(blocked, spawn(ctx, block))
	}
	after := spawn(ctx, func(x int) int { ran.Add(1); return x }, blocked[0]) // waits for its input

	st := s.Stats()
	if st.Running != 2 || st.Queued != 3 || st.Spawned != spawned || st.Done != 0 {
		t.Errorf("with 2 tasks running and 3 queued: Stats = running %d, queued %d, spawned %d, done %d", st.Running, st.Queued, st.Spawned, st.Done)
	}
	if len(st.Procs) != 2 {
		t.Fatalf("Stats.Procs = %+v, want 2 processors", st.Procs)
	}
	for i, p := range st.Procs {
		if p.Thread != i+1 || p.Running != 1 || p.Occupancy != 1 {
			t.Errorf("processor %d: %+v, want thread %d, 1 running, occupancy 1", i, p, i+1)
		}
	}
	if len(st.Workers) != 1 || st.Workers[0] != (dagr.WorkerStats{ID: 1, Procs: 2, Running: 2}) {
		t.Errorf("Stats.Workers = %+v, want worker 1 of 2 processors running 2 tasks", st.Workers)
	}
	if st.Timing == nil || st.Timing.Count != 0 {
		t.Errorf("Stats.Timing = %+v before any task ended, want an empty histogram", st.Timing)
	}
	close(gate)
	for _, task := range append(blocked, after) {
		if _, err := task.Fetch(ctx); err != nil {
			t.Fatal(err)
		}
	}

	failed := spawn(ctx, func() (int, error) { ran.Add(1); return failOn(1) })
	downstream := spawn(ctx, func(x int) int { ran.Add(1); return x }, failed)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	canceled := spawn(cctx, func() int { ran.Add(1); return 0 })
	for _, task := range []*dagr.Task{failed, downstream, canceled} {
		if _, err := task.Fetch(ctx); err == nil {
			t.Fatalf("task %d did not fail", task.ID())
		}
	}
	s.Close() // every task released: the counts are final

	st = s.Stats()
	if st.Spawned != spawned || st.Done != spawned || st.Failed != 2 || st.Canceled != 1 || st.Running != 0 || st.Queued != 0 {
		t.Errorf("after the run: spawned %d, done %d, failed %d, canceled %d, running %d, queued %d; want %d, %d, 2, 1, 0, 0",
			st.Spawned, st.Done, st.Failed, st.Canceled, st.Running, st.Queued, spawned, spawned)
	}
	tm := st.Timing
	if tm == nil || int64(tm.Count) != ran.Load() || len(tm.Counts) != len(tm.Bounds)+1 {
		t.Fatalf("Stats.Timing = %+v, want %d tasks timed", tm, ran.Load())
	}
	var sum uint64
	for _, c := range tm.Counts {
		sum += c
	}
	if sum != tm.Count || tm.Sum <= 0 {
		t.Errorf("Timing: counts %v sum to %d, of %d tasks, in %v", tm.Counts, sum, tm.Count, tm.Sum)
	}
	for i := 1; i < len(tm.Bounds); i++ {
		if tm.Bounds[i] <= tm.Bounds[i-1] {
			t.Fatalf("Timing.Bounds are not ascending: %v", tm.Bounds)
		}
	}
	// The two tasks that blocked first ran while the test checked the
	// stats above: longer than the shortest bucket.
	if tm.Counts[0] > tm.Count-2 {
		t.Errorf("Timing: %d of %d tasks in the first bucket (at most %v), but two blocked", tm.Counts[0], tm.Count, tm.Bounds[0])
	}
	s.DisableTiming()
	if s.Stats().Timing != nil {
		t.Error("Stats.Timing is not nil after DisableTiming")
	}
}

// TestStatsTimingOff: with timing off, Stats has no histogram, and tasks
// are counted all the same.
func TestStatsTimingOff(t *testing.T) {
	s, ctx := schedulerOf(t, 1)
	for i := range 10 {
		if _, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, add, i, i)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if st := s.Stats(); st.Timing != nil || st.Spawned != 10 || st.Done != 10 || st.Failed != 0 {
		t.Fatalf("Stats = %+v, want 10 tasks done and no histogram", st)
	}
}
