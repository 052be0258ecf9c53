//go:build linux

package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// barrierN is _TestBarrier.N.
const barrierN = 5

// runThreads is _TestBarrier.run_threads: f runs in n-1 goroutines and in
// the test's own, and runThreads returns once all have finished.
func runThreads(t *testing.T, f func(ctx context.Context)) {
	t.Helper()
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for range barrierN - 1 {
		wg.Go(func() { f(ctx) })
	}
	f(ctx)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(long):
		t.Fatal("the barrier's parties did not finish")
	}
}

func newBarrier(t *testing.T, parties int, action mp.Func[struct{}, struct{}]) *mp.Barrier {
	t.Helper()
	b, err := mp.NewBarrier(parties, action)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Abort(); b.Unlink() })
	return b
}

// actionCount is what test_action's AppendTrue appends to: a Value in
// shared memory, so that the action runs in any process.
var actionCount *mp.Value[int64]

var appendTrue = mp.Register("conf.appendTrue", func(ctx context.Context, _ struct{}) (struct{}, error) {
	return struct{}{}, actionCount.Update(ctx, func(n *int64) { *n++ })
})

// TestBarrier ports _TestBarrier.
func TestBarrier(t *testing.T) {
	multipass := func(t *testing.T, passes int) {
		b := newBarrier(t, barrierN, mp.Func[struct{}, struct{}]{})
		var r0, r1 counter
		var failed sync.Once
		fail := func(format string, args ...any) { failed.Do(func() { t.Errorf(format, args...) }) }
		runThreads(t, func(ctx context.Context) {
			if b.Parties() != barrierN {
				fail("parties = %d", b.Parties())
			}
			for i := range passes {
				r0.append()
				if n := r1.len(); n != int64(i*barrierN) {
					fail("pass %d: results[1] has %d", i, n)
				}
				if _, err := b.Wait(ctx); err != nil {
					fail("wait: %v", err)
					return
				}
				r1.append()
				if n := r0.len(); n != int64((i+1)*barrierN) {
					fail("pass %d: results[0] has %d", i, n)
				}
				if _, err := b.Wait(ctx); err != nil {
					fail("wait: %v", err)
					return
				}
			}
			if b.Broken() {
				fail("the barrier is broken")
			}
		})
		if n := b.NWaiting(); n != 0 {
			t.Fatalf("n_waiting = %d at the end", n)
		}
	}

	// CPython: _TestBarrier.test_barrier
	t.Run("test_barrier", func(t *testing.T) { multipass(t, 1) })

	// CPython: _TestBarrier.test_barrier_10
	t.Run("test_barrier_10", func(t *testing.T) { multipass(t, 10) })

	// CPython: _TestBarrier.test_wait_return
	t.Run("test_wait_return", func(t *testing.T) {
		b := newBarrier(t, barrierN, mp.Func[struct{}, struct{}]{})
		var mu sync.Mutex
		var results []int
		runThreads(t, func(ctx context.Context) {
			i, err := b.Wait(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			results = append(results, i)
			mu.Unlock()
		})
		zeros := 0
		for _, i := range results {
			if i == 0 {
				zeros++
			}
		}
		if len(results) != barrierN || zeros != 1 {
			t.Fatalf("wait() returned %v; want one 0", results)
		}
	})

	// CPython: _TestBarrier.test_action
	t.Run("test_action", func(t *testing.T) {
		actionCount = newValue[int64](t, 0)
		b := newBarrier(t, barrierN, appendTrue)
		runThreads(t, func(ctx context.Context) {
			if _, err := b.Wait(ctx); err != nil {
				t.Error(err)
			}
			if n := *actionCount.Ptr(); n != 1 {
				t.Errorf("the action ran %d times when wait returned", n)
			}
		})
	})

	// CPython: _TestBarrier.test_abort
	t.Run("test_abort", func(t *testing.T) {
		b := newBarrier(t, barrierN, mp.Func[struct{}, struct{}]{})
		var r1, r2 counter
		runThreads(t, func(ctx context.Context) {
			i, err := b.Wait(ctx)
			if err == nil && i == barrierN/2 {
				b.Abort() // raise RuntimeError ... barrier.abort()
				return
			}
			if err == nil {
				_, err = b.Wait(ctx)
			}
			if errors.Is(err, mp.ErrBrokenBarrier) {
				r2.append()
			} else if err == nil {
				r1.append()
			}
		})
		if r1.len() != 0 || r2.len() != barrierN-1 || !b.Broken() {
			t.Fatalf("results1 %d, results2 %d, broken %v", r1.len(), r2.len(), b.Broken())
		}
	})

	// CPython: _TestBarrier.test_reset
	t.Run("test_reset", func(t *testing.T) {
		b := newBarrier(t, barrierN, mp.Func[struct{}, struct{}]{})
		var r1, r2, r3 counter
		runThreads(t, func(ctx context.Context) {
			i, err := b.Wait(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			if i == barrierN/2 {
				deadline := time.Now().Add(long)
				for b.NWaiting() < barrierN-1 {
					if time.Now().After(deadline) {
						t.Errorf("%d parties at the second wait after %v, want %d", b.NWaiting(), long, barrierN-1)
						break
					}
					time.Sleep(time.Millisecond)
				}
				b.Reset()
			} else {
				if _, err := b.Wait(ctx); errors.Is(err, mp.ErrBrokenBarrier) {
					r2.append()
				} else if err == nil {
					r1.append()
				}
			}
			if _, err := b.Wait(ctx); err == nil {
				r3.append()
			}
		})
		if r1.len() != 0 || r2.len() != barrierN-1 || r3.len() != barrierN {
			t.Fatalf("results1 %d, results2 %d, results3 %d", r1.len(), r2.len(), r3.len())
		}
	})

	// CPython: _TestBarrier.test_abort_and_reset
	t.Run("test_abort_and_reset", func(t *testing.T) {
		b := newBarrier(t, barrierN, mp.Func[struct{}, struct{}]{})
		b2 := newBarrier(t, barrierN, mp.Func[struct{}, struct{}]{})
		var r1, r2, r3 counter
		runThreads(t, func(ctx context.Context) {
			i, err := b.Wait(ctx)
			switch {
			case err == nil && i == barrierN/2:
				b.Abort()
			case err == nil:
				if _, err := b.Wait(ctx); errors.Is(err, mp.ErrBrokenBarrier) {
					r2.append()
				} else if err == nil {
					r1.append()
				}
			case errors.Is(err, mp.ErrBrokenBarrier):
				r2.append()
			}
			if i, _ := b2.Wait(ctx); i == barrierN/2 {
				b.Reset()
			}
			b2.Wait(ctx)
			if _, err := b.Wait(ctx); err == nil {
				r3.append()
			}
		})
		if r1.len() != 0 || r2.len() != barrierN-1 || r3.len() != barrierN {
			t.Fatalf("results1 %d, results2 %d, results3 %d", r1.len(), r2.len(), r3.len())
		}
	})

	// timeoutTest is _test_timeout_f and _test_default_timeout_f: the
	// middle party comes late to the second wait, whose timeout of 0.5 s
	// breaks the barrier for all.
	timeoutTest := func(t *testing.T) {
		b := newBarrier(t, barrierN, mp.Func[struct{}, struct{}]{})
		var results counter
		runThreads(t, func(ctx context.Context) {
			i, err := b.Wait(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			if i == barrierN/2 {
				// Late to the second wait: until the others' timeout has
				// broken the barrier. (CPython sleeps 1 s against a 0.5 s
				// timeout, an order a loaded machine can turn around.)
				deadline := time.Now().Add(long)
				for !b.Broken() {
					if time.Now().After(deadline) {
						t.Errorf("the waits that timed out did not break the barrier within %v", long)
						break
					}
					time.Sleep(time.Millisecond)
				}
			}
			short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			if _, err := b.Wait(short); errors.Is(err, mp.ErrBrokenBarrier) || errors.Is(err, context.DeadlineExceeded) {
				results.append()
			}
		})
		if results.len() != barrierN {
			t.Fatalf("%d parties saw the barrier broken, want %d", results.len(), barrierN)
		}
	}

	// CPython: _TestBarrier.test_timeout
	t.Run("test_timeout", timeoutTest)

	// CPython: _TestBarrier.test_default_timeout
	// (A barrier's default timeout is a context with a deadline given to
	// each Wait: docs/python-differences.md.)
	t.Run("test_default_timeout", timeoutTest)

	// CPython: _TestBarrier.test_single_thread
	t.Run("test_single_thread", func(t *testing.T) {
		ctx := testCtx(t)
		b := newBarrier(t, 1, mp.Func[struct{}, struct{}]{})
		for range 2 {
			if _, err := b.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})

	// CPython: _TestBarrier.test_thousand
	t.Run("test_thousand", func(t *testing.T) {
		ctx := testCtx(t)
		const passes = 1000
		b := newBarrier(t, barrierN, mp.Func[struct{}, struct{}]{})
		lock := newLock(t)
		conn, child := newPipe[int](t, false)
		for range barrierN {
			startProcess(t, thousandF, thousandArgs{B: b, Passes: passes, Conn: child, Lock: lock})
		}
		for i := range passes {
			for range barrierN {
				if v, err := conn.Recv(ctx); err != nil || v != i {
					t.Fatalf("recv() = %v, %v; want %d", v, err, i)
				}
			}
		}
	})
}

type thousandArgs struct {
	B      *mp.Barrier
	Passes int
	Conn   *mp.Conn[int]
	Lock   *mp.Lock
}

// thousandF is _TestBarrier._test_thousand_f.
var thousandF = mp.Register("conf.thousandF", func(ctx context.Context, a thousandArgs) (struct{}, error) {
	for i := range a.Passes {
		if _, err := a.B.Wait(ctx); err != nil {
			return struct{}{}, err
		}
		if err := a.Lock.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		err := a.Conn.Send(ctx, i)
		a.Lock.Unlock()
		if err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
})
