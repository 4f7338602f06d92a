package dagr

import (
	"cmp"
	"context"
	"sync/atomic"

	"github.com/dagr/dagr/internal/wire"
)

// Scoped options are Dagger's with_options and get_options: options that
// a context carries apply to every task spawned with it, field by field,
// where the task does not set its own.

// optionsKey is the context key of scoped options.
type optionsKey struct{}

// scopedOptions is set once any context carries options: until then, a
// spawn does not look for them, and pays nothing.
var scopedOptions atomic.Bool

// WithOptions returns a copy of ctx that carries o as the options of the
// tasks spawned with it (Dagger's with_options): every task spawned with
// it, or with a context derived from it, takes each field of o that it
// does not set itself. A task's context derives from the context it was
// spawned with, so what such a task spawns takes them too, on the worker
// where it runs. The precedence is the task's own options, then the
// context's, then the scheduler's defaults.
//
// A field is set when it is not its zero value. Single and Scope go
// together, as where the task may run: a task that sets either takes
// neither from the context. A WithOptions inside another combines them in
// the same way, the inner context's fields first. They apply to Spawn; the
// lazy API takes its defaults from SchedulerOptions.
//
// The options travel with a task to other workers: a task spawned with
// ctx that runs on another worker is handed a context that carries them
// there, and so is a task that a task on a worker spawns, wherever worker
// 1 places it. OptionsFrom gives them there, and what the task spawns
// there takes them, with the same precedence. A Scope travels as the set
// of processors it allows, made a Scope again from WorkerScope,
// ThreadScope, ExactScope, IntersectScope and UnionScope (its String may
// differ), or WorkerScope() when it allows none. Checkpoint and Restore,
// functions of the process that set them, do not travel: tasks spawned
// on another worker do not take them from the context.
func WithOptions(ctx context.Context, o Options) context.Context {
	ctx = orBackground(ctx)
	if outer, ok := ctx.Value(optionsKey{}).(*Options); ok {
		o = mergeOptions(o, *outer)
	}
	scopedOptions.Store(true)
	return context.WithValue(ctx, optionsKey{}, &o)
}

// OptionsFrom returns the options that ctx carries (see WithOptions), the
// zero Options if none: Dagger's get_options.
func OptionsFrom(ctx context.Context) Options {
	if ctx != nil {
		if o, ok := ctx.Value(optionsKey{}).(*Options); ok {
			return *o
		}
	}
	return Options{}
}

// withScopedOptions returns args with the options that ctx carries merged
// into the task's own (args[0], if it is an Options) or put first. args
// itself is not changed.
func withScopedOptions(ctx context.Context, args []any) []any {
	if ctx == nil {
		return args
	}
	scoped, ok := ctx.Value(optionsKey{}).(*Options)
	if !ok {
		return args
	}
	if len(args) > 0 {
		if own, ok := args[0].(Options); ok {
			out := append([]any(nil), args...)
			out[0] = mergeOptions(own, *scoped)
			return out
		}
	}
	return append([]any{*scoped}, args...)
}

// mergeOptions returns o with the fields it does not set taken from
// under.
func mergeOptions(o, under Options) Options {
	if o.Single == 0 && o.Scope == nil {
		o.Single, o.Scope = under.Single, under.Scope
	}
	o.Name = cmp.Or(o.Name, under.Name)
	o.Occupancy = cmp.Or(o.Occupancy, under.Occupancy)
	o.TimeUtil = cmp.Or(o.TimeUtil, under.TimeUtil)
	o.AllocUtil = cmp.Or(o.AllocUtil, under.AllocUtil)
	o.GetResult = o.GetResult || under.GetResult
	o.Persist = o.Persist || under.Persist
	o.Cache = o.Cache || under.Cache
	o.AllowError = o.AllowError || under.AllowError
	o.Retries = cmp.Or(o.Retries, under.Retries)
	o.Timeout = cmp.Or(o.Timeout, under.Timeout)
	o.Priority = cmp.Or(o.Priority, under.Priority)
	o.WorkerDeaths = cmp.Or(o.WorkerDeaths, under.WorkerDeaths)
	o.RunOnce = o.RunOnce || under.RunOnce
	if o.Checkpoint == nil {
		o.Checkpoint = under.Checkpoint
	}
	if o.Restore == nil {
		o.Restore = under.Restore
	}
	return o
}

// scopedOnWire returns what travels of the options that ctx carries (see
// WithOptions) with a task to another worker, or nil when it carries
// none. Until a context carries options, it is one atomic load.
func scopedOnWire(ctx context.Context) *wire.Scoped {
	if !scopedOptions.Load() || ctx == nil {
		return nil
	}
	o, ok := ctx.Value(optionsKey{}).(*Options)
	if !ok {
		return nil
	}
	w := &wire.Scoped{Name: o.Name, Single: o.Single, Occupancy: o.Occupancy, TimeUtil: o.TimeUtil, AllocUtil: o.AllocUtil,
		GetResult: o.GetResult, Persist: o.Persist, Cache: o.Cache, AllowError: o.AllowError, Retries: o.Retries,
		Timeout: o.Timeout, Priority: o.Priority, WorkerDeaths: o.WorkerDeaths, RunOnce: o.RunOnce}
	if o.Scope != nil {
		set := o.Scope.procs()
		w.Nowhere = len(set) == 0
		for _, b := range set {
			w.Scope = append(w.Scope, wire.Block{Workers: idsOnWire(b.workers), Threads: idsOnWire(b.threads)})
		}
	}
	return w
}

// idsOnWire is a set of ids as a wire.Block holds it: nil for every id.
func idsOnWire(s idSet) []int {
	if s.every {
		return nil
	}
	return s.ids
}

// optionsFromWire returns the options that w says a context carried on
// another process (see scopedOnWire).
func optionsFromWire(w *wire.Scoped) Options {
	o := Options{Name: w.Name, Single: w.Single, Occupancy: w.Occupancy, TimeUtil: w.TimeUtil, AllocUtil: w.AllocUtil,
		GetResult: w.GetResult, Persist: w.Persist, Cache: w.Cache, AllowError: w.AllowError, Retries: w.Retries,
		Timeout: w.Timeout, Priority: w.Priority, WorkerDeaths: w.WorkerDeaths, RunOnce: w.RunOnce}
	if w.Nowhere {
		o.Scope = WorkerScope() // allows none, as the scope that was sent
		return o
	}
	var scopes []Scope
	for _, b := range w.Scope {
		var sc Scope
		switch {
		case len(b.Workers) == 0 && len(b.Threads) == 0:
			sc = AnyScope()
		case len(b.Threads) == 0:
			sc = WorkerScope(b.Workers...)
		case len(b.Workers) == 0:
			sc = ThreadScope(b.Threads...)
		case len(b.Workers) == 1 && len(b.Threads) == 1:
			sc = ExactScope(ThreadProc{Owner: b.Workers[0], Thread: b.Threads[0]})
		default:
			sc = IntersectScope(WorkerScope(b.Workers...), ThreadScope(b.Threads...))
		}
		scopes = append(scopes, sc)
	}
	switch len(scopes) {
	case 0:
	case 1:
		o.Scope = scopes[0]
	default:
		o.Scope = UnionScope(scopes...)
	}
	return o
}
