package sched

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Nodes spawned in a batch and placed together run once each, on a
// processor they may use, whatever their occupancy, priority and allowed
// processors, and whatever depends on what: a random mix, against the
// count of runs and the processors each spec allows.
func TestBatchRunsEachOnce(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(uint64(seed), 2))
	for round := range 40 {
		procs := 1 + r.IntN(6)
		// Closed only once all ended: a failure leaves it be, since Close
		// would wait for ever for nodes that no runner will run.
		s := New(Config{Procs: procs, PanicError: func(v any, _ []byte) error { return nil }, FailureOf: func(error) *Failure { return nil }})
		s.maxStarting = int32(1 + r.IntN(3))
		n := 1 + r.IntN(300)
		runs := make([]atomic.Int32, n)
		var bad atomic.Int32
		var mu sync.Mutex
		var errs []string
		var b Batch
		nodes := make([]*Node, n)
		for i := range nodes {
			spec := s.NewSpec()
			spec.Occupancy = uint32(r.IntN(5)) * FullOccupancy / 4
			spec.Priority = r.IntN(3) - 1
			if r.IntN(3) == 0 {
				spec.Procs = r.Perm(procs)[:1+r.IntN(procs)]
			}
			allowed := spec.Procs
			f := func(ctx context.Context, _ ...int) (int, error) {
				runs[i].Add(1)
				p := fromContext(ctx).proc.index
				if allowed != nil && !contains(allowed, p) && bad.Add(1) <= 5 {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("node %d ran on processor %d, allowed %v", i, p, allowed))
					mu.Unlock()
				}
				return i, nil
			}
			var inputs []*Node
			for range r.IntN(3) {
				if i > 0 {
					inputs = append(inputs, nodes[r.IntN(i)])
				}
			}
			nodes[i] = roomSpawnIn(&b, s, context.Background(), spec, f, inputs...)
			if r.IntN(50) == 0 {
				b.Submit() // in several parts, as a bulk block's are
			}
		}
		b.Submit()
		for i, nd := range nodes {
			select {
			case <-nd.Done():
			case <-time.After(20 * time.Second):
				t.Fatalf("round %d: node %d of %d did not end; %s", round, i, n, describeProcs(s, nodes))
			}
			if _, f := nd.Outcome(); f != nil {
				t.Fatalf("round %d: node %d failed: %v", round, i, f.Err)
			}
		}
		for i := range runs {
			if k := runs[i].Load(); k != 1 {
				t.Fatalf("round %d: node %d ran %d times", round, i, k)
			}
		}
		if len(errs) > 0 {
			t.Fatalf("round %d: %v", round, errs)
		}
		s.Close()
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// A node in a batch not yet placed is not lost to Close: Close waits for
// it, and placing it then fails it as closed.
func TestBatchClosedBeforeSubmit(t *testing.T) {
	s := newTestScheduler(t, 2)
	var b Batch
	ran := make(chan struct{}, 3)
	nodes := make([]*Node, 3)
	for i := range nodes {
		nodes[i] = roomSpawnIn(&b, s, context.Background(), s.defaultSpec, func(context.Context) (int, error) {
			ran <- struct{}{}
			return 0, nil
		})
	}
	// What Close does before it waits for the nodes to be released.
	s.closed.Store(true)
	s.cancelAll()
	if live := s.liveTotal(); live != 3 {
		t.Fatalf("%d nodes live, want the 3 in the batch, which Close must wait for", live)
	}
	b.Submit()
	s.Close() // returns: placing them failed them
	for i, n := range nodes {
		if _, f := n.Outcome(); f == nil || !errors.Is(f.Err, ErrClosed) {
			t.Fatalf("node %d: got %v, want ErrClosed", i, f)
		}
	}
	if len(ran) != 0 {
		t.Fatalf("%d nodes ran after Close", len(ran))
	}
}

// A Wait may run inline a node that waits in a batch: placing it later
// does not run it again.
func TestBatchWaitRunsInline(t *testing.T) {
	s := newTestScheduler(t, 1)
	var runs atomic.Int32
	outer := roomSpawn(s, context.Background(), s.defaultSpec, func(ctx context.Context) (int, error) {
		var b Batch
		n := roomSpawnIn(&b, nil, ctx, s.defaultSpec, func(context.Context) (int, error) {
			runs.Add(1)
			return 0, nil
		})
		if err := Wait(ctx, n); err != nil {
			return 0, err
		}
		b.Submit()
		return 0, nil
	})
	select {
	case <-outer.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the Wait did not run the node inline")
	}
	if _, f := outer.Outcome(); f != nil {
		t.Fatal(f.Err)
	}
	if k := runs.Load(); k != 1 {
		t.Fatalf("the node ran %d times", k)
	}
}

// watchesLeft is how many context watches s keeps, once those on their
// way out are gone: a node that another goroutine ends (a Cancel, a watch
// that fires) leaves its watch after its Done, and its runner may release
// it first, so that Close may return a moment before the watch is gone. It
// waits up to 20 s for the count to be 0.
func watchesLeft(s *Scheduler) int {
	count := func() int {
		k := 0
		for i := range s.watches {
			sh := &s.watches[i]
			sh.mu.Lock()
			k += len(sh.m)
			sh.mu.Unlock()
		}
		return k
	}
	k := count()
	for start := time.Now(); k != 0 && time.Since(start) < 20*time.Second; k = count() {
		runtime.Gosched()
	}
	return k
}
