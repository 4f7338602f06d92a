package dagr_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// syncNew makes a scheduler for one test; the caller defers its Close.
func syncNew(t *testing.T, procs int) *dagr.Scheduler {
	t.Helper()
	s, err := dagr.New(dagr.Config{Procs: procs})
	if err != nil {
		t.Fatalf("New(Procs: %d): %v", procs, err)
	}
	return s
}

// syncJoined returns the errors that errors.Join put together in err.
func syncJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// syncWaitOrCancel waits for ch to close or ctx to end, and returns
// ctx.Err() in the latter case.
func syncWaitOrCancel(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type syncKey struct{}

// TestSyncWaitsForNestedSpawns builds a tree of tasks in which every inner
// task spawns its children with the context it was handed and returns at
// once, so that Sync can only know about the deeper levels through those
// contexts. The leaves block until another task of the group releases them,
// and then spawn a chain of further tasks after all their ancestors have
// returned. Every counter must be complete the moment Sync returns.
func TestSyncWaitsForNestedSpawns(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(map[int]string{1: "Procs1", 2: "Procs2"}[procs], func(t *testing.T) {
			s := syncNew(t, procs)
			defer s.Close()
			ctx, cancel := context.WithTimeout(dagr.WithScheduler(context.Background(), s), 20*time.Second)
			defer cancel()

			const (
				depth     = 4 // levels 1..depth, two children each: 2+4+8+16 tasks
				treeTasks = 1<<(depth+1) - 2
				leaves    = 1 << depth
				lateChain = 8 // tasks each leaf adds, one after the other, once released
			)
			var (
				treeEnded   atomic.Int64
				leafStarted atomic.Int64
				lateEnded   atomic.Int64
				released    atomic.Bool
			)
			gate := make(chan struct{})
			allLeaves := make(chan struct{})
			// Blocking tasks take no share of a processor, so that the
			// releaser runs whatever the number of processors.
			waiting := dagr.Options{Occupancy: dagr.NoOccupancy}

			var late func(ctx context.Context, k int)
			late = func(ctx context.Context, k int) {
				if k > 1 {
					dagr.Spawn(ctx, late, k-1)
				}
				lateEnded.Add(1)
			}
			var level func(ctx context.Context, d int) error
			level = func(ctx context.Context, d int) error {
				defer treeEnded.Add(1)
				if d < depth {
					dagr.Spawn(ctx, level, waiting, d+1)
					// A context derived from the handed one counts too.
					dagr.Spawn(context.WithValue(ctx, syncKey{}, d), level, waiting, d+1)
					return nil
				}
				if leafStarted.Add(1) == leaves {
					close(allLeaves)
				}
				if err := syncWaitOrCancel(ctx, gate); err != nil {
					return err
				}
				dagr.Spawn(ctx, late, lateChain)
				return nil
			}
			releaser := func(ctx context.Context) error {
				if err := syncWaitOrCancel(ctx, allLeaves); err != nil {
					return err
				}
				released.Store(true)
				close(gate)
				return nil
			}

			err := dagr.Sync(ctx, func(ctx context.Context) error {
				dagr.Spawn(ctx, level, waiting, 1)
				dagr.Spawn(context.WithValue(ctx, syncKey{}, 0), level, waiting, 1)
				dagr.Spawn(ctx, releaser, waiting)
				return nil
			})
			tree, lateN, rel := treeEnded.Load(), lateEnded.Load(), released.Load()
			if err != nil {
				t.Fatalf("Sync: %v", err)
			}
			if !rel {
				t.Errorf("Sync returned before the releaser ran")
			}
			if tree != treeTasks {
				t.Errorf("Sync returned when %d of the %d tree tasks had ended", tree, treeTasks)
			}
			if want := int64(leaves * lateChain); lateN != want {
				t.Errorf("Sync returned when %d of the %d late tasks had ended", lateN, want)
			}
		})
	}
}

