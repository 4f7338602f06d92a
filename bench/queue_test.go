package bench

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// BenchmarkW1Bulk is W1 with its spawns in a SpawnBulk block, beside W1
// with plain spawns (x-spawn: bulk over plain, in time; cpu-x-spawn: in
// the CPU time of the process, which counts the work of every goroutine,
// the garbage collector's included), with a context that never ends and
// with one that can (a spawn then watches it).
func BenchmarkW1Bulk(b *testing.B) {
	w := fanOut(fanOutN)
	for _, cancellable := range []bool{false, true} {
		name := "ctx=background"
		if cancellable {
			name = "ctx=cancellable"
		}
		b.Run(name, func(b *testing.B) {
			var plain, plainCPU []float64
			for _, bulk := range []bool{false, true} {
				name := "spawn"
				if bulk {
					name = "bulk"
				}
				b.Run(name, func(b *testing.B) {
					ctx := context.Background()
					if cancellable {
						var cancel context.CancelFunc
						ctx, cancel = context.WithCancel(ctx)
						defer cancel()
					}
					cpu0 := cpuTime(b)
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
					cpu := float64(cpuTime(b)-cpu0) / float64(b.N)
					b.ReportMetric(cpu/float64(w.tasks), "cpu-ns/task")
					if !bulk {
						plain, plainCPU = append(plain, ns), append(plainCPU, cpu)
					} else if base, ok := median(plain); ok {
						b.ReportMetric(ns/base, "x-spawn")
						if base, ok := median(plainCPU); ok {
							b.ReportMetric(cpu/base, "cpu-x-spawn")
						}
					}
				})
			}
		})
	}
}

// cpuTime is the CPU time the process has used, in user and system mode.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
