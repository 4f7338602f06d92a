package bench

// The bodies of the workloads' tasks, shared by every form (serial,
// goroutine, ready, dagr), and the serial reference results.

// modulus keeps the wavefront's and the layered DAG's values in range: they
// count lattice paths, which overflow an int otherwise.
const modulus = 1_000_000_007

func double(i int) int    { return i * 2 }
func inc(v int) int       { return v + 1 }
func leaf(i int) int      { return i }
func pass(v int) int      { return v }
func one() int            { return 1 }
func add(a, b int) int    { return a + b }
func addMod(a, b int) int { return (a + b) % modulus }
func empty()              {}

// The seed's DAG (Dagger.jl's first example): p = add1(4), q = add2(p),
// r = add1(3), s = combine(p, q, r) = 16.
func add1(v int) int { return v + 1 }
func add2(v int) int { return v + 2 }
func combine(vs ...int) int {
	sum := 0
	for _, v := range vs {
		sum += v
	}
	return sum
}

// fanOutWant is the sum of double(i) for i < n.
func fanOutWant(n int) int { return n * (n - 1) }

// treeWant is the sum of leaf(i) for i < leaves.
func treeWant(leaves int) int { return leaves * (leaves - 1) / 2 }

// fibTasks is the number of calls of a recursive fib(n), root included.
func fibTasks(n int) int { return 2*fibSerial(n+1) - 1 }

func fibSerial(n int) int {
	a, b := 0, 1
	for range n {
		a, b = b, a+b
	}
	return a
}

// wavefrontWant computes the n x n wavefront serially: cell(0,0) = 1, an
// edge cell passes its one input on, an inner cell adds its two.
func wavefrontWant(n int) int {
	row := make([]int, n)
	for i := range n {
		for j := range n {
			switch {
			case i == 0 && j == 0:
				row[j] = one()
			case i == 0:
				row[j] = pass(row[j-1])
			case j == 0:
				row[j] = pass(row[j])
			default:
				row[j] = addMod(row[j], row[j-1])
			}
		}
	}
	return row[n-1]
}

// layeredWant computes serially the layered DAG of the million-task
// benchmark: layer 0 is leaf(j); node j of each next layer adds nodes j and
// j+1 (mod width) of the layer above.
func layeredWant(width, depth int) int {
	prev, next := make([]int, width), make([]int, width)
	for j := range prev {
		prev[j] = leaf(j)
	}
	for range depth - 1 {
		for j := range next {
			next[j] = addMod(prev[j], prev[(j+1)%width])
		}
		prev, next = next, prev
	}
	sum := 0
	for _, v := range prev {
		sum = addMod(sum, v)
	}
	return sum
}

// matmul is C = A x B for n x n row-major float64 matrices, cut into
// tile x tile blocks: one task computes one block of C. A and B hold small
// integers, so every product and sum is exact and all forms agree bit for
// bit.
type matmul struct {
	n, tile int
	a, b, c []float64
}

func newMatmul(n, tile int) *matmul {
	m := &matmul{n: n, tile: tile, a: make([]float64, n*n), b: make([]float64, n*n), c: make([]float64, n*n)}
	for i := range n {
		for j := range n {
			m.a[i*n+j] = float64((i*7+j*3)%11 - 5)
			m.b[i*n+j] = float64((i*5+j*2)%13 - 6)
		}
	}
	return m
}

func (m *matmul) tiles() int { return m.n / m.tile }

// mulTile computes block (bi, bj) of C, overwriting it, blocked over k so
// that one block each of A, B and C is in cache at a time.
func (m *matmul) mulTile(bi, bj int) {
	n, t := m.n, m.tile
	r0, c0 := bi*t, bj*t
	for i := r0; i < r0+t; i++ {
		clear(m.c[i*n+c0 : i*n+c0+t])
	}
	for k0 := 0; k0 < n; k0 += t {
		for i := r0; i < r0+t; i++ {
			crow := m.c[i*n+c0 : i*n+c0+t]
			for k := k0; k < k0+t; k++ {
				aik := m.a[i*n+k]
				brow := m.b[k*n+c0 : k*n+c0+t]
				for j := range crow {
					crow[j] += aik * brow[j]
				}
			}
		}
	}
}

// trace is the benchmark's cheap check of C: the sum of both diagonals.
func (m *matmul) trace() int {
	sum := 0.0
	for i := range m.n {
		sum += m.c[i*m.n+i] + m.c[i*m.n+m.n-1-i]
	}
	return int(sum)
}

// serialMatmul computes every block in turn.
func serialMatmul(m *matmul) int {
	for bi := range m.tiles() {
		for bj := range m.tiles() {
			m.mulTile(bi, bj)
		}
	}
	return m.trace()
}
