package sched

import (
	"cmp"
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/dagr/dagr/internal/call"
)

// The event log records, while it is on, what happens to each task: its
// spawn (with its dependencies), when it becomes ready, when it starts on
// a processor, and how it ends. Off, it costs one atomic load per event
// site; on, a read of the monotonic clock, a lock and a copy into a ring
// of fixed size, whose oldest events the newest replace.

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
	Name    string    // with EventSpawn
	Deps    []uint64  // with EventSpawn: the tasks whose results it takes
	Proc    int       // with EventStart: the processor's index, from 0; on another worker, its index there, or -1 if unknown
	Worker  int       // the worker where it happened, if not this process (LogRemote, AddEvents); else 0
	Outcome Outcome   // with EventFinish
	Origin  uint64    // with EventFinish and OutcomeFailed or OutcomeCanceled: the task that failed first
	Bytes   int64     // with EventStart on another worker: the bytes of its arguments pulled there
	Occ     uint32    // with EventStart on this process: the share of the processor it holds, of FullOccupancy
	Ended   time.Time // with EventStart on another worker: when it ended there

	fn any   // with EventSpawn and no Name yet: the function, whose name Events finds
	at int64 // Time, as an offset from the log's base
}

// eventLog is the log: rings of events, a shard per processor, one for
// goroutines that are not tasks and one for the events that workers send,
// so that the goroutines that record events seldom share a ring, and the
// workers' events never push this process's out: an event goes to the
// shard of the processor where it happens, as far as the node knows it
// (its spawner's, its own). Times are offsets from base, on the monotonic
// clock, which is cheaper to read than the wall clock; Events sorts by
// them. A small log has one shard for all.
type eventLog struct {
	base   time.Time
	shards []logShard
}

type logShard struct {
	mu      sync.Mutex
	ring    []Event
	next    int    // where the next event goes
	n       int    // events in the ring
	dropped uint64 // events that newer ones replaced
	_       [64]byte
}

// eventsPerShard is how many events a log keeps per shard, at least: a
// small log has one shard, and keeps exactly its last events.
const eventsPerShard = 1024

func newEventLog(size, procs int) *eventLog {
	n := 1
	if size/eventsPerShard > procs+1 {
		n = procs + 2
	}
	l := &eventLog{base: time.Now(), shards: make([]logShard, n)}
	for i := range l.shards {
		l.shards[i].ring = make([]Event, (size+n-1)/n)
	}
	return l
}

// now returns the time of an event: nanoseconds since base.
func (l *eventLog) now() int64 { return int64(time.Since(l.base)) }

// shard returns the shard of events on processor p (nil: not a task's).
func (l *eventLog) shard(p *proc) *logShard {
	switch {
	case len(l.shards) == 1:
		return &l.shards[0]
	case p == nil:
		return &l.shards[len(l.shards)-2]
	}
	return &l.shards[p.index]
}

// remoteShard returns the shard of the events that workers send.
func (l *eventLog) remoteShard() *logShard { return &l.shards[len(l.shards)-1] }

func (sh *logShard) clearLocked() {
	sh.next, sh.n, sh.dropped = 0, 0, 0
	clear(sh.ring)
}

func (l *eventLog) add(sh *logShard, e Event) {
	sh.mu.Lock()
	sh.ring[sh.next] = e
	sh.next = (sh.next + 1) % len(sh.ring)
	if sh.n < len(sh.ring) {
		sh.n++
	} else {
		sh.dropped++
	}
	sh.mu.Unlock()
}

// EnableEvents starts a log of the scheduler's events that keeps the last
// size of them, about (a fresh, empty one if a log was on): the bound
// holds for each shard of the log, of size/shards events. size must be
// positive.
func (s *Scheduler) EnableEvents(size int) { s.events.Store(newEventLog(size, len(s.procs))) }

// DisableEvents stops the log; its events are dropped.
func (s *Scheduler) DisableEvents() { s.events.Store(nil) }

// Events returns the events in the log, in the order of their times (and
// each task's in the order it had them), and how many older ones newer
// ones replaced. It returns nothing when the log is off.
func (s *Scheduler) Events() (_ []Event, dropped uint64) { return s.collect(false) }

// TakeEvents is Events, and empties the log at once: no event is in two
// takes, and none is lost between them but those the ring dropped.
func (s *Scheduler) TakeEvents() (_ []Event, dropped uint64) { return s.collect(true) }

func (s *Scheduler) collect(take bool) (_ []Event, dropped uint64) {
	l := s.events.Load()
	if l == nil {
		return nil, 0
	}
	var out []Event
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		start := (sh.next - sh.n + len(sh.ring)) % len(sh.ring)
		for i := range sh.n {
			out = append(out, sh.ring[(start+i)%len(sh.ring)])
		}
		dropped += sh.dropped
		if take {
			sh.clearLocked()
		}
		sh.mu.Unlock()
	}
	// A task's finish is its last event: a task cancelled as its runner
	// starts it may log its start after its end, and its finish then
	// takes the time of its start. A task's events are in the order of
	// their kinds when their times tie.
	last := map[uint64]int64{}
	for _, e := range out {
		if e.Kind != EventFinish && e.at > last[e.Task] {
			last[e.Task] = e.at
		}
	}
	for i := range out {
		if e := &out[i]; e.Kind == EventFinish && e.at < last[e.Task] {
			e.at = last[e.Task]
		}
	}
	slices.SortStableFunc(out, func(a, b Event) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.Kind, b.Kind)) })
	// Functions are named here, not as tasks spawn: naming one costs more
	// than the rest of an event.
	names := map[uintptr]string{}
	for i := range out {
		e := &out[i]
		e.Time = l.base.Add(time.Duration(e.at))
		if e.fn == nil {
			continue
		}
		if v := reflect.ValueOf(e.fn); v.Kind() == reflect.Func {
			name, ok := names[v.Pointer()]
			if !ok {
				name = call.Name(e.fn)
				names[v.Pointer()] = name
			}
			e.Name = name
		} else {
			e.Name = call.Name(e.fn)
		}
		e.fn = nil
	}
	if out == nil {
		out = []Event{}
	}
	return out, dropped
}

