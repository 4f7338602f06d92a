package dagr_test

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// lazyLargeSize is the number of thunks of the large lazy DAGs: 1M, as the
// design asks. Both tests take about 2 s each without -race and about 10 s
// each with it (measured on 2 cores), so they run at full size either way.
const lazyLargeSize = 1_000_000

func lazyInc(v int) int { return v + 1 }

// lazyMemPeak samples the memory the Go runtime holds from the OS (mapped
// and not released: heap, stacks, runtime structures) until stop is called,
// and returns the highest sample.
type lazyMemPeak struct {
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	peak     uint64
}

func lazyStartMemPeak() *lazyMemPeak {
	m := &lazyMemPeak{stop: make(chan struct{}), done: make(chan struct{})}
	m.peak = lazyMemInUse()
	go func() {
		defer close(m.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := lazyMemInUse(); v > m.peak {
				m.peak = v
			}
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

// Stop ends the sampling and returns the peak; it may be called more than
// once.
func (m *lazyMemPeak) Stop() uint64 {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.done
	if v := lazyMemInUse(); v > m.peak {
		m.peak = v
	}
	return m.peak
}

var lazyMemSamples = []metrics.Sample{
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
}

var lazyMemMu sync.Mutex

// lazyMemInUse is the memory the runtime has mapped minus what it gave back
// to the OS: close to the process's resident Go memory.
func lazyMemInUse() uint64 {
	lazyMemMu.Lock()
	defer lazyMemMu.Unlock()
	metrics.Read(lazyMemSamples)
	return lazyMemSamples[0].Value.Uint64() - lazyMemSamples[1].Value.Uint64()
}

const lazyGiB = 1 << 30

// lazyHighWater returns the process's peak resident set size as Linux
// reports it (VmHWM), for the log only; "" elsewhere.
func lazyHighWater() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

func TestLazyLargeChain(t *testing.T) {
	n := lazyLargeSize
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
	runtime.GC()
	mem := lazyStartMemPeak()
	defer mem.Stop()

	start := time.Now()
	th := dagr.Delayed(lazyInc, 0)
	for range n - 1 {
		th = dagr.Delayed(lazyInc, th)
	}
	built := time.Since(start)
	v, err := dagr.Collect(ctx, th)
	peak := mem.Stop()
	if err != nil {
		t.Fatalf("a chain of %d thunks: %v", n, err)
	}
	if v != n {
		t.Fatalf("a chain of %d thunks = %v, want %d", n, v, n)
	}
	t.Logf("chain of %d thunks: built in %v, computed in %v; peak Go memory %.0f MiB (process VmHWM so far: %s)",
		n, built, time.Since(start)-built, float64(peak)/(1<<20), lazyHighWater())
	if peak >= lazyGiB {
		t.Errorf("peak memory %d MiB, want < 1024 MiB", peak>>20)
	}
}

func TestLazyLargeDAG(t *testing.T) {
	n := lazyLargeSize
	chains, length := 1000, n/1000
	ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
	runtime.GC()
	mem := lazyStartMemPeak()
	defer mem.Stop()

	// chains independent chains of length thunks, the j-th starting from j,
	// summed by a final thunk: chains*length+1 thunks in all.
	start := time.Now()
	ends := make([]any, chains)
	for j := range chains {
		th := dagr.Delayed(lazyInc, j)
		for range length - 1 {
			th = dagr.Delayed(lazyInc, th)
		}
		ends[j] = th
	}
	top := dagr.Delayed(lazyCombine, ends...)
	ends = nil
	built := time.Since(start)
	v, err := dagr.Collect(ctx, top)
	peak := mem.Stop()
	if err != nil {
		t.Fatalf("a DAG of %d thunks: %v", chains*length+1, err)
	}
	want := chains*(chains-1)/2 + chains*length
	if v != want {
		t.Fatalf("a DAG of %d thunks = %v, want %d", chains*length+1, v, want)
	}
	t.Logf("DAG of %d thunks (%d chains of %d): built in %v, computed in %v; peak Go memory %.0f MiB (process VmHWM so far: %s)",
		chains*length+1, chains, length, built, time.Since(start)-built, float64(peak)/(1<<20), lazyHighWater())
	if peak >= lazyGiB {
		t.Errorf("peak memory %d MiB, want < 1024 MiB", peak>>20)
	}
}
