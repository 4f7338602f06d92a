package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"time"

	"github.com/dagr/dagr"
)

// The functions that Example_workers runs on worker processes. Every
// process of the program registers them, in init: the workers are this
// same binary, started again.
func init() { dagr.Register(scaleBy, sumHere, sqrtOf) }

// scaleBy returns xs times k. A slice of numbers travels between processes
// as its bytes.
func scaleBy(xs []float64, k float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = k * x
	}
	return out
}

// Total is a sum and where it was computed. Its fields are exported, so it
// travels as CBOR.
type Total struct {
	Sum    float64
	Worker int    // dagr.MyID() of the process that ran the task
	Proc   string // dagr.CurrentProcessor there
}

// sumHere adds xs up and says where it ran.
func sumHere(ctx context.Context, xs []float64) Total {
	t := Total{Worker: dagr.MyID(), Proc: fmt.Sprint(dagr.CurrentProcessor(ctx))}
	for _, x := range xs {
		t.Sum += x
	}
	return t
}

// sqrtOf fails for a negative x.
func sqrtOf(x float64) (float64, error) {
	if x < 0 {
		return 0, fmt.Errorf("no real square root of %v", x)
	}
	return math.Sqrt(x), nil
}

// Tasks of registered functions run on worker processes when their options
// pin them there. A test binary's TestMain, like a program's main, calls
// dagr.Main first, so that the binary can serve as a worker.
func Example_workers() {
	s, err := dagr.New(dagr.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close() // stops the workers too
	ctx := dagr.WithScheduler(context.Background(), s)

	ids, err := dagr.AddProcs(ctx, 2) // two processes of this binary
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("started workers", ids, "of", dagr.Workers(ctx))

	// A task on worker 2; one on processor 1 of worker 3, fed by one on
	// worker 3 whose result travels through worker 1.
	xs := []float64{1, 2, 3}
	a := dagr.Spawn(ctx, sumHere, dagr.Options{Single: 2}, xs)
	scaled := dagr.Spawn(ctx, scaleBy, dagr.Options{Single: 3}, xs, 10.0)
	b := dagr.Spawn(ctx, sumHere, dagr.Options{Scope: dagr.ExactScope(dagr.ThreadProc{Owner: 3, Thread: 1})}, scaled)
	ta, err := dagr.Fetch[Total](ctx, a)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("sum %v on worker %d\n", ta.Sum, ta.Worker)
	tb, err := dagr.Fetch[Total](ctx, b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("sum %v on worker %d, %s\n", tb.Sum, tb.Worker, tb.Proc)

	// A task that fails on a worker fails with a *WorkerError saying where.
	_, err = dagr.Spawn(ctx, sqrtOf, dagr.Options{Single: 2}, -4.0).Fetch(ctx)
	var we *dagr.WorkerError
	if errors.As(err, &we) {
		fmt.Printf("failed on worker %d: %v\n", we.Worker, we.Err)
	}
	// Output:
	// started workers [2 3] of [1 2 3]
	// sum 6 on worker 2
	// sum 60 on worker 3, ThreadProc(3, 1)
	// failed on worker 2: no real square root of -4
}

// A worker on another machine is the program's own binary, started there
// with dagr.JoinEnv set to the run's join URL. Here the "other machine" is
// this one, and the binary this test binary; a real run would listen on an
// address that the other machines reach (or use Config.NATS).
func ExampleScheduler_JoinURL() {
	s, err := dagr.New(dagr.Config{Listen: "127.0.0.1:0"}) // TLS, with a certificate made for the run
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close() // the joined worker exits too
	ctx := dagr.WithScheduler(context.Background(), s)
	join, err := s.JoinURL() // a secret: it holds the run's credentials
	if err != nil {
		fmt.Println(err)
		return
	}

	// On the other machine: DAGR_JOIN="$join" ./program
	worker := exec.Command(os.Args[0], "-test.run=^$")
	worker.Env = append(os.Environ(), dagr.JoinEnv+"="+join)
	if err := worker.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		s.Close()
		_ = worker.Wait() // it exits once s closes
	}()

	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	live, err := s.WaitWorkers(wait, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	t, err := dagr.Fetch[Total](ctx, dagr.Spawn(ctx, sumHere, dagr.Options{Single: 2}, []float64{1, 2, 3}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("live workers", live)
	fmt.Printf("sum %v on worker %d\n", t.Sum, t.Worker)
	// Output:
	// live workers [1 2]
	// sum 6 on worker 2
}
