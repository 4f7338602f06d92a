package dash

import "time"

// throughput keeps the count of tasks done at each sample of the last
// window, to draw tasks done per second over time.
type throughput struct {
	window  time.Duration
	samples []doneSample // oldest first
}

type doneSample struct {
	at   time.Time
	done int64
}

// add records that done tasks had ended at at, and forgets the samples
// older than the window, but the one the oldest rate starts from.
func (h *throughput) add(at time.Time, done int64) {
	h.samples = append(h.samples, doneSample{at, done})
	drop := 0
	for drop+1 < len(h.samples) && at.Sub(h.samples[drop+1].at) > h.window {
		drop++
	}
	if drop > 0 {
		h.samples = append(h.samples[:0], h.samples[drop:]...)
	}
}

// rates returns, for each sample after the first, its time (in
// milliseconds since the Unix epoch) and the tasks done per second since
// the sample before it. Samples far apart (no client watched in between)
// give the mean rate across the gap; the page draws no line across it.
func (h *throughput) rates() [][2]float64 {
	out := make([][2]float64, 0, max(len(h.samples)-1, 0))
	for i := 1; i < len(h.samples); i++ {
		prev, cur := h.samples[i-1], h.samples[i]
		secs := cur.at.Sub(prev.at).Seconds()
		if secs <= 0 {
			continue
		}
		out = append(out, [2]float64{unixMillis(cur.at), float64(cur.done-prev.done) / secs})
	}
	return out
}
