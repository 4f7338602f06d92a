package dagr

import (
	"context"
	"fmt"
	"strings"

	"github.com/dagr/dagr/internal/sched"
)

// Processor is a place where tasks run: a whole worker process (OSProc) or
// one processor of a worker (ThreadProc).
type Processor interface {
	Worker() int    // the worker the processor belongs to
	String() string // e.g. "ThreadProc(1, 2)"
}

// OSProc is a whole worker process: ExactScope(OSProc{ID: 1}) allows every
// processor of worker 1.
type OSProc struct{ ID int }

// Worker returns p.ID.
func (p OSProc) Worker() int { return p.ID }

// String returns "OSProc(id)".
func (p OSProc) String() string { return fmt.Sprintf("OSProc(%d)", p.ID) }

// ThreadProc is one processor (execution slot) of a worker; Thread counts
// from 1 up to the worker's number of processors (Config.Procs on worker 1).
type ThreadProc struct{ Owner, Thread int }

// Worker returns p.Owner.
func (p ThreadProc) Worker() int { return p.Owner }

// String returns "ThreadProc(owner, thread)".
func (p ThreadProc) String() string { return fmt.Sprintf("ThreadProc(%d, %d)", p.Owner, p.Thread) }

// Scope is a set of processors a task may run on, made by AnyScope,
// WorkerScope or ExactScope. A task whose scope holds no existing processor
// fails with an error wrapping ErrNoProcessor; one whose scope holds several
// runs on any of them.
type Scope interface {
	String() string
	// procsOn returns the processors of worker w (which has n of them) in
	// the scope: nil for all, and false for none.
	procsOn(w, n int) ([]int, bool)
}

// AnyScope is the scope of every processor of every worker.
func AnyScope() Scope { return anyScope{} }

// WorkerScope is the scope of every processor of the given workers
// (Dagger's ProcessScope).
func WorkerScope(ids ...int) Scope { return workerScope(append([]int(nil), ids...)) }

// ExactScope is the scope of one processor; an OSProc means every processor
// of that worker.
func ExactScope(p Processor) Scope { return exactScope{p} }

type anyScope struct{}

func (anyScope) String() string                 { return "AnyScope()" }
func (anyScope) procsOn(int, int) ([]int, bool) { return nil, true }

type workerScope []int

func (s workerScope) String() string {
	ids := make([]string, len(s))
	for i, id := range s {
		ids[i] = fmt.Sprint(id)
	}
	return "WorkerScope(" + strings.Join(ids, ", ") + ")"
}

func (s workerScope) procsOn(w, _ int) ([]int, bool) {
	for _, id := range s {
		if id == w {
			return nil, true
		}
	}
	return nil, false
}

type exactScope struct{ p Processor }

func (s exactScope) String() string { return fmt.Sprintf("ExactScope(%v)", s.p) }

func (s exactScope) procsOn(w, n int) ([]int, bool) {
	switch p := s.p.(type) {
	case OSProc:
		return nil, p.ID == w
	case ThreadProc:
		if p.Owner == w && p.Thread >= 1 && p.Thread <= n {
			return []int{p.Thread - 1}, true
		}
	}
	return nil, false
}

// MyID returns this process's worker id: 1 in the process that runs the
// scheduler.
func MyID() int {
	if id := myID.Load(); id > 0 {
		return int(id)
	}
	return 1
}

// CurrentProcessor returns the processor that runs the task ctx was handed
// to, or nil when ctx is not a task's.
func CurrentProcessor(ctx context.Context) Processor {
	if ctx == nil {
		return nil
	}
	if th := sched.CurrentThread(ctx); th > 0 {
		return ThreadProc{Owner: MyID(), Thread: th}
	}
	return nil
}
