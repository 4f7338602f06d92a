package dagr

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dagr/dagr/internal/sched"
	"github.com/dagr/dagr/internal/wire"
)

// TestEncodeErrorTries: the tries of a failure travel as a number, the
// message as the last try's, and the error made again on the other side
// gives a TaskError with the same Tries and message end; a failure that
// came from another worker keeps its worker, and its message is not
// wrapped once more.
func TestEncodeErrorTries(t *testing.T) {
	flaky := errors.New("flaky")
	for _, c := range []struct {
		name     string
		err      error
		tries    int
		msg      string // the Error's
		worker   int    // the WorkerError's, decoded on worker 1 from worker 3
		decoded  string // the decoded error's message
		deadline bool
	}{
		{"once", flaky, 0, "flaky", 3, "on worker 3: flaky", false},
		{"tries", &sched.RetriesError{Tries: 3, Err: flaky}, 3, "flaky", 3, "on worker 3: flaky (after 3 tries)", false},
		{"in a TaskError", newTaskError(7, "f", &sched.Failure{Origin: 7, OriginName: "f", Err: &sched.RetriesError{Tries: 2, Err: flaky}}),
			2, "flaky", 3, "on worker 3: flaky (after 2 tries)", false},
		{"wrapped by f", fmt.Errorf("loading: %w", &sched.RetriesError{Tries: 4, Err: flaky}), 4, "loading: flaky", 3,
			"on worker 3: loading: flaky (after 4 tries)", false},
		{"timed out", &sched.RetriesError{Tries: 2, Err: fmt.Errorf("task timed out: %w", context.DeadlineExceeded)}, 2,
			"task timed out: context deadline exceeded", 3, "on worker 3: task timed out: context deadline exceeded (after 2 tries)", true},
		{"absurd", &sched.RetriesError{Tries: wire.MaxTries + 10, Err: flaky}, wire.MaxTries, "flaky", 3,
			fmt.Sprintf("on worker 3: flaky (after %d tries)", wire.MaxTries), false},
		{"from worker 2", &sched.RetriesError{Tries: 3, Err: &WorkerError{Worker: 2, Task: "g", Err: flaky}}, 3, "flaky", 2,
			"on worker 2: flaky (after 3 tries)", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := encodeError(c.err)
			if e.Tries != c.tries || e.Msg != c.msg {
				t.Fatalf("encodeError(%v) = %+v, want Tries %d and message %q", c.err, e, c.tries, c.msg)
			}
			data, err := wire.Encode(wire.Order{Result: &wire.Result{Task: 1, Err: e}})
			if err != nil {
				t.Fatal(err)
			}
			o, err := wire.Decode[wire.Order](data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(o.Result.Err, e) {
				t.Fatalf("the Error changed on the way: %+v, want %+v", o.Result.Err, e)
			}
			got := workerError(3, o.Result.Err)
			var we *WorkerError
			if got.Error() != c.decoded || !errors.As(got, &we) || we.Worker != c.worker || errors.Is(got, context.DeadlineExceeded) != c.deadline {
				t.Fatalf("decoded %q (%#v), want %q from worker %d", got, we, c.decoded, c.worker)
			}
			te := newTaskError(9, "h", &sched.Failure{Origin: 9, OriginName: "h", Err: got})
			if te.Tries != c.tries {
				t.Fatalf("its TaskError: Tries %d, want %d", te.Tries, c.tries)
			}
			if says := fmt.Sprintf("(after %d tries)", c.tries); c.tries > 1 && !strings.HasSuffix(te.Error(), says) {
				t.Fatalf("its TaskError: %q does not end %q", te, says)
			}
		})
	}
}

// TestScopedOnWire: the options of a context, sent to another worker and
// made options again there, are the same but for the functions; a scope
// comes back as the same set of processors.
func TestScopedOnWire(t *testing.T) {
	if scopedOnWire(context.Background()) != nil {
		t.Fatal("a context without options sends some")
	}
	for _, sc := range []Scope{nil, AnyScope(), WorkerScope(3, 2), ExactScope(ThreadProc{Owner: 2, Thread: 3}), ExactScope(OSProc{ID: 4}),
		ThreadScope(2, 1), IntersectScope(WorkerScope(2, 3), ThreadScope(1, 2)),
		UnionScope(ExactScope(ThreadProc{Owner: 2, Thread: 1}), ExactScope(ThreadProc{Owner: 3, Thread: 2}), WorkerScope(5)),
		WorkerScope(0), IntersectScope(WorkerScope(1), WorkerScope(2))} {
		o := Options{Name: "n", Single: 2, Scope: sc, Occupancy: 0.25, Retries: 2, Priority: -1, RunOnce: true,
			Checkpoint: func(context.Context, any) error { return nil }}
		ctx := WithOptions(context.Background(), o)
		data, err := wire.Encode(wire.Order{Submit: &wire.Submit{Task: 1, Func: "f", Scoped: scopedOnWire(ctx)}})
		if err != nil {
			t.Fatal(err)
		}
		sub, err := wire.Decode[wire.Order](data)
		if err != nil {
			t.Fatalf("%v: %v", sc, err)
		}
		got := optionsFromWire(sub.Submit.Scoped)
		if got.Checkpoint != nil {
			t.Errorf("%v: a Checkpoint travelled", sc)
		}
		if (got.Scope == nil) != (sc == nil) || sc != nil && !sameProcs(got.Scope, sc) {
			t.Errorf("%v came back as %v", sc, got.Scope)
		}
		got.Scope, got.Checkpoint, o.Scope, o.Checkpoint = nil, nil, nil, nil
		if !reflect.DeepEqual(got, o) {
			t.Errorf("%v: options came back as %+v, want %+v", sc, got, o)
		}
	}
}

// sameProcs reports whether a and b allow the same processors of workers
// 1 to 6 of 4 processors each.
func sameProcs(a, b Scope) bool {
	for w := 1; w <= 6; w++ {
		ia, oka := a.procs().on(w, 4)
		ib, okb := b.procs().on(w, 4)
		if oka != okb || !reflect.DeepEqual(ia, ib) {
			return false
		}
	}
	return true
}
