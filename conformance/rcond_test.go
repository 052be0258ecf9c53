//go:build linux

package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

type rcondArgs struct {
	Cond            *mp.RCondition
	Sleeping, Woken *mp.Semaphore
}

var (
	// rcondSleeper is _TestCondition.f on Python's default Condition(),
	// over an RLock, taken twice: Wait must let go of both holds and give
	// both back.
	rcondSleeper = mp.Register("conf.rcondSleeper", func(ctx context.Context, a rcondArgs) (struct{}, error) {
		held, err := a.Cond.Lock(ctx)
		if err != nil {
			return struct{}{}, err
		}
		if held, err = a.Cond.Lock(held); err != nil {
			return struct{}{}, err
		}
		a.Sleeping.Release()
		if err := a.Cond.Wait(held); err != nil {
			return struct{}{}, err
		}
		a.Woken.Release()
		if err := a.Cond.Unlock(held); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, a.Cond.Unlock(held)
	})
	// rcondNotify is _TestCondition._test_wait_result: with c: c.notify().
	rcondNotify = mp.Register("conf.rcondNotify", func(ctx context.Context, c *mp.RCondition) (struct{}, error) {
		held, err := c.Lock(ctx)
		if err != nil {
			return struct{}{}, err
		}
		defer c.Unlock(held)
		return struct{}{}, c.Notify(held, 1)
	})
)

func newRCondition(t *testing.T) *mp.RCondition {
	t.Helper()
	c, err := mp.NewRCondition(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Unlink() })
	return c
}

// TestRCondition runs _TestCondition's tests where Python's default
// Condition() (over an RLock) differs from mp.NewCondition (over a Lock):
// the lock is re-entered, and Wait releases it whole.
func TestRCondition(t *testing.T) {
	// CPython: _TestCondition.test_notify (default Condition(): RLock)
	t.Run("test_notify", func(t *testing.T) {
		ctx := testCtx(t)
		cond := newRCondition(t)
		sleeping, woken := newSemaphore(t, 0, false), newSemaphore(t, 0, false)
		var procs []*mp.Process
		for range 2 {
			procs = append(procs, startProcess(t, rcondSleeper, rcondArgs{cond, sleeping, woken}, mp.Daemon(true)))
		}
		acquireN(t, sleeping, 2)
		rnotify := func() {
			held, err := cond.Lock(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := cond.Notify(held, 1); err != nil {
				t.Fatal(err)
			}
			cond.Unlock(held)
		}
		rnotify()
		acquireN(t, woken, 1)
		if woken.Value() != 0 {
			t.Fatal("notify() woke more than one")
		}
		rnotify()
		acquireN(t, woken, 1)
		for _, p := range procs {
			if err := p.Join(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})

	// CPython: _TestCondition.test_wait_result (default Condition(): RLock)
	// Python's wait(timeout) returns False on a timeout; mp's Wait returns
	// the context's error, and the lock is held again either way. The
	// SIGINT part (KeyboardInterrupt in wait) has no Go counterpart.
	t.Run("test_wait_result", func(t *testing.T) {
		ctx := testCtx(t)
		c := newRCondition(t)
		held, err := c.Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []time.Duration{0, 100 * time.Millisecond} {
			wctx, cancel := context.WithTimeout(held, d)
			err := c.Wait(wctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("wait(%v) = %v, want DeadlineExceeded (Python's False)", d, err)
			}
		}
		p := startProcess(t, rcondNotify, c)
		wctx, cancel := context.WithTimeout(held, long)
		defer cancel()
		if err := c.Wait(wctx); err != nil {
			t.Fatalf("wait(60) with a notify coming: %v", err)
		}
		if err := c.Unlock(held); err != nil {
			t.Fatalf("the lock is not held after wait: %v", err)
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
