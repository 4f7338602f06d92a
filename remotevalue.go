package dagr

import (
	"context"
	"fmt"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/cluster"
	"github.com/dagr/dagr/internal/sched"
)

// A result that a task made on another worker stays there (see
// cluster.Value): the task's node, a *Task and a *Chunk hold a
// *cluster.Value in its place. It is brought here when something here
// needs it: a Fetch, a Collect, or a task that runs on this process; a
// task that runs on another worker gets it from the worker that has it.

// resolveRemote brings a remote value here, for a task about to run here
// (see sched.SetResolve). The task holds its processor meanwhile: its
// inputs coming is part of its run.
func resolveRemote(ctx context.Context, r sched.Remote) (any, error) {
	return r.(*cluster.Value).Get(ctx)
}

// getValue returns v's value, giving the processor of the task that ctx
// belongs to, if any, back while v is pulled.
func getValue(ctx context.Context, v *cluster.Value) (any, error) {
	resume := sched.Blocking(ctx)
	defer resume()
	return v.Get(ctx)
}

// here returns x, or, if x is a remote value, the value itself.
func here(ctx context.Context, x any) (any, error) {
	if v, ok := x.(*cluster.Value); ok {
		return getValue(ctx, v)
	}
	return x, nil
}

// whereIs returns the worker where x lives: this process, unless it is a
// remote value.
func whereIs(x any) int {
	if v, ok := x.(*cluster.Value); ok {
		return v.Worker()
	}
	return MyID()
}

// resolveArgs brings the remote values among args here, for a task of f
// that runs here although its spec has a Call of its own.
func resolveArgs(ctx context.Context, f any, sig *call.Sig, args []any) error {
	return sched.ResolveArgs(ctx, resolveRemote, f, "", sig, args)
}

// withResult wraps checkpoint so that it gets a remote result's value.
func withResult(checkpoint func(context.Context, any) error) func(context.Context, any) error {
	if checkpoint == nil {
		return nil
	}
	return func(ctx context.Context, res any) error {
		v, err := here(ctx, res)
		if err != nil {
			return fmt.Errorf("dagr: bringing the result here for Checkpoint: %w", err)
		}
		return checkpoint(ctx, v)
	}
}
