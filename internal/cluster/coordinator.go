package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/natstransport"
	"github.com/dagr/dagr/internal/sched"
	"github.com/dagr/dagr/internal/wire"
)

// Coordinator is the scheduler's side of a run, in the process that is
// worker 1: it starts worker processes, admits them, and runs tasks on
// them. It starts the embedded NATS server, or connects to the one it is
// given, with its first worker or join URL: a program that asks for
// neither never starts one.
type Coordinator struct {
	reg    *Registry
	errOf  func(worker int, e *wire.Error) error // the error of a task that failed on a worker
	values Values
	home   Home

	warnings      atomic.Pointer[io.Writer]                          // where warnf writes; nil: os.Stderr
	ran           atomic.Pointer[func(ctx context.Context, r Ran)]   // see OnRan
	logOn         atomic.Pointer[func() bool]                        // see LogEvents
	events        atomic.Pointer[func(*wire.Events)]                 // see LogEvents
	scoped        atomic.Pointer[func(context.Context) *wire.Scoped] // see SetScoped
	workerTimeout atomic.Int64                                       // see SetWorkerTimeout
	stopMonitor   chan struct{}                                      // closed by Close
	keptSinceGC   atomic.Int64                                       // bytes of kept values made since countKept last collected
	collecting    atomic.Bool                                        // a collection that countKept started runs

	mu    sync.Mutex
	tr    Transport
	srv   *natstransport.Server // nil until started, and with an external NATS
	creds natstransport.Credentials
	key   string // the run's secret (Join.Key)
	conn  *natstransport.Conn
	// stopEvents ends the watch of the embedded server's disconnections.
	stopEvents  func()
	mv          *mover // values held for workers, and pulled from them
	run         string
	subj        subjects
	nextID      int
	workers     map[int]*workerProc // started, not yet gone
	movedByGone int64               // the bytes that the workers gone pulled (see Moved)
	calls       map[uint64]*pendingCall
	kept        map[weak.Pointer[Value]]int // the kept values of the Values here, by the worker that keeps each
	idle        *sync.Cond                  // broadcast when a worker's load goes down
	onRoom      func()                      // called when a worker has a processor free again (see OnRoom)
	pinned      map[int]int                 // by worker: the calls under way whose arguments it keeps
	nextTask    uint64
	closed      bool
}

// workerProc is a worker process this coordinator started, or one that
// joined by URL (remote).
type workerProc struct {
	id     int
	cmd    *exec.Cmd      // nil for a remote worker
	stdin  io.WriteCloser // closed by the worker's death or ours: either way the other side sees it
	joined chan error     // gets the outcome of the worker's Hello
	exited chan struct{}  // closed when the process is gone, or, if remote, declared gone
	exit   error          // how it exited, once exited is closed
	token  string         // a remote worker's name (wire.Hello.Token)
	ended  sync.Once      // the worker's end is handled once (see gone)

	// sendMu orders a Stop after the tasks sent: Call holds it for reading
	// while it sends, stop for writing.
	sendMu sync.RWMutex

	lastBeat atomic.Int64 // when its last heartbeat came (UnixNano), from its admission on
	pulled   atomic.Int64 // the bytes it pulled from other processes, as of its last heartbeat

	// Guarded by Coordinator.mu.
	hung    bool // declared dead for want of heartbeats (and killed, if local)
	live    bool // admitted, and not being removed
	aborted bool // AddProcs gave up on it: it may not join
	procs   int
	load    int // tasks sent and not yet done
}

type pendingCall struct {
	worker int
	done   chan *wire.Done
}

// Values encodes the values that tasks take and return for the trip to
// another process, and decodes them into the type that will hold them. It
// is wire's EncodeValue and DecodeValue, but for tasks (see wire.EncodeRef),
// which only the public package knows.
type Values interface {
	Encode(v any) ([]byte, error)
	// Decode decodes data into a value of type t; owned says that the
	// caller gives data up, so that the value may be made over it.
	Decode(data []byte, t reflect.Type, owned bool) (any, error)
}

// Home is worker 1's side of the tasks that tasks on workers spawn: such
// tasks live on worker 1, where the DAG is, and run where their options
// and the scheduler place them.
type Home interface {
	Spawn(s *wire.Spawn) // spawn it; its Result goes to s.From (see SendResult)
	// Watch sends worker the task's Result once it ends; retry says that
	// the worker could not pull the value of the last one.
	Watch(task uint64, worker int, retry bool)
	Cancel(task uint64, err error) // cancel a task a worker spawned
	// Release ends the hold of a handle of task that worker dropped;
	// WorkerGone ends those of every handle of worker, which is gone.
	Release(task uint64, worker int)
	WorkerGone(worker int)
	// Pin adds a hold of each task of ids, which a value that another
	// process may decode names, and returns those it knows: what Unpin is
	// to end. PinEncoded is Pin for a value that this process encoded.
	Pin(ids []uint64) []uint64
	PinEncoded(ids []uint64) []uint64
	Unpin(ids []uint64)
}

// NewCoordinator returns a coordinator for the functions of reg; errOf
// makes the error of a task that failed on a worker.
func NewCoordinator(reg *Registry, errOf func(worker int, e *wire.Error) error, values Values, home Home) *Coordinator {
	c := &Coordinator{reg: reg, errOf: errOf, values: values, home: home, nextID: 2, workers: make(map[int]*workerProc),
		calls: make(map[uint64]*pendingCall), kept: make(map[weak.Pointer[Value]]int), pinned: make(map[int]int)}
	c.idle = sync.NewCond(&c.mu)
	return c
}

// ErrWorkerLost is in the error of a Call whose worker died while it ran
// the task (errors.Is): the task may run again elsewhere.
var ErrWorkerLost = errors.New("dagr: the worker died while it ran the task")

// lostError is the error of a Call whose worker died: it reads as the
// worker's error, which says so, and is ErrWorkerLost.
type lostError struct{ error }

func (e lostError) Unwrap() error        { return e.error }
func (e lostError) Is(target error) bool { return target == ErrWorkerLost }

