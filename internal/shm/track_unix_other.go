//go:build unix && !linux

package shm

import (
	"os"
	"os/exec"
	"syscall"
)

func signalZero(p *os.Process) bool { return p.Signal(syscall.Signal(0)) == nil }

func detachSys(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
