//go:build !linux

package shm

import (
	"os"
	"os/exec"
	"time"
)

func startTime(pid int) string { return "" }

func running(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return signalZero(p)
}

func waitExit(pid int, d time.Duration) { time.Sleep(min(d, 100*time.Millisecond)) }

func detach(cmd *exec.Cmd) { detachSys(cmd) }
