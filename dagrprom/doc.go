// Package dagrprom exports the statistics of a dagr scheduler as
// Prometheus metrics. It is a package of its own so that programs that do
// not use Prometheus do not build its client.
//
// # Registering
//
// [NewCollector] returns a [prometheus.Collector] that reads
// [dagr.Scheduler.Stats] once per scrape; the engine keeps no hook of its
// own for it, and the tasks pay nothing for it but the timing below.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(dagrprom.NewCollector(s))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// To tell apart several schedulers of one process on one registry, give
// each collector labels of its own with [WithConstLabels]: two collectors
// with the same labels cannot both be registered.
//
// # Metrics
//
// Counters:
//
//   - dagr_tasks_spawned_total: tasks spawned on the scheduler.
//   - dagr_tasks_ended_total{outcome="ok|failed|canceled"}: tasks that
//     ended, by how. A task fails when its f fails or when a task upstream
//     does; a task downstream of a cancelled one counts as cancelled.
//   - dagr_bytes_moved_total: bytes of values that the run's processes
//     pulled from one another (worker 1's at once, the other workers' as
//     of their last heartbeats).
//
// Gauges:
//
//   - dagr_tasks{state="queued|running|waiting"}: tasks not ended, by
//     state: ready and waiting for a processor; running (blocked in Fetch,
//     Wait or Sync included, and those sent to other workers); waiting for
//     their inputs.
//   - dagr_workers: the live workers, this process included.
//   - dagr_processor_occupancy_ratio{thread="1"}: the share of each
//     processor of this process that its running tasks hold, from 0 to 1.
//   - dagr_worker_running_tasks{worker="2"}: the tasks each live worker
//     runs.
//
// Histogram:
//
//   - dagr_task_duration_seconds: how long tasks ran on this process's
//     processors (a task sent to another worker counts its time there and
//     the trip), in buckets from 1µs to about 68s, by powers of 4.
//
// # Timing
//
// The histogram comes from the scheduler's timing
// ([dagr.Scheduler.EnableTiming]), which costs two reads of the clock per
// task. NewCollector turns it on unless it is on already (so that a second
// collector does not start the histogram afresh), or unless it is given
// [WithoutTiming]; while timing is off, the histogram is not reported.
// Turning timing off and on again starts the histogram afresh, which
// Prometheus sees as a counter reset.
package dagrprom
