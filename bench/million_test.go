package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// The DAGs of a million tasks: DESIGN.md wants them to run in at most 1 GiB.
const (
	layeredWidth  = 1000
	layeredDepth  = 1000
	millionLeaves = 1 << 19 // a tree of 2^20-1 tasks
)

// dagrLayered spawns depth layers of width tasks: node j of a layer adds
// nodes j and j+1 (mod width) of the layer above. Only the layer above is
// kept, as a program would: tasks that ended and that nothing needs can go.
func dagrLayered(ctx context.Context, width, depth int) (int, error) {
	above, layer := make([]*dagr.Task, width), make([]*dagr.Task, width)
	for j := range above {
		above[j] = dagr.Spawn(ctx, leaf, j)
	}
	for range depth - 1 {
		for j := range layer {
			layer[j] = dagr.Spawn(ctx, addMod, above[j], above[(j+1)%width])
		}
		above, layer = layer, above
	}
	sum := 0
	for _, t := range above {
		v, err := dagr.Fetch[int](ctx, t)
		if err != nil {
			return 0, err
		}
		sum = addMod(sum, v)
	}
	return sum, nil
}

// BenchmarkMillion runs DAGs of about a million tasks and reports the peak
// memory sampled while they run: peak-MiB is what the Go runtime holds
// from the OS (mapped, not released), peak-heap-MiB is the heap in use
// (MemStats.HeapInuse).
func BenchmarkMillion(b *testing.B) {
	b.Run("layered", func(b *testing.B) {
		want := layeredWant(layeredWidth, layeredDepth)
		ctx := schedulerContext(b, 0)
		measurePeak(b, layeredWidth*layeredDepth, want, func() (int, error) {
			return dagrLayered(ctx, layeredWidth, layeredDepth)
		})
	})
	b.Run("tree", func(b *testing.B) {
		ctx := schedulerContext(b, 0)
		measurePeak(b, 2*millionLeaves-1, treeWant(millionLeaves), func() (int, error) {
			return dagrTree(ctx, millionLeaves)
		})
	})
}

func measurePeak(b *testing.B, tasks, want int, run func() (int, error)) {
	// Start from a heap that holds nothing of the benchmarks before (the
	// deep recursions leave large freed stacks behind as unused heap).
	debug.FreeOSMemory()
	stop := samplePeak()
	w := workload{name: b.Name(), tasks: tasks, want: want}
	measure(b, w, run)
	peak := stop()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	const mib = 1 << 20
	b.ReportMetric(float64(peak.held)/mib, "peak-MiB")
	b.ReportMetric(float64(peak.heapInuse)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(ms.Sys)/mib, "sys-MiB")
}

type memPeak struct{ held, heapInuse uint64 }

// samplePeak samples the runtime's memory every millisecond, without
// stopping the world, until the returned function is called; that returns
// the peaks.
func samplePeak() (stop func() memPeak) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	var peak memPeak
	read := func() {
		metrics.Read(samples)
		v := func(i int) uint64 { return samples[i].Value.Uint64() }
		peak.held = max(peak.held, v(0)-v(1))
		peak.heapInuse = max(peak.heapInuse, v(2)+v(3))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() memPeak {
		close(done)
		wg.Wait()
		read()
		return peak
	}
}
