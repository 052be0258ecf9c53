//go:build linux

package conformance

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// Python's bare Future (set_result, set_exception) is completed here by a
// task of a thread pool that waits for the test's word: the completion is the
// test's act, as set_result is.
type settable struct {
	f   *mp.Future[int]
	set chan result
}

type result struct {
	v   int
	err error
}

func newSettable(t *testing.T) *settable {
	t.Helper()
	ctx := testCtx(t)
	s := &settable{set: make(chan result, 1)}
	s.f = mp.Submit(ctx, newPool(t, poolKinds[0], 1), mp.Fn(func(ctx context.Context, _ int) (int, error) {
		select {
		case r := <-s.set:
			return r.v, r.err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}), 0)
	waitFor(t, "the future to run", s.f.Running)
	return s
}

// setResult is f.set_result(v): it returns once f is resolved.
func (s *settable) setResult(t *testing.T, v int) {
	s.set <- result{v: v}
	if !s.f.Wait(long) {
		t.Fatal("set_result did not resolve the future")
	}
}

func (s *settable) setException(t *testing.T, err error) {
	s.set <- result{err: err}
	if !s.f.Wait(long) {
		t.Fatal("set_exception did not resolve the future")
	}
}

// pendingFuture is a future queued behind a running one on a one-thread
// pool: Python's Future() before it runs, cancellable.
func pendingFuture(t *testing.T) *mp.Future[int] {
	t.Helper()
	ctx := testCtx(t)
	p := newPool(t, poolKinds[0], 1)
	gate := make(chan struct{})
	t.Cleanup(func() { close(gate) })
	running := mp.Submit(ctx, p, holdGate, gate)
	waitFor(t, "the blocker to run", running.Running)
	return mp.Submit(ctx, p, sqr, 7)
}

// TestFutureStates ports test_concurrent_futures.test_future's FutureTests.
func TestFutureStates(t *testing.T) {
	errTest := errors.New("test")

	// CPython: FutureTests.test_done_callback_with_result
	t.Run("test_done_callback_with_result", func(t *testing.T) {
		s := newSettable(t)
		var got atomic.Int64
		s.f.AddDoneCallback(func(f *mp.Future[int]) { v, _ := f.Get(context.Background()); got.Store(int64(v)) })
		s.setResult(t, 5)
		waitFor(t, "the callback", func() bool { return got.Load() == 5 })
	})

	// CPython: FutureTests.test_done_callback_with_exception
	t.Run("test_done_callback_with_exception", func(t *testing.T) {
		s := newSettable(t)
		var got atomic.Value
		s.f.AddDoneCallback(func(f *mp.Future[int]) { got.Store(f.Err()) })
		s.setException(t, errTest)
		waitFor(t, "the callback", func() bool { e, _ := got.Load().(error); return errors.Is(e, errTest) })
	})

	// CPython: FutureTests.test_done_callback_with_cancel
	t.Run("test_done_callback_with_cancel", func(t *testing.T) {
		f := pendingFuture(t)
		var wasCancelled atomic.Bool
		f.AddDoneCallback(func(f *mp.Future[int]) { wasCancelled.Store(f.Cancelled()) })
		if !f.Cancel() {
			t.Fatal("cancel() of a pending future returned false")
		}
		waitFor(t, "the callback", wasCancelled.Load)
	})

	// CPython: FutureTests.test_done_callback_raises
	t.Run("test_done_callback_raises", func(t *testing.T) {
		s := newSettable(t)
		var raisingCalled, fnCalled atomic.Bool
		s.f.AddDoneCallback(func(*mp.Future[int]) { raisingCalled.Store(true); panic("doh!") })
		s.f.AddDoneCallback(func(*mp.Future[int]) { fnCalled.Store(true) })
		s.setResult(t, 5)
		waitFor(t, "both callbacks", func() bool { return raisingCalled.Load() && fnCalled.Load() })
	})

	// CPython: FutureTests.test_done_callback_already_successful
	t.Run("test_done_callback_already_successful", func(t *testing.T) {
		s := newSettable(t)
		s.setResult(t, 5)
		got := -1
		s.f.AddDoneCallback(func(f *mp.Future[int]) { got, _ = f.Get(context.Background()) })
		if got != 5 {
			t.Fatalf("callback on a done future: got %d, want it called at once with 5", got)
		}
	})

	// CPython: FutureTests.test_done_callback_already_failed
	t.Run("test_done_callback_already_failed", func(t *testing.T) {
		s := newSettable(t)
		s.setException(t, errTest)
		var got error
		s.f.AddDoneCallback(func(f *mp.Future[int]) { got = f.Err() })
		if !errors.Is(got, errTest) {
			t.Fatalf("callback on a failed future: %v", got)
		}
	})

	// CPython: FutureTests.test_done_callback_already_cancelled
	t.Run("test_done_callback_already_cancelled", func(t *testing.T) {
		f := pendingFuture(t)
		if !f.Cancel() {
			t.Fatal("cancel() returned false")
		}
		wasCancelled := false
		f.AddDoneCallback(func(f *mp.Future[int]) { wasCancelled = f.Cancelled() })
		if !wasCancelled {
			t.Fatal("callback on a cancelled future not called at once with cancelled() true")
		}
	})

	// CPython: FutureTests.test_done_callback_raises_already_succeeded
	t.Run("test_done_callback_raises_already_succeeded", func(t *testing.T) {
		s := newSettable(t)
		s.setResult(t, 5)
		called := false
		s.f.AddDoneCallback(func(*mp.Future[int]) { called = true; panic("doh!") })
		if !called {
			t.Fatal("the callback was not called")
		}
	})

	// CPython: FutureTests.test_cancel
	t.Run("test_cancel", func(t *testing.T) {
		st := newFutureStates(t)
		if !st.pending.Cancel() || !st.pending.Cancelled() {
			t.Error("cancel() of a pending future")
		}
		if st.running.Cancel() || st.running.Cancelled() {
			t.Error("cancel() of a running future succeeded")
		}
		if st.exception.Cancel() || st.successful.Cancel() {
			t.Error("cancel() of a finished future succeeded")
		}
		if !st.cancelled.Cancelled() {
			t.Error("a cancelled future is not cancelled()")
		}
		if !st.cancelled.Cancel() {
			regression(t, "found by the port: Cancel of an already cancelled future returns false; Python's cancel() returns True")
			t.Error("cancel() of a cancelled future must return true")
		}
	})

	// CPython: FutureTests.test_cancelled
	t.Run("test_cancelled", func(t *testing.T) {
		st := newFutureStates(t)
		for name, c := range map[string][2]bool{
			"pending": {st.pending.Cancelled(), false}, "running": {st.running.Cancelled(), false},
			"cancelled": {st.cancelled.Cancelled(), true}, "exception": {st.exception.Cancelled(), false},
			"successful": {st.successful.Cancelled(), false},
		} {
			if c[0] != c[1] {
				t.Errorf("%s: cancelled() = %v", name, c[0])
			}
		}
	})

	// CPython: FutureTests.test_done
	t.Run("test_done", func(t *testing.T) {
		st := newFutureStates(t)
		for name, c := range map[string][2]bool{
			"pending": {st.pending.Ready(), false}, "running": {st.running.Ready(), false},
			"cancelled": {st.cancelled.Ready(), true}, "exception": {st.exception.Ready(), true},
			"successful": {st.successful.Ready(), true},
		} {
			if c[0] != c[1] {
				t.Errorf("%s: done() = %v", name, c[0])
			}
		}
	})

	// CPython: FutureTests.test_running
	t.Run("test_running", func(t *testing.T) {
		st := newFutureStates(t)
		for name, c := range map[string][2]bool{
			"pending": {st.pending.Running(), false}, "running": {st.running.Running(), true},
			"cancelled": {st.cancelled.Running(), false}, "exception": {st.exception.Running(), false},
			"successful": {st.successful.Running(), false},
		} {
			if c[0] != c[1] {
				t.Errorf("%s: running() = %v", name, c[0])
			}
		}
	})

	// CPython: FutureTests.test_result_with_timeout
	t.Run("test_result_with_timeout", func(t *testing.T) {
		st := newFutureStates(t)
		zero, cancel := context.WithTimeout(context.Background(), 0)
		defer cancel()
		for name, f := range map[string]*mp.Future[int]{"pending": st.pending, "running": st.running} {
			if _, err := f.Get(zero); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: result(timeout=0) = %v, want a timeout", name, err)
			}
		}
		if _, err := st.cancelled.Get(zero); !errors.Is(err, mp.ErrCancelled) {
			t.Errorf("cancelled: result(timeout=0) = %v, want CancelledError", err)
		}
		if _, err := st.exception.Get(zero); !raised[keyError](err) {
			t.Errorf("exception: result(timeout=0) = %v", err)
		}
		if v, err := st.successful.Get(zero); err != nil || v != 42 {
			t.Errorf("successful: result(timeout=0) = %v, %v", v, err)
		}
	})

	// CPython: FutureTests.test_result_with_success
	t.Run("test_result_with_success", func(t *testing.T) {
		s := newSettable(t)
		go func() { time.Sleep(50 * time.Millisecond); s.set <- result{v: 42} }() // likely after Get blocks (CPython's 0.05 s); the test holds either way
		ctx, cancel := context.WithTimeout(context.Background(), long)
		defer cancel()
		if v, err := s.f.Get(ctx); err != nil || v != 42 {
			t.Fatalf("result() = %v, %v", v, err)
		}
	})

	// CPython: FutureTests.test_result_with_cancel
	t.Run("test_result_with_cancel", func(t *testing.T) {
		f := pendingFuture(t)
		go func() { time.Sleep(50 * time.Millisecond); f.Cancel() }() // likewise
		ctx, cancel := context.WithTimeout(context.Background(), long)
		defer cancel()
		if _, err := f.Get(ctx); !errors.Is(err, mp.ErrCancelled) {
			t.Fatalf("result() of a future cancelled meanwhile: %v", err)
		}
	})

	// CPython: FutureTests.test_exception_with_timeout
	t.Run("test_exception_with_timeout", func(t *testing.T) {
		// exception(timeout) is Wait(timeout) then Err: Wait reports the
		// timeout.
		st := newFutureStates(t)
		if st.pending.Wait(time.Millisecond) || st.running.Wait(time.Millisecond) {
			t.Error("exception(timeout=0.001) of an unfinished future did not time out")
		}
		// Python's timeout=0 polls; mp's Wait(0) waits without limit.
		polled := make(chan bool, 1)
		go func() { polled <- st.pending.Wait(0) }()
		select {
		case ok := <-polled:
			if ok {
				t.Error("exception(timeout=0) of a pending future did not time out")
			}
		case <-time.After(2 * time.Second):
			st.release()
			regression(t, "found by the port: Future.Wait(0) waits without limit; Python's wait(timeout=0)/exception(timeout=0) polls")
			t.Error("Wait(0) of a pending future did not return")
		}
		if !st.cancelled.Wait(0) || !errors.Is(st.cancelled.Err(), mp.ErrCancelled) {
			t.Errorf("cancelled: exception() = %v", st.cancelled.Err())
		}
		if !st.exception.Wait(0) || !raised[keyError](st.exception.Err()) {
			t.Errorf("exception() = %v", st.exception.Err())
		}
		if !st.successful.Wait(0) || st.successful.Err() != nil {
			t.Errorf("successful: exception() = %v", st.successful.Err())
		}
	})

	// CPython: FutureTests.test_exception_with_success
	t.Run("test_exception_with_success", func(t *testing.T) {
		s := newSettable(t)
		go func() { time.Sleep(50 * time.Millisecond); s.set <- result{err: errTest} }() // likewise
		if !s.f.Wait(long) || !errors.Is(s.f.Err(), errTest) {
			t.Fatalf("exception() = %v", s.f.Err())
		}
	})
}
