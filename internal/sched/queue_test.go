package sched

import "testing"

// A program that uses many priorities (a deadline, a depth) must not keep a
// level per priority it ever used: every peek would scan them all.
func TestQueueDropsEmptyLevels(t *testing.T) {
	var q readyQueue
	const n = 10000
	for i := range n {
		nd := &Node{spec: &Spec{Priority: i}}
		nd.state.Store(stateQueued)
		q.push(nd)
	}
	for q.peek() != nil {
		q.pop()
	}
	if len(q.heap) > 0 || len(q.byPrio) > 0 {
		t.Fatalf("the empty queue still has %d levels", len(q.heap))
	}
}
