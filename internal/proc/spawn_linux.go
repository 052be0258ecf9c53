//go:build linux

package proc

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// Child is a process started by Spawn.
type Child struct {
	Pid  int
	exit *ExitFD
}

// Spawn starts cmd as cmd.Start would, with syscall.ForkExec itself, when
// cmd's standard streams are all files and it has nothing else for
// os/exec to do (no ExtraFiles, Cancel or WaitDelay; Env and SysProcAttr
// set): none of os/exec's copying of the environment, second pidfd and
// *os.Process per start, which cost mp run a sixth of its own time on
// short jobs. Otherwise it returns an error that is
// errors.ErrUnsupported, and cmd is left for cmd.Start. cmd itself is not
// marked started (cmd.Process stays nil): wait with the Child's Wait.
func Spawn(cmd *exec.Cmd) (*Child, error) {
	in, ok1 := cmd.Stdin.(*os.File)
	out, ok2 := cmd.Stdout.(*os.File)
	errf, ok3 := cmd.Stderr.(*os.File)
	if !ok1 || !ok2 || !ok3 || in == nil || out == nil || errf == nil ||
		cmd.Env == nil || cmd.SysProcAttr == nil || len(cmd.ExtraFiles) > 0 ||
		cmd.Cancel != nil || cmd.WaitDelay != 0 || cmd.Process != nil || cmd.Err != nil {
		return nil, errors.ErrUnsupported
	}
	sys := *cmd.SysProcAttr
	pidfd := -1
	sys.PidFD = &pidfd
	attr := &syscall.ProcAttr{
		Dir:   cmd.Dir,
		Env:   cmd.Env,
		Files: []uintptr{in.Fd(), out.Fd(), errf.Fd()},
		Sys:   &sys,
	}
	pid, err := syscall.ForkExec(cmd.Path, cmd.Args, attr)
	runtime.KeepAlive(in)
	runtime.KeepAlive(out)
	runtime.KeepAlive(errf)
	if err != nil {
		return nil, &os.PathError{Op: "fork/exec", Path: cmd.Path, Err: err} // as os.StartProcess says it
	}
	return &Child{Pid: pid, exit: &ExitFD{fd: pidfd}}, nil
}

// Wait returns once the process has ended (waiting on Go's network
// poller, as ExitFD does), reaps it and returns its status.
func (c *Child) Wait() (syscall.WaitStatus, error) {
	c.exit.Wait()
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(c.Pid, &ws, 0, nil)
		if err != syscall.EINTR {
			if err != nil {
				return ws, os.NewSyscallError("wait4", err)
			}
			return ws, nil
		}
	}
}
