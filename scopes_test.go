package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// Scopes as values: UnionScope, IntersectScope, ThreadScope and
// CompatibleProcessors, on their own and as tasks' options; where they
// apply, the cases of Dagger's test/scopes.jl.

// tp is ThreadProc{w, t}, short for tables.
func scopeTP(w, t int) dagr.ThreadProc { return dagr.ThreadProc{Owner: w, Thread: t} }

// exact is ExactScope(ThreadProc{w, t}).
func scopeExact(w, t int) dagr.Scope { return dagr.ExactScope(scopeTP(w, t)) }

func scopeProcs(ps []dagr.Processor) string { return fmt.Sprint(ps) }

func TestScopesString(t *testing.T) {
	for _, tc := range []struct {
		scope dagr.Scope
		want  string
	}{
		{dagr.UnionScope(dagr.WorkerScope(2), scopeExact(1, 2)), "UnionScope(WorkerScope(2), ExactScope(ThreadProc(1, 2)))"},
		{dagr.IntersectScope(dagr.WorkerScope(2, 3), dagr.ThreadScope(1)), "IntersectScope(WorkerScope(2, 3), ThreadScope(1))"},
		{dagr.UnionScope(), "UnionScope()"},
		{dagr.IntersectScope(), "IntersectScope()"},
		{dagr.UnionScope(nil, dagr.ExactScope(dagr.OSProc{ID: 3})), "UnionScope(AnyScope(), ExactScope(OSProc(3)))"},
		{dagr.ThreadScope(), "ThreadScope()"},
		{dagr.ThreadScope(4, 2), "ThreadScope(4, 2)"},
		{dagr.IntersectScope(dagr.UnionScope(scopeExact(1, 1), scopeExact(2, 2)), dagr.AnyScope()),
			"IntersectScope(UnionScope(ExactScope(ThreadProc(1, 1)), ExactScope(ThreadProc(2, 2))), AnyScope())"},
	} {
		if got := tc.scope.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

// TestScopesCompatibleProcessors: the processors of a scheduler of four
// processors and no workers that each scope allows.
func TestScopesCompatibleProcessors(t *testing.T) {
	s := procsNew(t, 4)
	defer s.Close()
	ctx, cancel := procsCtx(s)
	defer cancel()
	all := []dagr.Processor{scopeTP(1, 1), scopeTP(1, 2), scopeTP(1, 3), scopeTP(1, 4)}
	e1, e2 := scopeExact(1, 1), scopeExact(1, 2)
	for _, tc := range []struct {
		name  string
		scope dagr.Scope
		want  []dagr.Processor
	}{
		{"nil is any", nil, all},
		{"AnyScope", dagr.AnyScope(), all},
		{"WorkerScope of this one", dagr.WorkerScope(1), all},
		{"WorkerScope of another", dagr.WorkerScope(2), nil},
		{"ExactScope(OSProc)", dagr.ExactScope(dagr.OSProc{ID: 1}), all},
		{"ExactScope(ThreadProc)", e2, []dagr.Processor{scopeTP(1, 2)}},
		{"ExactScope beyond the processors", scopeExact(1, 5), nil},
		{"ThreadScope", dagr.ThreadScope(4, 2, 9, 0), []dagr.Processor{scopeTP(1, 2), scopeTP(1, 4)}},
		// Dagger: UnionScope(es1) and UnionScope(es1, es1) are es1.
		{"union of one", dagr.UnionScope(e1), []dagr.Processor{scopeTP(1, 1)}},
		{"union of one twice", dagr.UnionScope(e1, e1), []dagr.Processor{scopeTP(1, 1)}},
		{"union in order", dagr.UnionScope(scopeExact(1, 3), e1, scopeExact(1, 3)), []dagr.Processor{scopeTP(1, 1), scopeTP(1, 3)}},
		{"union with a missing worker", dagr.UnionScope(dagr.WorkerScope(2), scopeExact(1, 3)), []dagr.Processor{scopeTP(1, 3)}},
		{"union with any", dagr.UnionScope(e1, nil), all},
		{"union of nothing", dagr.UnionScope(), nil},
		// Dagger: constrain(DefaultScope(), es1) == es1, either way round.
		{"any and exact", dagr.IntersectScope(dagr.AnyScope(), e2), []dagr.Processor{scopeTP(1, 2)}},
		{"exact and any", dagr.IntersectScope(e2, dagr.AnyScope()), []dagr.Processor{scopeTP(1, 2)}},
		// Dagger: constrain(UnionScope(es1, es2), UnionScope(es1)) holds es1, not es2.
		{"unions constrained", dagr.IntersectScope(dagr.UnionScope(e1, scopeExact(2, 2)), dagr.UnionScope(e1)), []dagr.Processor{scopeTP(1, 1)}},
		// Dagger: scope(worker=w, thread=t) == ExactScope(ThreadProc(w, t)).
		{"worker and thread", dagr.IntersectScope(dagr.WorkerScope(1), dagr.ThreadScope(3)), []dagr.Processor{scopeTP(1, 3)}},
		{"exact processors apart", dagr.IntersectScope(e1, e2), nil},
		{"workers apart", dagr.IntersectScope(dagr.WorkerScope(1), dagr.WorkerScope(2)), nil},
		{"intersection of nothing", dagr.IntersectScope(), all},
		{"nested", dagr.UnionScope(dagr.IntersectScope(dagr.ThreadScope(1, 2, 3), dagr.UnionScope(scopeExact(1, 3), dagr.ThreadScope(1))), scopeExact(1, 4)),
			[]dagr.Processor{scopeTP(1, 1), scopeTP(1, 3), scopeTP(1, 4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := dagr.CompatibleProcessors(ctx, tc.scope)
			if scopeProcs(got) != scopeProcs(tc.want) {
				t.Errorf("CompatibleProcessors(%v) = %v, want %v", tc.scope, got, tc.want)
			}
			if m := s.CompatibleProcessors(context.Background(), tc.scope); scopeProcs(m) != scopeProcs(got) {
				t.Errorf("the method gives %v, the function %v", m, got)
			}
		})
	}
}

// TestScopesThatAllowNothing: a task whose scope allows no processor
// fails with ErrNoProcessor, without running f, and the message names the
// scope and why.
func TestScopesThatAllowNothing(t *testing.T) {
	s := procsNew(t, 2)
	defer s.Close()
	ctx, cancel := procsCtx(s)
	defer cancel()
	for _, tc := range []struct {
		name string
		opts dagr.Options
		says []string
	}{
		{"workers apart", dagr.Options{Scope: dagr.IntersectScope(dagr.WorkerScope(1), dagr.WorkerScope(2))},
			[]string{"IntersectScope(WorkerScope(1), WorkerScope(2))", "WorkerScope(1) and WorkerScope(2) have no processor in common"}},
		{"processors apart", dagr.Options{Scope: dagr.IntersectScope(dagr.AnyScope(), scopeExact(1, 1), dagr.WorkerScope(1), scopeExact(1, 2))},
			[]string{"ExactScope(ThreadProc(1, 1)) and ExactScope(ThreadProc(1, 2)) have no processor in common"}},
		{"union of nothing", dagr.Options{Scope: dagr.UnionScope()}, []string{"UnionScope()", "no scope"}},
		{"union of bad processors", dagr.Options{Scope: dagr.UnionScope(scopeExact(1, 0))}, []string{"processors count from 1"}},
		{"thread scope of nothing", dagr.Options{Scope: dagr.ThreadScope()}, []string{"ThreadScope()"}},
		{"nil processor", dagr.Options{Scope: dagr.ExactScope(nil)}, []string{"names no processor"}},
		{"beyond the processors", dagr.Options{Scope: dagr.IntersectScope(dagr.WorkerScope(1), dagr.ThreadScope(3))},
			[]string{"IntersectScope(WorkerScope(1), ThreadScope(3))", "worker 1 has 2 processors"}},
		{"Single and Scope apart", dagr.Options{Single: 1, Scope: dagr.UnionScope(dagr.WorkerScope(2), scopeExact(3, 1))},
			[]string{"Options.Single is 1", "UnionScope(WorkerScope(2), ExactScope(ThreadProc(3, 1)))"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran atomic.Bool
			_, err := dagr.Spawn(ctx, func() { ran.Store(true) }, tc.opts).Fetch(ctx)
			if !errors.Is(err, dagr.ErrNoProcessor) {
				t.Fatalf("err = %v, want one wrapping ErrNoProcessor", err)
			}
			if ran.Load() {
				t.Errorf("f ran")
			}
			for _, want := range tc.says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestScopesSingleAndScope: Single and Scope together allow the
// processors of worker Single that the scope allows.
func TestScopesSingleAndScope(t *testing.T) {
	s := procsNew(t, 3)
	defer s.Close()
	ctx, cancel := procsCtx(s)
	defer cancel()
	opts := dagr.Options{Single: 1, Scope: dagr.UnionScope(scopeExact(2, 1), scopeExact(1, 3))}
	for range 10 {
		if p, err := dagr.Fetch[dagr.Processor](ctx, dagr.Spawn(ctx, procsWhere, opts)); err != nil || p != scopeTP(1, 3) {
			t.Fatalf("with %+v: ran on %v, %v; want ThreadProc(1, 3)", opts, p, err)
		}
	}
}

// TestScopesRandomAgainstOracle: for random scopes over workers 1 to 3
// and processor numbers up to 5, on a scheduler of 4 processors,
// CompatibleProcessors is what the oracle allows of them, and tasks of the
// scope run only there, or fail with ErrNoProcessor when there is none.
func TestScopesRandomAgainstOracle(t *testing.T) {
	const (
		procs  = 4
		scopes = 400
		tasks  = 6
	)
	s := procsNew(t, procs)
	defer s.Close()
	ctx, cancel := context.WithTimeout(dagr.WithScheduler(context.Background(), s), time.Minute)
	defer cancel()
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 4))
	var none, some, several int
	for range scopes {
		scope, allows := dagr.RandomScope(r, 3, 5)
		var want []dagr.Processor
		for th := 1; th <= procs; th++ {
			if allows(1, th) {
				want = append(want, scopeTP(1, th))
			}
		}
		got := dagr.CompatibleProcessors(ctx, scope)
		if scopeProcs(got) != scopeProcs(want) {
			t.Fatalf("seed %d: CompatibleProcessors(%v) = %v, the oracle says %v", seed, scope, got, want)
		}
		ts := make([]*dagr.Task, tasks)
		for i := range ts {
			ts[i] = dagr.Spawn(ctx, procsWhere, dagr.Options{Scope: scope})
		}
		for _, task := range ts {
			p, err := dagr.Fetch[dagr.Processor](ctx, task)
			switch {
			case len(want) == 0 && !errors.Is(err, dagr.ErrNoProcessor):
				t.Fatalf("seed %d: a task of %v, which allows none of %v: %v, %v; want ErrNoProcessor", seed, scope, s.Workers(ctx), p, err)
			case len(want) > 0 && err != nil:
				t.Fatalf("seed %d: a task of %v, which allows %v: %v", seed, scope, want, err)
			case len(want) > 0 && !slices.Contains(want, p):
				t.Fatalf("seed %d: a task of %v ran on %v, which is not among %v", seed, scope, p, want)
			}
		}
		switch len(want) {
		case 0:
			none++
		case 1:
			some++
		default:
			several++
		}
	}
	t.Logf("seed %d: of %d scopes, %d allowed none, %d one, %d several processors", seed, scopes, none, some, several)
	// Enough of each, or the oracle tested little.
	if none < scopes/20 || some < scopes/20 || several < scopes/20 {
		t.Errorf("seed %d: of %d scopes, %d allowed none, %d one, %d several processors", seed, scopes, none, some, several)
	}
}

// TestScopesWorkers: on worker 1 and two worker processes of two
// processors each, scopes spanning workers run tasks only where they allow,
// and those that allow nothing fail.
func TestScopesWorkers(t *testing.T) {
	s, ctx := schedulerWithWorkers(t, 2, dagr.Config{Procs: 2, WorkerProcs: 2})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if got := dagr.Workers(ctx); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("Workers = %v, want [1 2 3]", got)
	}

	t.Run("CompatibleProcessors", func(t *testing.T) {
		for _, tc := range []struct {
			scope dagr.Scope
			want  []dagr.Processor
		}{
			{dagr.AnyScope(), []dagr.Processor{scopeTP(1, 1), scopeTP(1, 2), scopeTP(2, 1), scopeTP(2, 2), scopeTP(3, 1), scopeTP(3, 2)}},
			// Dagger: scope(worker=w1) has all of w1's processors and none of w2's.
			{dagr.WorkerScope(2), []dagr.Processor{scopeTP(2, 1), scopeTP(2, 2)}},
			// Dagger: scope(worker=w1, thread=2) is one processor.
			{dagr.IntersectScope(dagr.WorkerScope(2), dagr.ThreadScope(2)), []dagr.Processor{scopeTP(2, 2)}},
			// Dagger: scope(workers=[w1, w2]) has all of both.
			{dagr.UnionScope(dagr.WorkerScope(2), dagr.WorkerScope(3)), []dagr.Processor{scopeTP(2, 1), scopeTP(2, 2), scopeTP(3, 1), scopeTP(3, 2)}},
			// Dagger: scope(thread=1) is processor 1 of every worker.
			{dagr.ThreadScope(1), []dagr.Processor{scopeTP(1, 1), scopeTP(2, 1), scopeTP(3, 1)}},
			{dagr.UnionScope(dagr.WorkerScope(1), scopeExact(2, 2)), []dagr.Processor{scopeTP(1, 1), scopeTP(1, 2), scopeTP(2, 2)}},
		} {
			if got := s.CompatibleProcessors(ctx, tc.scope); scopeProcs(got) != scopeProcs(tc.want) {
				t.Errorf("CompatibleProcessors(%v) = %v, want %v", tc.scope, got, tc.want)
			}
		}
	})

	t.Run("run where allowed", func(t *testing.T) {
		const tasks = 12
		for _, tc := range []struct {
			scope dagr.Scope
			may   []string // where the tasks may run
			must  []string // where some must run
		}{
			// Worker 1 comes first: tasks run on its processors when it has some in the scope.
			{dagr.UnionScope(dagr.WorkerScope(1), dagr.WorkerScope(2)), []string{"ThreadProc(1, 1)", "ThreadProc(1, 2)"}, nil},
			{dagr.UnionScope(scopeExact(1, 2), dagr.WorkerScope(2)), []string{"ThreadProc(1, 2)"}, nil},
			// Then the workers the scope allows whole.
			{dagr.UnionScope(scopeExact(1, 3), dagr.WorkerScope(2)), []string{"ThreadProc(2, 1)", "ThreadProc(2, 2)"}, nil},
			{dagr.UnionScope(dagr.WorkerScope(3), scopeExact(2, 1)), []string{"ThreadProc(3, 1)", "ThreadProc(3, 2)"}, nil},
			// Else processors of the workers one number at a time, in turn.
			{dagr.UnionScope(scopeExact(2, 1), scopeExact(3, 2)), []string{"ThreadProc(2, 1)", "ThreadProc(3, 2)"}, []string{"ThreadProc(2, 1)", "ThreadProc(3, 2)"}},
			{dagr.IntersectScope(dagr.WorkerScope(2, 3), dagr.ThreadScope(2)), []string{"ThreadProc(2, 2)", "ThreadProc(3, 2)"}, nil},
			{dagr.IntersectScope(dagr.UnionScope(dagr.WorkerScope(2), scopeExact(3, 1)), dagr.ThreadScope(1)), []string{"ThreadProc(2, 1)", "ThreadProc(3, 1)"}, nil},
		} {
			ts := make([]*dagr.Task, tasks)
			for i := range ts {
				ts[i] = dagr.Spawn(ctx, whereAmI, dagr.Options{Scope: tc.scope})
			}
			seen := map[string]bool{}
			for _, task := range ts {
				p := fetch[Place](t, ctx, task)
				if !slices.Contains(tc.may, p.Proc) || !strings.HasPrefix(p.Proc, fmt.Sprintf("ThreadProc(%d, ", p.Worker)) {
					t.Errorf("a task of %v ran at %+v, want one of %v", tc.scope, p, tc.may)
				}
				seen[p.Proc] = true
			}
			for _, where := range tc.must {
				if !seen[where] {
					t.Errorf("no task of %v ran on %v: they ran on %v", tc.scope, where, seen)
				}
			}
		}
	})

	t.Run("Single and Scope", func(t *testing.T) {
		p := fetch[Place](t, ctx, dagr.Spawn(ctx, whereAmI, dagr.Options{Single: 3, Scope: dagr.ThreadScope(2)}))
		if p != (Place{Worker: 3, Proc: "ThreadProc(3, 2)"}) {
			t.Errorf("with Single 3 and ThreadScope(2), the task ran at %+v", p)
		}
	})

	t.Run("allow nothing", func(t *testing.T) {
		for _, tc := range []struct {
			scope dagr.Scope
			says  string
		}{
			{dagr.IntersectScope(dagr.WorkerScope(1, 2), dagr.WorkerScope(3)), "WorkerScope(1, 2) and WorkerScope(3) have no processor in common"},
			{dagr.IntersectScope(dagr.WorkerScope(2), scopeExact(3, 1)), "WorkerScope(2) and ExactScope(ThreadProc(3, 1)) have no processor in common"},
			{dagr.IntersectScope(dagr.WorkerScope(2, 3), dagr.ThreadScope(3)), "worker 2 has 2 processors"},
			{dagr.UnionScope(dagr.WorkerScope(4), scopeExact(2, 3)), "worker 3 has 2 processors"},
		} {
			_, err := dagr.Spawn(ctx, whereAmI, dagr.Options{Scope: tc.scope}).Fetch(ctx)
			if !errors.Is(err, dagr.ErrNoProcessor) || !strings.Contains(err.Error(), tc.scope.String()) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("a task of %v: %v; want ErrNoProcessor, naming the scope and saying %q", tc.scope, err, tc.says)
			}
		}
	})
}
