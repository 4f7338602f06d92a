// Package dash serves a live dashboard of a scheduler: one web page,
// embedded in the binary, that draws the scheduler's workers, processors,
// counters, throughput, the DAG of its recent tasks and their timeline,
// kept up to date with server-sent events.
//
// A Server reads its Source only while a client watches: a sampler
// goroutine starts with the first stream and stops at the first period
// that finds none. It reads the Source once per period, whatever the
// number of clients, and sends every client the same encoded frames.
package dash

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Server. The zero Config is the defaults.
type Config struct {
	Period   time.Duration // between samples of the stats: 0 means 500ms
	LogEvery int           // read the event log every LogEvery periods: 0 means 2
	Tasks    int           // the recent tasks sent to the page: 0 means 200
	Window   time.Duration // of the throughput's history: 0 means 5 minutes
}

func (c Config) withDefaults() Config {
	if c.Period <= 0 {
		c.Period = 500 * time.Millisecond
	}
	if c.LogEvery <= 0 {
		c.LogEvery = 2
	}
	if c.Tasks <= 0 {
		c.Tasks = 200
	}
	if c.Window <= 0 {
		c.Window = 5 * time.Minute
	}
	return c
}

// writeTimeout bounds each write to a stream, so that a client that stops
// reading cannot hold its handler, nor Close, for long.
const writeTimeout = 5 * time.Second

// Server serves the dashboard of a Source. It is an http.Handler of GET
// requests: the page and its assets, and the stream of updates at
// "events". Any other method gets 405. Mounted under a prefix, strip it
// (http.StripPrefix) and keep the trailing slash: the page names its
// assets relative to itself.
//
// The life of a Server: it serves from New on; the sampler runs while at
// least one stream is open; Close ends the streams, waits for them and
// for the sampler, and leaves the page and assets served, and new streams
// refused with 503.
type Server struct {
	src Source
	cfg Config
	mux *http.ServeMux
	seq atomic.Uint64 // the id of the last frame made

	// mu guards the fields below it; a client's mu is taken inside it,
	// never the other way round.
	mu       sync.Mutex
	clients  map[*client]struct{} // the open streams
	sampling bool                 // a sampler runs and will publish again
	stopped  chan struct{}        // closed when the last sampler started returns; nil before the first
	latest   frames               // the latest frames, for streams that open between samples; empty while no sampler runs
	history  throughput
	closed   bool
	quit     chan struct{} // closed by Close

	wg sync.WaitGroup // the sampler and the open streams
}

// New returns a Server of src. It starts no goroutine until a stream
// opens.
func New(src Source, cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{src: src, cfg: cfg, mux: http.NewServeMux(),
		clients: map[*client]struct{}{}, history: throughput{window: cfg.Window}, quit: make(chan struct{})}
	s.mux.Handle("GET /events", http.HandlerFunc(s.serveEvents))
	s.mux.Handle("GET /", http.FileServerFS(assets))
	return s
}

// ServeHTTP serves the page, its assets and the stream of updates.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Everything the page needs comes from this server: nothing else may
	// load, nor may another site frame it.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	s.mux.ServeHTTP(w, r)
}

// Close ends the streams and waits until their handlers and the sampler
// have returned. A handler that is writing to a client gives up within
// writeTimeout. Close may be called more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.quit)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serveEvents streams updates to one client until its request ends or the
// server closes.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // proxies that buffer would hold the updates
	if r.Method == http.MethodHead {
		return
	}
	c, ok := s.join()
	if !ok {
		h.Del("Content-Type")
		http.Error(w, "the dashboard is closed", http.StatusServiceUnavailable)
		return
	}
	defer s.leave(c)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{}) // the connection may serve other requests after this one
	next := [][]byte{retryFrame(2 * time.Second)}
	for {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		for _, f := range next {
			if _, err := w.Write(f); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		case <-c.ready:
			next = c.take()
		}
	}
}

// join registers a stream, and starts the sampler if none runs. It
// returns false once the server is closed.
func (s *Server) join() (*client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	c := newClient()
	c.offer(s.latest)
	s.clients[c] = struct{}{}
	s.wg.Add(1) // the stream; leave is its Done
	if !s.sampling {
		s.sampling = true
		s.stopped = make(chan struct{})
		s.wg.Add(1)
		go s.sample(s.stopped)
	}
	return c, true
}

func (s *Server) leave(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
	s.wg.Done()
}
