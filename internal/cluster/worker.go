package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/natstransport"
	"github.com/dagr/dagr/internal/wire"
)

// Exec runs a task sent to this worker on the worker's own scheduler and
// returns its result, and where and when it ran.
type Exec func(ctx context.Context, s *wire.Submit, fn any, args []any) (res any, ran Ran, err error)

// Worker is the side of a run in a worker process.
type Worker struct {
	join      Join
	reg       *Registry
	procs     int
	exec      Exec
	encodeErr func(error) *wire.Error
	values    Values

	conn *natstransport.Conn
	subj subjects
	mv   *mover

	onLog atomic.Pointer[func(on bool)] // see OnLog

	gone  chan string // why the worker must exit: its scheduler or connection is gone
	token string      // its name while it joins by URL

	mu       sync.Mutex
	running  map[uint64]context.CancelCauseFunc
	awaited  map[uint64]*Awaited // tasks on worker 1 whose Result this worker waits for
	stopping bool
	tasks    sync.WaitGroup
}

// Awaited is a task on worker 1 whose end this worker waits for.
type Awaited struct {
	done chan struct{} // closed when res is set
	res  *wire.Result

	mu        sync.Mutex
	onArrival []func()
}

// OnArrival calls f when the Result arrives, or now if it has.
func (a *Awaited) OnArrival(f func()) {
	a.mu.Lock()
	select {
	case <-a.done:
		a.mu.Unlock()
		f()
		return
	default:
	}
	a.onArrival = append(a.onArrival, f)
	a.mu.Unlock()
}

// WorkerFromEnv returns the settings of a process started as a worker, and
// false in any other process.
func WorkerFromEnv() (Join, bool, error) { return joinFromEnv() }

// NewWorker returns the worker side of run j, with procs processors; exec
// runs the tasks sent to it.
func NewWorker(j Join, reg *Registry, procs int, exec Exec, encodeErr func(error) *wire.Error, values Values) *Worker {
	return &Worker{join: j, reg: reg, procs: procs, exec: exec, encodeErr: encodeErr, values: values, subj: subjectsOf(j.Run),
		running: make(map[uint64]context.CancelCauseFunc), awaited: make(map[uint64]*Awaited)}
}

// ID returns the worker's id.
func (w *Worker) ID() int { return w.join.Worker }

// Connect connects to the run's server and, for a worker that joins by
// URL, asks worker 1 for an id (see ID). It returns 0, or the exit code
// of a worker that cannot join.
func (w *Worker) Connect() int {
	j := &w.join
	w.gone = make(chan string, 3)
	name := "dagr worker"
	if j.Remote {
		w.token = natstransport.NewSecret()
		name = remoteName + w.token
	}
	conn, err := natstransport.Connect(j.Creds, name, func() {
		w.gone <- "its connection to the run's NATS server closed"
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "dagr: a worker of run %s: %v\n", j.Run, err)
		return 2
	}
	w.conn = conn
	if !j.Remote {
		return 0
	}
	welcome, code := w.hello(0)
	if code != 0 {
		conn.Close()
		return code
	}
	j.Worker, j.Beat = welcome.Worker, welcome.Beat
	return 0
}

// remoteName begins the name of the NATS connection of a worker that
// joins by URL; its token (wire.Hello.Token) ends it, so that worker 1
// knows whose connection closed.
const remoteName = "dagr worker "

// Serve serves the run that Connect reached until told to stop or until
// the scheduler is gone. It returns the process's exit code.
func (w *Worker) Serve() int {
	j := w.join
	stop := make(chan struct{})
	var stopOnce sync.Once
	conn := w.conn
	var err error
	if w.mv, err = newMover(j.Worker, conn, w.subj, j.Key, j.Creds.URL, j.Streams); err != nil {
		fmt.Fprintf(os.Stderr, "dagr: worker %d: %v\n", j.Worker, err)
		return 2
	}
	defer w.mv.close()
	if !j.Remote {
		// The scheduler's process holds the other end of standard input:
		// when it ends, however it ends, the read returns.
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			w.gone <- "the scheduler's process is gone"
		}()
	}
	if _, err := conn.Subscribe(w.subj.worker(j.Worker), func(m natstransport.Msg) {
		o, err := wire.Decode[wire.Order](m.Data)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dagr: worker %d: dropped a message: %v\n", j.Worker, err)
			return
		}
		switch {
		case o.Submit != nil:
			if f := w.onLog.Load(); f != nil {
				(*f)(o.Submit.Log)
			}
			w.start(o.Submit)
		case o.Cancel != nil:
			w.cancel(o.Cancel)
		case o.Result != nil:
			w.arrived(o.Result)
		case o.Stop:
			stopOnce.Do(func() { close(stop) })
		}
	}); err != nil {
		fmt.Fprintf(os.Stderr, "dagr: worker %d: %v\n", j.Worker, err)
		return 2
	}
	if _, code := w.hello(j.Worker); code != 0 {
		conn.Close()
		return code
	}
	if j.Beat > 0 {
		beating := make(chan struct{})
		defer func() { <-beating }()
		done := make(chan struct{})
		defer close(done)
		go func() {
			defer close(beating)
			w.beat(j.Beat, done)
		}()
	}
	select {
	case <-stop:
		w.mu.Lock()
		w.stopping = true
		w.mu.Unlock()
		w.tasks.Wait()
		w.mv.drain(drainTimeout)
		bye := wire.Beat{Worker: j.Worker, Leaving: true, Proof: proof(j.Key, j.Run, "leaving", strconv.Itoa(j.Worker))}
		if data, err := wire.Encode(bye); err == nil {
			_ = conn.Publish(w.subj.beat(), data)
		}
		conn.Close()
		return 0
	case why := <-w.gone:
		fmt.Fprintf(os.Stderr, "dagr: worker %d exits: %s\n", j.Worker, why)
		return 1
	}
}

