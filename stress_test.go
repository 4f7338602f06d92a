package dagr_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dagr/dagr"
)

var (
	stressSeedFlag      = flag.Int64("stress.seed", 0, "TestStress: seed of the random DAGs; 0 picks one from the clock")
	stressRoundsFlag    = flag.Int("stress.rounds", 0, "TestStress: at most this many rounds; 0: as many as -stress.budget allows")
	stressFirstFlag     = flag.Int("stress.first", 0, "TestStress: index of the first round (-stress.first=R -stress.rounds=1 replays round R)")
	stressBudgetFlag    = flag.Duration("stress.budget", 30*time.Second, "TestStress: time budget for the rounds (5s with -short, unless set)")
	stressTasksFlag     = flag.Int("stress.tasks", 2000, "TestStress: mean number of top-level tasks per round")
	stressHangFlag      = flag.Duration("stress.hang", 20*time.Second, "TestStress: a round still running after this long hangs")
	stressKeepGoingFlag = flag.Bool("stress.keepgoing", false, "TestStress: run the next rounds after a failed one")
)

// The parent process passes the settings to the child in the environment
// (isolated passes no flags on).
const (
	stressEnvConfig   = "DAGR_STRESS_CONFIG"
	stressEnvProgress = "DAGR_STRESS_PROGRESS"
)

type stressConfig struct {
	seed      int64
	rounds    int
	first     int
	budget    time.Duration
	tasks     int
	hang      time.Duration
	keepGoing bool
}

func (c stressConfig) String() string {
	return fmt.Sprintf("%d %d %d %s %d %s %t", c.seed, c.rounds, c.first, c.budget, c.tasks, c.hang, c.keepGoing)
}

func parseStressConfig(s string) (c stressConfig, err error) {
	var budget, hang string
	_, err = fmt.Sscanf(s, "%d %d %d %s %d %s %t", &c.seed, &c.rounds, &c.first, &budget, &c.tasks, &hang, &c.keepGoing)
	if err == nil {
		c.budget, err = time.ParseDuration(budget)
	}
	if err == nil {
		c.hang, err = time.ParseDuration(hang)
	}
	return c, err
}

func stressConfigFromFlags() stressConfig {
	c := stressConfig{
		seed:      *stressSeedFlag,
		rounds:    *stressRoundsFlag,
		first:     *stressFirstFlag,
		budget:    *stressBudgetFlag,
		tasks:     max(1, *stressTasksFlag),
		hang:      *stressHangFlag,
		keepGoing: *stressKeepGoingFlag,
	}
	if c.seed == 0 {
		c.seed = time.Now().UnixNano() % 1_000_000_000_000
	}
	budgetSet := false
	flag.Visit(func(f *flag.Flag) { budgetSet = budgetSet || f.Name == "stress.budget" })
	if testing.Short() && !budgetSet {
		c.budget = 5 * time.Second
	}
	return c
}

func (c stressConfig) replay(round int) string {
	return fmt.Sprintf("go test -race -run '^TestStress$' -stress.seed=%d -stress.first=%d -stress.rounds=1 -stress.tasks=%d", c.seed, round, c.tasks)
}

