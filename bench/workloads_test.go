package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// impl is one form of a workload. start prepares it (outside the timed
// loop) and returns one run of it; tb's Cleanup releases what start made.
type impl struct {
	name  string
	start func(tb testing.TB) func() (int, error)
}

// workload is a DAG computed by several impls, each of which must return
// want.
type workload struct {
	name  string
	tasks int // tasks (or goroutines) per run, for the per-task metrics
	want  int
	impls []impl // baselines first, dagr last: dagr's ratios need them

	// gomaxprocs, when not 0, is GOMAXPROCS while the forms run (testing
	// sets it anew for each sub-benchmark, from -cpu).
	gomaxprocs int
}

func newWorkload(name string, tasks, want int, impls ...impl) workload {
	return workload{name: name, tasks: tasks, want: want, impls: impls}
}

// plain is a hand-written form that cannot fail.
func plain(name string, run func() int) impl {
	return impl{name, func(testing.TB) func() (int, error) {
		return func() (int, error) { return run(), nil }
	}}
}

// dagrImpl runs run on a scheduler of procs processors (0: GOMAXPROCS).
func dagrImpl(procs int, run func(ctx context.Context) (int, error)) impl {
	return impl{"dagr", func(tb testing.TB) func() (int, error) {
		ctx := schedulerContext(tb, procs)
		return func() (int, error) { return run(ctx) }
	}}
}

// schedulerContext makes a scheduler of procs processors, closed when tb
// ends, and returns a context that carries it.
func schedulerContext(tb testing.TB, procs int) context.Context {
	s, err := dagr.New(dagr.Config{Procs: procs})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return dagr.WithScheduler(context.Background(), s)
}

func fanOut(n int) workload {
	return newWorkload("W1FanOut", n, fanOutWant(n),
		plain("goroutine", func() int { return goFanOut(n) }),
		plain("waitgroup", func() int { return waitGroupFanOut(n) }),
		dagrImpl(0, func(ctx context.Context) (int, error) { return dagrFanOut(ctx, n) }),
	)
}

func chain(n int) workload {
	return newWorkload("W2Chain", n, n,
		plain("goroutine", func() int { return goChain(n) }),
		plain("ready", func() int { return readyChain(n) }),
		dagrImpl(0, func(ctx context.Context) (int, error) { return dagrChain(ctx, n) }),
	)
}

func tree(leaves int) workload {
	return newWorkload("W3Tree", 2*leaves-1, treeWant(leaves),
		plain("goroutine", func() int { return goTree(leaves) }),
		plain("ready", func() int { return readyTree(leaves) }),
		dagrImpl(0, func(ctx context.Context) (int, error) { return dagrTree(ctx, leaves) }),
	)
}

func nestedFib(n int) workload {
	return newWorkload("W4NestedFib", fibTasks(n), fibSerial(n),
		plain("goroutine", func() int { return goFibRoot(n) }),
		dagrImpl(0, func(ctx context.Context) (int, error) { return dagrFibRoot(ctx, n) }),
	)
}

func wavefront(n int) workload {
	return newWorkload("W5Wavefront", n*n, wavefrontWant(n),
		plain("goroutine", func() int { return goWavefront(n) }),
		plain("ready", func() int { return readyWavefront(n) }),
		dagrImpl(0, func(ctx context.Context) (int, error) { return dagrWavefront(ctx, n) }),
	)
}

// tiledMatmul has a serial form: the parallel forms report their speed-up
// over it. Each form multiplies into a C of its own. procs, when not 0, is
// both GOMAXPROCS and dagr's Procs.
func tiledMatmul(n, tile, procs int) workload {
	want := serialMatmul(newMatmul(n, tile))
	withMatrices := func(name string, run func(m *matmul) int) impl {
		return impl{name, func(testing.TB) func() (int, error) {
			m := newMatmul(n, tile)
			return func() (int, error) { return run(m), nil }
		}}
	}
	dagrForm := impl{"dagr", func(tb testing.TB) func() (int, error) {
		m := newMatmul(n, tile)
		ctx := schedulerContext(tb, procs)
		return func() (int, error) { return dagrMatmul(ctx, m) }
	}}
	w := newWorkload("W6Matmul", (n/tile)*(n/tile), want,
		withMatrices("serial", serialMatmul),
		withMatrices("goroutine", goMatmul),
		dagrForm,
	)
	w.gomaxprocs = procs
	return w
}

func seed() workload {
	return newWorkload("W7Seed", 4, 16,
		plain("goroutine", goSeed),
		dagrImpl(0, dagrSeed),
	)
}

func contention(spawners, n int) workload {
	return newWorkload("Contention", spawners*n, spawners*fanOutWant(n),
		plain("goroutine", func() int { return goContention(spawners, n) }),
		dagrImpl(0, func(ctx context.Context) (int, error) { return dagrContention(ctx, spawners, n) }),
	)
}

