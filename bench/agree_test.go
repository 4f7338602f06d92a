package bench

import "testing"

// smallWorkloads are the benchmarks' workloads at sizes that run in
// milliseconds, under the race detector too.
func smallWorkloads() []workload {
	return []workload{
		fanOut(100),
		chain(100),
		tree(64),
		nestedFib(10),
		wavefront(8),
		tiledMatmul(64, 16, 0),
		tiledMatmul(64, 16, 1),
		seed(),
		contention(4, 50),
		emptyTasks(100),
	}
}

// TestWorkloadsAgree checks that every form of every workload computes the
// serial reference result, twice in a row (as the benchmark loop reruns
// them), so that the benchmarks cannot time a wrong computation.
func TestWorkloadsAgree(t *testing.T) {
	for _, w := range smallWorkloads() {
		t.Run(w.name, func(t *testing.T) {
			for _, im := range w.impls {
				t.Run(im.name, func(t *testing.T) {
					run := im.start(t)
					for range 2 {
						got, err := run()
						if err != nil {
							t.Fatal(err)
						}
						if got != w.want {
							t.Fatalf("got %d, want %d", got, w.want)
						}
					}
				})
			}
		})
	}
}

// TestMatmulAgrees compares the whole product, not only the diagonals that
// the benchmark checks.
func TestMatmulAgrees(t *testing.T) {
	const n, tile = 64, 16
	ref := newMatmul(n, tile)
	serialMatmul(ref)
	// The product of the first row of A and the first column of B, by hand.
	var c00 float64
	for k := range n {
		c00 += ref.a[k] * ref.b[k*n]
	}
	if ref.c[0] != c00 {
		t.Fatalf("serial C[0][0] = %v, want %v", ref.c[0], c00)
	}
	ctx := schedulerContext(t, 0)
	forms := map[string]func(m *matmul) (int, error){
		"goroutine": func(m *matmul) (int, error) { return goMatmul(m), nil },
		"dagr":      func(m *matmul) (int, error) { return dagrMatmul(ctx, m) },
	}
	for name, run := range forms {
		m := newMatmul(n, tile)
		if _, err := run(m); err != nil {
			t.Fatal(name, err)
		}
		for i, v := range m.c {
			if v != ref.c[i] {
				t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i/n, i%n, v, ref.c[i])
			}
		}
	}
}

// TestMillionShapesAgree runs the million-task DAGs at a small size.
func TestMillionShapesAgree(t *testing.T) {
	ctx := schedulerContext(t, 0)
	got, err := dagrLayered(ctx, 10, 10)
	if want := layeredWant(10, 10); err != nil || got != want {
		t.Errorf("layered 10x10: got %d, %v; want %d", got, err, want)
	}
	if got, err := dagrTree(ctx, 256); err != nil || got != treeWant(256) {
		t.Errorf("tree of 256 leaves: got %d, %v; want %d", got, err, treeWant(256))
	}
}

// TestReferences checks the serial references against values known
// independently.
func TestReferences(t *testing.T) {
	if got := fibTasks(18); got != 8361 {
		t.Errorf("fibTasks(18) = %d, want 8361 (DESIGN.md)", got)
	}
	if got := fibSerial(18); got != 2584 {
		t.Errorf("fib(18) = %d, want 2584", got)
	}
	// The wavefront counts lattice paths: C(2(n-1), n-1), here C(6, 3).
	if got := wavefrontWant(4); got != 20 {
		t.Errorf("wavefront 4x4 = %d, want 20", got)
	}
	if got, err := dagrSeed(schedulerContext(t, 1)); err != nil || got != 16 {
		t.Errorf("seed DAG = %d, %v; want 16", got, err)
	}
}
