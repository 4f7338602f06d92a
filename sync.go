package dagr

import (
	"context"
	"errors"

	"github.com/dagr/dagr/internal/sched"
)

// Sync runs body and returns once every task spawned with body's context
// (or a context derived from it) has ended, and so has every task those
// tasks spawned with the contexts they were handed (Julia's @sync). It
// returns errors.Join of body's error and, for each origin whose failure
// made tasks of the group fail, the *TaskError of one of those tasks.
// Called inside a task with the context it was handed, Sync gives the
// task's processor back while it waits. Sync cancels nothing: cancel ctx
// to stop the group.
func Sync(ctx context.Context, body func(ctx context.Context) error) error {
	return schedulerOf(ctx).Sync(ctx, body)
}

// Sync is the package-level Sync on s.
func (s *Scheduler) Sync(ctx context.Context, body func(ctx context.Context) error) error {
	ctx = orBackground(ctx)
	g := new(sched.Group)
	err := body(sched.WithGroup(s.withSelf(ctx), g))
	resume := sched.Blocking(ctx)
	g.Wait()
	resume()
	errs := []error{err}
	for _, f := range g.Failures() {
		errs = append(errs, newTaskError(f.Task, f.Name, f.Failure))
	}
	return errors.Join(errs...)
}
