package dagr_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	dotparse "gonum.org/v1/gonum/graph/formats/dot"
	"gonum.org/v1/gonum/graph/formats/dot/ast"

	"github.com/dagr/dagr"
)

// diamondLog runs a diamond whose left side fails, with the log on, and
// returns its events and tasks: top, left, right, bottom.
func diamondLog(t *testing.T) ([]dagr.Event, [4]*dagr.Task) {
	t.Helper()
	_, ctx := schedulerOf(t, 2)
	dagr.EnableLogging(ctx, 0)
	top := dagr.Spawn(ctx, add, 1, 2)
	left := dagr.Spawn(ctx, failOn, top)
	right := dagr.Spawn(ctx, add, top, 10)
	bottom := dagr.Spawn(ctx, add, left, right)
	if _, err := bottom.Fetch(ctx); !errors.Is(err, errLogged) {
		t.Fatalf("the bottom of the diamond: %v", err)
	}
	if err := right.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := dagr.FetchLogs(ctx)
	return evs, [4]*dagr.Task{top, left, right, bottom}
}

// TestDOTOfDiamondWithFailure: the DOT of a diamond whose left side fails
// parses, has its four tasks in worker 1's cluster and its four edges, and
// marks the failed tasks, the origin apart.
func TestDOTOfDiamondWithFailure(t *testing.T) {
	evs, tasks := diamondLog(t)
	var buf bytes.Buffer
	if err := dagr.WriteDOT(&buf, evs); err != nil {
		t.Fatal(err)
	}
	f, err := dotparse.ParseBytes(buf.Bytes())
	if err != nil {
		t.Fatalf("the DOT does not parse: %v\n%s", err, buf.String())
	}
	if len(f.Graphs) != 1 || !f.Graphs[0].Directed {
		t.Fatalf("want one directed graph:\n%s", buf.String())
	}
	attrs := map[string]map[string]string{} // by node id
	cluster := map[string]string{}          // the subgraph of each node
	var edges []string
	var walk func(sub string, stmts []ast.Stmt)
	walk = func(sub string, stmts []ast.Stmt) {
		for _, s := range stmts {
			switch s := s.(type) {
			case *ast.NodeStmt:
				a := map[string]string{}
				for _, at := range s.Attrs {
					a[at.Key] = strings.Trim(at.Val, `"`)
				}
				attrs[s.Node.ID], cluster[s.Node.ID] = a, sub
			case *ast.EdgeStmt:
				edges = append(edges, fmt.Sprintf("%v->%v", s.From, s.To.Vertex))
			case *ast.Subgraph:
				walk(s.ID, s.Stmts)
			}
		}
	}
	walk("", f.Graphs[0].Stmts)
	id := func(task *dagr.Task) string { return fmt.Sprintf("t%d", task.ID()) }
	top, left, right, bottom := tasks[0], tasks[1], tasks[2], tasks[3]
	for _, task := range tasks {
		if cluster[id(task)] != "cluster_worker_1" {
			t.Errorf("task %s is in subgraph %q, want cluster_worker_1", task.Name(), cluster[id(task)])
		}
		if label := attrs[id(task)]["label"]; !strings.Contains(label, fmt.Sprint(task.ID())) {
			t.Errorf("task %s's label %q does not name its id", task.Name(), label)
		}
	}
	want := []string{id(top) + "->" + id(left), id(top) + "->" + id(right), id(left) + "->" + id(bottom), id(right) + "->" + id(bottom)}
	slices.Sort(want)
	slices.Sort(edges)
	if !slices.Equal(edges, want) {
		t.Errorf("edges %v, want %v", edges, want)
	}
	for task, want := range map[*dagr.Task][2]string{top: {"", ""}, right: {"", ""}, left: {"red", "2"}, bottom: {"red", ""}} {
		a := attrs[id(task)]
		if a["color"] != want[0] || a["peripheries"] != want[1] {
			t.Errorf("task %s: color %q, peripheries %q; want %q, %q", task.Name(), a["color"], a["peripheries"], want[0], want[1])
		}
	}
}

// TestTraceOfDiamond: the trace is valid JSON in Chrome's format, with one
// complete event per task that ran, with its id and outcome.
func TestTraceOfDiamond(t *testing.T) {
	evs, tasks := diamondLog(t)
	var buf bytes.Buffer
	if err := dagr.WriteTrace(&buf, evs); err != nil {
		t.Fatal(err)
	}
	var trace struct {
		TraceEvents []struct {
			Name string
			Ph   string
			Ts   float64
			Dur  float64
			Pid  int
			Tid  int
			Args map[string]any
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &trace); err != nil {
		t.Fatalf("the trace is not JSON: %v", err)
	}
	ran := map[uint64]string{}
	for _, e := range trace.TraceEvents {
		if e.Ph != "X" {
			continue
		}
		id := uint64(e.Args["task"].(float64))
		if _, twice := ran[id]; twice || e.Dur < 0 || e.Ts < 0 || e.Pid != 1 || e.Tid < 0 || e.Tid > 1 {
			t.Errorf("complete event %+v", e)
		}
		ran[id] = e.Args["outcome"].(string)
	}
	want := map[uint64]string{tasks[0].ID(): "ok", tasks[1].ID(): "failed", tasks[2].ID(): "ok"}
	if fmt.Sprint(ran) != fmt.Sprint(want) {
		t.Fatalf("complete events by task %v, want %v (the bottom never ran)", ran, want)
	}
}

// TestTimelineOfDiamond: the timeline is well-formed SVG with a bar per
// task that ran.
func TestTimelineOfDiamond(t *testing.T) {
	evs, diamond := diamondLog(t)
	var buf bytes.Buffer
	if err := dagr.WriteTimeline(&buf, evs); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&buf)
	rects, root := 0, ""
	outcomes := map[string]string{} // by task id
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the timeline is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "rect" && slices.Contains(se.Attr, xml.Attr{Name: xml.Name{Local: "class"}, Value: "task"}) {
				rects++
				attrs := map[string]string{}
				for _, a := range se.Attr {
					attrs[a.Name.Local] = a.Value
				}
				outcomes[attrs["data-task"]] = attrs["data-outcome"]
			}
		}
	}
	if root != "svg" || rects != 3 {
		t.Fatalf("root element %q with %d bars, want svg with 3", root, rects)
	}
	want := map[string]string{fmt.Sprint(diamond[0].ID()): "ok", fmt.Sprint(diamond[1].ID()): "failed", fmt.Sprint(diamond[2].ID()): "ok"}
	if fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Fatalf("bars by task: %v, want %v (the bottom never ran)", outcomes, want)
	}
}
