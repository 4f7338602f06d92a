// The cliff benchmarks: shapes on which dagr's engine fell (or falls) far
// behind hand-written Go, each measured beside its baselines in one run, as
// the workloads of workloads_test.go are. The dagr form reports its time
// over each baseline's median (x-<baseline>).
//
//   - BenchmarkCliffDeep, BenchmarkCliffDeepLarge: deep recursion. A task
//     spawns sum(n-1) with the context it was handed and fetches it
//     (sum(0) = 0), n levels deep: n = 1000 and 10000 on Procs 2 (Deep),
//     n = 100000 on Procs 2 and 1000000 on Procs 1 (DeepLarge). Baselines:
//     plain Go recursion (recursion) and a goroutine per level that waits
//     for its child on a channel (goroutine). Reports ns/level. The large
//     sizes are apart so that -skip can leave them out: an engine that runs
//     inline children on one stack may need minutes, or overflow the
//     goroutine stack limit and crash the whole test binary.
//   - BenchmarkCliffPriorities: 40000 tasks queued at once on a Procs 1
//     scheduler (its processor blocked by a task waiting on a channel, then
//     released), with one priority, 64 priorities (i%64), or a distinct
//     priority per task (ascending: each task outranks the ones before).
//     Baseline: a container/heap of the same 40000 items pushed, then
//     popped. Reports ns/task; every form checks that the tasks ran in
//     priority order.
//   - BenchmarkCliffStarvation: a batch of 2000 CPU-bound tasks of about
//     20 µs each (a spin loop calibrated in iterations), while 2 other
//     goroutines spin on an atomic flag without ever yielding. dagr on the
//     default Procs against 2 worker goroutines reading a channel (pool).
//     Reports ms/batch.
//   - BenchmarkCliffSpawnLoop: one goroutine spawns 100000 empty tasks in a
//     tight loop, then waits for all. Reports tasks/s and ran/spawned, the
//     share of the tasks that had run when the loop ended (0: the runners
//     starve while one goroutine spawns). Baseline: a goroutine per task.
//   - BenchmarkCliffProcs: 100000 empty tasks spawned, then waited for (as
//     BenchmarkEmptyTasks), on schedulers of 2, 8, 64 and 1000 processors.
//     Reports ns/task; each dagr form reports x-goroutine and x-procs=2, its
//     time over the Procs 2 form's, which should stay about 1.
//
// BenchmarkW6Matmul covers coarse tasks. Run:
//
//	go test -run '^$' -bench Cliff -skip CliffDeepLarge -benchtime 3x ./bench/
//	go test -run '^$' -bench Cliff -benchtime 3x -timeout 30m ./bench/
//	go test -run '^$' -bench 'CliffDeepLarge/procs=1' -benchtime 1x ./bench/
//
// The first leaves out the large recursions; the second runs everything.

package bench

import (
	"context"
	"fmt"
	"testing"
)

// The sizes of the cliff benchmarks.
const (
	priorityTasks   = 40_000
	starvationTasks = 2_000
	spinners        = 2
	spawnLoopTasks  = 100_000
	procsTasks      = 100_000
)

// cliff is a workload measured in several forms, one after the other.
type cliff struct {
	name      string
	per       int    // units (levels, tasks, batches) per run
	unit      string // the unit of the per-unit metrics
	ms        bool   // report time per unit in ms rather than ns
	perSecond bool   // also report units per second
	want      int
	forms     []cliffForm // each after the forms it is compared with
}

// cliffForm is one form of a cliff. start prepares it outside the timed
// loop and returns one run; tb's Cleanup releases what it made. A run may
// add per-run observations to p, reported as their mean per run.
type cliffForm struct {
	name  string
	start func(tb testing.TB, p *probe) func() (int, error)
	vs    []string // earlier forms to report this one's time over, as x-<name>
}

// probe sums observations per unit over the runs of a form.
type probe struct{ sums map[string]float64 }

func (p *probe) add(unit string, v float64) {
	if p.sums == nil {
		p.sums = make(map[string]float64)
	}
	p.sums[unit] += v
}

func plainForm(name string, run func() int) cliffForm {
	return cliffForm{name: name, start: func(testing.TB, *probe) func() (int, error) {
		return func() (int, error) { return run(), nil }
	}}
}

