//go:build !unix

package proc

import (
	"errors"
	"os"
	"os/exec"
)

// Configure does nothing here: a worker notices its parent's death when
// the task pipe closes.
func Configure(cmd *exec.Cmd) {}

// ClearParentDeathSignal does nothing here: there is none.
func ClearParentDeathSignal() {}

// WaitExited cannot wait without reaping here: it says so.
func WaitExited(pid int) (ok, clean bool) { return false, false }

// KillGroup is not available here; the caller kills the process itself.
func KillGroup(pid int) error { return errors.ErrUnsupported }

// RSS is not measured here: memory-based recycling is Linux-only.
func RSS() uint64 { return 0 }

// GrowPipe cannot grow pipes here; it returns a size any pipe holds.
func GrowPipe(f *os.File, size int) int { return 4 << 10 }

// Alive cannot tell here: it says yes.
func Alive(pid int) bool { return true }

// ExitFD waits in cmd.Wait itself here (no pidfd).
type ExitFD struct{}

// WatchExit returns an ExitFD that does nothing here.
func WatchExit(*exec.Cmd) *ExitFD { return nil }

// Wait returns at once: cmd.Wait waits.
func (*ExitFD) Wait() {}

// Close does nothing.
func (*ExitFD) Close() {}

// Exiting reports whether process pid, this process's parent, has ended.
func Exiting(pid int) bool { return os.Getppid() != pid }

// GroupGone cannot tell here (no process groups): it says no.
func GroupGone(pid int) bool { return false }
