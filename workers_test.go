package dagr_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dagr/dagr"
)

// The functions that tasks on workers run: every process of the test
// binary registers them in init, as a program would.
func init() {
	dagr.Register(whereAmI, workerPanics, waitForCancel, workerPID, double, add, spawnAdd, fetchHandle, spreadFib, floats, sumOf, floatsWhenTold, workersSeen, removeWorker, busyWhere, spawnAndCancel, handleOfHome, waitAndTell, spawnCancelled)
	if os.Getenv(otherBuildEnv) != "" {
		// A worker started with this variable set plays another build of
		// the program, with a function more.
		dagr.Register(onlyInOtherBuild)
	}
}

const otherBuildEnv = "DAGR_TEST_OTHER_BUILD"

// Place is where a task ran.
type Place struct {
	Worker int
	Proc   string
}

func whereAmI(ctx context.Context) Place {
	return Place{Worker: dagr.MyID(), Proc: fmt.Sprint(dagr.CurrentProcessor(ctx))}
}

func workerPanics(x int) int { panic(fmt.Sprintf("boom %d", x)) }

func waitForCancel(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func workerPID() int { return os.Getpid() }

func double(x float64) float64 { return 2 * x }

func onlyInOtherBuild() {}

// withWorkers returns a context with a scheduler of its own and n workers,
// closed when the test ends.
func withWorkers(t *testing.T, n int) context.Context {
	t.Helper()
	return withWorkersOf(t, n, dagr.Config{})
}

// withWorkersOf is withWorkers with a scheduler of cfg.
func withWorkersOf(t *testing.T, n int, cfg dagr.Config) context.Context {
	t.Helper()
	_, ctx := schedulerWithWorkers(t, n, cfg)
	return ctx
}

// schedulerWithWorkers is withWorkersOf, and returns the scheduler too.
func schedulerWithWorkers(t *testing.T, n int, cfg dagr.Config) (*dagr.Scheduler, context.Context) {
	t.Helper()
	s, err := dagr.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := dagr.WithScheduler(context.Background(), s)
	addCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ids, err := dagr.AddProcs(addCtx, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("AddProcs(%d) returned %v", n, ids)
	}
	return s, ctx
}

func fetch[T any](t *testing.T, ctx context.Context, task *dagr.Task) T {
	t.Helper()
	v, err := dagr.Fetch[T](ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWorkersPlacement(t *testing.T) {
	ctx := withWorkers(t, 2)
	if got := dagr.Workers(ctx); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("Workers = %v, want [1 2 3]", got)
	}
	for _, tc := range []struct {
		opts dagr.Options
		want Place
	}{
		{dagr.Options{Single: 2}, Place{Worker: 2}},
		{dagr.Options{Single: 3}, Place{Worker: 3}},
		{dagr.Options{Single: 1}, Place{Worker: 1}},
		{dagr.Options{Scope: dagr.WorkerScope(3)}, Place{Worker: 3}},
		{dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 2, Thread: 2})}, Place{2, "ThreadProc(2, 2)"}},
		{dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 3, Thread: 1})}, Place{3, "ThreadProc(3, 1)"}},
		{dagr.Options{Scope: dagr.ExactScope(dagr.OSProc{ID: 2})}, Place{Worker: 2}},
	} {
		got := fetch[Place](t, ctx, dagr.Spawn(ctx, whereAmI, tc.opts))
		if got.Worker != tc.want.Worker || tc.want.Proc != "" && got.Proc != tc.want.Proc {
			t.Errorf("with %+v the task ran at %+v, want %+v", tc.opts, got, tc.want)
		}
	}
	// Values go there and back, and tasks on workers and on 1 chain.
	a := dagr.Spawn(ctx, double, dagr.Options{Single: 2}, 1.5)
	b := dagr.Spawn(ctx, double, dagr.Options{Single: 3}, a)
	c := dagr.Spawn(ctx, double, b)
	if got := fetch[float64](t, ctx, c); got != 12 {
		t.Fatalf("double thrice of 1.5 on workers 2, 3 and 1 = %v, want 12", got)
	}
}

