package dagr_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// TestShowProgress: off a terminal, ShowProgress writes plain lines, the
// last of which, once every task has ended, says that all of them are
// done; Progress counts the tasks spawned since the scheduler started.
func TestShowProgress(t *testing.T) {
	s, ctx := schedulerOf(t, 2)
	var out bytes.Buffer
	stop := s.ShowProgress(&out, time.Millisecond)
	const n = 2000
	tasks := make([]*dagr.Task, n)
	for i := range tasks {
		tasks[i] = dagr.Spawn(ctx, add, i, i)
	}
	for _, task := range tasks {
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s.Close() // every task released: the counts are final
	stop()
	stop() // a second stop does nothing
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "dagr: 2000 of 2000 tasks done, ") || !strings.Contains(last, " in ") {
		t.Fatalf("the last line is %q", last)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "dagr: ") || !strings.Contains(l, " tasks done, ") {
			t.Fatalf("a line that is not progress: %q", l)
		}
	}
	if done, spawned := s.Progress(); done != n || spawned != n {
		t.Fatalf("Progress() = %d done of %d, want %d of %d", done, spawned, n, n)
	}
}
