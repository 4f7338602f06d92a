package dagr

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dagr/dagr/internal/dash"
)

// The live dashboard: a web page that shows a run as it goes, served by
// the scheduler's process.

// DashboardHandler returns a live dashboard of s, as an http.Handler to
// mount in a server of the caller's. It serves one page, with everything
// it loads (scripts, style, icon) embedded in the binary, so that nothing
// comes from the internet: the workers and processors with their load;
// the tasks spawned, waiting, queued, running, done, failed and cancelled;
// the tasks done per second over the last five minutes; the DAG of the
// last 200 tasks of the event log, running ones first; their timeline on
// each worker and processor; and the bytes moved between workers (see
// Stats). The page updates itself from a stream of server-sent events:
// the counters, workers and processors twice a second, the DAG and the
// timeline every second.
//
// The dashboard needs the event log for the DAG and the timeline:
// DashboardHandler turns it on (EnableLogging with DefaultLogSize) if it
// is off, and leaves it on, so that the workers keep logs too and send
// their events (see EnableLogging). A log that is on stays as it is.
//
// The handler answers GET (and HEAD) only; other methods get 405. It
// reads s only while a page is open, once per update whatever the number
// of pages. Mounted under a prefix, strip it and keep the trailing slash,
// as in mux.Handle("/dagr/", http.StripPrefix("/dagr", h)): the page
// names what it loads relative to itself.
//
// A page's stream ends when its request's context does: when the browser
// goes away, or when the server closes the connection. http.Server's
// Shutdown waits for open streams, as for any request that has not ended:
// give it a context with a deadline and call Close after it, or use
// ServeDashboard, whose stop ends the streams first.
//
// The handler has no authentication, and does not check the Host of the
// requests: mounted on a loopback server, it may be read by a web page
// elsewhere that points a name of its own at 127.0.0.1 (DNS rebinding).
// Check the Host in front of it, as ServeDashboard does on loopback.
func (s *Scheduler) DashboardHandler() http.Handler {
	return s.newDashboard()
}

func (s *Scheduler) newDashboard() *dash.Server {
	if !s.eng.Logging() {
		s.EnableLogging(DefaultLogSize)
	}
	return dash.New(dashSource{s}, dash.Config{})
}

// ServeDashboard serves s's live dashboard (see DashboardHandler) over
// HTTP at addr, until stop is called, and returns its URL. An empty addr
// means "127.0.0.1:0": loopback only, on a free port. The dashboard has no
// authentication and shows the run's task names and numbers to whoever
// reaches it: it is served beyond this machine only at an address the
// caller gives, such as "0.0.0.0:8080" or ":8080". Served on loopback, it
// answers only requests for a loopback host (127.0.0.1, ::1, localhost),
// so that a web page elsewhere cannot read it by pointing a name of its
// own at this machine (DNS rebinding).
//
// An addr that is not host:port, or that cannot be listened on (a port in
// use, a host that is not this machine's), is an error naming it, and
// nothing is served. stop ends the page's streams, shuts the server down
// and returns once its goroutines have; it may be called more than once.
// Like DashboardHandler, ServeDashboard turns the event log on if it is
// off.
func (s *Scheduler) ServeDashboard(addr string) (url string, stop func() error, err error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("dagr: the dashboard's address %q is not host:port (such as 127.0.0.1:8080, or 127.0.0.1:0 for a free port): %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("dagr: the dashboard cannot listen on %q: %w", addr, err)
	}
	d := s.newDashboard()
	var h http.Handler = d
	if isLoopback(host) {
		h = loopbackOnly(d)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			d.Close() // the streams end: Shutdown need not wait for them
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := hs.Shutdown(ctx); err != nil {
				stopErr = fmt.Errorf("dagr: stopping the dashboard at %s: %w", ln.Addr(), errors.Join(err, hs.Close()))
			}
			if err := <-served; !errors.Is(err, http.ErrServerClosed) && stopErr == nil {
				stopErr = fmt.Errorf("dagr: the dashboard at %s: %w", ln.Addr(), err)
			}
		})
		return stopErr
	}
	return "http://" + dashboardHost(host, ln.Addr()) + "/", stop, nil
}

// isLoopback reports whether host names this machine's loopback only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly answers only the requests that name a loopback host: a
// web page elsewhere cannot read a dashboard on loopback through a name
// of its own that it points at 127.0.0.1 (DNS rebinding).
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if !isLoopback(strings.Trim(host, "[]")) {
			http.Error(w, fmt.Sprintf("dagr: this dashboard serves %s only under a loopback host, not %q", r.URL.Path, r.Host), http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// dashboardHost is the host:port of the dashboard's URL: the host that
// the caller gave, with the port listened on; for no host or an
// unspecified one (all interfaces), this machine's loopback.
func dashboardHost(host string, listened net.Addr) string {
	_, port, _ := net.SplitHostPort(listened.String())
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// dashSource shows a Scheduler to the dashboard.
type dashSource struct{ s *Scheduler }

func (d dashSource) Stats() dash.Stats {
	st := d.s.Stats()
	out := dash.Stats{Spawned: st.Spawned, Done: st.Done, Failed: st.Failed, Canceled: st.Canceled,
		Queued: st.Queued, Running: st.Running, BytesMoved: st.BytesMoved,
		Procs: make([]dash.Proc, len(st.Procs)), Workers: make([]dash.Worker, len(st.Workers))}
	for i, p := range st.Procs {
		out.Procs[i] = dash.Proc{Thread: p.Thread, Queued: p.Queued, Running: p.Running, Occupancy: p.Occupancy}
	}
	for i, w := range st.Workers {
		out.Workers[i] = dash.Worker{ID: w.ID, Procs: w.Procs, Running: w.Running}
	}
	return out
}

func (d dashSource) Log() iter.Seq[dash.Event] {
	evs, _ := d.s.FetchLogs()
	if evs == nil {
		return nil
	}
	return func(yield func(dash.Event) bool) {
		for _, e := range evs {
			if !yield(dash.Event{Kind: dashKind(e.Kind), Task: e.Task, Time: e.Time, Name: e.Name, Deps: e.Deps,
				Proc: e.Proc, Worker: e.Worker, Ended: e.Ended, Outcome: dashOutcome(e.Outcome), Origin: e.Origin}) {
				return
			}
		}
	}
}

func dashKind(k EventKind) dash.EventKind {
	switch k {
	case EventSpawn:
		return dash.EventSpawn
	case EventReady:
		return dash.EventReady
	case EventStart:
		return dash.EventStart
	case EventFinish:
		return dash.EventFinish
	}
	return 0
}

func dashOutcome(o Outcome) dash.Outcome {
	switch o {
	case OutcomeOK:
		return dash.OutcomeOK
	case OutcomeFailed:
		return dash.OutcomeFailed
	case OutcomeCanceled:
		return dash.OutcomeCanceled
	}
	return 0
}
