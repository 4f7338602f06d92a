package dagr_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/dagr/dagr"
)

// TestMain lets dagr.Main serve when the test binary is started as a worker,
// and checks that no goroutine outlives the tests: every scheduler the tests
// make is closed, and Default() keeps no goroutine while it is idle.
func TestMain(m *testing.M) {
	if cfg := os.Getenv(natsNodeEnv); cfg != "" {
		os.Exit(serveNATSNode(cfg))
	}
	dagr.Main()
	goleak.VerifyTestMain(m)
}
