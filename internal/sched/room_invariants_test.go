package sched

import (
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagr/dagr/internal/call"
)

var roomHarnessBudget = flag.Duration("room.budget", 2*time.Second, "TestRoomInvariants: how long to run")

// roomChildEnv marks the process that runs TestRoomInvariants' harness.
const roomChildEnv = "DAGR_ROOM_HARNESS"

func roomSpawn(s *Scheduler, ctx context.Context, spec *Spec, fn any, inputs ...*Node) *Node {
	return roomSpawnIn(nil, s, ctx, spec, fn, inputs...)
}

// roomSpawnIn is roomSpawn, with the node placed by b.Submit when b is
// not nil and the node is ready at once.
func roomSpawnIn(b *Batch, s *Scheduler, ctx context.Context, spec *Spec, fn any, inputs ...*Node) *Node {
	sig, err := call.Analyze(fn)
	if err != nil {
		panic(err)
	}
	if s == nil {
		s = spec.owner
	}
	n := new(Node)
	args := make([]any, len(inputs))
	var deps []Dep
	for i, in := range inputs {
		deps = append(deps, Dep{Arg: i, Node: in})
	}
	s.SpawnOwnedIn(b, n, ctx, fn, sig, args, deps, spec, nil)
	return n
}

func (h *roomHarness) pick(ns []*Node) []*Node {
	var out []*Node
	for range h.intn(3) {
		if len(ns) > 0 {
			out = append(out, ns[h.intn(len(ns))])
		}
	}
	return out
}

type roomHarness struct {
	t     *testing.T
	rng   sync.Mutex
	r     *rand.Rand
	bad   atomic.Int32
	actMu sync.Mutex
	act   map[*Node]*atomic.Int32
	all   []*Node
	// live counts the fs that have not returned; a round ends when it is 0.
	live atomic.Int32
}

// roomRound is what one round's tasks share. An f cancelled in one round
// may still run in the next (a cancel frees its share at once), so each
// round's tasks keep their own round, never the harness's current one.
type roomRound struct {
	*roomHarness
	scheds     []*Scheduler
	goroutines bool
	stray      sync.WaitGroup
}

func (h *roomHarness) activity(n *Node) *atomic.Int32 {
	h.actMu.Lock()
	defer h.actMu.Unlock()
	a := h.act[n]
	if a == nil {
		a = new(atomic.Int32)
		h.act[n] = a
	}
	return a
}

func (h *roomHarness) intn(n int) int {
	h.rng.Lock()
	defer h.rng.Unlock()
	return h.r.IntN(n)
}

func (h *roomRound) spec() *Spec {
	sched := h.scheds[h.intn(len(h.scheds))]
	sp := sched.NewSpec()
	occs := []float64{1, 1, 0.5, 0.5, 0.25, 0.3, 0}
	sp.Occupancy = uint32(occs[h.intn(len(occs))] * FullOccupancy)
	sp.Priority = h.intn(3)
	if h.intn(6) == 0 {
		sp.Retries = 1 + h.intn(2)
	}
	if h.intn(8) == 0 {
		sp.Timeout = time.Duration(1+h.intn(3)) * time.Millisecond
	}
	if h.intn(6) == 0 {
		sp.Procs = []int{h.intn(len(sched.procs))}
	}
	// Some may be started without a share, as a task sent to another
	// worker is (see Scheduler.Spill).
	sp.Spill = h.intn(5) == 0
	return sp
}

