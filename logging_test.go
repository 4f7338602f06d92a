package dagr_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagr/dagr"
)

// byTask groups a log's events by task, in the log's order.
func byTask(evs []dagr.Event) map[uint64][]dagr.Event {
	m := map[uint64][]dagr.Event{}
	for _, e := range evs {
		m[e.Task] = append(m[e.Task], e)
	}
	return m
}

func kinds(evs []dagr.Event) []dagr.EventKind {
	var ks []dagr.EventKind
	for _, e := range evs {
		ks = append(ks, e.Kind)
	}
	return ks
}

// schedulerOf returns a scheduler of procs processors, closed when the
// test ends, and a context that carries it.
func schedulerOf(t *testing.T, procs int) (*dagr.Scheduler, context.Context) {
	t.Helper()
	s, err := dagr.New(dagr.Config{Procs: procs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dagr.WithScheduler(context.Background(), s)
}

var errLogged = errors.New("logged failure")

func failOn(x int) (int, error) { return 0, fmt.Errorf("%w at %d", errLogged, x) }

// TestLogDiamondWithFailure: the log of a diamond whose left side fails
// has each task's events in order, on the scheduler's processors, with
// the failure's origin on every task it reached.
func TestLogDiamondWithFailure(t *testing.T) {
	evs, diamond := diamondLog(t)
	top, left, right, bottom := diamond[0], diamond[1], diamond[2], diamond[3]
	tasks := byTask(evs)
	full := []dagr.EventKind{dagr.EventSpawn, dagr.EventReady, dagr.EventStart, dagr.EventFinish}
	for _, c := range []struct {
		task    *dagr.Task
		kinds   []dagr.EventKind
		deps    []uint64
		outcome dagr.Outcome
		origin  uint64
	}{
		{top, full, nil, dagr.OutcomeOK, 0},
		{left, full, []uint64{top.ID()}, dagr.OutcomeFailed, left.ID()},
		{right, full, []uint64{top.ID()}, dagr.OutcomeOK, 0},
		// It never ran: its input failed.
		{bottom, []dagr.EventKind{dagr.EventSpawn, dagr.EventFinish}, []uint64{left.ID(), right.ID()}, dagr.OutcomeFailed, left.ID()},
	} {
		evs := tasks[c.task.ID()]
		if got := kinds(evs); !slices.Equal(got, c.kinds) {
			t.Fatalf("task %s: events %v, want %v", c.task.Name(), got, c.kinds)
		}
		spawn, finish := evs[0], evs[len(evs)-1]
		if spawn.Name != c.task.Name() || !slices.Equal(spawn.Deps, c.deps) {
			t.Errorf("task %s: spawned as %q with deps %v, want deps %v", c.task.Name(), spawn.Name, spawn.Deps, c.deps)
		}
		if finish.Outcome != c.outcome || finish.Origin != c.origin {
			t.Errorf("task %s: finished %v from %d, want %v from %d", c.task.Name(), finish.Outcome, finish.Origin, c.outcome, c.origin)
		}
		for i, e := range evs {
			if i > 0 && e.Time.Before(evs[i-1].Time) {
				t.Errorf("task %s: its %v is before its %v", c.task.Name(), e.Kind, evs[i-1].Kind)
			}
			if e.Kind == dagr.EventStart && (e.Proc < 0 || e.Proc >= 2) {
				t.Errorf("task %s started on processor %d of 2", c.task.Name(), e.Proc)
			}
		}
	}
	// A task's events come after those of the tasks it takes results from.
	last := func(id uint64) dagr.Event { evs := tasks[id]; return evs[len(evs)-1] }
	if tasks[left.ID()][2].Time.Before(last(top.ID()).Time) {
		t.Error("the left task started before the top one finished")
	}
}

// TestLogCanceled: a cancelled task's end is logged as cancelled, from
// itself.
func TestLogCanceled(t *testing.T) {
	s, ctx := schedulerOf(t, 1)
	s.EnableLogging(0)
	task := dagr.Spawn(ctx, waitForCancel)
	task.Cancel()
	_ = task.Wait(ctx)
	evs, _ := s.FetchLogs()
	finish := byTask(evs)[task.ID()]
	if e := finish[len(finish)-1]; e.Kind != dagr.EventFinish || e.Outcome != dagr.OutcomeCanceled || e.Origin != task.ID() {
		t.Fatalf("a cancelled task's last event: %+v", e)
	}
}

// TestLogIsBounded: a log of 10 events keeps the last 10, says how many
// it dropped, empties on ClearLogs, and stops with DisableLogging.
func TestLogIsBounded(t *testing.T) {
	s, ctx := schedulerOf(t, 2)
	if evs, _ := s.FetchLogs(); evs != nil {
		t.Fatalf("a log that is off has %d events", len(evs))
	}
	s.EnableLogging(10)
	var last *dagr.Task
	for i := range 100 {
		last = dagr.Spawn(ctx, add, i, i)
		if err := last.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	evs, dropped := s.FetchLogs()
	if len(evs) != 10 || dropped != 390 {
		t.Fatalf("a log of 10 after 100 tasks of 4 events: %d events, %d dropped", len(evs), dropped)
	}
	if e := evs[len(evs)-1]; e.Task != last.ID() || e.Kind != dagr.EventFinish {
		t.Fatalf("the last event is %+v, want the last task's finish", e)
	}
	s.ClearLogs()
	if evs, dropped := s.FetchLogs(); len(evs) != 0 || dropped != 0 {
		t.Fatalf("after ClearLogs: %d events, %d dropped", len(evs), dropped)
	}
	dagr.Spawn(ctx, add, 1, 1).Wait(ctx)
	if evs, _ := s.FetchLogs(); len(evs) != 4 {
		t.Fatalf("after ClearLogs, a task made %d events", len(evs))
	}
	s.DisableLogging()
	if evs, _ := s.FetchLogs(); evs != nil {
		t.Fatalf("after DisableLogging: %d events", len(evs))
	}
}

// TestLogTasksOnWorkers: the log of worker 1 says where tasks on other
// workers ran, and the pictures place them there.
func TestLogTasksOnWorkers(t *testing.T) {
	s, ctx := schedulerWithWorkers(t, 2, dagr.Config{})
	dagr.EnableLogging(ctx, 0)
	want := map[uint64]int{}
	for _, w := range []int{2, 3, 2} {
		task := dagr.Spawn(ctx, double, dagr.Options{Single: w}, 1.5)
		if got := fetch[float64](t, ctx, task); got != 3 {
			t.Fatalf("double(1.5) = %v", got)
		}
		want[task.ID()] = w
	}
	// A value made on worker 2 and summed on worker 3 is pulled there.
	v := dagr.Spawn(ctx, floats, dagr.Options{Single: 2}, bigN)
	sum := dagr.Spawn(ctx, sumOf, dagr.Options{Single: 3}, v)
	fetch[float64](t, ctx, sum)
	want[v.ID()], want[sum.ID()] = 2, 3
	evs, _ := dagr.FetchLogs(ctx)
	got := map[uint64]int{}
	moved := map[uint64]int64{}
	for _, e := range evs {
		if e.Kind == dagr.EventStart && e.Worker != dagr.MyID() {
			got[e.Task] = e.Worker
			moved[e.Task] = e.Bytes
			if e.Proc < 0 {
				t.Errorf("task %d started on worker %d, on no processor (%d)", e.Task, e.Worker, e.Proc)
			}
			// One machine, one clock: it ran there after it was sent, and
			// ended there before its result came.
			evs := byTask(evs)[e.Task]
			if sent, got := evs[2].Time, evs[len(evs)-1].Time; e.Time.Before(sent) || e.Ended.Before(e.Time) || got.Before(e.Ended) {
				t.Errorf("task %d: sent at %v, ran on worker %d from %v to %v, its result came at %v", e.Task, sent, e.Worker, e.Time, e.Ended, got)
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tasks started on workers %v, want %v", got, want)
	}
	if moved[sum.ID()] < 8*bigN || moved[v.ID()] != 0 {
		t.Errorf("bytes pulled for the arguments: %d for the sum on worker 3 (of %d bytes), %d for the slice", moved[sum.ID()], 8*bigN, moved[v.ID()])
	}
	if st := s.Stats(); st.BytesMoved < 8*bigN {
		t.Errorf("Stats.BytesMoved = %d, want at least %d", st.BytesMoved, 8*bigN)
	}
	var dot bytes.Buffer
	if err := dagr.WriteDOT(&dot, evs); err != nil {
		t.Fatal(err)
	}
	for id, w := range want {
		cluster := fmt.Sprintf("cluster_worker_%d {", w)
		i := strings.Index(dot.String(), cluster)
		if i < 0 || !strings.Contains(dot.String()[i:], fmt.Sprintf("t%d [", id)) {
			t.Fatalf("task %d is not in %s:\n%s", id, cluster, dot.String())
		}
	}
}

// TestLogOccupancy: a task's start says what share of its processor it
// holds, as its options set it.
func TestLogOccupancy(t *testing.T) {
	s, ctx := schedulerOf(t, 1)
	s.EnableLogging(0)
	want := map[uint64]float64{}
	for _, occ := range []float64{0, 0.25, 0.5, 1} {
		o := dagr.Options{Occupancy: occ}
		task := dagr.Spawn(ctx, add, o, 1, 2)
		if _, err := task.Fetch(ctx); err != nil {
			t.Fatal(err)
		}
		want[task.ID()] = cmp.Or(occ, 1) // 0: unset, a whole processor
	}
	evs, _ := s.FetchLogs()
	for id, occ := range want {
		for _, e := range byTask(evs)[id] {
			if e.Kind == dagr.EventStart && e.Occupancy != occ {
				t.Errorf("task %d started with occupancy %v, want %v", id, e.Occupancy, occ)
			}
		}
	}
}

func init() { dagr.Register(localChain, localOf) }

// localOf spawns, where it runs, a task of a function that is not
// registered on the task that ts[0] is (one of worker 1's), and returns
// its value.
func localOf(ctx context.Context, ts []*dagr.Task) (int, error) {
	same := func(x int) int { return x }
	return dagr.Fetch[int](ctx, dagr.Spawn(ctx, same, ts[0]))
}

// localChain runs, where it runs, a chain of n tasks of a function that is
// not registered (so they live on this worker only), and a task of add
// (registered: it lives on worker 1); it returns n plus add(1, 2).
func localChain(ctx context.Context, n int) (int, error) {
	inc := func(x int) int { return x + 1 }
	t := dagr.Spawn(ctx, inc, 0)
	for range n - 1 {
		t = dagr.Spawn(ctx, inc, t)
	}
	v, err := dagr.Fetch[int](ctx, t)
	if err != nil {
		return 0, err
	}
	w, err := dagr.Fetch[int](ctx, dagr.Spawn(ctx, add, 1, 2))
	return v + w, err
}

// TestLogTasksSpawnedOnWorkers: the tasks that live on another worker
// only reach worker 1's log, with that worker's ids, processors and
// times, before the end of the task that spawned them; a task that
// worker 1 sent there, or that lives on worker 1, is logged once.
func TestLogTasksSpawnedOnWorkers(t *testing.T) {
	s, ctx := schedulerWithWorkers(t, 1, dagr.Config{})
	s.EnableLogging(0)
	const n = 3
	task := dagr.Spawn(ctx, localChain, dagr.Options{Single: 2}, n)
	if got := fetch[int](t, ctx, task); got != n+3 {
		t.Fatalf("localChain(%d) = %d", n, got)
	}
	evs, dropped := s.FetchLogs()
	if dropped != 0 {
		t.Fatalf("%d events dropped", dropped)
	}
	tasks := byTask(evs)
	var local []uint64 // the chain, in the order of its spawns
	spawns := map[string]int{}
	for _, e := range evs {
		if e.Kind != dagr.EventSpawn {
			continue
		}
		spawns[e.Name]++
		if e.Worker == 2 {
			local = append(local, e.Task)
		}
	}
	if spawns[task.Name()] != 1 || spawns["dagr_test.add"] != 1 {
		t.Errorf("spawn events by name: %v; want one of %s and one of add", spawns, task.Name())
	}
	if len(local) != n {
		t.Fatalf("%d tasks spawned on worker 2 in the log, want %d: %v", len(local), n, spawns)
	}
	full := []dagr.EventKind{dagr.EventSpawn, dagr.EventReady, dagr.EventStart, dagr.EventFinish}
	for i, id := range local {
		if id>>48 != 2 {
			t.Errorf("task %d of worker 2 has an id outside its space", id)
		}
		evs := tasks[id]
		if !slices.Equal(kinds(evs), full) {
			t.Fatalf("task %d: events %v, want %v", id, kinds(evs), full)
		}
		var deps []uint64
		if i > 0 {
			deps = []uint64{local[i-1]}
		}
		if !slices.Equal(evs[0].Deps, deps) || !strings.Contains(evs[0].Name, "localChain") {
			t.Errorf("task %d: spawned as %q after %v, want after %v", id, evs[0].Name, evs[0].Deps, deps)
		}
		for _, e := range evs {
			if e.Worker != 2 || (e.Kind == dagr.EventStart && e.Proc < 0) {
				t.Errorf("task %d: %v on worker %d, processor %d", id, e.Kind, e.Worker, e.Proc)
			}
		}
		if evs[3].Outcome != dagr.OutcomeOK {
			t.Errorf("task %d ended %v", id, evs[3].Outcome)
		}
	}
	// A task of worker 2 that takes the result of one of worker 1's
	// depends on it, by its id.
	a := dagr.Spawn(ctx, add, 20, 22)
	of := dagr.Spawn(ctx, localOf, dagr.Options{Single: 2}, []*dagr.Task{a})
	if got := fetch[int](t, ctx, of); got != 42 {
		t.Fatalf("localOf(add(20, 22)) = %d", got)
	}
	evs, _ = s.FetchLogs()
	var deps [][]uint64
	for _, e := range evs {
		if e.Kind == dagr.EventSpawn && e.Worker == 2 && strings.Contains(e.Name, "localOf") {
			deps = append(deps, e.Deps)
		}
	}
	if len(deps) != 1 || !slices.Equal(deps[0], []uint64{a.ID()}) {
		t.Errorf("the task of worker 2 on task %d of worker 1: spawned with deps %v, want [%d]", a.ID(), deps, a.ID())
	}
	// The chain ran while its spawner did, on worker 2.
	var ranFrom time.Time
	for _, e := range tasks[task.ID()] {
		if e.Kind == dagr.EventStart && e.Worker == 2 {
			ranFrom = e.Time
		}
	}
	if first := tasks[local[0]][2].Time; ranFrom.IsZero() || first.Before(ranFrom) {
		t.Errorf("the chain started at %v, its spawner on worker 2 at %v", first, ranFrom)
	}
}

// A task's finish is in the event log as soon as anything says it has
// ended (Wait, Done, Ready): the state that says so changes before the
// finish is logged, and each of them waits for the log.
func TestLogFinishBeforeEnded(t *testing.T) {
	s, ctx := schedulerOf(t, 2)
	s.EnableLogging(0)
	missing := 0
	for i := range 3000 {
		task := s.Spawn(ctx, add, i, 1)
		switch i % 3 {
		case 0:
			if err := task.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		case 1:
			<-task.Done()
		case 2:
			for !task.Ready() {
				runtime.Gosched()
			}
		}
		evs, _ := s.FetchLogs()
		found := false
		for _, e := range evs {
			found = found || e.Task == task.ID() && e.Kind == dagr.EventFinish
		}
		if !found {
			missing++
		}
		s.ClearLogs()
	}
	if missing > 0 {
		t.Fatalf("%d of 3000 tasks had no finish in the log once they had ended", missing)
	}
}
