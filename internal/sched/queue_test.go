package sched

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

func queuedNode(prio int) *Node {
	n := &Node{spec: &Spec{Priority: prio}}
	n.state.Store(stateQueued)
	return n
}

// The queue pops by priority, first in first out within one, skipping
// nodes that stopped being queued, whatever the mix of pushes, pops,
// cancellations and tail trims: checked against a sorted list.
func TestQueueAgainstOracle(t *testing.T) {
	for _, levels := range []int{1, 3, 9, 64, 5000} {
		rng := rand.New(rand.NewPCG(uint64(levels), 7))
		var q readyQueue
		var oracle []*Node // in push order
		seq := map[*Node]int{}
		for step := range 3000 {
			switch r := rng.IntN(10); {
			case r < 5:
				n := queuedNode(rng.IntN(levels) - levels/2)
				seq[n] = step
				q.push(n)
				oracle = append(oracle, n)
			case r < 7:
				if len(oracle) > 0 {
					oracle[rng.IntN(len(oracle))].state.Store(stateEnded) // cancelled while queued
				}
			case r < 8 && len(oracle) > 0:
				// A task ran inline what it spawned last, then trims.
				last := oracle[len(oracle)-1]
				last.state.Store(stateRunning)
				q.trimTail(last.spec.Priority)
			default:
				oracle = slices.DeleteFunc(oracle, func(n *Node) bool { return n.state.Load() == stateRunning })
				live := slices.DeleteFunc(slices.Clone(oracle), func(n *Node) bool { return n.state.Load() != stateQueued })
				slices.SortStableFunc(live, func(a, b *Node) int { return cmp.Compare(b.spec.Priority, a.spec.Priority) })
				got := q.peek()
				if len(live) == 0 {
					if got != nil {
						t.Fatalf("levels %d step %d: peek = a node, want none", levels, step)
					}
					continue
				}
				if got != live[0] {
					t.Fatalf("levels %d step %d: peek = prio %d (pushed at %d), want prio %d (pushed at %d)",
						levels, step, got.spec.Priority, seq[got], live[0].spec.Priority, seq[live[0]])
				}
				q.pop()
				got.state.Store(stateRunning)
			}
			if q.len() < 0 {
				t.Fatalf("levels %d step %d: len %d", levels, step, q.len())
			}
		}
		checkHeap(t, &q)
	}
}

func checkHeap(t *testing.T, q *readyQueue) {
	t.Helper()
	for i, l := range q.heap {
		if l.pos != i {
			t.Fatalf("level %d has pos %d", i, l.pos)
		}
		if i > 0 && q.heap[(i-1)/2].prio < l.prio {
			t.Fatalf("heap order broken at %d", i)
		}
	}
}

// A program that uses a priority per task must not keep a level per
// priority it ever used.
func TestQueueDropsEmptyLevels(t *testing.T) {
	var q readyQueue
	const n = 10000
	for i := range n {
		q.push(queuedNode(i))
	}
	for i := n - 1; i >= 0; i-- {
		got := q.peek()
		if got == nil || got.spec.Priority != i {
			t.Fatalf("peek: want priority %d", i)
		}
		q.pop()
	}
	if q.peek() != nil || len(q.heap) > 0 || len(q.byPrio) > 0 || q.len() != 0 {
		t.Fatalf("the empty queue still has %d levels, %d slots", len(q.heap), q.len())
	}
}

func TestQueueDrain(t *testing.T) {
	var q readyQueue
	a, b, c := queuedNode(1), queuedNode(2), queuedNode(1)
	b.state.Store(stateEnded)
	q.push(a)
	q.push(b)
	q.push(c)
	got := q.drain()
	if len(got) != 2 || q.len() != 0 || q.peek() != nil {
		t.Fatalf("drain gave %d nodes, left %d slots", len(got), q.len())
	}
}

// Pushing and popping with a priority per node costs O(log levels).
func BenchmarkQueueDistinctPriorities(b *testing.B) {
	nodes := make([]*Node, 40000)
	for i := range nodes {
		nodes[i] = queuedNode(i)
	}
	for b.Loop() {
		var q readyQueue
		for _, n := range nodes {
			q.push(n)
		}
		for q.peek() != nil {
			q.pop()
		}
	}
}