// TestStress runs random DAGs on the eager engine and checks every task
// against an oracle (stress_oracle_test.go): values, failure origins and
// kinds, how many times each f ran, that no f ran twice at once, that a
// task ran only after its inputs succeeded, processor shares and scopes,
// Sync's waiting, and that nothing hangs or leaks.
//
// It runs in a child process (see isolated), so that a crash or a deadlock
// of the engine fails this test only. Flags (after the package on the go
// test command line):
//
//	-stress.seed=N      seed of the random DAGs; 0 (default) picks one from the clock
//	-stress.rounds=N    at most N rounds; 0 (default): as many as the budget allows
//	-stress.first=N     index of the first round: -stress.first=R -stress.rounds=1 replays round R
//	-stress.budget=D    time budget for the rounds (default 30s; 5s with -short)
//	-stress.tasks=N     mean number of top-level tasks per round (default 2000)
//	-stress.hang=D      a round that has not ended after D hangs (default 20s)
//	-stress.keepgoing   go on after a failed round
//
// Every failure message names the seed and the round.
func TestStress(t *testing.T) {
	var cfg stressConfig
	if os.Getenv(childEnv) == t.Name() {
		c, err := parseStressConfig(os.Getenv(stressEnvConfig))
		if err != nil {
			t.Fatalf("stress: bad %s=%q: %v", stressEnvConfig, os.Getenv(stressEnvConfig), err)
		}
		cfg = c
	} else if os.Getenv(childEnv) == "" {
		cfg = stressConfigFromFlags()
		progress := filepath.Join(t.TempDir(), "progress")
		t.Setenv(stressEnvConfig, cfg.String())
		t.Setenv(stressEnvProgress, progress)
		t.Logf("stress: seed %d, budget %v, about %d tasks a round (replay: -stress.seed=%d)", cfg.seed, cfg.budget, cfg.tasks, cfg.seed)
		t.Cleanup(func() {
			data, _ := os.ReadFile(progress)
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			last := lines[len(lines)-1]
			if t.Failed() {
				if round, ok := strings.CutPrefix(last, "round "); ok {
					r, _ := strconv.Atoi(strings.Fields(round)[0])
					t.Logf("stress: seed %d: the child was in round %d; replay it with: %s", cfg.seed, r, cfg.replay(r))
				}
				return
			}
			t.Log(last)
		})
	}
	timeout := cfg.budget + 2*cfg.hang + 30*time.Second
	isolated(t, timeout, func(t *testing.T) { runStress(t, cfg) })
}

// runStress runs the rounds, in the child process.
func runStress(t *testing.T, cfg stressConfig) {
	progress, _ := os.Create(os.Getenv(stressEnvProgress))
	if progress != nil {
		defer progress.Close()
	}
	note := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", args...)
			progress.Sync()
		}
	}
	t.Logf("stress: seed %d, budget %v", cfg.seed, cfg.budget)
	start := time.Now()
	var rounds, failed int
	var stats stressStats
	for round := cfg.first; ; round++ {
		if cfg.rounds > 0 && round-cfg.first >= cfg.rounds {
			break
		}
		if round > cfg.first && time.Since(start) >= cfg.budget {
			break
		}
		note("round %d", round)
		p := genStressPlan(cfg.seed, round, cfg.tasks)
		st, ok := runStressRound(t, cfg, p)
		rounds++
		stats.add(st)
		if !ok {
			failed++
			if !cfg.keepGoing {
				break
			}
		}
	}
	summary := fmt.Sprintf("stress: seed %d: %d rounds (%d failed) in %v: %v", cfg.seed, rounds, failed, time.Since(start).Round(time.Millisecond), &stats)
	note("%s", summary)
	t.Log(summary)
	if !t.Failed() {
		goleak.VerifyNone(t)
	}
}

// stressInst is one spawned task: a top-level task, or a child spawned by
// one try of a nested task.
type stressInst struct {
	n      *snode
	parent *stressInst
	inputs []*stressInst
	ready  chan struct{} // closed once task is set
	task   atomic.Pointer[dagr.Task]
	id     atomic.Uint64
	late   atomic.Bool // spawned once the schedulers were closing

	calls   atomic.Int32 // tries of f
	overlap atomic.Bool  // two calls of f ran at once

	mu      sync.Mutex
	running int
	idle    chan struct{}
	kids    []*stressInst // spawned by its tries, in order

	// The outcome, read after the round.
	val any
	err error
}

func (in *stressInst) desc() string {
	s := fmt.Sprintf("task %s (id %d", in.n.path, in.id.Load())
	if in.parent != nil {
		s += fmt.Sprintf(", spawned by id %d", in.parent.id.Load())
	}
	return s + ")"
}

func (in *stressInst) enter() {
	in.mu.Lock()
	in.running++
	if in.running > 1 {
		in.overlap.Store(true)
	}
	in.mu.Unlock()
}

func (in *stressInst) exit() {
	in.mu.Lock()
	in.running--
	if in.running == 0 && in.idle != nil {
		close(in.idle)
		in.idle = nil
	}
	in.mu.Unlock()
}

