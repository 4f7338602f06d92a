package cluster

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/dagr/dagr/internal/cache"
	"github.com/dagr/dagr/internal/wire"
)

// Value is the result of a task that ran on another worker, as worker 1
// keeps it: its encoding came with the task's end, or, for a large value,
// a wire.Held that names the worker that keeps it. It is decoded here on
// first use (Get). Sent on to another worker, it travels as it came: a
// large value moves once, from the worker that made it to the one that
// needs it, and never through worker 1 unless a task here needs it.
//
// A kept value is freed on its worker once its Value is unreachable here:
// worker 1 holds the whole DAG, so nothing in the run can reach the value
// any more. A task that sends it to another worker keeps its Value
// reachable until that task ends.
//
// Value satisfies sched.Remote: the engine hands it to dependents as it
// is, and resolves it (Get) before a task's f runs on this process.
type Value struct {
	typ reflect.Type
	c   *Coordinator

	lin   *lineage   // how it was made, if it is kept on a worker; set once, before the Value is shared
	recMu sync.Mutex // one recover at a time

	mu     sync.Mutex
	worker int     // where the value lives
	data   []byte  // its encoding, or a Held
	now    *Value  // the value made again after its worker died (see recover)
	src    *source // what stands for the value in lineages, once one takes it

	getMu sync.Mutex // one Get at a time
	done  bool       // decoded: v and err are set
	v     any
	err   error
}

// newValue makes the Value of a result that worker made, whose encoding
// is data (maybe a Held), and whose type is t. The tasks that refs name,
// those of the references in data, are held (Home.Pin) until the Value is
// garbage.
func (c *Coordinator) newValue(worker int, t reflect.Type, data []byte, refs []uint64) *Value {
	v := &Value{typ: t, c: c, worker: worker, data: data}
	if len(refs) > 0 {
		runtime.AddCleanup(v, c.home.Unpin, refs)
	}
	if h, ok := wire.DecodeHeld(data); ok && h.Kept {
		w := weak.Make(v)
		c.mu.Lock()
		c.kept[w] = h.Holder
		c.mu.Unlock()
		runtime.AddCleanup(v, c.freeKept, keptKey{h, w})
		c.countKept(h.Size)
	}
	return v
}

// CollectAfterKept is how many bytes of values kept on workers may be
// made, since worker 1 last collected garbage for them, before it
// collects again. A kept value is freed once its Value here is garbage,
// but Go's collector counts only this process's memory: a program that
// allocates little here while its workers make large results would
// collect seldom, and its workers would keep every result it dropped.
var CollectAfterKept atomic.Int64

func init() { CollectAfterKept.Store(256 << 20) }

// countKept counts a kept value of size bytes, and starts a collection
// once CollectAfterKept bytes were made since the last one it started.
func (c *Coordinator) countKept(size int64) {
	if c.keptSinceGC.Add(size) < CollectAfterKept.Load() || !c.collecting.CompareAndSwap(false, true) {
		return
	}
	c.keptSinceGC.Store(0)
	go func() {
		defer c.collecting.Store(false)
		runtime.GC()
	}()
}

// keptKey names a kept value for its cleanup: the Held, and the weak
// pointer under which c.kept has it.
type keptKey struct {
	h wire.Held
	w weak.Pointer[Value]
}

// freeKept frees a kept value whose Value is gone.
func (c *Coordinator) freeKept(k keptKey) {
	c.mu.Lock()
	delete(c.kept, k.w)
	mv := c.mv
	c.mu.Unlock()
	if mv != nil {
		mv.release(k.h)
	}
}

// RemoteType is the type of the value: the result type of its function.
func (v *Value) RemoteType() reflect.Type { return v.typ }

// latest returns the Value that stands for v's value now: v, or the
// value made again after its worker died.
func (v *Value) latest() *Value {
	for {
		v.mu.Lock()
		n := v.now
		v.mu.Unlock()
		if n == nil {
			return v
		}
		v = n
	}
}

// kept reports whether the value is kept on another worker.
func (v *Value) kept() bool {
	h, ok := wire.DecodeHeld(v.Encoding())
	return ok && h.Kept
}

// Worker returns the id of the worker where the value lives.
func (v *Value) Worker() int {
	v = v.latest()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.worker
}

// Encoding returns what stands for the value in a message to another
// worker: its encoding, or a Held.
func (v *Value) Encoding() []byte {
	v = v.latest()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.data
}

// Where returns the worker that has the value's encoding, and its size.
func (v *Value) Where() (worker int, size int64) {
	v = v.latest()
	v.mu.Lock()
	defer v.mu.Unlock()
	if h, ok := wire.DecodeHeld(v.data); ok {
		return h.Holder, h.Size
	}
	return 1, int64(len(v.data))
}

// Size returns the bytes that v keeps in this process (cache.Sizer): its
// encoding, when it is here, and its value, once decoded.
func (v *Value) Size() int64 {
	v.mu.Lock()
	n := int64(len(v.data))
	v.mu.Unlock()
	v.getMu.Lock()
	defer v.getMu.Unlock()
	if v.done {
		n += cache.Sizeof(v.v)
	}
	return n
}

// Get returns the value, pulling it from the worker that keeps it and
// decoding it the first time. A Get whose ctx ends during the pull
// returns ctx's error, and leaves the next Get to pull again.
func (v *Value) Get(ctx context.Context) (any, error) {
	v.getMu.Lock()
	defer v.getMu.Unlock()
	if v.done {
		return v.v, v.err
	}
	for losses := 0; ; losses++ {
		raw, owned, worker, err := v.materialize(ctx)
		if err == nil {
			v.v, v.err = v.c.values.Decode(raw, v.typ, owned)
			v.done = true
			return v.v, v.err
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if worker != 1 && losses < maxInputLosses && v.c.lost(ctx, v, true) {
			// Its worker died: make it again, and pull it from where it is
			// then.
			if rerr := v.recover(ctx); rerr == nil {
				continue
			} else {
				err = rerr
			}
		} else if worker != 1 && v.c.Procs(worker) == 0 {
			err = fmt.Errorf("worker %d, which kept it, is gone: %w", worker, err)
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		v.done, v.err = true, fmt.Errorf("its value on worker %d: %w", worker, err)
		return nil, v.err
	}
}

// materialize returns the encoding of the value, pulled from the worker
// that keeps it, and that worker.
func (v *Value) materialize(ctx context.Context) (_ []byte, owned bool, worker int, _ error) {
	x := v.latest()
	x.mu.Lock()
	worker, data := x.worker, x.data
	x.mu.Unlock()
	raw, owned, err := v.c.Materialize(ctx, data)
	if err != nil && ctx.Err() == nil {
		// Brought here meanwhile (RemoveProc): take the copy here.
		x.mu.Lock()
		now, moved := x.data, x.worker != worker
		x.mu.Unlock()
		if moved {
			worker = 1
			raw, owned, err = v.c.Materialize(ctx, now)
		}
	}
	return raw, owned, worker, err
}

// bring moves the value to worker 1 for good, if it is kept elsewhere: it
// is pulled and stays here. Its worker keeps its copy for the pulls under
// way, until the Value is garbage or the worker gone (see RemoveProc).
func (v *Value) bring(ctx context.Context) error {
	v = v.latest()
	data := v.Encoding()
	if h, ok := wire.DecodeHeld(data); !ok || !h.Kept {
		return nil
	}
	raw, _, err := v.c.Materialize(ctx, data)
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.data, v.worker = raw, 1
	v.mu.Unlock()
	c := v.c
	c.mu.Lock()
	delete(c.kept, weak.Make(v))
	c.mu.Unlock()
	return nil
}
