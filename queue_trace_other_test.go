//go:build linux && !amd64

package mp_test

import "errors"

// errNoPtrace says that the tracer of the crash tests is not written
// for this architecture (it sets x86-64 debug registers).
var errNoPtrace = errors.New("the crash tests' tracer needs x86-64")

func killAfterStore(pid, tid int, addrs [4]uintptr, lock *uint32, n int) (bool, error) {
	return false, errNoPtrace
}
