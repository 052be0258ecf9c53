//go:build linux

// The tests in this file use mp.NewFuture (issue 12 §3, "a bare Future
// that code can complete").

package conformance

import (
	"context"
	"errors"
	"testing"

	"github.com/mp-go/mp"
)

// TestBareFuture ports the FutureTests and AsCompletedTests that need a
// Future completed by hand.
func TestBareFuture(t *testing.T) {
	// CPython: FutureTests.test_multiple_set_result
	t.Run("test_multiple_set_result", func(t *testing.T) {
		f := mp.NewFuture[int]()
		if err := f.SetResult(1); err != nil {
			t.Fatal(err)
		}
		if err := f.SetResult(2); !errors.Is(err, mp.ErrInvalidState) {
			t.Fatalf("a second set_result: %v, want InvalidStateError", err)
		}
		if v, err := f.Get(testCtx(t)); !f.Ready() || err != nil || v != 1 {
			t.Fatalf("result() = %v, %v", v, err)
		}
	})

	// CPython: FutureTests.test_multiple_set_exception
	t.Run("test_multiple_set_exception", func(t *testing.T) {
		f := mp.NewFuture[int]()
		e := valueError{""}
		if err := f.SetException(e); err != nil {
			t.Fatal(err)
		}
		if err := f.SetException(errors.New("other")); !errors.Is(err, mp.ErrInvalidState) {
			t.Fatalf("a second set_exception: %v, want InvalidStateError", err)
		}
		if err := f.Exception(testCtx(t)); err != e {
			t.Fatalf("exception() = %v, want the first", err)
		}
	})

	// CPython: FutureTests.test_exception_with_timeout
	t.Run("test_exception_with_timeout_blocking", func(t *testing.T) {
		zero, cancel := context.WithTimeout(context.Background(), 0)
		defer cancel()
		pending := mp.NewFuture[int]()
		if err := pending.Exception(zero); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("exception(timeout=0) of a pending future: %v", err)
		}
		cancelled := mp.NewFuture[int]()
		cancelled.Cancel()
		if err := cancelled.Exception(zero); !errors.Is(err, mp.ErrCancelled) {
			t.Fatalf("exception() of a cancelled future: %v", err)
		}
		failed := mp.NewFuture[int]()
		failed.SetException(keyError{"key"})
		if err := failed.Exception(zero); !raised[keyError](err) {
			t.Fatalf("exception() = %v", err)
		}
		ok := mp.NewFuture[int]()
		ok.SetResult(42)
		if err := ok.Exception(zero); err != nil {
			t.Fatalf("exception() of a successful future = %v", err)
		}
	})

	// CPython: FutureTests.test_done_callback_with_result
	t.Run("test_done_callback_with_result_bare", func(t *testing.T) {
		f := mp.NewFuture[int]()
		got := 0
		f.AddDoneCallback(func(f *mp.Future[int]) { got, _ = f.Get(context.Background()) })
		f.SetResult(5)
		if got != 5 {
			t.Fatalf("the callback saw %d when set_result returned", got)
		}
	})

	// CPython: AsCompletedTests.test_free_reference_yielded_future
	t.Run("test_free_reference_yielded_future", func(t *testing.T) {
		// (CPython checks the yielded futures are not kept alive; here:
		// as_completed with timeout 0 yields the finished ones, then, as
		// each is set, the rest.)
		ctx := testCtx(t)
		var fs []*mp.Future[string]
		for range 8 {
			fs = append(fs, mp.NewFuture[string]())
		}
		c := mp.NewFuture[string]()
		c.Cancel()
		r := mp.NewFuture[string]()
		r.SetResult("42")
		fs = append(fs, c, r)
		zero, cancel := context.WithTimeout(ctx, 0)
		n := 0
		var err error
		for f, e := range mp.AsCompleted(zero, fs) {
			if e != nil {
				err = e
				break
			}
			if f != c && f != r {
				t.Fatal("as_completed(timeout=0) yielded a pending future")
			}
			n++
		}
		cancel()
		if n != 2 || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("as_completed(timeout=0): %d yielded, then %v", n, err)
		}
		rest := fs[:8]
		rest[0].SetResult("test")
		n = 0
		for f, err := range mp.AsCompleted(ctx, rest) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			for _, g := range rest {
				if g != f && !g.Ready() {
					g.SetResult("test")
					break
				}
			}
		}
		if n != 8 {
			t.Fatalf("as_completed yielded %d of 8", n)
		}
	})
}
