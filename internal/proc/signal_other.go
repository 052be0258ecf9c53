//go:build !unix

package proc

import (
	"errors"
	"os"
)

// Terminate ends p: without signals, it is killed.
func Terminate(p *os.Process) error { return p.Kill() }

// NoInherit does nothing here: handles are not inherited unless asked.
func NoInherit(fd int) {}

// TerminateGroup is not available here; the caller kills the process.
func TerminateGroup(pid int) error { return errors.ErrUnsupported }

// KillOwnGroup ends this process (there are no process groups here).
func KillOwnGroup() { os.Exit(1) }
