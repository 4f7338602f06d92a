package dagrprom

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dagr/dagr"
)

// Collector is a prometheus.Collector of a scheduler's statistics (see the
// package documentation for its metrics). Make one with NewCollector. It is
// safe for concurrent scrapes.
type Collector struct {
	s *dagr.Scheduler

	spawned, ended, bytesMoved *prometheus.Desc // counters
	tasks, workers             *prometheus.Desc // gauges
	occupancy, workerRunning   *prometheus.Desc // gauges, by processor and by worker
	duration                   *prometheus.Desc // histogram
	descs                      []*prometheus.Desc
	endedOKMu                  sync.Mutex
	endedOK                    int64 // the largest count of tasks ended well reported so far (see okCount)
}

// An Option configures a Collector.
type Option func(*config)

type config struct {
	constLabels prometheus.Labels
	noTiming    bool
}

// WithConstLabels gives every metric of the collector these labels, of
// fixed values: to tell apart several schedulers on one registry, say
// scheduler="etl". The names outcome, state, thread and worker are taken.
func WithConstLabels(labels prometheus.Labels) Option {
	return func(c *config) { c.constLabels = labels }
}

// WithoutTiming leaves the scheduler's timing as it is: on or off, as the
// program set it. While it is off, dagr_task_duration_seconds is not
// reported.
func WithoutTiming() Option {
	return func(c *config) { c.noTiming = true }
}

// NewCollector returns a collector of s's statistics, which it reads with
// s.Stats on each scrape. Unless given WithoutTiming, it turns on s's
// timing (see dagr.Scheduler.EnableTiming: two reads of the clock per
// task), if it is not on already, for the histogram of run times.
func NewCollector(s *dagr.Scheduler, opts ...Option) *Collector {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.noTiming && s.Stats().Timing == nil {
		s.EnableTiming()
	}
	c := &Collector{s: s}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		d := prometheus.NewDesc(prometheus.BuildFQName("dagr", "", name), help, labels, cfg.constLabels)
		c.descs = append(c.descs, d)
		return d
	}
	c.spawned = desc("tasks_spawned_total", "Tasks spawned on the scheduler.")
	c.ended = desc("tasks_ended_total", "Tasks that ended, by outcome: ok, failed (their own f or a task upstream failed) or canceled.", "outcome")
	c.bytesMoved = desc("bytes_moved_total", "Bytes of values that the run's processes pulled from one another (other workers' as of their last heartbeats).")
	c.tasks = desc("tasks", "Tasks not ended, by state: queued (ready, waiting for a processor), running (blocked ones and those sent to other workers included), waiting (for their inputs).", "state")
	c.workers = desc("workers", "Live workers, this process included.")
	c.occupancy = desc("processor_occupancy_ratio", "Share of a processor of this process that its running tasks hold, from 0 to 1.", "thread")
	c.workerRunning = desc("worker_running_tasks", "Tasks that a live worker runs.", "worker")
	c.duration = desc("task_duration_seconds", "Run times of tasks on this process's processors (for a task sent to another worker, its time there and the trip), while timing is on.")
	return c
}

// Describe sends the descriptions of every metric the collector may
// report.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect reads the scheduler's statistics once and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- constMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- constMetric(d, prometheus.GaugeValue, v, labels...)
	}

	counter(c.spawned, st.Spawned)
	counter(c.ended, c.okCount(st), dagr.OutcomeOK.String())
	counter(c.ended, st.Failed, dagr.OutcomeFailed.String())
	counter(c.ended, st.Canceled, dagr.OutcomeCanceled.String())
	counter(c.bytesMoved, st.BytesMoved)

	waiting := max(st.Spawned-st.Done-st.Queued-st.Running, 0)
	gauge(c.tasks, float64(st.Queued), "queued")
	gauge(c.tasks, float64(st.Running), "running")
	gauge(c.tasks, float64(waiting), "waiting")
	gauge(c.workers, float64(len(st.Workers)))
	for _, p := range st.Procs {
		gauge(c.occupancy, p.Occupancy, strconv.Itoa(p.Thread))
	}
	for _, w := range st.Workers {
		gauge(c.workerRunning, float64(w.Running), strconv.Itoa(w.ID))
	}

	if t := st.Timing; t != nil {
		// Prometheus's buckets are cumulative, Timing's are not; its
		// last one, past every bound, is the +Inf bucket, which is
		// Count.
		buckets := make(map[float64]uint64, len(t.Bounds))
		var below uint64
		for i, b := range t.Bounds {
			below += t.Counts[i]
			buckets[b.Seconds()] = below
		}
		m, err := prometheus.NewConstHistogram(c.duration, t.Count, t.Sum.Seconds(), buckets)
		if err != nil {
			m = prometheus.NewInvalidMetric(c.duration, err)
		}
		ch <- m
	}
}

// okCount returns the number of tasks that ended well, Done less Failed
// and Canceled, and never less than a count it returned before. Stats
// reads Done first, and a failure is counted as the task ends, before it
// is done, so the difference can dip for a moment; a counter must not.
// It is never more than the true count at the time Done was read, so
// keeping the largest loses nothing.
func (c *Collector) okCount(st dagr.Stats) int64 {
	ok := max(st.Done-st.Failed-st.Canceled, 0)
	c.endedOKMu.Lock()
	defer c.endedOKMu.Unlock()
	c.endedOK = max(c.endedOK, ok)
	return c.endedOK
}

// constMetric is prometheus.MustNewConstMetric, but for an invalid
// description (bad const labels, which registration reports first) it
// gives an invalid metric, which the registry reports, instead of a panic.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
