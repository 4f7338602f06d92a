package dagrprom_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/dagr/dagr"
	"github.com/dagr/dagr/dagrprom"
)

// newScheduler returns a scheduler of procs processors, closed when the
// test ends, and a context that carries it.
func newScheduler(t *testing.T, procs int) (*dagr.Scheduler, context.Context) {
	t.Helper()
	s, err := dagr.New(dagr.Config{Procs: procs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dagr.WithScheduler(context.Background(), s)
}

func add(a, b int) int { return a + b }

var errBroken = errors.New("broken")

func broken() (int, error) { return 0, errBroken }

// run spawns on s, and waits for, ok tasks that succeed, a task that fails
// and one downstream of it, which fails too, and running tasks cancelled
// while they run and one downstream of the last of them, which is
// cancelled too: all but the two downstream run. Then it closes s, after
// which the counts of Stats are exact: Sync returns once every task has
// ended, but Close only once every task is counted done.
func run(t *testing.T, s *dagr.Scheduler, ctx context.Context, ok, running int) {
	t.Helper()
	var last *dagr.Task
	err := s.Sync(ctx, func(ctx context.Context) error {
		for i := range ok {
			s.Spawn(ctx, add, i, i)
		}
		s.Spawn(ctx, add, s.Spawn(ctx, broken), 1)
		for range running {
			started := make(chan struct{})
			task := s.Spawn(ctx, func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				return ctx.Err()
			}, dagr.Options{Occupancy: dagr.NoOccupancy})
			<-started
			task.Cancel()
			last = task
		}
		s.Spawn(ctx, func(error) {}, last)
		return nil
	})
	if !errors.Is(err, errBroken) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync: %v, want the failure and the cancellations", err)
	}
	s.Close()
}

// TestCollectorCounts: after a known run, the counters and gauges are
// exact, the histogram has a run time per task that ran, and the
// metrics' names pass the linter.
func TestCollectorCounts(t *testing.T) {
	const ok, failed, running = 6, 2, 3
	const canceled = running + 1
	s, ctx := newScheduler(t, 2)
	c := dagrprom.NewCollector(s)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	run(t, s, ctx, ok, running)

	want := fmt.Sprintf(`
# HELP dagr_tasks_spawned_total Tasks spawned on the scheduler.
# TYPE dagr_tasks_spawned_total counter
dagr_tasks_spawned_total %d
# HELP dagr_tasks_ended_total Tasks that ended, by outcome: ok, failed (their own f or a task upstream failed) or canceled.
# TYPE dagr_tasks_ended_total counter
dagr_tasks_ended_total{outcome="canceled"} %d
dagr_tasks_ended_total{outcome="failed"} %d
dagr_tasks_ended_total{outcome="ok"} %d
# HELP dagr_tasks Tasks not ended, by state: queued (ready, waiting for a processor), running (blocked ones and those sent to other workers included), waiting (for their inputs).
# TYPE dagr_tasks gauge
dagr_tasks{state="queued"} 0
dagr_tasks{state="running"} 0
dagr_tasks{state="waiting"} 0
# HELP dagr_bytes_moved_total Bytes of values that the run's processes pulled from one another (other workers' as of their last heartbeats).
# TYPE dagr_bytes_moved_total counter
dagr_bytes_moved_total 0
# HELP dagr_workers Live workers, this process included.
# TYPE dagr_workers gauge
dagr_workers 1
# HELP dagr_processor_occupancy_ratio Share of a processor of this process that its running tasks hold, from 0 to 1.
# TYPE dagr_processor_occupancy_ratio gauge
dagr_processor_occupancy_ratio{thread="1"} 0
dagr_processor_occupancy_ratio{thread="2"} 0
# HELP dagr_worker_running_tasks Tasks that a live worker runs.
# TYPE dagr_worker_running_tasks gauge
dagr_worker_running_tasks{worker="1"} 0
`, ok+failed+canceled, canceled, failed, ok)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"dagr_tasks_spawned_total", "dagr_tasks_ended_total", "dagr_tasks", "dagr_bytes_moved_total",
		"dagr_workers", "dagr_processor_occupancy_ratio", "dagr_worker_running_tasks"); err != nil {
		t.Fatal(err)
	}

	h := histogram(t, reg, "dagr_task_duration_seconds")
	if ran := uint64(ok + 1 + running); h.GetSampleCount() != ran {
		t.Errorf("the histogram counts %d tasks, want the %d that ran", h.GetSampleCount(), ran)
	}
	if h.GetSampleSum() <= 0 {
		t.Errorf("the histogram's sum is %v", h.GetSampleSum())
	}
	var bound float64
	var below uint64
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() <= bound || b.GetCumulativeCount() < below || b.GetCumulativeCount() > h.GetSampleCount() {
			t.Errorf("bucket le=%v of %d after le=%v of %d, of %d in all", b.GetUpperBound(), b.GetCumulativeCount(), bound, below, h.GetSampleCount())
		}
		bound, below = b.GetUpperBound(), b.GetCumulativeCount()
	}
	if n := len(h.GetBucket()); n == 0 || bound < 60 {
		t.Errorf("%d buckets, the last up to %vs", n, bound)
	}

	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestCollectorTiming: NewCollector turns timing on unless told not to,
