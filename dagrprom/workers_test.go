package dagrprom_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dagr/dagr"
	"github.com/dagr/dagr/dagrprom"
)

// The functions that tasks on workers run: every process of the test
// binary registers them in init, as a program would.
func init() { dagr.Register(bytesOf, lenOf) }

func bytesOf(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func lenOf(b []byte) int { return len(b) }

// TestCollectorWorkers: with a worker process, the collector counts two
// workers, reports each one's running tasks, and counts the bytes of a
// value made on worker 2 that a task on worker 1 took.
func TestCollectorWorkers(t *testing.T) {
	const size = 1 << 20 // over what a message carries: worker 1 pulls it
	s, err := dagr.New(dagr.Config{Procs: 1, WorkerProcs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	addCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := s.AddProcs(addCtx, 1); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(dagrprom.NewCollector(s))

	made := s.Spawn(ctx, bytesOf, dagr.Options{Single: 2}, size)
	n, err := dagr.Fetch[int](ctx, s.Spawn(ctx, lenOf, dagr.Options{Single: 1}, made))
	if err != nil || n != size {
		t.Fatalf("lenOf on worker 1: %d, %v; want %d", n, err, size)
	}

	if got := value(t, reg, "dagr_workers"); got != 2 {
		t.Errorf("dagr_workers = %v, want 2", got)
	}
	if got := value(t, reg, "dagr_bytes_moved_total"); got < size {
		t.Errorf("dagr_bytes_moved_total = %v, want at least %d", got, size)
	}
	if n, err := testutil.GatherAndCount(reg, "dagr_worker_running_tasks"); err != nil || n != 2 {
		t.Errorf("dagr_worker_running_tasks: %d series, %v; want one per worker", n, err)
	}
	if got := value(t, reg, "dagr_tasks_spawned_total"); got != 2 {
		t.Errorf("dagr_tasks_spawned_total = %v, want 2", got)
	}
}

// value returns the value of the one counter or gauge of the family name
// that g gathers.
func value(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) != 1 {
			continue
		}
		if m := mf.GetMetric()[0]; m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		} else if m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no single counter or gauge %s", name)
	return 0
}