// ErrClosed is the error of what is asked of a closed coordinator.
var ErrClosed = errors.New("dagr: the scheduler is closed")

// Transport says how the processes of a run reach one another: through an
// existing NATS server or cluster when NATS.URL is set, else through a
// server that the coordinator embeds (see natstransport.ServerConfig).
type Transport struct {
	Server natstransport.ServerConfig
	NATS   natstransport.Credentials
}

// SetTransport sets how the run's processes reach one another. It applies
// if it comes before the first worker is started or asked for.
func (c *Coordinator) SetTransport(t Transport) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tr = t
}

// startLocked starts the server, or connects to the external one, and
// subscribes to the run's subjects, once.
func (c *Coordinator) startLocked() (err error) {
	if c.closed {
		return ErrClosed
	}
	if c.conn != nil {
		return nil
	}
	var srv *natstransport.Server
	creds := c.tr.NATS
	if creds.URL == "" {
		if srv, err = natstransport.StartServer(c.tr.Server); err != nil {
			return err
		}
		creds = srv.Credentials()
	}
	conn, err := natstransport.Connect(creds, "dagr worker 1", nil)
	if err != nil {
		if srv != nil {
			srv.Shutdown()
		}
		return err
	}
	defer func() {
		if err != nil {
			conn.Close()
			if srv != nil {
				srv.Shutdown()
			}
		}
	}()
	c.run, c.key = natstransport.NewRunID(), natstransport.NewSecret()
	c.subj = subjectsOf(c.run)
	for _, sub := range []struct {
		subject string
		handle  func(natstransport.Msg)
	}{{c.subj.join(), c.onHello}, {c.subj.ask(), c.onAsk}, {c.subj.beat(), c.onBeat}, {c.subj.up(), c.onUp}} {
		if _, err := conn.Subscribe(sub.subject, sub.handle); err != nil {
			return err
		}
	}
	// Streams only for a run that no worker of another machine may join.
	mv, err := newMover(1, conn, c.subj, c.key, creds.URL, c.single())
	if err != nil {
		return err
	}
	if srv != nil {
		// A remote worker whose connection closes is gone at once;
		// through an external server, its heartbeats alone tell.
		if c.stopEvents, err = srv.OnDisconnect(c.onDisconnect); err != nil {
			return err
		}
	}
	c.srv, c.conn, c.mv, c.creds = srv, conn, mv, creds
	c.stopMonitor = make(chan struct{})
	go c.monitor(c.stopMonitor)
	return nil
}

// Materialize returns the encoding of the value data stands for, pulling
// it from the worker that holds it if need be (see wire.Held); owned says
// that it was pulled into a buffer of its own, which the caller may keep.
func (c *Coordinator) Materialize(ctx context.Context, data []byte) (_ []byte, owned bool, _ error) {
	c.mu.Lock()
	mv := c.mv
	c.mu.Unlock()
	if mv == nil {
		return data, false, nil
	}
	return mv.materialize(ctx, data)
}

// SetWorkerTimeout sets how long a worker may send no heartbeat before it
// is declared dead and killed (0: DefaultWorkerTimeout). It applies to the
// workers started after it.
func (c *Coordinator) SetWorkerTimeout(d time.Duration) { c.workerTimeout.Store(int64(d)) }

// DefaultWorkerTimeout is the worker timeout unless SetWorkerTimeout says
// otherwise. A hung worker's tasks run elsewhere within about that long (and a tenth,
// the monitor's period) of the hang.
const DefaultWorkerTimeout = 2500 * time.Millisecond

func (c *Coordinator) timeout() time.Duration {
	if d := time.Duration(c.workerTimeout.Load()); d > 0 {
		return d
	}
	return DefaultWorkerTimeout
}

// onBeat notes a worker's heartbeat, and answers it: a worker that is not
// in the run (any more) is refused, and exits.
func (c *Coordinator) onBeat(m natstransport.Msg) {
	b, err := wire.Decode[wire.Beat](m.Data)
	if err != nil {
		c.warnf("dagr: worker 1 dropped a heartbeat: %v\n", err)
		return
	}
	c.mu.Lock()
	w := c.workers[b.Worker]
	refused := ""
	if w == nil || w.hung {
		refused = fmt.Sprintf("worker %d is not in the run: it was declared dead, or never joined", b.Worker)
	}
	c.mu.Unlock()
	if b.Leaving {
		if w != nil && w.cmd == nil && proven(c.key, b.Proof, c.run, "leaving", strconv.Itoa(b.Worker)) {
			go c.gone(w, "it stopped")
		}
		return
	}
	if refused == "" {
		w.lastBeat.Store(time.Now().UnixNano())
		w.notePulled(b.Pulled)
	}
	if data, err := wire.Encode(wire.Welcome{Refused: refused}); err == nil {
		_ = m.Respond(data)
	}
}

// monitor kills the live workers whose heartbeats stopped (a worker that
// hangs, or that cannot reach the server), until the coordinator closes:
// their process's exit then fails what they ran, as any exit does.
func (c *Coordinator) monitor(stop <-chan struct{}) {
	t := time.NewTicker(c.timeout() / 10)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c.mu.Lock()
			for _, w := range c.workers {
				// A remote worker counts from its first Hello on.
				if (w.live || w.cmd == nil) && !w.hung && now.Sub(time.Unix(0, w.lastBeat.Load())) > c.timeout() {
					w.hung = true
					c.warnf("dagr: worker %d sent no heartbeat for %v: worker 1 declares it dead\n", w.id, c.timeout())
					c.endLocked(w)
				}
			}
			c.mu.Unlock()
		}
	}
}

// Ran says where and when a task ran on a worker.
type Ran struct {
	Worker, Thread int       // the worker, and its processor (from 1; 0 if unknown)
	Moved          int64     // the bytes of the task's arguments that the worker pulled from other processes
	Start, End     time.Time // when f ran, on the worker's clock (zero if unknown)
}

