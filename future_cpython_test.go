package mp_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// resolvedFutures are the futures of concurrent.futures' tests: one
// succeeded, one failed, one cancelled.
func resolvedFutures(t *testing.T) (ok, failed, cancelled *mp.Future[int]) {
	t.Helper()
	ok, failed, cancelled = mp.NewFuture[int](), mp.NewFuture[int](), mp.NewFuture[int]()
	if err := ok.SetResult(42); err != nil {
		t.Fatal(err)
	}
	if err := failed.SetException(errBoom); err != nil {
		t.Fatal(err)
	}
	if !cancelled.Cancel() {
		t.Fatal("Cancel of a pending NewFuture returned false")
	}
	return ok, failed, cancelled
}

// CPython: test_concurrent_futures AsCompletedTests.test_zero_timeout
//
// An ended ctx still gives every future already resolved, then the ctx's
// error.
func TestAsCompletedWithEndedContextGivesTheResolved(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for run := range 200 {
		ok, failed, cancelled := resolvedFutures(t)
		pending := mp.NewFuture[int]()
		var got []*mp.Future[int]
		var errs []error
		for f, err := range mp.AsCompleted(ended, []*mp.Future[int]{ok, pending, failed, cancelled}) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got = append(got, f)
		}
		if len(got) != 3 || !slices.Contains(got, ok) || !slices.Contains(got, failed) || !slices.Contains(got, cancelled) {
			t.Fatalf("run %d: AsCompleted with an ended ctx yielded %d of the 3 resolved futures", run, len(got))
		}
		if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
			t.Fatalf("run %d: errors %v, want the ctx's", run, errs)
		}
	}
}

// CPython: test_concurrent_futures WaitTests.test_first_exception_some_already_complete
//
// A cancelled future is not an exception: FirstException waits on for a
// failure.
func TestWaitFirstExceptionIgnoresCancelled(t *testing.T) {
	ctx := context.Background()
	ok, _, cancelled := resolvedFutures(t)
	failing, pending := mp.NewFuture[int](), mp.NewFuture[int]()
	go func() {
		time.Sleep(20 * time.Millisecond) // likely while Wait waits; the test holds either way
		failing.SetException(errBoom)
	}()
	var done, notDone []*mp.Future[int]
	var err error
	within(t, "Wait", func() {
		done, notDone, err = mp.Wait(ctx, []*mp.Future[int]{ok, cancelled, failing, pending}, mp.FirstException)
	})
	if err != nil || len(done) != 3 || !slices.Contains(done, failing) || len(notDone) != 1 || notDone[0] != pending {
		t.Errorf("Wait(FirstException) = %d done (the failure among them: %v), %d pending, %v; want ok, cancelled and the failure done, one pending",
			len(done), slices.Contains(done, failing), len(notDone), err)
	}
	// Only cancelled and successful futures: it waits for all of them.
	tctx, stop := context.WithTimeout(ctx, 20*time.Millisecond)
	defer stop()
	_, notDone, err = mp.Wait(tctx, []*mp.Future[int]{cancelled, ok, pending}, mp.FirstException)
	if !errors.Is(err, context.DeadlineExceeded) || len(notDone) != 1 {
		t.Errorf("Wait(FirstException) over a cancelled future returned early: %d pending, %v", len(notDone), err)
	}
}

