package dagr_test

import (
	"context"
	"flag"
	"math"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// TestWorkersRecoveryRandom runs random DAGs on workers and kills workers
// (SIGKILL, or SIGSTOP: a hang), or remove them, at random points of them; an oracle computes each task's value
// here. Every task must end with its value, except that a task with
// Options.RunOnce, and what depends on it, may fail saying that it must
// not run twice. Some tasks spawn and fetch tasks from their worker.
// Results are inline or kept on their workers at random,
// some come to worker 1 at once (GetResult), so that running tasks, kept
// results and their lineages are all lost in some rounds.

var recoverySeedFlag = flag.Uint64("recovery.seed", 0, "TestWorkersRecoveryRandom: seed; 0 picks one from the clock")

func init() { dagr.Register(mixMod, mixSpawned) }

// mixSpawned spawns k tasks of mixMod(seed+c, n) on workers, from the
// worker it runs on, and returns mixMod(seed, n, their values...).
func mixSpawned(ctx context.Context, scope []int, seed float64, n, k int) ([]float64, error) {
	var ins [][]float64
	ts := make([]*dagr.Task, k)
	for c := range ts {
		ts[c] = dagr.Spawn(ctx, mixMod, dagr.Options{Scope: dagr.WorkerScope(scope...)}, seed+float64(c), n)
	}
	for _, t := range ts {
		v, err := dagr.Fetch[[]float64](ctx, t)
		if err != nil {
			return nil, err
		}
		ins = append(ins, v)
	}
	return mixMod(seed, n, ins...), nil
}

// mixMod returns, for each i < n, (seed + the sum of (j+1) times input j's
// element i modulo its length) modulo a prime: exact in float64.
func mixMod(seed float64, n int, inputs ...[]float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		s := seed
		for j, in := range inputs {
			s += float64(j+1) * in[i%len(in)]
		}
		out[i] = math.Mod(s, 1_000_003)
	}
	return out
}

// rnode is a task of a random DAG: its inputs are earlier tasks.
type rnode struct {
	seed    float64
	n       int
	inputs  []int
	getRes  bool
	runOnce bool
	spawns  int // a task of mixSpawned that spawns this many, when not 0 (it has no inputs)
}

func TestWorkersRecoveryRandom(t *testing.T) {
	seed := *recoverySeedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("-recovery.seed=%d", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rounds := 4
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		recoveryRound(t, rng, round)
	}
}

func recoveryRound(t *testing.T, rng *rand.Rand, round int) {
	const workers = 3
	// A hung worker (SIGSTOP) is declared dead after the timeout.
	ctx := withWorkersOf(t, workers, dagr.Config{WorkerTimeout: time.Second})
	// Worker ids grow: the scope names those that replacements will get.
	var ids []int
	for id := 2; id < 2+workers+4; id++ {
		ids = append(ids, id)
	}
	size := 60 + rng.IntN(120)
	nodes := make([]rnode, size)
	for i := range nodes {
		nd := rnode{seed: float64(rng.IntN(1000)), n: 50, getRes: rng.IntN(8) == 0, runOnce: rng.IntN(12) == 0}
		if rng.IntN(2) == 0 {
			nd.n = keptLen // kept on its worker
		}
		if rng.IntN(8) == 0 {
			nd.spawns = 1 + rng.IntN(4)
		}
		for k := rng.IntN(4); k > 0 && i > 0 && nd.spawns == 0; k-- {
			nd.inputs = append(nd.inputs, rng.IntN(i))
		}
		nodes[i] = nd
	}
	// The oracle, and whether a RunOnce task is upstream.
	want := make([][]float64, size)
	once := make([]bool, size)
	for i, nd := range nodes {
		var in [][]float64
		once[i] = nd.runOnce
		for _, j := range nd.inputs {
			in = append(in, want[j])
			once[i] = once[i] || once[j]
		}
		for c := range nd.spawns {
			in = append(in, mixMod(nd.seed+float64(c), nd.n))
		}
		want[i] = mixMod(nd.seed, nd.n, in...)
	}

	tasks := make([]*dagr.Task, size)
	for i, nd := range nodes {
		opts := dagr.Options{Scope: dagr.WorkerScope(ids...), GetResult: nd.getRes, RunOnce: nd.runOnce}
		if nd.spawns > 0 {
			tasks[i] = dagr.Spawn(ctx, mixSpawned, opts, ids, nd.seed, nd.n, nd.spawns)
			continue
		}
		args := []any{opts, nd.seed, nd.n}
		for _, j := range nd.inputs {
			args = append(args, tasks[j])
		}
		tasks[i] = dagr.Spawn(ctx, mixMod, args...)
	}
	// Kill one or two workers, each once a random task has ended, and add
	// one in place of each.
	kills := 1 + rng.IntN(2)
	hit := map[int]bool{} // a stopped worker may look live for a while
	for range kills {
		at := rng.IntN(size)
		_ = tasks[at].Wait(ctx)
		var live []int
		for _, id := range dagr.Workers(ctx)[1:] {
			if !hit[id] {
				live = append(live, id)
			}
		}
		victim := live[rng.IntN(len(live))]
		hit[victim] = true
		if rng.IntN(4) == 0 {
			// Removed instead: it finishes its tasks, and what it keeps
			// comes to worker 1.
			if err := dagr.RemoveProc(ctx, victim); err != nil {
				t.Fatalf("round %d: RemoveProc(%d): %v", round, victim, err)
			}
			if _, err := dagr.AddProcs(ctx, 1); err != nil {
				t.Fatal(err)
			}
			continue
		}
		pid, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, workerPID, dagr.Options{Single: victim}))
		if err != nil {
			t.Fatalf("round %d: the pid of worker %d: %v", round, victim, err)
		}
		sig := syscall.SIGKILL
		if rng.IntN(4) == 0 {
			sig = syscall.SIGSTOP
		}
		kill(t, pid, sig)
		if _, err := dagr.AddProcs(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	wait, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for i, task := range tasks {
		got, err := dagr.Fetch[[]float64](wait, task)
		switch {
		case err != nil && once[i] && strings.Contains(err.Error(), "must not run twice"):
		case err != nil:
			t.Fatalf("round %d: task %d of %d (inputs %v, %d values, RunOnce upstream %v): %v", round, i, size, nodes[i].inputs, nodes[i].n, once[i], err)
		case !equalFloats(got, want[i]):
			t.Fatalf("round %d: task %d of %d gave a wrong value", round, i, size)
		}
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
