package bench

import (
	"flag"
	"runtime"
	"slices"
	"testing"
	"time"
)

var (
	pairedRounds = flag.Int("paired.rounds", 11, "rounds of the interleaved comparison behind each dagr ratio (0: ratios of the sequential runs instead)")
	pairedBatch  = flag.Duration("paired.batch", 100*time.Millisecond, "time of one form's batch of runs in a round of the interleaved comparison")
)

// pairedRatio compares two forms of a workload, one against the other, in
// rounds: each round times a batch of runs of each, one batch right after
// the other, in alternating order, and gives the ratio of their times per
// run. It returns the median of the rounds' ratios (b's time over a's).
//
// The machines that run the suite are shared, and their speed drifts by
// tens of percent within seconds. Forms measured one after the other by
// b.Loop each see another machine; two batches a tenth of a second apart
// see nearly the same one, and the median of many such pairs is steady.
// Each batch starts from a collected heap and pays for the collections
// its own allocations cause.
//
// perRunA and perRunB, the forms' times per run from b.Loop, size the
// batches.
func pairedRatio(tb testing.TB, w workload, a, b func() (int, error), perRunA, perRunB time.Duration) float64 {
	rounds := *pairedRounds
	batch := func(perRun time.Duration) int { return max(1, int(*pairedBatch/max(perRun, 1))) }
	na, nb := batch(perRunA), batch(perRunB)
	timeBatch := func(run func() (int, error), n int) float64 {
		runtime.GC()
		start := time.Now()
		for range n {
			got, err := run()
			if err != nil {
				tb.Fatal(err)
			}
			if got != w.want {
				tb.Fatalf("%s computed %d, want %d", w.name, got, w.want)
			}
		}
		return float64(time.Since(start)) / float64(n)
	}
	ratios := make([]float64, 0, rounds)
	for r := range rounds {
		var perA, perB float64
		if r%2 == 0 {
			perA = timeBatch(a, na)
			perB = timeBatch(b, nb)
		} else {
			perB = timeBatch(b, nb)
			perA = timeBatch(a, na)
		}
		ratios = append(ratios, perB/perA)
	}
	slices.Sort(ratios)
	return ratios[len(ratios)/2]
}
