package sched

// readyQueue holds a processor's ready nodes: higher priority first, first
// in first out within a priority. Almost every program uses one priority, so
// levels is short and scanned linearly.
type readyQueue struct {
	levels []level // by priority, highest first
}

type level struct {
	prio  int
	items []*Node
	head  int
}

func (q *readyQueue) push(n *Node) {
	prio := n.spec.Priority
	i := 0
	for ; i < len(q.levels); i++ {
		if q.levels[i].prio == prio {
			break
		}
		if q.levels[i].prio < prio {
			q.levels = append(q.levels, level{})
			copy(q.levels[i+1:], q.levels[i:])
			q.levels[i] = level{prio: prio}
			break
		}
	}
	if i == len(q.levels) {
		q.levels = append(q.levels, level{prio: prio})
	}
	l := &q.levels[i]
	l.items = append(l.items, n)
}

// peek returns the first node, dropping nodes that are no longer queued:
// they ended (cancelled) or a task that fetched them ran them inline.
func (q *readyQueue) peek() *Node {
	for i := range q.levels {
		l := &q.levels[i]
		for l.head < len(l.items) {
			n := l.items[l.head]
			if n.state.Load() == stateQueued {
				return n
			}
			q.drop(l)
		}
	}
	return nil
}

// trimTail drops the nodes at the end of each level that are no longer
// queued. Tasks run inline by the task that fetches them are the ones it
// just spawned, at the end: trimming keeps them from piling up while a
// long recursion runs on one goroutine.
func (q *readyQueue) trimTail() {
	for i := range q.levels {
		l := &q.levels[i]
		for len(l.items) > l.head && l.items[len(l.items)-1].state.Load() != stateQueued {
			l.items[len(l.items)-1] = nil
			l.items = l.items[:len(l.items)-1]
		}
		if l.head == len(l.items) {
			l.items, l.head = l.items[:0], 0
		}
	}
}

// pop removes the node that peek returned.
func (q *readyQueue) pop() {
	for i := range q.levels {
		l := &q.levels[i]
		if l.head < len(l.items) {
			q.drop(l)
			return
		}
	}
}

func (q *readyQueue) drop(l *level) {
	l.items[l.head] = nil
	l.head++
	switch {
	case l.head == len(l.items):
		l.items, l.head = l.items[:0], 0
		if len(q.levels) > maxIdleLevels {
			q.dropEmptyLevels()
		}
	case l.head > 1024 && l.head > len(l.items)/2:
		m := copy(l.items, l.items[l.head:])
		clear(l.items[m:])
		l.items, l.head = l.items[:m], 0
	}
}

// maxIdleLevels is how many priorities a queue keeps room for before it
// drops its empty levels: a program may use a priority per task.
const maxIdleLevels = 8

func (q *readyQueue) dropEmptyLevels() {
	kept := q.levels[:0]
	for _, l := range q.levels {
		if l.head < len(l.items) {
			kept = append(kept, l)
		}
	}
	clear(q.levels[len(kept):])
	q.levels = kept
}

// drain removes and returns every queued node.
func (q *readyQueue) drain() []*Node {
	var out []*Node
	for i := range q.levels {
		l := &q.levels[i]
		out = append(out, l.items[l.head:]...)
	}
	q.levels = nil
	return out
}
