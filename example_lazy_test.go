package dagr_test

import (
	"context"
	"fmt"

	"github.com/dagr/dagr"
)

// The seed's DAG with the lazy API (Dagger's delayed and collect): Delayed
// builds the graph and runs nothing; Collect computes it and returns the
// value.
func ExampleDelayed() {
	add1 := func(value int) int { return value + 1 }
	add2 := func(value int) int { return value + 2 }
	combine := func(a ...int) int {
		sum := 0
		for _, v := range a {
			sum += v
		}
		return sum
	}
	ctx := context.Background()

	p := dagr.Delayed(add1, 4)          // delayed(add1)(4)
	q := dagr.Delayed(add2, p)          // delayed(add2)(p)
	r := dagr.Delayed(add1, 3)          // delayed(add1)(3)
	s := dagr.Delayed(combine, p, q, r) // delayed(combine)(p, q, r)

	v, err := dagr.Collect(ctx, s) // collect(s)
	fmt.Println(v, err)
	// Output: 16 <nil>
}

// Compute runs the DAG and returns a *Chunk, a reference to the result where
// it was computed; Collect (or Chunk.Fetch) gets the value. A chunk may be
// passed to Spawn and Delayed, where it stands for its value.
func ExampleCompute() {
	add1 := func(value int) int { return value + 1 }
	add2 := func(value int) int { return value + 2 }
	combine := func(a ...int) int {
		sum := 0
		for _, v := range a {
			sum += v
		}
		return sum
	}
	ctx := context.Background()

	p := dagr.Delayed(add1, 4)
	q := dagr.Delayed(add2, p)
	r := dagr.Delayed(add1, 3)
	s := dagr.Delayed(combine, p, q, r)

	c, err := dagr.Compute(ctx, s) // compute(s)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := dagr.Collect(ctx, c) // collect(c)
	fmt.Println(v, err, "on worker", c.Worker())

	next, err := dagr.Collect(ctx, dagr.Delayed(add1, c))
	fmt.Println(next, err)
	// Output:
	// 16 <nil> on worker 1
	// 17 <nil>
}

// Collect takes a *Thunk, a *Chunk or a *Task; any other value is returned
// as is.
func ExampleCollect() {
	ctx := context.Background()
	double := func(n int) int { return 2 * n }

	fromThunk, _ := dagr.Collect(ctx, dagr.Delayed(double, 21))
	fromTask, _ := dagr.Collect(ctx, dagr.Spawn(ctx, double, 4))
	plain, _ := dagr.Collect(ctx, "as is")
	fmt.Println(fromThunk, fromTask, plain)
	// Output: 42 8 as is
}
