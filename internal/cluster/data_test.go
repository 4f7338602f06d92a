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
	srv, err := natstransport.StartServer()
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
		if *m, err = newMover(i+1, conn, subj); err != nil {
			t.Fatal(err)
		}
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

func TestMoverPullsLargeValuesInPieces(t *testing.T) {
	one, two := twoMovers(t)
	// Not a whole number of pieces, and more pieces than the window.
	data := make([]byte, 11*wire.MaxPiece+12345)
	for i := range data {
		data[i] = byte(i * 31)
	}
	held := two.offload(data)
	h, ok := wire.DecodeHeld(held)
	if !ok || h.Holder != 2 || h.Size != int64(len(data)) {
		t.Fatalf("offload gave %v, %v", h, ok)
	}
	got, err := one.materialize(context.Background(), held)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the pulled value differs from the held one")
	}
	// The holder drops it once pulled.
	two.drain(pieceTimeout)
	if _, err := one.materialize(context.Background(), held); err == nil || !strings.Contains(err.Error(), "holds no value") {
		t.Fatalf("pulling a dropped value: %v", err)
	}
}

func TestMoverPullFromNobody(t *testing.T) {
	one, _ := twoMovers(t)
	held := wire.EncodeHeld(wire.Held{Holder: 9, Key: 1, Size: 3 * wire.MaxPiece})
	ctx, cancel := context.WithTimeout(context.Background(), pieceTimeout)
	defer cancel()
	if _, err := one.materialize(ctx, held); err == nil || !strings.Contains(err.Error(), "worker 9") {
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
