package dagr_test

import (
	"context"
	"fmt"

	"github.com/dagr/dagr"
)

// The event log says what happened to each task: here, a chain of two
// tasks whose second fails, then one that never runs.
func ExampleEnableLogging() {
	s, _ := dagr.New(dagr.Config{Procs: 2})
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	dagr.EnableLogging(ctx, 0)

	a := dagr.Spawn(ctx, func() int { return 1 }, dagr.Options{Name: "a"})
	b := dagr.Spawn(ctx, func(x int) (int, error) { return 0, fmt.Errorf("no") }, dagr.Options{Name: "b"}, a)
	c := dagr.Spawn(ctx, func(x int) int { return x }, dagr.Options{Name: "c"}, b)
	_ = c.Wait(ctx)

	evs, _ := dagr.FetchLogs(ctx)
	names := map[uint64]string{}
	for _, e := range evs {
		switch e.Kind {
		case dagr.EventSpawn:
			names[e.Task] = e.Name
		case dagr.EventFinish:
			fmt.Printf("%s %v", names[e.Task], e.Outcome)
			if e.Outcome != dagr.OutcomeOK {
				fmt.Printf(" (from %s)", names[e.Origin])
			}
			fmt.Println()
		}
	}
	// Output:
	// a ok
	// b failed (from b)
	// c failed (from b)
}
