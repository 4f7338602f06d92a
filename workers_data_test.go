package dagr_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dagr/dagr"
	"github.com/dagr/dagr/internal/cluster"
)

// The functions of the tests of where results live.
func init() {
	dagr.Register(keptHere, sumWhere, holdUntilCancelled, sumOfSpawned, collectGarbage, fetchTask, fetchNested, fetchAfterGC, fetchHandleAfterGC, spawnAndKeep, dieOnce, alwaysDie)
}

// Kept is what a worker keeps for the run: task results too large for a
// message.
type Kept struct {
	Values int
	Bytes  int64
}

func keptHere() Kept {
	n, b := dagr.KeptOnThisWorker()
	return Kept{n, b}
}

// Sum is a sum, and the worker that computed it.
type Sum struct {
	Sum    float64
	Worker int
}

func sumWhere(v []float64) Sum {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return Sum{s, dagr.MyID()}
}

const bigN = 1 << 20 // float64s: 8 MiB, pulled in pieces

var bigSum = float64(bigN) * float64(bigN-1) / 2

// TestWorkersResultsStayOnTheirWorker: an 8 MiB result made on worker 2
// goes straight to worker 3, which needs it, and comes to worker 1 only
// when fetched there.
func TestWorkersResultsStayOnTheirWorker(t *testing.T) {
	ctx := withWorkers(t, 2)
	v := dagr.Spawn(ctx, floats, dagr.Options{Single: 2}, bigN)
	sum := dagr.Spawn(ctx, sumOf, dagr.Options{Single: 3}, v)
	if got := fetch[float64](t, ctx, sum); got != bigSum {
		t.Fatalf("sum on worker 3 = %v, want %v", got, bigSum)
	}
	if n := dagr.PulledHere(ctx); n != 0 {
		t.Fatalf("worker 1 pulled %d bytes for a value that went from worker 2 to worker 3", n)
	}
	if k := fetch[Kept](t, ctx, dagr.Spawn(ctx, keptHere, dagr.Options{Single: 2})); k.Values != 1 || k.Bytes < 8*bigN {
		t.Fatalf("worker 2 keeps %+v, want the 8 MiB result", k)
	}
	got := fetch[[]float64](t, ctx, v)
	if len(got) != bigN || got[bigN-1] != bigN-1 {
		t.Fatalf("fetched %d values on worker 1, last %v", len(got), got[len(got)-1])
	}
	if n := dagr.PulledHere(ctx); n < 8*bigN {
		t.Fatalf("worker 1 pulled %d bytes to fetch an 8 MiB value", n)
	}
	// A second fetch, here or by a task here, does not pull it again.
	before := dagr.PulledHere(ctx)
	if s := fetch[float64](t, ctx, dagr.Spawn(ctx, func(v []float64) float64 { return sumWhere(v).Sum }, v)); s != bigSum {
		t.Fatalf("sum on worker 1 = %v, want %v", s, bigSum)
	}
	if n := dagr.PulledHere(ctx) - before; n != 0 {
		t.Fatalf("worker 1 pulled %d bytes again for a value it has", n)
	}
}

// TestWorkersComputeChunks: a thunk pinned to a worker gives a chunk that
// lives there; with GetResult, one on worker 1.
func TestWorkersComputeChunks(t *testing.T) {
	ctx := withWorkers(t, 1)
	for _, tc := range []struct {
		name   string
		opts   dagr.Options
		worker int
	}{
		{"kept", dagr.Options{Single: 2}, 2},
		{"GetResult", dagr.Options{Single: 2, GetResult: true}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{4, bigN} { // small, and too large for a message
				c, err := dagr.Compute(ctx, dagr.Delayed(floats, tc.opts, n))
				if err != nil {
					t.Fatal(err)
				}
				if w := c.Worker(); w != tc.worker {
					t.Fatalf("%d floats: the chunk is on worker %d, want %d", n, w, tc.worker)
				}
				v, err := c.Fetch(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got := v.([]float64); len(got) != n || got[n-1] != float64(n-1) {
					t.Fatalf("fetched %d floats, last %v", len(got), got[len(got)-1])
				}
				// The chunk stands for its value in a task on worker 2,
				// and in a thunk.
				s, err := dagr.Collect(ctx, dagr.Delayed(sumWhere, dagr.Options{Single: 2}, c))
				if err != nil {
					t.Fatal(err)
				}
				if want := float64(n) * float64(n-1) / 2; s.(Sum).Sum != want {
					t.Fatalf("sum = %v, want %v", s.(Sum).Sum, want)
				}
			}
		})
	}
}

