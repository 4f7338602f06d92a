package dagr

import (
	"context"
	"fmt"
	"reflect"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/cluster"
	"github.com/dagr/dagr/internal/wire"
)

// The tasks that tasks on workers spawn live on worker 1, where the DAG
// is, under the id their worker chose; they run where their options and
// the scheduler place them. So does every task that another process holds
// a handle of. refs keeps them, by id, for as long as another process may
// name them: each entry counts its holds, and goes at none.
//
// A hold is one of:
//   - a worker's handle of the task: the one it spawned (Spawn), or one
//     that a value brought it (Watch); the worker's Release ends it once
//     the handle is garbage, and so does the worker's end (WorkerGone);
//   - a value that holds a reference to the task, for as long as another
//     process may decode it: one that worker 1 encoded (PinEncoded), in a
//     task's arguments until the task ends on its worker, or in a result
//     sent to a worker until the entry of the task whose result it is
//     goes; one that a worker encoded (it lists the references,
//     wire.Done.Refs and wire.Spawn.Refs), until the cluster.Value that
//     stands for it is garbage, or the task whose arguments it is ends;
//   - a value being encoded on worker 1, from Task.MarshalCBOR to
//     PinEncoded.
//
// Everything a worker sends worker 1 comes in order (wire.Up): a worker
// that decodes a value sends its Watch before the end of the task that
// took the value, and before the Release of the handle whose result it
// was, so a value's hold ends only after the holds of the handles made
// from it began.
//
// home is worker 1's side of them: cluster.Home.
type home struct{ s *Scheduler }

// ref is a task that other processes may name.
type ref struct {
	t     *Task
	holds int
	// byWorker counts, among holds, those of each worker's handles, which
	// end when the worker is gone.
	byWorker map[int]int
	// carries are the references in the results of t that worker 1 sent
	// to workers: held until this entry goes.
	carries []uint64
}

// hold adds a hold of t, which is task id, keeping t for other processes
// to name: a handle's on worker, or, with worker 0, a value's.
func (s *Scheduler) hold(id uint64, t *Task, worker int) {
	s.clMu.Lock()
	defer s.clMu.Unlock()
	s.holdLocked(id, t, worker)
}

func (s *Scheduler) holdLocked(id uint64, t *Task, worker int) {
	if s.refs == nil {
		s.refs = make(map[uint64]*ref)
	}
	r := s.refs[id]
	if r == nil {
		r = &ref{t: t}
		s.refs[id] = r
	}
	r.holds++
	if worker != 0 {
		if r.byWorker == nil {
			r.byWorker = make(map[int]int)
		}
		r.byWorker[worker]++
	}
}

// holdEncoded is hold for Task.MarshalCBOR on worker 1: the hold keeps
// the task until the value being encoded holds it (PinEncoded).
func (s *Scheduler) holdEncoded(id uint64, t *Task) {
	s.clMu.Lock()
	defer s.clMu.Unlock()
	s.holdLocked(id, t, 0)
	if s.encoding == nil {
		s.encoding = make(map[uint64]int)
	}
	s.encoding[id]++
}

// Pin adds a hold of each task of ids that worker 1 knows, and returns
// those: what Unpin is to end.
func (h home) Pin(ids []uint64) []uint64 { return h.pin(ids, false) }

// PinEncoded is Pin for the references in a value that worker 1 encoded,
// and ends as many of the holds that Task.MarshalCBOR took meanwhile
// (holdEncoded): the value holds its tasks from now on. A reference that
// did not come from MarshalCBOR (a tag kept in a field of type any) is
// held only if its task is still known.
func (h home) PinEncoded(ids []uint64) []uint64 { return h.pin(ids, true) }

func (h home) pin(ids []uint64, encoded bool) []uint64 {
	if len(ids) == 0 {
		return nil
	}
	s := h.s
	s.clMu.Lock()
	defer s.clMu.Unlock()
	var pinned []uint64
	for _, id := range ids {
		r := s.refs[id]
		if r == nil {
			continue
		}
		pinned = append(pinned, id)
		if encoded && s.encoding[id] > 0 {
			// MarshalCBOR's hold becomes the value's.
			if s.encoding[id]--; s.encoding[id] == 0 {
				delete(s.encoding, id)
			}
			continue
		}
		r.holds++
	}
	return pinned
}

// Unpin ends a hold of each task of ids, and forgets those that no other
// process may name any more, with what their results held.
func (h home) Unpin(ids []uint64) {
	s := h.s
	for len(ids) > 0 {
		var freed []uint64
		s.clMu.Lock()
		for _, id := range ids {
			r := s.refs[id]
			if r == nil {
				continue
			}
			if r.holds--; r.holds <= 0 {
				delete(s.refs, id)
				freed = append(freed, r.carries...)
			}
		}
		s.clMu.Unlock()
		ids = freed
	}
}

