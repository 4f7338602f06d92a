package cluster

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// A large value moves over a direct TCP stream from the process that holds
// it to the one that pulls it: NATS relays every byte through its server,
// which halves the bandwidth of a transfer, while the stream carries the
// bytes once, as they are, with TCP's own flow control. Each process
// listens on the host where it reaches NATS, and a wire.Held carries its
// holder's address: the stream is found through NATS. The pieces over NATS
// remain the way when the holder cannot be reached directly.
//
// A stream serves one request: the magic, the run's token (which only the
// run's processes know: it is derived from its NATS credentials), the
// value's key, and the range of its encoding wanted. The answer is a
// status byte, then the bytes, or a message saying what went wrong.

var streamMagic = [4]byte{'d', 'g', 'r', '1'}

const (
	streamReqLen  = 4 + sha256.Size + 8 + 8 + 8
	streamOK      = 0
	streamErr     = 1
	streamChunk   = 4 << 20 // bytes written or read under one deadline
	streamTimeout = pieceTimeout
)

// streamToken is what proves a stream's client to be a process of the run.
func streamToken(secret string) [sha256.Size]byte {
	return sha256.Sum256([]byte("dagr stream token\x00" + secret))
}

// streamer serves the values that a process holds over TCP.
type streamer struct {
	ln    net.Listener
	token [sha256.Size]byte
	span  func(key uint64, off, n int64) ([][]byte, error) // see mover.span
	wg    sync.WaitGroup
}

// listenStreams starts serving, on host, the spans of values that span
// finds.
func listenStreams(host string, token [sha256.Size]byte, span func(key uint64, off, n int64) ([][]byte, error)) (*streamer, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("dagr: listening for value streams: %w", err)
	}
	s := &streamer{ln: ln, token: token, span: span}
	s.wg.Go(s.accept)
	return s, nil
}

// addr is where the streamer listens.
func (s *streamer) addr() string { return s.ln.Addr().String() }

// close stops serving and waits for the streams being served.
func (s *streamer) close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *streamer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.wg.Go(func() {
			defer c.Close()
			s.serve(c)
		})
	}
}

// serve answers one request.
func (s *streamer) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(streamTimeout))
	var req [streamReqLen]byte
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return
	}
	if [4]byte(req[:4]) != streamMagic || subtle.ConstantTimeCompare(req[4:4+sha256.Size], s.token[:]) != 1 {
		return // not one of the run's processes: no answer
	}
	rest := req[4+sha256.Size:]
	key := binary.BigEndian.Uint64(rest)
	off := int64(binary.BigEndian.Uint64(rest[8:]))
	n := int64(binary.BigEndian.Uint64(rest[16:]))
	parts, err := s.span(key, off, n)
	if err == nil && encoding(parts).size() != n {
		err = fmt.Errorf("value %d ends before %d bytes from %d", key, n, off)
	}
	if err != nil {
		msg := []byte(err.Error())
		_, _ = c.Write(append([]byte{streamErr, byte(len(msg) >> 8), byte(len(msg))}, msg...))
		return
	}
	if _, err := c.Write([]byte{streamOK}); err != nil {
		return
	}
	for _, part := range parts {
		for len(part) > 0 {
			k := min(len(part), streamChunk)
			_ = c.SetWriteDeadline(time.Now().Add(streamTimeout))
			if _, err := c.Write(part[:k]); err != nil {
				return
			}
			part = part[k:]
		}
	}
}

// pullStream reads the bytes [off, off+len(out)) of value key from the
// streamer at addr into out. Ending ctx ends the stream.
func pullStream(ctx context.Context, addr string, token [sha256.Size]byte, key uint64, off int64, out []byte) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	// Deadlines are set before the cancel can come, and under mu, so that
	// a cancel is never undone by a deadline set after it.
	var mu sync.Mutex
	canceled := false
	deadline := func(t time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if !canceled {
			_ = c.SetDeadline(t)
		}
	}
	deadline(time.Now().Add(streamTimeout))
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		canceled = true
		_ = c.SetDeadline(time.Unix(1, 0))
	})
	defer stop()
	var req [streamReqLen]byte
	copy(req[:], streamMagic[:])
	copy(req[4:], token[:])
	rest := req[4+sha256.Size:]
	binary.BigEndian.PutUint64(rest, key)
	binary.BigEndian.PutUint64(rest[8:], uint64(off))
	binary.BigEndian.PutUint64(rest[16:], uint64(len(out)))
	if _, err := c.Write(req[:]); err != nil {
		return streamFailed(ctx, err)
	}
	r := bufio.NewReaderSize(c, 64<<10)
	status, err := r.ReadByte()
	if err != nil {
		return streamFailed(ctx, err)
	}
	if status != streamOK {
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return streamFailed(ctx, err)
		}
		msg := make([]byte, int(l[0])<<8|int(l[1]))
		if _, err := io.ReadFull(r, msg); err != nil {
			return streamFailed(ctx, err)
		}
		return answerError(msg)
	}
	for len(out) > 0 {
		k := min(len(out), streamChunk)
		deadline(time.Now().Add(streamTimeout))
		if _, err := io.ReadFull(r, out[:k]); err != nil {
			return streamFailed(ctx, err)
		}
		out = out[k:]
	}
	return nil
}

// answerError is what a streamer answered instead of the bytes: the
// stream works, and pulling over NATS would get the same answer.
type answerError string

func (e answerError) Error() string { return string(e) }

// streamFailed is the error of a stream that broke: ctx's, if it ended.
func streamFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}
