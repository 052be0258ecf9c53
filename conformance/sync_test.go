//go:build linux

package conformance

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// TestLock ports _TestLock.
func TestLock(t *testing.T) {
	// CPython: _TestLock.test_lock
	t.Run("test_lock", func(t *testing.T) {
		ctx := testCtx(t)
		l := newLock(t)
		if err := l.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		if l.TryLock() {
			t.Fatal("acquire(False) of a held lock succeeded")
		}
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
		if err := l.Unlock(); err == nil {
			t.Fatal("release() of an unheld lock succeeded")
		}
	})

	// CPython: _TestLock.test_rlock
	t.Run("test_rlock", func(t *testing.T) {
		ctx := testCtx(t)
		l, err := mp.NewRLock()
		if err != nil {
			t.Fatal(err)
		}
		defer l.Unlink()
		held := ctx
		for range 3 {
			if held, err = l.Lock(held); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			if err := l.Unlock(held); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Unlock(held); err == nil {
			t.Fatal("a fourth release() succeeded")
		}
	})

	// CPython: _TestLock.test_lock_context
	t.Run("test_lock_context", func(t *testing.T) {
		ctx := testCtx(t)
		l := newLock(t)
		// with self.Lock(): pass
		if err := l.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
		if !l.TryLock() {
			t.Fatal("the lock is held after the with block")
		}
		l.Unlock()
	})
}

func newLock(t *testing.T) *mp.Lock {
	t.Helper()
	l, err := mp.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Unlink() })
	return l
}

func newSemaphore(t *testing.T, n int, bounded bool) *mp.Semaphore {
	t.Helper()
	mk := mp.NewSemaphore
	if bounded {
		mk = mp.NewBoundedSemaphore
	}
	s, err := mk(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Unlink() })
	return s
}

// TestSemaphore ports _TestSemaphore.
func TestSemaphore(t *testing.T) {
	testSemaphore := func(t *testing.T, sem *mp.Semaphore) {
		ctx := testCtx(t)
		for i := range 2 {
			if err := sem.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			if v := sem.Value(); v != 1-i {
				t.Fatalf("get_value() = %d, want %d", v, 1-i)
			}
		}
		if sem.TryAcquire() {
			t.Fatal("acquire(False) at 0 succeeded")
		}
		for i := range 2 {
			if err := sem.Release(); err != nil {
				t.Fatal(err)
			}
			if v := sem.Value(); v != i+1 {
				t.Fatalf("get_value() = %d, want %d", v, i+1)
			}
		}
	}

	// CPython: _TestSemaphore.test_semaphore
	t.Run("test_semaphore", func(t *testing.T) {
		sem := newSemaphore(t, 2, false)
		testSemaphore(t, sem)
		for i := range 2 {
			if err := sem.Release(); err != nil || sem.Value() != 3+i {
				t.Fatalf("release() above the initial value: %v, value %d", err, sem.Value())
			}
		}
	})

	// CPython: _TestSemaphore.test_bounded_semaphore
	t.Run("test_bounded_semaphore", func(t *testing.T) {
		sem := newSemaphore(t, 2, true)
		testSemaphore(t, sem)
		if err := sem.Release(); err == nil {
			t.Fatal("release() above a bounded semaphore's value succeeded")
		}
	})

	// CPython: _TestSemaphore.test_timeout
	t.Run("test_timeout", func(t *testing.T) {
		ctx := testCtx(t)
		sem := newSemaphore(t, 0, false)
		if sem.TryAcquire() {
			t.Fatal("acquire(False)")
		}
		for _, d := range []time.Duration{0, 100 * time.Millisecond} {
			short, cancel := context.WithTimeout(ctx, d)
			err := sem.Acquire(short)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("acquire(timeout=%v) at 0: %v", d, err)
			}
		}
	})
}

