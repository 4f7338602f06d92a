package dagr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dagr/dagr/internal/cache"
	"github.com/dagr/dagr/internal/cluster"
	"github.com/dagr/dagr/internal/natstransport"
	"github.com/dagr/dagr/internal/sched"
)

// Config configures a Scheduler. The zero Config gives a scheduler with one
// processor per GOMAXPROCS.
type Config struct {
	// Procs is the number of processors (execution slots) on this process;
	// 0 means runtime.GOMAXPROCS(0). Negative is an error.
	Procs int

	// WorkerProcs is the number of processors of each worker process that
	// AddProcs starts; 0 means the worker's runtime.GOMAXPROCS(0).
	// Negative is an error.
	WorkerProcs int

	// Logger receives the errors of Checkpoint and Restore, which do not
	// fail their task, and retries at debug level. nil means slog.Default().
	Logger *slog.Logger

	// CacheBytes bounds the memory of the results that thunks with
	// Options.Cache keep: past it, the least recently used results are
	// dropped (and recomputed when needed again), except those of thunks
	// with Options.Persist. Sizes are estimated from the values' types and
	// contents. 0 means no bound: a cached result is kept as long as its
	// *Thunk is reachable.
	CacheBytes int64

	// WorkerTimeout is how long a worker process may send no heartbeat
	// (it sends one every third of it) before worker 1 declares it dead: a
	// worker that hangs, or that cannot reach worker 1. Worker 1 kills it
	// if it started it, refuses it if it comes back, and deals with its
	// tasks as if it had exited (see Options.WorkerDeaths). 0 means 2.5s.
	// Negative is an error.
	WorkerTimeout time.Duration

	// Listen, when set, is the address (host:port; port 0 picks one) at
	// which the run's embedded NATS server accepts workers from other
	// machines (see JoinURL). Every connection of the run then uses TLS,
	// with the certificate in TLSCertFile and TLSKeyFile (PEM), or, when
	// both are empty, with one made for the run, whose SHA-256
	// fingerprint the join URL carries for workers to pin. Empty: the
	// server listens on 127.0.0.1 only, for workers of this machine.
	Listen      string
	TLSCertFile string
	TLSKeyFile  string

	// NATS, when set, is the URL of an existing NATS server or cluster
	// (nats:// or tls://; several, comma-separated) that the run uses
	// instead of embedding a server; a user and password may be in it.
	// NATSCreds names a credentials file (JWT and nkey seed), NATSNKey a
	// file holding an nkey seed, NATSCA a PEM file of the CAs that sign
	// the servers' certificates. Workers get the same settings through
	// the join URL: the files must be at the same paths on their
	// machines. Runs that share a cluster use subjects of their own.
	NATS      string
	NATSCreds string
	NATSNKey  string
	NATSCA    string
}

// Scheduler runs tasks on processors. Several schedulers may live side by
// side in one process; each has its own processors and tasks. A Scheduler
// is safe for use by any number of goroutines.
type Scheduler struct {
	eng           *sched.Scheduler
	procs         int
	workerProcs   int
	workerTimeout time.Duration
	transport     cluster.Transport
	log           *slog.Logger
	cache         *cache.LRU[Thunk] // bounds cached thunk results; nil when unbounded

	cl       atomic.Pointer[cluster.Coordinator] // the worker processes, from the first AddProcs on
	clMu     sync.Mutex                          // guards the making of cl, and refs
	refs     map[uint64]*ref                     // the tasks other processes may name (see home)
	encoding map[uint64]int                      // holds that Task.MarshalCBOR took on worker 1, by task, until PinEncoded
}

