package dagr

import (
	"fmt"
	"sync"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/sched"
)

// Thunk is a call of the lazy API (Dagger's delayed): made by Delayed, it
// runs nothing until Compute or Collect runs the DAG below it. A Thunk is
// immutable but for its cached result, and safe to share between
// goroutines and computations.
type Thunk struct {
	id   uint64
	f    any
	sig  *call.Sig
	args []any
	opts *Options // nil: the defaults
	bad  error    // the call is invalid: computing the thunk fails with it

	mu     sync.Mutex
	cached bool
	value  any
	gen    uint64        // counts the values cached, so that a stale eviction is ignored
	flight chan struct{} // while a Compute of a caching thunk runs; closed when it returns
}

// Delayed returns a thunk for the call f(args...) and runs nothing. An
// argument of type *Thunk is a dependency, computed first; a *Task is a
// dependency too, and a *Chunk stands for its value. If args[0] is an
// Options, it is the thunk's options. The call is checked as Spawn checks
// it; a bad call makes a thunk whose computation fails with that error.
func Delayed(f any, args ...any) *Thunk {
	f, args = unname(f, args) // a Named function: its name goes in the Options
	t := &Thunk{id: sched.NewID(), f: f}
	if len(args) > 0 {
		if o, ok := args[0].(Options); ok {
			t.opts = &o
			args = args[1:]
		}
	}
	t.args = append([]any(nil), args...)
	sig, err := call.Analyze(f)
	if err != nil {
		t.bad = err
		return t
	}
	t.sig = sig
	t.bad = checkLazyArgs(sig, f, t.args)
	return t
}

// checkLazyArgs checks what can be checked before the dependencies run.
func checkLazyArgs(sig *call.Sig, f any, args []any) error {
	name := call.Name(f)
	if err := sig.CheckCount(f, len(args)); err != nil {
		return err
	}
	for i, a := range args {
		switch a := a.(type) {
		case *Thunk:
			if a == nil {
				return fmt.Errorf("dagr: argument %d of %s is a nil *Thunk", i+1, name)
			}
			if !a.made() {
				return fmt.Errorf("dagr: argument %d of %s is a *Thunk that Delayed did not make (a zero Thunk)", i+1, name)
			}
		case *Task:
			if a == nil {
				return fmt.Errorf("dagr: argument %d of %s is a nil *Task", i+1, name)
			}
			if !a.node.Spawned() {
				return fmt.Errorf("dagr: argument %d of %s is a *Task that Spawn did not make (a zero Task)", i+1, name)
			}
		case *Chunk:
			if a == nil {
				return fmt.Errorf("dagr: argument %d of %s is a nil *Chunk", i+1, name)
			}
			if err := a.acceptedBy(sig, f, name, i); err != nil {
				return err
			}
		default:
			if err := sig.Accepts(f, name, i, a, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// made reports whether Delayed made t: false for the zero Thunk.
func (t *Thunk) made() bool { return t.sig != nil || t.bad != nil }

// ID returns the thunk's id, unique in this process among thunks and tasks.
// The task that runs the thunk in a computation has this id too, so the
// *TaskError of a failed computation names thunks by their ids.
func (t *Thunk) ID() uint64 { return t.id }

// Name returns Options.Name, or else the name of the thunk's function.
func (t *Thunk) Name() string {
	if t.opts != nil && t.opts.Name != "" {
		return t.opts.Name
	}
	return call.Name(t.f)
}

// String returns a short description, such as "thunk 3 (main.add)".
func (t *Thunk) String() string { return fmt.Sprintf("thunk %d (%s)", t.id, t.Name()) }

// cachedValue returns the cached result, if the thunk caches and has one.
func (t *Thunk) cachedValue() (any, bool) {
	if t.opts == nil || !t.opts.Cache {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.value, t.cached
}

// takeOff makes the caller the one Compute of a caching thunk, unless
// another runs: then it returns a channel closed when that one returns. A
// thunk that does not cache always takes off.
func (t *Thunk) takeOff() (landed <-chan struct{}, leader bool) {
	if t.opts == nil || !t.opts.Cache {
		return nil, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.flight != nil {
		return t.flight, false
	}
	t.flight = make(chan struct{})
	return nil, true
}

// land ends the Compute that took off.
func (t *Thunk) land() {
	if t.opts == nil || !t.opts.Cache {
		return
	}
	t.mu.Lock()
	close(t.flight)
	t.flight = nil
	t.mu.Unlock()
}

// store caches v, counting it against s's cache bound unless the thunk
// persists.
func (t *Thunk) store(s *Scheduler, v any) {
	t.mu.Lock()
	t.gen++
	gen := t.gen
	t.value, t.cached = v, true
	t.mu.Unlock()
	if t.opts.Persist {
		s.cache.Forget(t)
		return
	}
	s.cache.Add(t, gen, s.sizeof(v))
}

// dropCached forgets the cached value stored as generation gen.
func (t *Thunk) dropCached(gen uint64) {
	t.mu.Lock()
	if t.gen == gen {
		t.value, t.cached = nil, false
	}
	t.mu.Unlock()
}
