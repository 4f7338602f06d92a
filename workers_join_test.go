package dagr_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dagr/dagr"
	"github.com/dagr/dagr/internal/natstransport"
)

// joined is a worker process that joined a run by URL.
type joined struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{} // closed once it exited
	err    error         // how it exited, once done is closed
}

// joinWorker starts the test binary as a worker with JoinEnv set to
// joinURL; it is killed when the test ends, if it has not exited.
func joinWorker(t *testing.T, joinURL string) *joined {
	t.Helper()
	return joinWorkerVia(t, nil, joinURL)
}

// joinWorkerVia is joinWorker, with the worker started through the
// command via (as "ip netns exec NAME"), if not nil.
func joinWorkerVia(t *testing.T, via []string, joinURL string) *joined {
	t.Helper()
	args := append(slices.Clone(via), os.Args[0], "-test.run=^$")
	cmd := exec.Command(args[0], args[1:]...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DAGR_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, dagr.JoinEnv+"="+joinURL)
	j := &joined{cmd: cmd, stderr: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stderr = j.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		j.err = cmd.Wait()
		close(j.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-j.done
	})
	return j
}

// exit waits for the worker to exit, and returns its exit code.
func (j *joined) exit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-j.done:
	case <-time.After(within):
		t.Fatalf("the worker (pid %d) did not exit within %v; its standard error: %s", j.cmd.Process.Pid, within, j.stderr)
	}
	var ee *exec.ExitError
	if errors.As(j.err, &ee) {
		return ee.ExitCode()
	}
	if j.err != nil {
		t.Fatal(j.err)
	}
	return 0
}

// joinable returns a scheduler of cfg, closed when the test ends, a
// context that carries it, and its join URL.
func joinable(t *testing.T, cfg dagr.Config) (*dagr.Scheduler, context.Context, string) {
	t.Helper()
	s, err := dagr.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	join, err := s.JoinURL()
	if err != nil {
		t.Fatal(err)
	}
	return s, dagr.WithScheduler(context.Background(), s), join
}

// awaitWorkers waits, a minute at most, until n workers joined s.
func awaitWorkers(t *testing.T, s *dagr.Scheduler, n int) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	live, err := s.WaitWorkers(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return live
}

// TestWorkersJoinByURL: processes of the program started with the join
// URL join the run over TLS (the run's own certificate, pinned), run its
// tasks, move large values, and exit when the scheduler closes.
func TestWorkersJoinByURL(t *testing.T) {
	s, ctx, join := joinable(t, dagr.Config{Listen: "127.0.0.1:0"})
	u, err := url.Parse(join)
	if err != nil || u.Scheme != "tls" || len(u.Query().Get("pin")) != 64 {
		t.Fatalf("the join URL of a run that listens beyond loopback: %s (%v), want tls:// with a pin", u.Redacted(), err)
	}
	workers := []*joined{joinWorker(t, join), joinWorker(t, join)}
	if live := awaitWorkers(t, s, 2); !slices.Equal(live, []int{1, 2, 3}) {
		t.Fatalf("live workers %v, want [1 2 3]", live)
	}
	for _, id := range []int{2, 3} {
		if p := fetch[Place](t, ctx, dagr.Spawn(ctx, whereAmI, dagr.Options{Single: id})); p.Worker != id {
			t.Fatalf("a task pinned to worker %d ran on %d", id, p.Worker)
		}
	}
	// A large value goes from worker 2 to worker 3, and to worker 1.
	big := dagr.Spawn(ctx, seqLogged, dagr.Options{Single: 2}, filepath.Join(t.TempDir(), "log"), keptLen, 3.0)
	seq, _ := seqLogged(filepath.Join(t.TempDir(), "here"), keptLen, 3.0)
	if got := fetch[float64](t, ctx, dagr.Spawn(ctx, totalOf, dagr.Options{Single: 3}, big)); got != totalOf(seq) {
		t.Fatalf("the sum on worker 3 of a value made on worker 2: %v, want %v", got, totalOf(seq))
	}
	if v := fetch[[]float64](t, ctx, big); !slices.Equal(v, seq) {
		t.Fatal("a value made on worker 2, fetched on worker 1, differs")
	}
	s.Close()
	for _, w := range workers {
		if code := w.exit(t, 30*time.Second); code != 0 {
			t.Fatalf("a worker exited with %d after the scheduler closed; its standard error: %s", code, w.stderr)
		}
	}
}