// OnRan makes f hear, for each task that ran on a worker, the context of
// its Call and where and when it ran.
func (c *Coordinator) OnRan(f func(ctx context.Context, r Ran)) {
	c.ran.Store(&f)
}

// LogEvents makes each task sent to a worker say whether on() (worker 1
// keeps an event log; the worker then keeps one too), and add hear the
// events that the workers send.
func (c *Coordinator) LogEvents(on func() bool, add func(*wire.Events)) {
	c.logOn.Store(&on)
	c.events.Store(&add)
}

// LogTo makes w the writer of the coordinator's warnings (os.Stderr by
// default): what it drops, and why.
func (c *Coordinator) LogTo(w io.Writer) { c.warnings.Store(&w) }

// warnf writes a warning.
func (c *Coordinator) warnf(format string, args ...any) {
	w := io.Writer(os.Stderr)
	if p := c.warnings.Load(); p != nil {
		w = *p
	}
	fmt.Fprintf(w, format, args...)
}

// Inject publishes data on the run's subject of kind ("join", "ask", "up"
// or "data", worker 1's), as another process of the run could: for tests
// of what worker 1 does with bad messages.
func (c *Coordinator) Inject(kind string, data []byte) error {
	c.mu.Lock()
	conn, subj := c.conn, c.subj
	c.mu.Unlock()
	if conn == nil {
		return errors.New("dagr: no worker was started")
	}
	subject := map[string]string{"join": subj.join(), "ask": subj.ask(), "up": subj.up(), "data": subj.data(1)}[kind]
	if subject == "" {
		return fmt.Errorf("dagr: no subject %q", kind)
	}
	return conn.Publish(subject, data)
}

// Pulled returns the bytes that worker 1 pulled from workers.
func (c *Coordinator) Pulled() int64 {
	c.mu.Lock()
	mv := c.mv
	c.mu.Unlock()
	if mv == nil {
		return 0
	}
	return mv.pulled.Load()
}

// notePulled notes that the worker had pulled n bytes, as a message that
// it sent says: messages may come out of order, and the count only grows.
func (w *workerProc) notePulled(n int64) {
	for {
		old := w.pulled.Load()
		if n <= old || w.pulled.CompareAndSwap(old, n) {
			return
		}
	}
}

// Moved returns the bytes of values that the run's processes pulled from
// one another: by worker 1, and by each other worker, dead or alive, as of
// its last heartbeat.
func (c *Coordinator) Moved() int64 {
	n := c.Pulled()
	c.mu.Lock()
	defer c.mu.Unlock()
	n = addCapped(n, c.movedByGone)
	for _, w := range c.workers {
		n = addCapped(n, w.pulled.Load())
	}
	return n
}

// addCapped adds two counts of bytes, which are not negative, and gives
// the largest int64 instead of overflowing (a worker's count is what it
// says).
func addCapped(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Load is a live worker's processors and the tasks sent to it that are
// not done yet.
type Load struct {
	ID, Procs, Load int
}

// Loads returns the load of each live worker, by id.
func (c *Coordinator) Loads() []Load {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Load
	for _, id := range c.liveLocked() {
		if w := c.workers[id]; w != nil {
			out = append(out, Load{ID: id, Procs: w.procs, Load: w.load})
		}
	}
	return out
}

// AddProcs starts n worker processes of this program's binary, with procs
// processors each (0: as many as their GOMAXPROCS), and returns their ids
// once every one of them serves. If one fails to, those started by this
// call are stopped, and the error says why.
func (c *Coordinator) AddProcs(ctx context.Context, n, procs int) ([]int, error) {
	if n <= 0 {
		return nil, fmt.Errorf("dagr: AddProcs(%d): the number of workers must be positive", n)
	}
	if err := c.reg.Err(); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("dagr: AddProcs: finding this program's binary: %w", err)
	}
	c.mu.Lock()
	if err := c.startLocked(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	var started []*workerProc
	for range n {
		w, err := c.spawnLocked(exe, procs)
		if err != nil {
			c.mu.Unlock()
			c.abort(started)
			return nil, err
		}
		started = append(started, w)
	}
	c.mu.Unlock()

	ids := make([]int, 0, n)
	for _, w := range started {
		var err error
		select {
		case err = <-w.joined:
		case <-w.exited:
			err = fmt.Errorf("dagr: AddProcs: worker %d exited before it joined (%v); its standard error says why", w.id, w.exit)
		case <-ctx.Done():
			err = fmt.Errorf("dagr: AddProcs: worker %d did not join: %w", w.id, context.Cause(ctx))
		}
		if err != nil {
			c.abort(started)
			return nil, err
		}
		ids = append(ids, w.id)
	}
	return ids, nil
}

// spawnLocked starts one worker process. It learns that this process is
// gone when its standard input ends, however this process ends.
func (c *Coordinator) spawnLocked(exe string, procs int) (*workerProc, error) {
	id := c.nextID
	c.nextID++
	j, err := json.Marshal(Join{Run: c.run, Worker: id, Procs: procs, Creds: c.creds, Beat: c.timeout() / 3, Key: c.key, Streams: c.single()})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(withoutWorkerEnv(os.Environ()), EnvVar+"="+string(j))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("dagr: AddProcs: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dagr: AddProcs: starting worker %d (%s): %w", id, exe, err)
	}
	w := &workerProc{id: id, cmd: cmd, stdin: stdin, joined: make(chan error, 1), exited: make(chan struct{})}
	c.workers[id] = w
	go c.watch(w)
	return w, nil
}

func withoutWorkerEnv(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, EnvVar+"=") })
}

// watch waits for a worker process to exit, then fails the tasks it had.
func (c *Coordinator) watch(w *workerProc) {
	err := w.cmd.Wait()
	_ = w.stdin.Close()
	c.gone(w, fmt.Sprint(err))
}

// endLocked ends w: a process of this machine is killed (watch sees it
// exit), a remote worker declared gone: it is refused if it comes back.
func (c *Coordinator) endLocked(w *workerProc) {
	if w.cmd != nil {
		_ = w.cmd.Process.Kill()
		return
	}
	go c.gone(w, "declared dead")
}

