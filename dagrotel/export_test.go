package dagrotel_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/dagr/dagr"
	"github.com/dagr/dagr/dagrotel"
)

// TestMain checks that no goroutine outlives the tests: every scheduler
// the tests make is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newScheduler returns a scheduler of procs processors with its event
// log on, closed when the test ends, and a context that carries it.
func newScheduler(t *testing.T, procs int) (*dagr.Scheduler, context.Context) {
	t.Helper()
	s, err := dagr.New(dagr.Config{Procs: procs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.EnableLogging(0)
	return s, dagr.WithScheduler(context.Background(), s)
}

// recorder returns a tracer whose ended spans the recorder keeps.
func recorder(t *testing.T) (trace.Tracer, *tracetest.SpanRecorder) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("dagrotel_test"), sr
}

func add(a, b int) int { return a + b }

var errBroken = errors.New("broken")

func broken(int) (int, error) { return 0, errBroken }

// attrs returns a span's attributes by key.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// byTask returns a log's events of each kind, by task.
func byTask(evs []dagr.Event) map[uint64]map[dagr.EventKind]dagr.Event {
	m := map[uint64]map[dagr.EventKind]dagr.Event{}
	for _, e := range evs {
		if m[e.Task] == nil {
			m[e.Task] = map[dagr.EventKind]dagr.Event{}
		}
		m[e.Task][e.Kind] = e
	}
	return m
}

// TestExportDiamondWithFailure: a diamond whose left side fails gives a
// span per task, named by the task, over its run, linked to the spans of
// its inputs, with an error status on the failed ones and the failure's
// origin on the one downstream.
func TestExportDiamondWithFailure(t *testing.T) {
	s, ctx := newScheduler(t, 2)
	top := s.Spawn(ctx, add, dagr.Options{Name: "top"}, 1, 2)
	left := s.Spawn(ctx, broken, dagr.Options{Name: "left"}, top)
	right := s.Spawn(ctx, add, dagr.Options{Name: "right"}, top, 10)
	bottom := s.Spawn(ctx, add, dagr.Options{Name: "bottom"}, left, right)
	if err := bottom.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := right.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.FetchLogs()

	tracer, sr := recorder(t)
	if n := dagrotel.Export(context.Background(), tracer, evs); n != 4 {
		t.Fatalf("Export recorded %d spans, want 4", n)
	}
	spans := sr.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans ended, want 4", len(spans))
	}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, sp := range spans {
		byName[sp.Name()] = sp
	}
	logged := byTask(evs)
	for _, c := range []struct {
		task    *dagr.Task
		deps    []*dagr.Task
		ran     bool
		outcome string
		origin  *dagr.Task
	}{
		{top, nil, true, "ok", nil},
		{left, []*dagr.Task{top}, true, "failed", left},
		{right, []*dagr.Task{top}, true, "ok", nil},
		{bottom, []*dagr.Task{left, right}, false, "failed", left}, // never ran: its input failed
	} {
		t.Run(c.task.Name(), func(t *testing.T) {
			sp := byName[c.task.Name()]
			if sp == nil {
				t.Fatal("no span")
			}
			a := attrs(sp)
			if got := a[dagrotel.TaskID].AsInt64(); got != int64(c.task.ID()) {
				t.Errorf("task id %d, want %d", got, c.task.ID())
			}
			if got := a[dagrotel.Outcome].AsString(); got != c.outcome {
				t.Errorf("outcome %q, want %q", got, c.outcome)
			}
			if v, ok := a[dagrotel.Origin]; ok != (c.origin != nil) || c.origin != nil && v.AsInt64() != int64(c.origin.ID()) {
				t.Errorf("origin %v (set: %v), want task %v", v.AsInt64(), ok, c.origin)
			}
			wantStatus := codes.Unset
			if c.outcome != "ok" {
				wantStatus = codes.Error
			}
			if sp.Status().Code != wantStatus {
				t.Errorf("status %v, want %v", sp.Status(), wantStatus)
			}

			var linked, deps []trace.SpanID
			for _, l := range sp.Links() {
				linked = append(linked, l.SpanContext.SpanID())
			}
			var depIDs []int64
			for _, d := range c.deps {
				deps = append(deps, byName[d.Name()].SpanContext().SpanID())
				depIDs = append(depIDs, int64(d.ID()))
			}
			if !slices.Equal(linked, deps) {
				t.Errorf("links to %v, want the spans of its inputs %v", linked, deps)
			}
			if got := a[dagrotel.Deps].AsInt64Slice(); !slices.Equal(got, depIDs) {
				t.Errorf("deps %v, want %v", got, depIDs)
			}
			if sp.Parent().IsValid() {
				t.Errorf("a parent without one in Export's context: %v", sp.Parent())
			}

			evs := logged[c.task.ID()]
			if !sp.EndTime().Equal(evs[dagr.EventFinish].Time) {
				t.Errorf("ends at %v, its finish is at %v", sp.EndTime(), evs[dagr.EventFinish].Time)
			}
			if !c.ran {
				if !sp.StartTime().Equal(sp.EndTime()) {
					t.Errorf("a task that never ran lasts %v", sp.EndTime().Sub(sp.StartTime()))
				}
				if _, ok := a[dagrotel.Worker]; ok {
					t.Errorf("a task that never ran has a worker")
				}
				return
			}
			start := evs[dagr.EventStart]
			if !sp.StartTime().Equal(start.Time) {
				t.Errorf("starts at %v, its start is at %v", sp.StartTime(), start.Time)
			}
			if w, th := a[dagrotel.Worker].AsInt64(), a[dagrotel.Thread].AsInt64(); w != 1 || th != int64(start.Proc+1) {
				t.Errorf("ran on worker %d, thread %d; want worker 1, thread %d", w, th, start.Proc+1)
			}
		})
	}
}

