package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// The functions of the tests of what happens when workers die.
func init() {
	dagr.Register(seqLogged, mixed, scaled, dot, totalOf, dieLogged, spawnDieOnce)
}

// spawnDieOnce spawns dieLogged with Options.RunOnce on workers 3 or 4,
// and returns its error.
func spawnDieOnce(ctx context.Context, log string) error {
	_, err := dagr.Spawn(ctx, dieLogged, dagr.Options{RunOnce: true, Scope: dagr.WorkerScope(3, 4)}, log).Fetch(ctx)
	return err
}

// keptLen is the length of a []float64 too large to travel inline: it
// stays on the worker that made it.
const keptLen = 9000

// seqLogged returns seed, seed+1, ... (n of them), and appends the pid of
// the process that made it to the file log.
func seqLogged(log string, n int, seed float64) ([]float64, error) {
	if err := appendPID(log); err != nil {
		return nil, err
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = seed + float64(i)
	}
	return v, nil
}

func appendPID(log string) error {
	f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, os.Getpid())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// pidsIn returns the pids that log holds, one per run.
func pidsIn(t *testing.T, log string) []int {
	t.Helper()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

func mixed(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range out {
		out[i] = (a[i]+b[i])/2 + 1
	}
	return out
}

func scaled(k float64, a []float64) []float64 {
	out := make([]float64, len(a))
	for i := range out {
		out[i] = k * a[i]
	}
	return out
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func totalOf(vs ...[]float64) float64 {
	s := 0.0
	for _, v := range vs {
		for _, x := range v {
			s += x
		}
	}
	return s
}

// dieLogged logs its run, then kills the worker that runs it.
func dieLogged(log string) error {
	if err := appendPID(log); err != nil {
		return err
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

func kill(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	if pid == os.Getpid() {
		t.Fatalf("pid %d is the test's own process", pid)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
}

// TestWorkersLostResultIsMadeAgain: the worker that keeps the only copy of
// a diamond's top dies (SIGKILL) once the top is done; the tasks below it
// get it made again on another worker, from the task that made it.
func TestWorkersLostResultIsMadeAgain(t *testing.T) {
	ctx := withWorkers(t, 3)
	log := filepath.Join(t.TempDir(), "runs")
	everywhere := dagr.Options{Scope: dagr.WorkerScope(2, 3, 4)}
	top := dagr.Spawn(ctx, seqLogged, everywhere, log, keptLen, 1.0)
	if err := top.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	first := pidsIn(t, log)
	kill(t, first[0], syscall.SIGKILL)
	left := dagr.Spawn(ctx, scaled, everywhere, 2.0, top)
	right := dagr.Spawn(ctx, mixed, everywhere, top, top)
	got := fetch[float64](t, ctx, dagr.Spawn(ctx, dot, everywhere, left, right))

	seq, _ := seqLogged(filepath.Join(t.TempDir(), "here"), keptLen, 1.0)
	if want := dot(scaled(2, seq), mixed(seq, seq)); got != want {
		t.Fatalf("the diamond gave %v after its top's worker died, want %v", got, want)
	}
	runs := pidsIn(t, log)
	if len(runs) != 2 || runs[1] == runs[0] {
		t.Fatalf("the top ran in processes %v: want twice, the second elsewhere", runs)
	}
	// The top itself is fetched from where it was made again.
	if v := fetch[[]float64](t, ctx, top); !slices.Equal(v, seq) {
		t.Fatalf("the top, fetched after it was made again, differs")
	}
}

// TestWorkersKilledMidGraph: a worker dies (SIGKILL) in the middle of a
// DAG of 1,000 tasks, each of whose results stays on its worker; the
// tasks it ran run again, the results it kept are made again from their
// lineage, and the DAG's result is right.
func TestWorkersKilledMidGraph(t *testing.T) {
	ctx := withWorkers(t, 3)
	const layers, width, n = 10, 100, keptLen
	everywhere := dagr.Options{Scope: dagr.WorkerScope(2, 3, 4)}
	log := filepath.Join(t.TempDir(), "runs")
	var tasks [layers][]*dagr.Task
	oracle := make([][]float64, width)
	for j := range width {
		tasks[0] = append(tasks[0], dagr.Spawn(ctx, seqLogged, everywhere, log, n, float64(j)))
		oracle[j], _ = seqLogged(filepath.Join(t.TempDir(), "here"), n, float64(j))
	}
	for l := 1; l < layers; l++ {
		next := make([][]float64, width)
		for j := range width {
			k := (j + 1 + l) % width
			tasks[l] = append(tasks[l], dagr.Spawn(ctx, mixed, everywhere, tasks[l-1][j], tasks[l-1][k]))
			next[j] = mixed(oracle[j], oracle[k])
		}
		oracle = next
	}
	last := make([]any, 0, width+1)
	last = append(last, everywhere)
	for _, task := range tasks[layers-1] {
		last = append(last, task)
	}
	sum := dagr.Spawn(ctx, totalOf, last...)

	// Once the fourth layer is done, the worker that made the first
	// result dies: it keeps a third of every layer's results so far.
	for _, task := range tasks[3] {
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	victim := pidsIn(t, log)[0]
	kill(t, victim, syscall.SIGKILL)
	got := fetch[float64](t, ctx, sum)
	if want := totalOf(oracle...); got != want {
		t.Fatalf("the DAG gave %v after a worker died in its middle, want %v", got, want)
	}
	runs := pidsIn(t, log)
	if len(runs) <= width {
		t.Fatalf("the first layer ran %d times: none of the victim's results was made again", len(runs))
	}
	if ws := dagr.Workers(ctx); len(ws) != 3 {
		t.Fatalf("Workers() = %v after one of 3 workers died", ws)
	}
}

// TestWorkersHungHolderIsReplaced: the worker that keeps the only copy of
// a result hangs (SIGSTOP); once its heartbeats are overdue it is killed,
// and the result is made again for the task that needs it and for a
// Fetch.
func TestWorkersHungHolderIsReplaced(t *testing.T) {
	ctx := withWorkersOf(t, 2, dagr.Config{WorkerTimeout: time.Second})
	log := filepath.Join(t.TempDir(), "runs")
	both := dagr.Options{Scope: dagr.WorkerScope(2, 3)}
	top := dagr.Spawn(ctx, seqLogged, both, log, keptLen, 5.0)
	if err := top.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	kill(t, pidsIn(t, log)[0], syscall.SIGSTOP)
	begin := time.Now()
	seq, _ := seqLogged(filepath.Join(t.TempDir(), "here"), keptLen, 5.0)
	if got, want := fetch[float64](t, ctx, dagr.Spawn(ctx, totalOf, both, top)), totalOf(seq); got != want {
		t.Fatalf("the sum of the hung worker's result: %v, want %v", got, want)
	}
	if v := fetch[[]float64](t, ctx, top); !slices.Equal(v, seq) {
		t.Fatal("the hung worker's result, fetched after it was made again, differs")
	}
	if d := time.Since(begin); d > 20*time.Second {
		t.Fatalf("recovering from a hung worker took %v, with a timeout of 1s", d)
	}
	if runs := pidsIn(t, log); len(runs) != 2 {
		t.Fatalf("the result was made in processes %v, want twice", runs)
	}
}

// TestWorkersRunOnce: a task that must not run twice fails when its
// worker dies instead of running again, and a result of such a task that
// a dead worker kept is not made again; a task pinned to a worker that
// died fails with ErrNoProcessor; Options.WorkerDeaths bounds the deaths.
func TestWorkersRunOnce(t *testing.T) {
	ctx := withWorkers(t, 6)
	dir := t.TempDir()
	// Spawned by a task on a worker, through worker 1.
	spawned := filepath.Join(dir, "spawned")
	_, err := dagr.Spawn(ctx, spawnDieOnce, dagr.Options{Single: 2}, spawned).Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "must not run twice") {
		t.Fatalf("a task that must not run twice, spawned on a worker, whose worker died: %v", err)
	}
	if runs := pidsIn(t, spawned); len(runs) != 1 {
		t.Fatalf("a task that must not run twice, spawned on a worker, ran in %v", runs)
	}

	log := filepath.Join(dir, "once")
	_, err = dagr.Spawn(ctx, dieLogged, dagr.Options{RunOnce: true, Scope: dagr.WorkerScope(2, 3)}, log).Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "must not run twice") {
		t.Fatalf("a task that must not run twice, whose worker died: %v", err)
	}
	if runs := pidsIn(t, log); len(runs) != 1 {
		t.Fatalf("a task that must not run twice ran in %v", runs)
	}

	kept := filepath.Join(dir, "kept")
	top := dagr.Spawn(ctx, seqLogged, dagr.Options{RunOnce: true, Scope: dagr.WorkerScope(2, 3, 4, 5, 6, 7)}, kept, keptLen, 0.0)
	if err := top.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	kill(t, pidsIn(t, kept)[0], syscall.SIGKILL)
	_, err = dagr.Spawn(ctx, totalOf, dagr.Options{Scope: dagr.WorkerScope(2, 3, 4, 5, 6, 7)}, top).Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "must not run twice") {
		t.Fatalf("a task that needs a lost result of a task that must not run twice: %v", err)
	}
	if runs := pidsIn(t, kept); len(runs) != 1 {
		t.Fatalf("a task that must not run twice ran in %v", runs)
	}

	live := dagr.Workers(ctx)
	pinned := live[len(live)-1]
	_, err = dagr.Spawn(ctx, alwaysDie, dagr.Options{Single: pinned}).Fetch(ctx)
	if !errors.Is(err, dagr.ErrNoProcessor) {
		t.Fatalf("a task pinned to worker %d, which died: %v, want ErrNoProcessor", pinned, err)
	}

	deaths := filepath.Join(dir, "deaths")
	_, err = dagr.Spawn(ctx, dieLogged, dagr.Options{WorkerDeaths: 2, Scope: dagr.WorkerScope(2, 3, 4, 5, 6, 7)}, deaths).Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "ran on 2 workers that died") {
		t.Fatalf("a task that kills its workers, with WorkerDeaths 2: %v", err)
	}
	if runs := pidsIn(t, deaths); len(runs) != 2 {
		t.Fatalf("a task allowed 2 worker deaths ran in %v", runs)
	}
}