// waitIdle waits until no call of f runs, or ctx ends.
func (in *stressInst) waitIdle(ctx context.Context) bool {
	in.mu.Lock()
	if in.running == 0 {
		in.mu.Unlock()
		return true
	}
	if in.idle == nil {
		in.idle = make(chan struct{})
	}
	idle := in.idle
	in.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-ctx.Done():
		return false
	}
}

func (in *stressInst) addKid(k *stressInst) {
	in.mu.Lock()
	in.kids = append(in.kids, k)
	in.mu.Unlock()
}

func (in *stressInst) kidList() []*stressInst {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.kids)
}

// stressErr is the sentinel error of a failing try; stressPanic the value of
// a panicking one. Both name the instance, to check failure origins.
type stressErr struct {
	in  *stressInst
	try int
}

func (e *stressErr) Error() string {
	return fmt.Sprintf("stress: task %s fails on try %d", e.in.n.path, e.try+1)
}

type stressPanic struct {
	in  *stressInst
	try int
}

// stressRun is the state of one round.
type stressRun struct {
	t        *testing.T
	cfg      stressConfig
	p        *stressPlan
	scheds   []*dagr.Scheduler
	groups   []context.Context
	cancels  []context.CancelFunc
	top      []*stressInst
	occ      [][]atomic.Int64 // share in use, in millionths, per scheduler and processor
	deadline context.Context  // the round hangs once it ends
	stop     chan struct{}    // closed to stop the watchers
	watchers sync.WaitGroup
	closing  atomic.Bool

	mu         sync.Mutex
	violations []string
	count      int

	stats stressStats // filled by verify
}

// stressStats counts what the rounds checked.
type stressStats struct {
	tasks, nested, ok, det, calls int
	failed                        [len(failKindNames)]int // by the kind matched
}

func (s *stressStats) add(o stressStats) {
	s.tasks += o.tasks
	s.nested += o.nested
	s.ok += o.ok
	s.det += o.det
	s.calls += o.calls
	for i := range s.failed {
		s.failed[i] += o.failed[i]
	}
}

func (s *stressStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d tasks (%d nested), %d tries of f; %d succeeded, failed:", s.tasks, s.nested, s.calls, s.ok)
	for i, name := range failKindNames {
		fmt.Fprintf(&b, " %s %d", name, s.failed[i])
	}
	fmt.Fprintf(&b, "; %d with a known number of tries", s.det)
	return b.String()
}

func (r *stressRun) prefix() string {
	return fmt.Sprintf("stress: seed %d round %d", r.p.seed, r.p.round)
}

// violatef records a broken rule about task in (nil for the round).
func (r *stressRun) violatef(in *stressInst, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if in != nil {
		msg = in.desc() + ": " + msg
	}
	r.mu.Lock()
	r.count++
	if len(r.violations) < 25 {
		r.violations = append(r.violations, msg)
	}
	r.mu.Unlock()
}

// runStressRound runs one round; it returns what it checked, and whether
// the round passed.
func runStressRound(t *testing.T, cfg stressConfig, p *stressPlan) (stressStats, bool) {
	r := &stressRun{t: t, cfg: cfg, p: p, stop: make(chan struct{})}
	var cancel context.CancelFunc
	r.deadline, cancel = context.WithTimeout(context.Background(), cfg.hang)
	defer cancel()
	// The round's own waits end at r.deadline; if the engine blocks this
	// goroutine itself (in Spawn, say), the watchdog reports the hang.
	finished := make(chan struct{})
	defer close(finished)
	go r.watchdog(finished, cfg.hang+10*time.Second)
	for _, procs := range p.procs {
		s, err := dagr.New(dagr.Config{Procs: procs})
		if err != nil {
			t.Fatalf("%s: New(Procs: %d): %v", r.prefix(), procs, err)
		}
		r.scheds = append(r.scheds, s)
		r.occ = append(r.occ, make([]atomic.Int64, procs))
	}
	for _, g := range p.groups {
		var ctx context.Context
		var cancel context.CancelFunc
		if g.kind == fkDeadline {
			ctx, cancel = context.WithTimeout(context.Background(), g.deadline)
		} else {
			ctx, cancel = context.WithCancel(context.Background())
		}
		r.groups, r.cancels = append(r.groups, ctx), append(r.cancels, cancel)
	}
	defer func() {
		for _, c := range r.cancels {
			c()
		}
	}()

	r.spawnTop()
	if !r.quiesce() {
		r.hang("tasks still running")
	}
	close(r.stop)
	r.watchers.Wait()
	if !r.closeAll() {
		r.hang("Close does not return")
	}
	all := r.verify()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.violations {
		t.Errorf("%s: %s", r.prefix(), v)
	}
	if r.count > len(r.violations) {
		t.Errorf("%s: ... %d violations in all", r.prefix(), r.count)
	}
	if r.count > 0 {
		t.Errorf("%s: schedulers with processors %v, %d top-level tasks, %d spawned in all, interrupts %v; replay: %s",
			r.prefix(), p.procs, len(p.top.nodes), len(all), p.interrupts, cfg.replay(p.round))
	}
	return r.stats, r.count == 0
}

