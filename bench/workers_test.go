package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dagr/dagr"
	"github.com/dagr/dagr/internal/cluster"
	"github.com/dagr/dagr/internal/natstransport"
)

// The benchmarks with worker processes: DESIGN.md's distributed targets,
// each beside its baseline in the same run.

func init() {
	dagr.Register(empty, runCreds, natsEcho, makeFloats, sumFloats, mulStrip)
}

// runCreds returns the credentials of the run's server, as the worker
// that runs it got them: the baseline connects to the same server.
func runCreds() (natstransport.Credentials, error) {
	j, ok, err := cluster.WorkerFromEnv()
	if !ok || err != nil {
		return natstransport.Credentials{}, fmt.Errorf("not a worker: %v", err)
	}
	return j.Creds, nil
}

// natsEcho answers every request on subject with its payload, from the
// worker that runs it, until the worker exits.
func natsEcho(subject string) error {
	j, _, err := cluster.WorkerFromEnv()
	if err != nil {
		return err
	}
	conn, err := natstransport.Connect(j.Creds, "bench echo", nil)
	if err != nil {
		return err
	}
	_, err = conn.Subscribe(subject, func(m natstransport.Msg) { _ = m.Respond(m.Data) })
	if err == nil {
		err = conn.Flush()
	}
	return err
}

// benchWorkers returns a context of a scheduler with n workers, closed when
// b ends.
func benchWorkers(b *testing.B, n int) context.Context { return benchWorkersOf(b, n, dagr.Config{}) }

// benchWorkersOf is benchWorkers with a scheduler of cfg.
func benchWorkersOf(b *testing.B, n int, cfg dagr.Config) context.Context {
	s, err := dagr.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := dagr.WithScheduler(context.Background(), s)
	if _, err := s.AddProcs(ctx, n); err != nil {
		b.Fatal(err)
	}
	return ctx
}

func fetchErr(ctx context.Context, t *dagr.Task) error {
	_, err := t.Fetch(ctx)
	return err
}

