package dagr

import (
	"sync"
	"time"

	"github.com/dagr/dagr/internal/sched"
	"github.com/dagr/dagr/internal/wire"
)

// A worker keeps an event log while worker 1 keeps one, as each task that
// worker 1 sends says, and sends worker 1 the events of the tasks that
// live on the worker only: tasks of functions that are not registered,
// spawned by the tasks it runs. Worker 1 logs the others itself, so the
// worker's nodes that stand for them (a task sent here, a handle of a
// task on worker 1) stay out of the worker's log. In worker 1's log, a
// task of the worker has the id it has there: a worker gives its tasks ids
// in a space of its own (wire.TaskID, see Main), so that they never meet
// those of another process, and a task that lives on worker 1 has the
// same id everywhere.

// shipPeriod is how often a worker sends worker 1 its new events.
const shipPeriod = 250 * time.Millisecond

// shipper sends a worker's events to worker 1 while its log follows
// worker 1's.
type shipper struct {
	mu   sync.Mutex
	stop chan struct{} // closed to stop the shipping; nil while it is off
	done chan struct{} // closed when the shipping has stopped

	// sendMu makes each take of the log and its sending one step, so that
	// events taken before a task's end are sent before its Done.
	sendMu  sync.Mutex
	dropped uint64 // events lost since the last send: dropped by the log, or not sent
}

var workerLog shipper

// followLog turns the log of s, a worker's scheduler, on or off as worker
// 1's is. A log that the worker's own code turned on is left as it is.
func (s *Scheduler) followLog(on bool) {
	sh := &workerLog
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch {
	case on && sh.stop == nil && !s.eng.Logging():
		s.eng.EnableEvents(DefaultLogSize)
		sh.stop, sh.done = make(chan struct{}), make(chan struct{})
		go s.ship(sh.stop, sh.done)
	case !on && sh.stop != nil:
		close(sh.stop)
		<-sh.done
		sh.stop, sh.done = nil, nil
		s.eng.DisableEvents()
	}
}

// flush sends the new events of s now, if its log follows worker 1's.
func (sh *shipper) flush(s *Scheduler) {
	sh.mu.Lock()
	on := sh.stop != nil
	sh.mu.Unlock()
	if on {
		sh.send(s)
	}
}

// ship sends the log's new events to worker 1 every shipPeriod, until
// stop is closed, and once more then.
func (s *Scheduler) ship(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(shipPeriod)
	defer t.Stop()
	for {
		select {
		case <-stop:
			workerLog.send(s)
			return
		case <-t.C:
			workerLog.send(s)
		}
	}
}

// send sends worker 1 the events of s logged since the last send, in
// messages of wire.MaxEvents at most. Events that cannot be sent are
// counted as dropped in the next message.
func (sh *shipper) send(s *Scheduler) {
	sh.sendMu.Lock()
	defer sh.sendMu.Unlock()
	evs, dropped := s.eng.TakeEvents()
	sh.dropped += dropped
	for len(evs) > 0 || sh.dropped > 0 {
		n := min(len(evs), wire.MaxEvents)
		msg := &wire.Events{Events: make([]wire.LogEvent, n), Dropped: sh.dropped}
		for i, e := range evs[:n] {
			msg.Events[i] = wire.LogEvent{Kind: uint8(e.Kind), Task: e.Task, Time: e.Time.UnixNano(), Name: e.Name,
				Deps: e.Deps, Proc: e.Proc, Outcome: uint8(e.Outcome), Origin: e.Origin, Occ: e.Occ}
		}
		if err := thisWorker.SendEvents(msg); err != nil {
			sh.dropped += uint64(len(evs)) // worker 1 is out of reach: the log says how many are lost
			return
		}
		evs, sh.dropped = evs[n:], 0
	}
}

// addWorkerEvents adds to the log of s the events that a worker sent.
func (s *Scheduler) addWorkerEvents(e *wire.Events) {
	evs := make([]sched.Event, len(e.Events))
	for i, w := range e.Events {
		evs[i] = sched.Event{Kind: sched.EventKind(w.Kind), Task: w.Task, Time: time.Unix(0, w.Time), Name: w.Name, Deps: w.Deps,
			Proc: w.Proc, Outcome: sched.Outcome(w.Outcome), Origin: w.Origin, Occ: w.Occ}
	}
	s.eng.AddEvents(e.From, evs, e.Dropped)
}