// gone takes a worker that exited, or was declared dead, out of the run:
// the tasks it ran fail with ErrWorkerLost, the holds of its handles end,
// and every process stops pulling from it.
func (c *Coordinator) gone(w *workerProc, why string) {
	w.ended.Do(func() { c.end(w, why) })
}

func (c *Coordinator) end(w *workerProc, why string) {
	w.exit = errors.New(why)
	close(w.exited)
	c.mu.Lock()
	delete(c.workers, w.id)
	c.movedByGone = addCapped(c.movedByGone, w.pulled.Load())
	w.live = false
	var lost []*pendingCall
	for id, pc := range c.calls {
		if pc.worker == w.id {
			lost = append(lost, pc)
			delete(c.calls, id)
		}
	}
	w.load = 0 // what it ran is lost: a RemoveProc that waits for it ends
	if w.hung {
		why = fmt.Sprintf("stopped by worker 1: no heartbeat for %v", c.timeout())
	}
	c.idle.Broadcast()
	conn := c.conn
	c.mu.Unlock()
	// Pulls from it, here and on the other workers, stop.
	if data, err := wire.Encode(wire.Gone{Worker: w.id}); err == nil {
		_ = conn.Publish(c.subj.gone(), data)
	}
	c.home.WorkerGone(w.id)
	for _, pc := range lost {
		select {
		case pc.done <- &wire.Done{Worker: w.id, Lost: true, Err: &wire.Error{Msg: fmt.Sprintf("worker %d exited while it ran the task (%v)", w.id, why), Origin: w.id}}:
		default: // its Done came first, and its call has it
		}
	}
}

// abortWait is how long a worker that did not join may take to exit
// before it is killed.
const abortWait = 5 * time.Second

// abort stops workers that did not all join. Closing a worker's standard
// input tells it that it is not wanted; a refused one exits by itself,
// after it said why.
func (c *Coordinator) abort(ws []*workerProc) {
	c.mu.Lock()
	for _, w := range ws {
		w.live, w.aborted = false, true
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), abortWait)
	defer cancel()
	for _, w := range ws {
		_ = w.stdin.Close()
	}
	for _, w := range ws {
		select {
		case <-w.exited:
		case <-ctx.Done():
			_ = w.cmd.Process.Kill()
			<-w.exited
		}
	}
}

// onHello admits a worker, or refuses it with the reason.
func (c *Coordinator) onHello(m natstransport.Msg) {
	reply := func(refused string) {
		data, _ := wire.Encode(wire.Welcome{Refused: refused})
		_ = m.Respond(data)
	}
	h, err := wire.Decode[wire.Hello](m.Data)
	if err != nil {
		reply(err.Error())
		return
	}
	if h.Worker == 0 {
		c.assign(m, h)
		return
	}
	c.mu.Lock()
	w := c.workers[h.Worker]
	if h.Run != c.run || w == nil || w.aborted || w.hung || c.closed ||
		(w.cmd != nil && w.cmd.Process.Pid != h.PID) || (w.cmd == nil && (w.token != h.Token || w.live)) {
		c.mu.Unlock()
		reply(fmt.Sprintf("no worker %d (pid %d) is wanted in this run", h.Worker, h.PID))
		return
	}
	diff := Diff(c.reg.Funcs(), h.Registry)
	if diff == "" {
		w.live, w.procs = true, max(h.Procs, 1)
		w.lastBeat.Store(time.Now().UnixNano())
		c.idle.Broadcast() // for WaitWorkers
	}
	c.mu.Unlock()
	if diff != "" {
		reason := fmt.Sprintf("worker %d runs another build of the program: %s", h.Worker, diff)
		reply(reason)
		w.tellJoined(errors.New("dagr: AddProcs: " + reason))
		return
	}
	reply("")
	w.tellJoined(nil)
	for range w.procs {
		c.room()
	}
}

// onDisconnect takes out of the run a remote worker whose connection to
// the embedded server closed (see natstransport.Server.OnDisconnect).
func (c *Coordinator) onDisconnect(name string) {
	token, ok := strings.CutPrefix(name, remoteName)
	if !ok {
		return
	}
	c.mu.Lock()
	var gone *workerProc
	for _, w := range c.workers {
		if w.cmd == nil && w.token == token {
			gone = w
		}
	}
	c.mu.Unlock()
	if gone != nil {
		c.gone(gone, "its connection to the run's NATS server closed")
	}
}

// single reports whether the run's processes are all on this machine:
// its server is embedded, on loopback.
func (c *Coordinator) single() bool { return c.tr.NATS.URL == "" && c.tr.Server.Listen == "" }

// tellJoined gives AddProcs the outcome of w's Hello; a second one, from
// a worker that misbehaves, is dropped.
func (w *workerProc) tellJoined(err error) {
	select {
	case w.joined <- err:
	default:
	}
}

// assign gives an id to a worker that joins by URL: it becomes live with
// its second Hello, which carries that id (see wire.Hello.Token).
func (c *Coordinator) assign(m natstransport.Msg, h *wire.Hello) {
	answer := func(wel wire.Welcome) {
		data, _ := wire.Encode(wel)
		_ = m.Respond(data)
	}
	if diff := Diff(c.reg.Funcs(), h.Registry); diff != "" {
		c.warnf("dagr: worker 1 refused a worker that joined by URL: it runs another build of the program: %s\n", diff)
		answer(wire.Welcome{Refused: "it runs another build of the program: " + diff})
		return
	}
	c.mu.Lock()
	if h.Run != c.run || h.Token == "" || c.closed || !proven(c.key, h.Proof, c.run, h.Token) {
		c.mu.Unlock()
		c.warnf("dagr: worker 1 refused a worker that asked to join run %q without the run's key\n", h.Run)
		answer(wire.Welcome{Refused: "no worker is wanted in this run without its key"})
		return
	}
	id := c.nextID
	c.nextID++
	w := &workerProc{id: id, token: h.Token, joined: make(chan error, 1), exited: make(chan struct{})}
	w.lastBeat.Store(time.Now().UnixNano())
	c.workers[id] = w
	beat := c.timeout() / 3
	c.mu.Unlock()
	answer(wire.Welcome{Worker: id, Beat: beat})
}