// BenchmarkRemoteRoundTrip: an empty task spawned on worker 2 and fetched
// on worker 1, beside a raw NATS request and reply between the same two
// processes. It reports the median (p50-us) and the ratio of medians. The
// form beats10x does the same on a second scheduler whose worker sends
// heartbeats ten times as often as by default (Config.WorkerTimeout
// 250ms), and reports its median over the dagr form's (x-dagr): what
// heartbeats cost the round trip.
func BenchmarkRemoteRoundTrip(b *testing.B) {
	ctx := benchWorkers(b, 1)
	two := dagr.Options{Single: 2}
	creds, err := dagr.Fetch[natstransport.Credentials](ctx, dagr.Spawn(ctx, runCreds, two))
	if err != nil {
		b.Fatal(err)
	}
	subject := "bench.echo." + natstransport.NewRunID()
	if err := fetchErr(ctx, dagr.Spawn(ctx, natsEcho, two, subject)); err != nil {
		b.Fatal(err)
	}
	conn, err := natstransport.Connect(creds, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(conn.Close)
	beats := benchWorkersOf(b, 1, dagr.Config{WorkerTimeout: 250 * time.Millisecond})
	forms := []struct {
		name string
		run  func() error
	}{
		{"nats", func() error {
			_, err := conn.Request(ctx, subject, nil)
			return err
		}},
		{"dagr", func() error { return fetchErr(ctx, dagr.Spawn(ctx, empty, two)) }},
		{"beats10x", func() error { return fetchErr(beats, dagr.Spawn(beats, empty, two)) }},
	}
	medians := map[string]float64{}
	for _, f := range forms {
		b.Run(f.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if err := f.run(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			p50 := float64(lat[len(lat)/2].Nanoseconds()) / 1e3
			medians[f.name] = p50
			b.ReportMetric(p50, "p50-us")
			if f.name == "dagr" && medians["nats"] > 0 {
				b.ReportMetric(p50/medians["nats"], "x-nats")
			}
			if f.name == "beats10x" && medians["dagr"] > 0 {
				b.ReportMetric(p50/medians["dagr"], "x-dagr")
			}
		})
	}
}

// BenchmarkRemoteThroughput: 10k empty tasks spawned at once on two
// workers, then fetched.
func BenchmarkRemoteThroughput(b *testing.B) {
	ctx := benchWorkers(b, 2)
	const n = 10_000
	scope := dagr.Options{Scope: dagr.WorkerScope(2, 3)}
	ts := make([]*dagr.Task, n)
	for b.Loop() {
		for i := range ts {
			ts[i] = dagr.Spawn(ctx, empty, scope)
		}
		for _, t := range ts {
			if err := fetchErr(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tasks/s")
}

// makeFloats makes n float64s on the worker that runs it.
func makeFloats(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i % 7)
	}
	return v
}

func sumFloats(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// BenchmarkRemoteTransfer: a 64 MiB result made on worker 2 and consumed
// on worker 3, beside the same two tasks both on worker 2, where the value
// does not move. It reports the rate of the whole (MB/s) and the rate of
// the move alone: the size over the difference of the two times
// (move-MB/s).
func BenchmarkRemoteTransfer(b *testing.B) {
	ctx := benchWorkers(b, 2)
	const n = 8 << 20 // float64s: 64 MiB
	want := sumFloats(makeFloats(n))
	var same float64 // ns per op with no move
	for _, form := range []struct {
		name     string
		consumer int
	}{{"sameworker", 2}, {"worker2to3", 3}} {
		b.Run(form.name, func(b *testing.B) {
			for b.Loop() {
				v := dagr.Spawn(ctx, makeFloats, dagr.Options{Single: 2}, n)
				s := dagr.Spawn(ctx, sumFloats, dagr.Options{Single: form.consumer}, v)
				got, err := dagr.Fetch[float64](ctx, s)
				if err != nil {
					b.Fatal(err)
				}
				if got != want {
					b.Fatalf("sum = %v, want %v", got, want)
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(8*n/ns*1e3, "MB/s")
			if form.consumer == 2 {
				same = ns
			} else if same > 0 && ns > same {
				b.ReportMetric(8*n/(ns-same)*1e3, "move-MB/s")
			}
		})
	}
}

// mulStrip computes one t x t tile of C from the t rows of A (t x n) and
// the t columns of B (n x t, row-major) it needs.
func mulStrip(n, t int, rows, cols []float64) []float64 {
	c := make([]float64, t*t)
	for i := range t {
		crow := c[i*t : (i+1)*t]
		for k := range n {
			aik := rows[i*n+k]
			brow := cols[k*t : (k+1)*t]
			for j := range crow {
				crow[j] += aik * brow[j]
			}
		}
	}
	return c
}

// strips cuts m's A into block rows and B into block columns.
func strips(m *matmul) (rows, cols [][]float64) {
	n, t := m.n, m.tile
	for bi := range m.tiles() {
		rows = append(rows, slices.Clone(m.a[bi*t*n:(bi+1)*t*n]))
		col := make([]float64, 0, n*t)
		for k := range n {
			col = append(col, m.b[k*n+bi*t:k*n+bi*t+t]...)
		}
		cols = append(cols, col)
	}
	return rows, cols
}

// matmulOn runs W6 with each tile's task placed by place, and writes the
// tiles into m.c.
func matmulOn(ctx context.Context, m *matmul, rows, cols [][]float64, place func(i int) dagr.Options) (int, error) {
	n, t, nt := m.n, m.tile, m.tiles()
	ts := make([]*dagr.Task, 0, nt*nt)
	for bi := range nt {
		for bj := range nt {
			ts = append(ts, dagr.Spawn(ctx, mulStrip, place(len(ts)), n, t, rows[bi], cols[bj]))
		}
	}
	for i, task := range ts {
		tile, err := dagr.Fetch[[]float64](ctx, task)
		if err != nil {
			return 0, err
		}
		bi, bj := i/nt, i%nt
		for r := range t {
			copy(m.c[(bi*t+r)*n+bj*t:], tile[r*t:(r+1)*t])
		}
	}
	return m.trace(), nil
}

// BenchmarkW6Workers: W6 with its tiles on two workers, beside the same
// tasks on worker 1's processors.
func BenchmarkW6Workers(b *testing.B) {
	ctx := benchWorkers(b, 2)
	m := newMatmul(matmulN, matmulTile)
	want := serialMatmul(newMatmul(matmulN, matmulTile))
	rows, cols := strips(m)
	var local float64
	for _, form := range []struct {
		name  string
		place func(i int) dagr.Options
	}{
		{"worker1", func(int) dagr.Options { return dagr.Options{} }},
		{"workers2and3", func(i int) dagr.Options { return dagr.Options{Single: 2 + i%2} }},
	} {
		b.Run(form.name, func(b *testing.B) {
			for b.Loop() {
				got, err := matmulOn(ctx, m, rows, cols, form.place)
				if err != nil {
					b.Fatal(err)
				}
				if got != want {
					b.Fatalf("trace %d, want %d", got, want)
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if form.name == "worker1" {
				local = ns
			} else if local > 0 {
				b.ReportMetric(ns/local, "x-worker1")
			}
		})
	}
}

// BenchmarkRemoteFetch: a 64 MiB result made on worker 2 and fetched on
// worker 1, where it becomes a []float64.
func BenchmarkRemoteFetch(b *testing.B) {
	ctx := benchWorkers(b, 1)
	const n = 8 << 20 // float64s: 64 MiB
	for b.Loop() {
		v, err := dagr.Fetch[[]float64](ctx, dagr.Spawn(ctx, makeFloats, dagr.Options{Single: 2}, n))
		if err != nil || len(v) != n {
			b.Fatal(err, len(v))
		}
	}
	b.ReportMetric(float64(8*n*b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
}
