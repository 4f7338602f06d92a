package bench

import (
	"os"
	"testing"

	"github.com/dagr/dagr"
)

// TestMain lets the test binary serve as a worker of the benchmarks with
// workers (see workers_test.go).
func TestMain(m *testing.M) {
	dagr.Main()
	os.Exit(m.Run())
}
