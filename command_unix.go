//go:build unix

package mp

import (
	"os/exec"
	"syscall"

	"github.com/mp-go/mp/internal/watchdog"
)

// ownGroup makes cmd's process lead a process group of its own (a new
// session, if asked for, leads one too).
func ownGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if !cmd.SysProcAttr.Setsid {
		cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Pgid = true, 0
	}
}

// commandWatchdog returns the watchdog of this process's Commands, for
// one more Command.
func commandWatchdog() (*watchdog.Watchdog, error) { return acquireWatchdog() }
