package dash

import "time"

// The page gets two kinds of updates, as server-sent events of these
// names, each with a JSON object as its data.
const (
	statsEvent = "stats" // a StatsUpdate, every period
	tasksEvent = "tasks" // a TasksUpdate, every Config.LogEvery periods
)

// StatsUpdate is the data of a "stats" event: the scheduler's counters,
// processors and workers, and the throughput over the last window.
type StatsUpdate struct {
	Time     float64 `json:"time"`      // when it was sampled, in ms since the Unix epoch
	PeriodMS float64 `json:"period_ms"` // between samples

	Spawned  int64 `json:"spawned"`
	Waiting  int64 `json:"waiting"` // spawned, neither ended, queued nor running
	Queued   int64 `json:"queued"`
	Running  int64 `json:"running"`
	Done     int64 `json:"done"` // ended, whichever way
	Failed   int64 `json:"failed"`
	Canceled int64 `json:"canceled"`

	BytesMoved int64    `json:"bytes_moved"`
	Procs      []Proc   `json:"procs"`
	Workers    []Worker `json:"workers"`

	// Throughput is [time in ms, tasks done per second since the sample
	// before] for each sample of the window, oldest first.
	Throughput [][2]float64 `json:"throughput"`
}

func newStatsUpdate(at time.Time, period time.Duration, st Stats, rates [][2]float64) StatsUpdate {
	u := StatsUpdate{
		Time: unixMillis(at), PeriodMS: float64(period) / float64(time.Millisecond),
		Spawned: st.Spawned, Queued: st.Queued, Running: st.Running,
		Done: st.Done, Failed: st.Failed, Canceled: st.Canceled,
		BytesMoved: st.BytesMoved, Procs: st.Procs, Workers: st.Workers, Throughput: rates,
	}
	// The counters are read one after another while tasks move, so that
	// the difference may be off by a few; never below 0.
	u.Waiting = max(st.Spawned-st.Done-st.Queued-st.Running, 0)
	if u.Procs == nil {
		u.Procs = []Proc{}
	}
	if u.Workers == nil {
		u.Workers = []Worker{}
	}
	return u
}

// TasksUpdate is the data of a "tasks" event: the recent tasks of the
// event log.
type TasksUpdate struct {
	Time  float64    `json:"time"`   // when the log was read, in ms since the Unix epoch
	LogOn bool       `json:"log_on"` // false: the scheduler's event log is off, and Tasks empty
	Total int        `json:"total"`  // the tasks that the log has
	Tasks []TaskNode `json:"tasks"`  // at most Config.Tasks of them, by id
}

func newTasksUpdate(at time.Time, src Source, n int) TasksUpdate {
	u := TasksUpdate{Time: unixMillis(at), Tasks: []TaskNode{}}
	if log := src.Log(); log != nil {
		u.LogOn = true
		u.Tasks, u.Total = recentTasks(log, n)
	}
	return u
}
