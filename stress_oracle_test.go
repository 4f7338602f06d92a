package dagr_test

// The model of TestStress: random DAGs of tasks described as plain data
// (stressPlan, sdag, snode), and the oracle that says, from the description
// alone, what each task may end with (stressExpect).
//
// Cancellation, timeouts and deadlines make outcomes nondeterministic, so
// the oracle gives a set: a task may succeed (and then its value is known),
// and it may fail with any of a set of origins, each with the kinds of
// failure that origin may have. Whatever the schedule, an engine that keeps
// the contract of API.md gives an outcome inside that set.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// failKind is a kind of failure of an origin task, as a bit set.
type failKind uint16

const (
	fkSentinel     failKind = 1 << iota // f returned a *stressErr
	fkPanic                             // f panicked with a stressPanic
	fkGoexit                            // f called runtime.Goexit
	fkCanceled                          // cancelled: errors.Is(err, context.Canceled)
	fkDeadline                          // timed out: errors.Is(err, context.DeadlineExceeded)
	fkNoProc                            // no processor fits: errors.Is(err, dagr.ErrNoProcessor)
	fkBadOpt                            // invalid options: any error
	fkGoexitInline                      // a child's runtime.Goexit, run inline, ended f (see goexitOrigins)
)

// fkInterrupt are the kinds that make an outcome nondeterministic.
const fkInterrupt = fkCanceled | fkDeadline | fkGoexitInline

var failKindNames = [...]string{"sentinel", "panic", "goexit", "canceled", "deadline", "no-processor", "bad-option", "goexit-inline"}

