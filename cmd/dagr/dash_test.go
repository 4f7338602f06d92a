package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDemoDashboard runs "dagr demo -dash 127.0.0.1:0 -hold": it prints
// the dashboard's URL, serves the page there after the demo, and ends
// normally when interrupted, the dashboard stopped.
func TestDemoDashboard(t *testing.T) {
	ctx, interrupt := context.WithTimeout(t.Context(), 30*time.Second)
	defer interrupt()
	out, lines := io.Pipe()
	args := []string{"demo", "-n", "32", "-tile", "8", "-procs", "2", "-runs", "1", "-dash", "127.0.0.1:0", "-hold"}
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- exitCode(run(ctx, args, lines, &stderr), &stderr)
		lines.Close()
	}()

	var url string
	held := false
	scanner := bufio.NewScanner(out)
	for !held && scanner.Scan() {
		line := scanner.Text()
		if u, ok := strings.CutPrefix(line, "dashboard: http://"); ok {
			url = "http://" + u
		}
		held = strings.HasPrefix(line, "dashboard: served until interrupted")
	}
	go func() { _, _ = io.Copy(io.Discard, out) }() // the rest of the output, until the demo ends
	if url == "" || !held {
		t.Fatalf("dagr %s did not print the dashboard's URL and hold it (URL %q); stderr:\n%s", strings.Join(args, " "), url, stderr.String())
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s while held: %v", url, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="dag"`) {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, page)
	}

	interrupt()
	if c := <-code; c != 0 {
		t.Fatalf("dagr %s interrupted while held: exit code %d, want 0; stderr:\n%s", strings.Join(args, " "), c, stderr.String())
	}
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s after the demo ended: %s", url, resp.Status)
	}
}

func TestDemoDashboardBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"demo", "-hold"}, 2, "-hold keeps the dashboard served: it needs -dash"},
		{[]string{"demo", "-n", "8", "-tile", "8", "-runs", "1", "-dash", "nowhere"}, 1, `the dashboard's address "nowhere" is not host:port`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if c := exitCode(run(t.Context(), tc.args, &stdout, &stderr), &stderr); c != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit code %d, stderr:\n%s\nwant %d and %q", c, stderr.String(), tc.code, tc.want)
			}
		})
	}
}