type condArgs struct {
	Cond            *mp.Condition
	Sleeping, Woken *mp.Semaphore
	TimeoutMs       int // 0: no timeout
}

// condF is _TestCondition.f: take the lock, say "sleeping", wait (with a
// timeout), say "woken", release.
func condF(ctx context.Context, a condArgs) (struct{}, error) {
	if err := a.Cond.Lock(ctx); err != nil {
		return struct{}{}, err
	}
	a.Sleeping.Release()
	wctx := ctx
	if a.TimeoutMs > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, time.Duration(a.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	err := a.Cond.Wait(wctx)
	a.Woken.Release()
	if uerr := a.Cond.Unlock(); uerr != nil {
		return struct{}{}, uerr
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return struct{}{}, err
	}
	return struct{}{}, nil
}

var condFProc = mp.Register("conf.condF", condF)

// startCondSleepers starts one process and one goroutine running condF, n
// times, as CPython starts a Process and a Thread.
func startCondSleepers(t *testing.T, a condArgs, n int) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	var procs []*mp.Process
	for range n {
		procs = append(procs, startProcess(t, condFProc, a, mp.Daemon(true)))
		wg.Go(func() {
			if _, err := condF(testCtx(t), a); err != nil {
				t.Error(err)
			}
		})
	}
	return func() {
		wg.Wait()
		for _, p := range procs {
			if err := p.JoinTimeout(long); err != nil {
				t.Error(err)
			}
		}
	}
}

