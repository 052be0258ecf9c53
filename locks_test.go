//go:build linux

package mp_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

type counterJob struct {
	L *mp.Lock
	V *mp.RawValue[int64]
	N int
}

var (
	// addUnderLock adds 1 to the value N times, read-modify-write, under
	// the lock: without it, increments would be lost.
	addUnderLock = mp.Register("test.addUnderLock", func(ctx context.Context, j counterJob) (int, error) {
		for range j.N {
			if err := j.L.Lock(ctx); err != nil {
				return 0, err
			}
			v := *j.V.Ptr()
			if j.N%7 == 0 {
				time.Sleep(time.Microsecond)
			}
			*j.V.Ptr() = v + 1
			if err := j.L.Unlock(); err != nil {
				return 0, err
			}
		}
		return os.Getpid(), nil
	})
	// lockAndDie takes the lock and exits without releasing it.
	lockAndDie = mp.Register("test.lockAndDie", func(ctx context.Context, l *mp.Lock) (struct{}, error) {
		if err := l.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		os.Exit(0)
		return struct{}{}, nil
	})
	unlockOthers = mp.Register("test.unlockOthers", func(_ context.Context, l *mp.Lock) (struct{}, error) {
		return struct{}{}, l.Unlock()
	})
	waitEvent = mp.Register("test.waitEvent", func(ctx context.Context, e *mp.Event) (struct{}, error) {
		ctx, cancel := context.WithTimeout(ctx, long)
		defer cancel()
		return struct{}{}, e.Wait(ctx)
	})
	takeOne = mp.Register("test.takeOne", func(ctx context.Context, s *mp.Semaphore) (int, error) {
		if !s.TryAcquire() {
			return 0, errors.New("no unit left")
		}
		return s.Value(), nil
	})
)

func TestLockAcrossProcesses(t *testing.T) {
	l, err := mp.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlink()
	v, err := mp.NewRawValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Unlink()
	p := newProcPool(t)
	jobs := make([]counterJob, 8)
	for i := range jobs {
		jobs[i] = counterJob{L: l, V: v, N: 3000}
	}
	var pids []int
	within(t, "Map under a shared lock", func() { pids, err = mp.Map(context.Background(), p, addUnderLock, jobs, mp.Chunksize(1)) })
	if err != nil {
		t.Fatal(err)
	}
	if got := *v.Ptr(); got != 8*3000 {
		t.Errorf("counter %d, want %d: the lock let increments through", got, 8*3000)
	}
	if pids[0] == os.Getpid() {
		t.Error("ran in this process")
	}
	// and in this process, between goroutines
	if err := l.Lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := l.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock of a held lock with a timeout: %v", err)
	}
	if l.TryLock() {
		t.Error("TryLock of a held lock")
	}
	// another process cannot unlock it
	if _, err := mp.Apply(context.Background(), p, unlockOthers, l); err == nil {
		t.Error("a process that does not hold the lock unlocked it")
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err == nil {
		t.Error("Unlock of an unlocked lock")
	}
}

