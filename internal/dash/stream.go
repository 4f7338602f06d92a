package dash

import (
	"bytes"
	"fmt"
	"sync"
	"time"
)

// Server-sent events (the text/event-stream format of the HTML standard):
// a frame is lines of "field: value", ended by an empty line.

// frame returns an event of the given name and id whose data is data; a
// data of several lines becomes one "data:" field per line, which the
// browser joins again with newlines.
func frame(event string, id uint64, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "id: %d\nevent: %s\n", id, event)
	for line := range bytes.Lines(data) {
		b.WriteString("data: ")
		b.Write(bytes.TrimRight(line, "\r\n"))
		b.WriteByte('\n')
	}
	if len(data) == 0 {
		b.WriteString("data: \n")
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// retryFrame tells the browser how long to wait before it reconnects.
func retryFrame(d time.Duration) []byte {
	return fmt.Appendf(nil, "retry: %d\n\n", d.Milliseconds())
}

// The kinds of frames that a client keeps the latest of.
const (
	statsFrame = iota
	tasksFrame
	frameKinds
)

// frames holds at most one frame of each kind; nil where there is none.
type frames [frameKinds][]byte

// client is one stream. The sampler offers it every frame; a client that
// writes slower than frames come keeps only the latest of each kind, so
// that a slow browser sees fewer updates, never stale ones, and never
// holds the sampler up.
type client struct {
	ready chan struct{} // holds a token while pending has a frame

	mu      sync.Mutex
	pending frames // guarded by mu
}

func newClient() *client { return &client{ready: make(chan struct{}, 1)} }

// offer replaces the pending frames by those of fs that are set.
func (c *client) offer(fs frames) {
	c.mu.Lock()
	offered := false
	for k, f := range fs {
		if f != nil {
			c.pending[k], offered = f, true
		}
	}
	c.mu.Unlock()
	if offered {
		select {
		case c.ready <- struct{}{}:
		default:
		}
	}
}

// take returns the pending frames, stats first, and forgets them.
func (c *client) take() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]byte
	for k, f := range c.pending {
		if f != nil {
			out = append(out, f)
			c.pending[k] = nil
		}
	}
	return out
}