// TestSyncErrors checks what Sync returns: nil when nothing failed, and
// otherwise errors.Join of body's error and one *TaskError per origin.
func TestSyncErrors(t *testing.T) {
	errA := errors.New("sync test: error A")
	errB := errors.New("sync test: error B")
	errBody := errors.New("sync test: body error")
	fail := func(err error) func() (int, error) { return func() (int, error) { return 0, err } }
	inc := func(x int) int { return x + 1 }

	tests := []struct {
		name string
		// body spawns the group; it sends the ids of the origins it expects
		// on origins.
		body      func(ctx context.Context, origins chan<- uint64) error
		wantIs    []error // each must be reached by errors.Is
		wantTasks int     // number of *TaskError in the join
		wantBody  bool    // body's error is in the join
	}{
		{
			name: "no failures",
			body: func(ctx context.Context, _ chan<- uint64) error {
				a := dagr.Spawn(ctx, inc, 1)
				dagr.Spawn(ctx, inc, a)
				dagr.Spawn(ctx, func(ctx context.Context) { dagr.Spawn(ctx, inc, 2) })
				return nil
			},
		},
		{
			name: "two independent failures",
			body: func(ctx context.Context, origins chan<- uint64) error {
				origins <- dagr.Spawn(ctx, fail(errA)).ID()
				origins <- dagr.Spawn(ctx, fail(errB)).ID()
				dagr.Spawn(ctx, inc, 1)
				return nil
			},
			wantIs:    []error{errA, errB},
			wantTasks: 2,
		},
		{
			name: "one origin with three failed tasks downstream",
			body: func(ctx context.Context, origins chan<- uint64) error {
				o := dagr.Spawn(ctx, fail(errA))
				origins <- o.ID()
				d1 := dagr.Spawn(ctx, inc, o)
				dagr.Spawn(ctx, inc, d1)
				dagr.Spawn(ctx, func(x, y int) int { return x + y }, o, dagr.Spawn(ctx, inc, 1))
				return nil
			},
			wantIs:    []error{errA},
			wantTasks: 1,
		},
		{
			name: "body error with a failed task",
			body: func(ctx context.Context, origins chan<- uint64) error {
				origins <- dagr.Spawn(ctx, fail(errA)).ID()
				return errBody
			},
			wantIs:    []error{errA, errBody},
			wantTasks: 1,
			wantBody:  true,
		},
		{
			name: "body error alone",
			body: func(ctx context.Context, _ chan<- uint64) error {
				dagr.Spawn(ctx, inc, 1)
				return errBody
			},
			wantIs:   []error{errBody},
			wantBody: true,
		},
		{
			name: "failure of a nested task whose parent succeeded",
			body: func(ctx context.Context, origins chan<- uint64) error {
				dagr.Spawn(ctx, func(ctx context.Context) {
					origins <- dagr.Spawn(ctx, fail(errB)).ID()
				})
				return nil
			},
			wantIs:    []error{errB},
			wantTasks: 1,
		},
		{
			name: "nested failure passed up by the parent that fetched it",
			body: func(ctx context.Context, origins chan<- uint64) error {
				parent := func(ctx context.Context) (int, error) {
					c := dagr.Spawn(ctx, fail(errB))
					origins <- c.ID()
					return dagr.Fetch[int](ctx, c)
				}
				p := dagr.Spawn(ctx, parent)
				dagr.Spawn(ctx, inc, p)
				return nil
			},
			wantIs:    []error{errB},
			wantTasks: 1,
		},
	}
	s := syncNew(t, 2)
	defer s.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(dagr.WithScheduler(context.Background(), s), 20*time.Second)
			defer cancel()
			origins := make(chan uint64, 16)
			err := dagr.Sync(ctx, func(ctx context.Context) error { return tt.body(ctx, origins) })
			close(origins)
			want := map[uint64]bool{}
			for id := range origins {
				want[id] = true
			}

			if tt.wantTasks == 0 && !tt.wantBody {
				if err != nil {
					t.Fatalf("Sync = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Sync = nil, want an error")
			}
			for _, w := range tt.wantIs {
				if !errors.Is(err, w) {
					t.Errorf("errors.Is(%v, %v) = false", err, w)
				}
			}
			var tasks, bodies int
			seen := map[uint64]bool{}
			for _, e := range syncJoined(err) {
				var te *dagr.TaskError
				if !errors.As(e, &te) {
					if e == errBody {
						bodies++
					} else {
						t.Errorf("Sync joined %v (%T), which is neither body's error nor a *TaskError", e, e)
					}
					continue
				}
				tasks++
				if seen[te.Origin] {
					t.Errorf("two errors for origin %d in %v", te.Origin, err)
				}
				seen[te.Origin] = true
				if !want[te.Origin] {
					t.Errorf("error %v has origin %d, want one of %v", te, te.Origin, want)
				}
			}
			if tasks != tt.wantTasks {
				t.Errorf("Sync joined %d *TaskError, want %d: %v", tasks, tt.wantTasks, err)
			}
			if wantBodies := map[bool]int{true: 1}[tt.wantBody]; bodies != wantBodies {
				t.Errorf("Sync joined body's error %d times, want %d: %v", bodies, wantBodies, err)
			}
		})
	}
}

// TestSyncDownstreamOfOutsideOrigin: three failed tasks of the group whose
// origin was spawned outside it give one error, and errors.Is reaches the
// original.
func TestSyncDownstreamOfOutsideOrigin(t *testing.T) {
	s := syncNew(t, 2)
	defer s.Close()
	ctx, cancel := context.WithTimeout(dagr.WithScheduler(context.Background(), s), 20*time.Second)
	defer cancel()
	errA := errors.New("sync test: outside origin")
	origin := dagr.Spawn(ctx, func() (int, error) { return 0, errA })
	inc := func(x int) int { return x + 1 }
	err := dagr.Sync(ctx, func(ctx context.Context) error {
		d := dagr.Spawn(ctx, inc, origin)
		dagr.Spawn(ctx, inc, d)
		dagr.Spawn(ctx, inc, origin)
		return nil
	})
	if !errors.Is(err, errA) {
		t.Fatalf("Sync = %v, want an error reaching %v", err, errA)
	}
	errs := syncJoined(err)
	if len(errs) != 1 {
		t.Fatalf("Sync joined %d errors, want 1: %v", len(errs), err)
	}
	var te *dagr.TaskError
	if !errors.As(errs[0], &te) {
		t.Fatalf("Sync's error is a %T, want a *TaskError: %v", errs[0], errs[0])
	}
	if te.Origin != origin.ID() {
		t.Errorf("TaskError.Origin = %d, want %d", te.Origin, origin.ID())
	}
	if te.Task == origin.ID() {
		t.Errorf("TaskError.Task is the origin, which is not in the group")
	}
}

