package sched

import (
	"context"
	"time"

	"github.com/dagr/dagr/internal/call"
)

// FullOccupancy is the occupancy of a task that takes a whole processor.
// Occupancies are kept in integer units so that adding and removing shares
// never drifts.
const FullOccupancy = 1 << 20

// Spec is a task's options, resolved against the scheduler that runs it.
type Spec struct {
	Name      string
	Occupancy uint32 // in units of FullOccupancy; 0 takes no share
	Procs     []int  // indexes of the processors the task may run on; nil means any
	Priority  int
	Retries   int
	Timeout   time.Duration
	TimeUtil  time.Duration // placement hint, kept for later use
	AllocUtil int64         // placement hint, kept for later use

	Restore    func(ctx context.Context) (any, bool, error)
	Checkpoint func(ctx context.Context, result any) error

	// AbortsGroup makes the node's own failure abort its group (see
	// Group.Abort): the lazy API's default for its thunks.
	AbortsGroup bool
	// ErrorsFlow marks the failures of which the node is the origin as
	// flowing: they abort no group downstream (see Failure.Flows).
	ErrorsFlow bool
	// OnSuccess, if set, gets the result after Checkpoint and before any
	// dependent or caller sees it (the lazy API's cache).
	OnSuccess func(result any)

	// Call, if set, runs f in its stead: the seam through which a task runs
	// on another worker. The node then runs as any other, with its
	// retries, timeouts and cancellation, on a processor of this process
	// (with the spec's Occupancy, usually none), and Call gets a context
	// that ends when the try does.
	Call func(ctx context.Context, fn any, sig *call.Sig, args []any) (any, error)
	// Spill lets Scheduler.Spill start the node while it waits for room
	// on its processor: it then runs without a share (Spilled tells its
	// Call so), for its Call to send it to another worker.
	Spill bool
	// Ref, when not 0, says that the node is this process's handle of a
	// task of that id, which lives in another process.
	Ref uint64
	// Unlogged keeps the node out of the event log: it stands for a task
	// that another process logs.
	Unlogged bool

	// owner is the scheduler whose processors Procs indexes: a node finds
	// its scheduler here, which saves a pointer in every node.
	owner *Scheduler
}

// NewSpec returns a spec for s with the default options, to be filled in.
func (s *Scheduler) NewSpec() *Spec {
	return &Spec{Occupancy: FullOccupancy, owner: s}
}

// DefaultSpec is the spec of the tasks of s spawned without options.
func (s *Scheduler) DefaultSpec() *Spec { return s.defaultSpec }

func (s *Spec) allows(p *proc) bool {
	if s.Procs == nil {
		return true
	}
	for _, i := range s.Procs {
		if i == p.index {
			return true
		}
	}
	return false
}
