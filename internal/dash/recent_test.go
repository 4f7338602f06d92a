package dash_test

import (
	"slices"
	"testing"
	"time"

	"github.com/dagr/dagr/internal/dash"
)

func TestDashboardRecentTasks(t *testing.T) {
	ev := func(kind dash.EventKind, id uint64, ms int) dash.Event {
		return dash.Event{Kind: kind, Task: id, Time: at(ms), Worker: 1, Outcome: dash.OutcomeOK}
	}
	withDeps := func(e dash.Event, deps ...uint64) dash.Event { e.Deps = deps; return e }
	onProc := func(e dash.Event, proc, worker int) dash.Event { e.Proc, e.Worker = proc, worker; return e }
	endedAt := func(e dash.Event, ms int) dash.Event { e.Ended = at(ms); return e }
	for _, tc := range []struct {
		name   string
		log    []dash.Event
		n      int
		ids    []uint64          // the tasks shown, in order
		states map[uint64]string // of some of them
		deps   map[uint64][]uint64
		thread map[uint64]int
		worker map[uint64]int
		end    map[uint64]time.Time
	}{
		{
			name: "running first, then the latest events",
			log: []dash.Event{
				ev(dash.EventSpawn, 1, 0), ev(dash.EventStart, 1, 1), // running since long ago
				ev(dash.EventSpawn, 2, 2), ev(dash.EventStart, 2, 3), ev(dash.EventFinish, 2, 4),
				ev(dash.EventSpawn, 3, 5), ev(dash.EventStart, 3, 6), ev(dash.EventFinish, 3, 7),
				ev(dash.EventSpawn, 4, 8), // waiting, spawned last
			},
			n:      3,
			ids:    []uint64{1, 3, 4},
			states: map[uint64]string{1: dash.StateRunning, 3: dash.StateDone, 4: dash.StateWaiting},
		},
		{
			name: "deps cut to the tasks shown",
			log: []dash.Event{
				ev(dash.EventSpawn, 1, 0), ev(dash.EventFinish, 1, 1),
				ev(dash.EventSpawn, 2, 2), ev(dash.EventFinish, 2, 3),
				withDeps(ev(dash.EventSpawn, 3, 4), 1, 2, 2), ev(dash.EventReady, 3, 5),
			},
			n:    2,
			ids:  []uint64{2, 3},
			deps: map[uint64][]uint64{3: {2}},
		},
		{
			name: "a retry keeps its first start; a task is where another worker ran it",
			log: []dash.Event{
				ev(dash.EventSpawn, 1, 0), onProc(ev(dash.EventStart, 1, 1), 2, 1), onProc(ev(dash.EventStart, 1, 2), 0, 1),
				ev(dash.EventSpawn, 2, 3), onProc(ev(dash.EventStart, 2, 4), 0, 1), endedAt(onProc(ev(dash.EventStart, 2, 5), 1, 3), 9),
				ev(dash.EventFinish, 2, 10),
				ev(dash.EventSpawn, 3, 6), onProc(ev(dash.EventStart, 3, 7), 0, 1), onProc(ev(dash.EventStart, 3, 8), -1, 2),
			},
			n:      10,
			ids:    []uint64{1, 2, 3},
			thread: map[uint64]int{1: 3, 2: 2, 3: 0},
			worker: map[uint64]int{1: 1, 2: 3, 3: 2},
			end:    map[uint64]time.Time{2: at(9)}, // its end there, not when its result came
		},
		{
			name: "a log without a task's spawn",
			log:  []dash.Event{ev(dash.EventStart, 9, 0)},
			n:    10,
			ids:  []uint64{9},
		},
		{name: "an empty log", n: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shown, total := dash.RecentTasks(slices.Values(tc.log), tc.n)
			var ids []uint64
			for _, s := range shown {
				ids = append(ids, s.ID)
				if want, ok := tc.states[s.ID]; ok && s.State != want {
					t.Errorf("task %d is %s, want %s", s.ID, s.State, want)
				}
				if want, ok := tc.deps[s.ID]; ok && !slices.Equal(s.Deps, want) {
					t.Errorf("task %d has deps %v, want %v", s.ID, s.Deps, want)
				}
				if want, ok := tc.thread[s.ID]; ok && s.Thread != want {
					t.Errorf("task %d on thread %d, want %d", s.ID, s.Thread, want)
				}
				if want, ok := tc.worker[s.ID]; ok && s.Worker != want {
					t.Errorf("task %d on worker %d, want %d", s.ID, s.Worker, want)
				}
				if want, ok := tc.end[s.ID]; ok && s.End != float64(want.UnixMicro())/1e3 {
					t.Errorf("task %d ended at %v ms, want %v", s.ID, s.End, want)
				}
				if s.Name == "" {
					t.Errorf("task %d has no name", s.ID)
				}
			}
			if !slices.Equal(ids, tc.ids) {
				t.Errorf("shown %v, want %v", ids, tc.ids)
			}
			if total < len(shown) {
				t.Errorf("%d tasks in the log, %d shown", total, len(shown))
			}
		})
	}
}

func TestDashboardThroughput(t *testing.T) {
	s := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
	for _, tc := range []struct {
		name   string
		window time.Duration
		at     []time.Time
		done   []int64
		want   []float64 // rates
	}{
		{"one sample", time.Minute, []time.Time{s(0)}, []int64{5}, nil},
		{"steady", time.Minute, []time.Time{s(0), s(0.5), s(1)}, []int64{0, 50, 100}, []float64{100, 100}},
		{"a gap gives the mean across it", time.Minute, []time.Time{s(0), s(10)}, []int64{0, 100}, []float64{10}},
		{"the window forgets old samples", 2 * time.Second, []time.Time{s(0), s(1), s(2), s(3), s(4)}, []int64{0, 1, 3, 6, 10}, []float64{2, 3, 4}},
		{"same time twice", time.Minute, []time.Time{s(1), s(1)}, []int64{0, 7}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := dash.Rates(tc.window, tc.at, tc.done)
			var rates []float64
			for _, p := range got {
				rates = append(rates, p[1])
			}
			if !slices.Equal(rates, tc.want) {
				t.Errorf("rates %v, want %v", rates, tc.want)
			}
		})
	}
}
