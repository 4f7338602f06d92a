package bench

import (
	"context"
	"testing"

	"github.com/dagr/dagr"
)

// BenchmarkW1Logging runs W1 on a scheduler whose event log is off, then
// on one whose log is on (dagr.EnableLogging, the default size): the on
// form reports its time over the off form's median (x-off). The cost of
// the log while it is off shows in W1's x-goroutine beside the same
// ratio at a commit before the log (see docs/PERFORMANCE.md).
func BenchmarkW1Logging(b *testing.B) {
	w := fanOut(fanOutN)
	var off []float64
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			s, err := dagr.New(dagr.Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			if on {
				s.EnableLogging(0)
			}
			ctx := dagr.WithScheduler(context.Background(), s)
			measure(b, w, func() (int, error) { return dagrFanOut(ctx, fanOutN) })
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if !on {
				off = append(off, ns)
			} else if base, ok := median(off); ok {
				b.ReportMetric(ns/base, "x-off")
			}
		})
	}
}