// CPython: test_concurrent_futures FutureTests.test_result_with_success,
// test_result_with_timeout, test_exception_with_success,
// test_exception_with_timeout, test_result_with_cancel,
// test_multiple_set_result, test_multiple_set_exception,
// test_done_callback_with_result, test_done_callback_with_exception,
// test_done_callback_with_cancel, test_done_callback_already_successful,
// test_cancel, test_done, test_running, test_set_running_or_notify_cancel
func TestNewFuture(t *testing.T) {
	ctx := context.Background()
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}
	tests := []struct {
		name    string
		resolve func(f *mp.Future[int]) // nil: left pending
		val     int
		err     error // what Get and Exception return once resolved
		cancel  bool  // Cancelled after resolve
	}{
		{"result", func(f *mp.Future[int]) { f.SetResult(7) }, 7, nil, false},
		{"exception", func(f *mp.Future[int]) { f.SetException(errBoom) }, 0, errBoom, false},
		{"cancel", func(f *mp.Future[int]) { f.Cancel() }, 0, mp.ErrCancelled, true},
		{"pending", nil, 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mp.NewFuture[int]()
			if f.Ready() || f.Running() || f.Cancelled() {
				t.Fatal("a new Future is not pending")
			}
			var seen []*mp.Future[int]
			f.AddDoneCallback(func(g *mp.Future[int]) { seen = append(seen, g) })
			if tt.resolve == nil {
				if _, err := f.Get(short()); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Get of a pending Future: %v", err)
				}
				if err := f.Exception(short()); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Exception of a pending Future: %v", err)
				}
				if len(seen) != 0 {
					t.Error("callback ran before the Future was resolved")
				}
				return
			}
			tt.resolve(f)
			if !f.Ready() || f.Cancelled() != tt.cancel || f.Running() {
				t.Errorf("resolved: Ready %v Cancelled %v Running %v", f.Ready(), f.Cancelled(), f.Running())
			}
			if len(seen) != 1 || seen[0] != f {
				t.Errorf("the done-callback ran %d times", len(seen))
			}
			if v, err := f.Get(ctx); v != tt.val || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("Get = %v, %v; want %v, %v", v, err, tt.val, tt.err)
			}
			if err := f.Exception(ctx); !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("Exception = %v, want %v", err, tt.err)
			}
			// resolved once: later attempts are refused and change nothing
			if err := f.SetResult(99); !errors.Is(err, mp.ErrInvalidState) {
				t.Errorf("a second SetResult: %v, want ErrInvalidState", err)
			}
			if err := f.SetException(errors.New("late")); !errors.Is(err, mp.ErrInvalidState) {
				t.Errorf("a second SetException: %v, want ErrInvalidState", err)
			}
			if f.Cancel() != tt.cancel {
				t.Errorf("Cancel of a resolved Future returned %v; want true only for a cancelled one", !tt.cancel)
			}
			if v, err := f.Get(ctx); v != tt.val || !errors.Is(err, tt.err) {
				t.Errorf("Get after the refused changes = %v, %v", v, err)
			}
			f.AddDoneCallback(func(g *mp.Future[int]) { seen = append(seen, g) })
			if len(seen) != 2 {
				t.Error("a callback added after resolution did not run at once")
			}
		})
	}

	// set_running_or_notify_cancel: once running it cannot be cancelled.
	f := mp.NewFuture[int]()
	if ok, err := f.SetRunning(); !ok || err != nil || !f.Running() {
		t.Fatalf("SetRunning = %v, %v", ok, err)
	}
	if f.Cancel() {
		t.Error("Cancel of a running Future returned true")
	}
	if _, err := f.SetRunning(); !errors.Is(err, mp.ErrInvalidState) {
		t.Errorf("SetRunning twice: %v", err)
	}
	g := mp.NewFuture[int]()
	g.Cancel()
	if ok, err := g.SetRunning(); ok || err != nil {
		t.Errorf("SetRunning of a cancelled Future = %v, %v; want false, nil", ok, err)
	}
	if err := mp.NewFuture[int]().SetException(nil); !errors.Is(err, mp.ErrInvalidOption) {
		t.Errorf("SetException(nil): %v", err)
	}

	// A pool's Future cannot be resolved by hand.
	p := newPool(t, mp.Threads(1))
	pf := mp.Submit(ctx, p, square, 3)
	if err := pf.SetResult(1); !errors.Is(err, mp.ErrInvalidState) {
		t.Errorf("SetResult on a pool's Future: %v", err)
	}
	if v, err := pf.Get(ctx); v != 9 || err != nil {
		t.Errorf("pool Future = %v, %v", v, err)
	}

	// Futures made by hand mix with a pool's in Wait and AsCompleted.
	hand := mp.NewFuture[int]()
	go hand.SetResult(5)
	done, _, err := mp.Wait(ctx, []*mp.Future[int]{hand, mp.Submit(ctx, p, square, 2)}, mp.AllCompleted)
	if err != nil || len(done) != 2 {
		t.Errorf("Wait over a hand-made and a pool Future: %d done, %v", len(done), err)
	}
	p.Close()
}

// CPython: test_concurrent_futures FutureTests.test_cancel,
// test_exception_with_timeout (timeout=0 polls), _TestPool.test_async_timeout
// (AsyncResult.wait(0))
//
// Cancel reports whether the future is cancelled: true again for one
// cancelled before, false for one that ran or runs; Wait(0) polls.
func TestCancelAndWaitZero(t *testing.T) {
	ctx := context.Background()
	ok, failed, cancelled := resolvedFutures(t)
	running, pending := mp.NewFuture[int](), mp.NewFuture[int]()
	running.SetRunning()
	tests := []struct {
		name   string
		f      *mp.Future[int]
		cancel bool // what Cancel returns
		ready  bool // what Wait(0) returns
	}{
		{"pending", pending, true, true},
		{"running", running, false, false},
		{"cancelled", cancelled, true, true},
		{"failed", failed, false, true},
		{"successful", ok, false, true},
	}
	for _, tt := range tests {
		if got := tt.f.Cancel(); got != tt.cancel {
			t.Errorf("%s: Cancel() = %v, want %v", tt.name, got, tt.cancel)
		}
		var got bool
		within(t, "Wait(0)", func() { got = tt.f.Wait(0) })
		if got != tt.ready {
			t.Errorf("%s: Wait(0) = %v, want %v", tt.name, got, tt.ready)
		}
	}
	if running.Wait(-time.Second) || running.Wait(time.Millisecond) {
		t.Error("Wait of a running future reported it resolved")
	}
	// A cancelled MapAsync is Cancelled, and a second Cancel says so.
	p := newPool(t, mp.Threads(2))
	m := mp.MapAsync(ctx, p, blocker(nil), ints(4))
	if !m.Cancel() || !m.Cancelled() || !m.Cancel() {
		t.Errorf("MapAsync after Cancel: Cancelled %v", m.Cancelled())
	}
	within(t, "Join", p.Join)
}
