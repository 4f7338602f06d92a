package dagr

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Pictures of a run, made from its event log (FetchLogs): the DAG in
// Graphviz's DOT, a trace for Perfetto and Chrome, and a timeline of the
// processors in SVG.

// taskLog is what a log says of one task.
type taskLog struct {
	id             uint64
	name           string
	deps           []uint64
	worker, proc   int
	spawned        bool
	start, finish  time.Time
	started, ended bool
	outcome        Outcome
	origin         uint64
	remoteEnd      time.Time // when it ended on the worker that ran it, if another
}

// end is when t stopped running, or last if it had not when the log was
// fetched: on another worker, its end there, not when its result came.
func (t *taskLog) end(last time.Time) time.Time {
	switch {
	case !t.remoteEnd.IsZero():
		return t.remoteEnd
	case t.ended:
		return t.finish
	}
	return last
}

// tasksOf gathers the events of evs by task, in the order of their first
// event.
func tasksOf(evs []Event) []*taskLog {
	byID := map[uint64]*taskLog{}
	var order []*taskLog
	for _, e := range evs {
		t := byID[e.Task]
		if t == nil {
			t = &taskLog{id: e.Task, name: fmt.Sprintf("task %d", e.Task), worker: e.Worker}
			byID[e.Task] = t
			order = append(order, t)
		}
		switch e.Kind {
		case EventSpawn:
			t.spawned, t.name, t.deps = true, e.Name, e.Deps
		case EventStart:
			switch {
			case !t.started:
				t.started, t.start, t.proc, t.worker = true, e.Time, e.Proc, e.Worker
			case e.Worker != t.worker: // it ran on another worker: that is where it was
				t.start, t.proc, t.worker, t.remoteEnd = e.Time, e.Proc, e.Worker, e.Ended
			}
			// A retry starts again on the same worker: the run spans them all.
		case EventFinish:
			t.ended, t.finish, t.outcome, t.origin = true, e.Time, e.Outcome, e.Origin
		}
	}
	return order
}