// body is a task's f: it may spawn children with its context and wait for
// them in various ways, cancel some, sleep, fail, or call Goexit.
func (h *roomRound) body(depth int) func(ctx context.Context, xs ...int) (int, error) {
	return func(ctx context.Context, xs ...int) (int, error) {
		h.live.Add(1)
		defer h.live.Add(-1)
		tc := fromContext(ctx)
		me := tc.node.Load()
		if w := me.where.Load(); w != -int32(tc.proc.index+1) {
			h.t.Errorf("f runs with where %d on processor %d", w, tc.proc.index)
		}
		act := h.activity(me)
		act.Add(1)
		defer act.Add(-1)
		check := func(where string) {
			if h.goroutines {
				return
			}
			p := tc.proc
			p.mu.Lock()
			ok := me.shareFreed || me.Ended() || (me.onProc && me.blocked == 0)
			for _, w := range p.waiters {
				if w.n == me && !me.Ended() {
					ok = false
				}
			}
			onProc, blocked, freed := me.onProc, me.blocked, me.shareFreed
			p.mu.Unlock()
			if !ok && h.bad.Add(1) <= 5 {
				h.t.Errorf("%s: f runs while its node is onProc %v blocked %d shareFreed %v ended %v", where, onProc, blocked, freed, me.Ended())
			}
		}
		check("start")
		defer check("return")
		h.actMu.Lock()
		h.all = append(h.all, me)
		h.actMu.Unlock()
		switch h.intn(40) {
		case 0:
			runtime.Goexit()
		case 3:
			me.Cancel(ErrCanceled)
			spin(time.Duration(h.intn(200)) * time.Microsecond)
		case 1:
			return 0, context.Canceled
		case 2:
			return 0, errRoom
		}
		if depth < 4 && h.intn(4) == 0 {
			// Sync: spawn in a group, maybe fetch one in the body, then wait
			// for the group.
			g := new(Group)
			gctx := WithGroup(ctx, g)
			k := 1 + h.intn(4)
			kids := make([]*Node, k)
			for i := range kids {
				kids[i] = roomSpawn(nil, gctx, h.spec(), h.body(depth+1), h.pick(kids[:i])...)
			}
			if h.intn(2) == 0 {
				act.Add(-1)
				Wait(gctx, kids[h.intn(k)])
				act.Add(1)
			}
			act.Add(-1)
			resume := Blocking(ctx)
			g.Wait()
			resume()
			act.Add(1)
			check("after Sync")
		} else if depth < 4 && h.intn(3) > 0 {
			k := 1 + h.intn(4)
			if h.intn(4) == 0 {
				k = 1 + h.intn(40) // a batch may have many
			}
			kids := make([]*Node, k)
			// A third of the time, the children are spawned together, as a
			// bulk block's are, and placed together.
			var b *Batch
			if h.intn(3) == 0 {
				b = new(Batch)
			}
			for i := range kids {
				kids[i] = roomSpawnIn(b, nil, ctx, h.spec(), h.body(depth+1), h.pick(kids[:i])...)
			}
			if b != nil {
				if h.intn(3) == 0 {
					spin(time.Duration(h.intn(100)) * time.Microsecond)
				}
				b.Submit()
			}
			if h.intn(5) == 0 {
				kids[h.intn(k)].Cancel(ErrCanceled)
			}
			wait := func(n *Node) { act.Add(-1); Wait(ctx, n); act.Add(1); check("after Wait") }
			if h.goroutines && h.intn(3) == 0 {
				var wg sync.WaitGroup
				for _, kn := range kids {
					wg.Add(1)
					go func() { defer wg.Done(); wait(kn) }()
				}
				if h.intn(2) == 0 {
					spin(time.Duration(h.intn(200)) * time.Microsecond)
				}
				if h.intn(3) > 0 {
					wg.Wait()
				} else {
					h.stray.Add(1)
					go func() { wg.Wait(); h.stray.Done() }()
				}
			} else {
				for _, i := range h.r2perm(k) {
					if h.intn(4) == 0 {
						act.Add(-1)
						resume := Blocking(ctx)
						<-kids[i].Done()
						resume()
						act.Add(1)
						check("after Blocking")
					} else {
						wait(kids[i])
					}
				}
			}
		}
		if h.intn(3) == 0 {
			spin(time.Duration(h.intn(300)) * time.Microsecond)
		}
		return 1, nil
	}
}

func (h *roomHarness) r2perm(n int) []int {
	h.rng.Lock()
	defer h.rng.Unlock()
	return h.r.Perm(n)
}

func spin(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
	}
}

var errRoom = &roomErr{}

type roomErr struct{}

func (*roomErr) Error() string { return "room test error" }

// TestRoomInvariants runs random nested workloads and checks, all the time,
// that no processor's running nodes hold more than a whole processor, and
// that each processor's used count is what its running nodes hold.
//
// It runs in a process of its own, with a deadline: an engine that breaks
// its rules may crash or hang, and a cancelled f may outlive the test,
// which must not touch the tests that follow.
func TestRoomInvariants(t *testing.T) {
	if os.Getenv(roomChildEnv) == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRoomInvariants$", "-test.count=1", "-room.budget="+roomHarnessBudget.String())
		cmd.Env = append(os.Environ(), roomChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the harness failed (%v):\n%s", err, out)
		}
		return
	}
	runRoomHarness(t)
}

