package bench

import (
	"context"
	"testing"

	"github.com/dagr/dagr"
)

// BenchmarkW1Bulk is W1 with its spawns in a SpawnBulk block, beside W1
// with plain spawns (x-spawn: bulk over plain).
func BenchmarkW1Bulk(b *testing.B) {
	w := fanOut(fanOutN)
	var plain []float64
	for _, bulk := range []bool{false, true} {
		name := "spawn"
		if bulk {
			name = "bulk"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			measure(b, w, func() (int, error) {
				if !bulk {
					return dagrFanOut(ctx, fanOutN)
				}
				ts := make([]*dagr.Task, fanOutN)
				_ = dagr.SpawnBulk(ctx, func(ctx context.Context) error {
					for i := range ts {
						ts[i] = dagr.Spawn(ctx, double, i)
					}
					return nil
				})
				return fetchSum(ctx, ts)
			})
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if !bulk {
				plain = append(plain, ns)
			} else if base, ok := median(plain); ok {
				b.ReportMetric(ns/base, "x-spawn")
			}
		})
	}
}
