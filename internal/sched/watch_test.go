package sched

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// watchedContext counts the AfterFunc watches on it that are in place.
type watchedContext struct {
	context.Context
	mu      sync.Mutex
	watches int
	made    int
}

// Value hides the context's values, the standard library's cancelCtx
// among them: context.AfterFunc then calls the AfterFunc method.
func (c *watchedContext) Value(any) any { return nil }

// AfterFunc is context.AfterFunc, counting the watch as in place until it
// is stopped or runs f.
func (c *watchedContext) AfterFunc(f func()) func() bool {
	var once sync.Once
	over := func() {
		once.Do(func() {
			c.mu.Lock()
			c.watches--
			c.mu.Unlock()
		})
	}
	c.mu.Lock()
	c.watches++
	c.made++
	c.mu.Unlock()
	stop := context.AfterFunc(c.Context, func() { over(); f() })
	return func() bool {
		ok := stop()
		over()
		return ok
	}
}

func (c *watchedContext) counts() (watches, made int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.watches, c.made
}

// The nodes spawned with one context share one watch on it, spawned one by
// one or in a batch: one AfterFunc while any of them lives, stopped once
// all have ended, and nothing kept after.
func TestWatchShared(t *testing.T) {
	for _, batch := range []bool{false, true} {
		s := newTestScheduler(t, 2)
		base, cancel := context.WithCancel(context.Background())
		defer cancel()
		ctx := &watchedContext{Context: base}
		const n = 100
		gate := make(chan struct{})
		var b *Batch
		if batch {
			b = new(Batch)
		}
		nodes := make([]*Node, n)
		for i := range nodes {
			// The first holds the watch while the others come and go.
			nodes[i] = roomSpawnIn(b, s, ctx, s.defaultSpec, func(context.Context) (int, error) {
				if i == 0 {
					<-gate
				}
				return i, nil
			})
		}
		if b != nil {
			b.Submit()
		}
		close(gate)
		for i, nd := range nodes {
			<-nd.Done()
			if _, f := nd.Outcome(); f != nil {
				t.Fatalf("batch %v: node %d: %v", batch, i, f.Err)
			}
		}
		// A node leaves its watch after its Done, before its release:
		// Close returns once all are released.
		s.Close()
		if w, made := ctx.counts(); w != 0 || made != 1 {
			t.Fatalf("batch %v: %d watches in place, %d made; want 0 and 1", batch, w, made)
		}
		if k := watchesLeft(s); k != 0 {
			t.Fatalf("batch %v: the scheduler keeps %d watches", batch, k)
		}
	}
}

// plainContext is a context that is not a pointer: == on two of them may
// panic, so it cannot be a key of the shared watches.
type plainContext struct {
	context.Context
	tag []int // not comparable
}

// When a context ends, its watch cancels the nodes spawned with it that
// have not ended, running or queued, though their fs do not look at the
// context; a context that is not a pointer gets a watch per node.
func TestWatchCancels(t *testing.T) {
	for _, kind := range []string{"shared", "own"} {
		s := newTestScheduler(t, 2)
		base, cancel := context.WithCancel(context.Background())
		var ctx context.Context = base
		if kind == "own" {
			ctx = plainContext{Context: base, tag: []int{1}}
		}
		started := make(chan struct{}, 2)
		release := make(chan struct{})
		nodes := make([]*Node, 50)
		for i := range nodes {
			nodes[i] = roomSpawn(s, ctx, s.defaultSpec, func(context.Context) (int, error) {
				started <- struct{}{}
				<-release
				return 0, nil
			})
		}
		<-started
		<-started // both processors are busy, and the rest are queued
		cancel()
		for i, nd := range nodes {
			select {
			case <-nd.Done():
			case <-time.After(20 * time.Second):
				close(release)
				t.Fatalf("%s: node %d did not end when its context was cancelled", kind, i)
			}
			if _, f := nd.Outcome(); f == nil || !errors.Is(f.Err, context.Canceled) {
				close(release)
				t.Fatalf("%s: node %d: got %v, want it cancelled", kind, i, f)
			}
		}
		close(release)
		s.Close()
		if k := watchesLeft(s); k != 0 {
			t.Fatalf("%s: the scheduler keeps %d watches", kind, k)
		}
	}
}

