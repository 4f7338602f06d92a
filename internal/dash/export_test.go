package dash

import (
	"iter"
	"time"
)

// What the tests of package dash_test reach inside.

var Frame = frame

func RecentTasks(log iter.Seq[Event], n int) ([]TaskNode, int) { return recentTasks(log, n) }

// Rates records samples of tasks done in a throughput of the window, and
// returns its rates.
func Rates(window time.Duration, at []time.Time, done []int64) [][2]float64 {
	h := throughput{window: window}
	for i := range at {
		h.add(at[i], done[i])
	}
	return h.rates()
}

// SamplerStopped returns a channel closed once the sampler that runs (or
// ran last) returns; nil if none ever started.
func (s *Server) SamplerStopped() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// TakeAfter makes a client, offers it each of offers in turn (a stats
// frame and a tasks frame, nil for none) and returns what it takes then.
func TakeAfter(offers ...[2][]byte) [][]byte {
	c := newClient()
	for _, o := range offers {
		c.offer(frames{statsFrame: o[0], tasksFrame: o[1]})
	}
	return c.take()
}
