package dagr

import (
	"context"
	"io"
)

// PulledHere returns the bytes that ctx's scheduler pulled from its
// workers.
func PulledHere(ctx context.Context) int64 { return schedulerOf(ctx).cluster().Pulled() }

// KeptOnThisWorker returns the number of task results this worker process
// keeps for the run, and their bytes.
func KeptOnThisWorker() (int, int64) { return thisWorker.Kept() }

// RefsHere returns the number of tasks of ctx's scheduler that other
// processes may name.
func RefsHere(ctx context.Context) int { return schedulerOf(ctx).refCount() }

// Inject publishes data on ctx's scheduler's run subject of kind, as
// another process of the run could (see cluster.Coordinator.Inject).
func Inject(ctx context.Context, kind string, data []byte) error {
	return schedulerOf(ctx).cluster().Inject(kind, data)
}

// LogTo makes w the writer of ctx's scheduler's warnings about what its
// workers send.
func LogTo(ctx context.Context, w io.Writer) { schedulerOf(ctx).cluster().LogTo(w) }
