//go:build unix

package watchdog

import (
	"os/exec"
	"syscall"
)

// ownGroup puts cmd's process in a process group of its own, without
// dying with its parent (unlike proc.Configure): it must outlive it.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }
