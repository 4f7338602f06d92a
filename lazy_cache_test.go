package dagr_test

import (
	"bytes"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/dagr/dagr"
)

const lazyMiB = 1 << 20

// lazyBig returns a thunk function that makes a 1 MiB slice of tag bytes,
// counting its calls in n.
func lazyBig(n *atomic.Int32, tag byte) func() []byte {
	return func() []byte {
		n.Add(1)
		return bytes.Repeat([]byte{tag}, lazyMiB)
	}
}

func TestLazyCache(t *testing.T) {
	t.Run("RunsOnceOverComputes", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		var runs atomic.Int32
		cached := dagr.Delayed(lazyCounted(&runs), dagr.Options{Cache: true}, 41)
		for i := range 3 {
			v, err := dagr.Collect(ctx, cached)
			if err != nil || v != 42 {
				t.Fatalf("Collect %d = %v, %v; want 42, nil", i+1, v, err)
			}
		}
		if n := runs.Load(); n != 1 {
			t.Fatalf("a cached thunk ran %d times over 3 Computes; want 1", n)
		}
	})

	t.Run("ReusedByNewDAG", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		var runs, above atomic.Int32
		cached := dagr.Delayed(lazyCounted(&runs), dagr.Options{Cache: true}, 41)
		if v, err := dagr.Collect(ctx, cached); err != nil || v != 42 {
			t.Fatalf("Collect = %v, %v; want 42, nil", v, err)
		}
		// New DAGs built on top of the cached thunk, some of them using it
		// twice.
		for i := range 3 {
			top := dagr.Delayed(lazyAdd, dagr.Delayed(lazyCounted(&above), cached), cached)
			v, err := dagr.Collect(ctx, top)
			if err != nil || v != 85 {
				t.Fatalf("Collect of new DAG %d = %v, %v; want 85, nil", i+1, v, err)
			}
		}
		if n := runs.Load(); n != 1 {
			t.Fatalf("the cached thunk ran %d times; want 1, its result reused by the new DAGs", n)
		}
		if n := above.Load(); n != 3 {
			t.Fatalf("the thunks above it ran %d times; want 3", n)
		}
	})

	t.Run("FirstComputedInsideDAG", func(t *testing.T) {
		// A cached thunk first computed as a dependency is cached too.
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		var runs atomic.Int32
		cached := dagr.Delayed(lazyCounted(&runs), dagr.Options{Cache: true}, 1)
		if v, err := dagr.Collect(ctx, dagr.Delayed(lazyAdd1, cached)); err != nil || v != 3 {
			t.Fatalf("Collect = %v, %v; want 3, nil", v, err)
		}
		if v, err := dagr.Collect(ctx, cached); err != nil || v != 2 {
			t.Fatalf("Collect = %v, %v; want 2, nil", v, err)
		}
		if n := runs.Load(); n != 1 {
			t.Fatalf("the cached thunk ran %d times; want 1", n)
		}
	})

	t.Run("WithoutCacheRunsAgain", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		var runs atomic.Int32
		plain := dagr.Delayed(lazyCounted(&runs), 41)
		for i := range 2 {
			if v, err := dagr.Collect(ctx, dagr.Delayed(lazyAdd1, plain)); err != nil || v != 43 {
				t.Fatalf("Collect %d = %v, %v; want 43, nil", i+1, v, err)
			}
		}
		if n := runs.Load(); n != 2 {
			t.Fatalf("a thunk without Cache ran %d times over 2 Computes; want 2", n)
		}
	})

	t.Run("FailureIsNotCached", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 1})
		var runs atomic.Int32
		errFirstTry := errors.New("first try fails")
		flaky := dagr.Delayed(func() (int, error) {
			if runs.Add(1) == 1 {
				return 0, errFirstTry
			}
			return 7, nil
		}, dagr.Options{Cache: true})
		if _, err := dagr.Compute(ctx, flaky); err == nil {
			t.Fatal("first Compute succeeded; want its failure")
		}
		if v, err := dagr.Collect(ctx, flaky); err != nil || v != 7 {
			t.Fatalf("second Collect = %v, %v; want 7, nil", v, err)
		}
		if v, err := dagr.Collect(ctx, flaky); err != nil || v != 7 || runs.Load() != 2 {
			t.Fatalf("third Collect = %v, %v after %d runs; want 7 from the cache after 2 runs", v, err, runs.Load())
		}
	})
}