// JoinURL returns the URL that a process of this program, started with
// it in the environment variable JoinEnv on any machine that reaches the
// run's NATS servers, joins the run with. It starts the run's transport
// if no worker did yet.
func (c *Coordinator) JoinURL() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.startLocked(); err != nil {
		return "", err
	}
	return joinURL(c.run, c.key, c.creds), nil
}

// WaitWorkers waits until at least n workers besides worker 1 are live,
// and returns the live workers, 1 first.
func (c *Coordinator) WaitWorkers(ctx context.Context, n int) ([]int, error) {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.idle.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		live := c.liveLocked()
		if len(live)-1 >= n {
			return live, nil
		}
		if c.closed {
			return nil, ErrClosed
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("dagr: waiting for %d workers, %d joined (%v): %w", n, len(live)-1, live, context.Cause(ctx))
		}
		c.idle.Wait()
	}
}

// HasRoom reports whether a live worker has a free processor.
func (c *Coordinator) HasRoom() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.workers {
		if w.live && w.load < w.procs {
			return true
		}
	}
	return false
}

// SetScoped sets f, which Call asks for the options that a task's context
// carries (see wire.Scoped), to send them with the task: the tasks that it
// spawns on its worker take them. f returns nil when the context carries
// none.
func (c *Coordinator) SetScoped(f func(ctx context.Context) *wire.Scoped) { c.scoped.Store(&f) }

// OnRoom sets f, which is called, on no lock, each time a processor of a
// worker becomes free: a worker joined, or ended a task.
func (c *Coordinator) OnRoom(f func()) {
	c.mu.Lock()
	c.onRoom = f
	c.mu.Unlock()
}

func (c *Coordinator) room() {
	c.mu.Lock()
	f := c.onRoom
	c.mu.Unlock()
	if f != nil {
		f()
	}
}

// onAsk answers a worker's question about the run. A removal runs on a
// goroutine of its own: it waits for the worker to exit.
func (c *Coordinator) onAsk(m natstransport.Msg) {
	answer := func(a wire.Answer) {
		if data, err := wire.Encode(a); err == nil {
			_ = m.Respond(data)
		}
	}
	q, err := wire.Decode[wire.Ask](m.Data)
	switch {
	case err != nil:
		answer(wire.Answer{Err: err.Error()})
	case q.Remove != 0:
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			defer cancel()
			if err := c.RemoveProc(ctx, q.Remove); err != nil {
				answer(wire.Answer{Err: err.Error()})
				return
			}
			answer(wire.Answer{Workers: c.Workers()})
		}()
	default:
		answer(wire.Answer{Workers: c.Workers()})
	}
}

// onUp handles what workers send: in order, one message at a time.
func (c *Coordinator) onUp(m natstransport.Msg) {
	u, err := wire.Decode[wire.Up](m.Data)
	if err == nil {
		err = c.checkUp(u)
	}
	if err == errGoneWorker {
		return
	}
	if err != nil {
		c.warnf("dagr: worker 1 dropped a message from a worker: %v\n", err)
		return
	}
	switch {
	case u.Done != nil:
		c.onDone(u.Done)
	case u.Spawn != nil:
		c.home.Spawn(u.Spawn)
	case u.Watch != nil:
		c.home.Watch(u.Watch.Task, u.Watch.From, u.Watch.Retry)
	case u.Cancel != nil:
		c.home.Cancel(u.Cancel.Task, reasonErr(u.Cancel.Reason))
	case u.Release != nil:
		c.home.Release(u.Release.Task, u.Release.From)
	case u.Events != nil:
		if f := c.events.Load(); f != nil {
			(*f)(u.Events)
		}
	}
}

// checkUp reports why u cannot come from a worker of this run: it names
// a worker that this coordinator did not start, or a task in the ids of
// another worker than its sender (see wire.TaskID).
func (c *Coordinator) checkUp(u *wire.Up) error {
	var from int
	var own uint64 // a task id that must be the sender's, if any
	switch {
	case u.Done != nil:
		from = u.Done.Worker
	case u.Spawn != nil:
		from, own = u.Spawn.From, u.Spawn.Task
	case u.Watch != nil:
		from = u.Watch.From
	case u.Release != nil:
		from = u.Release.From
	case u.Events != nil:
		from = u.Events.From
	case u.Cancel != nil:
		own = u.Cancel.Task
		from = int(own >> 48)
	} // wire.Decode refused an Up that says nothing: from 0 is no worker

	if own != 0 && int(own>>48) != from {
		return fmt.Errorf("worker %d names task %d, which is not one of its own", from, own)
	}
	c.mu.Lock()
	w, started := c.workers[from], from >= 2 && from < c.nextID
	c.mu.Unlock()
	switch {
	case w != nil:
		return nil
	case started:
		return errGoneWorker // sent before it exited: what it says is moot
	}
	return fmt.Errorf("it comes from worker %d, which is not one of this run's", from)
}

// errGoneWorker is checkUp's answer for a message of a worker that has
// exited since it sent it.
var errGoneWorker = errors.New("its worker is gone")

// reasonErr is the context error of a Cancel's reason.
func reasonErr(k wire.Kind) error {
	if k == wire.KindDeadline {
		return context.DeadlineExceeded
	}
	return context.Canceled
}

// reasonOf is the Cancel reason for the end of ctx.
func reasonOf(ctx context.Context) wire.Kind {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return wire.KindDeadline
	}
	return wire.KindCanceled
}

// SendResult sends worker the end of a task that lives here.
func (c *Coordinator) SendResult(worker int, r *wire.Result) {
	c.mu.Lock()
	conn, subject := c.conn, c.subj.worker(worker)
	if conn != nil {
		r.Result = c.mv.offload(r.Result)
	}
	c.mu.Unlock()
	if conn == nil {
		return
	}
	if data, err := wire.Encode(wire.Order{Result: r}); err == nil {
		_ = conn.Publish(subject, data)
	}
}

