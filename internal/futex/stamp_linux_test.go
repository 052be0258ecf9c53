package futex

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Stamps of two processes are compared (a waker's and its sleeper's):
// Stamp must be CLOCK_MONOTONIC itself, not a count from this process's
// start.
func TestStampIsTheSystemsClock(t *testing.T) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	if d := time.Duration(Stamp() - ts.Nano()); d < 0 || d > time.Second {
		t.Fatalf("Stamp is %v from CLOCK_MONOTONIC", d)
	}
}