// TestWorkersPlacementFollowsData: an unpinned task whose input is large
// runs on the worker that has it, rather than moving it.
func TestWorkersPlacementFollowsData(t *testing.T) {
	ctx := withWorkers(t, 2)
	for _, w := range []int{2, 3} {
		v := dagr.Spawn(ctx, floats, dagr.Options{Single: w}, bigN)
		s := fetch[Sum](t, ctx, dagr.Spawn(ctx, sumWhere, v))
		if s.Sum != bigSum || s.Worker != w {
			t.Fatalf("the sum of a value on worker %d: %+v", w, s)
		}
		// A small input moves instead: the task runs here, where it
		// starts at once.
		small := dagr.Spawn(ctx, floats, dagr.Options{Single: w}, 8)
		if s := fetch[Sum](t, ctx, dagr.Spawn(ctx, sumWhere, small)); s.Worker != 1 {
			t.Fatalf("the sum of 8 floats on worker %d ran on worker %d", w, s.Worker)
		}
	}
	if n := dagr.PulledHere(ctx); n != 0 {
		t.Fatalf("worker 1 pulled %d bytes", n)
	}
}

// TestWorkersFreeUnreachable: a result kept on a worker is dropped there
// once nothing can reach it.
func TestWorkersFreeUnreachable(t *testing.T) {
	ctx := withWorkers(t, 1)
	kept := func() Kept { return fetch[Kept](t, ctx, dagr.Spawn(ctx, keptHere, dagr.Options{Single: 2})) }
	func() {
		v := dagr.Spawn(ctx, floats, dagr.Options{Single: 2}, bigN)
		if s := fetch[Sum](t, ctx, dagr.Spawn(ctx, sumWhere, dagr.Options{Single: 2}, v)); s.Sum != bigSum {
			t.Fatalf("sum = %v", s.Sum)
		}
		if k := kept(); k.Values != 1 {
			t.Fatalf("worker 2 keeps %+v while the task is reachable", k)
		}
	}()
	// Nothing waits for the cleanup to have run: collect until it has,
	// each round a round trip to worker 2.
	deadline := time.Now().Add(20 * time.Second)
	for {
		runtime.GC()
		k := kept()
		if k.Values == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker 2 still keeps %+v 20s after its task became unreachable", k)
		}
	}
}

