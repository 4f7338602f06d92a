package sched

import (
	"context"
	"testing"
	"time"
)

// Close called from a task that runs deep inside inline runs must count
// every task its goroutine executes: a printed stack (runtime.Stack) elides
// the middle of a stack deeper than 100 frames, and Close then waited for
// tasks that could not end before it returned.
func TestCloseFromDeepInlineTask(t *testing.T) {
	s := New(Config{Procs: 1, PanicError: func(v any, _ []byte) error { return nil }, FailureOf: func(error) *Failure { return nil }})
	const depth = 40
	closed := make(chan struct{})
	var inlineDepth int
	var f func(ctx context.Context, d int) int
	f = func(ctx context.Context, d int) int {
		if d == depth {
			inlineDepth = int(fromContext(ctx).depth)
			s.Close()
			close(closed)
			return 0
		}
		kid := roomSpawn(s, ctx, s.NewSpec(), func(ctx context.Context) int { return f(ctx, d+1) })
		Wait(ctx, kid)
		return 0
	}
	roomSpawn(s, context.Background(), s.NewSpec(), func(ctx context.Context) int { return f(ctx, 0) })
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("Close called from a task %d levels deep (run inline) did not return", depth)
	}
	if inlineDepth != depth {
		t.Logf("the innermost task ran %d levels inline", inlineDepth)
	}
}