// TestExportParent: the spans are children of the span of Export's
// context, in its trace.
func TestExportParent(t *testing.T) {
	s, ctx := newScheduler(t, 1)
	a := s.Spawn(ctx, add, 1, 2)
	if err := s.Spawn(ctx, add, a, 3).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.FetchLogs()
	tracer, sr := recorder(t)
	runCtx, run := tracer.Start(context.Background(), "run")
	if n := dagrotel.Export(runCtx, tracer, evs); n != 2 {
		t.Fatalf("Export recorded %d spans, want 2", n)
	}
	run.End()
	parent := run.SpanContext()
	for _, sp := range sr.Ended() {
		if sp.Name() == "run" {
			continue
		}
		if sp.Parent().SpanID() != parent.SpanID() || sp.SpanContext().TraceID() != parent.TraceID() {
			t.Errorf("span %s: parent %v in trace %v, want the run's, %v in %v", sp.Name(), sp.Parent().SpanID(), sp.SpanContext().TraceID(), parent.SpanID(), parent.TraceID())
		}
	}
}

// TestExportUnfinished: a log fetched while tasks run gives their spans
// the outcome "unfinished" and ends them at its last event.
func TestExportUnfinished(t *testing.T) {
	s, ctx := newScheduler(t, 1)
	started := make(chan struct{})
	running := s.Spawn(ctx, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	}, dagr.Options{Name: "running"})
	waiting := s.Spawn(ctx, add, dagr.Options{Name: "waiting"}, running, 1)
	<-started
	evs, _ := s.FetchLogs()
	running.Cancel()
	_ = waiting.Wait(ctx)

	tracer, sr := recorder(t)
	if n := dagrotel.Export(context.Background(), tracer, evs); n != 2 {
		t.Fatalf("Export recorded %d spans, want 2", n)
	}
	last := evs[len(evs)-1].Time
	start := byTask(evs)[running.ID()][dagr.EventStart].Time
	for _, sp := range sr.Ended() {
		a := attrs(sp)
		if got := a[dagrotel.Outcome].AsString(); got != dagrotel.Unfinished {
			t.Errorf("span %s: outcome %q", sp.Name(), got)
		}
		if sp.Status().Code != codes.Unset {
			t.Errorf("span %s: status %v", sp.Name(), sp.Status())
		}
		if !sp.EndTime().Equal(last) {
			t.Errorf("span %s ends at %v, the log's last event is at %v", sp.Name(), sp.EndTime(), last)
		}
		want := last // it never started
		if sp.Name() == "running" {
			want = start
		}
		if !sp.StartTime().Equal(want) {
			t.Errorf("span %s starts at %v, want %v", sp.Name(), sp.StartTime(), want)
		}
	}
}

