// Command dagr is dagr's command line.
//
// Usage:
//
//	dagr demo [-n 512] [-tile 64] [-procs 0] [-runs 3] [-workers 0] [-trace DIR] [-progress] [-dash ADDR [-hold]]
//	dagr help
//
// "dagr demo" runs the seed example of Dagger.jl as a dagr task graph and
// prints its result (16), then multiplies two n×n matrices tile by tile on
// every processor, checks the product against a serial multiply, and prints
// a checksum, both times and the speed-up. With -workers N it starts N
// worker processes of its own binary (dagr.AddProcs), deals the output
// tiles round-robin to worker 1 and them, and prints how many tile
// products ran on each worker. With -trace DIR it writes pictures of the
// last parallel multiply's event log into DIR: its DAG (dag.dot), a trace
// for ui.perfetto.dev (trace.json) and a timeline (timeline.svg). With
// -dash ADDR it serves a live dashboard of the run at ADDR (127.0.0.1:0
// for a free port) and prints its URL; with -hold too, it keeps serving
// after the demo, until interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/dagr/dagr"
)

const usage = `dagr runs task graphs in parallel, in the manner of Dagger.jl.

Usage:
  dagr <command> [flags]

Commands:
  demo    run the seed example (prints 16) and a tiled matrix
          multiplication, timed against a serial one
  help    print this help

Flags of demo:
  -n int       matrix size (default 512)
  -tile int    tile size; must divide n (default 64)
  -procs int   processors to run tasks on; 0 means GOMAXPROCS (default 0)
  -runs int    runs of each multiply; the best time counts (default 3)
  -workers int worker processes to start and deal output tiles to,
               besides this process (worker 1) (default 0)
  -trace dir   write pictures of the last parallel multiply into dir: its
               DAG (dag.dot), a trace for ui.perfetto.dev (trace.json)
               and a timeline of the processors (timeline.svg)
  -progress    show the tasks' progress on standard error
  -dash addr   serve a live dashboard of the run at addr (host:port;
               127.0.0.1:0 picks a free port) and print its URL
  -hold        with -dash: keep serving the dashboard after the demo,
               until interrupted
`

// errUsage is a command line that could not be understood; the usage has
// been printed.
var errUsage = errors.New("usage")

// errHelp is a request for help that has been answered.
var errHelp = errors.New("help")

func main() {
	dagr.Main()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// run carries out the command line args.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch cmd := args[0]; cmd {
	case "demo":
		cfg, err := parseDemo(args[1:], stderr)
		if err != nil {
			return err
		}
		_, err = demo(ctx, cfg, stdout)
		return err
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return errHelp
	default:
		fmt.Fprintf(stderr, "dagr: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}

// parseDemo reads the flags of "dagr demo" into a config.
func parseDemo(args []string, stderr io.Writer) (demoConfig, error) {
	cfg := defaultDemoConfig
	fs := flag.NewFlagSet("dagr demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.N, "n", cfg.N, "matrix size")
	fs.IntVar(&cfg.Tile, "tile", cfg.Tile, "tile size; must divide n")
	fs.IntVar(&cfg.Procs, "procs", cfg.Procs, "processors to run tasks on; 0 means GOMAXPROCS")
	fs.IntVar(&cfg.Runs, "runs", cfg.Runs, "runs of each multiply; the best time counts")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "worker processes to start and deal output tiles to, besides this process (worker 1)")
	progress := fs.Bool("progress", false, "show the progress of the tasks on standard error (a bar on a terminal)")
	fs.StringVar(&cfg.Trace, "trace", cfg.Trace, "a directory to write pictures of the last parallel multiply into: its DAG (DOT), a trace for ui.perfetto.dev, a timeline (SVG)")
	fs.StringVar(&cfg.Dash, "dash", cfg.Dash, "serve a live dashboard of the run at this address (host:port; 127.0.0.1:0 picks a free port)")
	fs.BoolVar(&cfg.Hold, "hold", cfg.Hold, "with -dash: keep serving the dashboard after the demo, until interrupted")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, errHelp
		}
		return cfg, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dagr demo: unexpected arguments %q\n", fs.Args())
		return cfg, errUsage
	}
	if *progress {
		cfg.Progress = stderr
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "dagr demo: %v\n", err)
		return cfg, errUsage
	}
	return cfg, nil
}

// exitCode maps run's error to the process's exit status: 0 for success
// and help, 2 for a bad command line, 130 for an interrupt, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "dagr: interrupted")
		return 130
	default:
		fmt.Fprintln(stderr, err)
		return 1
	}
}