func TestWorkersPlacementErrors(t *testing.T) {
	ctx := withWorkers(t, 1)
	closure := func() int { return 1 }
	for _, tc := range []struct {
		name string
		task *dagr.Task
		want string
		is   error
	}{
		{"unregistered closure pinned", dagr.Spawn(ctx, closure, dagr.Options{Single: 2}), "not registered", nil},
		{"no such worker", dagr.Spawn(ctx, whereAmI, dagr.Options{Single: 7}), "worker 7", dagr.ErrNoProcessor},
		{"no such processor", dagr.Spawn(ctx, whereAmI, dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 2, Thread: 99})}), "processor 99", dagr.ErrNoProcessor},
	} {
		_, err := tc.task.Fetch(ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) || tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	// An unregistered closure without options runs at home.
	if got := fetch[int](t, ctx, dagr.Spawn(ctx, closure)); got != 1 {
		t.Fatalf("closure = %d", got)
	}
}

func TestWorkersFailures(t *testing.T) {
	ctx := withWorkers(t, 1)
	a := dagr.Spawn(ctx, workerPanics, dagr.Options{Single: 2}, 7)
	b := dagr.Spawn(ctx, double, a) // fails without running: its input failed
	_, err := b.Fetch(ctx)
	var we *dagr.WorkerError
	var pe *dagr.PanicError
	if !errors.As(err, &we) || we.Worker != 2 || !errors.As(err, &pe) || pe.Value != "boom 7" || !strings.Contains(string(pe.Stack), "workerPanics") {
		t.Fatalf("got %v (%#v), want a panic on worker 2 with its value and stack", err, we)
	}
	if !strings.Contains(err.Error(), "on worker 2") || !strings.Contains(err.Error(), "boom 7") {
		t.Fatalf("error %q does not say where and what", err)
	}

	// A timeout and a cancel reach f on the worker: each task holds the
	// worker's processor 1 until its f returns, and the next needs it.
	pin := dagr.ExactScope(dagr.ThreadProc{Owner: 2, Thread: 1})
	timed := dagr.Spawn(ctx, waitForCancel, dagr.Options{Scope: pin, Timeout: 50 * time.Millisecond})
	if _, err := timed.Fetch(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timed out task: %v, want DeadlineExceeded", err)
	}
	cancelled := dagr.Spawn(ctx, waitForCancel, dagr.Options{Scope: pin})
	waitCtx, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	if err := cancelled.Wait(waitCtx); err == nil {
		t.Fatal("waitForCancel ended by itself")
	}
	cancelled.Cancel()
	if _, err := cancelled.Fetch(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled task: %v, want Canceled", err)
	}
	if got := fetch[Place](t, ctx, dagr.Spawn(ctx, whereAmI, dagr.Options{Scope: pin})); got.Worker != 2 {
		t.Fatalf("ran at %+v", got)
	}
}

