package cluster

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dagr/dagr/internal/natstransport"
	"github.com/dagr/dagr/internal/wire"
)

// A value too large for the message that would carry it stays with its
// sender, who sends a wire.Held in its place; the receiver pulls it in
// pieces of at most wire.MaxPiece bytes, asking for at most pullWindow
// pieces at a time, so that a slow receiver is never sent more than it
// asked for, then tells the holder to drop it. A task's large result is
// kept instead (wire.Held.Kept): it stays on its worker, any process
// pulls it as often as it needs it, and worker 1 frees it once it cannot
// reach it any more (see Value).

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
	held    map[uint64]heldValue
	oneShot int           // the held values that are not kept
	dropped chan struct{} // signalled when a held value is dropped

	pulled atomic.Int64          // bytes pulled from other processes
	gone   map[int]chan struct{} // by worker: closed once worker 1 declared it dead (guarded by mu)

	streams *streamer // serves the held values over TCP; nil if it could not listen
	token   [sha256.Size]byte
}

type heldValue struct {
	data  encoding
	kept  bool
	value any // a kept result as its task returned it, for tasks here
}

// newMover starts the mover of process id of a run whose secret is key,
// and whose processes reach NATS at natsURL; with streams, it serves the
// values it holds over TCP streams too, on natsURL's loopback host.
func newMover(id int, conn *natstransport.Conn, subj subjects, key, natsURL string, streams bool) (*mover, error) {
	m := &mover{id: id, conn: conn, subj: subj, held: make(map[uint64]heldValue), dropped: make(chan struct{}, 1),
		token: streamToken(key), gone: make(map[int]chan struct{})}
	if _, err := conn.Subscribe(subj.data(id), m.serve); err != nil {
		return nil, err
	}
	if _, err := conn.Subscribe(subj.gone(), func(msg natstransport.Msg) {
		if g, err := wire.Decode[wire.Gone](msg.Data); err == nil && g.Worker != id {
			close(m.goneCh(g.Worker, true))
		}
	}); err != nil {
		return nil, err
	}
	// Streams are plain TCP: they serve the processes of one machine, and
	// a run that spans machines moves values over NATS (and its TLS). A
	// process that cannot listen serves its values over NATS only.
	if host, ok := loopbackHost(natsURL); ok && streams {
		m.streams, _ = listenStreams(host, m.token, m.span)
	}
	return m, nil
}

// loopbackHost returns the host of natsURL when every server it names is
// on this machine's loopback.
func loopbackHost(natsURL string) (string, bool) {
	host := ""
	for _, s := range strings.Split(natsURL, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return "", false
		}
		ip := net.ParseIP(u.Hostname())
		if ip == nil || !ip.IsLoopback() {
			return "", false
		}
		host = ip.String()
	}
	return host, host != ""
}

// goneCh returns the channel that is closed once worker is declared dead;
// with closing, it returns it only if it is not closed yet, else a fresh
// channel, so that the caller may close it.
func (m *mover) goneCh(worker int, closing bool) chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := m.gone[worker]
	if ch == nil {
		ch = make(chan struct{})
		m.gone[worker] = ch
	} else if closing {
		select {
		case <-ch:
			return make(chan struct{})
		default:
		}
	}
	return ch
}

// errHolderGone is the cause of a pull that stopped because its holder
// was declared dead.
var errHolderGone = errors.New("the worker that holds it is gone")

// span returns the bytes [off, off+n) of held value key's encoding, as
// views of its parts, cut short at its end; or why it cannot. Pieces over
// NATS and streams are served from it.
func (m *mover) span(key uint64, off, n int64) ([][]byte, error) {
	m.mu.Lock()
	h, ok := m.held[key]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("worker %d holds no value %d", m.id, key)
	}
	size := h.data.size()
	if off < 0 || n < 0 || off > size {
		return nil, fmt.Errorf("value %d has %d bytes, not %d from %d", key, size, n, off)
	}
	return h.data.span(off, min(n, size-off)), nil
}

// close stops serving streams.
func (m *mover) close() {
	if m.streams != nil {
		m.streams.close()
	}
}

// offload returns data, or a Held in its place when data is too large to
// travel in a message.
func (m *mover) offload(data []byte) []byte { return m.hold(encoding{data}, false, nil) }

// value returns the value that data stands for when it is a result kept
// here, as its task returned it, if it is a t: a task here takes it as a
// task on the same process would, without a copy.
func (m *mover) value(data []byte, t reflect.Type) (any, bool) {
	h, ok := wire.DecodeHeld(data)
	if !ok || h.Holder != m.id || !h.Kept {
		return nil, false
	}
	m.mu.Lock()
	v, ok := m.held[h.Key]
	m.mu.Unlock()
	if !ok || v.value == nil || !reflect.TypeOf(v.value).AssignableTo(t) {
		return nil, false
	}
	return v.value, true
}

// keep is offload for value, a task's result, whose encoding is data: a
// value too large for a message stays here until worker 1 frees it.
func (m *mover) keep(data encoding, value any) []byte { return m.hold(data, true, value) }

func (m *mover) hold(data encoding, kept bool, value any) []byte {
	size := data.size()
	if size <= InlineMax {
		return data.bytes()
	}
	m.mu.Lock()
	m.next++
	key := m.next
	m.held[key] = heldValue{data: data, kept: kept, value: value}
	if !kept {
		m.oneShot++
	}
	m.mu.Unlock()
	h := wire.Held{Holder: m.id, Key: key, Size: size, Kept: kept}
	if m.streams != nil {
		h.Addr = m.streams.addr()
	}
	return wire.EncodeHeld(h)
}

// kept returns the number of kept values held here, and their bytes.
func (m *mover) kept() (n int, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range m.held {
		if h.kept {
			n++
			bytes += h.data.size()
		}
	}
	return n, bytes
}

// drop forgets a held value.
func (m *mover) drop(key uint64) {
	m.mu.Lock()
	if h, ok := m.held[key]; ok {
		delete(m.held, key)
		if !h.kept {
			m.oneShot--
		}
	}
	m.mu.Unlock()
	select {
	case m.dropped <- struct{}{}:
	default:
	}
}

// A Pull's answer is a status byte, then the piece (pieceOK) or what went
// wrong (pieceErr): the bytes go as they are, with no encoding around them.
const (
	pieceOK  = 0
	pieceErr = 1
)

// drain waits until every value held here for one pull was pulled, or
// until timeout: a worker that stops keeps them until their receivers
// have them. Kept results are not waited for: worker 1 moved those it
// still needs before it stopped the worker.
func (m *mover) drain(timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		n := m.oneShot
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
	reply := func(piece [][]byte, problem string) {
		if problem != "" {
			_ = msg.Respond(append([]byte{pieceErr}, problem...))
			return
		}
		out := []byte{pieceOK}
		for _, p := range piece {
			out = append(out, p...)
		}
		_ = msg.Respond(out)
	}
	p, err := wire.Decode[wire.Pull](msg.Data)
	if err != nil {
		reply(nil, err.Error())
		return
	}
	if p.Free {
		m.drop(p.Key)
		reply(nil, "")
		return
	}
	piece, err := m.span(p.Key, p.Offset, int64(p.Len))
	if err != nil {
		reply(nil, err.Error())
		return
	}
	reply(piece, "")
}

// materialize returns the encoding of the value data stands for: data
// itself, or the value a Held names, pulled from its holder, which then
// drops it unless it is kept. A value held here is not pulled: it is
// here. owned says that the encoding was pulled into a buffer of its own,
// which the caller may keep (see wire.DecodeOwned).
func (m *mover) materialize(ctx context.Context, data []byte) (_ []byte, owned bool, _ error) {
	h, ok := wire.DecodeHeld(data)
	if !ok {
		return data, false, nil
	}
	if h.Holder == m.id {
		m.mu.Lock()
		v, ok := m.held[h.Key]
		m.mu.Unlock()
		if !ok {
			return nil, false, fmt.Errorf("worker %d holds no value %d (of %d bytes) any more", m.id, h.Key, h.Size)
		}
		if !v.kept {
			m.drop(h.Key)
		}
		return v.data.bytes(), false, nil
	}
	// A pull from a worker that dies stops when worker 1 says so: a piece
	// asked for before the death has no other end.
	gone := m.goneCh(h.Holder, false)
	select {
	case <-gone:
		return nil, false, fmt.Errorf("pulling a value of %d bytes from worker %d: %w", h.Size, h.Holder, errHolderGone)
	default:
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	ended := ctx.Done()
	go func() {
		select {
		case <-gone:
			stop(errHolderGone)
		case <-ended:
		}
	}()
	out := make([]byte, h.Size)
	if h.Addr != "" {
		err := pullStream(ctx, h.Addr, m.token, h.Key, 0, out)
		var answer answerError
		if err == nil || ctx.Err() != nil || errors.As(err, &answer) {
			if err == nil {
				m.pulled.Add(h.Size)
			}
			if !h.Kept {
				m.free(data)
			}
			if err != nil {
				if ctx.Err() != nil {
					err = context.Cause(ctx)
				}
				return nil, false, fmt.Errorf("pulling a value of %d bytes from worker %d: %w", h.Size, h.Holder, err)
			}
			return out, true, nil
		}
		// The holder cannot be reached directly: its pieces come over NATS.
	}
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
			m.pulled.Add(int64(n))
		})
	}
	wg.Wait()
	if !h.Kept {
		// The holder may drop it now, pulled or not: nobody else pulls it.
		m.free(data)
	}
	if err := context.Cause(ctx); err != nil {
		return nil, false, fmt.Errorf("pulling a value of %d bytes from worker %d: %w", h.Size, h.Holder, err)
	}
	return out, true, nil
}

// free tells the holder of the value data stands for, if it is a Held
// for one pull, that nobody will pull it. A lost Free only costs the
// holder memory.
func (m *mover) free(data []byte) {
	if h, ok := wire.DecodeHeld(data); ok && !h.Kept {
		m.release(h)
	}
}

// discard drops the value data stands for, if it is a Held, kept or not:
// nobody here or elsewhere will pull it.
func (m *mover) discard(data []byte) {
	if h, ok := wire.DecodeHeld(data); ok {
		m.release(h)
	}
}

// release tells the holder of h to drop it, kept or not.
func (m *mover) release(h wire.Held) {
	if h.Holder == m.id {
		m.drop(h.Key)
		return
	}
	if req, err := wire.Encode(wire.Pull{Key: h.Key, Free: true}); err == nil {
		_ = m.conn.Publish(m.subj.data(h.Holder), req) // no answer: nothing waits for it
	}
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