// and keeps the histogram of timing that is on already.
func TestCollectorTiming(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  bool // timing is on before NewCollector
		opts    []dagrprom.Option
		samples int // the histograms reported: 0 or 1
		count   uint64
	}{
		{"default", false, nil, 1, 1},
		{"kept", true, nil, 1, 2},
		{"WithoutTiming", false, []dagrprom.Option{dagrprom.WithoutTiming()}, 0, 0},
		{"WithoutTiming on", true, []dagrprom.Option{dagrprom.WithoutTiming()}, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := newScheduler(t, 1)
			if tc.before {
				s.EnableTiming()
			}
			if err := s.Spawn(ctx, add, 1, 2).Wait(ctx); err != nil {
				t.Fatal(err)
			}
			c := dagrprom.NewCollector(s, tc.opts...)
			if err := s.Spawn(ctx, add, 3, 4).Wait(ctx); err != nil {
				t.Fatal(err)
			}
			s.Close() // the second task's run time is counted
			if n := testutil.CollectAndCount(c, "dagr_task_duration_seconds"); n != tc.samples {
				t.Fatalf("%d histograms reported, want %d", n, tc.samples)
			}
			if tc.samples == 0 {
				return
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(c)
			if h := histogram(t, reg, "dagr_task_duration_seconds"); h.GetSampleCount() != tc.count {
				t.Fatalf("the histogram counts %d tasks, want %d", h.GetSampleCount(), tc.count)
			}
		})
	}
}

// TestCollectorConstLabels: collectors of two schedulers go on one
// registry when their labels differ, and not when they are the same.
func TestCollectorConstLabels(t *testing.T) {
	s1, _ := newScheduler(t, 1)
	s2, ctx2 := newScheduler(t, 1)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(dagrprom.NewCollector(s1, dagrprom.WithConstLabels(prometheus.Labels{"scheduler": "one"})))
	reg.MustRegister(dagrprom.NewCollector(s2, dagrprom.WithConstLabels(prometheus.Labels{"scheduler": "two"})))
	if err := s2.Spawn(ctx2, add, 1, 2).Wait(ctx2); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP dagr_tasks_spawned_total Tasks spawned on the scheduler.
# TYPE dagr_tasks_spawned_total counter
dagr_tasks_spawned_total{scheduler="one"} 0
dagr_tasks_spawned_total{scheduler="two"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "dagr_tasks_spawned_total"); err != nil {
		t.Fatal(err)
	}
	again := dagrprom.NewCollector(s1, dagrprom.WithConstLabels(prometheus.Labels{"scheduler": "two"}))
	if err := reg.Register(again); err == nil {
		t.Fatal("a second collector with the labels of one registered registers too")
	}
	taken := dagrprom.NewCollector(s1, dagrprom.WithConstLabels(prometheus.Labels{"worker": "1"}))
	if err := prometheus.NewPedanticRegistry().Register(taken); err == nil {
		t.Fatal("a collector with a const label named worker registers")
	}
}

// histogram returns the one histogram of the family name that g gathers.
func histogram(t *testing.T, g prometheus.Gatherer, name string) *dto.Histogram {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetHistogram()
		}
	}
	t.Fatalf("no histogram %s", name)
	return nil
}

// TestCollectorCountersNeverDecrease: scrapes while tasks end, fail and
// are cancelled see no counter go down, which Prometheus would take for a
// restart.
func TestCollectorCountersNeverDecrease(t *testing.T) {
	s, ctx := newScheduler(t, 2)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(dagrprom.NewCollector(s))
	done := make(chan error)
	go func() {
		done <- s.Sync(ctx, func(ctx context.Context) error {
			for i := range 2000 {
				switch i % 3 {
				case 0:
					s.Spawn(ctx, add, i, i)
				case 1:
					s.Spawn(ctx, add, s.Spawn(ctx, broken), i)
				case 2:
					s.Spawn(ctx, waitForCancel).Cancel()
				}
			}
			return nil
		})
	}()
	last := map[string]float64{}
	check := func() {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				v := m.GetCounter().GetValue() // 0 for others
				if h := m.GetHistogram(); h != nil {
					v = float64(h.GetSampleCount())
				}
				key := mf.GetName() + fmt.Sprint(m.GetLabel())
				if v < last[key] {
					t.Fatalf("%s went down from %v to %v", key, last[key], v)
				}
				last[key] = v
			}
		}
	}
	for {
		select {
		case err := <-done:
			if !errors.Is(err, errBroken) {
				t.Fatalf("Sync: %v", err)
			}
			check()
			return
		default:
			check()
		}
	}
}

func waitForCancel(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}
