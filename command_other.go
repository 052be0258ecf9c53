//go:build !unix

package mp

import (
	"os/exec"

	"github.com/mp-go/mp/internal/watchdog"
)

// ownGroup does nothing where there are no process groups.
func ownGroup(*exec.Cmd) {}

// commandWatchdog returns no watchdog where there are no process groups
// for it to kill.
func commandWatchdog() (*watchdog.Watchdog, error) { return nil, nil }
