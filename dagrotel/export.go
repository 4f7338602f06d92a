package dagrotel

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/dagr/dagr"
)

// The attributes of a task's span.
const (
	TaskID  = attribute.Key("dagr.task.id")      // int: dagr.Task.ID
	Worker  = attribute.Key("dagr.task.worker")  // int: the worker where it ran, if it started
	Thread  = attribute.Key("dagr.task.thread")  // int: its processor on that worker, from 1 (ThreadProc.Thread), if known
	Outcome = attribute.Key("dagr.task.outcome") // string: "ok", "failed", "canceled" or "unfinished"
	Origin  = attribute.Key("dagr.task.origin")  // int: the task where its failure or cancellation began (itself, if its own)
	Deps    = attribute.Key("dagr.task.deps")    // []int: the tasks whose results it took
)

// Unfinished is the Outcome of a task that had not ended when its log was
// fetched.
const Unfinished = "unfinished"

// life is what a log says of one task.
type life struct {
	spawn  dagr.Event
	start  *dagr.Event // its first start on the process that logged it
	worker int         // where it ran, if it started: this process, or the worker of its start elsewhere
	thread int         // its processor there, from 1, or 0 if unknown
	finish *dagr.Event
}

// Export records a span with tracer for each task spawned in events (a
// log from dagr.Scheduler.FetchLogs, oldest event first), as children of
// ctx's span, and returns how many it recorded. See the package
// documentation for what each span says.
func Export(ctx context.Context, tracer trace.Tracer, events []dagr.Event) int {
	tasks := make(map[uint64]*life)
	var spawned []*life // in the order of their spawns, so that a task comes after those it takes results from
	var last time.Time
	for _, e := range events {
		if e.Time.After(last) {
			last = e.Time
		}
		if e.Kind == dagr.EventSpawn {
			l := &life{spawn: e}
			tasks[e.Task] = l
			spawned = append(spawned, l)
		}
	}
	for _, e := range events {
		l := tasks[e.Task]
		if l == nil {
			continue // its spawn was dropped from the log
		}
		switch e.Kind {
		case dagr.EventStart:
			switch {
			case l.start == nil:
				l.start, l.worker, l.thread = &e, e.Worker, e.Proc+1
			case e.Worker != l.start.Worker: // it ran on another worker
				l.worker, l.thread = e.Worker, e.Proc+1
			}
		case dagr.EventFinish:
			l.finish = &e
		}
	}

	spans := make(map[uint64]trace.SpanContext, len(spawned))
	for _, l := range spawned {
		attrs := []attribute.KeyValue{TaskID.Int64(int64(l.spawn.Task))}
		if l.worker != 0 {
			attrs = append(attrs, Worker.Int(l.worker))
		}
		if l.thread > 0 {
			attrs = append(attrs, Thread.Int(l.thread))
		}
		var links []trace.Link
		if len(l.spawn.Deps) > 0 {
			deps := make([]int64, len(l.spawn.Deps))
			for i, d := range l.spawn.Deps {
				deps[i] = int64(d)
				if sc, ok := spans[d]; ok {
					links = append(links, trace.Link{SpanContext: sc})
				}
			}
			attrs = append(attrs, Deps.Int64Slice(deps))
		}

		end := last
		outcome := Unfinished
		if l.finish != nil {
			end = l.finish.Time
			outcome = l.finish.Outcome.String()
			if l.finish.Outcome != dagr.OutcomeOK {
				attrs = append(attrs, Origin.Int64(int64(l.finish.Origin)))
			}
		}
		attrs = append(attrs, Outcome.String(outcome))
		start := end
		if l.start != nil && l.start.Time.Before(end) {
			start = l.start.Time
		}

		name := l.spawn.Name
		if name == "" {
			name = fmt.Sprintf("task %d", l.spawn.Task)
		}
		_, span := tracer.Start(ctx, name, trace.WithTimestamp(start), trace.WithLinks(links...), trace.WithAttributes(attrs...))
		spans[l.spawn.Task] = span.SpanContext()
		if l.finish != nil && l.finish.Outcome != dagr.OutcomeOK {
			span.SetStatus(codes.Error, fmt.Sprintf("%s (origin: task %d)", outcome, l.finish.Origin))
		}
		span.End(trace.WithTimestamp(end))
	}
	return len(spawned)
}