// WriteDOT writes the DAG that evs record as Graphviz DOT: a node per
// task, labelled with its name and id, and an edge from each task whose
// result it took. Tasks that failed are red, the origins of failures have
// a double border, cancelled tasks are grey and dashed, tasks that had not
// ended when the log was fetched are dotted; the tasks that ran on one
// worker are in a cluster of their own. `dot -Tsvg` renders it.
func WriteDOT(w io.Writer, evs []Event) error {
	bw := bufio.NewWriter(w)
	tasks := tasksOf(evs)
	fmt.Fprintln(bw, "digraph dagr {")
	fmt.Fprintln(bw, "\trankdir=TB;")
	fmt.Fprintln(bw, "\tnode [shape=box, style=rounded, fontname=\"Helvetica\"];")
	byWorker := map[int][]*taskLog{}
	for _, t := range tasks {
		byWorker[t.worker] = append(byWorker[t.worker], t)
	}
	workers := make([]int, 0, len(byWorker))
	for w := range byWorker {
		workers = append(workers, w)
	}
	slices.Sort(workers)
	for _, wk := range workers {
		fmt.Fprintf(bw, "\tsubgraph cluster_worker_%d {\n\t\tlabel=\"worker %d\";\n", wk, wk)
		for _, t := range byWorker[wk] {
			fmt.Fprintf(bw, "\t\tt%d [label=%s%s];\n", t.id, strconv.Quote(fmt.Sprintf("%s\n#%d", t.name, t.id)), dotStyle(t))
		}
		fmt.Fprintln(bw, "\t}")
	}
	for _, t := range tasks {
		for _, d := range t.deps {
			fmt.Fprintf(bw, "\tt%d -> t%d;\n", d, t.id)
		}
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

func dotStyle(t *taskLog) string {
	switch {
	case !t.ended:
		return ", style=\"rounded,dotted\""
	case t.outcome == OutcomeFailed && t.origin == t.id:
		return ", color=red, fontcolor=red, peripheries=2, penwidth=2"
	case t.outcome == OutcomeFailed:
		return ", color=red, fontcolor=red"
	case t.outcome == OutcomeCanceled:
		return ", color=gray50, fontcolor=gray50, style=\"rounded,dashed\""
	}
	return ""
}

// traceEvent is an event of Chrome's Trace Event Format.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`            // µs
	Dur  float64        `json:"dur,omitempty"` // µs
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// WriteTrace writes evs as a trace in Chrome's Trace Event Format, which
// ui.perfetto.dev and chrome://tracing open: one complete event per task
// that started, from its start to its end, on a track per processor
// (thread) of each worker (process).
func WriteTrace(w io.Writer, evs []Event) error {
	tasks := tasksOf(evs)
	t0, t1 := firstTime(evs), lastTime(evs)
	out := struct {
		TraceEvents     []traceEvent `json:"traceEvents"`
		DisplayTimeUnit string       `json:"displayTimeUnit"`
	}{TraceEvents: []traceEvent{}, DisplayTimeUnit: "ns"}
	named := map[[2]int]bool{}
	for _, t := range tasks {
		if !t.started {
			continue
		}
		end := t.end(t1)
		if k := [2]int{t.worker, t.proc}; !named[k] {
			named[k] = true
			out.TraceEvents = append(out.TraceEvents,
				traceEvent{Name: "process_name", Ph: "M", Pid: t.worker, Args: map[string]any{"name": fmt.Sprintf("worker %d", t.worker)}},
				traceEvent{Name: "thread_name", Ph: "M", Pid: t.worker, Tid: t.proc, Args: map[string]any{"name": procName(t.proc)}})
		}
		args := map[string]any{"task": t.id, "outcome": t.outcome.String()}
		if t.outcome == OutcomeFailed || t.outcome == OutcomeCanceled {
			args["origin"] = t.origin
		}
		out.TraceEvents = append(out.TraceEvents, traceEvent{Name: t.name, Cat: "task", Ph: "X",
			Ts: micros(t.start.Sub(t0)), Dur: micros(end.Sub(t.start)), Pid: t.worker, Tid: t.proc, Args: args})
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}

// procName names processor index p of a worker: -1 for the tasks of
// another worker, whose processors its log does not tell.
func procName(p int) string {
	if p < 0 {
		return "its tasks"
	}
	return fmt.Sprintf("processor %d", p+1)
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func firstTime(evs []Event) time.Time {
	if len(evs) == 0 {
		return time.Time{}
	}
	return slices.MinFunc(evs, func(a, b Event) int { return a.Time.Compare(b.Time) }).Time
}

func lastTime(evs []Event) time.Time {
	if len(evs) == 0 {
		return time.Time{}
	}
	return slices.MaxFunc(evs, func(a, b Event) int { return a.Time.Compare(b.Time) }).Time
}

// WriteTimeline writes a timeline of evs as a self-contained SVG picture:
// a row per processor of each worker, and on it a bar per task from its
// start to its end, coloured by its function (a legend names them), red
// when it failed, grey when cancelled. Tasks that overlap on a processor
// (each holding part of it, or blocked in a wait) are drawn in lanes of
// the row. Each row says how busy its processor was; hovering over a bar
// shows the task's name, id and times.
func WriteTimeline(w io.Writer, evs []Event) error {
	tasks := tasksOf(evs)
	t0, t1 := firstTime(evs), lastTime(evs)
	span := max(t1.Sub(t0), time.Nanosecond)
	endOf := func(t *taskLog) time.Time { return t.end(t1) }

	// Rows, and lanes in them: a task goes in the first lane of its row
	// that is free when it starts.
	type rowKey struct{ worker, proc int }
	type row struct {
		rowKey
		lanes []time.Time // when each lane is free
		busy  time.Duration
		until time.Time // the end of the busy time counted so far
		y     float64
	}
	rows := map[rowKey]*row{}
	var ran []*taskLog
	for _, t := range tasks {
		if t.started {
			ran = append(ran, t)
		}
	}
	slices.SortStableFunc(ran, func(a, b *taskLog) int { return a.start.Compare(b.start) })
	lane := map[*taskLog]int{}
	for _, t := range ran {
		k := rowKey{t.worker, t.proc}
		r := rows[k]
		if r == nil {
			r = &row{rowKey: k}
			rows[k] = r
		}
		l := slices.IndexFunc(r.lanes, func(free time.Time) bool { return !free.After(t.start) })
		if l < 0 {
			l = len(r.lanes)
			r.lanes = append(r.lanes, time.Time{})
		}
		end := endOf(t)
		r.lanes[l], lane[t] = end, l
		// The busy time is the union of the tasks' times.
		if from := maxTime(t.start, r.until); end.After(from) {
			r.busy += end.Sub(from)
		}
		r.until = maxTime(r.until, end)
	}
	order := slices.SortedFunc(maps.Values(rows), func(a, b *row) int {
		return cmp.Or(cmp.Compare(a.worker, b.worker), cmp.Compare(a.proc, b.proc))
	})

	// Colours: one per function, in the order of their first tasks.
	palette := []string{"#4e79a7", "#59a14f", "#f28e2b", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"}
	colour := map[string]string{}
	var names []string
	for _, t := range ran {
		if _, ok := colour[t.name]; !ok && len(names) < len(palette) {
			colour[t.name] = palette[len(names)]
			names = append(names, t.name)
		}
	}

	const (
		left, right, top, laneH, width = 170.0, 90.0, 40.0, 16.0, 1000.0
	)
	y := top
	for _, r := range order {
		r.y = y
		y += laneH*float64(len(r.lanes)) + 8
	}
	axisY := y + 4
	legendY := axisY + 34
	height := legendY + 20*float64((len(names)+2+3)/4) + 10
	x := func(t time.Time) float64 { return left + width*float64(t.Sub(t0))/float64(span) }

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n", left+width+right, height)
	fmt.Fprintf(bw, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n")
	fmt.Fprintf(bw, "<text x=\"%.0f\" y=\"22\" font-size=\"14\" font-weight=\"bold\">dagr timeline: %d tasks in %v on %d processors</text>\n", left, len(ran), roundDuration(span), len(order))
	// The time axis: a grid line and a label every step.
	step := niceStep(span, 8)
	for d := time.Duration(0); d <= span; d += step {
		gx := x(t0.Add(d))
		fmt.Fprintf(bw, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#e5e5e5\"/>\n", gx, top-4, gx, axisY)
		fmt.Fprintf(bw, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\">%v</text>\n", gx, axisY+16, d)
	}
	for _, r := range order {
		h := laneH * float64(len(r.lanes))
		fmt.Fprintf(bw, "<text x=\"8\" y=\"%.1f\">worker %d, %s</text>\n", r.y+min(h, laneH)*0.75, r.worker, procName(r.proc))
		fmt.Fprintf(bw, "<text x=\"%.0f\" y=\"%.1f\" fill=\"#555\">%.0f%% busy</text>\n", left+width+8, r.y+min(h, laneH)*0.75, 100*float64(r.busy)/float64(span))
		fmt.Fprintf(bw, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n", left, r.y+h+4, left+width, r.y+h+4)
	}
	for _, t := range ran {
		fill := colour[t.name]
		switch {
		case t.outcome == OutcomeFailed:
			fill = "#d62728"
		case t.outcome == OutcomeCanceled:
			fill = "#9e9e9e"
		case fill == "":
			fill = "#bab0ac" // a function past the palette's
		}
		r := rows[rowKey{t.worker, t.proc}]
		end := endOf(t)
		x0 := x(t.start)
		outcome := "running"
		if t.ended {
			outcome = t.outcome.String()
		}
		fmt.Fprintf(bw, "<rect class=\"task\" data-task=\"%d\" data-outcome=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.4\"><title>%s (#%d) %s: %v to %v</title></rect>\n",
			t.id, outcome, x0, r.y+laneH*float64(lane[t])+1, max(x(end)-x0, 0.5), laneH-2, fill, html.EscapeString(t.name), t.id, outcome, t.start.Sub(t0), end.Sub(t0))
	}
	// The legend: the functions' colours, then failed and cancelled.
	type entry struct{ name, fill string }
	var legend []entry
	for _, n := range names {
		legend = append(legend, entry{n, colour[n]})
	}
	legend = append(legend, entry{"failed", "#d62728"}, entry{"cancelled", "#9e9e9e"})
	for i, e := range legend {
		lx, ly := left+250*float64(i%4), legendY+20*float64(i/4)
		fmt.Fprintf(bw, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\">%s</text>\n", lx, ly-10, e.fill, lx+18, ly, html.EscapeString(shortName(e.name, 36)))
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// niceStep is a step of 1, 2 or 5 times a power of ten that cuts span in
// at most n parts.
func niceStep(span time.Duration, n int) time.Duration {
	for step := time.Duration(1); ; step *= 10 {
		for _, m := range []time.Duration{1, 2, 5} {
			if span/(step*m) < time.Duration(n) {
				return step * m
			}
		}
	}
}

// roundDuration rounds d to three significant digits or so.
func roundDuration(d time.Duration) time.Duration {
	for unit := time.Duration(1); unit < time.Hour; unit *= 10 {
		if d < 1000*unit {
			return d.Round(unit)
		}
	}
	return d.Round(time.Second)
}

// shortName shortens a function's name to n characters, keeping its end.
func shortName(name string, n int) string {
	if len(name) <= n {
		return name
	}
	return "…" + name[len(name)-n+1:]
}
