package sched

import (
	"context"
	"fmt"
	"reflect"

	"github.com/dagr/dagr/internal/call"
)

// Remote is a value that lives on another process: the result of a task
// that ran on another worker, which stays there until something needs it.
// The engine hands it on as it is. A dependent whose Spec.Call runs it
// elsewhere gets it so, and may send it on without bringing the value
// here; before any other f runs, the engine brings it here with the
// function given to SetResolve, and checks the value's type then.
type Remote interface {
	// RemoteType is the static type of the value: the result type of the
	// function that made it.
	RemoteType() reflect.Type
}

// SetResolve sets how s brings a Remote argument here. Until it is set,
// no argument is looked at: a scheduler whose tasks all run here pays
// nothing for it.
func (s *Scheduler) SetResolve(resolve func(context.Context, Remote) (any, error)) {
	s.resolve.Store(&resolve)
}

// fitsRemote reports whether v is a Remote that f's i-th parameter may
// take: its type is assignable to the parameter's, or is an interface, in
// which case the value's own type is checked once it is here.
func fitsRemote(sig *call.Sig, i int, v any) bool {
	r, ok := v.(Remote)
	return ok && sig.FitsType(i, r.RemoteType())
}

// ResolveArgs replaces the Remote values among args, the arguments of fn
// (named name, if not ""), with the values themselves, brought here by
// resolve, and checks that fn takes them.
func ResolveArgs(ctx context.Context, resolve func(context.Context, Remote) (any, error), fn any, name string, sig *call.Sig, args []any) error {
	for i, a := range args {
		r, ok := a.(Remote)
		if !ok {
			continue
		}
		v, err := resolve(ctx, r)
		if err != nil {
			if name == "" {
				name = call.Name(fn)
			}
			return fmt.Errorf("dagr: argument %d of %s: %w", i+1, name, err)
		}
		if !sig.Fits(i, v) {
			return sig.Accepts(fn, name, i, v, 0)
		}
		args[i] = v
	}
	return nil
}
