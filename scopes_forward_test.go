package dagr_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

func init() { dagr.Register(spawnWhereIn) }

// forwardedScopes are the scopes that spawnWhereIn spawns with, by index:
// a Scope does not travel as an argument, but every process of the test
// binary has this table.
var forwardedScopes = []dagr.Scope{
	dagr.UnionScope(dagr.WorkerScope(3), dagr.WorkerScope(1)),
	dagr.IntersectScope(dagr.WorkerScope(3), dagr.ThreadScope(2)),
	dagr.UnionScope(scopeExact(2, 1), scopeExact(3, 2)),
	dagr.UnionScope(scopeExact(1, 1), scopeExact(3, 2)),
	dagr.IntersectScope(dagr.WorkerScope(1), dagr.WorkerScope(3)),
}

// spawnWhereIn spawns whereAmI with forwardedScopes[i] from the task it
// runs in, and returns where that ran.
func spawnWhereIn(ctx context.Context, i int) (Place, error) {
	return dagr.Fetch[Place](ctx, dagr.Spawn(ctx, whereAmI, dagr.Options{Scope: forwardedScopes[i]}))
}

// TestScopesFromWorkers: a task on worker 2 spawns tasks of scopes that
// worker 1 places (they name whole workers, or one processor), that
// worker 2 places itself (it has processors in them), or that fail.
func TestScopesFromWorkers(t *testing.T) {
	_, ctx := schedulerWithWorkers(t, 2, dagr.Config{Procs: 2, WorkerProcs: 2})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for i, tc := range []struct {
		may  []string // where it may run
		says string   // else what the error says
	}{
		{may: []string{"ThreadProc(1, 1)", "ThreadProc(1, 2)", "ThreadProc(3, 1)", "ThreadProc(3, 2)"}},
		{may: []string{"ThreadProc(3, 2)"}},
		{may: []string{"ThreadProc(2, 1)"}},
		{says: "own worker only"},
		{says: "WorkerScope(1) and WorkerScope(3) have no processor in common"},
	} {
		for range 6 {
			p, err := dagr.Fetch[Place](ctx, dagr.Spawn(ctx, spawnWhereIn, dagr.Options{Single: 2}, i))
			switch {
			case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)):
				t.Errorf("from worker 2, a task of %v: %+v, %v; want an error saying %q", forwardedScopes[i], p, err, tc.says)
			case tc.says == "" && err != nil:
				t.Errorf("from worker 2, a task of %v: %v", forwardedScopes[i], err)
			case tc.says == "" && !slices.Contains(tc.may, p.Proc):
				t.Errorf("from worker 2, a task of %v ran at %+v, want one of %v", forwardedScopes[i], p, tc.may)
			}
		}
	}
}
