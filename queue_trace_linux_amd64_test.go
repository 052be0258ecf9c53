//go:build linux && amd64

package mp_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tracer stops one thread of a child process with ptrace, so that a test
// can kill the process at a chosen point: a kill at a random time almost
// never lands in a window of a few instructions.
type tracer struct {
	tid int
}

// errNoPtrace says that this machine does not let a process trace its
// children (a container without CAP_SYS_PTRACE, Yama, seccomp).
var errNoPtrace = errors.New("ptrace is not permitted here")

// errGone says that the traced thread ended (its process was killed).
var errGone = errors.New("the traced thread ended")

// stopThread seizes and stops tid. The calling goroutine must be locked
// to its thread until detach or the process's death.
func stopThread(tid int) (*tracer, error) {
	if err := unix.PtraceSeize(tid); err != nil {
		if errors.Is(err, syscall.EPERM) {
			return nil, errNoPtrace
		}
		if errors.Is(err, syscall.ESRCH) {
			return nil, errGone
		}
		return nil, fmt.Errorf("PTRACE_SEIZE %d: %w", tid, err)
	}
	t := &tracer{tid: tid}
	if err := unix.PtraceInterrupt(tid); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil, errGone
		}
		return nil, fmt.Errorf("PTRACE_INTERRUPT %d: %w", tid, err)
	}
	if err := t.waitStop(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *tracer) waitStop() error {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(t.tid, &ws, unix.WALL, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait4 %d: %w", t.tid, err)
		}
		if ws.Exited() || ws.Signaled() {
			return errGone
		}
		if ws.Stopped() {
			return nil
		}
	}
}

// killAndReap kills the thread's process (pid) and waits for the traced
// thread to be gone, so that the process can be reaped by its parent.
func (t *tracer) killAndReap(pid int) {
	syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(long)
	var ws unix.WaitStatus
	for time.Now().Before(deadline) {
		_, err := unix.Wait4(t.tid, &ws, unix.WALL, nil)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return // reaped (ECHILD)
		}
		if err == nil && (ws.Exited() || ws.Signaled()) {
			return
		}
	}
}

// tracing lets one child at a time be traced: a child stopped inside
// the lock holds up the others.
var tracing sync.Mutex

// killAfterStore lets the thread tid of process pid run until it has
// stored to one of the words at addrs (addresses in its address space)
// n times, with hardware watchpoints, and kills the process there. The
// state of shared memory only changes at stores, so that these are the
// points where a crash can leave it inconsistent; a kill at a random time
// would land between two stores of one update a few times in a million.
// It reports whether the kill landed with the lock at *lock held.
func killAfterStore(pid, tid int, addrs [4]uintptr, lock *uint32, n int) (inside bool, err error) {
	tracing.Lock()
	defer tracing.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// A thread that never stores (it waits for room, or for an item)
	// is killed after a while in any case.
	stop := time.AfterFunc(100*time.Millisecond, func() { syscall.Kill(pid, syscall.SIGKILL) })
	defer stop.Stop()
	defer func() {
		if errors.Is(err, errGone) {
			inside, err = false, nil
		}
	}()
	t, err := stopThread(tid)
	if err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		return false, err
	}
	defer t.killAndReap(pid)
	// x86-64 debug registers: DR0-DR3 the addresses, DR7 enables each
	// (bit 2i) for writes (R/W 01) of 8 bytes (LEN 10)
	var dr7 uint64
	for i, a := range addrs {
		if err := t.pokeUser(debugReg(i), uint64(a)); err != nil {
			return false, err
		}
		dr7 |= 1<<(2*i) | 9<<(16+4*i)
	}
	if err := t.pokeUser(debugReg(7), dr7); err != nil {
		return false, err
	}
	for range n {
		if err := unix.PtraceCont(tid, 0); err != nil {
			return false, errGone
		}
		if err := t.waitStop(); err != nil {
			return false, err
		}
	}
	return int(atomic.LoadUint32(lock)>>1) == pid, nil
}

// debugReg is the offset of debug register i in struct user (x86-64).
func debugReg(i int) uintptr { return 848 + uintptr(i)*8 }

func (t *tracer) pokeUser(off uintptr, v uint64) error {
	if _, _, e := syscall.Syscall6(syscall.SYS_PTRACE, syscall.PTRACE_POKEUSR, uintptr(t.tid), off, uintptr(v), 0, 0); e == syscall.ESRCH {
		return errGone
	} else if e != 0 {
		return fmt.Errorf("PTRACE_POKEUSER %d at %d: %w", t.tid, off, e)
	}
	return nil
}