// Offload returns data, or, when it is too large to travel in a message,
// a wire.Held that stands for it, which its receiver pulls from here.
func (w *Worker) Offload(data []byte) []byte { return w.mv.offload(data) }

// Kept returns the number of task results this worker keeps for the run
// (see Value), and their bytes.
func (w *Worker) Kept() (n int, bytes int64) { return w.mv.kept() }

// Materialize returns the encoding of the value data stands for, pulling
// it from the process that holds it if need be; owned says that it was
// pulled into a buffer of its own, which the caller may keep.
func (w *Worker) Materialize(ctx context.Context, data []byte) (_ []byte, owned bool, _ error) {
	return w.mv.materialize(ctx, data)
}

// Ask asks worker 1 about the run, and returns the live workers after it
// answered.
func (w *Worker) Ask(ctx context.Context, q wire.Ask) ([]int, error) {
	data, err := wire.Encode(q)
	if err != nil {
		return nil, err
	}
	reply, err := w.conn.Request(ctx, w.subj.ask(), data)
	if err != nil {
		return nil, fmt.Errorf("dagr: asking worker 1: %w", err)
	}
	a, err := wire.Decode[wire.Answer](reply)
	if err != nil {
		return nil, err
	}
	if a.Err != "" {
		return nil, errors.New(a.Err)
	}
	return a.Workers, nil
}

// OnLog makes f hear, with each task that worker 1 sends, whether worker
// 1 keeps an event log (wire.Submit.Log).
func (w *Worker) OnLog(f func(on bool)) { w.onLog.Store(&f) }

// SendEvents sends worker 1 events of this worker's log.
func (w *Worker) SendEvents(e *wire.Events) error {
	e.From = w.join.Worker
	return w.up(wire.Up{Events: e})
}

// up sends worker 1 a message.
func (w *Worker) up(u wire.Up) error {
	data, err := wire.Encode(u)
	if err != nil {
		return err
	}
	return w.conn.Publish(w.subj.up(), data)
}

// Expect makes ready for the Result of a task on worker 1, before this
// worker asks for it.
func (w *Worker) Expect(task uint64) *Awaited {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.awaited[task]
	if a == nil {
		a = &Awaited{done: make(chan struct{})}
		w.awaited[task] = a
	}
	return a
}

