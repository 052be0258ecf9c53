package mp_test

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/mp-go/mp"
	"log/slog"
	"testing"

	"go.uber.org/goleak"
)

// leftovers, where shared memory exists, reports segments the tests made
// and did not unlink.
var leftovers func() error

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
	case "killed":
		if os.Getenv("MP_WORKER") != "" {
			p, _ := os.FindProcess(os.Getpid())
			p.Kill()
			time.Sleep(time.Hour)
		}
	}
	if os.Getenv(noMainEnv) != "" {
		os.Exit(noMainRole()) // a program that forgets mp.Main
	}
	mp.Main()
	// Race-enabled worker processes would otherwise sleep a second when
	// they exit, waiting for race reports.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	switch os.Getenv("MP_TEST_ROLE") {
	case "parent":
		os.Exit(parentRole())
	case "checkpoint":
		os.Exit(checkpointRole())
	}
	// Tests make tasks and callbacks panic on purpose; keep their logs out
	// of the test output.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	if leftovers != nil {
		// goleak.VerifyTestMain exits: check the shared memory first
		code := m.Run()
		if err := leftovers(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "FAIL: goleak:", err)
				code = 1
			}
		}
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}

// ringTrials is how many trials the tests that kill workers at random make
// of each case: a few in CI, hundreds with MP_STRESS_TRIALS=300 (here,
// where every platform's tests find it).
func ringTrials() int {
	if n, err := strconv.Atoi(os.Getenv("MP_STRESS_TRIALS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 1
	}
	return 3
}
