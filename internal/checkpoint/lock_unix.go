//go:build unix

package checkpoint

import (
	"os"

	"golang.org/x/sys/unix"
)

// lock takes an exclusive advisory lock on f, without waiting; the
// kernel lets it go when the process ends, however it ends.
func lock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) }

// unlock lets the lock go before f is closed. Closing is not enough: a
// copy of the descriptor in a child forked meanwhile (a worker process
// being started, before its exec closes it) keeps the lock of the open
// file description, and the next Open of the store in this process
// would find it locked.
func unlock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }
