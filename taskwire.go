package dagr

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/sched"
	"github.com/dagr/dagr/internal/wire"
)

// withWorkers holds the schedulers of this process that started workers:
// the tasks that other processes name are theirs.
var withWorkers sync.Map // *Scheduler -> struct{}

// findRef returns the task id of a scheduler with workers.
func findRef(id uint64) *Task {
	var t *Task
	withWorkers.Range(func(k, _ any) bool {
		t = k.(*Scheduler).ref(id)
		return t == nil
	})
	return t
}

// MarshalCBOR encodes t as a reference to the task, so that a *Task may
// travel to another worker in a task's arguments or result, at any depth
// of the value; there it arrives as a handle of the same task. Programs do
// not call it. A task that lives on a worker only (one of a function that
// is not registered, spawned there) cannot travel.
func (t *Task) MarshalCBOR() ([]byte, error) {
	if t == nil || !t.node.Spawned() {
		return nil, errors.New("dagr: a nil or zero *Task cannot be sent to another worker")
	}
	id := t.node.ID()
	if MyID() == 1 {
		owner, _ := t.node.Owner().(*Scheduler)
		if owner == nil || owner.cluster() == nil {
			return nil, fmt.Errorf("dagr: task %d (%s) belongs to a scheduler without workers", id, t.node.Name())
		}
		// The value holds the task until whoever sent it lets go (see home).
		owner.holdEncoded(id, t)
	} else if id = t.node.Ref(); id == 0 {
		return nil, fmt.Errorf("dagr: task %d (%s) runs on worker %d only (its function is not registered), so it cannot be sent to another worker", t.node.ID(), t.node.Name(), MyID())
	}
	return wire.EncodeRef(id), nil
}

// UnmarshalCBOR makes t a handle of the task that data refers to (see
// MarshalCBOR). Programs do not call it.
func (t *Task) UnmarshalCBOR(data []byte) error {
	id, ok := wire.DecodeRef(data)
	if !ok {
		return errors.New("dagr: a value that is not a reference to a task, where a *Task was expected")
	}
	if MyID() != 1 {
		refHandle(t, id)
		return nil
	}
	orig := findRef(id)
	if orig == nil {
		return fmt.Errorf("dagr: a reference to task %d, which worker 1 does not know", id)
	}
	s := orig.node.Owner().(*Scheduler)
	// On worker 1, the handle is a task of its own that takes the
	// original's result, or its failure.
	sig, _ := call.Analyze(sameValue)
	spec := s.eng.NewSpec()
	spec.Occupancy = 0
	spec.Name = orig.node.Name()
	s.eng.SpawnOwned(&t.node, context.Background(), sameValue, sig, []any{nil}, []sched.Dep{{Arg: 0, Node: &orig.node}}, spec, nil)
	return nil
}

// sameValue is the function of a handle of a task on worker 1.
func sameValue(v any) any { return v }
