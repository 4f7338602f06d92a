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
// task of the worker has the id wire.TaskID(worker, its id there), so
// that the ids of two processes never meet.

// shipPeriod is how often a worker sends worker 1 its new events.
const shipPeriod = 250 * time.Millisecond

// shipper sends a worker's events to worker 1 while its log follows
// worker 1's.
type shipper struct {
	mu   sync.Mutex
	stop chan struct{} // closed to stop the shipping; nil while it is off
	done chan struct{} // closed when the shipping has stopped
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
		s.shipEvents()
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
			s.shipEvents()
			return
		case <-t.C:
			s.shipEvents()
		}
	}
}

// shipEvents sends the events logged since the last call to worker 1, in
// messages of wire.MaxEvents at most.
func (s *Scheduler) shipEvents() {
	evs, dropped := s.eng.TakeEvents()
	for len(evs) > 0 || dropped > 0 {
		n := min(len(evs), wire.MaxEvents)
		msg := &wire.Events{Events: make([]wire.LogEvent, n), Dropped: dropped}
		for i, e := range evs[:n] {
			deps := make([]uint64, len(e.Deps))
			for j, d := range e.Deps {
				deps[j] = workerTaskID(d)
			}
			msg.Events[i] = wire.LogEvent{Kind: uint8(e.Kind), Task: workerTaskID(e.Task), Time: e.Time.UnixNano(), Name: e.Name,
				Deps: deps, Proc: e.Proc, Outcome: uint8(e.Outcome), Origin: workerTaskID(e.Origin), Occ: e.Occ}
		}
		if err := thisWorker.SendEvents(msg); err != nil {
			return // worker 1 is out of reach: the events are lost, as the worker may be
		}
		evs, dropped = evs[n:], 0
	}
}

// workerTaskID is the id in worker 1's log of task id of this worker: the
// id of a task that lives on worker 1 (or that another worker spawned
// there) is already in the space of one worker; a task of this worker
// only gets one.
func workerTaskID(id uint64) uint64 {
	if id == 0 || id>>48 != 0 {
		return id
	}
	return wire.TaskID(MyID(), id)
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