func emptyTasks(n int) workload {
	return newWorkload("EmptyTasks", n, n,
		plain("goroutine", func() int { return goEmpty(n) }),
		plain("waitgroup", func() int { return waitGroupEmpty(n) }),
		dagrImpl(0, func(ctx context.Context) (int, error) { return dagrEmpty(ctx, n) }),
	)
}

// The sizes of DESIGN.md's performance targets.
const (
	fanOutN     = 10_000
	chainN      = 10_000
	treeLeaves  = 16_384
	fibN        = 18 // 8361 tasks
	wavefrontN  = 64
	matmulN     = 512
	matmulTile  = 64
	spawners    = 8
	perSpawner  = 2_000
	emptyTasksN = 10_000
)

func BenchmarkW1FanOut(b *testing.B)    { sideBySide(b, fanOut(fanOutN)) }
func BenchmarkW2Chain(b *testing.B)     { sideBySide(b, chain(chainN)) }
func BenchmarkW3Tree(b *testing.B)      { sideBySide(b, tree(treeLeaves)) }
func BenchmarkW4NestedFib(b *testing.B) { sideBySide(b, nestedFib(fibN)) }
func BenchmarkW5Wavefront(b *testing.B) { sideBySide(b, wavefront(wavefrontN)) }
func BenchmarkW6Matmul(b *testing.B)    { sideBySide(b, tiledMatmul(matmulN, matmulTile, 0)) }
func BenchmarkW7Seed(b *testing.B)      { sideBySide(b, seed()) }

// BenchmarkContention has spawners goroutines spawn perSpawner tasks each,
// all at once, then fetch them.
func BenchmarkContention(b *testing.B) { sideBySide(b, contention(spawners, perSpawner)) }

// BenchmarkEmptyTasks is W1 with tasks that take and return nothing: the
// floor of a task's cost in time and memory.
func BenchmarkEmptyTasks(b *testing.B) { sideBySide(b, emptyTasks(emptyTasksN)) }

// BenchmarkW6Scaling runs W6 with GOMAXPROCS, and dagr's Procs, at 1 and 2.
func BenchmarkW6Scaling(b *testing.B) {
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
			sideBySide(b, tiledMatmul(matmulN, matmulTile, procs))
		})
	}
}

// sideBySide runs each form of w as a sub-benchmark, in order, and reports
// its time and memory per task. The dagr form reports its time over each
// earlier form's (x-goroutine, x-ready, ...); under a workload with a
// serial form, the parallel forms report their speed-up over it. The
// ratios come from an interleaved comparison of the two forms after the
// timed loop (see pairedRatio); with -paired.rounds=0, from the timed
// loops themselves, against the median of the earlier form's runs (with
// -count, each sub-benchmark runs count times in a row).
func sideBySide(b *testing.B, w workload) {
	nsPerOp := make(map[string][]float64) // of the forms that have run
	for i, im := range w.impls {
		b.Run(im.name, func(b *testing.B) {
			if w.gomaxprocs > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(w.gomaxprocs))
			}
			run := im.start(b)
			measure(b, w, run)
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			for _, base := range w.impls[:i] {
				baseNs, ok := median(nsPerOp[base.name])
				if !ok { // filtered out by -bench
					continue
				}
				ratio := ns / baseNs
				if *pairedRounds > 0 && (im.name == "dagr" || base.name == "serial") {
					ratio = pairedRatio(b, w, base.start(b), run, time.Duration(baseNs), time.Duration(ns))
				}
				switch {
				case base.name == "serial":
					b.ReportMetric(1/ratio, "speedup")
				case im.name == "dagr":
					b.ReportMetric(ratio, "x-"+base.name)
				}
			}
			nsPerOp[im.name] = append(nsPerOp[im.name], ns)
		})
	}
}

func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2, true
}

// measure times run with b.Loop, checks every result, and reports the time
// and memory per task.
func measure(b *testing.B, w workload, run func() (int, error)) {
	bytes, mallocs := loopChecked(b, w.name, w.want, run)
	tasks := float64(b.N) * float64(w.tasks)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/tasks, "ns/task")
	b.ReportMetric(float64(bytes)/tasks, "B/task")
	b.ReportMetric(float64(mallocs)/tasks, "allocs/task")
}

// loopChecked times run with b.Loop, failing b when run fails or computes
// anything but want, and returns the bytes and the allocations made
// meanwhile.
func loopChecked(b *testing.B, what string, want int, run func() (int, error)) (bytes, mallocs uint64) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		got, err := run()
		if err != nil {
			b.Fatal(err)
		}
		if got != want {
			b.Fatalf("%s computed %d, want %d", what, got, want)
		}
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, after.Mallocs - before.Mallocs
}
