package dagr

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The sets behind scopes, checked against an oracle: a scope's predicate
// over workers and processor numbers, by set arithmetic on the explicit
// pairs. Ids up to scopeMaxID are named; the universe goes one beyond, so
// that "every worker" and "every processor" show.
const (
	scopeMaxID    = 5
	scopeUniverse = scopeMaxID + 1
)

// oracleScope is a random scope and the pairs (worker, processor) it
// allows.
type oracleScope struct {
	scope  Scope
	allows func(w, t int) bool
}

// randomScope returns a random scope of at most depth levels of unions and
// intersections over AnyScope, WorkerScope, ExactScope and ThreadScope,
// with ids from -1 to max and nil scopes among the parts (see
// RandomScope for the external tests).
func randomScope(r *rand.Rand, depth, max int) oracleScope {
	id := func() int { return r.IntN(max+1) - r.IntN(2) }
	ids := func() []int {
		s := make([]int, r.IntN(4))
		for i := range s {
			s[i] = id()
		}
		return s
	}
	kind := r.IntN(8)
	if depth == 0 {
		kind = r.IntN(6)
	}
	switch kind {
	case 0:
		return oracleScope{AnyScope(), func(int, int) bool { return true }}
	case 1:
		ws := ids()
		return oracleScope{WorkerScope(ws...), func(w, _ int) bool { return slices.Contains(ws, w) }}
	case 2, 3:
		p := ThreadProc{Owner: id(), Thread: id()}
		return oracleScope{ExactScope(p), func(w, t int) bool { return w == p.Owner && t == p.Thread }}
	case 4:
		p := OSProc{ID: id()}
		return oracleScope{ExactScope(p), func(w, _ int) bool { return w == p.ID }}
	case 5:
		ts := ids()
		return oracleScope{ThreadScope(ts...), func(_, t int) bool { return slices.Contains(ts, t) }}
	}
	parts := make([]oracleScope, r.IntN(4))
	scopes := make([]Scope, len(parts))
	for i := range parts {
		if r.IntN(10) == 0 {
			parts[i] = oracleScope{nil, func(int, int) bool { return true }} // nil: any
			continue
		}
		parts[i] = randomScope(r, depth-1, max)
		scopes[i] = parts[i].scope
	}
	if kind == 6 {
		return oracleScope{UnionScope(scopes...), func(w, t int) bool {
			return slices.ContainsFunc(parts, func(p oracleScope) bool { return p.allows(w, t) })
		}}
	}
	return oracleScope{IntersectScope(scopes...), func(w, t int) bool {
		return !slices.ContainsFunc(parts, func(p oracleScope) bool { return !p.allows(w, t) })
	}}
}

// RandomScope is randomScope for the external tests: a random scope and
// the pairs (worker, processor number) it allows.
func RandomScope(r *rand.Rand, depth, max int) (Scope, func(w, t int) bool) {
	sc := randomScope(r, depth, max)
	return sc.scope, sc.allows
}

func TestScopeSetsAgainstOracle(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 11))
	for range 3000 {
		sc := randomScope(r, 3, scopeMaxID)
		set := sc.scope.procs()
		what := fmt.Sprintf("%v (seed %d)", sc.scope, seed)

		// Empty exactly when no pair is in it.
		anyPair := false
		for w := 1; w <= scopeUniverse; w++ {
			for th := 1; th <= scopeUniverse; th++ {
				anyPair = anyPair || sc.allows(w, th)
			}
		}
		if (len(set) > 0) != anyPair {
			t.Fatalf("%s: %d blocks, but the oracle says it allows a processor: %v", what, len(set), anyPair)
		}

		// The processors of each worker, for each number of them.
		workers := make([]workerProcs, 0, scopeUniverse)
		for w := 1; w <= scopeUniverse; w++ {
			for n := 1; n <= scopeUniverse; n++ {
				var want []int
				for th := 1; th <= n; th++ {
					if sc.allows(w, th) {
						want = append(want, th-1)
					}
				}
				if len(want) == n {
					want = nil // all of them
				}
				got, ok := set.on(w, n)
				if ok != anyOf(sc, w, n) || !slices.Equal(got, want) {
					t.Fatalf("%s on worker %d of %d processors: %v, %v; want %v", what, w, n, got, ok, want)
				}
				if got, ok = sc.scope.on(w, n); ok != anyOf(sc, w, n) || !slices.Equal(got, want) {
					t.Fatalf("%s.on(%d, %d) = %v, %v; want %v", what, w, n, got, ok, want)
				}
			}
			workers = append(workers, workerProcs{id: w, procs: 1 + r.IntN(scopeUniverse)})
		}
		checkTarget(t, what, sc, set, workers)
		checkOnWire(t, what, sc)
	}
}

