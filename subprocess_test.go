package dagr_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
)

// childEnv, set to a test's full name, tells the test binary that it is the
// child process isolated started for that test: it runs the test's body.
const childEnv = "DAGR_TEST_CHILD"

// isolated runs body in a child process (this test binary, started again
// with -test.run selecting exactly t's name), so that a crash, a stack
// overflow or a deadlock of the engine fails this one test instead of the
// whole binary. The child gets timeout (as -test.timeout, so that a hang
// dumps its goroutines); the parent kills it a little later if need be.
// The test that calls isolated must do nothing else outside body: in the
// child, the enclosing tests run again up to it.
func isolated(t *testing.T, timeout time.Duration, body func(t *testing.T)) {
	t.Helper()
	isolatedVia(t, timeout, nil, body)
}

// isolatedVia is isolated, with the child started through the command
// via (as "ip netns exec NAME"), if not nil.
func isolatedVia(t *testing.T, timeout time.Duration, via []string, body func(t *testing.T)) {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		body(t)
		return
	}
	if os.Getenv(childEnv) != "" {
		t.Skipf("in the child process of %s", os.Getenv(childEnv))
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	args := append(slices.Clone(via), os.Args[0],
		"-test.run="+strings.Join(parts, "/"),
		"-test.count=1",
		"-test.v",
		"-test.timeout="+timeout.String(),
	)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// The race detector sleeps a second before the process exits, unless
	// told otherwise.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name(), "GORACE="+gorace)
	cmd.WaitDelay = 2 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	text := out.String()
	switch {
	case ctx.Err() != nil:
		t.Fatalf("child process killed after %v (hung past -test.timeout=%v):\n%s", elapsed.Round(time.Millisecond), timeout, outputExcerpt(text))
	case err != nil:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("child process: %v", err)
		}
		t.Fatalf("child process failed after %v (%v):\n%s", elapsed.Round(time.Millisecond), err, outputExcerpt(text))
	case !strings.Contains(text, "--- PASS: "+t.Name()+" "):
		t.Fatalf("child process ran no test named %s:\n%s", t.Name(), outputExcerpt(text))
	}
}

// outputExcerpt keeps the start of a child's output (the failure message or
// the panic, and the first goroutine's stack) and its end.
func outputExcerpt(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	const head, tail = 60, 15
	if len(lines) <= head+tail {
		return strings.Join(lines, "\n")
	}
	return strings.Join(lines[:head], "\n") + "\n\t...\n" + strings.Join(lines[len(lines)-tail:], "\n")
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
