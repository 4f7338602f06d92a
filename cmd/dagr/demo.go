package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/dagr/dagr"
)

// demoConfig is what "dagr demo" runs.
type demoConfig struct {
	N       int    // matrix size
	Tile    int    // tile size; divides N
	Procs   int    // processors of the scheduler; 0 means GOMAXPROCS
	Runs    int    // runs of each multiply; the best time counts
	Workers int    // worker processes to start and deal output tiles to; 0 for none
	Trace   string // a directory to write pictures of the last parallel multiply's event log into; "" for none
	Dash    string // an address to serve a live dashboard at while the demo runs; "" for none
	Hold    bool   // keep serving the dashboard after the demo, until interrupted
	// Progress, when not nil, gets the progress of the parallel
	// multiplies (see Scheduler.ShowProgress).
	Progress io.Writer
}

var defaultDemoConfig = demoConfig{N: 512, Tile: 64, Runs: 3}

func (c demoConfig) validate() error {
	switch {
	case c.N < 1:
		return fmt.Errorf("-n is %d; it must be at least 1", c.N)
	case c.Tile < 1 || c.Tile > c.N || c.N%c.Tile != 0:
		return fmt.Errorf("-tile is %d; it must divide -n (%d)", c.Tile, c.N)
	case c.Procs < 0:
		return fmt.Errorf("-procs is %d; it must be 0 (GOMAXPROCS) or more", c.Procs)
	case c.Runs < 1:
		return fmt.Errorf("-runs is %d; it must be at least 1", c.Runs)
	case c.Workers < 0:
		return fmt.Errorf("-workers is %d; it must be 0 (none) or more", c.Workers)
	case c.Hold && c.Dash == "":
		return fmt.Errorf("-hold keeps the dashboard served: it needs -dash")
	}
	return nil
}

// demoResult is what "dagr demo" found.
type demoResult struct {
	Seed     int           // the seed DAG's result: 16
	Procs    int           // processors the tasks ran on
	Tasks    int           // tasks of one parallel multiply
	Checksum float64       // sum of the product's elements
	Serial   time.Duration // best serial multiply
	Parallel time.Duration // best parallel multiply
	// Workers are the workers the output tiles were dealt to, 1 (this
	// process) first; nil when the demo started no worker processes.
	Workers []int
	// Ran counts the tile products of the last parallel multiply by the
	// worker that ran them, as the tasks reported it.
	Ran map[int]int
}

// SpeedUp is the serial time over the parallel time.
func (r demoResult) SpeedUp() float64 { return r.Serial.Seconds() / r.Parallel.Seconds() }

