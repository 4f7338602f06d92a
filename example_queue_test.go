package dagr_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/dagr/dagr"
)

// SpawnSequential runs the tasks spawned in its block one after another,
// as a stream of in-place updates needs, though each could run beside the
// others.
func ExampleSpawnSequential() {
	ctx := context.Background()
	var (
		mu  sync.Mutex
		log []string
	)
	step := func(name string) func() {
		return func() { mu.Lock(); log = append(log, name); mu.Unlock() }
	}
	var last *dagr.Task
	_ = dagr.SpawnSequential(ctx, func(ctx context.Context) error {
		for _, name := range []string{"load", "scale", "save"} {
			last = dagr.Spawn(ctx, step(name), dagr.Options{Occupancy: dagr.NoOccupancy})
		}
		return nil
	})
	_ = last.Wait(ctx)
	fmt.Println(log)
	// Output: [load scale save]
}

// SpawnBulk holds the tasks spawned in its block until it ends, then
// submits them together; inside, their handles may be passed to other
// spawns, but not waited for.
func ExampleSpawnBulk() {
	ctx := context.Background()
	var sum *dagr.Task
	_ = dagr.SpawnBulk(ctx, func(ctx context.Context) error {
		a := dagr.Spawn(ctx, add, 1, 2)
		b := dagr.Spawn(ctx, add, 3, 4)
		sum = dagr.Spawn(ctx, add, a, b)
		fmt.Println("inside:", a.Wait(ctx) != nil)
		return nil
	})
	v, err := dagr.Fetch[int](ctx, sum)
	fmt.Println("after:", v, err)
	// Output:
	// inside: true
	// after: 10 <nil>
}
