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