// demo runs the seed DAG and the tiled multiplication on a scheduler of its
// own, and reports both to w. With cfg.Workers > 0 it starts that many
// worker processes and deals the output tiles round-robin to worker 1 and
// them. It fails when the parallel product differs from the serial one.
func demo(ctx context.Context, cfg demoConfig, w io.Writer) (demoResult, error) {
	if err := cfg.validate(); err != nil {
		return demoResult{}, err
	}
	s, err := dagr.New(dagr.Config{Procs: cfg.Procs})
	if err != nil {
		return demoResult{}, err
	}
	defer s.Close()
	ctx = dagr.WithScheduler(ctx, s)
	stopDashboard, err := startDashboard(s, cfg, w)
	if err != nil {
		return demoResult{}, err
	}
	defer stopDashboard()

	res := demoResult{Procs: cfg.Procs}
	if res.Procs == 0 {
		res.Procs = runtime.GOMAXPROCS(0)
	}

	fmt.Fprintln(w, "seed DAG: p = add1(4); q = add2(p); r = add1(3); s = combine(p, q, r)")
	if res.Seed, err = seedDAG(ctx); err != nil {
		return res, err
	}
	fmt.Fprintf(w, "seed DAG result: %d\n", res.Seed)

	if cfg.Workers > 0 {
		if _, err := s.AddProcs(ctx, cfg.Workers); err != nil {
			return res, fmt.Errorf("dagr demo: starting %d workers: %w", cfg.Workers, err)
		}
		res.Workers = s.Workers(ctx)
	}

	nt := cfg.N / cfg.Tile
	res.Tasks = nt * nt * nt
	fmt.Fprintf(w, "\ntiled matmul: %dx%d float64, %dx%d tiles, %d tasks, %d processors (%d CPUs)",
		cfg.N, cfg.N, cfg.Tile, cfg.Tile, res.Tasks, res.Procs, runtime.NumCPU())
	if res.Workers != nil {
		fmt.Fprintf(w, " and %d worker processes\n", len(res.Workers)-1)
		fmt.Fprintf(w, "  workers    %v: output tiles dealt round-robin with Options.Single; 1 is this process\n", res.Workers)
	} else {
		fmt.Fprintln(w)
	}
	a := randomMatrix(cfg.N, cfg.Tile, 1)
	b := randomMatrix(cfg.N, cfg.Tile, 2)
	var serial, parallel *matrix
	if cfg.Trace != "" {
		s.EnableLogging(0)
	}
	if cfg.Progress != nil {
		stop := s.ShowProgress(cfg.Progress, 100*time.Millisecond)
		defer stop()
	}
	for range cfg.Runs {
		s.ClearLogs() // the log keeps the last run
		start := time.Now()
		serial = multiplySerial(a, b)
		res.Serial = best(res.Serial, time.Since(start))

		start = time.Now()
		if parallel, res.Ran, err = multiplyParallel(ctx, a, b, res.Workers); err != nil {
			return res, err
		}
		res.Parallel = best(res.Parallel, time.Since(start))
	}
	if r, c, ok := firstDifference(parallel, serial); !ok {
		return res, fmt.Errorf("dagr demo: the parallel product differs from the serial one at (%d, %d): %v != %v",
			r, c, parallel.at(r, c), serial.at(r, c))
	}
	res.Checksum = parallel.sum()
	fmt.Fprintf(w, "  checksum   %.9f\n", res.Checksum)
	fmt.Fprintf(w, "  serial     %v (best of %d)\n", res.Serial.Round(10*time.Microsecond), cfg.Runs)
	fmt.Fprintf(w, "  parallel   %v (best of %d)\n", res.Parallel.Round(10*time.Microsecond), cfg.Runs)
	if res.Workers == nil {
		fmt.Fprintf(w, "  speed-up   %.2fx on %d processors\n", res.SpeedUp(), res.Procs)
	} else {
		fmt.Fprintf(w, "  speed-up   %.2fx on %d processors and %d worker processes\n", res.SpeedUp(), res.Procs, len(res.Workers)-1)
		fmt.Fprintf(w, "  ran on     %s tile products (each task's dagr.MyID, last run)\n", countsByWorker(res.Workers, res.Ran))
	}
	fmt.Fprintln(w, "  check      the parallel product equals the serial one")
	if cfg.Trace != "" {
		if err := writeTrace(s, cfg.Trace, w); err != nil {
			return res, err
		}
	}
	return res, holdDashboard(ctx, cfg, w)
}

// countsByWorker lists ran as "worker 1: 3, worker 2: 3", by worker id: every
// worker of workers, with 0 if it ran nothing, and any other that ran.
func countsByWorker(workers []int, ran map[int]int) string {
	ids := slices.Clone(workers)
	for id := range ran {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("worker %d: %d", id, ran[id])
	}
	return strings.Join(parts, ", ")
}

func best(sofar, d time.Duration) time.Duration {
	if sofar == 0 || d < sofar {
		return d
	}
	return sofar
}

// The seed example of Dagger.jl: p = add1(4) = 5, q = add2(p) = 7,
// r = add1(3) = 4, s = combine(p, q, r) = 16.

func add1(v int) int { return v + 1 }

func add2(v int) int { return v + 2 }

func combine(a ...int) int {
	sum := 0
	for _, v := range a {
		sum += v
	}
	return sum
}

func seedDAG(ctx context.Context) (int, error) {
	p := dagr.Spawn(ctx, add1, 4)
	q := dagr.Spawn(ctx, add2, p)
	r := dagr.Spawn(ctx, add1, 3)
	s := dagr.Spawn(ctx, combine, p, q, r)
	return dagr.Fetch[int](ctx, s)
}
