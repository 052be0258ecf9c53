//go:build unix

package proc

import (
	"os"
	"syscall"
)

// Terminate asks p to end: SIGTERM.
func Terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// NoInherit keeps fd from the processes this one starts (close-on-exec),
// so that a grandchild cannot hold a worker's pipe open after the worker
// died.
func NoInherit(fd int) { syscall.CloseOnExec(fd) }

// TerminateGroup sends SIGTERM to the process group led by pid.
func TerminateGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGTERM) }
