package sched

import (
	"context"
	"testing"
)

// TestSpill: a queued node whose spec allows it starts at once without a
// share while its processor is full, and knows it; one that does not
// allow it, at the head of the queue, is not overtaken.
func TestSpill(t *testing.T) {
	s := newTestScheduler(t, 1)
	release := make(chan struct{})
	busy := roomSpawnFn(s, s.NewSpec(), func(ctx context.Context) (int, error) { <-release; return 0, nil })
	spilled := make(chan bool, 1)
	spill := s.NewSpec()
	spill.Spill = true
	a := roomSpawnFn(s, spill, func(ctx context.Context) (int, error) { spilled <- Spilled(ctx); return 1, nil })
	plain := roomSpawnFn(s, s.NewSpec(), func(ctx context.Context) (int, error) { return 2, nil })
	spillToo := roomSpawnFn(s, spill, func(ctx context.Context) (int, error) { return 3, nil })
	if !s.Spill() {
		t.Fatal("Spill started nothing while a spillable node was first in line")
	}
	if !<-spilled {
		t.Fatal("the spilled node's f does not know it was spilled")
	}
	<-a.Done()
	if s.Spill() {
		t.Fatal("Spill overtook a node that may not spill")
	}
	if u := s.procs[0].used.Load(); u != FullOccupancy {
		t.Fatalf("the processor holds %s, want the busy node's whole share", roomOcc(u))
	}
	close(release)
	for _, n := range []*Node{busy, plain, spillToo} {
		<-n.Done()
	}
}

func roomSpawnFn(s *Scheduler, spec *Spec, f func(context.Context) (int, error)) *Node {
	return roomSpawn(s, context.Background(), spec, f)
}
