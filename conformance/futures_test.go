//go:build linux

package conformance

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// futureStates holds futures in each of the states of
// test_concurrent_futures.util: PENDING_FUTURE, RUNNING_FUTURE,
// CANCELLED_FUTURE (one state here: Python's CANCELLED and
// CANCELLED_AND_NOTIFIED are both a cancelled, done future), EXCEPTION_FUTURE
// and SUCCESSFUL_FUTURE (result 42).
type futureStates struct {
	pending, running, cancelled, exception, successful *mp.Future[int]
	// release lets the running and pending futures finish.
	release func()
}

var holdGate = mp.Fn(func(ctx context.Context, gate chan struct{}) (int, error) {
	select {
	case <-gate:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
})

func newFutureStates(t *testing.T) *futureStates {
	t.Helper()
	ctx := testCtx(t)
	p, err := mp.NewPool(mp.Threads(1))
	if err != nil {
		t.Fatal(err)
	}
	fs := &futureStates{}
	fs.successful = mp.Submit(ctx, p, sqr, 0)
	fs.exception = mp.Submit(ctx, p, raising, 0)
	gate := make(chan struct{})
	hold := mp.Fn(func(ctx context.Context, x int) (int, error) {
		select {
		case <-gate:
			return x, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	fs.running = mp.Submit(ctx, p, hold, 1)
	fs.pending = mp.Submit(ctx, p, sqr, 2)
	fs.cancelled = mp.Submit(ctx, p, sqr, 3)
	if !fs.cancelled.Cancel() {
		t.Fatal("cannot cancel a queued future")
	}
	fs.successful = mp.Submit(ctx, newPool(t, poolKinds[0], 1), mp.Fn(func(context.Context, int) (int, error) { return 42, nil }), 0)
	if !fs.successful.Wait(long) || !fs.exception.Wait(long) {
		t.Fatal("the finished futures did not finish")
	}
	waitFor(t, "the running future to run", fs.running.Running)
	var once atomic.Bool
	fs.release = func() {
		if once.CompareAndSwap(false, true) {
			close(gate)
		}
	}
	t.Cleanup(func() { fs.release(); p.Close() })
	return fs
}

// set makes a comparable set of futures, for assertions like CPython's
// assertEqual(set([...]), done).
func set(fs ...*mp.Future[int]) map[*mp.Future[int]]bool {
	m := map[*mp.Future[int]]bool{}
	for _, f := range fs {
		m[f] = true
	}
	return m
}

func sameSet(a, b []*mp.Future[int]) bool {
	sa, sb := set(a...), set(b...)
	if len(sa) != len(sb) {
		return false
	}
	for f := range sa {
		if !sb[f] {
			return false
		}
	}
	return true
}

// TestExecutor ports test_concurrent_futures' ExecutorTest on a thread pool
// and on a process pool.
func TestExecutor(t *testing.T) {
	eachKind(t, func(t *testing.T, k poolKind) {
		p := newPool(t, k, 2)

		// CPython: ExecutorTest.test_submit
		t.Run("test_submit", func(t *testing.T) {
			ctx := testCtx(t)
			if got, err := mp.Submit(ctx, p, powFn, mp.Args2[int, int]{A1: 2, A2: 8}).Get(ctx); err != nil || got != 256 {
				t.Fatalf("submit(pow, 2, 8) = %v, %v", got, err)
			}
		})

		// CPython: ExecutorTest.test_map
		t.Run("test_map", func(t *testing.T) {
			ctx := testCtx(t)
			args := make([]mp.Args2[int, int], 10)
			want := make([]int, 10)
			for i := range args {
				args[i] = mp.Args2[int, int]{A1: i, A2: i}
				want[i] = ipow(i, i)
			}
			for _, opts := range [][]mp.Option{nil, {mp.Chunksize(3)}} {
				if got, err := mp.Starmap(ctx, p, powFn, args, opts...); err != nil || !slices.Equal(got, want) {
					t.Fatalf("map(pow, range(10), range(10)) = %v, %v", got, err)
				}
			}
		})

		// CPython: ExecutorTest.test_map_exception
		t.Run("test_map_exception", func(t *testing.T) {
			ctx := testCtx(t)
			args := []mp.Args2[int, int]{{A1: 1, A2: 2}, {A1: 1, A2: 3}, {A1: 1, A2: 0}, {A1: 1, A2: 5}}
			var got [][2]int
			var err error
			for v, e := range mp.Imap(ctx, p, divmod, slices.Values(args)) {
				if e != nil {
					err = e
					break
				}
				got = append(got, v)
			}
			if !slices.Equal(got, [][2]int{{0, 1}, {0, 1}}) || !raised[zeroDivisionError](err) {
				regression(t, "issue 12 §2.3: ordered results before an error are lost")
				t.Fatalf("map(divmod) = %v then %v; want (0, 1), (0, 1), ZeroDivisionError", got, err)
			}
		})

		// CPython: ExecutorTest.test_map_timeout
		t.Run("test_map_timeout", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(testCtx(t), 2*time.Second)
			defer cancel()
			var results []struct{}
			var err error
			for v, e := range mp.Imap(ctx, p, sleepMs, slices.Values([]int{0, 0, 600_000}), mp.Chunksize(1)) {
				if e != nil {
					err = e
					break
				}
				results = append(results, v)
			}
			if !errors.Is(err, context.DeadlineExceeded) || len(results) != 2 {
				t.Fatalf("map with a timeout: %d results then %v; want 2 then a timeout", len(results), err)
			}
		})

		// CPython: ExecutorTest.test_shutdown_race_issue12456
		t.Run("test_shutdown_race_issue12456", func(t *testing.T) {
			ctx := testCtx(t)
			p2 := newPool(t, k, 2)
			f := mp.MapAsync(ctx, p2, sqr, ints(p2.Workers()+1))
			closed := make(chan struct{})
			go func() { p2.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(long):
				t.Fatal("shutdown() hung with a map pending")
			}
			if got, err := f.Get(ctx); err != nil || !slices.Equal(got, squares(3)) {
				regression(t, "issue 12 §2.1: work accepted before Close must run")
				t.Fatalf("map_async before shutdown = %v, %v", got, err)
			}
		})

		// CPython: ExecutorTest.test_no_stale_references
		t.Run("test_no_stale_references", func(t *testing.T) {
			ctx := testCtx(t)
			collected := submitAndForget(ctx, p)
			waitFor(t, "the submitted object to be collected", func() bool { gcNow(); return collected.Load() })
		})

		// CPython: ExecutorTest.test_max_workers_negative
		t.Run("test_max_workers_negative", func(t *testing.T) {
			for _, n := range []int{0, -1} {
				if p, err := mp.NewPool(k.opt(n)); err == nil {
					p.Terminate()
					t.Fatalf("max_workers=%d accepted", n)
				} else if !errors.Is(err, mp.ErrInvalidOption) {
					t.Fatalf("max_workers=%d: %v", n, err)
				}
			}
		})

		// CPython: ExecutorTest.test_free_reference
		t.Run("test_free_reference", func(t *testing.T) {
			ctx := testCtx(t)
			var released atomic.Int32
			n := 0
			for obj, err := range mp.Imap(ctx, p, makeDummy, seq(10)) {
				if err != nil {
					t.Fatal(err)
				}
				trackRelease(obj, &released)
				n++
			}
			waitFor(t, "the results to be released", func() bool { gcNow(); return released.Load() == int32(n) })
		})
	})
}

// dummyObject is 16 bytes or more, like the other objects whose release
// the tests watch: Go's allocator packs smaller pointer-free objects
// together (the tiny allocator, off under -race), and a cleanup whose
// argument shares the block with its object never runs.
type dummyObject struct {
	N int
	_ [2]int
}

var makeDummy = mp.Register("conf.makeDummy", func(_ context.Context, i int) (*dummyObject, error) {
	return &dummyObject{N: i}, nil
})

// TestWaitFutures ports test_concurrent_futures.test_wait's WaitTests.
func TestWaitFutures(t *testing.T) {
	eachKind(t, func(t *testing.T, k poolKind) {
		p := newPool(t, k, 3)
		newEvent := func(t *testing.T) *mp.Event {
			e, err := mp.NewEvent()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Set(); e.Unlink() })
			return e
		}

		// CPython: WaitTests.test_20369
		t.Run("test_20369", func(t *testing.T) {
			ctx := testCtx(t)
			f := mp.Submit(ctx, p, mul, mp.Args2[int, int]{A1: 1, A2: 2})
			done, notDone, err := mp.Wait(ctx, []*mp.Future[int]{f, f}, mp.AllCompleted)
			if err != nil || !sameSet(done, []*mp.Future[int]{f}) || len(notDone) != 0 {
				t.Fatalf("wait([f, f]) = %v, %v, %v", done, notDone, err)
			}
		})

		// CPython: WaitTests.test_first_completed
		t.Run("test_first_completed", func(t *testing.T) {
			ctx := testCtx(t)
			event := newEvent(t)
			f1 := mp.Submit(ctx, p, mul, mp.Args2[int, int]{A1: 21, A2: 2})
			f2 := mp.Submit(ctx, p, waitEvent, event)
			done, notDone, err := mp.Wait(ctx, []*mp.Future[int]{f1, f2}, mp.FirstCompleted)
			if err != nil || !sameSet(done, []*mp.Future[int]{f1}) || !sameSet(notDone, []*mp.Future[int]{f2}) {
				t.Fatalf("wait(FIRST_COMPLETED) = %v, %v, %v", done, notDone, err)
			}
			event.Set()
			f2.Get(ctx)
		})

		// CPython: WaitTests.test_first_completed_some_already_completed
		t.Run("test_first_completed_some_already_completed", func(t *testing.T) {
			ctx := testCtx(t)
			st := newFutureStates(t)
			event := newEvent(t)
			f1 := mp.Submit(ctx, p, waitEvent, event)
			done, pending, err := mp.Wait(ctx, []*mp.Future[int]{st.cancelled, st.successful, f1}, mp.FirstCompleted)
			if err != nil || !sameSet(done, []*mp.Future[int]{st.cancelled, st.successful}) || !sameSet(pending, []*mp.Future[int]{f1}) {
				t.Fatalf("wait = %v, %v, %v", done, pending, err)
			}
			event.Set()
			f1.Get(ctx)
		})

		// CPython: WaitTests.test_first_exception
		t.Run("test_first_exception", func(t *testing.T) {
			ctx := testCtx(t)
			event1, event2 := newEvent(t), newEvent(t)
			f1 := mp.Submit(ctx, p, mul, mp.Args2[int, int]{A1: 2, A2: 21})
			f2 := mp.Submit(ctx, p, waitAndRaise, event1)
			f3 := mp.Submit(ctx, p, waitEvent, event2)
			go func() { f1.Get(ctx); event1.Set() }() // f1 completes before f2 fails
			done, pending, err := mp.Wait(ctx, []*mp.Future[int]{f1, f2, f3}, mp.FirstException)
			if err != nil || !sameSet(done, []*mp.Future[int]{f1, f2}) || !sameSet(pending, []*mp.Future[int]{f3}) {
				t.Fatalf("wait(FIRST_EXCEPTION) = %v, %v, %v", done, pending, err)
			}
			event2.Set()
			f3.Get(ctx)
		})

		// CPython: WaitTests.test_first_exception_some_already_complete
		t.Run("test_first_exception_some_already_complete", func(t *testing.T) {
			ctx := testCtx(t)
			st := newFutureStates(t)
			event := newEvent(t)
			f1 := mp.Submit(ctx, p, divmodFirst, mp.Args2[int, int]{A1: 21, A2: 0})
			f2 := mp.Submit(ctx, p, waitEvent, event)
			done, pending, err := mp.Wait(ctx, []*mp.Future[int]{st.successful, st.cancelled, f1, f2}, mp.FirstException)
			if err != nil || !sameSet(done, []*mp.Future[int]{st.successful, st.cancelled, f1}) || !sameSet(pending, []*mp.Future[int]{f2}) {
				regression(t, "issue 12 §2.5: Wait(FirstException) returns at once on a cancelled future")
				t.Fatalf("wait(FIRST_EXCEPTION) = %d done, %d pending, %v", len(done), len(pending), err)
			}
			event.Set()
			f2.Get(ctx)
		})

		// CPython: WaitTests.test_first_exception_one_already_failed
		t.Run("test_first_exception_one_already_failed", func(t *testing.T) {
			ctx := testCtx(t)
			st := newFutureStates(t)
			event := newEvent(t)
			f1 := mp.Submit(ctx, p, waitEvent, event)
			done, pending, err := mp.Wait(ctx, []*mp.Future[int]{st.exception, f1}, mp.FirstException)
			if err != nil || !sameSet(done, []*mp.Future[int]{st.exception}) || !sameSet(pending, []*mp.Future[int]{f1}) {
				t.Fatalf("wait(FIRST_EXCEPTION) = %v, %v, %v", done, pending, err)
			}
			event.Set()
			f1.Get(ctx)
		})

		// CPython: WaitTests.test_all_completed
		t.Run("test_all_completed", func(t *testing.T) {
			ctx := testCtx(t)
			st := newFutureStates(t)
			f1 := mp.Submit(ctx, p, divmodFirst, mp.Args2[int, int]{A1: 2, A2: 0})
			f2 := mp.Submit(ctx, p, mul, mp.Args2[int, int]{A1: 2, A2: 21})
			all := []*mp.Future[int]{st.successful, st.cancelled, st.exception, f1, f2}
			done, pending, err := mp.Wait(ctx, all, mp.AllCompleted)
			if err != nil || !sameSet(done, all) || len(pending) != 0 {
				t.Fatalf("wait(ALL_COMPLETED) = %v, %v, %v", done, pending, err)
			}
		})

		// CPython: WaitTests.test_timeout
		t.Run("test_timeout", func(t *testing.T) {
			ctx := testCtx(t)
			st := newFutureStates(t)
			event := newEvent(t)
			f := mp.Submit(ctx, p, waitEvent, event)
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			done, pending, err := mp.Wait(short, []*mp.Future[int]{st.cancelled, st.exception, st.successful, f}, mp.AllCompleted)
			if !errors.Is(err, context.DeadlineExceeded) ||
				!sameSet(done, []*mp.Future[int]{st.cancelled, st.exception, st.successful}) || !sameSet(pending, []*mp.Future[int]{f}) {
				t.Fatalf("wait(timeout) = %v, %v, %v", done, pending, err)
			}
			event.Set()
			f.Get(ctx)
		})

		// CPython: ThreadPoolWaitTests.test_pending_calls_race
		t.Run("test_pending_calls_race", func(t *testing.T) {
			ctx := testCtx(t)
			event := newEvent(t)
			fs := make([]*mp.Future[int], 100)
			for i := range fs {
				fs[i] = mp.Submit(ctx, p, waitEvent, event)
			}
			event.Set()
			done, _, err := mp.Wait(ctx, fs, mp.AllCompleted)
			if err != nil || len(done) != 100 {
				t.Fatalf("wait(ALL_COMPLETED) of 100: %d done, %v", len(done), err)
			}
		})
	})
}

// divmodFirst is divmod(x, y)[0], so that its futures mix with int ones.
var divmodFirst = mp.Register2("conf.divmodFirst", func(_ context.Context, x, y int) (int, error) {
	if y == 0 {
		return 0, zeroDivisionError{}
	}
	return x / y, nil
})

// TestAsCompleted ports test_concurrent_futures.test_as_completed.
func TestAsCompleted(t *testing.T) {
	eachKind(t, func(t *testing.T, k poolKind) {
		p := newPool(t, k, 2)

		// CPython: AsCompletedTests.test_no_timeout
		t.Run("test_no_timeout", func(t *testing.T) {
			ctx := testCtx(t)
			st := newFutureStates(t)
			f1 := mp.Submit(ctx, p, mul, mp.Args2[int, int]{A1: 2, A2: 21})
			f2 := mp.Submit(ctx, p, mul, mp.Args2[int, int]{A1: 7, A2: 6})
			all := []*mp.Future[int]{st.cancelled, st.exception, st.successful, f1, f2}
			var got []*mp.Future[int]
			for f, err := range mp.AsCompleted(ctx, all) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, f)
			}
			if !sameSet(got, all) || len(got) != len(all) {
				t.Fatalf("as_completed yielded %d of %d", len(got), len(all))
			}
		})

		// CPython: AsCompletedTests.test_future_times_out
		t.Run("test_future_times_out", func(t *testing.T) {
			for _, timeout := range []time.Duration{0, 100 * time.Millisecond} {
				ctx := testCtx(t)
				st := newFutureStates(t)
				already := []*mp.Future[int]{st.cancelled, st.exception, st.successful}
				f := mp.Submit(ctx, p, sleepMs, 1000)
				fi := mp.Submit(ctx, newPool(t, poolKinds[0], 1), mp.Fn(func(ctx context.Context, _ int) (int, error) {
					_, err := f.Get(ctx)
					return 0, err
				}), 0)
				short, cancel := context.WithTimeout(ctx, timeout)
				var got []*mp.Future[int]
				var err error
				for f, e := range mp.AsCompleted(short, append(slices.Clone(already), fi)) {
					if e != nil {
						err = e
						break
					}
					got = append(got, f)
				}
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) || !sameSet(got, already) {
					regression(t, "issue 12 §2.5: AsCompleted with an ended context yields a random subset of the finished futures")
					t.Fatalf("timeout %v: as_completed yielded %d of the 3 finished, then %v", timeout, len(got), err)
				}
				fi.Get(ctx)
			}
		})

		// CPython: AsCompletedTests.test_duplicate_futures
		t.Run("test_duplicate_futures", func(t *testing.T) {
			ctx := testCtx(t)
			f1 := mp.Submit(ctx, p, sqrWait, mp.Args2[int, int]{A1: 1, A2: 100})
			n := 0
			for _, err := range mp.AsCompleted(ctx, []*mp.Future[int]{f1, f1, f1}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 1 {
				t.Fatalf("as_completed of one future three times yielded %d", n)
			}
		})

		// CPython: AsCompletedTests.test_correct_timeout_exception_msg
		t.Run("test_correct_timeout_exception_msg", func(t *testing.T) {
			ctx := testCtx(t)
			st := newFutureStates(t)
			short, cancel := context.WithTimeout(ctx, 0)
			defer cancel()
			var err error
			for _, e := range mp.AsCompleted(short, []*mp.Future[int]{st.cancelled, st.pending, st.running, st.successful}) {
				if e != nil {
					err = e
				}
			}
			// Python: TimeoutError('2 (of 4) futures unfinished'); Go: the
			// context's error, the unfinished ones being those not yielded.
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("as_completed(timeout=0) with unfinished futures: %v", err)
			}
		})
	})
}