// TestWorkersRemoveBringsResults: RemoveProc brings the results the
// worker keeps to worker 1 before it stops it.
func TestWorkersRemoveBringsResults(t *testing.T) {
	ctx := withWorkers(t, 1)
	v := dagr.Spawn(ctx, floats, dagr.Options{Single: 2}, bigN)
	c, err := dagr.Compute(ctx, dagr.Delayed(floats, dagr.Options{Single: 2}, bigN))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dagr.RemoveProc(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if w := c.Worker(); w != 1 {
		t.Fatalf("after RemoveProc(2), the chunk is on worker %d", w)
	}
	for _, get := range []func(context.Context) (any, error){v.Fetch, c.Fetch} {
		x, err := get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := x.([]float64); len(got) != bigN || got[bigN-1] != bigN-1 {
			t.Fatalf("fetched %d values, last %v", len(got), got[len(got)-1])
		}
	}
}

// TestWorkersIdleWorkersGetWork: a spread task that waits for room on
// worker 1 goes to a worker that has room, or gets some.
func TestWorkersIdleWorkersGetWork(t *testing.T) {
	ctx := withWorkersOf(t, 1, dagr.Config{Procs: 1, WorkerProcs: 1})
	release := make(chan struct{})
	defer close(release)
	busy := dagr.Spawn(ctx, func() { <-release }) // worker 1's only processor
	_ = busy

	// Worker 2 is idle: the task goes there at once.
	deadline, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if p, err := dagr.Fetch[Place](deadline, dagr.Spawn(ctx, whereAmI)); err != nil || p.Worker != 2 {
		t.Fatalf("a task waiting on a busy worker 1 with worker 2 idle: %+v, %v", p, err)
	}

	// Worker 2 busy too: the task waits, and goes there once it has room.
	started := fifos(t, "started")[0]
	hold, stop := context.WithCancel(ctx)
	held := dagr.Spawn(hold, holdUntilCancelled, dagr.Options{Single: 2}, started)
	awaitStarted(t, started)
	waiting := dagr.Spawn(ctx, whereAmI)
	stop()
	if err := held.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := dagr.Fetch[Place](deadline, waiting); err != nil || p.Worker != 2 {
		t.Fatalf("a task waiting while worker 2 was busy: %+v, %v", p, err)
	}
}

// holdUntilCancelled tells that it runs by opening the FIFO started, then
// holds its processor until its context ends.
func holdUntilCancelled(ctx context.Context, started string) error {
	if err := tellStarted(started); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// TestWorkersRemoteResultsAsValues: a Checkpoint gets a remote result's
// value, a chunk's remote value is type-checked where it is passed, and a
// value whose worker died fails its fetch saying so.
func TestWorkersRemoteResultsAsValues(t *testing.T) {
	ctx := withWorkers(t, 1)
	seen := make(chan any, 1)
	checkpoint := func(_ context.Context, res any) error { seen <- res; return nil }
	v := dagr.Spawn(ctx, floats, dagr.Options{Single: 2, Checkpoint: checkpoint}, bigN)
	if err := v.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got, ok := (<-seen).([]float64); !ok || len(got) != bigN {
		t.Fatalf("Checkpoint got a %T, not the []float64", got)
	}

	c, err := dagr.Compute(ctx, dagr.Delayed(floats, dagr.Options{Single: 2}, 4))
	if err != nil {
		t.Fatal(err)
	}
	_, err = dagr.Spawn(ctx, func(s string) string { return s }, c).Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "[]float64") || !strings.Contains(err.Error(), "string") {
		t.Fatalf("a chunk of []float64 passed where a string goes: %v", err)
	}

	lost := dagr.Spawn(ctx, floats, dagr.Options{Single: 2}, bigN)
	if err := lost.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	pid := fetch[int](t, ctx, dagr.Spawn(ctx, workerPID, dagr.Options{Single: 2}))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Wait until worker 1 knows: Workers no longer lists it.
	for start := time.Now(); slices.Contains(dagr.Workers(ctx), 2); runtime.Gosched() {
		if time.Since(start) > 20*time.Second {
			t.Fatal("worker 2 is still listed 20s after it was killed")
		}
	}
	_, err = lost.Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "worker 2, which kept it, is gone") {
		t.Fatalf("fetching a value kept by a dead worker: %v", err)
	}
}

// sumOfSpawned spawns add(i, i) for i < n from where it runs, fetches
// them, and drops their handles.
func sumOfSpawned(ctx context.Context, n int) (int, error) {
	ts := make([]*dagr.Task, n)
	for i := range ts {
		ts[i] = dagr.Spawn(ctx, add, i, i)
	}
	sum := 0
	for _, t := range ts {
		v, err := dagr.Fetch[int](ctx, t)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

func collectGarbage() {
	runtime.GC()
	runtime.GC()
}

// fetchTask fetches t where it runs.
func fetchTask(ctx context.Context, t *dagr.Task) (int, error) { return dagr.Fetch[int](ctx, t) }

// TestWorkersForgetDroppedHandles: worker 1 forgets the tasks that a
// worker spawned once the worker dropped their handles, but keeps one
// whose handle the worker sent away in a value, which another worker then
// fetches, until nothing holds that value or a handle made from it.
func TestWorkersForgetDroppedHandles(t *testing.T) {
	ctx := withWorkers(t, 2)
	const n = 200
	if got := fetch[int](t, ctx, dagr.Spawn(ctx, sumOfSpawned, dagr.Options{Single: 2}, n)); got != n*(n-1) {
		t.Fatalf("sum = %d, want %d", got, n*(n-1))
	}
	// Sent away: the result holds the handle, and worker 2 drops its own.
	sent := dagr.Spawn(ctx, spawnAdd, dagr.Options{Single: 2}, 20, 22)
	if err := sent.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if before := dagr.RefsHere(ctx); before < n {
		t.Fatalf("worker 1 keeps %d tasks for workers, want at least %d before worker 2 collects", before, n)
	}
	// Nothing tells when worker 2's cleanups ran: collect there until
	// worker 1 has forgotten what it may.
	deadline := time.Now().Add(20 * time.Second)
	for dagr.RefsHere(ctx) > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("worker 1 still keeps %d tasks for workers 20s after their handles were dropped", dagr.RefsHere(ctx))
		}
		fetch[any](t, ctx, dagr.Spawn(ctx, collectGarbage, dagr.Options{Single: 2}))
	}
	// Worker 3 gets the result as worker 2 sent it, and names the task.
	if got := fetch[int](t, ctx, dagr.Spawn(ctx, fetchTask, dagr.Options{Single: 3}, sent)); got != 42 {
		t.Fatalf("the task whose handle was sent away gave %d", got)
	}
	sent = nil
	awaitNoRefs(t, ctx, "a task whose handle went into a result, once that result and every handle made from it are dropped", 2, 3)
}