// AddEvents adds to the log, if it is on, events that worker logged (with
// their Time set, and their Worker to be set here), and the number of
// events that its log dropped before them.
func (s *Scheduler) AddEvents(worker int, evs []Event, dropped uint64) {
	l := s.events.Load()
	if l == nil {
		return
	}
	sh := l.remoteShard()
	for _, e := range evs {
		e.at, e.Worker, e.fn = int64(e.Time.Sub(l.base)), worker, nil
		l.add(sh, e)
	}
	sh.mu.Lock()
	sh.dropped += dropped
	sh.mu.Unlock()
}

// Logging reports whether the event log is on.
func (s *Scheduler) Logging() bool { return s.events.Load() != nil }

// ClearEvents empties the log, which stays on.
func (s *Scheduler) ClearEvents() {
	if l := s.events.Load(); l != nil {
		for i := range l.shards {
			sh := &l.shards[i]
			sh.mu.Lock()
			sh.clearLocked()
			sh.mu.Unlock()
		}
	}
}

// unlogged reports whether n stays out of the log (Spec.Unlogged).
func (n *Node) unlogged() bool { return n.spec != nil && n.spec.Unlogged }

// The log's sites: each is small enough to be inlined where it is
// called, so that while the log is off an event costs the load of the
// log's pointer and a branch, not a call; the work is in the methods of
// eventLog.

// spawn records n's spawn, with deps; tc is the spawning task's context,
// if any. It returns the spawn's time, or 0. (Scheduler.SpawnOwned calls
// it, when the log is on, where a method of the scheduler would be too
// costly to be inlined.)
func (l *eventLog) spawn(n *Node, deps []Dep, tc *taskContext) (at int64) {
	if n.unlogged() {
		return 0
	}
	e := Event{Kind: EventSpawn, Task: n.ID(), at: l.now()}
	if n.spec != nil && n.spec.Name != "" {
		e.Name = n.spec.Name
	} else {
		e.fn = n.fn
	}
	for _, d := range deps {
		e.Deps = append(e.Deps, d.Node.ID())
	}
	var p *proc
	if tc != nil && tc.s == n.sched() {
		p = tc.proc
	}
	l.add(l.shard(p), e)
	return e.at
}

// logReady records that n is ready, at the time at if not 0, if the log
// is on.
func (s *Scheduler) logReady(n *Node, at int64) {
	if l := s.events.Load(); logSites && l != nil {
		l.ready(n, at)
	}
}

func (l *eventLog) ready(n *Node, at int64) {
	if n.unlogged() {
		return
	}
	if at == 0 {
		at = l.now()
	}
	l.add(l.shard(n.hintProc()), Event{Kind: EventReady, Task: n.ID(), at: at})
}

// logStart records that n starts on p, if the log is on.
func (s *Scheduler) logStart(n *Node, p *proc) {
	if l := s.events.Load(); logSites && l != nil {
		l.start(n, p)
	}
}

func (l *eventLog) start(n *Node, p *proc) {
	if !n.unlogged() {
		l.add(l.shard(p), Event{Kind: EventStart, Task: n.ID(), at: l.now(), Proc: p.index, Occ: n.spec.Occupancy})
	}
}

// LogRemote records that the task whose context ctx is ran on processor
// thread (from 1; 0 if unknown) of worker from start to end, having pulled
// moved bytes of its arguments there, if the log is on: a start on that
// worker, after the one this process logged when it sent the task there.
// The task's finish comes when the node ends here.
func (s *Scheduler) LogRemote(ctx context.Context, worker, thread int, moved int64, start, end time.Time) {
	l := s.events.Load()
	tc := fromContext(ctx)
	if l == nil || tc == nil {
		return
	}
	n := tc.node.Load()
	if n == nil {
		return
	}
	l.add(l.shard(tc.proc), Event{Kind: EventStart, Task: n.ID(), at: int64(start.Sub(l.base)), Proc: thread - 1, Worker: worker, Bytes: moved, Ended: end})
}

// logFinish records n's end, if the log is on.
func (s *Scheduler) logFinish(n *Node, f *Failure) {
	if l := s.events.Load(); logSites && l != nil {
		l.finish(n, f)
	}
}

func (l *eventLog) finish(n *Node, f *Failure) {
	if n.unlogged() {
		return
	}
	e := Event{Kind: EventFinish, Task: n.ID(), at: l.now(), Outcome: OutcomeOK}
	if f != nil {
		e.Outcome, e.Origin = OutcomeFailed, f.Origin
		if errors.Is(f.Err, context.Canceled) {
			e.Outcome = OutcomeCanceled
		}
	}
	p := n.runningOn()
	if p == nil {
		p = n.hintProc()
	}
	l.add(l.shard(p), e)
}