// Spawns from many goroutines with a few contexts, some of which end
// meanwhile: every node ends, done or cancelled, and no watch is left.
func TestWatchConcurrent(t *testing.T) {
	s := newTestScheduler(t, 4)
	ctxs := make([]context.Context, 6)
	cancels := make([]context.CancelFunc, len(ctxs))
	for i := range ctxs {
		ctxs[i], cancels[i] = context.WithCancel(context.Background())
	}
	var wg sync.WaitGroup
	nodes := make([][]*Node, 8)
	for g := range nodes {
		wg.Go(func() {
			for i := range 500 {
				c := ctxs[(g+i)%len(ctxs)]
				nodes[g] = append(nodes[g], roomSpawn(s, c, s.defaultSpec, func(context.Context) (int, error) { return 1, nil }))
				if g == 0 && i%100 == 99 {
					cancels[i/100]()
				}
			}
		})
	}
	wg.Wait()
	for _, ns := range nodes {
		for _, nd := range ns {
			<-nd.Done()
			if _, f := nd.Outcome(); f != nil && !errors.Is(f.Err, context.Canceled) {
				t.Fatalf("a node failed: %v", f.Err)
			}
		}
	}
	for _, c := range cancels {
		c()
	}
	s.Close()
	if k := watchesLeft(s); k != 0 {
		t.Fatalf("the scheduler keeps %d watches", k)
	}
}

// A node that ends after its spawn saw it had not, before it joins its
// context's watch (here: its input fails meanwhile), is in no watch: the
// watch made for it is not left behind, in the scheduler or on the
// context.
func TestWatchNodeEndsBeforeJoin(t *testing.T) {
	s := newTestScheduler(t, 2)
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &watchedContext{Context: base}
	gate := make(chan struct{})
	a := roomSpawn(s, context.Background(), s.defaultSpec, func(context.Context) (int, error) {
		<-gate
		return 0, errors.New("a fails")
	})
	watchHook = func(n *Node) {
		close(gate) // a fails, and fails n, its dependent
		select {
		case <-n.Done():
		case <-time.After(20 * time.Second):
			t.Error("the node did not end when its input failed")
		}
	}
	defer func() { watchHook = nil }()
	b := roomSpawn(s, ctx, s.defaultSpec, func(_ context.Context, x int) (int, error) { return x, nil }, a)
	watchHook = nil
	if _, f := b.Outcome(); f == nil {
		t.Fatal("the node did not fail")
	}
	s.Close()
	if w, made := ctx.counts(); w != 0 || made != 1 {
		t.Fatalf("%d watches in place on the context, %d made; want 0 and 1", w, made)
	}
	if k := watchesLeft(s); k != 0 {
		t.Fatalf("the scheduler keeps %d watches", k)
	}
}

// endedOnceContext is a context that is not a pointer (its watch is its
// own) and that has ended, but says it has not once, to the spawn's check:
// the watch's AfterFunc then runs at once, racing the spawn that made it.
type endedOnceContext struct {
	context.Context // has ended
	fresh           *atomic.Bool
}

func (c endedOnceContext) Err() error {
	if c.fresh.CompareAndSwap(true, false) {
		return nil
	}
	return c.Context.Err()
}

// A watch of its own whose context has ended: every node ends,
// whichever of the spawn and the watch's AfterFunc goes first (the race
// detector checks how they share the watch). On one processor, so that a
// preemption of the spawner lets the AfterFunc run in between.
func TestWatchOwnRacesItsAfterFunc(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s := newTestScheduler(t, 1)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	var nodes []*Node
	for start := time.Now(); time.Since(start) < time.Second; {
		ctx := endedOnceContext{Context: ended, fresh: new(atomic.Bool)}
		ctx.fresh.Store(true)
		nodes = append(nodes, roomSpawn(s, ctx, s.defaultSpec, func(context.Context) (int, error) { return 0, nil }))
		if len(nodes) < 256 {
			continue
		}
		for _, n := range nodes {
			select {
			case <-n.Done():
			case <-time.After(20 * time.Second):
				t.Fatal("a node did not end")
			}
		}
		nodes = nodes[:0]
	}
}
