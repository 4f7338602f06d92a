package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/dagr/dagr"
)

// WaitAll waits for every task, failed or not (Julia's waitall).
func ExampleWaitAll() {
	ctx := context.Background()
	squares := make([]int, 5)
	tasks := make([]*dagr.Task, len(squares))
	for i := range tasks {
		tasks[i] = dagr.Spawn(ctx, func() { squares[i] = i * i })
	}

	if err := dagr.WaitAll(ctx, tasks...); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(squares)
	// Output: [0 1 4 9 16]
}

// FetchAll returns the results in the order of the tasks, and the errors of
// those that failed, joined: errors.As finds the original ones.
func ExampleFetchAll() {
	ctx := context.Background()
	var tasks []*dagr.Task
	for _, s := range []string{"1", "two", "3"} {
		tasks = append(tasks, dagr.Spawn(ctx, strconv.Atoi, s))
	}

	vals, err := dagr.FetchAll(ctx, tasks...)
	fmt.Println(vals)
	var numErr *strconv.NumError
	if errors.As(err, &numErr) {
		fmt.Println("cannot parse", numErr.Num)
	}
	// Output:
	// [1 <nil> 3]
	// cannot parse two
}

// FetchAllAs gives the results as a []T.
func ExampleFetchAllAs() {
	ctx := context.Background()
	tiles := make([]*dagr.Task, 4)
	for i := range tiles {
		tiles[i] = dagr.Spawn(ctx, add, i, 10)
	}

	sums, err := dagr.FetchAllAs[int](ctx, tiles...)
	fmt.Println(sums, err)
	// Output: [10 11 12 13] <nil>
}

// WaitAny returns the index of the first task to end; the others go on.
func ExampleWaitAny() {
	ctx := context.Background()
	gate := make(chan struct{})
	slow := dagr.Spawn(ctx, func() { <-gate }, dagr.Options{Occupancy: dagr.NoOccupancy})
	fast := dagr.Spawn(ctx, add1, 41)

	i, err := dagr.WaitAny(ctx, slow, fast)
	fmt.Println(i, err)

	close(gate) // let slow end too
	_ = slow.Wait(ctx)
	// Output: 1 <nil>
}

// WaitAnyCancel takes the first of tasks that race, and cancels the others.
func ExampleWaitAnyCancel() {
	ctx := context.Background()
	mirror := func(ctx context.Context, name string, up <-chan struct{}) (string, error) {
		select {
		case <-up:
			return name, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	down, up := make(chan struct{}), make(chan struct{})
	close(up)
	waits := dagr.Options{Occupancy: dagr.NoOccupancy}
	tasks := []*dagr.Task{
		dagr.Spawn(ctx, mirror, waits, "eu", down),
		dagr.Spawn(ctx, mirror, waits, "us", up),
	}

	i, err := dagr.WaitAnyCancel(ctx, tasks...)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := tasks[i].Fetch(ctx)
	_, lost := tasks[1-i].Fetch(ctx)
	fmt.Println(v, errors.Is(lost, context.Canceled))
	// Output: us true
}

// FetchChunksAs brings the values of many chunks at once: those that other
// workers hold travel concurrently.
func ExampleFetchChunksAs() {
	ctx := context.Background()
	chunks := make([]*dagr.Chunk, 3)
	for i := range chunks {
		c, err := dagr.Compute(ctx, dagr.Delayed(add, i, 100))
		if err != nil {
			fmt.Println(err)
			return
		}
		chunks[i] = c
	}

	vals, err := dagr.FetchChunksAs[int](ctx, chunks...)
	fmt.Println(vals, err)
	// Output: [100 101 102] <nil>
}
