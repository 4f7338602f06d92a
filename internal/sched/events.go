package sched

import (
	"context"
	"errors"
	"sync"
	"time"
)

// The event log records, while it is on, what happens to each task: its
// spawn (with its dependencies), when it becomes ready, when it starts on
// a processor, and how it ends. Off, it costs one atomic load per event
// site; on, a lock and a copy into a ring of fixed size, whose oldest
// events the newest replace.

// EventKind says what an Event records.
type EventKind uint8

// The kinds of events.
const (
	EventSpawn  EventKind = iota + 1 // the task was spawned; Deps are its dependencies
	EventReady                       // its inputs are done: it waits for a processor
	EventStart                       // it starts on processor Proc (a try of f, or its Restore)
	EventFinish                      // it ended: Outcome, and Origin for a failure
)

// Outcome is how a task ended.
type Outcome uint8

// The outcomes.
const (
	OutcomeOK       Outcome = iota + 1
	OutcomeFailed           // its f failed, or a task upstream did (Origin)
	OutcomeCanceled         // cancelled: errors.Is(err, context.Canceled)
)

// Event is one entry of the log.
type Event struct {
	Kind    EventKind
	Task    uint64
	Time    time.Time
	Name    string   // with EventSpawn
	Deps    []uint64 // with EventSpawn: the tasks whose results it takes
	Proc    int      // with EventStart: the processor's index, from 0
	Outcome Outcome  // with EventFinish
	Origin  uint64   // with EventFinish and OutcomeFailed or OutcomeCanceled: the task that failed first
}

// eventLog is a ring of events.
type eventLog struct {
	mu      sync.Mutex
	ring    []Event
	next    int    // where the next event goes
	n       int    // events in the ring
	dropped uint64 // events that newer ones replaced
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.ring[l.next] = e
	l.next = (l.next + 1) % len(l.ring)
	if l.n < len(l.ring) {
		l.n++
	} else {
		l.dropped++
	}
	l.mu.Unlock()
}

// EnableEvents starts a log of the scheduler's events that keeps the last
// size of them (a fresh, empty one if a log was on). size must be
// positive.
func (s *Scheduler) EnableEvents(size int) {
	s.events.Store(&eventLog{ring: make([]Event, size)})
}

// DisableEvents stops the log; its events are dropped.
func (s *Scheduler) DisableEvents() { s.events.Store(nil) }

// Events returns the events in the log, oldest first, and how many older
// ones newer ones replaced. It returns nothing when the log is off.
func (s *Scheduler) Events() (_ []Event, dropped uint64) {
	l := s.events.Load()
	if l == nil {
		return nil, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Event, 0, l.n)
	start := (l.next - l.n + len(l.ring)) % len(l.ring)
	for i := range l.n {
		out = append(out, l.ring[(start+i)%len(l.ring)])
	}
	return out, l.dropped
}

// ClearEvents empties the log, which stays on.
func (s *Scheduler) ClearEvents() {
	if l := s.events.Load(); l != nil {
		l.mu.Lock()
		l.next, l.n, l.dropped = 0, 0, 0
		clear(l.ring)
		l.mu.Unlock()
	}
}

// logSpawn records n's spawn, with deps, if the log is on.
func (s *Scheduler) logSpawn(n *Node, deps []Dep) {
	l := s.events.Load()
	if l == nil {
		return
	}
	e := Event{Kind: EventSpawn, Task: n.ID(), Time: time.Now(), Name: n.Name()}
	for _, d := range deps {
		e.Deps = append(e.Deps, d.Node.ID())
	}
	l.add(e)
}

// logEvent records an event of n without details, if the log is on.
func (s *Scheduler) logEvent(kind EventKind, n *Node, proc int) {
	if l := s.events.Load(); l != nil {
		l.add(Event{Kind: kind, Task: n.ID(), Time: time.Now(), Proc: proc})
	}
}

// logFinish records n's end, if the log is on.
func (s *Scheduler) logFinish(n *Node, f *Failure) {
	l := s.events.Load()
	if l == nil {
		return
	}
	e := Event{Kind: EventFinish, Task: n.ID(), Time: time.Now(), Outcome: OutcomeOK}
	if f != nil {
		e.Outcome, e.Origin = OutcomeFailed, f.Origin
		if errors.Is(f.Err, context.Canceled) {
			e.Outcome = OutcomeCanceled
		}
	}
	l.add(e)
}