// onDone hands a task's outcome to the call waiting for it.
func (c *Coordinator) onDone(d *wire.Done) {
	// Before the worker's next message, which may end the holds of the
	// handles whose references its result holds.
	d.Refs = c.home.Pin(d.Refs)
	c.mu.Lock()
	pc := c.calls[d.Task]
	if pc != nil && pc.worker == d.Worker {
		// The call forgets it (see forget): until then, the task counts
		// in its worker's load, so that RemoveProc waits for its result.
		pc.done <- d // one Done per task: never blocks
	} else {
		pc = nil
	}
	mv := c.mv
	c.mu.Unlock()
	if pc == nil {
		mv.discard(d.Result) // a cancelled call's: nobody will pull it
		c.home.Unpin(d.Refs)
	}
}

// Workers returns the ids of the live workers, 1 first.
func (c *Coordinator) Workers() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.liveLocked()
}

// Procs returns the number of processors of live worker id, or 0.
func (c *Coordinator) Procs(id int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.workers[id]; w != nil && w.live {
		return w.procs
	}
	return 0
}

// Target is where a task may run: one of Workers (any live worker but 1
// when nil), on processor Thread of it (from 1; 0 for any).
type Target struct {
	Workers []int
	Thread  int
	// Reserved says that Workers[0] was chosen by Reserve, which counted
	// the task in its load already.
	Reserved bool
	// Inputs is where the task's arguments are, when the caller worked it
	// out already (InputsOf); else Call does.
	Inputs Inputs
}

// Options are the options of a task that travel with it, and GetResult.
type Options struct {
	Name      string
	Occupancy float64
	Priority  int
	// GetResult brings the result to worker 1 when the task ends, instead
	// of leaving it on its worker until it is needed.
	GetResult bool
	// TimeUtil is how long the task is expected to run: placement weighs
	// it against moving the task's inputs.
	TimeUtil time.Duration
	// Deaths is how many workers may die while they run the task before
	// it fails (0: DefaultWorkerDeaths).
	Deaths int
	// Once says that the task must not run twice: it fails when its
	// worker dies while it runs, and its result is not made again when
	// the worker that kept it is gone.
	Once bool
	// Scoped are the options that the task's context carries, which go
	// with it (wire.Submit.Scoped). Call takes them from its ctx (see
	// SetScoped) when they are nil.
	Scoped *wire.Scoped
}

// Call runs fn(args...) on a worker of target and returns its result: a
// *Value that stays on that worker until it is needed, or, with
// opts.GetResult, the value itself, decoded into fn's result type. It is
// the body of a task placed on another worker (sched.Spec.Call): when ctx
// ends, the worker is told to cancel the task and Call returns at once.
// Among the workers of target, it picks the one where the task starts
// soonest, counting the time to move its inputs there (see Cost).
//
// Arguments whose workers are gone are made again first (see lineage).
// When the worker dies while it runs the task, the task runs again on a
// live worker that target allows (any, for a worker that Reserve chose),
// until opts.Deaths workers died; a task pinned to one worker fails with
// it, wrapping sched.ErrNoProcessor, and one with opts.Once fails at
// once. Either way the error is ErrWorkerLost.
func (c *Coordinator) Call(ctx context.Context, target Target, opts Options, fn any, sig *call.Sig, args []any) (any, error) {
	if f := c.scoped.Load(); f != nil && opts.Scoped == nil {
		opts.Scoped = (*f)(ctx)
	}
	return c.call(ctx, target, opts, fn, sig, args)
}

// call is Call with the task's scoped options in opts: a lineage runs its
// call again with those it had (see remake), whatever the context that
// needs its value carries.
func (c *Coordinator) call(ctx context.Context, target Target, opts Options, fn any, sig *call.Sig, args []any) (any, error) {
	limit := opts.Deaths
	if limit <= 0 {
		limit = DefaultWorkerDeaths
	}
	name := c.nameOf(fn)
	for deaths, losses := 0, 0; ; {
		if err := c.recoverInputs(ctx, name, args); err != nil {
			if target.Reserved {
				c.unreserve(target.Workers[0])
			}
			return nil, err
		}
		res, err := c.try(ctx, target, opts, fn, sig, args)
		switch {
		case err == nil:
			if v, ok := res.(*Value); ok && v.kept() {
				v.lin = lineageOf(target, opts, fn, sig, args)
			}
			return res, nil
		case ctx.Err() != nil:
			return nil, err
		case errors.Is(err, ErrWorkerLost):
			deaths++
			switch {
			case opts.Once:
				return nil, fmt.Errorf("dagr: %s must not run twice (Options.RunOnce), and its worker died while it ran it: %w", name, err)
			case !target.Reserved && len(target.Workers) == 1:
				return nil, fmt.Errorf("%w: %s is pinned to worker %d, which died while it ran it: %w", sched.ErrNoProcessor, name, target.Workers[0], err)
			case deaths == limit:
				return nil, fmt.Errorf("dagr: %s ran on %d workers that died while they ran it; the last: %w", name, deaths, err)
			}
		case errors.Is(err, errInputLost) && losses < maxInputLosses:
			losses++
		default:
			return nil, err
		}
		if target.Reserved {
			target = Target{}
		}
		target.Inputs = nil
	}
}