func TestWorkersOtherBuildRefused(t *testing.T) {
	t.Setenv(otherBuildEnv, "1")
	s, err := dagr.New(dagr.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = s.AddProcs(ctx, 1)
	if err == nil || !strings.Contains(err.Error(), "another build") || !strings.Contains(err.Error(), "onlyInOtherBuild") {
		t.Fatalf("AddProcs of another build: %v, want a refusal naming the function that differs", err)
	}
	t.Log(err)
	if got := s.Workers(ctx); len(got) != 1 {
		t.Fatalf("Workers after a refusal = %v", got)
	}
}

func TestWorkersRemoveAndClose(t *testing.T) {
	s, err := dagr.New(dagr.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := dagr.WithScheduler(context.Background(), s)
	ids, err := s.AddProcs(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	pids := map[int]int{}
	for _, id := range ids {
		pids[id] = fetch[int](t, ctx, dagr.Spawn(ctx, workerPID, dagr.Options{Single: id}))
	}
	if err := s.RemoveProc(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if processExists(pids[ids[0]]) {
		t.Fatalf("worker %d (pid %d) still runs after RemoveProc", ids[0], pids[ids[0]])
	}
	if got := s.Workers(ctx); fmt.Sprint(got) != fmt.Sprint([]int{1, ids[1]}) {
		t.Fatalf("Workers after RemoveProc = %v", got)
	}
	if _, err := dagr.Spawn(ctx, whereAmI, dagr.Options{Single: ids[0]}).Fetch(ctx); !errors.Is(err, dagr.ErrNoProcessor) {
		t.Fatalf("a task pinned to a removed worker: %v", err)
	}
	s.Close()
	if processExists(pids[ids[1]]) {
		t.Fatalf("worker %d (pid %d) still runs after Close", ids[1], pids[ids[1]])
	}
}

// orphanEnv tells the child process of TestWorkersOrphaned to be the
// scheduler that gets killed.
const orphanEnv = "DAGR_TEST_ORPHAN_PARENT"

// TestWorkersOrphaned kills a scheduler's process with SIGKILL and checks
// that its worker exits by itself.
func TestWorkersOrphaned(t *testing.T) {
	if os.Getenv(orphanEnv) != "" {
		ctx := withWorkers(t, 1)
		pid := fetch[int](t, ctx, dagr.Spawn(ctx, workerPID, dagr.Options{Single: 2}))
		fmt.Printf("worker pid %d\n", pid)
		select {} // until killed
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkersOrphaned$", "-test.count=1")
	cmd.Env = append(os.Environ(), orphanEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var pid int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "worker pid %d", &pid); err == nil {
			break
		}
	}
	if pid == 0 {
		t.Fatal("the child scheduler did not report its worker's pid")
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("watching worker pid %d: %v", pid, err)
	}
	defer unix.Close(pidfd)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// The pidfd becomes readable when the worker exits.
	const limit = 10 * time.Second
	start := time.Now()
	var n int
	for {
		left := limit - time.Since(start)
		n, err = unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, int(max(left, 0).Milliseconds()))
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the worker (pid %d) still ran %v after its scheduler was killed", pid, limit)
	}
	t.Logf("the worker exited %v after its scheduler was killed", time.Since(start).Round(time.Millisecond))
}

// Handle carries a task inside a value, as any value may.
type Handle struct{ T *dagr.Task }

// spawnAdd spawns add(a, b) from a task and returns its handle: the seed's
// fetch(fetch(@spawnat 2 Dagger.@spawn 1+2)).
func spawnAdd(ctx context.Context, a, b int) *dagr.Task { return dagr.Spawn(ctx, add, a, b) }

// fetchHandle fetches, where it runs, the task h carries.
func fetchHandle(ctx context.Context, h Handle) (Place, error) {
	v, err := dagr.Fetch[int](ctx, h.T)
	return Place{Worker: dagr.MyID(), Proc: fmt.Sprint(v)}, err
}

// spreadFib spawns and fetches its halves on any of the workers, as the
// README's fib does on worker 1.
func spreadFib(ctx context.Context, n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	scope := dagr.Options{Scope: dagr.WorkerScope(2, 3, 4)}
	a := dagr.Spawn(ctx, spreadFib, scope, n-1)
	b := dagr.Spawn(ctx, spreadFib, scope, n-2)
	x, err := dagr.Fetch[int](ctx, a)
	if err != nil {
		return 0, err
	}
	y, err := dagr.Fetch[int](ctx, b)
	return x + y, err
}

func TestWorkersHandlesAcrossProcesses(t *testing.T) {
	ctx := withWorkers(t, 2)
	// The seed: a task on worker 2 spawns 1+2 and returns its handle.
	inner := fetch[*dagr.Task](t, ctx, dagr.Spawn(ctx, spawnAdd, dagr.Options{Single: 2}, 1, 2))
	if got := fetch[int](t, ctx, inner); got != 3 {
		t.Fatalf("fetch(fetch(spawn on 2 of spawn 1+2)) = %d, want 3", got)
	}
	// A handle made on worker 2, fetched on worker 3, and passed as an
	// argument on worker 1.
	h := fetch[*dagr.Task](t, ctx, dagr.Spawn(ctx, spawnAdd, dagr.Options{Single: 2}, 20, 22))
	got := fetch[Place](t, ctx, dagr.Spawn(ctx, fetchHandle, dagr.Options{Single: 3}, Handle{h}))
	if got != (Place{Worker: 3, Proc: "42"}) {
		t.Fatalf("fetching on worker 3 a task made on worker 2 gave %+v", got)
	}
	if got := fetch[int](t, ctx, dagr.Spawn(ctx, add, h, 1)); got != 43 {
		t.Fatalf("a handle from worker 2 as an argument on 1: %d", got)
	}
}

// TestWorkersNestedFib runs fib(16) with each call spawned on any of three
// workers of one processor each: every call waits for two others, so it
// finishes only if a task that waits gives its processor back, on every
// worker.
func TestWorkersNestedFib(t *testing.T) {
	ctx := withWorkersOf(t, 3, dagr.Config{WorkerProcs: 1})
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if got := fetch[int](t, ctx, dagr.Spawn(ctx, spreadFib, dagr.Options{Single: 2}, 16)); got != 987 {
		t.Fatalf("fib(16) = %d, want 987", got)
	}
}

// floats makes n float64s where it runs.
func floats(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i)
	}
	return v
}

func sumOf(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// TestWorkersLargeValues moves an 8 MiB result, larger than a message may
// be, from worker 2 to worker 3 and to worker 1: it travels in pieces.
func TestWorkersLargeValues(t *testing.T) {
	ctx := withWorkers(t, 2)
	const n = 1 << 20 // 8 MiB of float64s
	v := dagr.Spawn(ctx, floats, dagr.Options{Single: 2}, n)
	sum := dagr.Spawn(ctx, sumOf, dagr.Options{Single: 3}, v)
	want := float64(n) * float64(n-1) / 2
	if got := fetch[float64](t, ctx, sum); got != want {
		t.Fatalf("sum on worker 3 = %v, want %v", got, want)
	}
	got := fetch[[]float64](t, ctx, v)
	if len(got) != n || got[n-1] != n-1 {
		t.Fatalf("fetched %d values on worker 1, last %v", len(got), got[len(got)-1])
	}
	// And back: a large argument from worker 1 to a worker.
	if s := fetch[float64](t, ctx, dagr.Spawn(ctx, sumOf, dagr.Options{Single: 2}, got)); s != want {
		t.Fatalf("sum on worker 2 of worker 1's copy = %v, want %v", s, want)
	}
}

// fifos makes a FIFO of each name in a directory of the test's, and
// returns their paths.
func fifos(t *testing.T, names ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, name := range names {
		p := dir + "/" + name
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// awaitStarted returns once a task has opened the FIFO started (see
// tellStarted).
func awaitStarted(t *testing.T, started string) {
	t.Helper()
	f, err := os.Open(started)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// tellStarted tells the test that a task runs by opening the FIFO started
// for writing, which returns once the test opened it for reading.
func tellStarted(started string) error {
	f, err := os.OpenFile(started, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// floatsWhenTold tells that it runs by opening the FIFO started, waits
// until the FIFO proceed gives it a byte, then returns n float64s.
func floatsWhenTold(started, proceed string, n int) ([]float64, error) {
	if err := tellStarted(started); err != nil {
		return nil, err
	}
	g, err := os.Open(proceed)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	if _, err := g.Read(make([]byte, 1)); err != nil {
		return nil, err
	}
	return floats(n), nil
}

// TestWorkersRemoveKeepsResults removes a worker while it runs a task with
// a result too large for a message: the task ends, and its result reaches
// worker 1 before the worker exits.
func TestWorkersRemoveKeepsResults(t *testing.T) {
	ctx := withWorkers(t, 1)
	ps := fifos(t, "started", "proceed")
	started, proceed := ps[0], ps[1]
	const n = 1 << 18 // 2 MiB of float64s: pulled in pieces
	v := dagr.Spawn(ctx, floatsWhenTold, dagr.Options{Single: 2}, started, proceed, n)
	awaitStarted(t, started)
	removed := make(chan error, 1)
	go func() { removed <- dagr.RemoveProc(ctx, 2) }()
	g, err := os.OpenFile(proceed, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	g.Close()
	if err := <-removed; err != nil {
		t.Fatal(err)
	}
	got := fetch[[]float64](t, ctx, v)
	if len(got) != n || got[n-1] != n-1 {
		t.Fatalf("fetched %d values, last %v", len(got), got[len(got)-1])
	}
}

// workersSeen returns the live workers as a task sees them.
func workersSeen(ctx context.Context) []int { return dagr.Workers(ctx) }

// removeWorker removes worker id from a task.
func removeWorker(ctx context.Context, id int) error { return dagr.RemoveProc(ctx, id) }

// TestWorkersSeenFromWorkers checks that Workers and RemoveProc mean the
// same in a task on a worker as on worker 1.
func TestWorkersSeenFromWorkers(t *testing.T) {
	ctx := withWorkers(t, 2)
	two := dagr.Options{Single: 2}
	if got := fetch[[]int](t, ctx, dagr.Spawn(ctx, workersSeen, two)); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("Workers on worker 2 = %v, want [1 2 3]", got)
	}
	if _, err := dagr.Spawn(ctx, removeWorker, two, 3).Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	if got := dagr.Workers(ctx); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("Workers after worker 2 removed worker 3 = %v, want [1 2]", got)
	}
	if _, err := dagr.Spawn(ctx, removeWorker, two, 2).Fetch(ctx); err == nil || !strings.Contains(err.Error(), "cannot remove itself") {
		t.Fatalf("worker 2 removing itself: %v", err)
	}
}

// busyWhere keeps its processor for d, then says where it ran.
func busyWhere(d time.Duration) int {
	time.Sleep(d)
	return dagr.MyID()
}

// TestWorkersSpreadUnpinned spawns more tasks than worker 1 has processors,
// with no options: while they wait for room there, idle workers get some.
// A lone task stays on worker 1.
func TestWorkersSpreadUnpinned(t *testing.T) {
	ctx := withWorkersOf(t, 2, dagr.Config{Procs: 2, WorkerProcs: 2})
	if got := fetch[int](t, ctx, dagr.Spawn(ctx, busyWhere, time.Millisecond)); got != 1 {
		t.Fatalf("a lone unpinned task ran on worker %d, want 1", got)
	}
	const n = 60
	ts := make([]*dagr.Task, n)
	for i := range ts {
		ts[i] = dagr.Spawn(ctx, busyWhere, 20*time.Millisecond)
	}
	ran := map[int]int{}
	for _, task := range ts {
		ran[fetch[int](t, ctx, task)]++
	}
	t.Logf("tasks by worker: %v", ran)
	for _, w := range []int{1, 2, 3} {
		if ran[w] == 0 {
			t.Errorf("worker %d ran none of %d tasks: %v", w, n, ran)
		}
	}
}

// spawnAndCancel spawns, from a task on a worker, a task that waits for
// its context, cancels it, and returns the error its fetch gives.
func spawnAndCancel(ctx context.Context) string {
	sub, cancel := context.WithCancel(ctx)
	t := dagr.Spawn(sub, waitForCancel, dagr.Options{Single: 1})
	cancel()
	_, err := t.Fetch(ctx)
	return fmt.Sprintf("canceled=%v: %v", errors.Is(err, context.Canceled), err)
}

// TestWorkersCancelFromWorker cancels, from a task on worker 2, a task
// that it spawned on worker 1.
func TestWorkersCancelFromWorker(t *testing.T) {
	ctx := withWorkers(t, 1)
	got := fetch[string](t, ctx, dagr.Spawn(ctx, spawnAndCancel, dagr.Options{Single: 2}))
	if !strings.HasPrefix(got, "canceled=true") {
		t.Fatalf("the cancelled task's fetch on worker 2: %s", got)
	}
}

// TestWorkersKilledWorkerFailsItsTask kills a worker while it runs a task:
// the task fails with an error that says so (recomputing it elsewhere is
// for later), and the worker is gone from Workers.
func TestWorkersKilledWorkerFailsItsTask(t *testing.T) {
	ctx := withWorkers(t, 1)
	pid := fetch[int](t, ctx, dagr.Spawn(ctx, workerPID, dagr.Options{Single: 2}))
	ps := fifos(t, "started", "proceed")
	task := dagr.Spawn(ctx, floatsWhenTold, dagr.Options{Single: 2}, ps[0], ps[1], 1)
	awaitStarted(t, ps[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, err := task.Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "worker 2 exited while it ran the task") {
		t.Fatalf("a task whose worker was killed: %v", err)
	}
	if got := dagr.Workers(ctx); fmt.Sprint(got) != "[1]" {
		t.Fatalf("Workers after the kill = %v, want [1]", got)
	}
}

// handleOfHome returns, from a task on a worker, a value holding a handle
// of a task on worker 1 that it was given.
func handleOfHome(h Handle) Handle { return h }

// TestWorkersHandleOfHomeTravels sends a worker a handle of a task on
// worker 1 and gets it back, inside values both ways.
func TestWorkersHandleOfHomeTravels(t *testing.T) {
	ctx := withWorkers(t, 1)
	h := dagr.Spawn(ctx, add, 1, 2)
	back := fetch[Handle](t, ctx, dagr.Spawn(ctx, handleOfHome, dagr.Options{Single: 2}, Handle{h}))
	if got := fetch[int](t, ctx, back.T); got != 3 {
		t.Fatalf("a handle of a task on worker 1, there and back: %d", got)
	}
}

// homeEnded gets the error of waitAndTell when it runs on worker 1, the
// test's own process.
var homeEnded = make(chan error, 1)

// waitAndTell opens the FIFO started, to say that it runs, then waits for
// its context to end and tells homeEnded.
func waitAndTell(ctx context.Context, started string) error {
	if err := tellStarted(started); err != nil {
		return err
	}
	<-ctx.Done()
	homeEnded <- ctx.Err()
	return ctx.Err()
}

// spawnCancelled spawns waitAndTell on worker 1 from a task on a worker,
// waits until it runs, cancels its context, and returns without waiting
// for its end: the handle here may never have run.
func spawnCancelled(ctx context.Context, started string) error {
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	dagr.Spawn(sub, waitAndTell, dagr.Options{Single: 1}, started)
	f, err := os.Open(started) // returns once waitAndTell opened it too
	if err != nil {
		return err
	}
	f.Close()
	return nil
}

// TestWorkersCancelReachesHomeTask checks that cancelling the context of a
// spawn made on a worker cancels the running task on worker 1, whether or
// not the worker's handle of it ever ran.
func TestWorkersCancelReachesHomeTask(t *testing.T) {
	ctx := withWorkers(t, 1)
	started := fifos(t, "started")[0]
	fetch[any](t, ctx, dagr.Spawn(ctx, spawnCancelled, dagr.Options{Single: 2}, started))
	select {
	case err := <-homeEnded:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the task on worker 1 ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the task on worker 1 was not cancelled within 30 s")
	}
}
