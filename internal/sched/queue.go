package sched

// readyQueue holds a processor's ready nodes: higher priority first, first
// in first out within a priority. Each priority has a level, a FIFO of its
// own; the levels form a binary max-heap by priority, so a push or a pop
// costs O(log levels) however many priorities are in use, and O(1) when
// there is one (almost every program).
//
// Nodes that stop being queued while they wait here (cancelled, or run
// inline by the task that fetched them) are not searched for: they are
// dropped when they reach the head of their level, or from the tail by
// trimTail.
//
// A readyQueue is guarded by its processor's mu.
type readyQueue struct {
	heap   []*level       // max-heap by prio: heap[0] is the highest
	byPrio map[int]*level // every level in heap; made for the second priority
	n      int            // slots in use over all levels, stale ones included
}

type level struct {
	prio  int
	items []*Node
	head  int
	pos   int // index in heap
}

func (l *level) empty() bool { return l.head == len(l.items) }

// len is the number of slots in use, including nodes no longer queued that
// have not been dropped yet.
func (q *readyQueue) len() int { return q.n }

func (q *readyQueue) levelOf(prio int) *level {
	if len(q.heap) == 1 && q.heap[0].prio == prio {
		return q.heap[0]
	}
	return q.byPrio[prio]
}

func (q *readyQueue) push(n *Node) {
	prio := n.spec.Priority
	l := q.levelOf(prio)
	if l == nil {
		l = &level{prio: prio, pos: len(q.heap)}
		if len(q.heap) > 0 && q.byPrio == nil {
			q.byPrio = map[int]*level{q.heap[0].prio: q.heap[0]}
		}
		if q.byPrio != nil {
			q.byPrio[prio] = l
		}
		q.heap = append(q.heap, l)
		q.up(l.pos)
	}
	l.items = append(l.items, n)
	q.n++
}

// peek returns the first node that is still queued, dropping the others it
// meets, and the levels they leave empty.
func (q *readyQueue) peek() *Node {
	for len(q.heap) > 0 {
		l := q.heap[0]
		for !l.empty() {
			n := l.items[l.head]
			if n.state.Load() == stateQueued {
				return n
			}
			q.dropHead(l)
		}
		q.removeTop()
	}
	return nil
}

// pop removes the node that peek returned.
func (q *readyQueue) pop() {
	l := q.heap[0]
	q.dropHead(l)
	if l.empty() {
		q.removeTop()
	}
}

func (q *readyQueue) dropHead(l *level) {
	l.items[l.head] = nil
	l.head++
	q.n--
	switch {
	case l.empty():
		l.items, l.head = l.items[:0], 0
	case l.head > 1024 && l.head > len(l.items)/2:
		m := copy(l.items, l.items[l.head:])
		clear(l.items[m:])
		l.items, l.head = l.items[:m], 0
	}
}

// removeTop takes the empty level at the top out of the heap.
func (q *readyQueue) removeTop() {
	top := q.heap[0]
	last := len(q.heap) - 1
	q.swap(0, last)
	q.heap[last] = nil
	q.heap = q.heap[:last]
	if q.byPrio != nil {
		delete(q.byPrio, top.prio)
	}
	if last > 0 {
		q.down(0)
	}
}

// trimTail drops the nodes at the end of the level of prio that are no
// longer queued. Tasks run inline by the task that fetches them are the ones
// it just spawned, at the end of their level: trimming keeps them from
// piling up while a long recursion runs on one goroutine.
func (q *readyQueue) trimTail(prio int) {
	l := q.levelOf(prio)
	if l == nil {
		return
	}
	for !l.empty() && l.items[len(l.items)-1].state.Load() != stateQueued {
		l.items[len(l.items)-1] = nil
		l.items = l.items[:len(l.items)-1]
		q.n--
	}
	if l.empty() {
		l.items, l.head = l.items[:0], 0
		// An empty level below the top stays in the heap until it
		// surfaces, or until a node of its priority comes again.
		if l.pos == 0 {
			q.removeTop()
		}
	}
}

// drain removes and returns every queued node.
func (q *readyQueue) drain() []*Node {
	var out []*Node
	for _, l := range q.heap {
		for _, n := range l.items[l.head:] {
			if n.state.Load() == stateQueued {
				out = append(out, n)
			}
		}
	}
	*q = readyQueue{}
	return out
}

func (q *readyQueue) swap(i, j int) {
	q.heap[i], q.heap[j] = q.heap[j], q.heap[i]
	q.heap[i].pos, q.heap[j].pos = i, j
}

func (q *readyQueue) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if q.heap[parent].prio >= q.heap[i].prio {
			return
		}
		q.swap(parent, i)
		i = parent
	}
}

func (q *readyQueue) down(i int) {
	for {
		child := 2*i + 1
		if child >= len(q.heap) {
			return
		}
		if r := child + 1; r < len(q.heap) && q.heap[r].prio > q.heap[child].prio {
			child = r
		}
		if q.heap[i].prio >= q.heap[child].prio {
			return
		}
		q.swap(i, child)
		i = child
	}
}