func (k failKind) String() string {
	var s []string
	for i, name := range failKindNames {
		if k&(1<<i) != 0 {
			s = append(s, name)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "|")
}

type bodyKind uint8

const (
	bodyPlain  bodyKind = iota // mix the inputs and the constant
	bodyHang                   // wait for ctx.Done (the task has a Timeout)
	bodyTimer                  // a short timer, or ctx.Done, whichever first
	bodyNested                 // spawn a sub-DAG with ctx and fetch/wait/sync it
)

type nestMode uint8

const (
	nestFetch nestMode = iota // spawn, then Fetch the used children in order
	nestWait                  // spawn, Wait for every child, then Fetch the used ones
	nestSync                  // spawn inside dagr.Sync, then Fetch the used ones
)

var nestModeNames = [...]string{"fetch", "wait", "sync"}

// shape is the Go signature of a task's f.
type shape uint8

const (
	shapeCtxVar  shape = iota // func(context.Context, ...int) (int, error)
	shapeVar                  // func(...int) int: plain bodies whose failures are panics
	shapeCtxOne               // func(context.Context, int) (int, error): one input
	shapeTwo                  // func(int, int) int: two inputs, plain, panics only
	shapeCtxNone              // func(context.Context) (any, error): no input
)

type scopeKind uint8

const (
	scNone scopeKind = iota
	scThread
	scWorker
	scAny
	scOSProc
)

// invalidKind is a way of making a task that fails when it is spawned.
type invalidKind uint8

const (
	invNone    invalidKind = iota
	invScope               // ExactScope of a processor that does not exist
	invWorker              // WorkerScope(2)
	invSingle              // Single: 2
	invOcc                 // Occupancy outside (0, 1]
	invRetries             // Retries < 0
	invTimeout             // Timeout < 0
)

func (k invalidKind) kind() failKind {
	switch k {
	case invScope, invWorker, invSingle:
		return fkNoProc
	case invNone:
		return 0
	}
	return fkBadOpt
}

// The occupancies a task may have; 0 is the default (a whole processor).
var stressOccs = [...]float64{0, 0, 0, 0, 0.1, 0.25, 0.5, 0.3, 1, -1 /* NoOccupancy */, -1}

// stressPlan is one round: its schedulers, its DAG and its cancellations.
type stressPlan struct {
	seed     int64
	round    int
	procs    []int // processors of each scheduler
	top      *sdag
	groups   []sgroup
	triggers []strigger

	interrupts bool    // the round cancels tasks and has timeouts
	failRate   float64 // share of tasks that fail for good
	nodes      int     // tasks described, nested ones included
}

// sgroup is a spawning context shared by some top-level tasks.
type sgroup struct {
	kind     failKind      // fkCanceled: a trigger cancels it; fkDeadline: it has a deadline; 0: it lives through the round
	deadline time.Duration // for fkDeadline, from the round's start
}

type trigKind uint8

const (
	trigAfterSpawn trigKind = iota // the spawner fires it after spawning top-level task at
	trigWhenDone                   // a watcher fires it when top-level task at ends
	trigAtEnd                      // the spawner fires it after the last spawn
)

// strigger cancels a top-level task (task >= 0) or a group (group >= 0)
// from outside the tasks.
type strigger struct {
	kind  trigKind
	at    int
	task  int
	group int
}

// sdag is a DAG of tasks: the round's top level, or the sub-DAG that a
// nested task's f spawns on each try.
type sdag struct {
	parent   *snode
	nodes    []*snode
	ctxKinds failKind // how the context the nodes are spawned with may end while they live
}

// snode describes one task.
type snode struct {
	dag    *sdag
	idx    int
	path   string // "12" for top-level task 12; "12/3" for node 3 of its sub-DAG
	top    *snode // the top-level ancestor (itself at the top)
	sched  int
	procs  int   // processors of its scheduler
	inputs []int // earlier nodes of the same DAG
	c      int

	occ     float64
	prio    int
	scope   scopeKind
	thread  int // scThread, invScope
	retries int
	timeout time.Duration
	invalid invalidKind
	badOcc  float64

	failFirst  int    // tries 0..failFirst-1 fail (a sentinel error or a panic)
	panicMask  uint32 // bit t: try t panics instead of returning the sentinel
	goexit     bool   // every try calls runtime.Goexit (Retries is 0)
	selfCancel bool   // f cancels its own task and returns
	body       bodyKind
	delay      time.Duration // bodyTimer
	shape      shape
	cancels    []int // top-level tasks that f cancels on every try
	group      int   // top level: the sgroup it is spawned with, or -1
	target     bool  // something may cancel it

	// bodyNested
	sub        *sdag
	mode       nestMode
	use        []int // children whose values f fetches, in that order
	waitOrder  []int // nestWait: the order f waits in
	bodyFetch  bool  // nestSync: fetch use[0] inside the Sync body too
	wrap       bool  // wrap a child's error before returning it
	kidCancels []kidCancel

	// The tasks calling runtime.Goexit that may end n's f, run inline on
	// its goroutine while f waits (see goexitOrigins); computed once.
	dieFrom     []*snode
	dieFromDone bool

	exp stressExpect
}

// kidCancel: f cancels child kid after spawning its sub-DAG (step 0) or
// after fetching the step-th used child.
type kidCancel struct{ step, kid int }

// stressExpect is what the oracle allows for a task.
type stressExpect struct {
	ok    bool                // it may succeed, with val
	val   int                 // its value, when it succeeds
	fails map[*snode]failKind // the origins it may fail with, and how each may fail

	// For a nested task: whether every task of its sub-DAGs (at any depth)
	// may succeed, and how they may fail; a Sync above sees them all.
	treeOK    bool
	treeFails map[*snode]failKind

	det      bool // no interruption can reach it: its number of tries is known
	tries    int  // that number, when det
	minTries int  // tries it needs to succeed
	countOcc bool // it never ends while f runs: its share of its processor can be checked
}

func (n *snode) hasCtx() bool {
	return n.shape == shapeCtxVar || n.shape == shapeCtxOne || n.shape == shapeCtxNone
}

// tryKind is how try t fails, for t < failFirst.
func (n *snode) tryKind(t int) failKind {
	if n.panicMask&(1<<uint(t)) != 0 {
		return fkPanic
	}
	return fkSentinel
}

// describe is a short description of the task's options and behaviour.
func (n *snode) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sched %d, occ %v, prio %d", n.sched, n.occ, n.prio)
	switch n.scope {
	case scThread:
		fmt.Fprintf(&b, ", thread %d", n.thread)
	case scWorker:
		b.WriteString(", WorkerScope(1)")
	case scAny:
		b.WriteString(", AnyScope")
	case scOSProc:
		b.WriteString(", OSProc(1)")
	}
	if n.retries != 0 {
		fmt.Fprintf(&b, ", retries %d", n.retries)
	}
	if n.timeout != 0 {
		fmt.Fprintf(&b, ", timeout %v", n.timeout)
	}
	if n.invalid != invNone {
		fmt.Fprintf(&b, ", invalid %d", n.invalid)
	}
	if n.failFirst > 0 {
		fmt.Fprintf(&b, ", fails %d tries (mask %b)", n.failFirst, n.panicMask&0xf)
	}
	if n.goexit {
		b.WriteString(", goexit")
	}
	if n.selfCancel {
		b.WriteString(", cancels itself")
	}
	if n.target {
		b.WriteString(", cancel target")
	}
	if n.group >= 0 {
		fmt.Fprintf(&b, ", group %d", n.group)
	}
	switch n.body {
	case bodyHang:
		b.WriteString(", hangs")
	case bodyTimer:
		fmt.Fprintf(&b, ", timer %v", n.delay)
	case bodyNested:
		fmt.Fprintf(&b, ", nested (%s, %d children, uses %v)", nestModeNames[n.mode], len(n.sub.nodes), n.use)
	}
	fmt.Fprintf(&b, ", shape %d, inputs %v", n.shape, n.inputs)
	return b.String()
}

