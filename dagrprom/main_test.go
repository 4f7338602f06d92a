package dagrprom_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/dagr/dagr"
)

// TestMain lets dagr.Main serve when the test binary is started as a
// worker, and checks that no goroutine outlives the tests: every
// scheduler the tests make is closed, with its workers.
func TestMain(m *testing.M) {
	dagr.Main()
	goleak.VerifyTestMain(m)
}
