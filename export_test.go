package dagr

import "context"

// PulledHere returns the bytes that ctx's scheduler pulled from its
// workers.
func PulledHere(ctx context.Context) int64 { return schedulerOf(ctx).cluster().Pulled() }

// KeptOnThisWorker returns the number of task results this worker process
// keeps for the run, and their bytes.
func KeptOnThisWorker() (int, int64) { return thisWorker.Kept() }