// hang fails the round: it names the tasks that have not ended, and logs
// every goroutine's stack.
func (r *stressRun) hang(what string) {
	// Those whose f ran first: the others mostly wait for them.
	var running, waiting []string
	for _, in := range r.collect() {
		if t := in.task.Load(); t == nil || !t.Ready() {
			line := fmt.Sprintf("%s [%s; %d tries]", in.desc(), in.n.describe(), in.calls.Load())
			if in.calls.Load() > 0 {
				running = append(running, line)
			} else {
				waiting = append(waiting, line)
			}
		}
	}
	pending := append(running[:min(len(running), 15)], waiting[:min(len(waiting), 20-min(len(running), 15))]...)
	r.t.Errorf("%s: hang: %s after %v; replay: %s; tasks not ended (%d shown):\n\t%s",
		r.prefix(), what, r.cfg.hang, r.cfg.replay(r.p.round), len(pending), strings.Join(pending, "\n\t"))
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 2)
	r.t.Logf("%s: goroutines:\n%s", r.prefix(), b.String())
	r.t.FailNow()
}

// watchdog ends the process, with every goroutine's stack, unless finished
// is closed within limit.
func (r *stressRun) watchdog(finished <-chan struct{}, limit time.Duration) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-finished:
		return
	case <-timer.C:
	}
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 2)
	fmt.Fprintf(os.Stderr, "%s: hang: the round has not ended after %v, and the test's goroutine is stuck (in the engine?); replay: %s\ngoroutines:\n%s\n",
		r.prefix(), limit, r.cfg.replay(r.p.round), b.String())
	os.Exit(2)
}

// spawnTop spawns the top-level tasks in order, firing the outside cancels.
func (r *stressRun) spawnTop() {
	nodes := r.p.top.nodes
	r.top = make([]*stressInst, len(nodes))
	for i, n := range nodes {
		in := &stressInst{n: n, ready: make(chan struct{})}
		args := make([]any, 0, len(n.inputs))
		for _, j := range n.inputs {
			in.inputs = append(in.inputs, r.top[j])
			args = append(args, r.top[j].task.Load())
		}
		r.top[i] = in
		ctx := context.Background()
		if n.group >= 0 {
			ctx = r.groups[n.group]
		}
		r.spawn(ctx, in, args)
		for _, tr := range r.p.triggers {
			switch {
			case tr.kind == trigAfterSpawn && tr.at == i:
				r.fire(tr)
			case tr.kind == trigWhenDone && max(tr.at, tr.task) == i:
				r.watchers.Add(1)
				go func() {
					defer r.watchers.Done()
					select {
					case <-r.top[tr.at].task.Load().Done():
						r.fire(tr)
					case <-r.stop:
					}
				}()
			}
		}
	}
	for _, tr := range r.p.triggers {
		if tr.kind == trigAtEnd {
			r.fire(tr)
		}
	}
}

func (r *stressRun) fire(tr strigger) {
	if tr.task >= 0 {
		r.top[tr.task].task.Load().Cancel()
	}
	if tr.group >= 0 {
		r.cancels[tr.group]()
	}
}

// spawn spawns in with args (its inputs' tasks), by one of the ways the API
// offers.
func (r *stressRun) spawn(ctx context.Context, in *stressInst, args []any) {
	n := in.n
	s := r.scheds[n.sched]
	all := append([]any{r.options(n)}, args...)
	f := r.fn(in)
	var t *dagr.Task
	switch {
	case in.parent != nil && n.sched == in.parent.n.sched && n.c&1 == 0:
		t = dagr.Spawn(ctx, f, all...) // the scheduler of the spawning task's context
	case in.parent == nil && n.c&2 == 0:
		t = dagr.Spawn(dagr.WithScheduler(ctx, s), f, all...)
	default:
		t = s.Spawn(ctx, f, all...)
	}
	in.task.Store(t)
	in.id.Store(t.ID())
	close(in.ready)
	if r.closing.Load() {
		in.late.Store(true)
	}
	if in.parent != nil {
		in.parent.addKid(in)
	}
}

func (r *stressRun) options(n *snode) dagr.Options {
	o := dagr.Options{Name: "t" + n.path, Occupancy: n.occ, Priority: n.prio, Retries: n.retries, Timeout: n.timeout}
	switch n.scope {
	case scThread:
		o.Scope = dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: n.thread})
	case scWorker:
		o.Scope = dagr.WorkerScope(1)
	case scAny:
		o.Scope = dagr.AnyScope()
	case scOSProc:
		o.Scope = dagr.ExactScope(dagr.OSProc{ID: 1})
	}
	switch n.invalid {
	case invScope:
		o.Scope = dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: n.thread})
	case invWorker:
		o.Scope = dagr.WorkerScope(2)
	case invSingle:
		o.Single = 2
	case invOcc:
		o.Occupancy = n.badOcc
	case invRetries:
		o.Retries = -1
	case invTimeout:
		o.Timeout = -time.Millisecond
	}
	return o
}

// fn makes the task's f, of the node's shape.
func (r *stressRun) fn(in *stressInst) any {
	switch in.n.shape {
	case shapeVar:
		return func(xs ...int) int {
			v, _ := r.call(in, nil, xs)
			return v
		}
	case shapeCtxOne:
		return func(ctx context.Context, x int) (int, error) { return r.call(in, ctx, []int{x}) }
	case shapeTwo:
		return func(x, y int) int {
			v, _ := r.call(in, nil, []int{x, y})
			return v
		}
	case shapeCtxNone:
		return func(ctx context.Context) (any, error) {
			v, err := r.call(in, ctx, nil)
			if err != nil {
				return nil, err
			}
			return v, nil
		}
	}
	return func(ctx context.Context, xs ...int) (int, error) { return r.call(in, ctx, xs) }
}

// call is the body of every f: one try.
func (r *stressRun) call(in *stressInst, ctx context.Context, xs []int) (int, error) {
	n := in.n
	try := int(in.calls.Add(1)) - 1
	in.enter()
	defer in.exit()
	var occ *occTok
	if ctx != nil {
		occ = r.checkProc(in, ctx)
		defer occ.release()
	}
	if len(xs) != len(n.inputs) {
		r.violatef(in, "f got %d arguments, want %d", len(xs), len(n.inputs))
	} else {
		for i, x := range xs {
			if src := n.dag.nodes[n.inputs[i]]; !src.exp.ok {
				r.violatef(in, "f runs although its input %d (task %s) must fail (%v)", i+1, src.path, &src.exp)
			} else if x != src.exp.val {
				r.violatef(in, "f got %d as argument %d (task %s), want %d", x, i+1, src.path, src.exp.val)
			}
		}
	}
	for _, x := range n.cancels {
		r.top[x].task.Load().Cancel()
	}
	if n.selfCancel {
		select {
		case <-in.ready:
			in.task.Load().Cancel()
		case <-r.deadline.Done():
		}
		return n.c, nil // dropped: the task was cancelled
	}
	if try < n.failFirst {
		if n.tryKind(try) == fkPanic {
			panic(stressPanic{in, try})
		}
		return 0, &stressErr{in, try}
	}
	if n.goexit {
		runtime.Goexit()
	}
	switch n.body {
	case bodyHang:
		<-ctx.Done()
		return 0, ctx.Err()
	case bodyTimer:
		tm := time.NewTimer(n.delay)
		defer tm.Stop()
		if ctx == nil {
			<-tm.C
		} else {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-tm.C:
			}
		}
	case bodyNested:
		return r.nested(ctx, in, xs, occ)
	}
	return stressMix(n.c, xs...), nil
}

// nested spawns the node's sub-DAG with ctx and fetches, waits for or syncs
// its children, as the node says.
func (r *stressRun) nested(ctx context.Context, in *stressInst, xs []int, occ *occTok) (int, error) {
	n := in.n
	kids := make([]*stressInst, len(n.sub.nodes))
	spawnAll := func(ctx context.Context) {
		for j, kn := range n.sub.nodes {
			k := &stressInst{n: kn, parent: in, ready: make(chan struct{})}
			args := make([]any, 0, len(kn.inputs))
			for _, i := range kn.inputs {
				k.inputs = append(k.inputs, kids[i])
				args = append(args, kids[i].task.Load())
			}
			kids[j] = k
			r.spawn(ctx, k, args)
		}
	}
	cancelAt := func(step int) {
		for _, kc := range n.kidCancels {
			if kc.step == step {
				kids[kc.kid].task.Load().Cancel()
			}
		}
	}
	vals := make([]int, len(n.use))
	fetch := func(ctx context.Context, i int) error {
		k := kids[n.use[i]]
		occ.pause()
		v, err := dagr.Fetch[int](ctx, k.task.Load())
		occ.resume()
		if err != nil {
			if n.wrap {
				err = fmt.Errorf("task %s fetching child %s: %w", n.path, k.n.path, err)
			}
			return err
		}
		if v != k.n.exp.val {
			r.violatef(in, "fetched %d from child %s, want %d", v, k.desc(), k.n.exp.val)
		}
		vals[i] = v
		return nil
	}
	switch n.mode {
	case nestFetch, nestWait:
		spawnAll(ctx)
		cancelAt(0)
		if n.mode == nestWait {
			occ.pause()
			for _, j := range n.waitOrder {
				if err := kids[j].task.Load().Wait(ctx); err != nil {
					occ.resume()
					return 0, err
				}
			}
			occ.resume()
		}
		for i := range n.use {
			if err := fetch(ctx, i); err != nil {
				return 0, err
			}
			cancelAt(i + 1)
		}
	case nestSync:
		occ.pause()
		err := dagr.Sync(ctx, func(ctx context.Context) error {
			spawnAll(ctx)
			cancelAt(0)
			if n.bodyFetch && len(n.use) > 0 {
				return fetch(ctx, 0)
			}
			return nil
		})
		occ.resume()
		r.checkSynced(in, kids)
		if err != nil {
			return 0, err
		}
		for i := range n.use {
			if err := fetch(ctx, i); err != nil {
				return 0, err
			}
			cancelAt(i + 1)
		}
	}
	return stressMix(n.c, append(slices.Clone(xs), vals...)...), nil
}

// checkSynced checks, once Sync has returned, that the tasks spawned in its
// body have ended, and so have the tasks spawned by those that succeeded
// (those whose f certainly returned before Sync did).
func (r *stressRun) checkSynced(in *stressInst, kids []*stressInst) {
	for len(kids) > 0 {
		k := kids[0]
		kids = kids[1:]
		t := k.task.Load()
		if !t.Ready() {
			r.violatef(in, "Sync returned before %s ended", k.desc())
			continue
		}
		if _, err := t.Fetch(context.Background()); err == nil {
			kids = append(kids, k.kidList()...)
		}
	}
}

// occTok counts the share of its processor that a running f holds, to check
// that the shares on a processor never add up to more than 1. It counts only
// tasks that cannot end while f runs, and stops counting while f waits.
type occTok struct {
	r      *stressRun
	in     *stressInst
	cell   *atomic.Int64
	units  int64
	thread int
	paused int
}

func (r *stressRun) checkProc(in *stressInst, ctx context.Context) *occTok {
	n := in.n
	p := dagr.CurrentProcessor(ctx)
	tp, ok := p.(dagr.ThreadProc)
	if !ok || tp.Owner != 1 || tp.Thread < 1 || tp.Thread > n.procs {
		r.violatef(in, "CurrentProcessor is %v inside f, on a scheduler with %d processors", p, n.procs)
		return nil
	}
	if n.scope == scThread && tp.Thread != n.thread {
		r.violatef(in, "runs on %v, outside its scope ExactScope(ThreadProc(1, %d))", tp, n.thread)
	}
	if !n.exp.countOcc {
		return nil
	}
	units := int64(1_000_000)
	switch {
	case n.occ < 0:
		return nil
	case n.occ > 0:
		units = int64(n.occ * 1_000_000)
	}
	tok := &occTok{r: r, in: in, cell: &r.occ[n.sched][tp.Thread-1], units: units, thread: tp.Thread}
	tok.take()
	return tok
}

func (o *occTok) take() {
	// Shares are counted by the engine in its own units: allow their
	// rounding.
	if v := o.cell.Add(o.units); v > 1_000_000+1_000 {
		o.r.violatef(o.in, "processor %d of scheduler %d runs tasks whose occupancies add up to %.3f",
			o.thread, o.in.n.sched, float64(v)/1e6)
	}
}

func (o *occTok) release() {
	if o != nil && o.paused == 0 {
		o.cell.Add(-o.units)
	}
}

func (o *occTok) pause() {
	if o == nil {
		return
	}
	if o.paused++; o.paused == 1 {
		o.cell.Add(-o.units)
	}
}

func (o *occTok) resume() {
	if o == nil {
		return
	}
	if o.paused--; o.paused == 0 {
		o.take()
	}
}

// collect returns every instance of the round, top-level ones first.
func (r *stressRun) collect() []*stressInst {
	var all []*stressInst
	for _, in := range r.top {
		if in != nil {
			all = append(all, in)
		}
	}
	for i := 0; i < len(all); i++ {
		all = append(all, all[i].kidList()...)
	}
	return all
}

// quiesce waits until every task has ended and no f runs, so that nothing
// can spawn any more.
func (r *stressRun) quiesce() bool {
	seen := -1
	for {
		all := r.collect()
		if len(all) == seen {
			return true
		}
		seen = len(all)
		for _, in := range all {
			select {
			case <-in.task.Load().Done():
			case <-r.deadline.Done():
				return false
			}
			if !in.waitIdle(r.deadline) {
				return false
			}
		}
	}
}

// closeAll closes the schedulers, and checks that they refuse new tasks.
func (r *stressRun) closeAll() bool {
	r.closing.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, s := range r.scheds {
			s.Close()
		}
	}()
	select {
	case <-done:
	case <-r.deadline.Done():
		return false
	}
	for i, s := range r.scheds {
		_, err := s.Spawn(context.Background(), func() int { return 1 }).Fetch(r.deadline)
		if !errors.Is(err, dagr.ErrClosed) {
			r.violatef(nil, "a task spawned on closed scheduler %d gave %v, want an error wrapping ErrClosed", i, err)
		}
	}
	return true
}

// verify checks every task against the oracle, once everything has ended.
func (r *stressRun) verify() []*stressInst {
	all := r.collect()
	byID := make(map[uint64]*stressInst, len(all))
	for _, in := range all {
		id := in.id.Load()
		if other, dup := byID[id]; dup {
			r.violatef(in, "has the same id as %s", other.desc())
		}
		byID[id] = in
	}
	for _, in := range all {
		t := in.task.Load()
		if !t.Ready() {
			r.violatef(in, "has not ended after the round")
			continue
		}
		select {
		case <-t.Done():
		default:
			r.violatef(in, "Ready, but its Done channel is open")
		}
		if err := t.Wait(context.Background()); err != nil {
			r.violatef(in, "Wait of an ended task returned %v", err)
		}
		in.val, in.err = t.Fetch(context.Background())
	}
	for _, in := range all {
		if !in.late.Load() {
			r.checkOutcome(in, byID)
		}
		r.checkTries(in)
		st := &r.stats
		st.tasks++
		st.calls += int(in.calls.Load())
		if in.parent != nil {
			st.nested++
		}
		if in.n.exp.det {
			st.det++
		}
		if in.err == nil {
			st.ok++
		}
	}
	return all
}