// awaitNoRefs collects garbage here and on workers until worker 1 keeps
// no task for other processes, and fails the test if that takes 20s.
func awaitNoRefs(t *testing.T, ctx context.Context, what string, workers ...int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		collectGarbage()
		if dagr.RefsHere(ctx) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: worker 1 still keeps %d tasks for workers after 20s", what, dagr.RefsHere(ctx))
		}
		for _, w := range workers {
			fetch[any](t, ctx, dagr.Spawn(ctx, collectGarbage, dagr.Options{Single: w}))
		}
	}
}

// fetchNested spawns spawnAdd on worker 1 and fetches the task that its
// result names: a handle that worker 1 encoded in a result.
func fetchNested(ctx context.Context) (int, error) {
	h, err := dagr.Fetch[*dagr.Task](ctx, dagr.Spawn(ctx, spawnAdd, dagr.Options{Single: 1}, 40, 2))
	if err != nil {
		return 0, err
	}
	return dagr.Fetch[int](ctx, h)
}

// TestWorkersForgetHandlesSentInValues: a handle of a task of worker 1
// that worker 1 sends in a task's arguments, or in a result, is held for
// as long as a worker may decode it or holds a handle made from it, and
// no longer.
func TestWorkersForgetHandlesSentInValues(t *testing.T) {
	ctx := withWorkers(t, 2)
	// In arguments: the handle arrives on worker 2 inside a value.
	x := dagr.Spawn(ctx, add, 20, 22)
	got := fetch[Place](t, ctx, dagr.Spawn(ctx, fetchHandle, dagr.Options{Single: 2}, Handle{T: x}))
	if got.Worker != 2 || got.Proc != "42" {
		t.Fatalf("the handle sent in a value: %+v, want worker 2 and 42", got)
	}
	awaitNoRefs(t, ctx, "a task of worker 1 sent in arguments", 2)
	// In a result: a task that worker 2 spawned runs on worker 1, and
	// returns a handle; worker 2 fetches what it names.
	if got := fetch[int](t, ctx, dagr.Spawn(ctx, fetchNested, dagr.Options{Single: 2})); got != 42 {
		t.Fatalf("the task named in a result of worker 1 gave %d", got)
	}
	awaitNoRefs(t, ctx, "a task of worker 1 sent in a result", 2)
	// The same handle sent twice, to two workers at once, and kept by one
	// of them in the result of its task.
	y := dagr.Spawn(ctx, add, 1, 2)
	a := dagr.Spawn(ctx, fetchHandle, dagr.Options{Single: 2}, Handle{T: y})
	b := dagr.Spawn(ctx, fetchHandle, dagr.Options{Single: 3}, Handle{T: y})
	if pa, pb := fetch[Place](t, ctx, a), fetch[Place](t, ctx, b); pa.Proc != "3" || pb.Proc != "3" {
		t.Fatalf("the handle sent twice: %+v, %+v", pa, pb)
	}
	a, b = nil, nil
	awaitNoRefs(t, ctx, "a task sent to two workers", 2, 3)
}