// stressMix is what every task computes from its constant, its inputs and
// the values of the children it uses.
func stressMix(c int, xs ...int) int {
	h := uint64(c)
	for _, x := range xs {
		h ^= uint64(x)
		h *= 0x100000001b3
		h ^= h >> 29
	}
	return int(h)
}

// genStressPlan makes round round of seed seed, with about tasks top-level
// tasks.
func genStressPlan(seed int64, round, tasks int) *stressPlan {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(round)))
	p := &stressPlan{seed: seed, round: round}
	for range 1 + r.IntN(3) {
		procs := 1 + r.IntN(4)
		if r.IntN(4) == 0 {
			// Many processors: nodes are then deferred to runners on
			// their way, a chain that must never break.
			procs = 8 + r.IntN(57)
		}
		p.procs = append(p.procs, procs)
	}
	p.interrupts = r.IntN(10) >= 3
	p.failRate = [...]float64{0.001, 0.005, 0.01, 0.03}[r.IntN(4)]
	n := max(1, tasks/2+r.IntN(tasks+1))
	if p.interrupts {
		for range r.IntN(3) {
			g := sgroup{}
			switch x := r.IntN(10); {
			case x < 5:
				g.kind = fkCanceled
			case x < 7:
				g.kind = fkDeadline
				g.deadline = time.Duration(2+r.IntN(50)) * time.Millisecond
			}
			p.groups = append(p.groups, g)
		}
	}
	p.top = &sdag{}
	for i := range n {
		p.top.nodes = append(p.top.nodes, p.genNode(r, p.top, i, 0))
	}
	if p.interrupts {
		for i, nd := range p.top.nodes {
			if r.IntN(1000) < 15 {
				nd.target = true
				p.triggers = append(p.triggers, p.genTrigger(r, n, i, i, -1))
			}
		}
		for gi, g := range p.groups {
			if g.kind == fkCanceled {
				p.triggers = append(p.triggers, p.genTrigger(r, n, 0, -1, gi))
			}
		}
	}
	p.solve(p.top)
	return p
}

func (p *stressPlan) genTrigger(r *rand.Rand, n, from, task, group int) strigger {
	tr := strigger{task: task, group: group}
	switch x := r.IntN(10); {
	case x < 5:
		tr.kind, tr.at = trigAfterSpawn, from+r.IntN(n-from)
	case x < 8:
		tr.kind, tr.at = trigWhenDone, r.IntN(n)
	default:
		tr.kind = trigAtEnd
	}
	return tr
}

// The chance that a task at each depth is nested, and the largest sub-DAG.
var (
	stressNestP   = [...]float64{0.04, 0.25, 0.15, 0.08, 0}
	stressSubSize = [...]int{0, 5, 4, 3, 2}
)

