//go:build linux

package mp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

type condJob struct {
	C *mp.Condition
	V *mp.RawValue[int64]
}

type rlockJob struct {
	L *mp.RLock
	V *mp.RawValue[int64]
	N int
}

var (
	// bump adds 1 three times under the condition's lock, notifying each time.
	bump = mp.Register("test.bump", func(ctx context.Context, j condJob) (struct{}, error) {
		for range 3 {
			time.Sleep(20 * time.Millisecond)
			if err := j.C.Lock(ctx); err != nil {
				return struct{}{}, err
			}
			*j.V.Ptr() += 1
			j.C.NotifyAll()
			j.C.Unlock()
		}
		return struct{}{}, nil
	})
	// addNested adds 1 N times, taking the RLock twice each time.
	addNested = mp.Register("test.addNested", func(ctx context.Context, j rlockJob) (struct{}, error) {
		for range j.N {
			outer, err := j.L.Lock(ctx)
			if err != nil {
				return struct{}{}, err
			}
			inner, err := j.L.Lock(outer) // reentrant: the same hold
			if err != nil {
				return struct{}{}, err
			}
			v := *j.V.Ptr()
			*j.V.Ptr() = v + 1
			if err := j.L.Unlock(inner); err != nil {
				return struct{}{}, err
			}
			if err := j.L.Unlock(outer); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
)

func TestRLock(t *testing.T) {
	l, err := mp.NewRLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlink()
	v, err := mp.NewRawValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Unlink()
	ctx := context.Background()
	p := newProcPool(t)
	jobs := []rlockJob{{l, v, 2000}, {l, v, 2000}, {l, v, 2000}}
	if _, err := mp.Map(ctx, p, addNested, jobs, mp.Chunksize(1)); err != nil {
		t.Fatal(err)
	}
	if *v.Ptr() != 6000 {
		t.Errorf("counter %d, want 6000", *v.Ptr())
	}
	held, err := l.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// another hold waits, even in this process
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock by another hold: %v", err)
	}
	if err := l.Unlock(ctx); err == nil {
		t.Error("Unlock with a context that does not hold it")
	}
	again, err := l.Lock(held)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(again); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(held); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(held); err == nil {
		t.Error("Unlock of a released RLock")
	}
}

func TestConditionAcrossProcesses(t *testing.T) {
	c, err := mp.NewCondition(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Unlink()
	v, err := mp.NewRawValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Unlink()
	ctx := context.Background()
	p, err := mp.NewProcess(bump, condJob{c, v})
	startProcess(t, p, err)
	if err := c.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, long)
	defer cancel()
	within(t, "WaitFor", func() { err = c.WaitFor(wctx, func() bool { return *v.Ptr() >= 3 }) })
	c.Unlock()
	if err != nil || *v.Ptr() != 3 {
		t.Errorf("WaitFor: %v, value %d", err, *v.Ptr())
	}
	within(t, "Join", func() { err = p.Join(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	// Wait with a timeout returns holding the lock
	c.Lock(ctx)
	tctx, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if err := c.Wait(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait with a timeout: %v", err)
	}
	if err := c.Unlock(); err != nil {
		t.Errorf("the lock is not held after Wait: %v", err)
	}
	if err := c.Notify(1); err == nil {
		t.Error("Notify without the lock accepted")
	}
	// Notify(1) wakes one of two waiters in this process
	woke := make(chan struct{}, 2)
	ready := make(chan struct{}, 2)
	for range 2 {
		go func() {
			c.Lock(ctx)
			ready <- struct{}{}
			c.Wait(ctx) // takes its ticket before it lets go of the lock
			c.Unlock()
			woke <- struct{}{}
		}()
	}
	<-ready
	<-ready
	// The lock is free again only once both waiters are inside Wait.
	c.Lock(ctx)
	c.Notify(1)
	c.Unlock()
	select {
	case <-woke:
	case <-time.After(long):
		t.Fatal("Notify(1) woke nobody")
	}
	select {
	case <-woke:
		t.Error("Notify(1) woke two waiters")
	case <-time.After(200 * time.Millisecond):
	}
	c.Lock(ctx)
	c.NotifyAll()
	c.Unlock()
	select {
	case <-woke:
	case <-time.After(long):
		t.Fatal("NotifyAll did not wake the last waiter")
	}
}
