package dagr

import (
	"cmp"
	"context"
	"sync/atomic"
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
// the same way, the inner context's fields first. The options do not
// travel to other workers: a task sent to another worker spawns there with
// the options of its own context only. They apply to Spawn; the lazy API
// takes its defaults from SchedulerOptions.
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
