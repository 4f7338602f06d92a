package dash_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"iter"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr/internal/dash"
)

// fakeSource is a scheduler's stats and log as the tests set them; it
// counts the calls.
type fakeSource struct {
	mu     sync.Mutex
	stats  dash.Stats
	events []dash.Event
	logOff bool

	statsCalls, logCalls atomic.Int64
}

func (f *fakeSource) Stats() dash.Stats {
	f.statsCalls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

func (f *fakeSource) Log() iter.Seq[dash.Event] {
	f.logCalls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.logOff {
		return nil
	}
	return slices.Values(slices.Clone(f.events))
}

// setDone changes the count of tasks done.
func (f *fakeSource) setDone(n int64) {
	f.mu.Lock()
	f.stats.Done = n
	f.mu.Unlock()
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// runLog is the log of a small run: 1 and 2 done, 3 from them running,
// 4 failed by itself and 5 failed from it, 6 running on worker 2, 7
// cancelled, 8 waiting for 3.
func runLog() []dash.Event {
	spawn := func(id uint64, ms int, name string, deps ...uint64) dash.Event {
		return dash.Event{Kind: dash.EventSpawn, Task: id, Time: at(ms), Name: name, Deps: deps, Worker: 1}
	}
	start := func(id uint64, ms, proc, worker int) dash.Event {
		return dash.Event{Kind: dash.EventStart, Task: id, Time: at(ms), Proc: proc, Worker: worker}
	}
	finish := func(id uint64, ms int, o dash.Outcome, origin uint64) dash.Event {
		return dash.Event{Kind: dash.EventFinish, Task: id, Time: at(ms), Outcome: o, Origin: origin, Worker: 1}
	}
	return []dash.Event{
		spawn(1, 0, "main.load"), spawn(2, 1, "main.load"), spawn(3, 2, "main.join", 1, 2),
		start(1, 3, 0, 1), start(2, 3, 1, 1), finish(1, 10, dash.OutcomeOK, 0), finish(2, 12, dash.OutcomeOK, 0),
		start(3, 13, 0, 1),
		spawn(4, 14, "main.bad"), start(4, 15, 1, 1), finish(4, 16, dash.OutcomeFailed, 4),
		spawn(5, 17, "main.after", 4), finish(5, 18, dash.OutcomeFailed, 4),
		spawn(6, 19, "main.remote"), start(6, 20, 1, 1), start(6, 21, -1, 2),
		spawn(7, 22, "main.stop"), finish(7, 23, dash.OutcomeCanceled, 7),
		spawn(8, 24, "main.next", 3),
	}
}

func newFake() *fakeSource {
	return &fakeSource{
		stats: dash.Stats{Spawned: 8, Done: 4, Failed: 2, Canceled: 1, Queued: 0, Running: 2, BytesMoved: 1 << 20,
			Procs:   []dash.Proc{{Thread: 1, Running: 1, Occupancy: 1}, {Thread: 2, Running: 1, Occupancy: 0.5}},
			Workers: []dash.Worker{{ID: 1, Procs: 2, Running: 2}, {ID: 2, Procs: 4, Running: 1}}},
		events: runLog(),
	}
}

// newServer serves a dashboard of src, sampling every 10 ms, closed
// when the test ends.
func newServer(t *testing.T, src dash.Source) (*dash.Server, *httptest.Server) {
	t.Helper()
	d := dash.New(src, dash.Config{Period: 10 * time.Millisecond, LogEvery: 1})
	hs := httptest.NewServer(d)
	t.Cleanup(func() {
		d.Close()
		hs.Close()
	})
	return d, hs
}

// stream opens the dashboard's stream, with a deadline, and returns a
// reader of its events and a function that closes it.
func stream(t *testing.T, url string) (*bufio.Reader, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /events: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("GET /events: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	stop := func() {
		cancel()
		resp.Body.Close()
	}
	t.Cleanup(stop)
	return bufio.NewReader(resp.Body), stop
}

// next reads events until one named name, and decodes its data into v.
func next(t *testing.T, r *bufio.Reader, name string, v any) sseEvent {
	t.Helper()
	for {
		ev, err := readEvent(r)
		if err != nil {
			t.Fatal(err)
		}
		if ev.event == name {
			if err := json.Unmarshal([]byte(ev.data), v); err != nil {
				t.Fatalf("the data of a %s event: %v\n%s", name, err, ev.data)
			}
			return ev
		}
	}
}

func TestDashboardStatsUpdate(t *testing.T) {
	src := newFake()
	_, hs := newServer(t, src)
	r, _ := stream(t, hs.URL)
	first, err := readEvent(r)
	if err != nil || first.retry != "2000" {
		t.Fatalf("the stream starts with %+v, %v; want a retry of 2000 ms", first, err)
	}
	var u dash.StatsUpdate
	next(t, r, "stats", &u)
	if u.Spawned != 8 || u.Done != 4 || u.Failed != 2 || u.Canceled != 1 || u.Running != 2 || u.Waiting != 2 {
		t.Errorf("counts: %+v", u)
	}
	if u.BytesMoved != 1<<20 || u.PeriodMS != 10 || u.Time == 0 {
		t.Errorf("bytes moved %d, period %v ms, time %v", u.BytesMoved, u.PeriodMS, u.Time)
	}
	if len(u.Procs) != 2 || u.Procs[1] != (dash.Proc{Thread: 2, Running: 1, Occupancy: 0.5}) {
		t.Errorf("procs: %+v", u.Procs)
	}
	if len(u.Workers) != 2 || u.Workers[1] != (dash.Worker{ID: 2, Procs: 4, Running: 1}) {
		t.Errorf("workers: %+v", u.Workers)
	}
	// Tasks end: the throughput says so.
	src.setDone(1004)
	deadline := time.Now().Add(10 * time.Second)
	for !slices.ContainsFunc(u.Throughput, func(p [2]float64) bool { return p[1] > 0 }) {
		if time.Now().After(deadline) {
			t.Fatalf("no rate above 0 in %v after 1000 tasks ended", u.Throughput)
		}
		next(t, r, "stats", &u)
	}
}

func TestDashboardTasksUpdate(t *testing.T) {
	src := newFake()
	_, hs := newServer(t, src)
	r, _ := stream(t, hs.URL)
	var u dash.TasksUpdate
	next(t, r, "tasks", &u)
	if !u.LogOn || u.Total != 8 || len(u.Tasks) != 8 {
		t.Fatalf("log on %v, %d tasks of %d", u.LogOn, len(u.Tasks), u.Total)
	}
	want := map[uint64]dash.TaskNode{
		1: {ID: 1, Name: "main.load", State: dash.StateDone, Worker: 1, Thread: 1},
		3: {ID: 3, Name: "main.join", State: dash.StateRunning, Worker: 1, Thread: 1, Deps: []uint64{1, 2}},
		4: {ID: 4, Name: "main.bad", State: dash.StateFailed, Worker: 1, Thread: 2, Origin: 4},
		5: {ID: 5, Name: "main.after", State: dash.StateFailed, Worker: 1, Origin: 4, Deps: []uint64{4}},
		6: {ID: 6, Name: "main.remote", State: dash.StateRunning, Worker: 2},
		7: {ID: 7, Name: "main.stop", State: dash.StateCanceled, Worker: 1, Origin: 7},
		8: {ID: 8, Name: "main.next", State: dash.StateWaiting, Worker: 1, Deps: []uint64{3}},
	}
	for _, got := range u.Tasks {
		w, ok := want[got.ID]
		if !ok {
			continue
		}
		times := got
		got.Spawn, got.Start, got.End = 0, 0, 0
		if !equalNodes(got, w) {
			t.Errorf("task %d: %+v, want %+v", got.ID, got, w)
		}
		if times.Spawn == 0 || (w.State != dash.StateWaiting && w.ID != 5 && w.ID != 7 && times.Start == 0) {
			t.Errorf("task %d has no spawn or start time: %+v", got.ID, times)
		}
	}
	if !slices.IsSortedFunc(u.Tasks, func(a, b dash.TaskNode) int { return int(a.ID) - int(b.ID) }) {
		t.Errorf("tasks not by id: %+v", u.Tasks)
	}
}

func equalNodes(a, b dash.TaskNode) bool {
	return a.ID == b.ID && a.Name == b.Name && a.State == b.State && a.Worker == b.Worker && a.Thread == b.Thread &&
		a.Origin == b.Origin && slices.Equal(a.Deps, b.Deps)
}

func TestDashboardLogOff(t *testing.T) {
	src := newFake()
	src.logOff = true
	_, hs := newServer(t, src)
	r, _ := stream(t, hs.URL)
	var u dash.TasksUpdate
	ev := next(t, r, "tasks", &u)
	if u.LogOn || u.Tasks == nil || len(u.Tasks) != 0 {
		t.Fatalf("with the log off: %s", ev.data)
	}
}

// TestDashboardFanOut: clients share the frames that the sampler makes
// once per period: the same ids, the same bytes.
func TestDashboardFanOut(t *testing.T) {
	src := newFake()
	_, hs := newServer(t, src)
	const clients, frames = 3, 6
	seen := make([]map[string]string, clients) // id -> data, per client
	readers := make([]*bufio.Reader, clients)
	for i := range clients {
		readers[i], _ = stream(t, hs.URL)
		seen[i] = map[string]string{}
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, r := range readers {
		wg.Go(func() {
			for len(seen[i]) < frames {
				ev, err := readEvent(r)
				if err != nil {
					errs <- err
					return
				}
				if ev.event == "stats" {
					seen[i][ev.id] = ev.data
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	shared := 0
	for id, data := range seen[0] {
		if seen[1][id] == data && seen[2][id] == data {
			shared++
		}
	}
	if shared == 0 {
		t.Fatalf("no stats frame reached all %d clients alike: %v", clients, seen)
	}
	if calls := src.statsCalls.Load(); calls >= clients*frames {
		t.Errorf("%d calls of Stats for %d clients that read %d frames each: not once per period", calls, clients, frames)
	}
}

// TestDashboardClientLeaves: when its only client goes away, the stream's
// handler returns and the sampler stops reading the source.
func TestDashboardClientLeaves(t *testing.T) {
	src := newFake()
	d, hs := newServer(t, src)
	if d.SamplerStopped() != nil {
		t.Fatal("a sampler started before any client")
	}
	r, stop := stream(t, hs.URL)
	var u dash.StatsUpdate
	next(t, r, "stats", &u)
	stopped := d.SamplerStopped()
	stop()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the sampler still runs 10 s after its only client left")
	}
	calls := src.statsCalls.Load()
	// A new client starts a new sampler, and gets fresh frames.
	r, _ = stream(t, hs.URL)
	next(t, r, "stats", &u)
	if src.statsCalls.Load() == calls {
		t.Fatal("a client that came back got a frame that nobody sampled")
	}
}

// TestDashboardClose: Close ends the streams and returns once their
// handlers have; the page is still served, new streams are not.
func TestDashboardClose(t *testing.T) {
	src := newFake()
	d, hs := newServer(t, src)
	r, _ := stream(t, hs.URL)
	var u dash.StatsUpdate
	next(t, r, "stats", &u)
	closed := make(chan struct{})
	go func() {
		d.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close has not returned in 10 s")
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("the stream did not end cleanly at Close: %v", err)
	}
	resp, err := http.Get(hs.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /events after Close: %s, want 503", resp.Status)
	}
	if code, _, _ := get(t, hs.URL+"/"); code != http.StatusOK {
		t.Errorf("GET / after Close: %d", code)
	}
	d.Close() // again: nothing to do
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

// TestDashboardReadOnly: every path answers GET only.
func TestDashboardReadOnly(t *testing.T) {
	d, hs := newServer(t, newFake())
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, p := range []string{"/", "/events", "/app.js", "/nothing-here"} {
			t.Run(method+" "+p, func(t *testing.T) {
				req, err := http.NewRequest(method, hs.URL+p, strings.NewReader("x"))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), "GET") {
					t.Errorf("%s %s: %s, Allow %q; want 405 allowing GET", method, p, resp.Status, resp.Header.Get("Allow"))
				}
			})
		}
	}
	if code, _, _ := get(t, hs.URL+"/nothing-here"); code != http.StatusNotFound {
		t.Errorf("GET /nothing-here: %d, want 404", code)
	}
	resp, err := http.Head(hs.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || d.SamplerStopped() != nil {
		t.Errorf("HEAD /events: %s, Content-Type %q, sampler started %v", resp.Status, resp.Header.Get("Content-Type"), d.SamplerStopped() != nil)
	}
}

// TestDashboardAssets: the page and everything it loads are served, with
// their types, and name nothing outside the server.
func TestDashboardAssets(t *testing.T) {
	_, hs := newServer(t, newFake())
	code, h, page := get(t, hs.URL+"/")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d, %q", code, h.Get("Content-Type"))
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("GET /: Content-Security-Policy %q", h.Get("Content-Security-Policy"))
	}
	for _, id := range []string{"counts", "workers", "procs", "throughput", "dag", "timeline"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("the page has no element #%s", id)
		}
	}
	types := map[string]string{".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
	files, err := os.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := f.Name()
		want, ok := types[path.Ext(name)]
		if !ok {
			t.Errorf("assets/%s: a type the test does not know", name)
			continue
		}
		url := hs.URL + "/" + name
		if name == "index.html" {
			url = hs.URL + "/"
		}
		code, h, body := get(t, url)
		if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), want) {
			t.Errorf("GET /%s: %d, %q; want 200, %s", name, code, h.Get("Content-Type"), want)
		}
		// The only URL in the assets is SVG's namespace, a name that
		// nothing fetches.
		rest := strings.ReplaceAll(body, "http://www.w3.org/2000/svg", "")
		for _, outside := range []string{"http:", "https:", "//cdn", "url(", "@import"} {
			if strings.Contains(rest, outside) {
				t.Errorf("assets/%s names %q: the page must load nothing from elsewhere", name, outside)
			}
		}
	}
}

// panickySource panics where the tests say.
type panickySource struct {
	*fakeSource
	statsPanic bool
}

func (p panickySource) Stats() dash.Stats {
	if p.statsPanic {
		panic("no stats today")
	}
	return p.fakeSource.Stats()
}

// TestDashboardBadSource: a source that panics, or gives a number JSON
// cannot hold, gives an update that says so; the server goes on.
func TestDashboardBadSource(t *testing.T) {
	nan := newFake()
	nan.stats.Procs[0].Occupancy = math.NaN()
	for _, tc := range []struct {
		name string
		src  dash.Source
		want string
	}{
		{"panic", panickySource{newFake(), true}, "dash: reading the stats update panicked: no stats today"},
		{"NaN", nan, "dash: encoding the stats update: json: unsupported value: NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, hs := newServer(t, tc.src)
			r, _ := stream(t, hs.URL)
			for range 2 { // the server goes on
				var u struct{ Error string }
				if next(t, r, "stats", &u); u.Error != tc.want {
					t.Fatalf("the stats update says %q, want %q", u.Error, tc.want)
				}
			}
			var tasks dash.TasksUpdate
			if next(t, r, "tasks", &tasks); len(tasks.Tasks) == 0 {
				t.Fatal("the tasks update is empty")
			}
		})
	}
}
