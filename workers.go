package dagr

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dagr/dagr/internal/call"
)

// ErrNoWorkers is wrapped by the errors of AddProcs and RemoveProc in this
// version of dagr, which runs tasks on the processors of one process only.
var ErrNoWorkers = fmt.Errorf("dagr: worker processes are not supported yet: %w", errors.ErrUnsupported)

// Main is the first line of main() and of TestMain. In a process started as
// a worker it serves tasks and then exits; in any other process it returns
// at once. This version starts no workers, so Main always returns.
func Main() {}

var registry struct {
	sync.Mutex
	funcs map[string]any
	errs  []error
}

// Register names functions that may run on other processes; call it from
// init. Functions are known by their runtime name ("main.add"). A value that
// is not a function is reported by AddProcs.
func Register(fs ...any) {
	registry.Lock()
	defer registry.Unlock()
	if registry.funcs == nil {
		registry.funcs = make(map[string]any)
	}
	for _, f := range fs {
		if _, err := call.Analyze(f); err != nil {
			registry.errs = append(registry.errs, fmt.Errorf("dagr: Register: %w", err))
			continue
		}
		registry.funcs[call.Name(f)] = f
	}
}

// AddProcs starts n worker processes of this binary on this machine and
// returns their ids. In this version it returns an error wrapping
// ErrNoWorkers.
func AddProcs(ctx context.Context, n int) ([]int, error) {
	return schedulerOf(ctx).AddProcs(ctx, n)
}

// AddProcs is the package-level AddProcs on s.
func (s *Scheduler) AddProcs(ctx context.Context, n int) ([]int, error) {
	registry.Lock()
	err := errors.Join(registry.errs...)
	registry.Unlock()
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("dagr: AddProcs(%d): %w", n, ErrNoWorkers)
}

// Workers returns the ids of the live workers of ctx's scheduler, 1 (this
// process) included.
func Workers(ctx context.Context) []int { return schedulerOf(ctx).Workers(ctx) }

// Workers is the package-level Workers on s.
func (s *Scheduler) Workers(ctx context.Context) []int { return []int{MyID()} }

// RemoveProc stops worker id. Worker 1, the scheduler's own process, cannot
// be removed.
func RemoveProc(ctx context.Context, id int) error { return schedulerOf(ctx).RemoveProc(ctx, id) }

// RemoveProc is the package-level RemoveProc on s.
func (s *Scheduler) RemoveProc(ctx context.Context, id int) error {
	if id == MyID() {
		return fmt.Errorf("dagr: RemoveProc(%d): worker %d is the scheduler's own process", id, id)
	}
	return fmt.Errorf("dagr: RemoveProc(%d): no such worker (live workers: %v)", id, s.Workers(ctx))
}
