package mp_test

import (
	"os"
	"time"

	"github.com/mp-go/mp"
	"log/slog"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Worker processes of process pools are this test binary, re-executed:
	// in them, mp.Main serves tasks and never returns. The variable lets a
	// test start workers that never reach mp.Main, as a forgetful program's
	// would.
	switch os.Getenv("MP_TEST_WORKER_MISBEHAVES") {
	case "hang":
		if os.Getenv("MP_WORKER") != "" {
			time.Sleep(time.Hour)
		}
	case "exit":
		if os.Getenv("MP_WORKER") != "" {
			os.Exit(7)
		}
	}
	mp.Main()
	// Race-enabled worker processes would otherwise sleep a second when
	// they exit, waiting for race reports.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	if os.Getenv("MP_TEST_ROLE") == "parent" {
		os.Exit(parentRole())
	}
	// Tests make tasks and callbacks panic on purpose; keep their logs out
	// of the test output.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m)
}
