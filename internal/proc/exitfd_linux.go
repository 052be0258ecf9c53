//go:build linux

package proc

import (
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// ExitFD lets a caller wait for a command's end on Go's network poller
// (epoll on a pidfd) instead of in a blocking waitid: a thread blocked in
// a system call makes the runtime hand its processor to another thread
// and keeps its monitor thread polling every 20 µs, which costs more than
// a short job itself when jobs come by the thousand (mp run -j2 true).
type ExitFD struct{ fd int }

// WatchExit asks cmd, before its Start, for a pidfd of its process.
// cmd.SysProcAttr must be set already (Configure).
func WatchExit(cmd *exec.Cmd) *ExitFD {
	x := &ExitFD{fd: -1}
	if cmd.SysProcAttr != nil {
		cmd.SysProcAttr.PidFD = &x.fd
	}
	return x
}

// Wait returns once the process has ended, leaving it for cmd.Wait to
// reap (which then does not block), and releases the pidfd. Without a
// pidfd (an old kernel, or Start failed) it returns at once: cmd.Wait
// then waits as usual.
func (x *ExitFD) Wait() {
	if x == nil || x.fd < 0 {
		return
	}
	fd := x.fd
	x.fd = -1
	// one fcntl, not SetNonblock's two: a pidfd has no other status flag
	// that F_SETFL could change (O_RDWR, its access mode, it ignores)
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, unix.O_NONBLOCK); err != nil {
		unix.Close(fd)
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd") // non-blocking: on the poller
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Read(func(fd uintptr) bool {
		var info unix.Siginfo // zeroed: Signo stays 0 if it has not ended
		err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		switch err {
		case nil:
			return info.Signo != 0 // ended (SIGCHLD), or wait for the pidfd to become readable
		case unix.EAGAIN, unix.EINTR:
			return false // a non-blocking pidfd of a process still running
		}
		return true // nothing to wait for: cmd.Wait says why
	})
}

// Close releases the pidfd without waiting (Start failed).
func (x *ExitFD) Close() {
	if x != nil && x.fd >= 0 {
		unix.Close(x.fd)
		x.fd = -1
	}
}