// dagrForm runs run on a scheduler of procs processors (0: GOMAXPROCS),
// closed when the form ends, and compares it with the forms vs.
func dagrForm(name string, procs int, run func(ctx context.Context) (int, error), vs ...string) cliffForm {
	return cliffForm{name: name, vs: vs, start: func(tb testing.TB, _ *probe) func() (int, error) {
		ctx := schedulerContext(tb, procs)
		return func() (int, error) { return run(ctx) }
	}}
}

// runCliff runs each form of c as a sub-benchmark, in order, and reports
// time, bytes and allocations per unit, and ratios to earlier forms (the
// median over -count of theirs).
func runCliff(b *testing.B, c cliff) {
	nsPerOp := make(map[string][]float64)
	for _, f := range c.forms {
		b.Run(f.name, func(b *testing.B) {
			var p probe
			run := f.start(b, &p)
			bytes, mallocs := loopChecked(b, c.name+"/"+f.name, c.want, run)
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			units := float64(b.N) * float64(c.per)
			perUnit := ns / float64(c.per)
			if c.ms {
				b.ReportMetric(perUnit/1e6, "ms/"+c.unit)
			} else {
				b.ReportMetric(perUnit, "ns/"+c.unit)
			}
			if c.perSecond {
				b.ReportMetric(1e9/perUnit, c.unit+"s/s")
			}
			b.ReportMetric(float64(bytes)/units, "B/"+c.unit)
			b.ReportMetric(float64(mallocs)/units, "allocs/"+c.unit)
			for unit, sum := range p.sums {
				b.ReportMetric(sum/float64(b.N), unit)
			}
			for _, base := range f.vs {
				if baseNs, ok := median(nsPerOp[base]); ok { // else filtered out by -bench
					b.ReportMetric(ns/baseNs, "x-"+base)
				}
			}
			nsPerOp[f.name] = append(nsPerOp[f.name], ns)
		})
	}
}

func deepCliff(n, procs int) cliff {
	return cliff{
		name: "Deep", per: n, unit: "level", want: deepWant(n),
		forms: []cliffForm{
			plainForm("recursion", func() int { return recSum(n) }),
			plainForm("goroutine", func() int { return goDeep(n) }),
			dagrForm("dagr", procs, func(ctx context.Context) (int, error) { return dagrDeep(ctx, n) },
				"recursion", "goroutine"),
		},
	}
}

func runDeep(b *testing.B, procs int, sizes ...int) {
	b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { runCliff(b, deepCliff(n, procs)) })
		}
	})
}

// BenchmarkCliffDeep: recursion 1000 and 10000 levels deep, on Procs 2.
func BenchmarkCliffDeep(b *testing.B) { runDeep(b, 2, 1_000, 10_000) }

// BenchmarkCliffDeepLarge: recursion 100000 levels deep on Procs 2, and a
// million on Procs 1.
func BenchmarkCliffDeepLarge(b *testing.B) {
	runDeep(b, 2, 100_000)
	runDeep(b, 1, 1_000_000)
}

func priorityCliff(n int, prio func(i int) int) cliff {
	return cliff{
		name: "Priorities", per: n, unit: "task", want: n,
		forms: []cliffForm{
			{name: "heap", start: func(testing.TB, *probe) func() (int, error) {
				h := make(prioHeap, 0, n)
				return func() (int, error) { return heapPriorities(&h, n, prio), nil }
			}},
			dagrForm("dagr", 1, func(ctx context.Context) (int, error) { return dagrPriorities(ctx, n, prio) }, "heap"),
		},
	}
}

// BenchmarkCliffPriorities: 40000 queued tasks with 1, 64 or 40000
// priorities, on one processor.
func BenchmarkCliffPriorities(b *testing.B) {
	for _, levels := range []int{1, 64, priorityTasks} {
		b.Run(fmt.Sprintf("priorities=%d", levels), func(b *testing.B) {
			runCliff(b, priorityCliff(priorityTasks, func(i int) int { return i % levels }))
		})
	}
}

// withSpinners starts spinners goroutines that spin until tb ends.
func withSpinners(tb testing.TB, k int) { tb.Cleanup(startSpinners(k)) }

