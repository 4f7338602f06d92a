package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagr/dagr"
)

func TestMain(m *testing.M) {
	dagr.Main()
	os.Exit(m.Run())
}

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	res, err := demo(t.Context(), demoConfig{N: 48, Tile: 16, Procs: 2, Runs: 1}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if res.Seed != 16 {
		t.Errorf("seed DAG gave %d, want 16", res.Seed)
	}
	if !strings.Contains(out.String(), "seed DAG result: 16\n") {
		t.Errorf("output lacks the line %q:\n%s", "seed DAG result: 16", out.String())
	}
	if res.Tasks != 27 {
		t.Errorf("tasks = %d, want 27", res.Tasks)
	}
}

func TestMultiplyParallelEqualsSerial(t *testing.T) {
	for _, tc := range []struct{ n, tile, procs int }{
		{1, 1, 1},
		{8, 8, 2},
		{64, 16, 1},
		{64, 16, 3},
		{96, 32, 2},
	} {
		a := randomMatrix(tc.n, tc.tile, 1)
		b := randomMatrix(tc.n, tc.tile, 2)
		ctx, err := newTestScheduler(t, tc.procs)
		if err != nil {
			t.Fatal(err)
		}
		par, ran, err := multiplyParallel(ctx, a, b, nil)
		if err != nil {
			t.Fatalf("n=%d tile=%d: %v", tc.n, tc.tile, err)
		}
		if nt := tc.n / tc.tile; len(ran) != 1 || ran[1] != nt*nt*nt {
			t.Errorf("n=%d tile=%d: tile products by worker %v, want all %d on worker 1", tc.n, tc.tile, ran, nt*nt*nt)
		}
		ser := multiplySerial(a, b)
		if r, c, ok := firstDifference(par, ser); !ok {
			t.Errorf("n=%d tile=%d: parallel and serial differ at (%d, %d): %v != %v",
				tc.n, tc.tile, r, c, par.at(r, c), ser.at(r, c))
		}
		// The tiling itself is right: compare with a plain triple loop.
		for r := range tc.n {
			for c := range tc.n {
				want := 0.0
				for k := range tc.n {
					want += a.at(r, k) * b.at(k, c)
				}
				if got := ser.at(r, c); math.Abs(got-want) > 1e-9 {
					t.Fatalf("n=%d tile=%d: element (%d, %d) is %v, want %v", tc.n, tc.tile, r, c, got, want)
				}
			}
		}
	}
}

func TestRunCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{nil, 2, "", "Usage:"},
		{[]string{"help"}, 0, "Usage:", ""},
		{[]string{"-h"}, 0, "Usage:", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"demo", "-n", "10", "-tile", "3"}, 2, "", "must divide"},
		{[]string{"demo", "-bogus"}, 2, "", "flag provided but not defined"},
		{[]string{"demo", "extra"}, 2, "", "unexpected arguments"},
		{[]string{"demo", "-workers", "-1"}, 2, "", "-workers is -1"},
		{[]string{"demo", "-n", "32", "-tile", "8", "-runs", "1"}, 0, "seed DAG result: 16", ""},
	} {
		name := strings.Join(tc.args, " ")
		if name == "" {
			name = "no arguments"
		}
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := exitCode(run(t.Context(), tc.args, &stdout, &stderr), &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.inStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.inStdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.inStderr, stderr.String())
			}
		})
	}
}

// TestDemoWorkers runs "dagr demo -workers 2": the test binary is started
// twice more as workers (TestMain calls dagr.Main first), and the output
// tiles are dealt to workers 1, 2 and 3.
func TestDemoWorkers(t *testing.T) {
	args := []string{"demo", "-n", "48", "-tile", "16", "-procs", "2", "-runs", "1", "-workers", "2"}
	var stdout, stderr bytes.Buffer
	if code := exitCode(run(t.Context(), args, &stdout, &stderr), &stderr); code != 0 {
		t.Fatalf("dagr %s: exit code %d; stderr:\n%s\nstdout:\n%s", strings.Join(args, " "), code, stderr.String(), stdout.String())
	}
	out := stdout.String()
	t.Logf("dagr %s:\n%s", strings.Join(args, " "), out)
	// 3×3 output tiles, dealt round-robin to 3 workers: 3 chains of 3
	// tile products each.
	for _, want := range []string{
		"seed DAG result: 16\n",
		"and 2 worker processes\n",
		"workers    [1 2 3]:",
		"ran on     worker 1: 9, worker 2: 9, worker 3: 9 tile products",
		"check      the parallel product equals the serial one\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestDemoInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out bytes.Buffer
	_, err := demo(ctx, demoConfig{N: 16, Tile: 8, Runs: 1}, &out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("demo with a cancelled context: err = %v, want context.Canceled", err)
	}
	if code := exitCode(err, &out); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
}

// newTestScheduler returns a context carrying a scheduler with procs
// processors, closed when the test ends.
func newTestScheduler(t *testing.T, procs int) (context.Context, error) {
	s, err := dagr.New(dagr.Config{Procs: procs})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { s.Close() })
	return dagr.WithScheduler(t.Context(), s), nil
}

// TestDemoTrace: demo -trace writes the pictures of the last run: a trace
// with one complete event per task of the multiply, a DOT and an SVG.
func TestDemoTrace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "trace")
	var out bytes.Buffer
	res, err := demo(t.Context(), demoConfig{N: 48, Tile: 16, Procs: 2, Runs: 2, Trace: dir}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	var trace struct{ TraceEvents []struct{ Ph string } }
	if err := json.Unmarshal(data, &trace); err != nil {
		t.Fatalf("trace.json: %v", err)
	}
	complete := 0
	for _, e := range trace.TraceEvents {
		if e.Ph == "X" {
			complete++
		}
	}
	if complete != res.Tasks {
		t.Errorf("trace.json has %d complete events, want one per task of the last multiply, %d", complete, res.Tasks)
	}
	for _, name := range []string{"dag.dot", "timeline.svg"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !strings.Contains(out.String(), "trace.json") {
		t.Errorf("the demo does not say where the trace is:\n%s", out.String())
	}
}