// TestWorkersWithoutCredentialsRefused: a client and a worker that lack
// the run's credentials, or that do not pin its certificate, cannot
// connect.
func TestWorkersWithoutCredentialsRefused(t *testing.T) {
	s, _, join := joinable(t, dagr.Config{Listen: "127.0.0.1:0"})
	u, _ := url.Parse(join)
	pin := u.Query().Get("pin")
	server := "tls://" + strings.Split(u.Host, ",")[0]

	for _, c := range []struct {
		what  string
		creds natstransport.Credentials
		want  string
	}{
		{"no credentials", natstransport.Credentials{URL: server, Pin: pin}, "uthorization"},
		{"a wrong password", natstransport.Credentials{URL: server, Pin: pin, User: u.User.Username(), Pass: "guess"}, "uthorization"},
		{"another certificate's pin", natstransport.Credentials{URL: server, Pin: strings.Repeat("ab", 32), User: u.User.Username()}, "fingerprint"},
	} {
		conn, err := natstransport.Connect(c.creds, "intruder", nil)
		if err == nil {
			conn.Close()
			t.Fatalf("a client with %s connected", c.what)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("a client with %s: %v, want an error about %q", c.what, err, c.want)
		}
	}

	wrong := *u
	wrong.User = url.UserPassword(u.User.Username(), "guess")
	w := joinWorker(t, wrong.String())
	if code := w.exit(t, 30*time.Second); code == 0 || !strings.Contains(w.stderr.String(), "uthorization") {
		t.Fatalf("a worker with a wrong password exited with %d, saying: %s", code, w.stderr)
	}
	// With the server's credentials but not the run's key (as a client of
	// another run on a shared cluster would be), a worker is refused.
	q := u.Query()
	q.Set("key", "guess")
	wrong = *u
	wrong.RawQuery = q.Encode()
	w = joinWorker(t, wrong.String())
	if code := w.exit(t, 30*time.Second); code == 0 || !strings.Contains(w.stderr.String(), "without its key") {
		t.Fatalf("a worker without the run's key exited with %d, saying: %s", code, w.stderr)
	}
	if live := s.Workers(context.Background()); len(live) != 1 {
		t.Fatalf("live workers %v after a worker without credentials tried to join", live)
	}
}