// try sends the task to a worker once (see Call).
func (c *Coordinator) try(ctx context.Context, target Target, opts Options, fn any, sig *call.Sig, args []any) (_ any, err error) {
	sent := false // once the task is sent, its call's entry counts it in the load
	if target.Reserved {
		// Until then, an error gives the reservation back.
		defer func() {
			if err != nil && !sent {
				c.unreserve(target.Workers[0])
			}
		}()
	}
	name, ok := c.reg.Registered(fn)
	if !ok {
		return nil, fmt.Errorf("dagr: %s is not registered (dagr.Register), so it runs only on worker 1", name)
	}
	// The Values among args stay reachable, and so kept on their workers,
	// until the worker that runs the task has pulled them; and the workers
	// that keep them are not stopped meanwhile (see RemoveProc).
	defer runtime.KeepAlive(args)
	in := target.Inputs
	if in == nil {
		in = InputsOf(args)
	}
	defer c.pinHolders(in)()
	sub := &wire.Submit{Func: name, Name: opts.Name, Thread: target.Thread, Occupancy: opts.Occupancy, Priority: opts.Priority, Scoped: opts.Scoped,
		Timeout: wire.TimeLeft(ctx)}
	if on := c.logOn.Load(); on != nil {
		sub.Log = (*on)()
	}
	var refs []uint64 // in the arguments encoded here, which hold them until the call ends
	defer func() { c.home.Unpin(refs) }()
	for i, a := range args {
		data, err := c.values.Encode(a)
		if _, remote := a.(*Value); !remote {
			refs = append(refs, c.home.PinEncoded(wire.RefsIn(data))...)
		}
		if err != nil {
			return nil, fmt.Errorf("dagr: argument %d of %s: %w", i+1, name, err)
		}
		sub.Args = append(sub.Args, data)
	}
	c.mu.Lock()
	for i, data := range sub.Args {
		if c.mv != nil {
			sub.Args[i] = c.mv.offload(data)
		}
	}
	var w *workerProc
	if target.Reserved {
		if w = c.workers[target.Workers[0]]; w == nil || !w.live {
			c.mu.Unlock()
			return nil, fmt.Errorf("%w: worker %d is gone", sched.ErrNoProcessor, target.Workers[0])
		}
	} else {
		if w, err = c.pickLocked(target, in, opts.TimeUtil); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		w.load++
	}
	c.nextTask++
	sub.Task = c.nextTask
	pc := &pendingCall{worker: w.id, done: make(chan *wire.Done, 1)}
	c.calls[sub.Task] = pc
	conn, subject := c.conn, c.subj.worker(w.id)
	// Taken before c.mu is let go: a RemoveProc that marks w gone after
	// this sends its Stop after the task, which w then runs before it
	// stops.
	w.sendMu.RLock()
	c.mu.Unlock()
	sent = true
	// The call counts in w's load until it has made its result a Value
	// (which RemoveProc brings here) or given up.
	defer c.forget(sub.Task)
	data, err := wire.Encode(wire.Order{Submit: sub})
	if err == nil {
		err = conn.Publish(subject, data)
	}
	w.sendMu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("dagr: sending %s to worker %d: %w", name, w.id, err)
	}
	select {
	case d := <-pc.done:
		w.notePulled(d.Pulled)
		if f := c.ran.Load(); f != nil && d.Started != 0 {
			(*f)(ctx, Ran{Worker: w.id, Thread: d.Thread, Moved: d.Moved, Start: time.Unix(0, d.Started), End: time.Unix(0, d.Ended)})
		}
		if d.Lost {
			return nil, lostError{c.errOf(w.id, d.Err)}
		}
		if d.Err != nil {
			return nil, c.inputLost(ctx, d, c.errOf(w.id, d.Err))
		}
		if sig.Results != call.ResultValue && sig.Results != call.ResultValueErr {
			return nil, nil
		}
		if !opts.GetResult {
			return c.newValue(w.id, sig.Type.Out(0), d.Result, d.Refs), nil
		}
		// Decoded below: its references hold until then.
		defer c.home.Unpin(d.Refs)
		// Here at once, decoded in place when it was pulled; the worker
		// drops its copy.
		raw, owned, err := c.Materialize(ctx, d.Result)
		c.mu.Lock()
		mv := c.mv
		c.mu.Unlock()
		mv.discard(d.Result)
		if err != nil {
			err = fmt.Errorf("dagr: the result of %s from worker %d: %w", name, w.id, err)
			if ctx.Err() == nil && c.dead(ctx, w) {
				// Lost with its worker, which died once the task ended.
				return nil, lostError{err}
			}
			return nil, err
		}
		res, err := c.values.Decode(raw, sig.Type.Out(0), owned)
		if err != nil {
			return nil, fmt.Errorf("dagr: the result of %s from worker %d: %w", name, w.id, err)
		}
		return res, nil
	case <-ctx.Done():
		c.forget(sub.Task)
		select {
		case d := <-pc.done: // ended meanwhile: nobody decodes its result
			c.home.Unpin(d.Refs)
		default:
		}
		if data, err := wire.Encode(wire.Order{Cancel: &wire.Cancel{Task: sub.Task, Reason: reasonOf(ctx)}}); err == nil {
			_ = conn.Publish(subject, data)
		}
		return nil, context.Cause(ctx)
	}
}

// pinHolders counts a call under way in the pins of the workers that keep
// its inputs, and returns what takes it out.
func (c *Coordinator) pinHolders(in Inputs) (unpin func()) {
	var holders []int
	for _, x := range in {
		if x.Worker != 1 && !slices.Contains(holders, x.Worker) {
			holders = append(holders, x.Worker)
		}
	}
	if len(holders) == 0 {
		return func() {}
	}
	c.mu.Lock()
	for _, h := range holders {
		c.pinned[h]++
	}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		for _, h := range holders {
			if c.pinned[h]--; c.pinned[h] == 0 {
				delete(c.pinned, h)
			}
		}
		c.idle.Broadcast()
		c.mu.Unlock()
	}
}

// Reserve chooses, among the live workers with a free processor, the one
// where a task with inputs in starts soonest, and counts a task in its
// load: Call it with a Target{Workers: []int{id}, Reserved: true}. It
// returns the time the task would take to start there (see startCost),
// and false when every worker is busy.
func (c *Coordinator) Reserve(in Inputs) (int, time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var (
		best     *workerProc
		bestCost time.Duration
	)
	for _, w := range c.workers {
		if !w.live || w.load >= w.procs {
			continue
		}
		if cost := startCost(w, in, 0); best == nil || cost < bestCost {
			best, bestCost = w, cost
		}
	}
	if best == nil || c.closed {
		return 0, 0, false
	}
	best.load++
	return best.id, bestCost, true
}