// carry adds refs, the references in a result of task id that worker 1
// sends to a worker, to what id's entry holds; it reports false, holding
// nothing, when the entry is gone: no worker names the task any more, so
// none decodes the result.
func (s *Scheduler) carry(id uint64, refs []uint64) bool {
	s.clMu.Lock()
	defer s.clMu.Unlock()
	r := s.refs[id]
	if r == nil {
		return false
	}
	r.carries = append(r.carries, refs...)
	return true
}

func (s *Scheduler) ref(id uint64) *Task {
	s.clMu.Lock()
	defer s.clMu.Unlock()
	if r := s.refs[id]; r != nil {
		return r.t
	}
	return nil
}

// refCount is the number of tasks that other processes may name.
func (s *Scheduler) refCount() int {
	s.clMu.Lock()
	defer s.clMu.Unlock()
	return len(s.refs)
}

// Release ends the hold of a handle of task id that worker dropped.
func (h home) Release(id uint64, worker int) {
	s := h.s
	s.clMu.Lock()
	r := s.refs[id]
	held := r != nil && r.byWorker[worker] > 0
	if held {
		if r.byWorker[worker]--; r.byWorker[worker] == 0 {
			delete(r.byWorker, worker)
		}
	}
	s.clMu.Unlock()
	if held {
		h.Unpin([]uint64{id})
	}
}

// WorkerGone ends the holds of the handles of worker, which is gone.
func (h home) WorkerGone(worker int) {
	s := h.s
	var ids []uint64
	s.clMu.Lock()
	for id, r := range s.refs {
		for range r.byWorker[worker] {
			ids = append(ids, id)
		}
		delete(r.byWorker, worker)
	}
	s.clMu.Unlock()
	h.Unpin(ids)
}

// Spawn spawns a task for a task on worker sp.From, and sends it the
// task's end.
func (h home) Spawn(sp *wire.Spawn) {
	s := h.s
	// The references in its arguments hold until it ends: by then they
	// are decoded, the large ones too.
	pinned := h.Pin(sp.Refs)
	t, err := h.spawn(sp)
	if err != nil {
		t = s.spawn(context.Background(), sp.Task, failWith, Options{Name: sp.Func}, err)
	}
	s.hold(sp.Task, t, sp.From)
	h.watch(sp.Task, sp.From, pinned, false)
}

// failWith is the function of a task that a worker asked for in vain.
func failWith(err error) error { return err }

func (h home) spawn(sp *wire.Spawn) (*Task, error) {
	s := h.s
	fn, ok := registry.Lookup(sp.Func)
	if !ok {
		return nil, fmt.Errorf("dagr: worker %d spawned %s, which is not registered on worker 1", sp.From, sp.Func)
	}
	sig, err := call.Analyze(fn)
	if err != nil {
		return nil, err
	}
	if err := sig.CheckCount(fn, len(sp.Args)); err != nil {
		return nil, err
	}
	o := Options{Name: sp.Name, Single: sp.Single, Occupancy: sp.Occupancy, Priority: sp.Priority, Timeout: sp.Timeout, Retries: sp.Retries,
		WorkerDeaths: sp.WorkerDeaths, RunOnce: sp.RunOnce, TimeUtil: sp.TimeUtil, AllocUtil: sp.AllocUtil, GetResult: sp.GetResult, Persist: sp.Persist}
	switch {
	case sp.Thread > 0 && len(sp.Workers) == 1:
		o.Scope = ExactScope(ThreadProc{Owner: sp.Workers[0], Thread: sp.Thread})
	case len(sp.Workers) > 0:
		o.Scope = WorkerScope(sp.Workers...)
	}
	args := make([]any, 0, len(sp.Args)+1)
	args = append(args, o)
	for i, raw := range sp.Args {
		if id, ok := wire.DecodeRef(raw); ok {
			t := s.ref(id)
			if t == nil {
				return nil, fmt.Errorf("dagr: argument %d of %s from worker %d names task %d, which worker 1 does not know", i+1, sp.Func, sp.From, id)
			}
			args = append(args, t)
			continue
		}
		if _, held := wire.DecodeHeld(raw); held {
			// Too large to come with the spawn: a task of its own pulls
			// it, and the task takes it as an input.
			args = append(args, s.spawn(context.Background(), 0, s.pullArg(raw, sig.Param(i)), Options{Occupancy: NoOccupancy}))
			continue
		}
		v, err := wire.DecodeValue(raw, sig.Param(i))
		if err != nil {
			return nil, fmt.Errorf("dagr: argument %d of %s from worker %d: %w", i+1, sp.Func, sp.From, err)
		}
		args = append(args, v)
	}
	ctx := context.Background()
	if sp.Scoped != nil {
		// The options of the spawning context, for what the task spawns
		// in turn (its own have them already).
		ctx = WithOptions(ctx, optionsFromWire(sp.Scoped))
	}
	if sp.Within <= 0 {
		return s.spawn(ctx, sp.Task, fn, args...), nil
	}
	// The deadline of the spawning context, which the task's context, and
	// the worker that runs it, see; its timer goes when the task ends.
	ctx, cancel := context.WithTimeout(ctx, sp.Within)
	t := s.spawn(ctx, sp.Task, fn, args...)
	go func() {
		<-t.Done()
		cancel()
	}()
	return t, nil
}