// TestExportLogs: logs made by hand, for what a run on one process does
// not show.
func TestExportLogs(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, tc := range []struct {
		name   string
		events []dagr.Event
		want   map[string]map[attribute.Key]attribute.Value // by span name
		links  map[string]int
	}{
		{
			name: "on another worker",
			events: []dagr.Event{
				{Kind: dagr.EventSpawn, Task: 1, Time: at(0), Name: "remote", Worker: 1},
				{Kind: dagr.EventReady, Task: 1, Time: at(1), Worker: 1},
				{Kind: dagr.EventStart, Task: 1, Time: at(2), Proc: 0, Worker: 1},
				{Kind: dagr.EventStart, Task: 1, Time: at(3), Proc: 1, Worker: 2, Ended: at(8)},
				{Kind: dagr.EventFinish, Task: 1, Time: at(9), Worker: 1, Outcome: dagr.OutcomeOK},
			},
			want: map[string]map[attribute.Key]attribute.Value{
				"remote": {dagrotel.TaskID: attribute.Int64Value(1), dagrotel.Worker: attribute.IntValue(2), dagrotel.Thread: attribute.IntValue(2),
					dagrotel.Outcome: attribute.StringValue("ok")},
			},
		},
		{
			name: "on another worker, its processor unknown",
			events: []dagr.Event{
				{Kind: dagr.EventSpawn, Task: 1, Time: at(0), Name: "remote", Worker: 1},
				{Kind: dagr.EventStart, Task: 1, Time: at(2), Proc: 0, Worker: 1},
				{Kind: dagr.EventStart, Task: 1, Time: at(3), Proc: -1, Worker: 2},
				{Kind: dagr.EventFinish, Task: 1, Time: at(9), Worker: 1, Outcome: dagr.OutcomeOK},
			},
			want: map[string]map[attribute.Key]attribute.Value{
				"remote": {dagrotel.TaskID: attribute.Int64Value(1), dagrotel.Worker: attribute.IntValue(2), dagrotel.Outcome: attribute.StringValue("ok")},
			},
		},
		{
			name: "spawn dropped",
			events: []dagr.Event{
				{Kind: dagr.EventStart, Task: 1, Time: at(2), Proc: 0, Worker: 1},
				{Kind: dagr.EventFinish, Task: 1, Time: at(3), Worker: 1, Outcome: dagr.OutcomeOK},
				{Kind: dagr.EventSpawn, Task: 2, Time: at(4), Name: "after", Deps: []uint64{1}, Worker: 1},
				{Kind: dagr.EventFinish, Task: 2, Time: at(5), Worker: 1, Outcome: dagr.OutcomeCanceled, Origin: 2},
			},
			want: map[string]map[attribute.Key]attribute.Value{
				"after": {dagrotel.TaskID: attribute.Int64Value(2), dagrotel.Outcome: attribute.StringValue("canceled"),
					dagrotel.Origin: attribute.Int64Value(2), dagrotel.Deps: attribute.Int64SliceValue([]int64{1})},
			},
			links: map[string]int{"after": 0},
		},
		{
			name: "no name",
			events: []dagr.Event{
				{Kind: dagr.EventSpawn, Task: 7, Time: at(0), Worker: 1},
			},
			want: map[string]map[attribute.Key]attribute.Value{
				"task 7": {dagrotel.TaskID: attribute.Int64Value(7), dagrotel.Outcome: attribute.StringValue(dagrotel.Unfinished)},
			},
		},
		{name: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tracer, sr := recorder(t)
			if n := dagrotel.Export(context.Background(), tracer, tc.events); n != len(tc.want) {
				t.Fatalf("Export recorded %d spans, want %d", n, len(tc.want))
			}
			for _, sp := range sr.Ended() {
				want, ok := tc.want[sp.Name()]
				if !ok {
					t.Errorf("a span %q", sp.Name())
					continue
				}
				got := attrs(sp)
				for k, v := range want {
					if got[k] != v {
						t.Errorf("span %s: %s = %v, want %v", sp.Name(), k, got[k].String(), v.String())
					}
				}
				for k := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("span %s: %s = %v, want none", sp.Name(), k, got[k].String())
					}
				}
				if n, ok := tc.links[sp.Name()]; ok && len(sp.Links()) != n {
					t.Errorf("span %s: %d links, want %d", sp.Name(), len(sp.Links()), n)
				}
			}
		})
	}
}