// TestWorkersRemoveProcOfADyingWorker: RemoveProc, waiting for a worker's
// task to end, returns when the worker dies instead.
func TestWorkersRemoveProcOfADyingWorker(t *testing.T) {
	ctx := withWorkers(t, 1)
	pid := fetch[int](t, ctx, dagr.Spawn(ctx, workerPID, dagr.Options{Single: 2}))
	started := fifos(t, "started")[0]
	held := dagr.Spawn(ctx, holdUntilCancelled, dagr.Options{Single: 2}, started)
	awaitStarted(t, started)
	removed := make(chan error, 1)
	go func() { removed <- dagr.RemoveProc(ctx, 2) }()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-removed:
	case <-time.After(20 * time.Second):
		t.Fatal("RemoveProc still waits 20s after its worker died")
	}
	if _, err := held.Fetch(ctx); err == nil || !strings.Contains(err.Error(), "exited while it ran") {
		t.Fatalf("the task of the dead worker: %v", err)
	}
}

// fetchAfterGC collects garbage, so that the handles this worker dropped
// end their holds, then fetches t.
func fetchAfterGC(ctx context.Context, t *dagr.Task) (int, error) {
	runtime.GC()
	return dagr.Fetch[int](ctx, t)
}

// fetchHandleAfterGC is fetchAfterGC of the task that h carries.
func fetchHandleAfterGC(ctx context.Context, h Handle) (int, error) { return fetchAfterGC(ctx, h.T) }

