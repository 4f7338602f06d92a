package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

func init() { dagr.Register(originOfHandle, failsAlways, originOfSpawned) }

// OriginSeen is what a task saw of a failure it fetched, on the worker
// where it ran.
type OriginSeen struct {
	Worker       int
	Task, Origin uint64
	Msg          string
}

var errAtOrigin = errors.New("broken at the origin")

// failsAlways fails.
func failsAlways(int) (int, error) { return 0, errAtOrigin }

func originSeen(err error) (OriginSeen, error) {
	var te *dagr.TaskError
	if !errors.As(err, &te) {
		return OriginSeen{}, fmt.Errorf("worker %d: %v is not a *TaskError", dagr.MyID(), err)
	}
	return OriginSeen{Worker: dagr.MyID(), Task: te.Task, Origin: te.Origin, Msg: err.Error()}, nil
}

// originOfHandle fetches the task h carries, which must fail, and says
// what it saw.
func originOfHandle(ctx context.Context, h Handle) (OriginSeen, error) {
	_, err := h.T.Fetch(ctx)
	return originSeen(err)
}

// originOfSpawned spawns a failing task on worker on and one downstream
// of it, fetches the second, and says what it saw and the first's id.
func originOfSpawned(ctx context.Context, on int) ([2]OriginSeen, error) {
	up := dagr.Spawn(ctx, failsAlways, dagr.Options{Name: "up", Single: on}, 1)
	down := dagr.Spawn(ctx, add, dagr.Options{Name: "down"}, up, 1)
	_, err := down.Fetch(ctx)
	seen, err := originSeen(err)
	return [2]OriginSeen{seen, {Task: up.ID()}}, err
}

// A failure that flowed down from another task names that task as its
// origin on every process, as it does where it happened: fetched on a
// worker from worker 1, on worker 1 from a worker, and from a worker
// through worker 1 to another.
func TestOriginAcrossWorkers(t *testing.T) {
	ctx := withWorkers(t, 2)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	check := func(what string, seen OriginSeen, task, origin uint64) {
		t.Helper()
		// (A handle that arrived in a value has no name but "task N".)
		want := fmt.Sprintf(" failed because task %d (up) failed", origin)
		if seen.Task != task || seen.Origin != origin || !strings.Contains(seen.Msg, want) || !strings.Contains(seen.Msg, errAtOrigin.Error()) {
			t.Errorf("%s: task %d, origin %d, %q; want task %d, origin %d, %q", what, seen.Task, seen.Origin, seen.Msg, task, origin, want)
		}
	}

	// On worker 1, fetched on worker 2.
	for _, on := range []int{1, 2} {
		up := dagr.Spawn(ctx, failsAlways, dagr.Options{Name: "up", Single: on}, 1)
		down := dagr.Spawn(ctx, add, dagr.Options{Name: "down"}, up, 1)
		seen := fetch[OriginSeen](t, ctx, dagr.Spawn(ctx, originOfHandle, dagr.Options{Single: 2}, Handle{down}))
		check(fmt.Sprintf("up on worker %d, fetched on worker 2", on), seen, down.ID(), up.ID())
		_, err := down.Fetch(ctx)
		here, err := originSeen(err)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("up on worker %d, fetched on worker 1", on), here, down.ID(), up.ID())
	}

	// Spawned on worker 2, up on each worker.
	for _, on := range []int{1, 2, 3} {
		seen := fetch[[2]OriginSeen](t, ctx, dagr.Spawn(ctx, originOfSpawned, dagr.Options{Single: 2}, on))
		check(fmt.Sprintf("spawned on worker 2, up on worker %d", on), seen[0], seen[0].Task, seen[1].Task)
	}
}