func (p *stressPlan) genNode(r *rand.Rand, d *sdag, i, depth int) *snode {
	n := &snode{dag: d, idx: i, group: -1}
	p.nodes++
	if d.parent == nil {
		n.path, n.top = strconv.Itoa(i), n
		n.sched = r.IntN(len(p.procs))
	} else {
		n.path, n.top = d.parent.path+"/"+strconv.Itoa(i), d.parent.top
		n.sched = d.parent.sched
		if r.IntN(10) == 0 {
			n.sched = r.IntN(len(p.procs))
		}
	}
	n.procs = p.procs[n.sched]

	// Inputs: about one on average, so that failures do not spread to the
	// whole DAG; half of them among the last few tasks.
	k := 0
	switch x := r.IntN(100); {
	case d.parent != nil:
		k = r.IntN(3)
	case x < 30:
	case x < 80:
		k = 1
	case x < 94:
		k = 2
	default:
		k = 3
	}
	for range k {
		if i == 0 {
			break
		}
		j := r.IntN(i)
		if r.IntN(2) == 0 {
			j = i - 1 - r.IntN(min(i, 16))
		}
		n.inputs = append(n.inputs, j)
	}
	n.c = int(r.Uint64())

	n.occ = stressOccs[r.IntN(len(stressOccs))]
	if r.IntN(3) > 0 {
		n.prio = r.IntN(50) - 25
	}
	switch x := r.IntN(100); {
	case x < 10:
		n.scope, n.thread = scThread, 1+r.IntN(n.procs)
	case x < 14:
		n.scope = scWorker
	case x < 17:
		n.scope = scAny
	case x < 20:
		n.scope = scOSProc
	}
	if r.IntN(10) >= 7 {
		n.retries = 1 + r.IntN(3)
	}
	n.panicMask = r.Uint32()

	switch x := r.Float64(); {
	case x < p.failRate*0.6:
		n.failFirst = n.retries + 1 + r.IntN(2) // fails for good
	case x < p.failRate*0.75:
		n.goexit, n.retries = true, 0
	case x < p.failRate:
		n.invalid = invalidKind(1 + r.IntN(6))
		switch n.invalid {
		case invScope:
			n.thread = n.procs + 1 + r.IntN(2)
		case invOcc:
			n.badOcc = [...]float64{1.5, -0.5, 2}[r.IntN(3)]
		}
	case x < p.failRate+0.05 && n.retries > 0:
		n.failFirst = 1 + r.IntN(n.retries) // succeeds after some failed tries
	}

	switch x := r.IntN(1000); {
	case r.Float64() < stressNestP[depth]:
		n.body = bodyNested
		p.genSub(r, n, depth)
		if p.interrupts && r.IntN(6) == 0 {
			n.timeout = time.Duration(50+r.IntN(450)) * time.Millisecond
		}
	case p.interrupts && x < 15:
		n.body, n.failFirst, n.retries = bodyHang, 0, min(n.retries, 2)
		n.timeout = time.Duration(1+r.IntN(5)) * time.Millisecond
	case p.interrupts && x < 35:
		n.body, n.delay = bodyTimer, time.Duration(r.IntN(2000))*time.Microsecond
		n.timeout = time.Duration(1+r.IntN(4)) * time.Millisecond
	case x < 45:
		n.body, n.delay = bodyTimer, time.Duration(r.IntN(1000))*time.Microsecond
	case p.interrupts && x < 80:
		n.timeout = time.Duration(20+r.IntN(300)) * time.Millisecond
	}
	if p.interrupts {
		if r.IntN(500) == 0 {
			n.selfCancel = true
		}
		if n.top.idx > 0 && r.IntN(100) == 0 {
			x := r.IntN(n.top.idx)
			n.cancels = append(n.cancels, x)
			p.top.nodes[x].target = true
		}
		if d.parent == nil && len(p.groups) > 0 && r.IntN(100) < 8 {
			n.group = r.IntN(len(p.groups))
		}
	}

	// The signature: the ones without a context or an error result only
	// for plain bodies, whose failing tries then panic.
	switch {
	case n.body != bodyPlain:
		n.shape = shapeCtxVar
		if len(n.inputs) == 0 && r.IntN(2) == 0 {
			n.shape = shapeCtxNone
		} else if len(n.inputs) == 1 && r.IntN(2) == 0 {
			n.shape = shapeCtxOne
		}
	default:
		switch x := r.IntN(10); {
		case x < 3:
			n.shape = shapeVar
		case x < 5 && len(n.inputs) == 2:
			n.shape = shapeTwo
		case x < 6 && len(n.inputs) == 1:
			n.shape = shapeCtxOne
		case x < 7 && len(n.inputs) == 0:
			n.shape = shapeCtxNone
		default:
			n.shape = shapeCtxVar
		}
		if !n.hasCtx() {
			n.panicMask = ^uint32(0)
		}
	}
	return n
}

