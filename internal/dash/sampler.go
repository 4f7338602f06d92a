package dash

import (
	"encoding/json"
	"fmt"
	"time"
)

// sample reads the source every period and publishes what it read to the
// streams, until a period finds none or the server closes. It closes
// stopped when it returns.
func (s *Server) sample(stopped chan struct{}) {
	defer s.wg.Done()
	defer close(stopped)
	tick := time.NewTicker(s.cfg.Period)
	defer tick.Stop()
	for n := 0; ; n++ {
		var fs frames
		fs[statsFrame] = s.statsFrame(time.Now())
		if n%s.cfg.LogEvery == 0 {
			fs[tasksFrame] = s.tasksFrame(time.Now())
		}
		if !s.publish(fs) {
			return
		}
		select {
		case <-s.quit:
			return
		case <-tick.C:
		}
	}
}

func (s *Server) statsFrame(at time.Time) (out []byte) {
	defer s.recoverInto(statsEvent, &out)
	st := s.src.Stats()
	s.mu.Lock()
	s.history.add(at, st.Done)
	rates := s.history.rates()
	s.mu.Unlock()
	return s.encode(statsEvent, newStatsUpdate(at, s.cfg.Period, st, rates))
}

func (s *Server) tasksFrame(at time.Time) (out []byte) {
	defer s.recoverInto(tasksEvent, &out)
	return s.encode(tasksEvent, newTasksUpdate(at, s.src, s.cfg.Tasks))
}

// recoverInto turns a panic of the source into a frame that says so: a
// dashboard must not take its program down.
func (s *Server) recoverInto(event string, out *[]byte) {
	if v := recover(); v != nil {
		*out = s.encodeError(fmt.Sprintf("dash: reading the %s update panicked: %v", event, v), event)
	}
}

// encode makes the frame of an update. The updates are plain data that
// encoding/json always encodes, but for a NaN or an infinity, which a
// source's occupancy could hold: then the frame carries the error, and
// the page shows it.
func (s *Server) encode(event string, update any) []byte {
	data, err := json.Marshal(update)
	if err != nil {
		return s.encodeError("dash: encoding the "+event+" update: "+err.Error(), event)
	}
	return frame(event, s.seq.Add(1), data)
}

// encodeError makes a frame of the event whose data is {"error": msg}.
func (s *Server) encodeError(msg, event string) []byte {
	data, _ := json.Marshal(map[string]string{"error": msg}) // a map of strings always encodes
	return frame(event, s.seq.Add(1), data)
}

// publish hands fs to every stream and keeps it for streams to come. It
// returns false, and marks the sampler stopped, when there is no stream
// left or the server is closed: the caller must return.
func (s *Server) publish(fs frames) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.clients) == 0 {
		s.sampling = false
		s.latest = frames{} // stale by the time a sampler starts again
		return false
	}
	for k, f := range fs {
		if f != nil {
			s.latest[k] = f
		}
	}
	for c := range s.clients {
		c.offer(fs)
	}
	return true
}
