package sched

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tasks that block without telling the engine hold their processors: on a
// scheduler of as many processors as tasks, all of them must run at once,
// however few runners enqueue lets on their way (Scheduler.starting): the
// chain of runners started for deferred nodes must never break, and no
// node may wait behind a blocked task while a processor is free.
func TestBlockingTasksAllStart(t *testing.T) {
	for _, c := range []struct{ procs, maxStarting, rounds int }{
		{64, 1, 20}, {300, 1, 5}, {300, 2, 5}, {1000, 4, 2},
	} {
		t.Run(fmt.Sprintf("procs=%d/starting=%d", c.procs, c.maxStarting), func(t *testing.T) {
			s := newTestScheduler(t, c.procs)
			s.maxStarting = int32(c.maxStarting)
			for round := range c.rounds {
				var started atomic.Int32
				all := make(chan struct{})
				var release sync.Once
				f := func(context.Context) (int, error) {
					if int(started.Add(1)) == c.procs {
						release.Do(func() { close(all) })
					}
					<-all
					return 0, nil
				}
				nodes := make([]*Node, c.procs)
				for i := range nodes {
					nodes[i] = roomSpawn(s, context.Background(), s.defaultSpec, f)
				}
				select {
				case <-all:
				case <-time.After(30 * time.Second):
					// Let the tasks that did start end, so that Close does.
					defer release.Do(func() { close(all) })
					t.Fatalf("round %d: %d of %d tasks started; deferred nodes: %d, runners on their way: %d; %s",
						round, started.Load(), c.procs, s.deferredN.Load(), s.starting.Load(), describeProcs(s, nodes))
				}
				for _, n := range nodes {
					<-n.Done()
				}
				if k := s.deferredN.Load(); k != 0 {
					t.Fatalf("round %d: %d nodes deferred after all ran", round, k)
				}
			}
		})
	}
}

// A loop that spawns empty tasks on many processors, with at most one
// runner on its way: most nodes are deferred, and all of them run.
func TestDeferredSpawnLoop(t *testing.T) {
	s := newTestScheduler(t, 1000)
	s.maxStarting = 1
	const tasks = 20000
	nodes := make([]*Node, tasks)
	var ran atomic.Int32
	f := func(context.Context) (int, error) { ran.Add(1); return 0, nil }
	for i := range nodes {
		nodes[i] = roomSpawn(s, context.Background(), s.defaultSpec, f)
	}
	for _, n := range nodes {
		<-n.Done()
	}
	if ran.Load() != tasks {
		t.Fatalf("%d of %d tasks ran", ran.Load(), tasks)
	}
}

// describeProcs says, for a failure, where the nodes of ns are that have
// not started, and what the processors that are not idle hold.
func describeProcs(s *Scheduler, ns []*Node) string {
	out := ""
	for i, n := range ns {
		if st := n.state.Load(); st != stateRunning {
			out += fmt.Sprintf("node %d in state %d; ", i, st)
		}
	}
	for _, p := range s.procs {
		p.mu.Lock()
		if p.queue.len() > 0 || len(p.waiters) > 0 || (p.used.Load() == 0) != (len(p.running) == 0) {
			out += fmt.Sprintf("processor %d: used %d, queued %d, running %d, waiters %d; ", p.index, p.used.Load(), p.queue.len(), len(p.running), len(p.waiters))
		}
		p.mu.Unlock()
	}
	return out
}