// syncTree is a task that, inside a Sync with its own context, spawns
// fanout children that do the same one level lower, and returns the number
// of leaves below it. Every inner task waits in Sync while its children run.
func syncTree(ctx context.Context, depth int) (int, error) {
	if depth == 0 {
		return 1, nil
	}
	const fanout = 3
	var kids [fanout]*dagr.Task
	err := dagr.Sync(ctx, func(ctx context.Context) error {
		for i := range kids {
			kids[i] = dagr.Spawn(ctx, syncTree, depth-1)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, k := range kids {
		if !k.Ready() {
			return 0, errors.New("sync test: Sync returned before a child ended")
		}
		n, err := dagr.Fetch[int](ctx, k)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// TestSyncInsideTaskOneProc: Sync called by a task with its own context
// gives the only processor back while it waits, so nested Syncs finish.
func TestSyncInsideTaskOneProc(t *testing.T) {
	s := syncNew(t, 1)
	defer s.Close()
	ctx, cancel := context.WithTimeout(dagr.WithScheduler(context.Background(), s), 20*time.Second)
	defer cancel()

	t.Run("flat", func(t *testing.T) {
		var ended atomic.Int64
		outer := func(ctx context.Context) (int64, error) {
			err := dagr.Sync(ctx, func(ctx context.Context) error {
				for range 8 {
					dagr.Spawn(ctx, func(ctx context.Context) {
						dagr.Spawn(ctx, func() { ended.Add(1) })
						ended.Add(1)
					})
				}
				return nil
			})
			return ended.Load(), err
		}
		n, err := dagr.Fetch[int64](ctx, dagr.Spawn(ctx, outer))
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if n != 16 {
			t.Errorf("the task's Sync returned when %d of 16 tasks had ended", n)
		}
	})
	t.Run("recursive", func(t *testing.T) {
		n, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, syncTree, 4))
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if n != 81 {
			t.Errorf("syncTree(4) = %d, want 81", n)
		}
	})
}

// TestSyncDoesNotWaitForOutsideTasks: a task that body spawns with another
// context than the one it was handed is not part of the group.
func TestSyncDoesNotWaitForOutsideTasks(t *testing.T) {
	s := syncNew(t, 2)
	defer s.Close()
	outer, cancel := context.WithTimeout(dagr.WithScheduler(context.Background(), s), 20*time.Second)
	defer cancel()

	release := make(chan struct{})
	var outside, inside *dagr.Task
	done := make(chan error, 1)
	go func() {
		done <- dagr.Sync(outer, func(ctx context.Context) error {
			outside = dagr.Spawn(outer, func(ctx context.Context) error {
				return syncWaitOrCancel(ctx, release)
			}, dagr.Options{Occupancy: dagr.NoOccupancy})
			inside = dagr.Spawn(ctx, func(x int) int { return x * 2 }, 21)
			return nil
		})
	}()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Sync: %v", err)
		}
	case <-timer.C:
		close(release)
		<-done
		t.Fatalf("Sync waited for a task spawned with a context outside the group")
	}
	if !inside.Ready() {
		t.Errorf("Sync returned before the task of its group ended")
	}
	if outside.Ready() {
		t.Errorf("the outside task ended before it was released")
	}
	close(release)
	if _, err := outside.Fetch(outer); err != nil {
		t.Errorf("outside task: %v", err)
	}
}

// TestSyncMethodUsesItsScheduler: Scheduler.Sync hands body a context that
// spawns on that scheduler even when the caller's context carries none.
func TestSyncMethodUsesItsScheduler(t *testing.T) {
	s := syncNew(t, 1)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var tk *dagr.Task
	err := s.Sync(ctx, func(ctx context.Context) error {
		tk = dagr.Spawn(ctx, func(ctx context.Context) dagr.Processor { return dagr.CurrentProcessor(ctx) },
			dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 1, Thread: 1})})
		return nil
	})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if !tk.Ready() {
		t.Fatalf("Sync returned before its task ended")
	}
	s.Close()
	// On s, which is closed now, a new task fails with ErrClosed; on the
	// default scheduler it would run.
	var after *dagr.Task
	_ = s.Sync(ctx, func(ctx context.Context) error {
		after = dagr.Spawn(ctx, func() int { return 1 })
		return nil
	})
	if _, err := after.Fetch(ctx); !errors.Is(err, dagr.ErrClosed) {
		t.Errorf("task spawned in the body of a closed scheduler's Sync: err = %v, want ErrClosed", err)
	}
}
