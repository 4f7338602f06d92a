package dagrotel_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/dagr/dagr"
	"github.com/dagr/dagr/dagrotel"
)

// Export the log of a run as spans: here, to a recorder, which a program
// replaces with its exporter (sdktrace.WithBatcher).
func Example() {
	s, err := dagr.New(dagr.Config{Procs: 2})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)
	s.EnableLogging(0)

	load := s.Spawn(ctx, broken, dagr.Options{Name: "load"}, 1)
	report := s.Spawn(ctx, add, dagr.Options{Name: "report"}, load, 2)
	_ = report.Wait(ctx)
	events, _ := s.FetchLogs()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("example")
	runCtx, run := tracer.Start(context.Background(), "run")
	dagrotel.Export(runCtx, tracer, events)
	run.End()

	for _, sp := range spans.Ended() {
		var outcome string
		for _, kv := range sp.Attributes() {
			if kv.Key == dagrotel.Outcome {
				outcome = kv.Value.AsString()
			}
		}
		fmt.Printf("%s: %d links, outcome %q, status %s\n", sp.Name(), len(sp.Links()), outcome, sp.Status().Code)
	}
	// Output:
	// load: 0 links, outcome "failed", status Error
	// report: 1 links, outcome "failed", status Error
	// run: 0 links, outcome "", status Unset
}
