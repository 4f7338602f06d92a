package dash

import (
	"iter"
	"time"
)

// Source is what a dashboard shows: a scheduler, seen through plain data
// types so that this package does not import the scheduler's. A Source is
// called from one goroutine at a time, once per period while clients
// watch, and never while no client does.
type Source interface {
	// Stats returns a snapshot of the scheduler's counters, processors
	// and workers.
	Stats() Stats
	// Log returns the events of the scheduler's event log, oldest first,
	// or nil while the log is off. The dashboard ranges over it once.
	Log() iter.Seq[Event]
}

// Stats is a snapshot of a scheduler, as dagr.Stats has it.
type Stats struct {
	Spawned    int64
	Done       int64 // ended, whichever way
	Failed     int64
	Canceled   int64
	Queued     int64
	Running    int64
	BytesMoved int64
	Procs      []Proc   // this process's processors, in order
	Workers    []Worker // the live workers, this process first
}

// Proc is the state of one processor of the scheduler's process.
type Proc struct {
	Thread    int     `json:"thread"` // from 1
	Queued    int     `json:"queued"`
	Running   int     `json:"running"`
	Occupancy float64 `json:"occupancy"` // from 0 to 1
}

// Worker is the state of one live worker.
type Worker struct {
	ID      int `json:"id"`
	Procs   int `json:"procs"`
	Running int `json:"running"`
}

// EventKind says what an Event records.
type EventKind uint8

// The kinds of events, in the order in which a task has them.
const (
	EventSpawn EventKind = iota + 1
	EventReady
	EventStart
	EventFinish
)

// Outcome is how a task ended.
type Outcome uint8

// The outcomes.
const (
	OutcomeOK Outcome = iota + 1
	OutcomeFailed
	OutcomeCanceled
)

// Event is an entry of the event log, as dagr.Event has it.
type Event struct {
	Kind EventKind
	Task uint64
	Time time.Time
	Name string   // with EventSpawn
	Deps []uint64 // with EventSpawn
	// With EventStart: the index of the processor of Worker, from 0,
	// where the task started; -1 if unknown. A task sent to another
	// worker has a second EventStart, with that worker, its processor
	// there, and Ended, when it ended there.
	Proc    int
	Worker  int
	Ended   time.Time
	Outcome Outcome // with EventFinish
	Origin  uint64  // with EventFinish, for a failure or a cancellation
}
