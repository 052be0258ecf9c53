package ring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/futex"
	"github.com/mp-go/mp/internal/proc"
)

// ErrOwnerDead is returned by LockWord when the process that held the
// lock died holding it: the caller now holds the lock, and whatever it
// protects may be half-updated (a robust pthread mutex's EOWNERDEAD).
// Package mp exports it as mp.ErrOwnerDead.
var ErrOwnerDead = errors.New("mp: the lock's owner died holding it")

// lockSpins is how many times a contender of a lock yields, looking
// again each time, before it sleeps: a few microseconds, about a ring's
// copy of a big message.
const lockSpins = 64

// PollEvery bounds each futex wait, so that a waiter notices its context
// and a dead lock owner.
const PollEvery = 50 * time.Millisecond

var myPid = os.Getpid()

// WaitWord waits while *word == val (spurious wake-ups happen: callers
// re-check), for at most PollEvery, or less if ctx ends first; it returns
// ctx's error if ctx has ended.
func WaitWord(ctx context.Context, word *uint32, val uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := PollEvery
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, max(time.Until(dl), time.Millisecond))
	}
	futex.Wait(word, val, d)
	return nil
}

// The lock word: 0 unlocked, else the owner's pid shifted left by one,
// with the low bit set when waiters may sleep on it.
func lockWordOf(pid int) uint32 { return uint32(pid) << 1 }

// LockWord takes the lock whose word is *w, shared by processes: one
// compare-and-swap when it is free, else a short spin (lockSpins), then
// futex sleeps. It returns nil, ctx's error (the lock is not held), or an
// error wrapping ErrOwnerDead (the lock is held; its last owner died
// holding it). Whether the owner lives is looked up (a read of /proc)
// only after a sleep: a ring's lock is held for a copy of a message,
// microseconds, and a contender that read /proc each time spent more
// than the copy; a dead owner is found within PollEvery.
func LockWord(ctx context.Context, w *uint32) error {
	me := lockWordOf(myPid)
	if atomic.CompareAndSwapUint32(w, 0, me) {
		return nil
	}
	for range lockSpins {
		runtime.Gosched()
		if atomic.CompareAndSwapUint32(w, 0, me) {
			return nil
		}
	}
	slept := false
	for {
		s := atomic.LoadUint32(w)
		if s == 0 {
			// we may have slept: others may too, so keep the waiters bit
			if atomic.CompareAndSwapUint32(w, 0, me|1) {
				return nil
			}
			continue
		}
		owner := int(s >> 1)
		if owner != myPid && slept && !proc.Alive(owner) {
			if atomic.CompareAndSwapUint32(w, s, me|1) {
				return fmt.Errorf("%w (process %d)", ErrOwnerDead, owner)
			}
			continue
		}
		if s&1 == 0 && !atomic.CompareAndSwapUint32(w, s, s|1) {
			continue
		}
		if err := WaitWord(ctx, w, s|1); err != nil {
			return err
		}
		slept = true
	}
}

// TryLockWord takes the lock whose word is *w if it is free and reports
// whether it did.
func TryLockWord(w *uint32) bool { return atomic.CompareAndSwapUint32(w, 0, lockWordOf(myPid)) }

// LockedByMe reports whether this process holds the lock whose word is *w.
func LockedByMe(w *uint32) bool { return int(atomic.LoadUint32(w)>>1) == myPid }

// UnlockWord releases the lock whose word is *w. It is an error if this
// process does not hold it.
func UnlockWord(w *uint32) error {
	for {
		s := atomic.LoadUint32(w)
		if s == 0 || int(s>>1) != myPid {
			return errors.New("mp: Unlock of a Lock this process does not hold")
		}
		if atomic.CompareAndSwapUint32(w, s, 0) {
			if s&1 != 0 {
				futex.Wake(w, 1)
			}
			return nil
		}
	}
}
