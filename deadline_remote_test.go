package dagr_test

import (
	"context"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

func init() { dagr.Register(deadlineSeen, deadlineOfChild) }

// DeadlineSeen is what a task saw of its context's deadline, on the
// worker where it ran.
type DeadlineSeen struct {
	Worker int
	Has    bool
	Left   time.Duration // until the deadline, when it has one
}

func deadlineSeen(ctx context.Context) DeadlineSeen {
	d, ok := ctx.Deadline()
	s := DeadlineSeen{Worker: dagr.MyID(), Has: ok}
	if ok {
		s.Left = time.Until(d)
	}
	return s
}

// deadlineOfChild returns what a child it spawns on its own worker sees.
func deadlineOfChild(ctx context.Context) (DeadlineSeen, error) {
	return dagr.Fetch[DeadlineSeen](ctx, dagr.Spawn(ctx, deadlineSeen, dagr.Options{Single: dagr.MyID()}))
}

// A task that runs on another worker has, there, the deadline its context
// has on worker 1: its Options.Timeout's or its spawner's, whichever comes
// first; and so does what it spawns there. Without either it has none.
func TestDeadlineOnWorkers(t *testing.T) {
	ctx := withWorkers(t, 1)
	spawnerCtx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	for _, c := range []struct {
		name   string
		ctx    context.Context
		opts   dagr.Options
		within time.Duration // 0: no deadline
	}{
		{"none", ctx, dagr.Options{Single: 2}, 0},
		{"timeout", ctx, dagr.Options{Single: 2, Timeout: time.Minute}, time.Minute},
		{"spawner", spawnerCtx, dagr.Options{Single: 2}, time.Hour},
		{"both", spawnerCtx, dagr.Options{Single: 2, Timeout: time.Minute}, time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range []any{deadlineSeen, deadlineOfChild} {
				got, err := dagr.Fetch[DeadlineSeen](c.ctx, dagr.Spawn(c.ctx, f, c.opts))
				if err != nil {
					t.Fatal(err)
				}
				// Huge margins: the trip and the run take milliseconds.
				switch {
				case got.Worker != 2:
					t.Errorf("%T ran on worker %d, want 2", f, got.Worker)
				case got.Has != (c.within > 0):
					t.Errorf("%T: has a deadline %v, want %v", f, got.Has, c.within > 0)
				case got.Has && (got.Left <= c.within-30*time.Second || got.Left > c.within):
					t.Errorf("%T: %v left until the deadline, want a little under %v", f, got.Left, c.within)
				}
			}
		})
	}
}
