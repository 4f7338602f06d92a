package bench

import (
	"context"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// The typed spawns (dagr.Spawn1 and TaskOf.Fetch) beside Spawn and
// Fetch[int], on W1 and W2: the typed form reports its time over the
// untyped form's (x-untyped). A typed spawn passes f and its arguments to
// Spawn as they are, so the ratio should be 1 within the noise.

func BenchmarkW1Typed(b *testing.B) {
	typedBeside(b, newWorkload("W1FanOut", fanOutN, fanOutWant(fanOutN),
		onScheduler("untyped", func(ctx context.Context) (int, error) { return dagrFanOut(ctx, fanOutN) }),
		onScheduler("typed", func(ctx context.Context) (int, error) { return typedFanOut(ctx, fanOutN) }),
	))
}

func BenchmarkW2Typed(b *testing.B) {
	typedBeside(b, newWorkload("W2Chain", chainN, chainN,
		onScheduler("untyped", func(ctx context.Context) (int, error) { return dagrChain(ctx, chainN) }),
		onScheduler("typed", func(ctx context.Context) (int, error) { return typedChain(ctx, chainN) }),
	))
}

// typedFanOut is dagrFanOut with typed tasks.
func typedFanOut(ctx context.Context, n int) (int, error) {
	ts := make([]dagr.TaskOf[int], n)
	for i := range ts {
		ts[i] = dagr.Spawn1(ctx, double, dagr.Value(i))
	}
	sum := 0
	for _, t := range ts {
		v, err := t.Fetch(ctx)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// typedChain is dagrChain with typed tasks.
func typedChain(ctx context.Context, n int) (int, error) {
	t := dagr.Spawn1(ctx, inc, dagr.Value(0))
	for range n - 1 {
		t = dagr.Spawn1(ctx, inc, t)
	}
	return t.Fetch(ctx)
}

// onScheduler is a dagr form named name, run on a scheduler of its own.
func onScheduler(name string, run func(ctx context.Context) (int, error)) impl {
	return impl{name, func(tb testing.TB) func() (int, error) {
		ctx := schedulerContext(tb, 0)
		return func() (int, error) { return run(ctx) }
	}}
}

// typedBeside runs w's two forms, untyped then typed, as sub-benchmarks,
// and reports the typed form's time over the untyped form's: from an
// interleaved comparison, as sideBySide does (see pairedRatio), or with
// -paired.rounds=0 over the median of the untyped runs.
func typedBeside(b *testing.B, w workload) {
	untyped, typed := w.impls[0], w.impls[1]
	var untypedNs []float64
	b.Run(untyped.name, func(b *testing.B) {
		measure(b, w, untyped.start(b))
		untypedNs = append(untypedNs, float64(b.Elapsed().Nanoseconds())/float64(b.N))
	})
	b.Run(typed.name, func(b *testing.B) {
		run := typed.start(b)
		measure(b, w, run)
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		base, ok := median(untypedNs)
		if !ok { // filtered out by -bench
			return
		}
		ratio := ns / base
		if *pairedRounds > 0 {
			ratio = pairedRatio(b, w, untyped.start(b), run, time.Duration(base), time.Duration(ns))
		}
		b.ReportMetric(ratio, "x-untyped")
	})
}
