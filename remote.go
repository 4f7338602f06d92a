package dagr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/cluster"
	"github.com/dagr/dagr/internal/sched"
	"github.com/dagr/dagr/internal/wire"
)

// WorkerError is the error of a task that failed on another worker, as it
// reaches worker 1: a Fetch of the task, or of a task downstream, returns
// a *TaskError whose Err is a *WorkerError.
type WorkerError struct {
	Worker int    // where the task failed
	Task   string // the name of the task that failed there first
	// Err is the original error as far as it crosses processes: a
	// *PanicError with the panic's value and stack as text; an error that
	// satisfies errors.Is(err, context.Canceled) or
	// context.DeadlineExceeded if it was one of those; else an error with
	// the original message.
	Err error
}

// Error says where the task failed, and the original message.
func (e *WorkerError) Error() string {
	return fmt.Sprintf("on worker %d: %s", e.Worker, strings.TrimPrefix(e.Err.Error(), "dagr: "))
}

// Unwrap returns the original error.
func (e *WorkerError) Unwrap() error { return e.Err }

// remoteError is an error that crossed from a worker: its message, and the
// context error it was, if any.
type remoteError struct {
	msg string
	is  error
}

func (e *remoteError) Error() string        { return e.msg }
func (e *remoteError) Is(target error) bool { return e.is != nil && target == e.is }

// workerError rebuilds the error of a task that failed on worker w.
func workerError(w int, e *wire.Error) error {
	var err error
	switch e.Kind {
	case wire.KindPanic:
		err = &PanicError{Value: e.Msg, Stack: []byte(e.Stack)}
	case wire.KindCanceled:
		err = &remoteError{msg: e.Msg, is: context.Canceled}
	case wire.KindDeadline:
		err = &remoteError{msg: e.Msg, is: context.DeadlineExceeded}
	default:
		err = &remoteError{msg: e.Msg}
	}
	if e.Origin > 0 {
		w = e.Origin
	}
	err = &WorkerError{Worker: w, Task: e.Task, Err: err}
	if e.Tries > 1 {
		// As the engine wraps the last try's error of a task here: the
		// TaskError finds the tries in it, and its message ends with them.
		err = &sched.RetriesError{Tries: e.Tries, Err: err}
	}
	if e.OriginTask != 0 {
		// A failure that came from another task: the task here fails with
		// it, its origin named (see failureOf), as on the sender.
		err = &TaskError{Task: e.OriginTask, Name: e.Task, Origin: e.OriginTask, Err: err, originName: e.Task}
	}
	return err
}

// encodeError describes the error of a failed task for the trip to
// another process: one that failed on this worker, for worker 1, or on
// worker 1, for a worker that spawned or watches it.
//
// The tries of a failure whose every try failed (sched.RetriesError, as
// TaskError.Tries finds it) travel as a number, and its message as the
// last try's: workerError wraps it again. A failure that came from
// another worker (a *WorkerError) travels as it came: its worker, task
// and original error, not wrapped once more in the name of this process.
func encodeError(err error) *wire.Error {
	e := &wire.Error{Kind: wire.KindError, Msg: err.Error()}
	var te *TaskError
	if errors.As(err, &te) {
		e.Task = te.Name
		if te.originName != "" {
			e.Task = te.originName
		}
		if te.Origin != te.Task {
			e.OriginTask = te.Origin
		}
		if te.Err != nil {
			err = te.Err
			e.Msg = err.Error()
		}
	}
	var re *sched.RetriesError
	if errors.As(err, &re) && re.Tries > 1 {
		e.Tries = min(re.Tries, wire.MaxTries)
		if err == error(re) && re.Err != nil {
			err = re.Err
			e.Msg = err.Error()
		} else {
			// Wrapped in an error of f's own: the message keeps its words,
			// and its tries once.
			e.Msg = strings.TrimSuffix(e.Msg, fmt.Sprintf(" (after %d tries)", re.Tries))
		}
	}
	if we, ok := err.(*WorkerError); ok && we.Err != nil {
		e.Origin = we.Worker
		if we.Task != "" {
			e.Task = we.Task
		}
		err = we.Err
		e.Msg = err.Error()
	}
	var pe *PanicError
	switch {
	case errors.As(err, &pe):
		e.Kind, e.Msg, e.Stack = wire.KindPanic, fmt.Sprint(pe.Value), string(pe.Stack)
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = wire.KindDeadline
	case errors.Is(err, context.Canceled):
		e.Kind = wire.KindCanceled
	}
	return e
}

// runSubmitted runs a task that worker 1 sent to this worker, on s, and
// returns its result and where it ran; when worker 1 keeps an event log,
// when f ran, too.
func (s *Scheduler) runSubmitted(ctx context.Context, sub *wire.Submit, fn any, args []any) (any, cluster.Ran, error) {
	if sub.Scoped != nil {
		// The options that its context carried on worker 1: what it
		// spawns here takes them, as there.
		ctx = WithOptions(ctx, optionsFromWire(sub.Scoped))
	}
	if sub.Timeout > 0 {
		// The deadline of its context on worker 1, which f, and what it
		// spawns here, see as their context's.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sub.Timeout)
		defer cancel()
	}
	o := Options{Name: sub.Name, Occupancy: sub.Occupancy, Priority: sub.Priority}
	if sub.Thread > 0 {
		o.Scope = ExactScope(ThreadProc{Owner: MyID(), Thread: sub.Thread})
	}
	// Here, not on worker 1: it was placed on this worker. The arguments
	// are values, as the task's inputs were delivered on worker 1: a
	// *Task among them is one, not a dependency (a task of a function
	// that takes a *Task gets the handle).
	spec, bad := s.spec(&o, fn)
	spec.Unlogged = true // worker 1 logs the task
	var (
		mu  sync.Mutex // f may still run when the task has ended (cancelled)
		ran cluster.Ran
	)
	if sub.Log {
		// Timed from its start on a processor here, not from its arrival:
		// it may wait for one.
		spec.Call = func(ctx context.Context, fn any, sig *call.Sig, args []any) (any, error) {
			start := time.Now()
			defer func() {
				mu.Lock()
				ran.Start, ran.End = start, time.Now()
				mu.Unlock()
			}()
			return sig.Call(fn, ctx, args)
		}
	}
	sig, err := call.Analyze(fn)
	if err != nil {
		return nil, cluster.Ran{}, err
	}
	for i, a := range args {
		if bad != nil {
			break
		}
		bad = sig.Accepts(fn, sub.Name, i, a, 0)
	}
	t := new(Task)
	s.eng.SpawnOwned(&t.node, ctx, fn, sig, args, nil, spec, bad)
	res, err := t.Fetch(ctx)
	workerLog.flush(s) // the events of what it spawned here reach worker 1 before its end
	mu.Lock()
	defer mu.Unlock()
	ran.Thread = t.node.Thread()
	return res, ran, err
}
