//go:build linux

package mp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

type rcondJob struct {
	C *mp.RCondition
	V *mp.RawValue[int64]
}

// rbump adds 1 to V three times, each under the condition's lock taken
// twice (reentrantly), and notifies.
var rbump = mp.Register("test.rbump", func(ctx context.Context, j rcondJob) (struct{}, error) {
	for range 3 {
		held, err := j.C.Lock(ctx)
		if err != nil {
			return struct{}{}, err
		}
		again, err := j.C.Lock(held)
		if err != nil {
			return struct{}{}, err
		}
		*j.V.Ptr()++
		if err := j.C.NotifyAll(again); err != nil {
			return struct{}{}, err
		}
		j.C.Unlock(again)
		j.C.Unlock(held)
	}
	return struct{}{}, nil
})

// CPython: _TestCondition.test_notify_all and test_waitfor, with
// Python's default Condition(), whose lock is an RLock held twice here:
// Wait releases it whole and gives it back as deep.
func TestRConditionAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	c, err := mp.NewRCondition(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Unlink()
	v, err := mp.NewRawValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Unlink()
	held, err := c.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held, err = c.Lock(held) // twice: the child can only go on if Wait lets go of both
	if err != nil {
		t.Fatal(err)
	}
	p, err := mp.NewProcess(rbump, rcondJob{c, v})
	startProcess(t, p, err)
	wctx, cancel := context.WithTimeout(held, long)
	defer cancel()
	within(t, "WaitFor", func() { err = c.WaitFor(wctx, func() bool { return *v.Ptr() >= 3 }) })
	if err != nil || *v.Ptr() != 3 {
		t.Fatalf("WaitFor: %v, value %d", err, *v.Ptr())
	}
	// held twice again: two Unlocks, and a third fails
	if err := c.Unlock(held); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(held, 1); err != nil {
		t.Errorf("Notify while still held once: %v", err)
	}
	if err := c.Unlock(held); err != nil {
		t.Fatal(err)
	}
	if err := c.Unlock(held); err == nil {
		t.Error("a third Unlock accepted")
	}
	within(t, "Join", func() { err = p.Join(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(ctx); err == nil {
		t.Error("Wait with a context that does not hold the lock accepted")
	}
	if err := c.Notify(ctx, 1); err == nil {
		t.Error("Notify with a context that does not hold the lock accepted")
	}
	// a Wait that times out returns holding the lock
	held, _ = c.Lock(ctx)
	tctx, cancel2 := context.WithTimeout(held, 50*time.Millisecond)
	defer cancel2()
	if err := c.Wait(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait with a timeout: %v", err)
	}
	if err := c.Unlock(held); err != nil {
		t.Errorf("the lock is not held after Wait timed out: %v", err)
	}
}
