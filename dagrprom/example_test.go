package dagrprom_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dagr/dagr"
	"github.com/dagr/dagr/dagrprom"
)

// Register a scheduler's collector and serve its metrics at /metrics.
func Example() {
	s, err := dagr.New(dagr.Config{Procs: 2})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := dagr.WithScheduler(context.Background(), s)

	reg := prometheus.NewRegistry()
	reg.MustRegister(dagrprom.NewCollector(s))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// A program serves mux with http.ListenAndServe(":9090", mux); here, a
	// test server stands in, for one scrape.
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for i := range 3 {
		if err := s.Spawn(ctx, add, i, i).Wait(ctx); err != nil {
			panic(err)
		}
	}

	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "dagr_tasks_spawned_total") || strings.HasPrefix(l, "dagr_workers") {
			fmt.Println(l)
		}
	}
	// Output:
	// dagr_tasks_spawned_total 3
	// dagr_workers 1
}
