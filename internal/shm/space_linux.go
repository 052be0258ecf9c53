//go:build linux

package shm

import (
	"os"

	"golang.org/x/sys/unix"
)

// free returns the bytes that an unprivileged process may still allocate
// in dir and the file system's size (ok false if unknown).
func free(dir string) (avail, total uint64, ok bool) {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return 0, 0, false
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), true
}

// allocate backs bytes [off, off+n) of f with memory now (fallocate,
// keeping the size): on a full tmpfs that is an error here, where a
// sparse file would make the program die of SIGBUS on its first touch of
// a page that cannot be had. File systems without fallocate are left
// sparse.
func allocate(f *os.File, off, n int) error {
	if n <= 0 {
		return nil
	}
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, int64(off), int64(n))
	if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	return nil
}
