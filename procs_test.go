package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// procsNew makes a scheduler for one test; the caller defers its Close.
func procsNew(t *testing.T, procs int) *dagr.Scheduler {
	t.Helper()
	s, err := dagr.New(dagr.Config{Procs: procs})
	if err != nil {
		t.Fatalf("New(Procs: %d): %v", procs, err)
	}
	return s
}

// procsCtx is a context on s that ends after a generous timeout, so that a
// deadlock fails the test instead of hanging it.
func procsCtx(s *dagr.Scheduler) (context.Context, context.CancelFunc) {
	return context.WithTimeout(dagr.WithScheduler(context.Background(), s), 20*time.Second)
}

// procsWhere is a task that says where it runs.
func procsWhere(ctx context.Context) dagr.Processor { return dagr.CurrentProcessor(ctx) }

// procsWhereAfter is procsWhere with an input.
func procsWhereAfter(ctx context.Context, _ dagr.Processor) dagr.Processor {
	return dagr.CurrentProcessor(ctx)
}

// procsPeak counts how many tasks run at once and the most seen.
type procsPeak struct{ cur, peak atomic.Int64 }

func (p *procsPeak) enter() {
	c := p.cur.Add(1)
	for {
		old := p.peak.Load()
		if c <= old || p.peak.CompareAndSwap(old, c) {
			return
		}
	}
}

func (p *procsPeak) leave() { p.cur.Add(-1) }

// procsBarrier is a cyclic barrier: callers are let through in groups of n.
type procsBarrier struct {
	n     int
	mu    sync.Mutex
	count int
	ch    chan struct{}
}

// wait returns once n callers of the current round have arrived, or with
// ctx.Err() if ctx ends first.
func (b *procsBarrier) wait(ctx context.Context) error {
	b.mu.Lock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	ch := b.ch
	b.count++
	if b.count == b.n {
		close(ch)
		b.ch, b.count = nil, 0
	}
	b.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("procs test: barrier of %d: %w", b.n, ctx.Err())
	}
}

func TestProcsNegativeIsAnError(t *testing.T) {
	s, err := dagr.New(dagr.Config{Procs: -1})
	if err == nil {
		s.Close()
		t.Fatalf("New(Procs: -1) succeeded")
	}
}

// TestProcsZeroMeansGOMAXPROCS: with Procs 0 the last processor is
// ThreadProc{1, GOMAXPROCS}, and there is none after it.
func TestProcsZeroMeansGOMAXPROCS(t *testing.T) {
	s := procsNew(t, 0)
	defer s.Close()
	ctx, cancel := procsCtx(s)
	defer cancel()
	n := runtime.GOMAXPROCS(0)

	last := dagr.ThreadProc{Owner: 1, Thread: n}
	p, err := dagr.Fetch[dagr.Processor](ctx, dagr.Spawn(ctx, procsWhere, dagr.Options{Scope: dagr.ExactScope(last)}))
	if err != nil {
		t.Fatalf("task on %v with Procs 0 and GOMAXPROCS %d: %v", last, n, err)
	}
	if p != last {
		t.Errorf("task on ExactScope(%v) ran on %v", last, p)
	}
	beyond := dagr.ThreadProc{Owner: 1, Thread: n + 1}
	_, err = dagr.Spawn(ctx, procsWhere, dagr.Options{Scope: dagr.ExactScope(beyond)}).Fetch(ctx)
	if !errors.Is(err, dagr.ErrNoProcessor) {
		t.Errorf("task on %v with Procs 0 and GOMAXPROCS %d: err = %v, want ErrNoProcessor", beyond, n, err)
	}
}

// TestProcsExactThread: a task pinned to thread 2 runs there, whether it is
// spawned from outside, from a task running on thread 1, or readied by the
// end of a task on thread 1.
func TestProcsExactThread(t *testing.T) {
	s := procsNew(t, 2)
	defer s.Close()
	ctx, cancel := procsCtx(s)
	defer cancel()
	const n = 50
	two := dagr.ThreadProc{Owner: 1, Thread: 2}
	onTwo := dagr.Options{Scope: dagr.ExactScope(two)}
	onOne := dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 1})}

	var tasks []*dagr.Task
	for range n {
		tasks = append(tasks, dagr.Spawn(ctx, procsWhere, onTwo))
	}
	fromOne := func(ctx context.Context) ([]dagr.Processor, error) {
		var ts []*dagr.Task
		for range n {
			ts = append(ts, dagr.Spawn(ctx, procsWhere, onTwo))
		}
		out := []dagr.Processor{dagr.CurrentProcessor(ctx)}
		for _, tk := range ts {
			p, err := dagr.Fetch[dagr.Processor](ctx, tk)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, nil
	}
	nested, err := dagr.Fetch[[]dagr.Processor](ctx, dagr.Spawn(ctx, fromOne, onOne))
	if err != nil {
		t.Fatalf("spawning from thread 1: %v", err)
	}
	if nested[0] != (dagr.ThreadProc{Owner: 1, Thread: 1}) {
		t.Errorf("the spawning task ran on %v, want ThreadProc(1, 1)", nested[0])
	}
	input := dagr.Spawn(ctx, procsWhere, onOne)
	for range n {
		tasks = append(tasks, dagr.Spawn(ctx, procsWhereAfter, onTwo, input))
	}
	got := nested[1:]
	for _, tk := range tasks {
		p, err := dagr.Fetch[dagr.Processor](ctx, tk)
		if err != nil {
			t.Fatalf("task: %v", err)
		}
		got = append(got, p)
	}
	if len(got) != 3*n {
		t.Fatalf("got %d results, want %d", len(got), 3*n)
	}
	for i, p := range got {
		if p != two {
			t.Errorf("result %d: a task pinned to %v ran on %v", i, two, p)
		}
	}
}

// TestProcsScopesThatRun: options naming an existing processor run.
func TestProcsScopesThatRun(t *testing.T) {
	s := procsNew(t, 2)
	defer s.Close()
	ctx, cancel := procsCtx(s)
	defer cancel()
	tests := []struct {
		name string
		opts dagr.Options
	}{
		{"ExactScope(OSProc{1})", dagr.Options{Scope: dagr.ExactScope(dagr.OSProc{ID: 1})}},
		{"ExactScope(ThreadProc{1,1})", dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 1})}},
		{"WorkerScope(1)", dagr.Options{Scope: dagr.WorkerScope(1)}},
		{"WorkerScope(3, 1)", dagr.Options{Scope: dagr.WorkerScope(3, 1)}},
		{"AnyScope()", dagr.Options{Scope: dagr.AnyScope()}},
		{"Single 1", dagr.Options{Single: 1}},
		{"Single 1 and WorkerScope(1)", dagr.Options{Single: 1, Scope: dagr.WorkerScope(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			add := func(ctx context.Context, a, b int) (int, error) {
				if dagr.CurrentProcessor(ctx) == nil {
					return 0, errors.New("procs test: no current processor inside a task")
				}
				return a + b, nil
			}
			got, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, add, tt.opts, 1, 2))
			if err != nil {
				t.Fatalf("task: %v", err)
			}
			if got != 3 {
				t.Errorf("add(1, 2) = %d", got)
			}
		})
	}
}

// TestProcsNoProcessor: options that name only workers or processors that
// do not exist fail the task with ErrNoProcessor, without running f, and
// the message says what was asked.
func TestProcsNoProcessor(t *testing.T) {
	s := procsNew(t, 2)
	defer s.Close()
	ctx, cancel := procsCtx(s)
	defer cancel()
	tests := []struct {
		name  string
		opts  dagr.Options
		names []*regexp.Regexp // the message must match each
	}{
		{"Single 2", dagr.Options{Single: 2}, []*regexp.Regexp{regexp.MustCompile(`Single`), regexp.MustCompile(`\b2\b`)}},
		{"WorkerScope(3)", dagr.Options{Scope: dagr.WorkerScope(3)}, nil},
		{"ExactScope(ThreadProc{1,5})", dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 5})}, nil},
		{"ExactScope(ThreadProc{1,0})", dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 0})}, nil},
		{"ExactScope(ThreadProc{2,1})", dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 2, Thread: 1})}, nil},
		{"ExactScope(OSProc{2})", dagr.Options{Scope: dagr.ExactScope(dagr.OSProc{ID: 2})}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ran atomic.Bool
			tk := dagr.Spawn(ctx, func() int { ran.Store(true); return 1 }, tt.opts)
			_, err := tk.Fetch(ctx)
			if !errors.Is(err, dagr.ErrNoProcessor) {
				t.Fatalf("err = %v, want one wrapping ErrNoProcessor", err)
			}
			var te *dagr.TaskError
			if !errors.As(err, &te) || te.Task != tk.ID() {
				t.Errorf("err = %v (%T), want a *TaskError of task %d", err, err, tk.ID())
			}
			if ran.Load() {
				t.Errorf("f ran")
			}
			msg := err.Error()
			if tt.opts.Scope != nil && !strings.Contains(msg, tt.opts.Scope.String()) {
				t.Errorf("message %q does not name the scope %v", msg, tt.opts.Scope)
			}
			for _, re := range tt.names {
				if !re.MatchString(msg) {
					t.Errorf("message %q does not match %v", msg, re)
				}
			}
		})
	}
}

// TestProcsOccupancyTime: on one processor, tasks of the default occupancy
// run one after the other; tasks with NoOccupancy run together.
func TestProcsOccupancyTime(t *testing.T) {
	const (
		tasks = 4
		nap   = 250 * time.Millisecond
	)
	tests := []struct {
		name     string
		opts     []any
		min, max time.Duration
	}{
		{"default", nil, 900 * time.Millisecond, time.Hour},
		{"NoOccupancy", []any{dagr.Options{Occupancy: dagr.NoOccupancy}}, 0, 700 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := procsNew(t, 1)
			defer s.Close()
			ctx, cancel := procsCtx(s)
			defer cancel()
			start := time.Now()
			var ts []*dagr.Task
			for range tasks {
				ts = append(ts, dagr.Spawn(ctx, func() { time.Sleep(nap) }, tt.opts...))
			}
			for _, tk := range ts {
				if _, err := tk.Fetch(ctx); err != nil {
					t.Fatalf("task: %v", err)
				}
			}
			if d := time.Since(start); d < tt.min || d > tt.max {
				t.Errorf("%d tasks of %v on one processor took %v, want between %v and %v", tasks, nap, d, tt.min, tt.max)
			}
		})
	}
}

// TestProcsOccupancyPeak: on one processor, as many tasks run at once as
// their occupancies allow, and no more. The tasks of a round wait for each
// other at a barrier, so a processor that ran fewer at once would time out,
// and they then hold the processor a while, so one that ran more at once
// would show it.
func TestProcsOccupancyPeak(t *testing.T) {
	const tasks = 8
	tests := []struct {
		name      string
		occupancy float64
		want      int
	}{
		{"default", 0, 1},
		{"1", 1, 1},
		{"0.5", 0.5, 2},
		{"0.4", 0.4, 2},
		{"0.25", 0.25, 4},
		{"NoOccupancy", dagr.NoOccupancy, tasks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := procsNew(t, 1)
			defer s.Close()
			ctx, cancel := procsCtx(s)
			defer cancel()
			var peak procsPeak
			b := &procsBarrier{n: tt.want}
			task := func(ctx context.Context) error {
				peak.enter()
				defer peak.leave()
				if err := b.wait(ctx); err != nil {
					return err
				}
				time.Sleep(30 * time.Millisecond) // the workload
				return nil
			}
			var ts []*dagr.Task
			for range tasks {
				ts = append(ts, dagr.Spawn(ctx, task, dagr.Options{Occupancy: tt.occupancy}))
			}
			for _, tk := range ts {
				if _, err := tk.Fetch(ctx); err != nil {
					t.Fatalf("task (peak so far %d): %v", peak.peak.Load(), err)
				}
			}
			if got := peak.peak.Load(); got != int64(tt.want) {
				t.Errorf("with occupancy %v, %d tasks ran at once on one processor, want %d", tt.occupancy, got, tt.want)
			}
		})
	}
}

// TestProcsBadOccupancy: an occupancy outside (0, 1] other than NoOccupancy
// fails the task without running it.
func TestProcsBadOccupancy(t *testing.T) {
	s := procsNew(t, 1)
	defer s.Close()
	ctx, cancel := procsCtx(s)
	defer cancel()
	for _, occ := range []float64{-0.5, 1.5, -2} {
		var ran atomic.Bool
		_, err := dagr.Spawn(ctx, func() { ran.Store(true) }, dagr.Options{Occupancy: occ}).Fetch(ctx)
		if err == nil || ran.Load() {
			t.Errorf("occupancy %v: err = %v, ran = %v; want an error and no run", occ, err, ran.Load())
		}
	}
}

// TestProcsPriority: among queued tasks, higher priorities run first.
func TestProcsPriority(t *testing.T) {
	s := procsNew(t, 1)
	defer s.Close()
	ctx, cancel := procsCtx(s)
	defer cancel()

	started := make(chan struct{})
	release := make(chan struct{})
	blocker := dagr.Spawn(ctx, func(ctx context.Context) error {
		close(started)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatalf("the blocker did not start: %v", ctx.Err())
	}

	var (
		mu    sync.Mutex
		order []int
	)
	record := func(prio int) {
		mu.Lock()
		order = append(order, prio)
		mu.Unlock()
	}
	prios := []int{0, 5, -3, 5, 0, 10, -3, 10, 1, 0}
	var ts []*dagr.Task
	for _, p := range prios {
		ts = append(ts, dagr.Spawn(ctx, record, dagr.Options{Priority: p}, p))
	}
	for _, tk := range ts {
		if tk.Ready() {
			t.Fatalf("a task ran while the blocker held the only processor")
		}
	}
	close(release)
	if _, err := blocker.Fetch(ctx); err != nil {
		t.Fatalf("blocker: %v", err)
	}
	for _, tk := range ts {
		if _, err := tk.Fetch(ctx); err != nil {
			t.Fatalf("task: %v", err)
		}
	}
	want := slices.Clone(prios)
	slices.SortStableFunc(want, func(a, b int) int { return b - a })
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(order, want) {
		t.Errorf("tasks ran in priority order %v, want %v", order, want)
	}
}

// TestProcsIdleProcessorsSteal: tasks spawned from inside one task queue up
// near it; the other processor takes them. They meet in pairs at a barrier,
// which only works if both processors run them.
func TestProcsIdleProcessorsSteal(t *testing.T) {
	s := procsNew(t, 2)
	defer s.Close()
	ctx, cancel := procsCtx(s)
	defer cancel()

	const pairs = 20
	var (
		peak    procsPeak
		ran     atomic.Int64
		threads [3]atomic.Int64
	)
	b := &procsBarrier{n: 2}
	pair := func(ctx context.Context) error {
		peak.enter()
		defer peak.leave()
		if tp, ok := dagr.CurrentProcessor(ctx).(dagr.ThreadProc); ok && tp.Thread >= 1 && tp.Thread <= 2 {
			threads[tp.Thread].Add(1)
		}
		if err := b.wait(ctx); err != nil {
			return err
		}
		ran.Add(1)
		return nil
	}
	parent := func(ctx context.Context) error {
		var ts []*dagr.Task
		for range 2 * pairs {
			ts = append(ts, dagr.Spawn(ctx, pair))
		}
		for _, tk := range ts {
			if _, err := tk.Fetch(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := dagr.Spawn(ctx, parent).Fetch(ctx); err != nil {
		t.Fatalf("parent (%d tasks ran, peak %d): %v", ran.Load(), peak.peak.Load(), err)
	}
	if got := ran.Load(); got != 2*pairs {
		t.Errorf("%d of %d tasks ran", got, 2*pairs)
	}
	if got := peak.peak.Load(); got != 2 {
		t.Errorf("at most %d tasks ran at once on two processors, want 2", got)
	}
	if threads[1].Load() == 0 || threads[2].Load() == 0 {
		t.Errorf("tasks ran %d times on thread 1 and %d times on thread 2, want both used", threads[1].Load(), threads[2].Load())
	}
}
