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

// KillOwnGroup kills this process and its process group, if it leads one
// (a worker process does): what it started dies with it.
func KillOwnGroup() {
	if pid := os.Getpid(); syscall.Getpgrp() == pid {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
	os.Exit(1)
}