func acquireN(t *testing.T, s *mp.Semaphore, n int) {
	t.Helper()
	ctx := testCtx(t)
	for range n {
		if err := s.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func newCondition(t *testing.T) *mp.Condition {
	t.Helper()
	c, err := mp.NewCondition(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Unlink() })
	return c
}

// notify is `with cond: cond.notify(n)`.
func notify(t *testing.T, c *mp.Condition, n int) {
	t.Helper()
	if err := c.Lock(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	var err error
	if n < 0 {
		err = c.NotifyAll()
	} else {
		err = c.Notify(n)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Unlock()
}

type waitforArgs struct {
	Cond  *mp.Condition
	State *mp.Value[int64]
}

var (
	// waitforF is _TestCondition._test_waitfor_f.
	waitforF = mp.Register("conf.waitforF", func(ctx context.Context, a waitforArgs) (struct{}, error) {
		if err := a.Cond.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		defer a.Cond.Unlock()
		*a.State.Ptr() = 0
		a.Cond.Notify(1)
		if err := a.Cond.WaitFor(ctx, func() bool { return *a.State.Ptr() == 4 }); err != nil {
			return struct{}{}, err
		}
		if *a.State.Ptr() != 4 {
			return struct{}{}, errors.New("state is not 4")
		}
		return struct{}{}, nil
	})
	// waitforTimeoutF is _TestCondition._test_waitfor_timeout_f.
	waitforTimeoutF = mp.Register("conf.waitforTimeoutF", func(ctx context.Context, a waitforTimeoutArgs) (struct{}, error) {
		a.Sem.Release()
		if err := a.Cond.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		defer a.Cond.Unlock()
		const expected = 100 * time.Millisecond
		start := time.Now() // before the deadline is set (see test_wait_timeout)
		wctx, cancel := context.WithTimeout(ctx, expected)
		defer cancel()
		err := a.Cond.WaitFor(wctx, func() bool { return *a.State.Ptr() == 4 })
		if errors.Is(err, context.DeadlineExceeded) && time.Since(start) >= expected-10*time.Millisecond {
			*a.Success.Ptr() = 1
		}
		return struct{}{}, nil
	})
	// waitResultF is _TestCondition._test_wait_result.
	waitResultF = mp.Register("conf.waitResultF", func(ctx context.Context, c *mp.Condition) (struct{}, error) {
		if err := c.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		c.Notify(1)
		return struct{}{}, c.Unlock()
	})
)

type waitforTimeoutArgs struct {
	Cond           *mp.Condition
	State, Success *mp.Value[int64]
	Sem            *mp.Semaphore
}

func newValue[T any](t *testing.T, v T) *mp.Value[T] {
	t.Helper()
	x, err := mp.NewValue(v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Unlink() })
	return x
}

// TestCondition ports _TestCondition.
func TestCondition(t *testing.T) {
	// CPython: _TestCondition.test_notify
	t.Run("test_notify", func(t *testing.T) {
		cond := newCondition(t)
		sleeping, woken := newSemaphore(t, 0, false), newSemaphore(t, 0, false)
		wait := startCondSleepers(t, condArgs{Cond: cond, Sleeping: sleeping, Woken: woken}, 1)
		acquireN(t, sleeping, 2)
		// each sleeper holds the lock from its "sleeping" until Wait
		// releases it: once notify has the lock, both wait.
		notify(t, cond, 1)
		acquireN(t, woken, 1)
		if woken.Value() != 0 {
			t.Fatal("notify() woke more than one")
		}
		notify(t, cond, 1)
		acquireN(t, woken, 1)
		wait()
	})

	// CPython: _TestCondition.test_notify_all
	t.Run("test_notify_all", func(t *testing.T) {
		cond := newCondition(t)
		sleeping, woken := newSemaphore(t, 0, false), newSemaphore(t, 0, false)
		// wait tests, with a timeout: they all time out
		wait := startCondSleepers(t, condArgs{Cond: cond, Sleeping: sleeping, Woken: woken, TimeoutMs: 100}, 3)
		acquireN(t, sleeping, 6)
		acquireN(t, woken, 6)
		wait()
		// without a timeout: notify_all wakes them all
		wait = startCondSleepers(t, condArgs{Cond: cond, Sleeping: sleeping, Woken: woken}, 3)
		acquireN(t, sleeping, 6)
		notify(t, cond, -1)
		acquireN(t, woken, 6)
		wait()
	})

	// CPython: _TestCondition.test_notify_n
	t.Run("test_notify_n", func(t *testing.T) {
		cond := newCondition(t)
		sleeping, woken := newSemaphore(t, 0, false), newSemaphore(t, 0, false)
		wait := startCondSleepers(t, condArgs{Cond: cond, Sleeping: sleeping, Woken: woken}, 3)
		acquireN(t, sleeping, 6)
		notify(t, cond, 2)
		waitFor(t, "2 woken", func() bool { return woken.Value() >= 2 })
		// A third wake-up is an absence to check: the sleep (CPython's)
		// gives it time to show; the test holds either way.
		time.Sleep(50 * time.Millisecond)
		if n := woken.Value(); n != 2 {
			t.Fatalf("notify(n=2) woke %d", n)
		}
		notify(t, cond, 4)
		waitFor(t, "6 woken", func() bool { return woken.Value() == 6 })
		notify(t, cond, 3) // no one waits: nothing happens
		wait()
	})

	// CPython: _TestCondition.test_timeout
	t.Run("test_timeout", func(t *testing.T) {
		ctx := testCtx(t)
		cond := newCondition(t)
		cond.Lock(ctx)
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if err := cond.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("wait(timeout) = %v, want False (a timeout)", err)
		}
		if err := cond.Unlock(); err != nil {
			t.Fatalf("the lock is not held again after wait timed out: %v", err)
		}
	})

	// CPython: _TestCondition.test_waitfor
	t.Run("test_waitfor", func(t *testing.T) {
		ctx := testCtx(t)
		cond := newCondition(t)
		state := newValue[int64](t, -1)
		p := startProcess(t, waitforF, waitforArgs{Cond: cond, State: state}, mp.Daemon(true))
		cond.Lock(ctx)
		if err := cond.WaitFor(ctx, func() bool { return *state.Ptr() == 0 }); err != nil {
			t.Fatal(err)
		}
		cond.Unlock()
		for range 4 {
			time.Sleep(10 * time.Millisecond) // CPython's pacing: the test holds either way
			cond.Lock(ctx)
			*state.Ptr() += 1
			cond.Notify(1)
			cond.Unlock()
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// CPython: _TestCondition.test_waitfor_timeout
	t.Run("test_waitfor_timeout", func(t *testing.T) {
		ctx := testCtx(t)
		cond := newCondition(t)
		state, success := newValue[int64](t, 0), newValue[int64](t, 0)
		sem := newSemaphore(t, 0, false)
		p := startProcess(t, waitforTimeoutF, waitforTimeoutArgs{Cond: cond, State: state, Success: success, Sem: sem}, mp.Daemon(true))
		acquireN(t, sem, 1)
		for range 3 {
			time.Sleep(10 * time.Millisecond) // CPython's pacing: the test holds either way
			cond.Lock(ctx)
			*state.Ptr() += 1
			cond.Notify(1)
			cond.Unlock()
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if *success.Ptr() != 1 {
			t.Fatal("wait_for(timeout) did not time out after its timeout")
		}
	})

	// CPython: _TestCondition.test_wait_result
	t.Run("test_wait_result", func(t *testing.T) {
		// (CPython's last check, that SIGINT interrupts wait with
		// KeyboardInterrupt, is a context's cancellation here.)
		ctx := testCtx(t)
		c := newCondition(t)
		c.Lock(ctx)
		for _, d := range []time.Duration{0, 100 * time.Millisecond} {
			short, cancel := context.WithTimeout(ctx, d)
			err := c.Wait(short)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("wait(%v) = %v, want False", d, err)
			}
		}
		p := startProcess(t, waitResultF, c)
		if err := c.Wait(ctx); err != nil {
			t.Fatalf("wait(60) = %v, want True", err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		go func() { time.Sleep(20 * time.Millisecond); cancel() }() // during the wait, likely; the test holds either way
		if err := c.Wait(cancelled); !errors.Is(err, context.Canceled) {
			t.Fatalf("an interrupted wait: %v", err)
		}
		c.Unlock()
		p.Join(ctx)
	})
}

var eventSetter = mp.Register("conf.eventSetter", func(_ context.Context, e *mp.Event) (struct{}, error) {
	time.Sleep(50 * time.Millisecond) // so that Wait likely blocks first; the test holds either way
	e.Set()
	return struct{}{}, nil
})

// TestEvent ports _TestEvent.
func TestEvent(t *testing.T) {
	// CPython: _TestEvent.test_event
	t.Run("test_event", func(t *testing.T) {
		ctx := testCtx(t)
		e := newEvent(t)
		wait := func(d time.Duration) bool {
			c, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return e.Wait(c) == nil
		}
		if e.IsSet() || wait(0) || wait(100*time.Millisecond) {
			t.Fatal("a new event is set")
		}
		e.Set()
		if !e.IsSet() || e.Wait(ctx) != nil || !wait(100*time.Millisecond) {
			t.Fatal("a set event does not read as set")
		}
		e.Clear()
		p := startProcess(t, eventSetter, e, mp.Daemon(true))
		if err := e.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		p.Join(ctx)
	})

	// CPython: _TestEvent.test_repr
	t.Run("test_repr", func(t *testing.T) {
		// Python's repr shows set/unset; Go has no repr: IsSet says it.
		e := newEvent(t)
		for _, set := range []bool{false, true, false} {
			if set {
				e.Set()
			} else {
				e.Clear()
			}
			if e.IsSet() != set {
				t.Fatalf("IsSet() = %v, want %v", e.IsSet(), set)
			}
		}
	})
}

// counter is the barrier tests' DummyList: only its length counts.
type counter struct{ n atomic.Int64 }

func (c *counter) append()    { c.n.Add(1) }
func (c *counter) len() int64 { return c.n.Load() }
