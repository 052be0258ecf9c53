package jobs

import (
	"os"
	"syscall"
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
