// Package dagrotel exports a dagr scheduler's event log as OpenTelemetry
// spans: one span per task. It is a package of its own so that programs
// that do not use OpenTelemetry do not build it.
//
// # Spans after the fact
//
// The engine has no hook per task: [Export] reads a log that
// [dagr.Scheduler.FetchLogs] returned, once the run (or the part of it
// worth tracing) is over, and records its spans with the timestamps of the
// log's events. Turn the log on before the run, with
// [dagr.Scheduler.EnableLogging], and make it large enough to hold four
// events per task: a task whose spawn the log dropped has no span.
//
//	s.EnableLogging(0)
//	// ... run tasks on s ...
//	events, _ := s.FetchLogs()
//	ctx, run := tracer.Start(ctx, "run")
//	dagrotel.Export(ctx, tracer, events)
//	run.End()
//
// # What a span says
//
// A task's span is named by the task's name ([dagr.Task.Name]). It starts
// when the task started on a processor of the process that logged it and
// ends when the task ended, by that process's clock. A task that ended
// without running (its input failed, or it was cancelled first) has a
// span of no length at its end; a task that had not ended when the log was
// fetched has a span that ends at the log's last event, with the outcome
// "unfinished".
//
// Its attributes are [TaskID], [Worker], [Thread] (for a task that ran on
// the process that logged it), [Outcome], [Origin] (the task whose failure
// or cancellation ended it) and [Deps]. A failed or cancelled task's span
// has the status Error.
//
// A DAG is not a tree: a task's span has a link to the span of each task
// whose result it took, rather than a parent. The log does not say which
// task spawned which, so the spans of tasks spawned inside other tasks are
// not their children either. Every span is a child of the span that
// Export's context carries: start one for the run, as above, so that the
// tasks' spans make one trace; without one, each span starts a trace of
// its own.
package dagrotel
