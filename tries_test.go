package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// TestTaskErrorTries: a task whose every try fails has a *TaskError whose
// Tries says how many ran, and whose message says it too; tasks downstream
// of it carry the origin's tries. errors.Is and errors.As still reach the
// last try's error.
func TestTaskErrorTries(t *testing.T) {
	ctx := manyCtx(t, 2)
	errFlaky := errors.New("flaky")
	for _, c := range []struct {
		name    string
		retries int
		fail    func() (int, error)
		tries   int
	}{
		{"no retries", 0, func() (int, error) { return 0, errFlaky }, 0},
		{"one retry", 1, func() (int, error) { return 0, errFlaky }, 2},
		{"three retries", 3, func() (int, error) { return 0, errFlaky }, 4},
		{"panics", 2, func() (int, error) { panic(errFlaky) }, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			f := func() (int, error) { calls++; return c.fail() }
			task := dagr.Spawn(ctx, f, dagr.Options{Retries: c.retries})
			down := dagr.Spawn(ctx, add1, task)
			for _, fetched := range []*dagr.Task{task, down} {
				_, err := fetched.Fetch(ctx)
				var te *dagr.TaskError
				if !errors.As(err, &te) {
					t.Fatalf("%v: Fetch = %v, want a *TaskError", fetched, err)
				}
				if !errors.Is(err, errFlaky) {
					t.Errorf("%v: %v does not reach the last try's error", fetched, err)
				}
				if te.Tries != c.tries {
					t.Errorf("%v: Tries = %d, want %d", fetched, te.Tries, c.tries)
				}
				says := fmt.Sprintf("(after %d tries)", c.tries)
				if got := strings.Contains(err.Error(), says); got != (c.tries > 1) {
					t.Errorf("%v: message %q: mentions %q: %v, want %v", fetched, err, says, got, c.tries > 1)
				}
			}
			if want := c.retries + 1; calls != want {
				t.Errorf("f ran %d times, want %d", calls, want)
			}
			if c.name == "panics" {
				var pe *dagr.PanicError
				_, err := task.Fetch(ctx)
				if !errors.As(err, &pe) {
					t.Errorf("a panic on every try: %v, want a *PanicError inside", err)
				}
			}
		})
	}
}

// TestTaskErrorTriesSucceeds: a task that succeeds on a later try has no
// error at all; one that fails for want of an input never ran: Tries 0.
func TestTaskErrorTriesSucceeds(t *testing.T) {
	ctx := manyCtx(t, 2)
	calls := 0
	flaky := func() (string, error) {
		calls++
		if calls < 3 {
			return "", errors.New("not yet")
		}
		return "ok", nil
	}
	if v, err := dagr.Spawn(ctx, flaky, dagr.Options{Retries: 5}).Fetch(ctx); v != "ok" || err != nil {
		t.Errorf("Fetch = %v, %v; want ok, nil", v, err)
	}

	failed := dagr.Spawn(ctx, func() error { return errors.New("no") })
	down := dagr.Spawn(ctx, func(any) int { return 1 }, dagr.Options{Retries: 3}, failed)
	_, err := down.Fetch(ctx)
	var te *dagr.TaskError
	if !errors.As(err, &te) || te.Tries != 0 {
		t.Errorf("downstream of a task that failed once: %v (%+v), want Tries 0", err, te)
	}
}

// TestTaskErrorTriesLazy: the lazy API reports the tries of the thunk
// whose failure aborted the computation.
func TestTaskErrorTriesLazy(t *testing.T) {
	ctx := manyCtx(t, 2)
	failing := dagr.Delayed(func() (int, error) { return 0, errors.New("no") }, dagr.Options{Retries: 2})
	_, err := dagr.Compute(ctx, dagr.Delayed(add1, failing))
	var te *dagr.TaskError
	if !errors.As(err, &te) || te.Tries != 3 || !strings.Contains(err.Error(), "after 3 tries") {
		t.Errorf("Compute = %v, want a *TaskError with Tries 3", err)
	}
}

// TestTriesAllTimedOut: a task whose every try timed out says how many
// tries it made, and that it timed out.
func TestTriesAllTimedOut(t *testing.T) {
	_, ctx := schedulerOf(t, 1)
	wait := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	_, err := dagr.Spawn(ctx, wait, dagr.Options{Retries: 2, Timeout: 5 * time.Millisecond}).Fetch(ctx)
	var te *dagr.TaskError
	if !errors.As(err, &te) || te.Tries != 3 || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "after 3 tries") {
		t.Fatalf("a task that timed out on each of 3 tries: %v (tries %d)", err, te.Tries)
	}
}
