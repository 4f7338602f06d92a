package dagr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dagr/dagr/internal/sched"
)

// ErrClosed is wrapped by the error of a task spawned on a closed scheduler,
// and of a task that Close cancelled (that error also satisfies
// errors.Is(err, context.Canceled)).
var ErrClosed = sched.ErrClosed

// ErrNoProcessor is wrapped by the error of a task whose options no
// processor satisfies: a Single or Scope that names only workers or
// processors that do not exist.
var ErrNoProcessor = sched.ErrNoProcessor

// TaskError is the error Fetch returns for a failed task. A task fails when
// its f returns an error or panics, when it is cancelled or times out, when
// its call is invalid, or when a task it depends on fails; in the last case
// Origin names the task whose failure came first and Err is that task's
// error, copied down unchanged, so errors.Is and errors.As reach it from any
// depth downstream.
type TaskError struct {
	Task   uint64 // the task that was fetched
	Name   string // its name
	Origin uint64 // the task whose f failed first (== Task when it failed itself)
	Err    error  // the original error, returned by Unwrap

	// Tries is how many times the origin's f ran before the failure, when
	// its Options.Retries made it run more than once: every try failed, Err
	// wraps the last try's error, and the message ends "(after N tries)".
	// It is 0 when f ran once, or not at all.
	Tries int

	originName string
}

func newTaskError(id uint64, name string, f *sched.Failure) *TaskError {
	te := &TaskError{Task: id, Name: name, Origin: f.Origin, Err: f.Err, originName: f.OriginName}
	// The engine wraps the last try's error when there were several. The
	// origin's is the first in the chain: an error that wraps a fetched
	// task's failure has that task as its origin.
	var re *sched.RetriesError
	if errors.As(f.Err, &re) {
		te.Tries = re.Tries
	}
	return te
}

// Error names the fetched task, the origin task when it is another one, and
// holds the original message.
//
// The message is prefixed "dagr: " once: the original error's own prefix,
// if it is one of dagr's errors, is dropped.
func (e *TaskError) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "dagr: ")
	}
	if e.Origin == e.Task {
		return fmt.Sprintf("dagr: task %d (%s) failed: %s", e.Task, e.Name, msg)
	}
	origin := e.originName
	if origin == "" {
		origin = "?"
	}
	return fmt.Sprintf("dagr: task %d (%s) failed because task %d (%s) failed: %s", e.Task, e.Name, e.Origin, origin, msg)
}

// Unwrap returns the original error.
func (e *TaskError) Unwrap() error { return e.Err }

// PanicError is the error of a task whose f panicked: the process keeps
// running, and the panic's value and the stack of the goroutine that
// panicked are kept. The same holds for panics in Restore and Checkpoint,
// which are logged.
type PanicError struct {
	Value any    // what f passed to panic
	Stack []byte // the stack where it panicked, as runtime/debug.Stack gives it
}

// Error gives the panic's value; the stack is in Stack.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic's value when it is an error, so that errors.Is
// and errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func newPanicError(v any, stack []byte) error { return &PanicError{Value: v, Stack: stack} }

// failureOf keeps the origin of an error that f returned when that error is
// or wraps a *TaskError (f fetched a task that failed and passed its error
// on), so that the failure keeps flowing from its first origin. An error
// passed on as is is unwrapped to the original one; a wrapped one keeps
// f's words around it.
func failureOf(err error) *sched.Failure {
	var te *TaskError
	if !errors.As(err, &te) {
		return nil
	}
	f := &sched.Failure{Origin: te.Origin, OriginName: te.originName, Err: err}
	if err == error(te) {
		f.Err = te.Err
	}
	return f
}
