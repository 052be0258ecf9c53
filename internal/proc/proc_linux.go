//go:build linux

package proc

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Configure makes cmd's process die with its parent and lead its own
// process group.
func Configure(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// ClearParentDeathSignal takes back the parent-death signal Configure
// gave this process. It must run on the thread that was started with it
// (the signal belongs to a thread), as package initialisation does.
func ClearParentDeathSignal() { unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0) }

// WaitExited returns once pid has ended, leaving it unreaped (waitid with
// WNOWAIT), so that its pid, and the id of the process group it leads,
// cannot be reused before the caller has killed that group. It reports
// whether it could wait so, and whether pid exited with status 0.
func WaitExited(pid int) (ok, clean bool) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err == nil, err == nil && info.Code == cldExited && siStatus(&info) == 0
		}
	}
}

// cldExited is the si_code of a child that exited (not killed).
const cldExited = 1

// siStatus is the si_status of a SIGCHLD's siginfo, which x/sys/unix does
// not name: the int after si_pid and si_uid (the exit status, or the
// signal).
func siStatus(info *unix.Siginfo) int32 {
	b := (*[unsafe.Sizeof(*info)]byte)(unsafe.Pointer(info))
	return *(*int32)(unsafe.Pointer(&b[24]))
}

// KillGroup sends SIGKILL to the process group led by pid.
func KillGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }

// RSS returns the resident memory of this process in bytes, 0 if unknown.
func RSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// GrowPipe asks for a pipe buffer of size bytes behind f and returns the
// size it has (Linux lets an unprivileged process grow a pipe to
// /proc/sys/fs/pipe-max-size, 1 MiB by default).
func GrowPipe(f *os.File, size int) int {
	got := 64 << 10 // Linux's default
	rc, err := f.SyscallConn()
	if err != nil {
		return got
	}
	rc.Control(func(fd uintptr) {
		if n, err := unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size); err == nil {
			got = n
		} else if n, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); err == nil {
			got = n
		}
	})
	return got
}

// MemFile returns an anonymous file in memory (memfd_create): one system
// call, no name in any file system.
func MemFile(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// Alive reports whether pid runs (a zombie does not).
func Alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// Exiting reports whether process pid has ended or is ending (the kernel
// marks a process PF_EXITING before it closes its files, so a child that
// reads EOF on a pipe from its dying parent can tell, at once, that the
// parent is dying rather than done with it).
func Exiting(pid int) bool {
	if os.Getppid() != pid {
		return true // reparented: it has ended
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 7 || f[0] == "Z" || f[0] == "X" {
		return true
	}
	flags, err := strconv.ParseUint(f[6], 10, 64)
	return err == nil && flags&0x4 != 0 // PF_EXITING
}

// GroupGone reports whether no process is left in the process group led
// by pid, once pid itself has been reaped: nothing that the group's
// processes started (and that stayed in their group) can still hold
// their files. A group it cannot tell about counts as not gone.
func GroupGone(pid int) bool { return syscall.Kill(-pid, 0) == syscall.ESRCH }