// genSub makes the sub-DAG that nested task n spawns.
func (p *stressPlan) genSub(r *rand.Rand, n *snode, depth int) {
	n.sub = &sdag{parent: n}
	size := 1 + r.IntN(stressSubSize[depth+1])
	for i := range size {
		n.sub.nodes = append(n.sub.nodes, p.genNode(r, n.sub, i, depth+1))
	}
	n.mode = nestMode(r.IntN(3))
	for _, j := range r.Perm(size) {
		if r.IntN(10) < 6 {
			n.use = append(n.use, j)
		}
	}
	n.waitOrder = r.Perm(size)
	n.bodyFetch = r.IntN(2) == 0
	n.wrap = r.IntN(2) == 0
	if p.interrupts && r.IntN(5) == 0 {
		kc := kidCancel{step: r.IntN(len(n.use) + 1), kid: r.IntN(size)}
		n.kidCancels = append(n.kidCancels, kc)
		n.sub.nodes[kc.kid].target = true
	}
}

// The oracle.

func (p *stressPlan) solve(d *sdag) {
	for _, n := range d.nodes {
		p.solveNode(n)
	}
}

// selfInterrupt says how n itself may be interrupted: cancelled (Cancel, its
// spawning context), or timed out (its Timeout, a deadline of its spawning
// context).
func (p *stressPlan) selfInterrupt(n *snode) failKind {
	k := n.dag.ctxKinds
	if n.target || n.selfCancel {
		k |= fkCanceled
	}
	if n.group >= 0 {
		k |= p.groups[n.group].kind
	}
	if n.timeout > 0 && n.invalid == invNone {
		k |= fkDeadline
	}
	return k
}

func mergeFails(dst, src map[*snode]failKind) {
	for o, k := range src {
		dst[o] |= k
	}
}

// goexitOrigins returns the tasks whose runtime.Goexit may end n's f. A
// task waiting for one of its children may run that child's f on its own
// goroutine, where a runtime.Goexit ends both; API.md says nothing of
// Goexit, so the oracle lets such a parent fail with the child's failure
// (as if f had returned the error of its wait) without further tries, and
// lets the other children of that try be cancelled. A parent failing as the
// origin of a Goexit itself is still an error.
func goexitOrigins(n *snode) []*snode {
	if n.dieFromDone || n.sub == nil {
		return n.dieFrom
	}
	n.dieFromDone = true
	waited := n.use
	if n.mode != nestFetch {
		waited = n.waitOrder // every child
	}
	seen := map[*snode]bool{}
	for _, j := range waited {
		k := n.sub.nodes[j]
		if k.goexit && !seen[k] {
			seen[k] = true
			n.dieFrom = append(n.dieFrom, k)
		}
		for _, g := range goexitOrigins(k) {
			if !seen[g] {
				seen[g] = true
				n.dieFrom = append(n.dieFrom, g)
			}
		}
	}
	return n.dieFrom
}

