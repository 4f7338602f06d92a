package dagr

import "context"

// PulledHere returns the bytes that ctx's scheduler pulled from its
// workers.
func PulledHere(ctx context.Context) int64 { return schedulerOf(ctx).cluster().Pulled() }

// KeptOnThisWorker returns the number of task results this worker process
// keeps for the run, and their bytes.
func KeptOnThisWorker() (int, int64) { return thisWorker.Kept() }

// RefsHere returns the number of tasks of ctx's scheduler that other
// processes may name.
func RefsHere(ctx context.Context) int { return schedulerOf(ctx).refCount() }
