package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"weak"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/wire"
)

// A result kept on a worker is lost with that worker. Its Value remembers
// the call that made it, its lineage, so that a Value that something can
// still reach is made again on a live worker when it is needed (recover):
// its inputs first, if their workers are gone too, recursively. A lineage
// holds the Values among its inputs weakly, so that it does not keep
// their results on their workers: an input whose Value is garbage is made
// again from its own lineage. It holds strongly its other arguments, and
// the lineages of its inputs: a lineage costs worker 1 the memory of the
// calls that led to a value, as long as the value is reachable. All the
// lineages that take one Value share its source, so that a lost input of
// several calls is made again once.

// lineage is the call that made a kept value.
type lineage struct {
	target Target
	opts   Options
	fn     any
	sig    *call.Sig
	args   []any // the call's arguments, with a *source for each *Value
}

// source stands, in a lineage, for an argument that was a Value.
type source struct {
	mu  sync.Mutex
	v   weak.Pointer[Value] // the Value, while something else keeps it
	lin *lineage            // how to make it again; nil: it was not kept on a worker
	fix *Value              // the Value itself when lin is nil: it is on worker 1 and small
}

// lineageOf returns the lineage of a call; Values among args are held
// weakly if they are kept on workers, and so may be lost.
func lineageOf(target Target, opts Options, fn any, sig *call.Sig, args []any) *lineage {
	lin := &lineage{target: target, opts: opts, fn: fn, sig: sig, args: make([]any, len(args))}
	lin.target.Inputs = nil
	if lin.target.Reserved {
		lin.target = Target{} // any worker
	}
	for i, a := range args {
		if v, ok := a.(*Value); ok {
			lin.args[i] = v.latest().source()
		} else {
			lin.args[i] = a
		}
	}
	return lin
}

// source returns the source that stands for v in lineages, made once.
func (v *Value) source() *source {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.src == nil {
		if v.lin == nil {
			v.src = &source{fix: v}
		} else {
			v.src = &source{v: weak.Make(v), lin: v.lin}
		}
	}
	return v.src
}

// value returns the Value that s stands for, made again if it is
// garbage.
func (s *source) value(ctx context.Context, c *Coordinator) (*Value, error) {
	if s.fix != nil {
		return s.fix, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.v.Value(); v != nil {
		return v, nil
	}
	v, err := c.remake(ctx, s.lin)
	if err != nil {
		return nil, err
	}
	s.v = weak.Make(v)
	return v, nil
}

// remake runs lin's call again, with its inputs made again where they are
// garbage (Call makes those again whose workers are gone).
func (c *Coordinator) remake(ctx context.Context, lin *lineage) (*Value, error) {
	if lin.opts.Once {
		return nil, errors.New("its task must not run twice (Options.RunOnce)")
	}
	args := make([]any, len(lin.args))
	for i, a := range lin.args {
		s, ok := a.(*source)
		if !ok {
			args[i] = a
			continue
		}
		v, err := s.value(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("argument %d of %s: %w", i+1, c.nameOf(lin.fn), err)
		}
		args[i] = v
	}
	res, err := c.call(ctx, lin.target, lin.opts, lin.fn, lin.sig, args)
	if err != nil {
		return nil, err
	}
	v, ok := res.(*Value)
	if !ok {
		return nil, fmt.Errorf("dagr: %s made no kept value when it ran again", c.nameOf(lin.fn))
	}
	return v, nil
}

func (c *Coordinator) nameOf(fn any) string {
	name, _ := c.reg.Registered(fn)
	return name
}

// lost reports whether v's value is on a worker that is gone. If that
// worker lives but may be dying (a pull from it failed), it waits, up to
// one and a half worker timeouts, for it to be declared dead.
func (c *Coordinator) lost(ctx context.Context, v *Value, wait bool) bool {
	holder, _ := v.latest().Where()
	if holder == 1 {
		return false
	}
	c.mu.Lock()
	w := c.workers[holder]
	c.mu.Unlock()
	if w == nil {
		return true
	}
	if !wait {
		select {
		case <-w.exited:
			return true
		default:
			return false
		}
	}
	return c.dead(ctx, w)
}

// dead waits, up to one and a half worker timeouts, for w to be declared
// dead, and reports whether it was: something that w was to send failed,
// and w may be dying.
func (c *Coordinator) dead(ctx context.Context, w *workerProc) bool {
	t := time.NewTimer(c.timeout() + c.timeout()/2)
	defer t.Stop()
	select {
	case <-w.exited:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// recover makes v's value again, from its lineage, if the worker that kept
// it is gone; afterwards v stands for the new value. One recover at a time
// makes a value again: they lock the latest Value that stands for it.
func (v *Value) recover(ctx context.Context) error {
	x := v.latest()
	x.recMu.Lock()
	defer x.recMu.Unlock()
	if n := x.latest(); n != x {
		return n.recover(ctx) // made again meanwhile
	}
	c := v.c
	if !c.lost(ctx, x, false) {
		return nil
	}
	holder, _ := x.Where()
	if x.lin == nil {
		return fmt.Errorf("worker %d, which kept it, is gone, and it cannot be made again", holder)
	}
	nv, err := c.remake(ctx, x.lin)
	if err != nil {
		return fmt.Errorf("worker %d, which kept it, is gone, and making it again failed: %w", holder, err)
	}
	x.mu.Lock()
	x.now = nv
	x.mu.Unlock()
	c.mu.Lock()
	delete(c.kept, weak.Make(x))
	c.mu.Unlock()
	return nil
}

// Recover makes v's value again if the worker that kept it is gone, before
// it is sent to a worker that asked for it; with wait, the worker could not
// pull it, and Recover first waits for its holder to be declared dead (see
// lost).
func (v *Value) Recover(ctx context.Context, wait bool) error {
	if wait && !v.c.lost(ctx, v, true) {
		return nil
	}
	return v.recover(ctx)
}

// recoverInputs makes again the Values among args whose workers are gone.
func (c *Coordinator) recoverInputs(ctx context.Context, name string, args []any) error {
	for i, a := range args {
		if v, ok := a.(*Value); ok {
			if err := v.recover(ctx); err != nil {
				return fmt.Errorf("dagr: argument %d of %s: %w", i+1, name, err)
			}
		}
	}
	return nil
}

// errInputLost is in the error of a try whose worker could not pull an
// argument from the worker that kept it.
var errInputLost = errors.New("dagr: an argument's worker is gone")

// DefaultWorkerDeaths is how many workers may die while they run one task
// before it fails, unless its Options say otherwise.
const DefaultWorkerDeaths = 3

// maxInputLosses bounds the tries of one call that fail for want of an
// argument whose worker died meanwhile.
const maxInputLosses = 8

// inputLost returns the try's error, marked as errInputLost when the
// worker could not pull an argument because its holder died.
func (c *Coordinator) inputLost(ctx context.Context, d *wire.Done, err error) error {
	if d.Missing <= 1 || d.Missing == d.Worker {
		return err // worker 1 does not die while the run goes on
	}
	c.mu.Lock()
	w := c.workers[d.Missing]
	c.mu.Unlock()
	if w != nil && !c.dead(ctx, w) {
		return err
	}
	return fmt.Errorf("%w: %w", errInputLost, err)
}
