package dagr

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"io"
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
				t.start, t.proc, t.worker = e.Time, e.Proc, e.Worker
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
		end := t.finish
		if !t.ended {
			end = t1
		}
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
// start to its end, green when it succeeded, red when it failed, grey when
// cancelled; hovering over a bar shows the task's name, id and times.
func WriteTimeline(w io.Writer, evs []Event) error {
	tasks := tasksOf(evs)
	type row struct{ worker, proc int }
	var rows []row
	index := map[row]int{}
	for _, t := range tasks {
		if r := (row{t.worker, t.proc}); t.started && index[r] == 0 {
			rows = append(rows, r)
			index[r] = -1
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Or(cmp.Compare(a.worker, b.worker), cmp.Compare(a.proc, b.proc)) })
	for i, r := range rows {
		index[r] = i
	}
	const (
		left, top, rowH, width = 150.0, 30.0, 24.0, 1000.0
	)
	t0, t1 := firstTime(evs), lastTime(evs)
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Nanosecond
	}
	x := func(t time.Time) float64 { return left + width*float64(t.Sub(t0))/float64(span) }
	height := top + rowH*float64(len(rows)) + 30
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"Helvetica, sans-serif\" font-size=\"12\">\n", left+width+20, height)
	fmt.Fprintf(bw, "<text x=\"%.0f\" y=\"18\">dagr timeline: %d tasks, %v</text>\n", left, len(tasks), span)
	for i, r := range rows {
		y := top + rowH*float64(i)
		fmt.Fprintf(bw, "<text x=\"8\" y=\"%.1f\">worker %d, %s</text>\n", y+rowH*0.65, r.worker, procName(r.proc))
		fmt.Fprintf(bw, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y+rowH, left+width, y+rowH)
	}
	for _, t := range tasks {
		if !t.started {
			continue
		}
		end := t.finish
		if !t.ended {
			end = t1
		}
		color := "#4caf50"
		switch t.outcome {
		case OutcomeFailed:
			color = "#e53935"
		case OutcomeCanceled:
			color = "#9e9e9e"
		}
		y := top + rowH*float64(index[row{t.worker, t.proc}])
		x0 := x(t.start)
		fmt.Fprintf(bw, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\" stroke=\"#333\" stroke-width=\"0.3\"><title>%s (#%d) %v: %v to %v</title></rect>\n",
			x0, y+3, max(x(end)-x0, 0.5), rowH-6, color, html.EscapeString(t.name), t.id, t.outcome, t.start.Sub(t0), end.Sub(t0))
	}
	fmt.Fprintf(bw, "<text x=\"%.0f\" y=\"%.0f\">0</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%v</text>\n", left, height-10, left+width, height-10, span)
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}
