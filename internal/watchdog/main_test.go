package watchdog

import (
	"testing"

	"go.uber.org/goleak"
)

// The test binary, run again by Start, serves as the watchdog from this
// package's init, before TestMain.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
