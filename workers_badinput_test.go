package dagr_test

import (
	"bufio"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dagr/dagr"
	"github.com/dagr/dagr/internal/natstransport"
	"github.com/dagr/dagr/internal/wire"
)

// TestWorkersBadMessages: messages on the run's subjects that do not
// decode, are too large, hold nothing, come from a worker that the run did
// not start, or name a task in another worker's ids are dropped, each with
// a logged reason, and worker 1 goes on serving.
func TestWorkersBadMessages(t *testing.T) {
	ctx := withWorkers(t, 1)
	if got := fetch[float64](t, ctx, dagr.Spawn(ctx, double, dagr.Options{Single: 2}, 1.0)); got != 2 {
		t.Fatalf("double(1) = %v before", got)
	}
	r, w := io.Pipe()
	dagr.LogTo(ctx, w)
	defer dagr.LogTo(ctx, os.Stderr)

	encode := func(u wire.Up) []byte {
		b, err := wire.Encode(u)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	garbage := []byte{0xff, 0x00, 0x13, 0x37}
	for _, kind := range []string{"join", "ask", "up", "data"} {
		if err := dagr.Inject(ctx, kind, garbage); err != nil {
			t.Fatalf("publishing on %s: %v", kind, err)
		}
	}
	for _, u := range []wire.Up{
		{},
		{Spawn: &wire.Spawn{Task: wire.TaskID(99, 1), From: 99, Func: "dagr_test.double"}},
		{Spawn: &wire.Spawn{Task: wire.TaskID(3, 1), From: 2, Func: "dagr_test.double"}},
		{Release: &wire.Watch{Task: 5, From: 42}},
	} {
		if err := dagr.Inject(ctx, "up", encode(u)); err != nil {
			t.Fatal(err)
		}
	}
	if err := dagr.Inject(ctx, "up", make([]byte, natstransport.MaxPayload+1)); err == nil || !strings.Contains(err.Error(), "maximum payload") {
		t.Fatalf("a message over the server's limit: %v, want the limit", err)
	}

	// Each rejected message logs why.
	want := []string{"does not decode", "must say one thing", "worker 99, which is not one of this run's",
		"names task 844424930131969, which is not one of its own", "worker 42, which is not one of this run's"}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(20 * time.Second)
	var seen []string
	for missing := len(want); missing > 0; {
		select {
		case l := <-lines:
			seen = append(seen, l)
			for i, s := range want {
				if s != "" && strings.Contains(l, "dropped a message") && strings.Contains(l, s) {
					want[i] = ""
					missing--
				}
			}
		case <-timeout:
			t.Fatalf("after 20s, logged %q; still missing %q", seen, want)
		}
	}
	dagr.LogTo(ctx, os.Stderr)
	w.Close()

	if got := fetch[float64](t, ctx, dagr.Spawn(ctx, double, dagr.Options{Single: 2}, 21.0)); got != 42 {
		t.Fatalf("double(21) = %v after", got)
	}
	if n := dagr.RefsHere(ctx); n != 0 {
		t.Fatalf("worker 1 keeps %d tasks for the rejected spawns", n)
	}
}
