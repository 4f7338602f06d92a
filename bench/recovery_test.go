package bench

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

func init() { dagr.Register(stallOrTime) }

// stallOrTime, the first time (pidFile absent), writes its process's pid
// to pidFile, opens the FIFO started for writing (which returns once the
// benchmark opened it), and blocks; the next time it returns when it
// started, in Unix nanoseconds.
func stallOrTime(ctx context.Context, pidFile, started string) (int64, error) {
	now := time.Now().UnixNano()
	if _, err := os.Stat(pidFile); err == nil {
		return now, nil
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(started, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	f.Close()
	<-ctx.Done()
	return 0, ctx.Err()
}

// BenchmarkRecovery: the time from a worker's death to its task running
// again on another worker (ms-to-rerun: the median; max-ms: the longest),
// when the worker is killed (SIGKILL: its exit is seen at once) and when
// it hangs (SIGSTOP: its heartbeats stop, and it is declared dead after
// Config.WorkerTimeout, 2.5s by default). Each round adds a worker in
// place of the one it lost.
func BenchmarkRecovery(b *testing.B) {
	for _, form := range []struct {
		name string
		sig  syscall.Signal
	}{{"kill", syscall.SIGKILL}, {"hang", syscall.SIGSTOP}} {
		b.Run(form.name, func(b *testing.B) {
			ctx := benchWorkers(b, 2)
			dir := b.TempDir()
			var took []time.Duration
			round := 0
			for b.Loop() {
				round++
				pidFile := filepath.Join(dir, "pid"+strconv.Itoa(round))
				started := filepath.Join(dir, "started"+strconv.Itoa(round))
				if err := syscall.Mkfifo(started, 0o600); err != nil {
					b.Fatal(err)
				}
				live := dagr.Workers(ctx)
				task := dagr.Spawn(ctx, stallOrTime, dagr.Options{Scope: dagr.WorkerScope(live[1:]...)}, pidFile, started)
				f, err := os.Open(started)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
				data, err := os.ReadFile(pidFile)
				if err != nil {
					b.Fatal(err)
				}
				pid, _ := strconv.Atoi(string(data))
				begin := time.Now()
				if err := syscall.Kill(pid, form.sig); err != nil {
					b.Fatal(err)
				}
				rerun, err := dagr.Fetch[int64](ctx, task)
				if err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Unix(0, rerun).Sub(begin))
				_ = syscall.Kill(pid, syscall.SIGKILL) // a stopped one is declared dead, not gone
				if _, err := dagr.AddProcs(ctx, 1); err != nil {
					b.Fatal(err)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1e3, "ms-to-rerun")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1e3, "max-ms")
		})
	}
}