// Unreserve gives back a reservation that was not used.
func (c *Coordinator) Unreserve(id int) { c.unreserve(id) }

func (c *Coordinator) unreserve(id int) {
	c.mu.Lock()
	room := false
	if w := c.workers[id]; w != nil {
		w.load--
		c.idle.Broadcast()
		room = w.live && w.load < w.procs
	}
	onRoom := c.onRoom
	c.mu.Unlock()
	if room && onRoom != nil {
		onRoom()
	}
}

// pickLocked chooses the live worker of target where a task with these
// inputs starts soonest (see startCost).
func (c *Coordinator) pickLocked(target Target, in Inputs, timeUtil time.Duration) (*workerProc, error) {
	if c.closed {
		return nil, ErrClosed
	}
	var (
		best     *workerProc
		bestCost time.Duration
	)
	consider := func(w *workerProc) {
		if w == nil || !w.live || target.Thread > w.procs {
			return
		}
		if cost := startCost(w, in, timeUtil); best == nil || cost < bestCost {
			best, bestCost = w, cost
		}
	}
	if target.Workers == nil {
		for _, w := range c.workers {
			consider(w)
		}
	}
	for _, id := range target.Workers {
		consider(c.workers[id])
	}
	if best == nil {
		where := "any worker but 1"
		if target.Workers != nil {
			where = fmt.Sprintf("workers %v", target.Workers)
		}
		if target.Thread > 0 {
			where += fmt.Sprintf(", processor %d", target.Thread)
		}
		return nil, fmt.Errorf("%w: no live worker has %s (live workers: %v)", sched.ErrNoProcessor, where, c.liveLocked())
	}
	return best, nil
}

func (c *Coordinator) liveLocked() []int {
	ids := []int{1}
	for id, w := range c.workers {
		if w.live {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (c *Coordinator) forget(task uint64) {
	c.mu.Lock()
	var left []byte // the result of a call that did not take it
	room := false
	if pc := c.calls[task]; pc != nil {
		delete(c.calls, task)
		if w := c.workers[pc.worker]; w != nil {
			w.load--
			c.idle.Broadcast()
			room = w.live && w.load < w.procs
		}
		select {
		case d := <-pc.done:
			left = d.Result
		default:
		}
	}
	mv, onRoom := c.mv, c.onRoom
	c.mu.Unlock()
	if left != nil {
		mv.discard(left)
	}
	if room && onRoom != nil {
		onRoom()
	}
}

// stopTimeout is how long a stopped worker may take to finish its tasks
// and exit before it is killed.
const stopTimeout = 30 * time.Second

// RemoveProc stops worker id: it takes no new task, finishes those it
// runs, and exits; RemoveProc returns once it has.
func (c *Coordinator) RemoveProc(ctx context.Context, id int) error {
	c.mu.Lock()
	w := c.workers[id]
	if w == nil || !w.live {
		live := c.liveLocked()
		c.mu.Unlock()
		return fmt.Errorf("dagr: RemoveProc(%d): no such worker (live workers: %v)", id, live)
	}
	w.live = false
	conn, subject := c.conn, c.subj.worker(id)
	// Its tasks finish, then the results it keeps that are still needed
	// come here, then it stops: nothing that can be fetched is lost.
	stopWaiting := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.idle.Broadcast()
		c.mu.Unlock()
	})
	defer stopWaiting()
	for w.load > 0 && ctx.Err() == nil {
		c.idle.Wait()
	}
	var keep []*Value
	for wp, holder := range c.kept {
		if v := wp.Value(); v != nil && holder == id {
			keep = append(keep, v)
		}
	}
	c.mu.Unlock()
	for _, v := range keep {
		// One that cannot come stays where it was: a Get of it then fails
		// once the worker is gone, saying so. The worker keeps its copy
		// until it exits, for the pulls already under way.
		if v.bring(ctx) != nil && ctx.Err() != nil {
			break
		}
	}
	// Tasks sent to other workers before the values came here pull them
	// from this worker: it stops once those tasks have ended.
	c.mu.Lock()
	for c.pinned[id] > 0 && ctx.Err() == nil {
		c.idle.Wait()
	}
	c.mu.Unlock()
	return c.stop(ctx, w, conn, subject)
}

// stop tells w to stop and waits for it to exit, killing it if ctx ends
// first.
func (c *Coordinator) stop(ctx context.Context, w *workerProc, conn *natstransport.Conn, subject string) error {
	w.sendMu.Lock() // after every task sent to w
	if data, err := wire.Encode(wire.Order{Stop: true}); err == nil {
		_ = conn.Publish(subject, data)
	}
	w.sendMu.Unlock()
	select {
	case <-w.exited:
		return nil
	case <-ctx.Done():
		if w.cmd == nil {
			c.gone(w, "it did not stop in time")
			return fmt.Errorf("dagr: worker %d did not stop in time and was declared dead: %w", w.id, context.Cause(ctx))
		}
		_ = w.cmd.Process.Kill()
		<-w.exited
		return fmt.Errorf("dagr: worker %d did not stop in time and was killed: %w", w.id, context.Cause(ctx))
	}
}

// Close stops every worker, waits for them to exit, and stops the server.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.idle.Broadcast() // a WaitWorkers returns
	var ws []*workerProc
	for _, w := range c.workers {
		w.live = false
		ws = append(ws, w)
	}
	conn, srv, mv, stopMonitor := c.conn, c.srv, c.mv, c.stopMonitor
	c.mu.Unlock()
	// The monitor declares dead, meanwhile, a remote worker that died
	// unseen: it cannot tell that it exited.
	if stopMonitor != nil {
		defer close(stopMonitor)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { _ = c.stop(ctx, w, conn, c.subj.worker(w.id)) })
	}
	wg.Wait()
	if conn != nil {
		mv.close()
		conn.Close()
	}
	if srv != nil {
		c.stopEvents()
		srv.Shutdown()
	}
}