// A lock whose owner died is not a hang: the next Lock gets it with
// ErrOwnerDead.
func TestLockOwnerDead(t *testing.T) {
	l, err := mp.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlink()
	p, err := mp.NewProcess(lockAndDie, l)
	startProcess(t, p, err)
	within(t, "Join", func() { p.Join(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	within(t, "Lock of a dead owner's lock", func() { err = l.Lock(ctx) })
	if !errors.Is(err, mp.ErrOwnerDead) {
		t.Fatalf("Lock: %v, want ErrOwnerDead", err)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("Unlock after taking over: %v", err)
	}
}

func TestEventAcrossProcesses(t *testing.T) {
	e, err := mp.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Unlink()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) || e.IsSet() {
		t.Errorf("Wait on a clear event: %v", err)
	}
	p, err := mp.NewProcess(waitEvent, e)
	startProcess(t, p, err)
	if err := p.JoinTimeout(200 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the child did not wait: %v", err)
	}
	e.Set()
	within(t, "Join after Set", func() { err = p.Join(context.Background()) })
	if err != nil || !e.IsSet() {
		t.Errorf("child: %v", err)
	}
	e.Clear()
	if e.IsSet() {
		t.Error("set after Clear")
	}
}

func TestSemaphore(t *testing.T) {
	s, err := mp.NewBoundedSemaphore(2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unlink()
	pool := newProcPool(t)
	ctx := context.Background()
	if v, err := mp.Apply(ctx, pool, takeOne, s); err != nil || v != 1 || s.Value() != 1 {
		t.Errorf("a worker took one: %d, %v, value %d", v, err, s.Value())
	}
	if err := s.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := mp.Apply(ctx, pool, takeOne, s); err == nil {
		t.Error("a worker took from an empty semaphore")
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := s.Acquire(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire of an empty semaphore: %v", err)
	}
	for i := range 2 {
		if err := s.Release(); err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
	}
	if err := s.Release(); err == nil {
		t.Error("a bounded semaphore went above its bound")
	}
	u, err := mp.NewSemaphore(0)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Unlink()
	for range 3 {
		u.Release()
	}
	if u.Value() != 3 {
		t.Errorf("unbounded value %d", u.Value())
	}
}

func BenchmarkLockUncontended(b *testing.B) {
	l, err := mp.NewLock()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Unlink()
	ctx := context.Background()
	for b.Loop() {
		l.Lock(ctx)
		l.Unlock()
	}
}

type sharedPair struct {
	V *mp.Value[int64]
	A *mp.Array[float64]
	H *mp.Value[int64] // bumped with the lock-free Add (never mixed with Update: see Add)
	N int
}

var bumpBoth = mp.Register("test.bumpBoth", func(ctx context.Context, p sharedPair) (struct{}, error) {
	for range p.N {
		if err := p.V.Update(ctx, func(x *int64) { *x++ }); err != nil {
			return struct{}{}, err
		}
		if err := p.A.Update(ctx, func(s []float64) {
			for i := range s {
				s[i] += 0.5
			}
		}); err != nil {
			return struct{}{}, err
		}
		mp.Add(p.H, 1)
	}
	return struct{}{}, nil
})

func TestValueAndArray(t *testing.T) {
	ctx := context.Background()
	v, err := mp.NewValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Unlink()
	a, err := mp.NewArray[float64](4)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlink()
	h, err := mp.NewValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Unlink()
	p := newProcPool(t)
	jobs := []sharedPair{{v, a, h, 500}, {v, a, h, 500}, {v, a, h, 500}, {v, a, h, 500}}
	if _, err := mp.Map(ctx, p, bumpBoth, jobs, mp.Chunksize(1)); err != nil {
		t.Fatal(err)
	}
	if got, _ := v.Get(ctx); got != 4*500 {
		t.Errorf("value %d, want %d", got, 4*500)
	}
	if got := *h.Ptr(); got != 4*500 {
		t.Errorf("atomic counter %d, want %d", got, 4*500)
	}
	for i, x := range a.Slice() {
		if x != 4*500*0.5 {
			t.Errorf("element %d = %v", i, x)
		}
	}
	if !mp.CompareAndSwap(v, 2000, 7) || mp.CompareAndSwap(v, 2000, 8) {
		t.Error("CompareAndSwap")
	}
	if err := v.Set(ctx, -3); err != nil {
		t.Fatal(err)
	}
	if got := mp.Add(v, 5); got != 2 {
		t.Errorf("Add = %d", got)
	}
	type count uint32
	c, err := mp.NewValue[count](0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Unlink()
	if mp.Add(c, 1<<31) != 1<<31 || mp.Add(c, 1<<31) != 0 {
		t.Error("Add on a named uint32 does not wrap as uint32")
	}
}
