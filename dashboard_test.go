package dagr_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dagr/dagr"
)

// TestServeDashboardBadAddress: an address that cannot be served is an
// error naming it, and nothing is served.
func TestServeDashboardBadAddress(t *testing.T) {
	s, _ := schedulerOf(t, 1)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		addr string
		want string
	}{
		{"nonsense", `the dashboard's address "nonsense" is not host:port`},
		{"127.0.0.1:no-such-port", `the dashboard cannot listen on "127.0.0.1:no-such-port"`},
		{busy.Addr().String(), fmt.Sprintf("the dashboard cannot listen on %q", busy.Addr())},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			url, stop, err := s.ServeDashboard(tc.addr)
			if err == nil {
				stop()
				t.Fatalf("ServeDashboard(%q) served at %s", tc.addr, url)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "dagr: ") {
				t.Errorf("ServeDashboard(%q): %v; want an error saying %q", tc.addr, err, tc.want)
			}
			if url != "" || stop != nil {
				t.Errorf("ServeDashboard(%q) failed, yet returned %q and a stop", tc.addr, url)
			}
		})
	}
}

// TestDashboardTurnsLogOn: a dashboard turns the event log on if it is
// off, and leaves a log that is on as it is.
func TestDashboardTurnsLogOn(t *testing.T) {
	s, ctx := schedulerOf(t, 1)
	_ = s.DashboardHandler()
	if evs, _ := s.FetchLogs(); evs == nil {
		t.Fatal("the event log is off after DashboardHandler")
	}
	s.EnableLogging(10)
	if err := dagr.Spawn(ctx, add, 1, 2).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := s.FetchLogs()
	_ = s.DashboardHandler()
	if after, _ := s.FetchLogs(); len(after) != len(before) || len(after) == 0 {
		t.Fatalf("DashboardHandler changed a log that was on: %d events, then %d", len(before), len(after))
	}
}

