//go:build !unix

package shm

import (
	"os"
	"os/exec"
)

func signalZero(p *os.Process) bool { return true }

func detachSys(cmd *exec.Cmd) {}