// TestWorkersHandlesInValuesUnderGC: handles in values travel between
// worker 1 and two workers, many at once, while every process collects
// garbage and so ends holds all the time; every value still finds its
// task, and at the end worker 1 keeps none.
func TestWorkersHandlesInValuesUnderGC(t *testing.T) {
	ctx := withWorkers(t, 2)
	stop := make(chan struct{})
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 12 {
				k := g*100 + i
				var want int
				var task *dagr.Task
				switch i % 3 {
				case 0: // a worker's task returns a handle; the other worker fetches it
					sent := dagr.Spawn(ctx, spawnAdd, dagr.Options{Single: 2 + i%2}, k, 1)
					task, want = dagr.Spawn(ctx, fetchAfterGC, dagr.Options{Single: 3 - i%2}, sent), k+1
				case 1: // worker 1 sends a handle of its own task in a value
					x := dagr.Spawn(ctx, add, k, 2)
					task, want = dagr.Spawn(ctx, fetchHandleAfterGC, dagr.Options{Single: 2 + i%2}, Handle{T: x}), k+2
				case 2: // worker 1 sends a handle in a result
					task, want = dagr.Spawn(ctx, fetchNested, dagr.Options{Single: 2 + i%2}), 42
				}
				got, err := dagr.Fetch[int](ctx, task)
				if err == nil && got != want {
					err = fmt.Errorf("round %d: got %d, want %d", k, got, want)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-gcDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	awaitNoRefs(t, ctx, "handles in values under GC", 2, 3)
}

// TestWorkersFreeDroppedResultsWhileQuietHere: results kept on a worker
// are freed once dropped even when worker 1 allocates so little that Go
// would never collect its garbage: worker 1 collects after every
// cluster.CollectAfterKept bytes of kept results made.
func TestWorkersFreeDroppedResultsWhileQuietHere(t *testing.T) {
	ctx := withWorkers(t, 1)
	old := cluster.CollectAfterKept.Load()
	cluster.CollectAfterKept.Store(4 << 20)
	defer cluster.CollectAfterKept.Store(old)
	// No collection here but those that kept results start.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	const made = 32
	for range made {
		if err := dagr.Spawn(ctx, floats, dagr.Options{Single: 2}, 1<<17).Wait(ctx); err != nil { // 1 MiB each
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		k := fetch[Kept](t, ctx, dagr.Spawn(ctx, keptHere, dagr.Options{Single: 2}))
		if k.Values <= 8 {
			return
		}
		// Each look is a round trip to worker 2, whose count changes when
		// worker 1's collection has freed the results there.
		if time.Now().After(deadline) {
			t.Fatalf("worker 2 still keeps %d of the %d results dropped 20s ago (%d bytes)", k.Values, made, k.Bytes)
		}
	}
}

// TestWorkersHungWorkerIsStopped: a worker that hangs (SIGSTOP) sends no
// heartbeat; after Config.WorkerTimeout worker 1 declares it dead and
// kills it, and the task it ran fails, saying why.
func TestWorkersHungWorkerIsStopped(t *testing.T) {
	ctx := withWorkersOf(t, 1, dagr.Config{WorkerTimeout: time.Second})
	pid := fetch[int](t, ctx, dagr.Spawn(ctx, workerPID, dagr.Options{Single: 2}))
	started := fifos(t, "started")[0]
	held := dagr.Spawn(ctx, holdUntilCancelled, dagr.Options{Single: 2}, started)
	awaitStarted(t, started)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	begin := time.Now()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := held.Fetch(wait)
	if err == nil || !strings.Contains(err.Error(), "no heartbeat for 1s") {
		t.Fatalf("the task of the hung worker: %v", err)
	}
	if d := time.Since(begin); d > 20*time.Second {
		t.Fatalf("the hung worker was noticed after %v, with a timeout of 1s", d)
	}
	// Its process is gone: the error came once it was reaped.
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Fatalf("the hung worker's process (pid %d) is still there: %v", pid, err)
	}
	if ws := dagr.Workers(ctx); slices.Contains(ws, 2) {
		t.Fatalf("Workers() = %v after worker 2 was stopped", ws)
	}
}

// keptHandles keeps, on a worker, the handles that spawnAndKeep made.
var keptHandles []*dagr.Task

// spawnAndKeep spawns n tasks and keeps their handles for good.
func spawnAndKeep(ctx context.Context, n int) int {
	for i := range n {
		keptHandles = append(keptHandles, dagr.Spawn(ctx, add, i, i))
	}
	return len(keptHandles)
}

// TestWorkersForgetHandlesOfDeadWorker: the tasks that only a dead
// worker's handles held are forgotten on worker 1.
func TestWorkersForgetHandlesOfDeadWorker(t *testing.T) {
	ctx := withWorkers(t, 1)
	pid := fetch[int](t, ctx, dagr.Spawn(ctx, workerPID, dagr.Options{Single: 2}))
	const n = 50
	if got := fetch[int](t, ctx, dagr.Spawn(ctx, spawnAndKeep, dagr.Options{Single: 2}, n)); got != n {
		t.Fatalf("worker 2 keeps %d handles, want %d", got, n)
	}
	if refs := dagr.RefsHere(ctx); refs < n {
		t.Fatalf("worker 1 keeps %d tasks for worker 2's %d handles", refs, n)
	}
	// A task running there fails once worker 1 has noticed the death,
	// after it let go of the dead worker's handles.
	started := fifos(t, "started")[0]
	held := dagr.Spawn(ctx, holdUntilCancelled, dagr.Options{Single: 2}, started)
	awaitStarted(t, started)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := held.Fetch(ctx); err == nil {
		t.Fatal("the task of the killed worker succeeded")
	}
	if refs := dagr.RefsHere(ctx); refs != 0 {
		t.Fatalf("worker 1 still keeps %d tasks that only the dead worker named", refs)
	}
}

// dieOnce kills the worker that runs it the first time (marker does not
// exist yet), and returns the id of the worker that runs it after.
func dieOnce(marker string) (int, error) {
	if _, err := os.Stat(marker); err != nil {
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			return 0, err
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // until the signal lands
	}
	return dagr.MyID(), nil
}

// alwaysDie kills the worker that runs it.
func alwaysDie() error {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// TestWorkersTaskOfDeadWorkerRunsElsewhere: a task whose worker dies while
// it runs runs again on another worker that its placement allows; one
// that kills every worker it runs on fails after 3, saying so; one pinned
// to a single worker fails with it.
func TestWorkersTaskOfDeadWorkerRunsElsewhere(t *testing.T) {
	ctx := withWorkers(t, 5)
	marker := filepath.Join(t.TempDir(), "died")
	first := dagr.Spawn(ctx, dieOnce, dagr.Options{Scope: dagr.WorkerScope(2, 3)}, marker)
	if w := fetch[int](t, ctx, first); w != 2 && w != 3 {
		t.Fatalf("the task that killed its worker ran again on worker %d, want 2 or 3", w)
	}
	if ws := dagr.Workers(ctx); len(ws) != 5 {
		t.Fatalf("Workers() = %v after one of 2 and 3 died, want 5 of them", ws)
	}
	_, err := dagr.Spawn(ctx, alwaysDie, dagr.Options{Scope: dagr.WorkerScope(4, 5, 6)}).Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "ran on 3 workers that died") {
		t.Fatalf("a task that kills every worker it runs on: %v", err)
	}
	if ws := dagr.Workers(ctx); len(ws) != 2 {
		t.Fatalf("Workers() = %v after 4 of 5 workers died, want worker 1 and one other", ws)
	}
}
