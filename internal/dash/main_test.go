package dash_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests: every stream's
// handler and every sampler returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
