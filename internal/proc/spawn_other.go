//go:build !linux

package proc

import (
	"errors"
	"os/exec"
	"syscall"
)

// Child is a process started by Spawn; there is none here.
type Child struct{ Pid int }

// Spawn is Linux-only (it waits on a pidfd): here it returns
// errors.ErrUnsupported, and cmd is left for cmd.Start.
func Spawn(*exec.Cmd) (*Child, error) { return nil, errors.ErrUnsupported }

// Wait is never called here: Spawn starts nothing.
func (c *Child) Wait() (ws syscall.WaitStatus, err error) { return ws, errors.ErrUnsupported }