// New starts a scheduler. Nothing runs until a task is spawned on it.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Procs < 0 {
		return nil, fmt.Errorf("dagr: Config.Procs is %d; it must be 0 (one per GOMAXPROCS) or more", cfg.Procs)
	}
	if cfg.Procs == 0 {
		cfg.Procs = runtime.GOMAXPROCS(0)
	}
	if cfg.WorkerProcs < 0 {
		return nil, fmt.Errorf("dagr: Config.WorkerProcs is %d; it must be 0 (one per GOMAXPROCS of the worker) or more", cfg.WorkerProcs)
	}
	if cfg.WorkerTimeout < 0 {
		return nil, fmt.Errorf("dagr: Config.WorkerTimeout is %v; it must be 0 (2.5s) or more", cfg.WorkerTimeout)
	}
	if cfg.CacheBytes < 0 {
		return nil, fmt.Errorf("dagr: Config.CacheBytes is %d; it must be 0 (no bound) or more", cfg.CacheBytes)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NATS != "" && (cfg.Listen != "" || cfg.TLSCertFile != "" || cfg.TLSKeyFile != "") {
		return nil, errors.New("dagr: Config.NATS names an existing NATS server, and Config.Listen, TLSCertFile and TLSKeyFile configure an embedded one: set one or the other")
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("dagr: Config.TLSCertFile and Config.TLSKeyFile go together: set both or neither")
	}
	if cfg.Listen != "" {
		host, _, err := net.SplitHostPort(cfg.Listen)
		if ip := net.ParseIP(host); err != nil || host == "" || (ip != nil && ip.IsUnspecified()) {
			return nil, fmt.Errorf("dagr: Config.Listen is %q; it must be host:port, with the host (a name or an address) that workers of other machines reach, which the join URL gives them", cfg.Listen)
		}
	}
	if cfg.TLSCertFile != "" && cfg.Listen == "" {
		return nil, errors.New("dagr: Config.TLSCertFile is set but Config.Listen is not: the embedded server uses TLS only when it listens beyond loopback")
	}
	s := &Scheduler{procs: cfg.Procs, workerProcs: cfg.WorkerProcs, workerTimeout: cfg.WorkerTimeout, log: cfg.Logger,
		transport: cluster.Transport{
			Server: natstransport.ServerConfig{Listen: cfg.Listen, CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile},
			NATS:   natstransport.Credentials{URL: cfg.NATS, Creds: cfg.NATSCreds, NKey: cfg.NATSNKey, CA: cfg.NATSCA},
		}}
	if cfg.CacheBytes > 0 {
		s.cache = cache.New(cfg.CacheBytes, (*Thunk).dropCached)
	}
	s.eng = sched.New(sched.Config{
		Procs:      cfg.Procs,
		Logger:     cfg.Logger,
		PanicError: newPanicError,
		FailureOf:  failureOf,
		Owner:      s,
	})
	return s, nil
}

var defaultScheduler = sync.OnceValue(func() *Scheduler {
	s, _ := New(Config{Procs: defaultProcs})
	return s
})

// defaultProcs is the Procs of Default(): in a worker, what its scheduler
// asked for.
var defaultProcs int

// Default returns the process's default scheduler, started on first use with
// the zero Config. Package-level functions use it when their context
// carries no scheduler.
func Default() *Scheduler { return defaultScheduler() }

// Close cancels the tasks that are queued or running, waits until every
// task of s has ended and no f of it still runs, and returns. Called from a
// task's f, it does not wait for that task (nor for the tasks running it
// inline, see Task.Wait). Tasks spawned on s afterwards fail with an error
// wrapping ErrClosed. Close may be called more than once, and each call
// waits as the first does. Close also stops the worker processes that
// AddProcs started, and waits until they have exited.
func (s *Scheduler) Close() error {
	s.eng.Close()
	// The tasks on workers ended with the engine's: now their processes
	// may stop.
	if cl := s.cluster(); cl != nil {
		cl.Close()
		withWorkers.Delete(s)
	}
	return nil
}

// WithScheduler returns a copy of ctx that carries s: package-level
// functions called with it (or a context derived from it) use s.
func WithScheduler(ctx context.Context, s *Scheduler) context.Context {
	return sched.WithScheduler(orBackground(ctx), s.eng)
}

// schedulerOf returns the scheduler ctx carries, else Default().
func schedulerOf(ctx context.Context) *Scheduler {
	if ctx != nil {
		if e := sched.SchedulerFrom(ctx); e != nil {
			return e.Owner().(*Scheduler)
		}
	}
	return Default()
}

// withSelf returns ctx, carrying s if it carries another scheduler or none.
func (s *Scheduler) withSelf(ctx context.Context) context.Context {
	if sched.SchedulerFrom(ctx) == s.eng {
		return ctx
	}
	return sched.WithScheduler(ctx, s.eng)
}

func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// sizeof estimates a cached value's size, only when the cache is bounded.
func (s *Scheduler) sizeof(v any) int64 {
	if s.cache == nil {
		return 0
	}
	return cache.Sizeof(v)
}
