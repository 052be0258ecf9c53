package jobs

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// stdinPipeSize is the capacity asked for a --pipe job's standard-input
// pipe: a 10 MB block crosses in 10 writes instead of 160 (and as many
// wake-ups of the job).
const stdinPipeSize = 1 << 20

// growPipe asks the kernel for a bigger pipe; the default stays if it
// says no (fs.pipe-max-size).
func growPipe(f *os.File) {
	if sc, err := f.SyscallConn(); err == nil {
		sc.Control(func(fd uintptr) {
			syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETPIPE_SZ, stdinPipeSize)
		})
	}
}

// writeBlock writes b into the pipe w by reference (vmsplice): the pipe
// holds b's pages, not a copy, and the job reads them straight from b
// (a 1 GB --pipe input used to be copied once more, into the pipes).
// b must therefore stay unchanged until nothing can read the pipe any
// more. It falls back to write where vmsplice is refused, and reports
// whether any of b went by reference.
func writeBlock(w *os.File, b []byte) (byRef bool) {
	rc, err := w.SyscallConn()
	if err != nil {
		w.Write(b)
		return false
	}
	fallback := false
	rc.Write(func(fd uintptr) bool {
		for len(b) > 0 {
			iov := []unix.Iovec{{Base: &b[0]}}
			iov[0].SetLen(len(b))
			n, err := unix.Vmsplice(int(fd), iov, unix.SPLICE_F_NONBLOCK)
			switch err {
			case nil:
				byRef = true
				b = b[n:]
			case unix.EINTR:
			case unix.EAGAIN:
				return false // the pipe is full: wait until the job reads
			case unix.EINVAL, unix.ENOSYS:
				fallback = true
				return true
			default:
				return true // the job has stopped reading (EPIPE): as with write
			}
		}
		return true
	})
	if fallback {
		w.Write(b)
	}
	return byRef
}
