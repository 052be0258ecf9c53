//go:build unix && !linux

package proc

import (
	"os"
	"os/exec"
	"syscall"
)

// Configure gives cmd's process its own process group. There is no
// Pdeathsig outside Linux: a worker notices its parent's death when the
// task pipe closes.
func Configure(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// KillGroup sends SIGKILL to the process group led by pid.
func KillGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }

// RSS is not measured here: memory-based recycling is Linux-only.
func RSS() uint64 { return 0 }

// GrowPipe cannot grow pipes here; it returns the least a pipe holds on
// the BSDs and macOS.
func GrowPipe(f *os.File, size int) int { return 16 << 10 }

// Alive reports whether pid runs.
func Alive(pid int) bool { return syscall.Kill(pid, 0) != syscall.ESRCH }

// ClearParentDeathSignal does nothing here: there is none.
func ClearParentDeathSignal() {}

// WaitExited cannot wait without reaping here: it says so.
func WaitExited(pid int) (ok, clean bool) { return false, false }

// ExitFD waits in cmd.Wait itself here (no pidfd).
type ExitFD struct{}

// WatchExit returns an ExitFD that does nothing here.
func WatchExit(*exec.Cmd) *ExitFD { return nil }

// Wait returns at once: cmd.Wait waits.
func (*ExitFD) Wait() {}

// Close does nothing.
func (*ExitFD) Close() {}

// Exiting reports whether process pid, this process's parent, has ended
// (this process was reparented).
func Exiting(pid int) bool { return os.Getppid() != pid }

// GroupGone reports whether no process is left in the process group led
// by pid, once pid itself has been reaped.
func GroupGone(pid int) bool { return syscall.Kill(-pid, 0) == syscall.ESRCH }