func (p *stressPlan) solveNode(n *snode) {
	d, e := n.dag, &n.exp
	e.fails = map[*snode]failKind{}
	// A task runs only once every input has succeeded; a failed input
	// passes its failure on, with its origin.
	inOK := true
	var inVals []int
	for _, i := range n.inputs {
		in := d.nodes[i]
		inOK = inOK && in.exp.ok
		inVals = append(inVals, in.exp.val)
		mergeFails(e.fails, in.exp.fails)
	}
	// Cancelled or timed out, waiting or running, whatever its inputs do.
	intr := p.selfInterrupt(n)
	if intr != 0 {
		e.fails[n] |= intr
	}
	e.countOcc = intr == 0 && n.hasCtx()
	e.minTries = n.failFirst + 1
	e.treeOK = true

	bodyOK, bodyFails := true, map[*snode]failKind{}
	var useVals []int
	if n.sub != nil {
		// The children are spawned with the context of a try: it ends when
		// n is cancelled or times out, or when a Goexit cuts its f short.
		n.sub.ctxKinds = intr
		if len(goexitOrigins(n)) > 0 {
			n.sub.ctxKinds |= fkCanceled
		}
		p.solve(n.sub)
		e.treeFails = map[*snode]failKind{}
		for _, k := range n.sub.nodes {
			e.treeOK = e.treeOK && k.exp.ok && k.exp.treeOK
			mergeFails(e.treeFails, k.exp.fails)
			mergeFails(e.treeFails, k.exp.treeFails)
		}
		for _, j := range n.use {
			useVals = append(useVals, n.sub.nodes[j].exp.val)
		}
		if n.mode == nestSync {
			// Sync reports the failures of every task of its group, at any
			// depth.
			bodyOK = e.treeOK
			mergeFails(bodyFails, e.treeFails)
		} else {
			for _, j := range n.use {
				k := n.sub.nodes[j]
				bodyOK = bodyOK && k.exp.ok
				mergeFails(bodyFails, k.exp.fails)
			}
		}
	}

	selfOK, selfFails := true, map[*snode]failKind{}
	switch {
	case n.invalid != invNone:
		// Fails when spawned; an input that failed first may be reported
		// instead, so the inputs' failures stay allowed.
		selfOK = false
		e.fails[n] |= n.invalid.kind()
	case n.selfCancel:
		selfOK = false // its fCanceled is in intr
	case n.goexit:
		selfOK = false
		selfFails[n] |= fkGoexit
	case n.failFirst > n.retries:
		selfOK = false
		selfFails[n] |= n.tryKind(n.retries)
	case n.body == bodyHang:
		selfOK = false // its fkDeadline is in intr
	case n.body == bodyNested:
		selfOK = bodyOK
		mergeFails(selfFails, bodyFails)
		for _, g := range goexitOrigins(n) {
			selfFails[g] |= fkGoexitInline
		}
	}
	if inOK {
		mergeFails(e.fails, selfFails)
	}
	e.ok = inOK && selfOK
	if e.ok {
		e.val = stressMix(n.c, append(inVals, useVals...)...)
	}

	e.det = len(goexitOrigins(n)) == 0
	for _, k := range e.fails {
		if k&fkInterrupt != 0 {
			e.det = false
		}
	}
	switch {
	case !e.det:
	case n.invalid != invNone || !inOK:
		e.tries = 0
	case n.goexit:
		e.tries = 1
	case n.failFirst > n.retries || !bodyOK:
		e.tries = n.retries + 1
	default:
		e.tries = n.failFirst + 1
	}
}

// String describes the allowed outcomes, briefly.
func (e *stressExpect) String() string {
	var b strings.Builder
	if e.ok {
		fmt.Fprintf(&b, "success with %d", e.val)
	}
	if len(e.fails) > 0 {
		if e.ok {
			b.WriteString(" or ")
		}
		b.WriteString("a failure from ")
		origins := make([]*snode, 0, len(e.fails))
		for o := range e.fails {
			origins = append(origins, o)
		}
		slices.SortFunc(origins, func(a, b *snode) int { return strings.Compare(a.path, b.path) })
		for i, o := range origins {
			if i == 6 {
				fmt.Fprintf(&b, ", ... (%d origins)", len(origins))
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "task %s (%v)", o.path, e.fails[o])
		}
	}
	return b.String()
}
