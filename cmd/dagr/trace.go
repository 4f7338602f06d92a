package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/dagr/dagr"
)

// writeTrace writes the pictures of s's event log into dir: the DAG
// (dag.dot, and dag.svg where Graphviz's dot is installed), a trace for
// ui.perfetto.dev (trace.json) and a timeline (timeline.svg). It says
// what it wrote to w.
func writeTrace(s *dagr.Scheduler, dir string, w io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dagr demo: -trace: %w", err)
	}
	evs, dropped := s.FetchLogs()
	for _, p := range []struct {
		name  string
		write func(io.Writer, []dagr.Event) error
	}{{"dag.dot", dagr.WriteDOT}, {"trace.json", dagr.WriteTrace}, {"timeline.svg", dagr.WriteTimeline}} {
		path := filepath.Join(dir, p.name)
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("dagr demo: -trace: %w", err)
		}
		err = p.write(f, evs)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("dagr demo: -trace: writing %s: %w", path, err)
		}
	}
	wrote := "dag.dot, trace.json (open in ui.perfetto.dev), timeline.svg"
	if dot, err := exec.LookPath("dot"); err == nil {
		out := filepath.Join(dir, "dag.svg")
		if err := exec.Command(dot, "-Tsvg", "-o", out, filepath.Join(dir, "dag.dot")).Run(); err == nil {
			wrote += ", dag.svg"
		}
	}
	fmt.Fprintf(w, "  trace      %s in %s: %d events of the last run", wrote, dir, len(evs))
	if dropped > 0 {
		fmt.Fprintf(w, " (%d older ones dropped)", dropped)
	}
	fmt.Fprintln(w)
	return nil
}
