package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// The functions of the tests of TaskError.Tries across processes.
func init() {
	dagr.Register(alwaysFlaky, flakyCalls, triesOfHandle, fetchAndPassOn, triesOfSpawned, localTries, flakyPanics)
}

// flakyCount counts, in each process, the calls of alwaysFlaky and
// flakyPanics by key.
var flakyCount sync.Map // string -> *int

var flakyMu sync.Mutex

func countFlaky(key string) int {
	flakyMu.Lock()
	defer flakyMu.Unlock()
	v, _ := flakyCount.LoadOrStore(key, new(int))
	*v.(*int)++
	return *v.(*int)
}

// alwaysFlaky fails on every call, and counts them under key.
func alwaysFlaky(key string) (int, error) {
	n := countFlaky(key)
	return 0, fmt.Errorf("flaky %s, call %d on worker %d", key, n, dagr.MyID())
}

// flakyPanics panics on every call, and counts them under key.
func flakyPanics(key string) int {
	countFlaky(key)
	panic("flaky panic " + key)
}

// flakyCalls is how many times alwaysFlaky or flakyPanics ran with key on
// the worker that runs it.
func flakyCalls(key string) int {
	flakyMu.Lock()
	defer flakyMu.Unlock()
	if v, ok := flakyCount.Load(key); ok {
		return *v.(*int)
	}
	return 0
}

// TriesSeen is what a task saw of a failure: its TaskError's Tries and
// message, and where it looked.
type TriesSeen struct {
	Worker int
	Tries  int
	Msg    string
	Remote bool // a *WorkerError is inside
}

func seenOf(err error) (TriesSeen, error) {
	var te *dagr.TaskError
	if !errors.As(err, &te) {
		return TriesSeen{}, fmt.Errorf("worker %d: %v is not a *TaskError", dagr.MyID(), err)
	}
	var we *dagr.WorkerError
	return TriesSeen{Worker: dagr.MyID(), Tries: te.Tries, Msg: err.Error(), Remote: errors.As(err, &we)}, nil
}

// triesOfHandle fetches, where it runs, the task h carries, which must
// fail, and says what it saw.
func triesOfHandle(ctx context.Context, h Handle) (TriesSeen, error) {
	_, err := h.T.Fetch(ctx)
	return seenOf(err)
}

// fetchAndPassOn fetches the task h carries and returns its error as it
// is.
func fetchAndPassOn(ctx context.Context, h Handle) (int, error) {
	return dagr.Fetch[int](ctx, h.T)
}

// triesOfSpawned spawns alwaysFlaky with retries from the task it runs in,
// pinned to worker on, and a task downstream of it, and says what it saw
// of each.
func triesOfSpawned(ctx context.Context, key string, retries, on int) ([]TriesSeen, error) {
	failing := dagr.Spawn(ctx, alwaysFlaky, dagr.Options{Retries: retries, Single: on}, key)
	down := dagr.Spawn(ctx, add, failing, 1)
	var seen []TriesSeen
	for _, task := range []*dagr.Task{failing, down} {
		_, err := task.Fetch(ctx)
		s, err := seenOf(err)
		if err != nil {
			return nil, err
		}
		seen = append(seen, s)
	}
	return seen, nil
}

// localTries spawns, from the task it runs in, a closure with retries (it
// is not registered, so it runs on this worker, which retries it), and
// returns its failure.
func localTries(ctx context.Context, retries int) (int, error) {
	return dagr.Fetch[int](ctx, dagr.Spawn(ctx, func() (int, error) { return 0, errors.New("local flake") }, dagr.Options{Retries: retries}))
}

// wantTries checks that err is a *TaskError with tries, whose message
// ends saying so, and that a *WorkerError is inside.
func wantTries(t *testing.T, what string, err error, tries int) {
	t.Helper()
	var te *dagr.TaskError
	if !errors.As(err, &te) {
		t.Errorf("%s: %v, want a *TaskError", what, err)
		return
	}
	if te.Tries != tries {
		t.Errorf("%s: Tries = %d, want %d (%v)", what, te.Tries, tries, err)
	}
	if says := fmt.Sprintf("(after %d tries)", tries); !strings.HasSuffix(err.Error(), says) {
		t.Errorf("%s: message %q does not end %q", what, err, says)
	}
	var we *dagr.WorkerError
	if !errors.As(err, &we) {
		t.Errorf("%s: %v has no *WorkerError inside", what, err)
	}
}

// wantSeen checks what a task on a worker saw of a failure.
func wantSeen(t *testing.T, what string, s TriesSeen, worker, tries int) {
	t.Helper()
	if s.Worker != worker || s.Tries != tries || !s.Remote {
		t.Errorf("%s: saw %+v, want Tries %d on worker %d, with a *WorkerError", what, s, tries, worker)
	}
	if says := fmt.Sprintf("(after %d tries)", tries); !strings.HasSuffix(s.Msg, says) {
		t.Errorf("%s: message %q does not end %q", what, s.Msg, says)
	}
}

