package sched

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Failure is why a task failed. It is made once, by the task whose f failed
// first (its origin), and shared unchanged by every task downstream.
type Failure struct {
	Origin     uint64
	OriginName string
	Err        error
	// Flows says that the origin lets its failure flow downstream without
	// aborting its group (a thunk with AllowError, or under AllowErrors).
	Flows bool
}

// ErrClosed is wrapped by the errors of tasks spawned on, or cancelled by,
// a closed scheduler.
var ErrClosed = errors.New("dagr: scheduler closed")

// ErrNoProcessor is wrapped by the errors of tasks whose options no
// processor satisfies.
var ErrNoProcessor = errors.New("dagr: no processor satisfies the task's options")

// errClosedCanceled is how a task cancelled by Close fails: it is both a
// cancellation and a closed scheduler.
var errClosedCanceled = fmt.Errorf("%w: %w", ErrClosed, context.Canceled)

// ErrCanceled is how a task cancelled by Cancel fails.
var ErrCanceled = fmt.Errorf("task cancelled: %w", context.Canceled)

// RetriesError is the error of a task whose every try failed, when there
// were several (Spec.Retries): Err is the last try's error. The public
// TaskError reports Tries (newTaskError finds it with errors.As), and
// its message ends with this one's "(after N tries)".
type RetriesError struct {
	Tries int
	Err   error
}

func (e *RetriesError) Error() string { return fmt.Sprintf("%v (after %d tries)", e.Err, e.Tries) }

// Unwrap returns the last try's error.
func (e *RetriesError) Unwrap() error { return e.Err }

// canceledBy is the error of a task whose spawning context ended. It is a
// cancellation (errors.Is(err, context.Canceled)) whatever ended ctx, and
// also matches ctx.Err() (context.DeadlineExceeded for a deadline) and the
// context's cause.
func canceledBy(ctx context.Context) error {
	err := ctx.Err()
	if err == context.Canceled {
		if cause := context.Cause(ctx); cause != nil && cause != err {
			return fmt.Errorf("task cancelled: %w (cause: %w)", err, cause)
		}
		return fmt.Errorf("task cancelled: %w", err)
	}
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("task cancelled: %w: %w (cause: %w)", context.Canceled, err, cause)
	}
	return fmt.Errorf("task cancelled: %w: %w", context.Canceled, err)
}

func timeoutError(d time.Duration) error {
	return fmt.Errorf("task timed out after %v: %w", d, context.DeadlineExceeded)
}
