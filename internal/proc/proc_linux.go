//go:build linux

package proc

import (
	"os/exec"
	"syscall"
)

// Configure makes cmd's process die with its parent and lead its own
// process group.
func Configure(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// KillGroup sends SIGKILL to the process group led by pid.
func KillGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }
