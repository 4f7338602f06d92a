package cluster

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/dagr/dagr/internal/natstransport"
	"github.com/dagr/dagr/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// twoMovers starts a server and two processes' movers on it, as workers 1
// and 2 of one run.
func twoMovers(t *testing.T) (one, two *mover) {
	t.Helper()
	srv, err := natstransport.StartServer(natstransport.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	subj := subjectsOf(natstransport.NewRunID())
	for i, m := range []**mover{&one, &two} {
		conn, err := natstransport.Connect(srv.Credentials(), "test", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(conn.Close)
		if *m, err = newMover(i+1, conn, subj, srv.Credentials().Pass, srv.Credentials().URL, true); err != nil {
			t.Fatal(err)
		}
		t.Cleanup((*m).close)
	}
	return one, two
}

func TestMoverSmallValuesTravelInline(t *testing.T) {
	one, _ := twoMovers(t)
	data := bytes.Repeat([]byte{7}, InlineMax)
	if got := one.offload(data); !bytes.Equal(got, data) {
		t.Fatal("a value of InlineMax bytes did not travel as it is")
	}
}

// TestMoverPullsLargeValues pulls a large value over the holder's stream,
// and in pieces over NATS from a holder that has no stream.
func TestMoverPullsLargeValues(t *testing.T) {
	for _, stream := range []bool{true, false} {
		t.Run(map[bool]string{true: "stream", false: "pieces"}[stream], func(t *testing.T) {
			one, two := twoMovers(t)
			if !stream {
				two.close()
				two.streams = nil
			}
			// Not a whole number of pieces, and more pieces than the window.
			data := make([]byte, 11*wire.MaxPiece+12345)
			for i := range data {
				data[i] = byte(i * 31)
			}
			held := two.offload(data)
			h, ok := wire.DecodeHeld(held)
			if !ok || h.Holder != 2 || h.Size != int64(len(data)) || (h.Addr != "") != stream {
				t.Fatalf("offload gave %+v, %v", h, ok)
			}
			got, owned, err := one.materialize(context.Background(), held)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) || !owned {
				t.Fatalf("the pulled value differs from the held one, or is not the puller's own (%v)", owned)
			}
			if n := one.pulled.Load(); n != int64(len(data)) {
				t.Fatalf("pulled %d bytes, want %d", n, len(data))
			}
			// The holder drops it once pulled.
			two.drain(pieceTimeout)
			if _, _, err := one.materialize(context.Background(), held); err == nil || !strings.Contains(err.Error(), "holds no value") {
				t.Fatalf("pulling a dropped value: %v", err)
			}
		})
	}
}

// TestMoverKeptValues: a kept value is pulled any number of times, from
// here too, until it is released.
func TestMoverKeptValues(t *testing.T) {
	one, two := twoMovers(t)
	data := make([]byte, 2*wire.MaxPiece+77)
	for i := range data {
		data[i] = byte(i * 7)
	}
	// In parts, as a numeric slice is kept: pieces and streams span them.
	held := two.keep(encoding{data[:5], data[5 : wire.MaxPiece+3], data[wire.MaxPiece+3:]}, nil)
	for _, m := range []*mover{one, one, two} {
		got, _, err := m.materialize(context.Background(), held)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("pulling a kept value on worker %d: %v", m.id, err)
		}
	}
	// A holder that stopped streaming is pulled from over NATS.
	two.close()
	if got, _, err := one.materialize(context.Background(), held); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("pulling a kept value in pieces: %v", err)
	}
	if n, b := two.kept(); n != 1 || b != int64(len(data)) {
		t.Fatalf("worker 2 keeps %d values of %d bytes", n, b)
	}
	two.drain(pieceTimeout) // does not wait for kept values
	h, _ := wire.DecodeHeld(held)
	one.release(h)
	for n := 1; n != 0; n, _ = two.kept() {
		// The release is a message: wait for worker 2 to drop it.
		<-two.dropped
	}
}

// TestStreamRefusesStrangers: a client without the run's token gets
// nothing.
func TestStreamRefusesStrangers(t *testing.T) {
	_, two := twoMovers(t)
	held := two.keep(encoding{bytes.Repeat([]byte{5}, InlineMax+1)}, nil)
	h, _ := wire.DecodeHeld(held)
	err := pullStream(context.Background(), h.Addr, streamToken("not the password"), h.Key, 0, make([]byte, h.Size))
	if err == nil {
		t.Fatal("a stream served a client with the wrong token")
	}
}

func TestMoverPullFromNobody(t *testing.T) {
	one, _ := twoMovers(t)
	held := wire.EncodeHeld(wire.Held{Holder: 9, Key: 1, Size: 3 * wire.MaxPiece})
	ctx, cancel := context.WithTimeout(context.Background(), pieceTimeout)
	defer cancel()
	if _, _, err := one.materialize(ctx, held); err == nil || !strings.Contains(err.Error(), "worker 9") {
		t.Fatalf("pulling from a worker that does not exist: %v", err)
	}
}

func TestDiff(t *testing.T) {
	ours := []wire.Func{{Name: "main.a", Type: "func(int) int"}, {Name: "main.b", Type: "func()"}}
	if d := Diff(ours, ours); d != "" {
		t.Fatalf("the same registry differs: %s", d)
	}
	theirs := []wire.Func{{Name: "main.a", Type: "func(string) int"}, {Name: "main.c", Type: "func()"}}
	d := Diff(ours, theirs)
	for _, want := range []string{"lacks main.b", "main.c (func())", "main.a (func(int) int here, func(string) int there)"} {
		if !strings.Contains(d, want) {
			t.Errorf("Diff = %q, want it to say %q", d, want)
		}
	}
}