func starvationCliff(n int) cliff {
	iters := spinIters() // before any spinner runs
	return cliff{
		name: "Starvation", per: 1, unit: "batch", ms: true, want: spinWant(iters, n),
		forms: []cliffForm{
			{name: "pool", start: func(tb testing.TB, _ *probe) func() (int, error) {
				p := newPool(2)
				tb.Cleanup(p.close)
				withSpinners(tb, spinners)
				return func() (int, error) { return poolSpinBatch(p, iters, n), nil }
			}},
			{name: "dagr", vs: []string{"pool"}, start: func(tb testing.TB, _ *probe) func() (int, error) {
				ctx := schedulerContext(tb, 0)
				withSpinners(tb, spinners)
				return func() (int, error) { return dagrSpinBatch(ctx, iters, n) }
			}},
		},
	}
}

// BenchmarkCliffStarvation: 2000 tasks of 20 µs beside 2 goroutines that
// spin without yielding.
func BenchmarkCliffStarvation(b *testing.B) { runCliff(b, starvationCliff(starvationTasks)) }

func spawnLoopCliff(n int) cliff {
	return cliff{
		name: "SpawnLoop", per: n, unit: "task", perSecond: true, want: n,
		forms: []cliffForm{
			{name: "goroutine", start: func(_ testing.TB, p *probe) func() (int, error) {
				return func() (int, error) {
					p.add("ran/spawned", float64(goSpawnLoop(n))/float64(n))
					return n, nil
				}
			}},
			{name: "dagr", vs: []string{"goroutine"}, start: func(tb testing.TB, p *probe) func() (int, error) {
				ctx := schedulerContext(tb, 0)
				return func() (int, error) {
					ran, err := dagrSpawnLoop(ctx, n)
					p.add("ran/spawned", float64(ran)/float64(n))
					return n, err
				}
			}},
		},
	}
}

// BenchmarkCliffSpawnLoop: 100000 empty tasks spawned in a tight loop.
func BenchmarkCliffSpawnLoop(b *testing.B) { runCliff(b, spawnLoopCliff(spawnLoopTasks)) }

func procsCliff(n int, procs ...int) cliff {
	c := cliff{name: "Procs", per: n, unit: "task", want: n,
		forms: []cliffForm{plainForm("goroutine", func() int { return goEmpty(n) })}}
	first := fmt.Sprintf("procs=%d", procs[0])
	for i, p := range procs {
		vs := []string{"goroutine"}
		if i > 0 {
			vs = append(vs, first)
		}
		c.forms = append(c.forms, dagrForm(fmt.Sprintf("procs=%d", p), p,
			func(ctx context.Context) (int, error) { return dagrEmpty(ctx, n) }, vs...))
	}
	return c
}

// BenchmarkCliffProcs: 100000 empty tasks on 2, 8, 64 and 1000 processors.
func BenchmarkCliffProcs(b *testing.B) { runCliff(b, procsCliff(procsTasks, 2, 8, 64, 1000)) }

// TestCliffsAgree runs every form of every cliff at a small size, twice
// (as the benchmark loop reruns them), so that the benchmarks cannot time
// a wrong computation.
func TestCliffsAgree(t *testing.T) {
	cliffs := []struct {
		name string
		c    cliff
	}{
		{"Deep/procs=2", deepCliff(100, 2)},
		{"Deep/procs=1", deepCliff(100, 1)},
		{"Priorities/priorities=1", priorityCliff(200, func(int) int { return 0 })},
		{"Priorities/priorities=7", priorityCliff(200, func(i int) int { return i % 7 })},
		{"Priorities/priorities=200", priorityCliff(200, func(i int) int { return i })},
		{"Starvation", starvationCliff(20)},
		{"SpawnLoop", spawnLoopCliff(100)},
		{"Procs", procsCliff(100, 2, 1000)},
	}
	for _, tc := range cliffs {
		c := tc.c
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range c.forms {
				t.Run(f.name, func(t *testing.T) {
					var p probe
					run := f.start(t, &p)
					for range 2 {
						got, err := run()
						if err != nil {
							t.Fatal(err)
						}
						if got != c.want {
							t.Fatalf("got %d, want %d", got, c.want)
						}
					}
				})
			}
		})
	}
}