func TestLazyCacheBound(t *testing.T) {
	t.Run("LeastRecentlyUsedIsDropped", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2, CacheBytes: 3 * lazyMiB / 2})
		var aRuns, bRuns atomic.Int32
		a := dagr.Delayed(lazyBig(&aRuns, 'a'), dagr.Options{Cache: true})
		b := dagr.Delayed(lazyBig(&bRuns, 'b'), dagr.Options{Cache: true})
		steps := []struct {
			th           *dagr.Thunk
			tag          byte
			aRuns, bRuns int32
		}{
			{a, 'a', 1, 0},
			{a, 'a', 1, 0}, // cached
			{b, 'b', 1, 1}, // a is dropped: 2 MiB > 1.5 MiB
			{b, 'b', 1, 1}, // cached
			{a, 'a', 2, 1}, // recomputed; b is dropped
			{a, 'a', 2, 1}, // cached
			{b, 'b', 2, 2}, // recomputed
		}
		for i, st := range steps {
			v, err := dagr.Collect(ctx, st.th)
			if err != nil {
				t.Fatalf("step %d: %v", i+1, err)
			}
			lazyCheckBig(t, v, st.tag)
			if aRuns.Load() != st.aRuns || bRuns.Load() != st.bRuns {
				t.Fatalf("after step %d, a ran %d and b %d times; want %d and %d", i+1, aRuns.Load(), bRuns.Load(), st.aRuns, st.bRuns)
			}
		}
		runtime.KeepAlive(a)
		runtime.KeepAlive(b)
	})

	t.Run("CollectIsAUse", func(t *testing.T) {
		// Room for two: collecting a (from the cache) makes b the least
		// recently used, so c's arrival drops b, not a.
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2, CacheBytes: 5 * lazyMiB / 2})
		var aRuns, bRuns, cRuns atomic.Int32
		a := dagr.Delayed(lazyBig(&aRuns, 'a'), dagr.Options{Cache: true})
		b := dagr.Delayed(lazyBig(&bRuns, 'b'), dagr.Options{Cache: true})
		c := dagr.Delayed(lazyBig(&cRuns, 'c'), dagr.Options{Cache: true})
		for i, th := range []*dagr.Thunk{a, b, a, c, a, b} {
			if _, err := dagr.Compute(ctx, th); err != nil {
				t.Fatalf("step %d: %v", i+1, err)
			}
		}
		if aRuns.Load() != 1 || bRuns.Load() != 2 || cRuns.Load() != 1 {
			t.Errorf("a ran %d, b %d, c %d times; want 1, 2, 1: the least recently used (b) is the one dropped",
				aRuns.Load(), bRuns.Load(), cRuns.Load())
		}
		runtime.KeepAlive(a)
		runtime.KeepAlive(b)
		runtime.KeepAlive(c)
	})

	t.Run("UseAsDependencyIsAUse", func(t *testing.T) {
		// The same, when a is used from the cache by a new DAG.
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2, CacheBytes: 5 * lazyMiB / 2})
		var aRuns, bRuns, cRuns atomic.Int32
		a := dagr.Delayed(lazyBig(&aRuns, 'a'), dagr.Options{Cache: true})
		b := dagr.Delayed(lazyBig(&bRuns, 'b'), dagr.Options{Cache: true})
		c := dagr.Delayed(lazyBig(&cRuns, 'c'), dagr.Options{Cache: true})
		length := func(p []byte) int { return len(p) }
		for i, th := range []*dagr.Thunk{a, b, dagr.Delayed(length, a), c, a, b} {
			if _, err := dagr.Compute(ctx, th); err != nil {
				t.Fatalf("step %d: %v", i+1, err)
			}
		}
		if aRuns.Load() != 1 || bRuns.Load() != 2 || cRuns.Load() != 1 {
			t.Errorf("a ran %d, b %d, c %d times; want 1, 2, 1: the least recently used (b) is the one dropped",
				aRuns.Load(), bRuns.Load(), cRuns.Load())
		}
		runtime.KeepAlive(a)
		runtime.KeepAlive(b)
		runtime.KeepAlive(c)
	})

	t.Run("DroppedIsRecomputedInNewDAG", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2, CacheBytes: 3 * lazyMiB / 2})
		var aRuns, bRuns atomic.Int32
		a := dagr.Delayed(lazyBig(&aRuns, 'a'), dagr.Options{Cache: true})
		b := dagr.Delayed(lazyBig(&bRuns, 'b'), dagr.Options{Cache: true})
		length := func(p []byte) int { return len(p) }
		for _, th := range []*dagr.Thunk{a, b} {
			if _, err := dagr.Compute(ctx, th); err != nil {
				t.Fatal(err)
			}
		}
		v, err := dagr.Collect(ctx, dagr.Delayed(length, a))
		if err != nil || v != lazyMiB {
			t.Fatalf("Collect = %v, %v; want %d", v, err, lazyMiB)
		}
		if aRuns.Load() != 2 || bRuns.Load() != 1 {
			t.Fatalf("a ran %d and b %d times; want 2 (dropped, then recomputed for the new DAG) and 1", aRuns.Load(), bRuns.Load())
		}
	})

	t.Run("PersistIsNeverDropped", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2, CacheBytes: 3 * lazyMiB / 2})
		var pRuns, aRuns, bRuns atomic.Int32
		p := dagr.Delayed(lazyBig(&pRuns, 'p'), dagr.Options{Cache: true, Persist: true})
		a := dagr.Delayed(lazyBig(&aRuns, 'a'), dagr.Options{Cache: true})
		b := dagr.Delayed(lazyBig(&bRuns, 'b'), dagr.Options{Cache: true})
		order := []struct {
			th  *dagr.Thunk
			tag byte
		}{{p, 'p'}, {a, 'a'}, {b, 'b'}, {a, 'a'}, {b, 'b'}, {p, 'p'}, {a, 'a'}, {p, 'p'}}
		for i, st := range order {
			v, err := dagr.Collect(ctx, st.th)
			if err != nil {
				t.Fatalf("step %d: %v", i+1, err)
			}
			lazyCheckBig(t, v, st.tag)
		}
		if n := pRuns.Load(); n != 1 {
			t.Errorf("the persisted cached thunk ran %d times; want 1, never dropped", n)
		}
		// The bound still works for the others, and the persisted value does
		// not count against it (a and b alone do not fit together).
		if aRuns.Load() != 3 || bRuns.Load() != 2 {
			t.Errorf("a ran %d and b %d times; want 3 and 2", aRuns.Load(), bRuns.Load())
		}
		runtime.KeepAlive(p)
	})

	t.Run("UnboundedKeepsAll", func(t *testing.T) {
		ctx, _ := lazyScheduler(t, dagr.Config{Procs: 2})
		var runs [4]atomic.Int32
		var ths []*dagr.Thunk
		for i := range runs {
			ths = append(ths, dagr.Delayed(lazyBig(&runs[i], byte('a'+i)), dagr.Options{Cache: true}))
		}
		for range 2 {
			for i, th := range ths {
				v, err := dagr.Collect(ctx, th)
				if err != nil {
					t.Fatal(err)
				}
				lazyCheckBig(t, v, byte('a'+i))
			}
		}
		for i := range runs {
			if n := runs[i].Load(); n != 1 {
				t.Errorf("thunk %d ran %d times without a bound; want 1", i, n)
			}
		}
	})
}

func lazyCheckBig(t *testing.T, v any, tag byte) {
	t.Helper()
	p, ok := v.([]byte)
	if !ok || len(p) != lazyMiB || p[0] != tag || p[len(p)-1] != tag {
		t.Fatalf("got a %T of length %d, want %d bytes of %q", v, len(p), lazyMiB, tag)
	}
}