// anyOf reports whether sc allows a processor of worker w, which has n.
func anyOf(sc oracleScope, w, n int) bool {
	for th := 1; th <= n; th++ {
		if sc.allows(w, th) {
			return true
		}
	}
	return false
}

// checkTarget checks that the targets of set among workers hold only
// processors that sc allows; that they are the workers that sc allows all
// processors of, if any; and that otherwise the targets of successive
// turns reach every processor that sc allows.
func checkTarget(t *testing.T, what string, sc oracleScope, set procSet, workers []workerProcs) {
	t.Helper()
	var whole []int
	allowed := map[ThreadProc]bool{}
	for _, w := range workers {
		all := true
		for th := 1; th <= w.procs; th++ {
			if sc.allows(w.id, th) {
				allowed[ThreadProc{w.id, th}] = true
			} else {
				all = false
			}
		}
		if all {
			whole = append(whole, w.id)
		}
	}
	procsOf := func(id int) int {
		i := slices.IndexFunc(workers, func(w workerProcs) bool { return w.id == id })
		return workers[i].procs
	}
	var turn uint64
	next := func() uint64 { turn++; return turn - 1 }
	reached := map[ThreadProc]bool{}
	for range 2 * scopeUniverse {
		target, ok := targetOf(set, workers, next)
		if ok != (len(allowed) > 0) {
			t.Fatalf("%s among %v: target %+v, %v; the oracle allows %d processors", what, workers, target, ok, len(allowed))
		}
		if !ok {
			return
		}
		if len(target.Workers) == 0 {
			t.Fatalf("%s among %v: target %+v names no worker (nil would be any)", what, workers, target)
		}
		if whole != nil {
			if target.Thread != 0 || !slices.Equal(target.Workers, whole) {
				t.Fatalf("%s among %v: target %+v, want workers %v whole", what, workers, target, whole)
			}
			return
		}
		for _, w := range target.Workers {
			p := ThreadProc{w, target.Thread}
			if target.Thread < 1 || target.Thread > procsOf(w) || !allowed[p] {
				t.Fatalf("%s among %v: target %+v holds %v, which the scope does not allow", what, workers, target, p)
			}
			reached[p] = true
		}
	}
	if len(reached) != len(allowed) {
		t.Fatalf("%s among %v: the targets of successive tasks reach %v of the allowed %v", what, workers, reached, allowed)
	}
}

// checkOnWire checks that a scope that scopeOnWire expresses is, as home
// makes it again on worker 1, the same set of processors.
func checkOnWire(t *testing.T, what string, sc oracleScope) {
	t.Helper()
	workers, thread, ok := scopeOnWire(sc.scope)
	if !ok {
		return
	}
	var again Scope // as home does
	switch {
	case thread > 0 && len(workers) == 1:
		again = ExactScope(ThreadProc{Owner: workers[0], Thread: thread})
	case thread > 0:
		t.Fatalf("%s on the wire: workers %v and processor %d, which home cannot read", what, workers, thread)
	case len(workers) > 0:
		again = WorkerScope(workers...)
	default:
		again = AnyScope()
	}
	set := again.procs()
	for w := 1; w <= scopeUniverse; w++ {
		got, gotAny := set.on(w, scopeUniverse)
		want, wantAny := sc.scope.procs().on(w, scopeUniverse)
		if gotAny != wantAny || !slices.Equal(got, want) {
			t.Fatalf("%s on the wire is %v: on worker %d it allows %v (%v), want %v (%v)", what, again, w, got, gotAny, want, wantAny)
		}
	}
}