// runRoomHarness is TestRoomInvariants' harness. A hang fails it at once,
// and its process ends with the goroutines that hang.
func runRoomHarness(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	hr := &roomHarness{act: map[*Node]*atomic.Int32{}, t: t, r: rand.New(rand.NewPCG(uint64(seed), 1))}
	deadline := time.Now().Add(*roomHarnessBudget)
	for round := 0; time.Now().Before(deadline) && hr.bad.Load() < 5; round++ {
		h := &roomRound{roomHarness: hr}
		for i := range 2 {
			sc := New(Config{Procs: 1 + i, PanicError: func(v any, _ []byte) error { return errRoom }, FailureOf: func(error) *Failure { return nil }})
			// Few runners on their way: nodes are deferred often.
			sc.maxStarting = int32(1 + round%3)
			h.scheds = append(h.scheds, sc)
		}
		// Half the rounds let f wait from several goroutines: then an f
		// may run while its node is blocked, by design, but the room must
		// still add up.
		h.goroutines = round%2 == 1
		var allProcs []*proc
		for _, sc := range h.scheds {
			allProcs = append(allProcs, sc.procs...)
		}
		stop := make(chan struct{})
		var cw sync.WaitGroup
		cw.Add(1)
		go func() {
			defer cw.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, p := range allProcs {
					p.mu.Lock()
					held, used := roomHeld(p), p.used.Load()
					var active uint32
					waiting := map[*Node]bool{}
					for _, w := range p.waiters {
						waiting[w.n] = true
					}
					for _, n := range p.running {
						if h.activity(n).Load() > 0 && !n.Ended() && !n.shareFreed {
							active += n.occupancy()
							if !h.goroutines && (n.blocked > 0 || waiting[n]) {
								if h.bad.Add(1) <= 5 {
									hr.t.Errorf("round %d: processor %d: a node's f runs while the node is blocked (%d) or waits for room (%v)", round, p.index, n.blocked, waiting[n])
								}
							}
						}
					}
					p.mu.Unlock()
					if active > FullOccupancy && !h.goroutines {
						if h.bad.Add(1) <= 5 {
							hr.t.Errorf("round %d: processor %d: fs that run hold %s", round, p.index, roomOcc(active))
						}
					}
					if held > FullOccupancy || held != used {
						if h.bad.Add(1) <= 5 {
							hr.t.Errorf("round %d: processor %d: running nodes hold %s, used %s (%v)", round, p.index, roomOcc(held), roomOcc(used), roomMismatch.Load())
						}
					}
				}
				runtime.Gosched()
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		var (
			cancelsMu sync.Mutex
			cancels   []context.CancelFunc
		)
		cstop := make(chan struct{})
		cw.Add(1)
		go func() {
			defer cw.Done()
			for {
				select {
				case <-cstop:
					return
				case <-time.After(time.Duration(h.intn(300)) * time.Microsecond):
				}
				h.actMu.Lock()
				var n *Node
				if len(h.all) > 0 {
					n = h.all[h.intn(len(h.all))]
				}
				h.actMu.Unlock()
				if n != nil && h.intn(3) == 0 {
					n.Cancel(ErrCanceled)
				}
				if h.intn(4) == 0 {
					h.scheds[h.intn(len(h.scheds))].Spill()
				}
				if h.intn(20) == 0 {
					cancelsMu.Lock()
					if len(cancels) > 0 {
						cancels[h.intn(len(cancels))]()
					}
					cancelsMu.Unlock()
				}
			}
		}()
		// Top-level nodes share watches on a few contexts (ctxWatch), some
		// of which end while their nodes run.
		ctxs := []context.Context{ctx}
		for range 3 {
			c, cc := context.WithCancel(ctx)
			ctxs = append(ctxs, c)
			cancelsMu.Lock()
			cancels = append(cancels, cc)
			cancelsMu.Unlock()
		}
		var tops []*Node
		for range 30 + h.intn(30) {
			tops = append(tops, roomSpawn(nil, ctxs[h.intn(len(ctxs))], h.spec(), h.body(0), h.pick(tops)...))
			if h.intn(10) == 0 {
				tops[h.intn(len(tops))].Cancel(ErrCanceled)
			}
		}
		if h.intn(10) == 0 {
			cancel()
		}
		for _, n := range tops {
			select {
			case <-n.Done():
			case <-time.After(20 * time.Second):
				hr.t.Errorf("round %d: hang", round)
				cancel()
				return
			}
		}
		close(cstop)
		done := make(chan struct{})
		go func() {
			for _, sc := range h.scheds {
				sc.Close()
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			buf := make([]byte, 1<<20)
			hr.t.Errorf("round %d: Close hangs\n%s", round, buf[:runtime.Stack(buf, true)])
			cancel()
			return
		}
		cancel()
		for _, sc := range h.scheds {
			if k := watchesLeft(sc); k != 0 {
				hr.t.Errorf("round %d: %d context watches left once every node was released", round, k)
			}
		}
		// A cancelled f that ignores its context outlives its node and
		// Close; the round ends when every f has returned.
		for start := time.Now(); hr.live.Load() > 0; runtime.Gosched() {
			if time.Since(start) > 20*time.Second {
				hr.t.Errorf("round %d: %d fs still run 20s after Close", round, hr.live.Load())
				return
			}
		}
		// Only after that: a cancelled f may still call stray.Add, which
		// must not meet a Wait that has begun (see sync.WaitGroup).
		h.stray.Wait()
		close(stop)
		h.actMu.Lock()
		h.all = nil
		clear(h.act)
		h.actMu.Unlock()
		cw.Wait()
		// Close returns once every node is released; a runner stops its
		// last node just after, so the room empties soon after Close.
		for _, p := range allProcs {
			var u uint32
			var r int
			for start := time.Now(); time.Since(start) < 5*time.Second; runtime.Gosched() {
				p.mu.Lock()
				u, r = p.used.Load(), len(p.running)
				p.mu.Unlock()
				if u == 0 && r == 0 {
					break
				}
			}
			if u != 0 || r != 0 {
				hr.t.Errorf("round %d: processor %d: used %s with %d running 5s after Close", round, p.index, roomOcc(u), r)
			}
		}
	}
}
