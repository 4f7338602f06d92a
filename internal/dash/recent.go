package dash

import (
	"cmp"
	"fmt"
	"iter"
	"slices"
	"time"
)

// The states of a task on the page.
const (
	StateWaiting  = "waiting" // spawned; its inputs or a processor are not ready yet
	StateRunning  = "running"
	StateDone     = "done"
	StateFailed   = "failed"
	StateCanceled = "canceled"
)

// TaskNode is a task of the DAG and the timeline that the page draws.
// Times are in milliseconds since the Unix epoch, 0 when the log does not
// have them.
type TaskNode struct {
	ID    uint64   `json:"id"`
	Name  string   `json:"name"`
	Deps  []uint64 `json:"deps,omitempty"` // those among the tasks sent
	State string   `json:"state"`
	// Where it ran: the worker, and its processor there, from 1 (as
	// Proc.Thread); Thread is 0 for a task that has not started, or whose
	// processor the log does not say.
	Worker int     `json:"worker"`
	Thread int     `json:"thread,omitempty"`
	Spawn  float64 `json:"spawn,omitempty"`
	Start  float64 `json:"start,omitempty"`
	End    float64 `json:"end,omitempty"`
	// Origin is the task where a failure or a cancellation began: the task
	// itself when its own f failed.
	Origin uint64 `json:"origin,omitempty"`
}

// taskLog is what the log says of one task.
type taskLog struct {
	node           TaskNode
	deps           []uint64
	started, ended bool
	remoteEnd      time.Time // when it ended on the other worker that ran it
	last           time.Time // its latest event
}

// recentTasks returns the tasks of log that the page shows, at most n of
// them, ordered by id, and how many tasks the log has. Running tasks come
// first, then the tasks whose latest event (their end, their start, the
// moment they became ready, their spawn) is the most recent: what a
// watcher of a run wants to see is what moves. A task's deps are cut to
// the tasks shown.
func recentTasks(log iter.Seq[Event], n int) (shown []TaskNode, total int) {
	byID := map[uint64]*taskLog{}
	for e := range log {
		t := byID[e.Task]
		if t == nil {
			t = &taskLog{node: TaskNode{ID: e.Task, Name: fmt.Sprintf("task %d", e.Task), Worker: e.Worker}}
			byID[e.Task] = t
		}
		t.last = later(t.last, e.Time)
		switch e.Kind {
		case EventSpawn:
			t.deps, t.node.Spawn = e.Deps, unixMillis(e.Time)
			if e.Name != "" {
				t.node.Name = e.Name
			}
		case EventStart:
			switch {
			case !t.started:
				t.started, t.node.Start, t.node.Worker, t.node.Thread = true, unixMillis(e.Time), e.Worker, max(e.Proc+1, 0)
			case e.Worker != t.node.Worker: // it ran on another worker: that is where it was
				t.node.Start, t.node.Worker, t.node.Thread, t.remoteEnd = unixMillis(e.Time), e.Worker, max(e.Proc+1, 0), e.Ended
			}
			// A retry starts again on the same worker: the run spans them all.
		case EventFinish:
			t.ended, t.node.End, t.node.Origin = true, unixMillis(e.Time), e.Origin
			t.node.State = outcomeState(e.Outcome)
		}
	}
	all := make([]*taskLog, 0, len(byID))
	for _, t := range byID {
		if !t.remoteEnd.IsZero() {
			// On another worker, it ran until its end there, not until its
			// result came.
			t.node.End = unixMillis(t.remoteEnd)
		}
		switch {
		case t.ended:
		case t.started:
			t.node.State = StateRunning
		default:
			t.node.State = StateWaiting
		}
		all = append(all, t)
	}
	slices.SortFunc(all, func(a, b *taskLog) int {
		return cmp.Or(
			-cmp.Compare(boolRank(a.node.State == StateRunning), boolRank(b.node.State == StateRunning)),
			b.last.Compare(a.last),
			cmp.Compare(b.node.ID, a.node.ID))
	})
	all = all[:min(n, len(all))]
	slices.SortFunc(all, func(a, b *taskLog) int { return cmp.Compare(a.node.ID, b.node.ID) })
	shownIDs := make(map[uint64]bool, len(all))
	for _, t := range all {
		shownIDs[t.node.ID] = true
	}
	shown = make([]TaskNode, len(all))
	for i, t := range all {
		for _, d := range t.deps {
			if shownIDs[d] && !slices.Contains(t.node.Deps, d) {
				t.node.Deps = append(t.node.Deps, d)
			}
		}
		shown[i] = t.node
	}
	return shown, len(byID)
}

func outcomeState(o Outcome) string {
	switch o {
	case OutcomeFailed:
		return StateFailed
	case OutcomeCanceled:
		return StateCanceled
	}
	return StateDone
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// unixMillis is t in milliseconds since the Unix epoch, as JavaScript
// counts time; 0 for the zero time.
func unixMillis(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMicro()) / 1e3
}
