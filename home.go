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
// a handle of. refs keeps them, by id: a task that a worker spawned until
// that worker drops its handle, if no other process can name the task by
// then (see Release); a task whose reference worker 1 sent elsewhere, for
// the run's life.
//
// home is worker 1's side of them: cluster.Home.
type home struct{ s *Scheduler }

// ref is a task that other processes may name.
type ref struct {
	t *Task
	// sent says that worker 1 sent a reference to it (Task.MarshalCBOR):
	// any process may name it, for as long as the run lasts.
	sent bool
}

// addRef keeps t for other processes to name; sent says that worker 1
// sends a reference to it.
func (s *Scheduler) addRef(id uint64, t *Task, sent bool) {
	s.clMu.Lock()
	defer s.clMu.Unlock()
	if s.refs == nil {
		s.refs = make(map[uint64]ref)
	}
	r := s.refs[id]
	s.refs[id] = ref{t: t, sent: sent || r.sent}
}

func (s *Scheduler) ref(id uint64) *Task {
	s.clMu.Lock()
	defer s.clMu.Unlock()
	return s.refs[id].t
}

// refCount is the number of tasks that other processes may name.
func (s *Scheduler) refCount() int {
	s.clMu.Lock()
	defer s.clMu.Unlock()
	return len(s.refs)
}

// Release forgets task id, which worker spawned and whose only handle it
// dropped, unless worker 1 sent a reference to it since: then another
// process may still name it.
func (h home) Release(id uint64, worker int) {
	s := h.s
	s.clMu.Lock()
	defer s.clMu.Unlock()
	if r, ok := s.refs[id]; ok && !r.sent && int(id>>48) == worker {
		delete(s.refs, id)
	}
}

// Spawn spawns a task for a task on worker sp.From, and sends it the
// task's end.
func (h home) Spawn(sp *wire.Spawn) {
	s := h.s
	t, err := h.spawn(sp)
	if err != nil {
		t = s.spawn(context.Background(), sp.Task, failWith, Options{Name: sp.Func}, err)
	}
	s.addRef(sp.Task, t, false)
	h.Watch(sp.Task, sp.From)
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
	o := Options{Name: sp.Name, Single: sp.Single, Occupancy: sp.Occupancy, Priority: sp.Priority, Timeout: sp.Timeout, Retries: sp.Retries}
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
	return s.spawn(context.Background(), sp.Task, fn, args...), nil
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

// Watch sends worker the end of task id once it ends.
func (h home) Watch(id uint64, worker int) {
	s := h.s
	cl := s.cluster()
	t := s.ref(id)
	if t == nil {
		cl.SendResult(worker, &wire.Result{Task: id, Err: &wire.Error{Msg: fmt.Sprintf("dagr: worker 1 knows no task %d", id), Origin: 1}})
		return
	}
	go func() {
		<-t.node.Done()
		r := &wire.Result{Task: id, Func: call.Name(t.node.Fn())}
		v, f := t.node.Outcome()
		if f != nil {
			r.Err = encodeError(newTaskError(id, t.node.Name(), f))
		} else if data, err := (values{s}).Encode(v); err != nil {
			r.Err = &wire.Error{Msg: fmt.Sprintf("dagr: the result of task %d (%s): %v", id, t.node.Name(), err)}
		} else {
			r.Result = data
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
