package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dagr/dagr/internal/natstransport"
	"github.com/dagr/dagr/internal/wire"
)

// A value too large for the message that would carry it stays with its
// sender, who sends a wire.Held in its place; the receiver pulls it in
// pieces of at most wire.MaxPiece bytes, asking for at most pullWindow
// pieces at a time, so that a slow receiver is never sent more than it
// asked for, then tells the holder to drop it.

const (
	// InlineMax is the largest encoded value that travels inside the
	// message that carries it.
	InlineMax = 64 << 10
	// pullWindow is the number of pieces a receiver asks for at once: its
	// credit.
	pullWindow = 8
	// pieceTimeout bounds the wait for one piece.
	pieceTimeout = 30 * time.Second
)

// mover keeps the values a process holds for others, serves their pieces,
// and pulls those that others hold.
type mover struct {
	id   int // this process's worker id
	conn *natstransport.Conn
	subj subjects

	mu      sync.Mutex
	next    uint64
	held    map[uint64][]byte
	dropped chan struct{} // signalled when a held value is dropped
}

func newMover(id int, conn *natstransport.Conn, subj subjects) (*mover, error) {
	m := &mover{id: id, conn: conn, subj: subj, held: make(map[uint64][]byte), dropped: make(chan struct{}, 1)}
	if _, err := conn.Subscribe(subj.data(id), m.serve); err != nil {
		return nil, err
	}
	return m, nil
}

// offload returns data, or a Held in its place when data is too large to
// travel in a message.
func (m *mover) offload(data []byte) []byte {
	if len(data) <= InlineMax {
		return data
	}
	m.mu.Lock()
	m.next++
	key := m.next
	m.held[key] = data
	m.mu.Unlock()
	return wire.EncodeHeld(wire.Held{Holder: m.id, Key: key, Size: int64(len(data))})
}

// A Pull's answer is a status byte, then the piece (pieceOK) or what went
// wrong (pieceErr): the bytes go as they are, with no encoding around them.
const (
	pieceOK  = 0
	pieceErr = 1
)

// drain waits until every value held here was pulled, or until timeout:
// a worker that stops keeps its tasks' results until worker 1 has them.
func (m *mover) drain(timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		n := len(m.held)
		m.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-m.dropped:
		case <-deadline.C:
			return
		}
	}
}

// serve answers a Pull.
func (m *mover) serve(msg natstransport.Msg) {
	reply := func(piece []byte, problem string) {
		if problem != "" {
			_ = msg.Respond(append([]byte{pieceErr}, problem...))
			return
		}
		_ = msg.Respond(append([]byte{pieceOK}, piece...))
	}
	p, err := wire.Decode[wire.Pull](msg.Data)
	if err != nil {
		reply(nil, err.Error())
		return
	}
	m.mu.Lock()
	data, ok := m.held[p.Key]
	if p.Free {
		delete(m.held, p.Key)
		select {
		case m.dropped <- struct{}{}:
		default:
		}
	}
	m.mu.Unlock()
	switch {
	case p.Free:
		reply(nil, "")
	case !ok:
		reply(nil, fmt.Sprintf("worker %d holds no value %d", m.id, p.Key))
	case p.Offset > int64(len(data)):
		reply(nil, fmt.Sprintf("value %d has %d bytes, not %d", p.Key, len(data), p.Offset))
	default:
		end := min(int64(len(data)), p.Offset+int64(p.Len))
		reply(data[p.Offset:end], "")
	}
}

// materialize returns the encoding of the value data stands for: data
// itself, or the value a Held names, pulled from its holder, which then
// drops it.
func (m *mover) materialize(ctx context.Context, data []byte) ([]byte, error) {
	h, ok := wire.DecodeHeld(data)
	if !ok {
		return data, nil
	}
	out := make([]byte, h.Size)
	pieces := int((h.Size + wire.MaxPiece - 1) / wire.MaxPiece)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	credit := make(chan struct{}, pullWindow)
	var wg sync.WaitGroup
	for i := range pieces {
		select {
		case credit <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-credit }()
			off := int64(i) * wire.MaxPiece
			n := int(min(wire.MaxPiece, h.Size-off))
			b, err := m.pull(ctx, h.Holder, wire.Pull{Key: h.Key, Offset: off, Len: n})
			if err == nil && len(b) != n {
				err = fmt.Errorf("a piece of %d bytes, where %d were asked for", len(b), n)
			}
			if err != nil {
				cancel(err)
				return
			}
			copy(out[off:], b)
		})
	}
	wg.Wait()
	// The holder may drop it now, pulled or not: nobody else pulls it.
	m.free(data)
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("dagr: pulling a value of %d bytes from worker %d: %w", h.Size, h.Holder, err)
	}
	return out, nil
}

// free tells the holder of the value data stands for, if it is a Held,
// that nobody will pull it. A lost Free only costs the holder memory.
func (m *mover) free(data []byte) {
	h, ok := wire.DecodeHeld(data)
	if !ok {
		return
	}
	go func() { _, _ = m.pull(context.Background(), h.Holder, wire.Pull{Key: h.Key, Free: true}) }()
}

// pull asks holder for a piece.
func (m *mover) pull(ctx context.Context, holder int, p wire.Pull) ([]byte, error) {
	req, err := wire.Encode(p)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, pieceTimeout)
	defer cancel()
	reply, err := m.conn.Request(ctx, m.subj.data(holder), req)
	if err != nil {
		return nil, err
	}
	switch {
	case len(reply) > 0 && reply[0] == pieceOK:
		return reply[1:], nil
	case len(reply) > 0 && reply[0] == pieceErr:
		return nil, errors.New(string(reply[1:]))
	}
	return nil, errors.New("an answer to a pull that is not a piece")
}