// pullArg returns the function of a task that pulls a value that a worker
// holds, and decodes it into t.
func (s *Scheduler) pullArg(raw []byte, t reflect.Type) func(context.Context) (any, error) {
	return func(ctx context.Context) (any, error) {
		data, owned, err := s.cluster().Materialize(ctx, raw)
		if err != nil {
			return nil, err
		}
		return (values{s}).Decode(data, t, owned)
	}
}

// Watch adds a hold of task id for a handle on worker, which a value
// brought it, and sends worker the task's end once it ends.
func (h home) Watch(id uint64, worker int, retry bool) {
	if t := h.s.ref(id); t != nil && !retry {
		h.s.hold(id, t, worker)
	}
	h.watch(id, worker, nil, retry)
}

// watch sends worker the end of task id once it ends, then ends the holds
// of pinned.
func (h home) watch(id uint64, worker int, pinned []uint64, retry bool) {
	s := h.s
	cl := s.cluster()
	t := s.ref(id)
	if t == nil {
		h.Unpin(pinned)
		cl.SendResult(worker, &wire.Result{Task: id, Err: &wire.Error{Msg: fmt.Sprintf("dagr: worker 1 knows no task %d", id), Origin: 1}})
		return
	}
	go func() {
		<-t.node.Done()
		h.Unpin(pinned)
		r := &wire.Result{Task: id, Func: call.Name(t.node.Fn())}
		v, f := t.node.Outcome()
		var lost error
		if rv, ok := v.(*cluster.Value); ok && f == nil {
			// Made again first if its worker is gone, as for a Fetch here.
			lost = rv.Recover(context.Background(), retry)
		}
		if f != nil {
			r.Err = encodeError(newTaskError(id, t.node.Name(), f))
		} else if lost != nil {
			r.Err = &wire.Error{Msg: fmt.Sprintf("dagr: the result of task %d (%s): %v", id, t.node.Name(), lost)}
		} else if data, err := (values{s}).Encode(v); err != nil {
			r.Err = &wire.Error{Msg: fmt.Sprintf("dagr: the result of task %d (%s): %v", id, t.node.Name(), err)}
		} else {
			r.Result = data
			if _, remote := v.(*cluster.Value); !remote {
				// Encoded here: its references hold (Task.MarshalCBOR)
				// as long as a worker may name the task.
				if refs := h.PinEncoded(wire.RefsIn(data)); len(refs) > 0 && !s.carry(id, refs) {
					h.Unpin(refs)
				}
			}
		}
		cl.SendResult(worker, r)
	}()
}

// Cancel cancels a task that a worker spawned.
func (h home) Cancel(id uint64, err error) {
	if t := h.s.ref(id); t != nil {
		t.node.Cancel(err)
	}
}

// values encodes and decodes the values that cross processes. A *Task
// travels as a reference to a task that lives on worker 1 (see home and
// Task.MarshalCBOR); one that arrives where a *Task is expected is, on
// worker 1, the task itself.
type values struct{ s *Scheduler }

var taskType = reflect.TypeFor[*Task]()

// Encode encodes x; a remote value goes as it came to worker 1 (see
// cluster.Value), and so moves from its worker straight to the next.
func (v values) Encode(x any) ([]byte, error) {
	if r, ok := x.(*cluster.Value); ok {
		return r.Encoding(), nil
	}
	return wire.EncodeValue(x)
}

func (v values) Decode(data []byte, t reflect.Type, owned bool) (any, error) {
	if t == taskType && MyID() == 1 {
		if id, ok := wire.DecodeRef(data); ok {
			if task := v.s.ref(id); task != nil {
				return task, nil
			}
		}
	}
	if owned {
		return wire.DecodeOwned(data, t)
	}
	return wire.DecodeValue(data, t)
}