func (r *stressRun) checkOutcome(in *stressInst, byID map[uint64]*stressInst) {
	e := &in.n.exp
	if in.err == nil {
		switch {
		case !e.ok:
			r.violatef(in, "succeeded with %v; want %v [%s]", in.val, e, in.n.describe())
		case in.val != any(e.val):
			r.violatef(in, "succeeded with %v (%T), want %d", in.val, in.val, e.val)
		}
		return
	}
	te, ok := in.err.(*dagr.TaskError)
	if !ok {
		r.violatef(in, "Fetch returned %T %q, not a *TaskError", in.err, in.err)
		return
	}
	if te.Task != in.id.Load() || te.Name != in.task.Load().Name() {
		r.violatef(in, "TaskError names task %d (%s), not the fetched one (%s)", te.Task, te.Name, in.task.Load().Name())
	}
	origin := byID[te.Origin]
	if origin == nil {
		r.violatef(in, "failed with origin %d, which is no task of the round: %v; want %v [%s]", te.Origin, in.err, e, in.n.describe())
		return
	}
	kinds, ok := e.fails[origin.n]
	if !ok {
		r.violatef(in, "failed with origin %s: %v; want %v [%s]", origin.desc(), shorten(in.err), e, in.n.describe())
		return
	}
	for i := range failKindNames {
		if k := failKind(1) << i; kinds&k != 0 && stressEvidence(in.err, origin, k) {
			r.stats.failed[i]++
			return
		}
	}
	r.violatef(in, "failed with origin %s, as a %v failure is expected, but the error is: %v [origin: %s]",
		origin.desc(), kinds, shorten(in.err), origin.n.describe())
}

// stressEvidence reports whether err shows a failure of kind k of origin.
func stressEvidence(err error, origin *stressInst, k failKind) bool {
	switch k {
	case fkSentinel, fkPanic:
		found := false
		walkErr(err, func(e error) {
			switch e := e.(type) {
			case *stressErr:
				found = found || k == fkSentinel && e.in == origin
			case *dagr.PanicError:
				p, ok := e.Value.(stressPanic)
				found = found || k == fkPanic && ok && p.in == origin
			}
		})
		return found
	case fkCanceled:
		return errors.Is(err, context.Canceled)
	case fkDeadline:
		return errors.Is(err, context.DeadlineExceeded)
	case fkNoProc:
		return errors.Is(err, dagr.ErrNoProcessor)
	}
	return true // fkGoexit, fkGoexitInline, fkBadOpt: any error of that origin
}

// walkErr calls f on err and every error it wraps.
func walkErr(err error, f func(error)) {
	if err == nil {
		return
	}
	f(err)
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		walkErr(u.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walkErr(e, f)
		}
	}
}

func shorten(err error) string {
	s := fmt.Sprintf("%q", err.Error())
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// checkTries checks how many times f ran.
func (r *stressRun) checkTries(in *stressInst) {
	n, e := in.n, &in.n.exp
	calls := int(in.calls.Load())
	// Tries follow each other; only a try that timed out might be
	// followed by the next before its f has returned.
	if in.overlap.Load() && n.timeout <= 0 {
		r.violatef(in, "f ran twice at once (%d tries in all) [%s]", calls, n.describe())
	}
	if calls > n.retries+1 {
		r.violatef(in, "f ran %d times, more than 1 + Retries (%d) [%s]", calls, n.retries, n.describe())
	}
	if calls > 0 && n.invalid != invNone {
		r.violatef(in, "f ran %d times, though the task's options are invalid", calls)
	}
	if calls > 0 {
		for i, src := range in.inputs {
			if src.err != nil {
				r.violatef(in, "f ran %d times, though its input %d (%s) failed: %s", calls, i+1, src.desc(), shorten(src.err))
				break
			}
		}
	}
	if in.err == nil && calls < e.minTries {
		r.violatef(in, "succeeded after %d tries of f, but needs %d", calls, e.minTries)
	}
	if e.det && calls != e.tries && !in.late.Load() {
		r.violatef(in, "f ran %d times, want %d [%s]", calls, e.tries, n.describe())
	}
}
