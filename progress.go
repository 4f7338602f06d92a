package dagr

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress returns how many tasks s has run to their end so far, and how
// many were spawned on it: the first never exceeds the second.
func (s *Scheduler) Progress() (done, spawned int64) {
	spawned, done = s.eng.Counts()
	return done, spawned
}

// ShowProgress shows the progress of s's tasks on w until the returned
// stop is called: tasks done of spawned, their rate and the time left at
// that rate. On a terminal it draws a progress bar, redrawn in place;
// elsewhere (a file, a pipe, a buffer) it writes a line every period (0:
// every second). stop writes the last state, and returns once nothing is
// written any more.
func (s *Scheduler) ShowProgress(w io.Writer, period time.Duration) (stop func()) {
	if period <= 0 {
		period = time.Second
	}
	start := time.Now()
	startDone, startSpawned := s.Progress()
	show := lineProgress(w, start)
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		show = barProgress(w)
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-quit:
				done, spawned := s.Progress()
				show(done-startDone, spawned-startSpawned, true)
				return
			case <-t.C:
				done, spawned := s.Progress()
				show(done-startDone, spawned-startSpawned, false)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-finished
		})
	}
}

// lineProgress writes a line per call: done of spawned, rate and time
// left.
func lineProgress(w io.Writer, start time.Time) func(done, spawned int64, last bool) {
	return func(done, spawned int64, last bool) {
		elapsed := time.Since(start)
		rate := float64(done) / elapsed.Seconds()
		line := fmt.Sprintf("dagr: %d of %d tasks done, %.0f/s", done, spawned, rate)
		if left := spawned - done; !last && left > 0 && rate > 0 {
			line += fmt.Sprintf(", about %v left", (time.Duration(float64(left)/rate*1e9) * time.Nanosecond).Round(100*time.Millisecond))
		}
		if last {
			line += fmt.Sprintf(", in %v", elapsed.Round(time.Millisecond))
		}
		fmt.Fprintln(w, line)
	}
}

// barProgress redraws a progress bar on a terminal.
func barProgress(w io.Writer) func(done, spawned int64, last bool) {
	bar := progressbar.NewOptions64(0,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("dagr tasks"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("tasks"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(0),
	)
	return func(done, spawned int64, last bool) {
		bar.ChangeMax64(max(spawned, 1))
		_ = bar.Set64(done)
		if last {
			_ = bar.Exit()
			fmt.Fprintln(w)
		}
	}
}