func (w *Worker) arrived(r *wire.Result) {
	w.mu.Lock()
	a := w.awaited[r.Task]
	delete(w.awaited, r.Task)
	w.mu.Unlock()
	if a == nil {
		w.mv.free(r.Result) // nobody waits for it here
		return
	}
	a.res = r
	a.mu.Lock()
	close(a.done)
	fs := a.onArrival
	a.onArrival = nil
	a.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// SpawnHome asks worker 1 to spawn a task for this worker; Await returns
// its Result.
func (w *Worker) SpawnHome(s *wire.Spawn) (*Awaited, error) {
	a := w.Expect(s.Task)
	return a, w.up(wire.Up{Spawn: s})
}

// Watch asks worker 1 for the Result of a task that lives there.
func (w *Worker) Watch(task uint64) (*Awaited, error) {
	a := w.Expect(task)
	return a, w.up(wire.Up{Watch: &wire.Watch{Task: task, From: w.join.Worker}})
}

// Rewatch asks worker 1 again for the Result of a task whose value this
// worker could not pull: worker 1 makes the value again if its holder
// died.
func (w *Worker) Rewatch(task uint64) (*Awaited, error) {
	a := w.Expect(task)
	return a, w.up(wire.Up{Watch: &wire.Watch{Task: task, From: w.join.Worker, Retry: true}})
}

// beat sends worker 1 a heartbeat every period until done is closed. A
// worker that worker 1 no longer counts in the run exits; so does one that
// joined by URL and had no answer for three periods: worker 1 is gone, or
// out of reach, and has declared it dead by now.
func (w *Worker) beat(period time.Duration, done <-chan struct{}) {
	t := time.NewTicker(period)
	defer t.Stop()
	answered := time.Now()
	send := func() (refused string, err error) {
		data, err := wire.Encode(wire.Beat{Worker: w.join.Worker, Pulled: w.mv.pulled.Load()})
		if err != nil {
			return "", err
		}
		ctx, cancel := context.WithTimeout(context.Background(), period)
		defer cancel()
		reply, err := w.conn.Request(ctx, w.subj.beat(), data)
		if err != nil {
			return "", err
		}
		answered = time.Now()
		if a, err := wire.Decode[wire.Welcome](reply); err == nil {
			refused = a.Refused
		}
		return refused, nil
	}
	for {
		refused, err := send()
		if err != nil && w.join.Remote && time.Since(answered) > 3*period {
			// This process may have been the one that stopped (a pause, a
			// suspended machine): one more beat tells.
			refused, err = send()
			if err != nil {
				w.gone <- fmt.Sprintf("worker 1 answered none of its heartbeats for %v", time.Since(answered).Round(time.Millisecond))
				return
			}
		}
		if refused != "" {
			w.gone <- "worker 1 refused its heartbeat: " + refused
			return
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// Release tells worker 1 that this worker dropped a handle of task, which
// lives there: the handle's hold ends.
func (w *Worker) Release(task uint64) {
	_ = w.up(wire.Up{Release: &wire.Watch{Task: task, From: w.join.Worker}})
}

// CancelHome cancels a task this worker spawned on worker 1, for the end
// of ctx, unless it has ended.
func (w *Worker) CancelHome(ctx context.Context, task uint64) {
	_ = w.up(wire.Up{Cancel: &wire.Cancel{Task: task, Reason: reasonOf(ctx)}})
}

// Await waits for the Result of a. If ctx ends first, it returns ctx's
// error, and if cancel is set it cancels the task on worker 1.
func (w *Worker) Await(ctx context.Context, task uint64, a *Awaited, cancel bool) (*wire.Result, error) {
	select {
	case <-a.done:
		return a.res, nil
	case <-ctx.Done():
		if cancel {
			_ = w.up(wire.Up{Cancel: &wire.Cancel{Task: task, Reason: reasonOf(ctx)}})
		}
		return nil, context.Cause(ctx)
	}
}

// drainTimeout bounds how long a stopping worker waits for worker 1 to
// pull the large results of its last tasks.
const drainTimeout = 30 * time.Second

// joinTimeout bounds the wait for the scheduler's answer to a Hello.
const joinTimeout = 30 * time.Second

// hello asks to join the run as worker id (0: asks for an id, see
// wire.Hello), and returns worker 1's Welcome, and 0, once admitted.
func (w *Worker) hello(id int) (wire.Welcome, int) {
	h := wire.Hello{Run: w.join.Run, Worker: id, PID: os.Getpid(), Procs: w.procs, Registry: w.reg.Funcs(), Token: w.token}
	if id == 0 {
		h.Proof = proof(w.join.Key, w.join.Run, w.token)
	}
	data, err := wire.Encode(h)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dagr: worker %d: %v\n", id, err)
		return wire.Welcome{}, 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
	defer cancel()
	reply, err := w.conn.Request(ctx, w.subj.join(), data)
	// A worker that joins by URL may start before its run's scheduler
	// listens, or before the scheduler's interest has crossed the NATS
	// cluster: it asks again, a little later each time.
	for wait := 10 * time.Millisecond; w.join.Remote && natstransport.NoResponders(err); wait = min(2*wait, time.Second) {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			reply, err = w.conn.Request(ctx, w.subj.join(), data)
			continue
		}
		break
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "dagr: a worker of run %s: no answer to its request to join: %v\n", w.join.Run, err)
		return wire.Welcome{}, 2
	}
	wp, err := wire.Decode[wire.Welcome](reply)
	var welcome wire.Welcome
	if err == nil {
		welcome = *wp
	}
	if err == nil && id == 0 && welcome.Refused == "" && welcome.Worker < 2 {
		err = fmt.Errorf("worker 1 gave it the id %d", welcome.Worker)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "dagr: a worker of run %s: %v\n", w.join.Run, err)
		return wire.Welcome{}, 2
	}
	if welcome.Refused != "" {
		fmt.Fprintf(os.Stderr, "dagr: a worker of run %s was refused: %s\n", w.join.Run, welcome.Refused)
		return welcome, 3
	}
	return welcome, 0
}

// start runs a submitted task on a goroutine of its own.
func (w *Worker) start(s *wire.Submit) {
	ctx, cancel := context.WithCancelCause(context.Background())
	w.mu.Lock()
	if w.stopping {
		w.mu.Unlock()
		cancel(nil)
		w.send(&wire.Done{Task: s.Task, Worker: w.join.Worker, Err: &wire.Error{Msg: fmt.Sprintf("worker %d is stopping", w.join.Worker), Origin: w.join.Worker}})
		return
	}
	w.running[s.Task] = cancel
	w.tasks.Add(1)
	w.mu.Unlock()
	go func() {
		defer w.tasks.Done()
		d := w.run(ctx, s)
		w.mu.Lock()
		delete(w.running, s.Task)
		w.mu.Unlock()
		// ctx is not cancelled now: the tasks that the task spawned with it
		// may outlive it (their handles may be in its result).
		w.send(d)
	}()
}

// run decodes a task's arguments, runs it, and encodes its outcome.
func (w *Worker) run(ctx context.Context, s *wire.Submit) *wire.Done {
	d := &wire.Done{Task: s.Task, Worker: w.join.Worker}
	pulled := 0 // the arguments pulled so far: the others are freed on failure
	fail := func(format string, args ...any) *wire.Done {
		d.Err = &wire.Error{Msg: fmt.Sprintf(format, args...), Task: s.Func, Origin: w.join.Worker}
		for _, raw := range s.Args[pulled:] {
			w.mv.free(raw)
		}
		return d
	}
	fn, ok := w.reg.Lookup(s.Func)
	if !ok {
		return fail("%s is not registered on worker %d", s.Func, w.join.Worker)
	}
	sig, err := call.Analyze(fn)
	if err != nil {
		return fail("%v", err)
	}
	if err := sig.CheckCount(fn, len(s.Args)); err != nil {
		return fail("%v", err)
	}
	args := make([]any, len(s.Args))
	for i, raw := range s.Args {
		pulled = i + 1 // materialize frees it, pulled or not
		if v, ok := w.mv.value(raw, sig.Param(i)); ok {
			args[i] = v // made here, by an earlier task
			continue
		}
		data, owned, err := w.mv.materialize(ctx, raw)
		if err != nil {
			if h, ok := wire.DecodeHeld(raw); ok && h.Holder != w.join.Worker {
				d.Missing = h.Holder // it may be dead: worker 1 will see
			}
			return fail("argument %d of %s: %v", i+1, s.Func, err)
		}
		raw = data
		if owned {
			d.Moved += int64(len(data)) // pulled from another process
		}
		v, err := w.values.Decode(raw, sig.Param(i), owned)
		if err != nil {
			return fail("argument %d of %s: %v", i+1, s.Func, err)
		}
		args[i] = v
	}
	start := time.Now()
	res, ran, err := w.exec(ctx, s, fn, args)
	end := time.Now()
	if !ran.Start.IsZero() { // when f ran, not from when the task came
		start, end = ran.Start, ran.End
	}
	d.Started, d.Ended, d.Thread = start.UnixNano(), end.UnixNano(), ran.Thread
	defer func() { d.Pulled = w.mv.pulled.Load() }()
	if err != nil {
		d.Err = w.encodeErr(err)
		if d.Err.Origin == 0 {
			// Else it failed on another worker first: the task passed
			// that failure on.
			d.Err.Origin = w.join.Worker
		}
		return d
	}
	if sig.Results == call.ResultValue || sig.Results == call.ResultValueErr {
		// A numeric slice is sent from its own memory, without a copy.
		enc, ok := wire.TypedArray(res)
		if !ok {
			data, err := w.values.Encode(res)
			if err != nil {
				return fail("the result of %s: %v", s.Func, err)
			}
			enc = [][]byte{data}
			d.Refs = wire.RefsIn(data)
		}
		// A large result stays here, for any worker to pull, until
		// worker 1 frees it; a task here takes the value itself.
		d.Result = w.mv.keep(enc, res)
	}
	return d
}

func (w *Worker) send(d *wire.Done) {
	data, err := wire.Encode(wire.Up{Done: d})
	if err != nil {
		data, _ = wire.Encode(wire.Up{Done: &wire.Done{Task: d.Task, Worker: d.Worker, Err: &wire.Error{Msg: err.Error(), Origin: d.Worker}}})
	}
	if err := w.conn.Publish(w.subj.up(), data); err != nil {
		fmt.Fprintf(os.Stderr, "dagr: worker %d: sending the end of task %d: %v\n", w.join.Worker, d.Task, err)
	}
}

// cancel stops a running task.
func (w *Worker) cancel(c *wire.Cancel) {
	w.mu.Lock()
	cancel := w.running[c.Task]
	w.mu.Unlock()
	if cancel == nil {
		return
	}
	if c.Reason == wire.KindDeadline {
		cancel(context.DeadlineExceeded)
	} else {
		cancel(context.Canceled)
	}
}
