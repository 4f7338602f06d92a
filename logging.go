package dagr

import (
	"cmp"
	"context"
	"time"

	"github.com/dagr/dagr/internal/sched"
)

// The event log is Dagger's enable_logging! and fetch_logs!: while it is
// on, a scheduler records what happens to each of its tasks.

// EventKind says what an Event records.
type EventKind uint8

// The kinds of events, in the order in which a task has them.
const (
	EventSpawn  EventKind = EventKind(sched.EventSpawn)  // spawned; Deps are the tasks whose results it takes
	EventReady  EventKind = EventKind(sched.EventReady)  // its inputs are done: it waits for a processor
	EventStart  EventKind = EventKind(sched.EventStart)  // it starts on processor Proc
	EventFinish EventKind = EventKind(sched.EventFinish) // it ended, as Outcome says
)

// String returns the kind's name: "spawn", "ready", "start" or "finish".
func (k EventKind) String() string {
	switch k {
	case EventSpawn:
		return "spawn"
	case EventReady:
		return "ready"
	case EventStart:
		return "start"
	case EventFinish:
		return "finish"
	}
	return "?"
}

// Outcome is how a task ended.
type Outcome uint8

// The outcomes.
const (
	OutcomeOK       Outcome = Outcome(sched.OutcomeOK)
	OutcomeFailed   Outcome = Outcome(sched.OutcomeFailed)   // its f failed, or a task upstream did: see Event.Origin
	OutcomeCanceled Outcome = Outcome(sched.OutcomeCanceled) // cancelled (its error is context.Canceled)
)

// String returns the outcome's name: "ok", "failed" or "canceled".
func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeFailed:
		return "failed"
	case OutcomeCanceled:
		return "canceled"
	}
	return "?"
}

// Event is an entry of a scheduler's event log (see EnableLogging).
type Event struct {
	Kind EventKind
	Task uint64 // Task.ID
	Time time.Time
	Name string   // with EventSpawn: Task.Name
	Deps []uint64 // with EventSpawn: the tasks whose results the task takes
	// With EventStart: the index of the processor, from 0, where the task
	// started. A task sent to another worker has a second EventStart, when
	// it started on Worker (by that worker's clock), with the processor
	// there (-1 if unknown).
	Proc int
	// Worker is the worker where it happened: this process (MyID), but for
	// a task's start on another worker, and for the events of the tasks
	// that live on another worker only, which that worker sent.
	Worker int
	// With EventFinish: how the task ended, and for a failure or a
	// cancellation the task where it began (the task itself if its own f
	// failed).
	Outcome Outcome
	Origin  uint64
	// With an EventStart on another worker: the bytes of the task's
	// arguments that the worker pulled from other processes to run it, and
	// when it ended there (by that worker's clock; its EventFinish comes
	// when this process has its result).
	Bytes int64
	Ended time.Time
	// With an EventStart on this process: the share of the processor that
	// the task holds while it runs (Options.Occupancy: 1 unless set), so
	// that a processor's occupancy over time is the sum of its running
	// tasks'.
	Occupancy float64
}

// DefaultLogSize is the number of events that a log keeps when
// EnableLogging is given 0.
const DefaultLogSize = 1 << 16

// EnableLogging turns on the event log of ctx's scheduler, which keeps the
// last size events (DefaultLogSize if size is 0): older ones are
// dropped, and FetchLogs says how many. A log that was on starts afresh.
// Off (the default), logging costs next to nothing: no allocation, one
// atomic load where an event would be.
func EnableLogging(ctx context.Context, size int) { schedulerOf(ctx).EnableLogging(size) }

// EnableLogging is the package-level EnableLogging on s.
func (s *Scheduler) EnableLogging(size int) {
	if size <= 0 {
		size = DefaultLogSize
	}
	s.eng.EnableEvents(size)
}

// DisableLogging turns the event log of ctx's scheduler off, and drops
// its events.
func DisableLogging(ctx context.Context) { schedulerOf(ctx).DisableLogging() }

// DisableLogging is the package-level DisableLogging on s.
func (s *Scheduler) DisableLogging() { s.eng.DisableEvents() }

// FetchLogs returns the events of ctx's scheduler's log, oldest first, and
// the number of older events that newer ones replaced; nothing while the
// log is off. The log keeps its events: ClearLogs empties it.
func FetchLogs(ctx context.Context) (_ []Event, dropped uint64) { return schedulerOf(ctx).FetchLogs() }

// FetchLogs is the package-level FetchLogs on s.
func (s *Scheduler) FetchLogs() (_ []Event, dropped uint64) {
	evs, dropped := s.eng.Events()
	if evs == nil {
		return nil, 0
	}
	out := make([]Event, len(evs))
	for i, e := range evs {
		out[i] = Event{Kind: EventKind(e.Kind), Task: e.Task, Time: e.Time, Name: e.Name, Deps: e.Deps, Proc: e.Proc,
			Worker: cmp.Or(e.Worker, MyID()), Outcome: Outcome(e.Outcome), Origin: e.Origin, Bytes: e.Bytes, Ended: e.Ended,
			Occupancy: float64(e.Occ) / sched.FullOccupancy}
	}
	return out, dropped
}

// ClearLogs empties the event log of ctx's scheduler, which stays on.
func ClearLogs(ctx context.Context) { schedulerOf(ctx).ClearLogs() }

// ClearLogs is the package-level ClearLogs on s.
func (s *Scheduler) ClearLogs() { s.eng.ClearEvents() }