// TestTriesRemote: a task pinned to worker 2 that fails on every try has a
// *TaskError whose Tries counts them, fetched on worker 1 and on the
// workers, as have the tasks downstream of it, wherever they are fetched;
// and a task on a worker that passes the failure on passes its tries on.
// Each try runs f once on worker 2: worker 1 sends it again.
func TestTriesRemote(t *testing.T) {
	ctx := withWorkers(t, 2)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	failing := dagr.Spawn(ctx, alwaysFlaky, dagr.Options{Retries: 2, Single: 2}, "pinned")
	_, err := failing.Fetch(ctx)
	wantTries(t, "a task pinned to worker 2", err, 3)
	var we *dagr.WorkerError
	if errors.As(err, &we) && we.Worker != 2 {
		t.Errorf("it failed on worker %d, want 2", we.Worker)
	}
	if n := fetch[int](t, ctx, dagr.Spawn(ctx, flakyCalls, dagr.Options{Single: 2}, "pinned")); n != 3 {
		t.Errorf("f ran %d times on worker 2, want 3", n)
	}

	for _, c := range []struct {
		what string
		task *dagr.Task
	}{
		{"downstream, unpinned", dagr.Spawn(ctx, add, failing, 1)},
		{"downstream, on worker 3", dagr.Spawn(ctx, add, dagr.Options{Single: 3}, failing, 1)},
		{"downstream, on worker 2", dagr.Spawn(ctx, add, dagr.Options{Single: 2}, 1, failing)},
		{"passed on by a task on worker 3", dagr.Spawn(ctx, fetchAndPassOn, dagr.Options{Single: 3}, Handle{failing})},
	} {
		_, err := c.task.Fetch(ctx)
		wantTries(t, c.what, err, 3)
	}
	// Fetched on the workers: the task itself, and one downstream.
	down := dagr.Spawn(ctx, add, failing, 1)
	for _, w := range []int{2, 3} {
		for _, task := range []*dagr.Task{failing, down} {
			s, err := dagr.Fetch[TriesSeen](ctx, dagr.Spawn(ctx, triesOfHandle, dagr.Options{Single: w}, Handle{task}))
			if err != nil {
				t.Fatal(err)
			}
			wantSeen(t, fmt.Sprintf("%v fetched on worker %d", task, w), s, w, 3)
		}
	}

	// A panic on every try.
	panics := dagr.Spawn(ctx, flakyPanics, dagr.Options{Retries: 1, Single: 3}, "panics")
	_, err = panics.Fetch(ctx)
	wantTries(t, "a task that panics on worker 3", err, 2)
	var pe *dagr.PanicError
	if !errors.As(err, &pe) || pe.Value != "flaky panic panics" {
		t.Errorf("a task that panics on worker 3: %v, want a *PanicError inside", err)
	}
	s, err := dagr.Fetch[TriesSeen](ctx, dagr.Spawn(ctx, triesOfHandle, dagr.Options{Single: 2}, Handle{panics}))
	if err != nil {
		t.Fatal(err)
	}
	wantSeen(t, "a task that panics on worker 3, fetched on worker 2", s, 2, 2)

	// Once, Tries stays 0.
	once := dagr.Spawn(ctx, alwaysFlaky, dagr.Options{Single: 2}, "once")
	_, err = once.Fetch(ctx)
	var te *dagr.TaskError
	if !errors.As(err, &te) || te.Tries != 0 || strings.Contains(err.Error(), "tries)") {
		t.Errorf("a task that ran once on worker 2: %v, want Tries 0", err)
	}
	s, err = dagr.Fetch[TriesSeen](ctx, dagr.Spawn(ctx, triesOfHandle, dagr.Options{Single: 3}, Handle{once}))
	if err != nil || s.Tries != 0 || strings.Contains(s.Msg, "tries)") {
		t.Errorf("a task that ran once on worker 2, fetched on worker 3: %+v, %v; want Tries 0", s, err)
	}
}

// TestTriesFromWorkers: tasks that a task on a worker spawns with retries
// report their tries there, whether worker 1 retries them (a registered
// function, placed by worker 1) or the worker itself (a closure, which
// runs there); and worker 1 sees them in the failure that the task passes
// on.
func TestTriesFromWorkers(t *testing.T) {
	ctx := withWorkers(t, 2)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	for _, on := range []int{1, 2, 3} {
		key := fmt.Sprintf("spawned on %d", on)
		seen, err := dagr.Fetch[[]TriesSeen](ctx, dagr.Spawn(ctx, triesOfSpawned, dagr.Options{Single: 2}, key, 3, on))
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 2 {
			t.Fatalf("saw %+v", seen)
		}
		wantSeen(t, fmt.Sprintf("from worker 2, a task on worker %d", on), seen[0], 2, 4)
		wantSeen(t, fmt.Sprintf("from worker 2, downstream of a task on worker %d", on), seen[1], 2, 4)
		if n := fetch[int](t, ctx, dagr.Spawn(ctx, flakyCalls, dagr.Options{Single: on}, key)); n != 4 {
			t.Errorf("from worker 2, f ran %d times on worker %d, want 4", n, on)
		}
	}

	_, err := dagr.Spawn(ctx, localTries, dagr.Options{Single: 3}, 2).Fetch(ctx)
	wantTries(t, "a closure retried on worker 3, passed on", err, 3)
	if !strings.Contains(err.Error(), "local flake") {
		t.Errorf("%v does not hold the closure's error", err)
	}

	failing := dagr.Spawn(ctx, alwaysFlaky, dagr.Options{Retries: 1, Single: 3}, "passed on")
	_, err = dagr.Spawn(ctx, fetchAndPassOn, dagr.Options{Single: 2}, Handle{failing}).Fetch(ctx)
	wantTries(t, "a failure with tries, fetched and passed on by worker 2", err, 2)
}
