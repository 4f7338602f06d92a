// Package bench compares dagr with hand-written Go on the workloads of
// DESIGN.md ("Performance targets"), side by side in one run, so that the
// ratios hold on shared machines whose absolute speed drifts.
//
// Each workload is one benchmark whose sub-benchmarks are the hand-written
// baselines followed by dagr:
//
//   - serial: a plain loop (W6 only), the reference for speed-ups;
//   - goroutine: a goroutine per task, with a channel future per task
//     (a done channel closed after the value is set);
//   - waitgroup: a goroutine per task writing into a slice, one
//     sync.WaitGroup (W1 and the empty tasks: the rawest form);
//   - ready: a goroutine started only once the task's inputs are done,
//     with an atomic counter of unfinished inputs per task and typed
//     values in slices, the fastest hand-written form;
//   - dagr: the same DAG spawned with dagr.Spawn on a scheduler made once,
//     outside the timed loop.
//
// Every sub-benchmark reports ns/task, B/task and allocs/task. The dagr
// sub-benchmark also reports its time over each baseline's that ran before
// it in the same run (x-goroutine, x-ready, ...), and under W6 every
// parallel form reports its speed-up over serial. Run, for example:
//
//	go test -run '^$' -bench . ./bench/
//	go test -run '^$' -bench 'W1|W2' -count 3 ./bench/
//	go test -run '^$' -bench Million -benchtime 1x ./bench/
//
// TestWorkloadsAgree checks at small sizes that every form of every
// workload computes the serial reference result.
package bench