// TestWorkersComeBackRefused: a worker that joined by URL and hung
// (SIGSTOP) is declared dead after the worker timeout, its task runs
// elsewhere, and when it comes back (SIGCONT) it is refused and exits.
func TestWorkersComeBackRefused(t *testing.T) {
	s, ctx, join := joinable(t, dagr.Config{Listen: "127.0.0.1:0", WorkerTimeout: time.Second})
	workers := []*joined{joinWorker(t, join), joinWorker(t, join)}
	awaitWorkers(t, s, 2)
	started := fifos(t, "started")[0]
	log := filepath.Join(t.TempDir(), "runs")
	marker := filepath.Join(t.TempDir(), "marker")
	held := dagr.Spawn(ctx, stallOnce, dagr.Options{Scope: dagr.WorkerScope(2, 3)}, started, marker, log)
	awaitStarted(t, started)
	runs := pidsIn(t, log)
	kill(t, runs[0], syscall.SIGSTOP)
	if w := fetch[int](t, ctx, held); w == 0 {
		t.Fatal("the stalled task ran nowhere")
	}
	if runs := pidsIn(t, log); len(runs) != 2 || runs[0] == runs[1] {
		t.Fatalf("the task of the hung worker ran in %v, want in two processes", runs)
	}
	if live := s.Workers(ctx); len(live) != 2 {
		t.Fatalf("live workers %v after one of two was declared dead", live)
	}
	stalled := workers[0]
	if stalled.cmd.Process.Pid != runs[0] {
		stalled = workers[1]
	}
	if err := syscall.Kill(runs[0], syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if code := stalled.exit(t, 30*time.Second); code == 0 || !strings.Contains(stalled.stderr.String(), "refused") {
		t.Fatalf("the worker that came back exited with %d, saying: %s", code, stalled.stderr)
	}
}

// stallOnce logs its run and, the first time (marker absent), tells the
// test it started and then blocks; after that it returns its worker's id.
func stallOnce(ctx context.Context, started, marker, log string) (int, error) {
	if err := appendPID(log); err != nil {
		return 0, err
	}
	if _, err := os.Stat(marker); err != nil {
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			return 0, err
		}
		if err := tellStarted(started); err != nil {
			return 0, err
		}
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return dagr.MyID(), nil
}

func init() { dagr.Register(stallOnce) }

// TestWorkersRunsShareACluster: two runs use one existing NATS server
// (Config.NATS), each with workers of its own, at the same time: each
// run's tasks run on its own workers only, with the right results.
func TestWorkersRunsShareACluster(t *testing.T) {
	srv, err := natstransport.StartServer(natstransport.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	c := srv.Credentials()
	u, _ := url.Parse(c.URL)
	u.User = url.UserPassword(c.User, c.Pass)
	type run struct {
		ctx  context.Context
		pids []int
	}
	runs := make([]run, 2)
	for i := range runs {
		ctx := withWorkersOf(t, 2, dagr.Config{NATS: u.String()})
		runs[i].ctx = ctx
		for _, id := range []int{2, 3} {
			runs[i].pids = append(runs[i].pids, fetch[int](t, ctx, dagr.Spawn(ctx, workerPID, dagr.Options{Single: id})))
		}
	}
	errs := make(chan error, len(runs))
	for i, r := range runs {
		go func() {
			scope := dagr.Options{Scope: dagr.WorkerScope(2, 3)}
			for k := range 200 {
				pid, err := dagr.Fetch[int](r.ctx, dagr.Spawn(r.ctx, workerPID, scope))
				if err == nil && !slices.Contains(r.pids, pid) {
					err = fmt.Errorf("a task of run %d ran in process %d, not one of its workers %v", i+1, pid, r.pids)
				}
				if err == nil {
					var sum float64
					sum, err = dagr.Fetch[float64](r.ctx, dagr.Spawn(r.ctx, double, scope, float64(k+i)))
					if err == nil && sum != 2*float64(k+i) {
						err = fmt.Errorf("run %d: double(%d) = %v", i+1, k+i, sum)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range runs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestWorkersJoinedWorkerKilled: a worker that joined by URL and is
// killed (SIGKILL) is gone as soon as its connection to the run's server
// closes, well before its heartbeats are overdue: its task runs again on
// the other worker.
func TestWorkersJoinedWorkerKilled(t *testing.T) {
	s, ctx, join := joinable(t, dagr.Config{Listen: "127.0.0.1:0", WorkerTimeout: 10 * time.Minute})
	joinWorker(t, join)
	joinWorker(t, join)
	awaitWorkers(t, s, 2)
	started := fifos(t, "started")[0]
	log := filepath.Join(t.TempDir(), "runs")
	held := dagr.Spawn(ctx, stallOnce, dagr.Options{Scope: dagr.WorkerScope(2, 3)}, started, filepath.Join(t.TempDir(), "marker"), log)
	awaitStarted(t, started)
	victim := pidsIn(t, log)[0]
	kill(t, victim, syscall.SIGKILL)
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := dagr.Fetch[int](wait, held); err != nil {
		t.Fatalf("the task of the killed worker, with a worker timeout of 10 minutes: %v", err)
	}
	if runs := pidsIn(t, log); len(runs) != 2 || runs[1] == victim {
		t.Fatalf("the task ran in %v, want again in another process", runs)
	}
	if live := s.Workers(ctx); len(live) != 2 {
		t.Fatalf("live workers %v after one of two was killed", live)
	}
}