// TestServeDashboardStops: the page is served at the URL returned; after
// stop it is not, and stop may be called again.
func TestServeDashboardStops(t *testing.T) {
	s, _ := schedulerOf(t, 1)
	url, stop, err := s.ServeDashboard("")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("the dashboard's URL is %s, want one on 127.0.0.1", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="dag"`) {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, page)
	}
	// A page of another site that points its own name at 127.0.0.1 (DNS
	// rebinding) reads nothing; localhost does.
	for host, want := range map[string]int{"evil.example": http.StatusMisdirectedRequest, "evil.example:80": http.StatusMisdirectedRequest,
		"localhost": http.StatusOK, strings.TrimPrefix(strings.TrimSuffix(url, "/"), "http://"): http.StatusOK} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s as host %q: %s, want %d", url, host, resp.Status, want)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop again: %v", err)
	}
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s after stop: %s", url, resp.Status)
	}
}

// requireChromiumEnv, when set, makes a missing Chromium a failure of
// TestDashboardInChromium instead of a skip: CI sets it.
const requireChromiumEnv = "DAGR_REQUIRE_CHROMIUM"

// chromiumPath returns the path of Debian's Chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if path, err := exec.LookPath("chromium"); err == nil {
		return path
	}
	msg := "Chromium is not installed: install Debian's chromium package (.ci/chromium, or apt-get install chromium)"
	if os.Getenv(requireChromiumEnv) != "" {
		t.Fatal(msg)
	}
	t.Skipf("%s; with %s set, this is a failure", msg, requireChromiumEnv)
	return ""
}

// TestDashboardInChromium serves a run's dashboard and reads it in a
// headless Chromium: tasks blocked on a channel show as running, a small
// DAG of finished tasks with its edges, a failure and where it began, a
// task on a second worker process; once the blocked tasks are released,
// the page shows them done. The page must log no error. It saves a
// screenshot of the page as dashboard.png in the test's artifacts (go test
// -artifacts), and at $DAGR_DASH_SCREENSHOT when that is set.
func TestDashboardInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	s, err := dagr.New(dagr.Config{Procs: 4, WorkerProcs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.AddProcs(ctx, 1); err != nil {
		t.Fatal(err)
	}
	url, stop, err := s.ServeDashboard("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})

	run := &dashboardRun{t: t, ctx: dagr.WithScheduler(ctx, s)}
	run.block()
	t.Cleanup(run.release)

	browser := openBrowser(t, ctx, chromium)
	if _, err := chromedp.Run(browser.ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	page := dashboardPage{t: t, ctx: browser.ctx}
	page.waitFor("the blocked tasks running in the DAG", statesAre(run.blocked, "running"))
	// The rest of the run happens while the page watches, in two waves,
	// so that its throughput shows them.
	run.wave1()
	page.waitFor("the first wave done", statesAre(run.done, "done"))
	run.wave2()

	page.waitFor("at least the blocked tasks counted as running",
		fmt.Sprintf(`Number(document.getElementById('counts').dataset.running) >= %d`, len(run.blocked)))
	page.waitFor("a task running on worker 2", statesAre([]uint64{run.watch}, "running"))
	page.waitFor("workers 1 and 2",
		`['1', '2'].every(id => document.querySelector('#workers tr[data-worker="' + id + '"]'))`)
	page.waitFor("4 processors of worker 1", `document.querySelectorAll('#procs tr[data-proc]').length === 4`)
	page.waitFor("the finished DAG done", statesAre(run.done, "done"))
	page.waitFor("the DAG's edges", edgesExist(run.edges))
	page.waitFor("the failure, marked where it began",
		statesAre(run.failed, "failed")+fmt.Sprintf(` && document.querySelector('#dag g.task[data-task="%d"]')?.dataset.origin === 'true'`, run.failed[0]))
	page.waitFor("the task waiting for the blocked ones", statesAre([]uint64{run.summary}, "waiting"))
	page.waitFor("the tasks of worker 2 placed there",
		fmt.Sprintf(`%s.every(id => document.querySelector('#dag g.task[data-task="' + id + '"]')?.dataset.worker === '2')`, jsIDs(run.remote)))
	page.waitFor("the blocked tasks in the timeline",
		fmt.Sprintf(`%s.every(id => document.querySelector('#timeline rect.bar[data-task="' + id + '"][data-state="running"]'))`, jsIDs(run.blocked)))
	page.waitFor("tasks done per second", `Number(document.getElementById('counts').dataset.rate) > 0 || document.querySelector('#throughput polyline.line') !== null`)
	page.screenshot()

	run.release()
	page.waitFor("the released tasks done", statesAre(slices.Concat(run.blocked, []uint64{run.summary}), "done"))
	page.waitFor("the task of worker 2 cancelled", statesAre([]uint64{run.watch}, "canceled"))
	page.waitFor("no task running", `document.getElementById('counts').dataset.running === '0'`)

	// With the event log off, the page says so.
	s.DisableLogging()
	page.waitFor("that the event log is off",
		`document.querySelector('#dag text.empty')?.textContent.includes('event log is off') && document.querySelectorAll('#dag g.task').length === 0`)

	browser.close()
	if problems := browser.problems(); len(problems) > 0 {
		t.Fatalf("the page logged errors:\n%s", strings.Join(problems, "\n"))
	}
}

// dashboardRun is the workload of TestDashboardInChromium, and the ids of
// its tasks by what the page should show of them.
type dashboardRun struct {
	t   *testing.T
	ctx context.Context

	blocked []uint64    // running until release
	summary uint64      // waiting for the blocked tasks
	watch   uint64      // runs on worker 2 until release cancels it
	done    []uint64    // a finished DAG, on workers 1 and 2
	edges   [][2]uint64 // its edges: from, to
	failed  []uint64    // the task that failed, then one downstream
	remote  []uint64    // tasks that ran on worker 2
	parses  []*dagr.Task
	release func()
}

func (r *dashboardRun) wait(tasks ...*dagr.Task) {
	r.t.Helper()
	for _, task := range tasks {
		if err := task.Wait(r.ctx); err != nil {
			r.t.Fatal(err)
		}
	}
}

// churn is a task's work, a few milliseconds of hashing, so that the
// timeline has bars to show.
func churn(seed int) []byte {
	block := make([]byte, 64<<10)
	block[0] = byte(seed)
	sum := sha256.Sum256(block)
	for range 200 {
		copy(block, sum[:])
		sum = sha256.Sum256(block)
	}
	return sum[:]
}

func ids(tasks ...*dagr.Task) []uint64 {
	var out []uint64
	for _, task := range tasks {
		out = append(out, task.ID())
	}
	return out
}

// block starts tasks blocked on a channel, one waiting for them, and one
// on worker 2 that runs until cancelled; release ends them.
func (r *dashboardRun) block() {
	gate := make(chan struct{})
	var blocked []any
	for i := range 3 {
		task := dagr.Spawn(r.ctx, func(ctx context.Context) (int, error) {
			select {
			case <-gate:
				return i, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}, dagr.Options{Name: "ingest"})
		blocked = append(blocked, task)
		r.blocked = append(r.blocked, task.ID())
	}
	summary := dagr.Spawn(r.ctx, func(n ...int) int { return len(n) }, append([]any{dagr.Options{Name: "summarize"}}, blocked...)...)
	watch := dagr.Spawn(r.ctx, waitForCancel, dagr.Options{Single: 2, Name: "watch"})
	r.summary, r.watch = summary.ID(), watch.ID()
	var once sync.Once
	r.release = func() {
		once.Do(func() {
			close(gate)
			watch.Cancel()
			r.wait(summary, watch)
		})
	}
}

// wave1 runs four loads and a parse of each, and two tasks on worker 2.
func (r *dashboardRun) wave1() {
	for i := range 4 {
		load := dagr.Spawn(r.ctx, func() []byte { return churn(i) }, dagr.Options{Name: "load"})
		parse := dagr.Spawn(r.ctx, func(rows []byte) int { return len(churn(int(rows[0]))) }, dagr.Options{Name: "parse"}, load)
		r.parses = append(r.parses, parse)
		r.done = append(r.done, load.ID(), parse.ID())
		r.edges = append(r.edges, [2]uint64{load.ID(), parse.ID()})
	}
	r.wait(r.parses...)
	scale := dagr.Spawn(r.ctx, double, dagr.Options{Single: 2, Name: "scale"}, 1.5)
	rescale := dagr.Spawn(r.ctx, double, dagr.Options{Single: 2, Name: "scale"}, scale)
	r.wait(rescale)
	r.remote = ids(scale, rescale)
	r.done = append(r.done, r.remote...)
	r.edges = append(r.edges, [2]uint64{scale.ID(), rescale.ID()})
}

// wave2 merges the parses and reports, and fails a validation of the
// merge, and a task after it.
func (r *dashboardRun) wave2() {
	parses := []any{dagr.Options{Name: "merge"}}
	for _, p := range r.parses {
		parses = append(parses, p)
	}
	merge := dagr.Spawn(r.ctx, func(n ...int) int { return len(n) }, parses...)
	for _, p := range r.parses {
		r.edges = append(r.edges, [2]uint64{p.ID(), merge.ID()})
	}
	report := dagr.Spawn(r.ctx, func(n int) string { return fmt.Sprint(n, " rows") }, dagr.Options{Name: "report"}, merge)
	validate := dagr.Spawn(r.ctx, func(int) (int, error) { return 0, errors.New("3 rows missing") }, dagr.Options{Name: "validate"}, merge)
	publish := dagr.Spawn(r.ctx, func(n int) int { return n }, dagr.Options{Name: "publish"}, validate)
	r.wait(report, publish)
	r.done = append(r.done, merge.ID(), report.ID())
	r.failed = ids(validate, publish)
	r.edges = append(r.edges, [2]uint64{merge.ID(), report.ID()}, [2]uint64{merge.ID(), validate.ID()}, [2]uint64{validate.ID(), publish.ID()})
}

// browser is a headless Chromium with one tab, and the errors its page
// logged.
type browser struct {
	ctx    context.Context
	close  func()
	mu     sync.Mutex
	logged []string // guarded by mu
}

func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.logged
}

// openBrowser starts Chromium, closed when the test ends, and records the
// errors and exceptions of its tab's console.
func openBrowser(t *testing.T, ctx context.Context, path string) *browser {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// With no network beyond this machine, connections that Chromium
		// makes on its own would be refused, and logged.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	b := &browser{ctx: tabCtx}
	messages := chromedp.Console(tabCtx) // starts the browser
	read := make(chan struct{})
	go func() {
		defer close(read)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.logged = append(b.logged, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	var once sync.Once
	b.close = func() {
		once.Do(func() {
			cancelTab()
			cancelAlloc() // kills Chromium and waits for it
			<-read
		})
	}
	t.Cleanup(b.close)
	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return b
}

// dashboardPage is the dashboard open in a browser's tab.
type dashboardPage struct {
	t   *testing.T
	ctx context.Context
}

// waitFor waits until the JavaScript expression cond is true in the page,
// and fails the test, saying what the page shows, if it is not within
// 20 s.
func (p dashboardPage) waitFor(what, cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond)))
	if err == nil {
		return
	}
	shows, derr := chromedp.Run(p.ctx, chromedp.Evaluate[string](pageState))
	if derr != nil {
		shows = derr.Error()
	}
	p.t.Fatalf("the dashboard does not show %s: %v\nit shows: %s", what, err, shows)
}

// pageState says what the page shows, for the messages of failures.
const pageState = `JSON.stringify({
	status: document.getElementById('status-text').textContent,
	counts: Object.assign({}, document.getElementById('counts').dataset),
	workers: [...document.querySelectorAll('#workers tr[data-worker]')].map(r => r.dataset.worker),
	tasks: [...document.querySelectorAll('#dag g.task')].map(g => g.dataset.task + ':' + g.dataset.state),
	edges: document.querySelectorAll('#dag path.edge').length,
})`

// screenshot saves a PNG of the whole page in the test's artifacts, and
// at $DAGR_DASH_SCREENSHOT when that is set.
func (p dashboardPage) screenshot() {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	paths := []string{filepath.Join(p.t.ArtifactDir(), "dashboard.png")}
	if path := os.Getenv("DAGR_DASH_SCREENSHOT"); path != "" {
		paths = append(paths, path)
	}
	for _, path := range paths {
		if err := os.WriteFile(path, png, 0o644); err != nil {
			p.t.Fatalf("saving the screenshot: %v", err)
		}
	}
	p.t.Logf("screenshot of the dashboard: %s", strings.Join(paths, ", "))
}

func jsIDs(ids []uint64) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

// statesAre is a JavaScript condition: the DAG has a node of each of
// ids, in state.
func statesAre(ids []uint64, state string) string {
	return fmt.Sprintf(`%s.every(id => {
		const g = document.querySelector('#dag g.task[data-task="' + id + '"]');
		return g !== null && g.dataset.state === %q;
	})`, jsIDs(ids), state)
}

// edgesExist is a JavaScript condition: the DAG has each of edges.
func edgesExist(edges [][2]uint64) string {
	b, _ := json.Marshal(edges)
	return fmt.Sprintf(`%s.every(([from, to]) =>
		document.querySelector('#dag path.edge[data-from="' + from + '"][data-to="' + to + '"]') !== null)`, b)
}
