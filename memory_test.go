package dagr_test

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/dagr/dagr"
)

// memoryNew makes a scheduler for one test; the caller defers its Close.
func memoryNew(t *testing.T, procs int) *dagr.Scheduler {
	t.Helper()
	s, err := dagr.New(dagr.Config{Procs: procs})
	if err != nil {
		t.Fatalf("New(Procs: %d): %v", procs, err)
	}
	return s
}

// memoryCtx is a context on s that ends after a generous timeout.
func memoryCtx(s *dagr.Scheduler) (context.Context, context.CancelFunc) {
	return context.WithTimeout(dagr.WithScheduler(context.Background(), s), 30*time.Second)
}

const memoryMiB = 1 << 20

// memoryHeap returns the live heap after collecting garbage. It collects a
// few times, yielding in between, so that cleanups queued by one
// collection (runtime.AddCleanup) have run and their garbage is gone by the
// last.
func memoryHeap() uint64 {
	for range 4 {
		runtime.GC()
		runtime.Gosched()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// memoryCheckGrowth fails t if the heap grew by bound or more since before.
func memoryCheckGrowth(t *testing.T, what string, before uint64, bound uint64) {
	t.Helper()
	after := memoryHeap()
	grew := int64(after) - int64(before)
	t.Logf("%s: live heap %.1f MiB before, %.1f MiB after (%+.1f MiB)", what,
		float64(before)/memoryMiB, float64(after)/memoryMiB, float64(grew)/memoryMiB)
	if grew >= int64(bound) {
		t.Errorf("%s: the live heap grew by %.1f MiB, want less than %.1f MiB", what, float64(grew)/memoryMiB, float64(bound)/memoryMiB)
	}
}

// memoryFirst makes the first block of a chain: 1 KiB whose first 4 bytes
// count the links.
func memoryFirst() []byte { return make([]byte, 1<<10) }

// memoryNext makes a fresh block from its input, one link further.
func memoryNext(in []byte) []byte {
	out := make([]byte, len(in))
	copy(out, in)
	binary.LittleEndian.PutUint32(out, binary.LittleEndian.Uint32(in)+1)
	return out
}

// TestMemoryChainReleased: in a chain of 100k tasks of which only the last
// handle is kept, each intermediate result is released once the next task
// has used it.
func TestMemoryChainReleased(t *testing.T) {
	s := memoryNew(t, 2)
	defer s.Close()
	ctx, cancel := memoryCtx(s)
	defer cancel()
	const n = 100_000 // 100k KiB of results if they were kept

	before := memoryHeap()
	last := dagr.Spawn(ctx, memoryFirst)
	for range n - 1 {
		last = dagr.Spawn(ctx, memoryNext, last)
	}
	b, err := dagr.Fetch[[]byte](ctx, last)
	if err != nil {
		t.Fatalf("last task: %v", err)
	}
	if got := binary.LittleEndian.Uint32(b); got != n-1 || len(b) != 1<<10 {
		t.Fatalf("last result has %d links and %d bytes, want %d and 1024", got, len(b), n-1)
	}
	memoryCheckGrowth(t, "chain of 100k tasks", before, 20*memoryMiB)
	runtime.KeepAlive(last)
}

// TestMemoryFanOutReleased: 10k tasks whose handles are dropped at once
// keep nothing once they have ended.
func TestMemoryFanOutReleased(t *testing.T) {
	s := memoryNew(t, 2)
	defer s.Close()
	ctx, cancel := memoryCtx(s)
	defer cancel()
	const (
		n    = 10_000
		size = 8 << 10 // 80 MiB of results if they were kept
	)

	before := memoryHeap()
	err := dagr.Sync(ctx, func(ctx context.Context) error {
		for i := range n {
			dagr.Spawn(ctx, func(i int) []byte {
				b := make([]byte, size)
				b[0] = byte(i)
				return b
			}, i)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	memoryCheckGrowth(t, "fan-out of 10k dropped tasks", before, 20*memoryMiB)
}

// memoryPayload is a result whose collection a test can watch.
type memoryPayload struct{ data [4 << 10]byte }

func memoryMakePayload(tag byte) *memoryPayload {
	p := new(memoryPayload)
	p.data[0], p.data[len(p.data)-1] = tag, tag
	return p
}

// memoryWatch fetches t's result and returns a weak pointer to it, keeping
// no strong one.
func memoryWatch(ctx context.Context, t *dagr.Task) (weak.Pointer[memoryPayload], error) {
	p, err := dagr.Fetch[*memoryPayload](ctx, t)
	if err != nil {
		return weak.Pointer[memoryPayload]{}, err
	}
	return weak.Make(p), nil
}

// memoryCollected collects garbage until w's value is gone, a few times at
// most, and reports whether it is.
func memoryCollected(w weak.Pointer[memoryPayload]) bool {
	for range 10 {
		runtime.GC()
		if w.Value() == nil {
			return true
		}
		runtime.Gosched()
	}
	return false
}

// TestMemoryHeldTaskKeepsResult: a reachable *Task keeps its result through
// collections; once the handle is dropped, the result goes.
func TestMemoryHeldTaskKeepsResult(t *testing.T) {
	s := memoryNew(t, 2)
	defer s.Close()
	ctx, cancel := memoryCtx(s)
	defer cancel()

	held := dagr.Spawn(ctx, memoryMakePayload, byte(42))
	w, err := memoryWatch(ctx, held)
	if err != nil {
		t.Fatalf("task: %v", err)
	}
	if memoryCollected(w) {
		t.Fatalf("the result of a task whose handle is held was collected")
	}
	p, err := dagr.Fetch[*memoryPayload](ctx, held)
	if err != nil {
		t.Fatalf("Fetch after GC: %v", err)
	}
	if p != w.Value() || p.data[0] != 42 || p.data[len(p.data)-1] != 42 {
		t.Fatalf("Fetch after GC returned another or a changed result")
	}
	p = nil
	runtime.KeepAlive(held)
	held = nil
	if !memoryCollected(w) {
		t.Errorf("the result stayed after its task's handle was dropped")
	}
}

// TestMemoryPendingDependentKeepsInput: a result whose handle was dropped
// stays while a task that needs it has not run, and goes after.
func TestMemoryPendingDependentKeepsInput(t *testing.T) {
	s := memoryNew(t, 2)
	defer s.Close()
	ctx, cancel := memoryCtx(s)
	defer cancel()

	gate := make(chan struct{})
	opened := dagr.Spawn(ctx, func(ctx context.Context) error {
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, dagr.Options{Occupancy: dagr.NoOccupancy})
	// w watches the input's result through a second handle that is dropped
	// below with the first.
	input := dagr.Spawn(ctx, memoryMakePayload, byte(7))
	w, err := memoryWatch(ctx, input)
	if err != nil {
		t.Fatalf("input: %v", err)
	}
	check := func(p *memoryPayload, _ any) int { return int(p.data[0]) + int(p.data[len(p.data)-1]) }
	user := dagr.Spawn(ctx, check, input, opened)
	input = nil
	if memoryCollected(w) {
		t.Fatalf("a result was collected while a task that needs it waited")
	}
	close(gate)
	got, err := dagr.Fetch[int](ctx, user)
	if err != nil {
		t.Fatalf("dependent: %v", err)
	}
	if got != 14 {
		t.Errorf("dependent saw %d, want 14", got)
	}
	if !memoryCollected(w) {
		t.Errorf("the result stayed after its only dependent ran and its handle was dropped")
	}
}

// memoryTouch is a short task that looks at its context.
func memoryTouch(ctx context.Context) {
	select {
	case <-ctx.Done():
	default:
	}
}

// TestMemoryLongLivedContext: a context that lives on while it spawns 200k
// short tasks, each of which listens to the context it was handed, keeps
// nothing for the tasks that ended.
func TestMemoryLongLivedContext(t *testing.T) {
	const (
		n     = 200_000
		batch = 1000
	)
	spawnAll := func(ctx context.Context) error {
		ts := make([]*dagr.Task, batch)
		for range n / batch {
			for i := range ts {
				ts[i] = dagr.Spawn(ctx, memoryTouch)
			}
			for i, tk := range ts {
				if _, err := tk.Fetch(ctx); err != nil {
					return err
				}
				ts[i] = nil
			}
		}
		return nil
	}
	t.Run("cancellable context", func(t *testing.T) {
		s := memoryNew(t, 2)
		defer s.Close()
		ctx, cancel := memoryCtx(s)
		defer cancel()
		long, stop := context.WithCancel(ctx)
		defer stop()
		before := memoryHeap()
		if err := spawnAll(long); err != nil {
			t.Fatalf("task: %v", err)
		}
		memoryCheckGrowth(t, "200k tasks of one context", before, 8*memoryMiB)
		if long.Err() != nil {
			t.Fatalf("the long-lived context ended: %v", long.Err())
		}
	})
	t.Run("task context", func(t *testing.T) {
		s := memoryNew(t, 2)
		defer s.Close()
		ctx, cancel := memoryCtx(s)
		defer cancel()
		spawned := make(chan struct{})
		measured := make(chan struct{})
		parent := func(ctx context.Context) error {
			if err := spawnAll(ctx); err != nil {
				return err
			}
			close(spawned)
			// Stay alive, with ctx, while the test measures.
			select {
			case <-measured:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		before := memoryHeap()
		p := dagr.Spawn(ctx, parent, dagr.Options{Occupancy: dagr.NoOccupancy})
		select {
		case <-spawned:
		case <-p.Done():
			_, err := p.Fetch(ctx)
			t.Fatalf("parent: %v", err)
		}
		memoryCheckGrowth(t, "200k tasks of one task's context", before, 8*memoryMiB)
		close(measured)
		if _, err := p.Fetch(ctx); err != nil {
			t.Fatalf("parent: %v", err)
		}
	})
}
