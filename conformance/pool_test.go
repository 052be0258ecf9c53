//go:build linux

package conformance

import (
	"context"
	"errors"
	"iter"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// collect ranges over an Imap/ImapUnordered result: the values before the
// first error, and that error.
func collect[R any](seq func(func(R, error) bool)) ([]R, error) {
	var out []R
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// TestPool ports _TestPool: each subtest runs on a pool of 4 threads and
// on a pool of 4 processes, as CPython's class does with a shared pool.
func TestPool(t *testing.T) {
	eachKind(t, func(t *testing.T, k poolKind) {
		p := newPool(t, k, 4)

		// CPython: _TestPool.test_apply
		t.Run("test_apply", func(t *testing.T) {
			ctx := testCtx(t)
			if got, err := mp.Apply(ctx, p, sqr, 5); err != nil || got != 25 {
				t.Fatalf("apply(sqr, 5) = %v, %v", got, err)
			}
			if got, err := mp.Apply(ctx, p, sqrWait, mp.Args2[int, int]{A1: 3}); err != nil || got != 9 {
				t.Fatalf("apply(sqr, x=3) = %v, %v", got, err)
			}
		})

		// CPython: _TestPool.test_map
		t.Run("test_map", func(t *testing.T) {
			ctx := testCtx(t)
			if got, err := mp.Map(ctx, p, sqr, ints(10)); err != nil || !slices.Equal(got, squares(10)) {
				t.Fatalf("map = %v, %v", got, err)
			}
			if got, err := mp.Map(ctx, p, sqr, ints(100), mp.Chunksize(20)); err != nil || !slices.Equal(got, squares(100)) {
				t.Fatalf("map chunksize=20 = %v, %v", got, err)
			}
		})

		// CPython: _TestPool.test_starmap
		t.Run("test_starmap", func(t *testing.T) {
			ctx := testCtx(t)
			for _, tc := range []struct{ n, chunk int }{{10, 0}, {100, 20}} {
				tuples, want := zipDown(tc.n)
				var opts []mp.Option
				if tc.chunk > 0 {
					opts = append(opts, mp.Chunksize(tc.chunk))
				}
				if got, err := mp.Starmap(ctx, p, mul, tuples, opts...); err != nil || !slices.Equal(got, want) {
					t.Fatalf("starmap(%d) = %v, %v", tc.n, got, err)
				}
			}
		})

		// CPython: _TestPool.test_starmap_async
		t.Run("test_starmap_async", func(t *testing.T) {
			ctx := testCtx(t)
			tuples, want := zipDown(100)
			if got, err := mp.StarmapAsync(ctx, p, mul, tuples).Get(ctx); err != nil || !slices.Equal(got, want) {
				t.Fatalf("starmap_async = %v, %v", got, err)
			}
		})

		// CPython: _TestPool.test_map_async
		t.Run("test_map_async", func(t *testing.T) {
			ctx := testCtx(t)
			if got, err := mp.MapAsync(ctx, p, sqr, ints(10)).Get(ctx); err != nil || !slices.Equal(got, squares(10)) {
				t.Fatalf("map_async = %v, %v", got, err)
			}
		})

		// CPython: _TestPool.test_map_async_callbacks
		t.Run("test_map_async_callbacks", func(t *testing.T) {
			ctx := testCtx(t)
			var mu sync.Mutex
			var callArgs []any
			record := func(f *mp.Future[[]int]) {
				mu.Lock()
				defer mu.Unlock()
				if err := f.Err(); err != nil {
					callArgs = append(callArgs, err) // error_callback
				} else {
					v, _ := f.Get(context.Background())
					callArgs = append(callArgs, v) // callback
				}
			}
			f := mp.MapAsync(ctx, p, atoi, []string{"1"})
			f.AddDoneCallback(record)
			f.Wait(long)
			waitFor(t, "the callback", func() bool { mu.Lock(); defer mu.Unlock(); return len(callArgs) == 1 })
			if v, ok := callArgs[0].([]int); !ok || !slices.Equal(v, []int{1}) {
				t.Fatalf("callback got %v", callArgs[0])
			}
			f = mp.MapAsync(ctx, p, atoi, []string{"a"})
			f.AddDoneCallback(record)
			f.Wait(long)
			waitFor(t, "the error callback", func() bool { mu.Lock(); defer mu.Unlock(); return len(callArgs) == 2 })
			if err, ok := callArgs[1].(error); !ok || !raised[valueError](err) {
				t.Fatalf("error callback got %v", callArgs[1])
			}
		})

		// CPython: _TestPool.test_map_unplicklable
		t.Run("test_map_unplicklable", func(t *testing.T) {
			if k.name == "threads" {
				t.Skip("test not appropriate for threads (as in CPython): nothing is encoded")
			}
			// Issue #19425: failure to pickle an argument must not hang
			ctx := testCtx(t)
			items := make([]any, 10)
			for i := range items {
				items[i] = func() {}
			}
			if _, err := mp.Map(ctx, p, anyIdentity, items); err == nil || ctx.Err() != nil {
				t.Fatalf("map over unencodable items: %v", err)
			}
		})

		// CPython: _TestPool.test_map_chunksize
		t.Run("test_map_chunksize", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
			defer cancel()
			if _, err := mp.MapAsync(ctx, p, sqr, nil, mp.Chunksize(1)).Get(ctx); err != nil {
				t.Fatalf("map_async with chunksize stalled on an empty list: %v", err)
			}
		})

		// CPython: _TestPool.test_map_handle_iterable_exception
		t.Run("test_map_handle_iterable_exception", func(t *testing.T) {
			// pool.map(f, generator) is list(imap): Go's Map takes a slice,
			// so the raising generator goes through Imap, collected.
			ctx := testCtx(t)
			for _, tc := range []struct{ total, when int }{{1, -1}, {1, -1}, {10, 3}} {
				_, err := collect(mp.Imap(ctx, p, sqr, exceptionThrowingGenerator(tc.total, tc.when), mp.Chunksize(1)))
				if !sayWhen(err) {
					regression(t, "issue 12 §2.3: a raising input generator's error is not returned as such")
					t.Fatalf("map over exception_throwing_generator(%d, %d): %v", tc.total, tc.when, err)
				}
			}
		})

		// CPython: _TestPool.test_async
		t.Run("test_async", func(t *testing.T) {
			ctx := testCtx(t)
			res := mp.ApplyAsync(ctx, p, sqrWait, mp.Args2[int, int]{A1: 7, A2: 100})
			if got, err := res.Get(ctx); err != nil || got != 49 {
				t.Fatalf("get() = %v, %v", got, err)
			}
		})

		// CPython: _TestPool.test_async_timeout
		t.Run("test_async_timeout", func(t *testing.T) {
			ctx := testCtx(t)
			p3 := newPool(t, k, 3)
			res := mp.ApplyAsync(ctx, p3, sqrWait, mp.Args2[int, int]{A1: 6, A2: 600_000})
			start := time.Now() // before the deadline is set (see test_wait_timeout)
			short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			if _, err := res.Get(short); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("get(timeout) = %v, want a timeout", err)
			}
			if d := time.Since(start); d < 200*time.Millisecond {
				t.Fatalf("get(timeout=0.2) returned after %v", d)
			}
			p3.Terminate()
		})

		// CPython: _TestPool.test_imap
		t.Run("test_imap", func(t *testing.T) {
			ctx := testCtx(t)
			if got, err := collect(mp.Imap(ctx, p, sqr, seq(10))); err != nil || !slices.Equal(got, squares(10)) {
				t.Fatalf("imap = %v, %v", got, err)
			}
			next, stop := iter.Pull2(mp.Imap(ctx, p, sqr, seq(1000), mp.Chunksize(100)))
			defer stop()
			for i := range 1000 {
				v, err, ok := next()
				if !ok || err != nil || v != i*i {
					t.Fatalf("item %d: %v %v %v", i, v, err, ok)
				}
			}
			if _, _, ok := next(); ok {
				t.Fatal("no StopIteration after the last item")
			}
		})

		// CPython: _TestPool.test_imap_handle_iterable_exception
		t.Run("test_imap_handle_iterable_exception", func(t *testing.T) {
			ctx := testCtx(t)
			for _, tc := range []struct{ total, when, chunk, before int }{
				{1, -1, 1, 0}, {1, -1, 1, 0}, {10, 3, 1, 3}, {20, 7, 2, 6}, {20, 7, 4, 4},
			} {
				got, err := collect(mp.Imap(ctx, p, sqr, exceptionThrowingGenerator(tc.total, tc.when), mp.Chunksize(tc.chunk)))
				// CPython checks at least `before` results come first (the
				// chunk holding the raise is lost); more is no harm.
				if !sayWhen(err) || len(got) < tc.before || !slices.Equal(got, squares(len(got))) {
					regression(t, "issue 12 §2.3: results before a raising input generator's error are lost")
					t.Fatalf("imap(gen(%d, %d), %d) = %v, %v; want %d results then SayWhenError", tc.total, tc.when, tc.chunk, got, err, tc.before)
				}
			}
		})

		// CPython: _TestPool.test_imap_unordered
		t.Run("test_imap_unordered", func(t *testing.T) {
			ctx := testCtx(t)
			for _, n := range []int{10, 1000} {
				got, err := collect(mp.ImapUnordered(ctx, p, sqr, seq(n), mp.Chunksize(max(1, n/10))))
				slices.Sort(got)
				if err != nil || !slices.Equal(got, squares(n)) {
					t.Fatalf("imap_unordered(%d) = %v, %v", n, len(got), err)
				}
			}
		})

		// CPython: _TestPool.test_imap_unordered_handle_iterable_exception
		t.Run("test_imap_unordered_handle_iterable_exception", func(t *testing.T) {
			ctx := testCtx(t)
			for _, tc := range []struct{ total, when, chunk int }{{1, -1, 1}, {1, -1, 1}, {10, 3, 1}, {20, 7, 2}} {
				got, err := collect(mp.ImapUnordered(ctx, p, sqr, exceptionThrowingGenerator(tc.total, tc.when), mp.Chunksize(tc.chunk)))
				slices.Sort(got)
				if !sayWhen(err) || len(got) > tc.when+1 || len(slices.Compact(got)) != len(got) {
					regression(t, "issue 12 §2.3: a raising input generator's error is not returned as such")
					t.Fatalf("imap_unordered(gen(%d, %d)) = %v, %v", tc.total, tc.when, got, err)
				}
			}
		})

		// CPython: _TestPool.test_make_pool
		t.Run("test_make_pool", func(t *testing.T) {
			for _, n := range []int{-1, 0} {
				if p, err := mp.NewPool(k.opt(n)); !errors.Is(err, mp.ErrInvalidOption) {
					if p != nil {
						p.Terminate()
					}
					t.Fatalf("Pool(%d): %v, want ErrInvalidOption", n, err)
				}
			}
			p3 := newPool(t, k, 3)
			if p3.Workers() != 3 {
				t.Fatalf("Pool(3) has %d workers", p3.Workers())
			}
			p3.Close()
		})

		// CPython: _TestPool.test_terminate
		t.Run("test_terminate", func(t *testing.T) {
			ctx := testCtx(t)
			p3 := newPool(t, k, 3)
			args := make([]int, 10_000)
			for i := range args {
				args[i] = 600_000 // "forever"
			}
			res := mp.MapAsync(ctx, p3, sleepMs, args, mp.Chunksize(1))
			done := make(chan struct{})
			go func() { p3.Terminate(); p3.Join(); close(done) }()
			select {
			case <-done:
			case <-time.After(long):
				t.Fatal("terminate() did not return")
			}
			if !res.Wait(long) || res.Err() == nil {
				t.Fatalf("the terminated map_async: ready %v, err %v", res.Ready(), res.Err())
			}
		})

		// CPython: _TestPool.test_empty_iterable
		t.Run("test_empty_iterable", func(t *testing.T) {
			ctx := testCtx(t)
			p1 := newPool(t, k, 1)
			if got, err := mp.Map(ctx, p1, sqr, []int{}); err != nil || len(got) != 0 {
				t.Fatalf("map([]) = %v, %v", got, err)
			}
			if got, err := collect(mp.Imap(ctx, p1, sqr, seq(0))); err != nil || len(got) != 0 {
				t.Fatalf("imap([]) = %v, %v", got, err)
			}
			if got, err := collect(mp.ImapUnordered(ctx, p1, sqr, seq(0))); err != nil || len(got) != 0 {
				t.Fatalf("imap_unordered([]) = %v, %v", got, err)
			}
			if got, err := mp.MapAsync(ctx, p1, sqr, []int{}).Get(ctx); err != nil || len(got) != 0 {
				t.Fatalf("map_async([]) = %v, %v", got, err)
			}
			p1.Close()
			p1.Join()
		})

		// CPython: _TestPool.test_context
		t.Run("test_context", func(t *testing.T) {
			ctx := testCtx(t)
			p2 := newPool(t, k, 2)
			r := mp.MapAsync(ctx, p2, sqr, ints(10))
			if got, err := r.Get(ctx); err != nil || !slices.Equal(got, squares(10)) {
				t.Fatalf("map_async = %v, %v", got, err)
			}
			p2.Close() // the end of `with Pool(2) as p`
			p2.Join()
			if _, err := mp.MapAsync(ctx, p2, sqr, ints(10)).Get(ctx); !errors.Is(err, mp.ErrClosed) {
				t.Fatalf("map_async on a closed pool: %v, want ErrClosed", err)
			}
		})

		// CPython: _TestPool.test_traceback
		t.Run("test_traceback", func(t *testing.T) {
			ctx := testCtx(t)
			p1 := newPool(t, k, 1)
			_, err := mp.Apply(ctx, p1, raisingRuntime, 0)
			if !raised[runtimeError](err) {
				t.Fatalf("apply(_test_traceback): %v, want the RuntimeError", err)
			}
			// An uncaught panic carries the worker's stack, as Python's
			// RemoteTraceback carries the child's traceback.
			_, err = mp.Apply(ctx, p1, panicking, 0)
			var re *mp.RemoteError
			var pe *mp.PanicError
			switch {
			case errors.As(err, &re):
				if !re.Panic || re.Stack == "" {
					t.Fatalf("a panic in a worker process has no stack: %#v", re)
				}
			case errors.As(err, &pe):
				if len(pe.Stack) == 0 {
					t.Fatal("a panic in a task has no stack")
				}
			default:
				t.Fatalf("a panicking task: %v", err)
			}
			// The input generator's error is not made a remote one.
			_, err = collect(mp.Imap(ctx, p1, sqr, exceptionThrowingGenerator(1, -1), mp.Chunksize(1)))
			if !sayWhen(err) || errors.As(err, &re) {
				regression(t, "issue 12 §2.3: a raising input generator's error is not returned as such")
				t.Fatalf("map over a raising generator: %v", err)
			}
		})

		// CPython: _TestPool.test_wrapped_exception
		t.Run("test_wrapped_exception", func(t *testing.T) {
			ctx := testCtx(t)
			p1 := newPool(t, k, 1)
			_, err := mp.Apply(ctx, p1, raisingRuntime, 0)
			if k.name == "threads" {
				// Issue #20980: a thread pool does not wrap the error.
				var e runtimeError
				if !errors.As(err, &e) || e.msg != "123" {
					t.Fatalf("apply on a thread pool: %v, want the task's own error", err)
				}
			} else if !raised[runtimeError](err) {
				t.Fatalf("apply: %v", err)
			}
		})

		// CPython: _TestPool.test_map_no_failfast
		t.Run("test_map_no_failfast", func(t *testing.T) {
			ctx := testCtx(t)
			p2 := newPool(t, k, 2)
			_, err := mp.Map(ctx, p2, raiseLargeValueError, []int{0, 1})
			if !raised[valueError](err) {
				t.Fatalf("map(raise_large_valuerror): %v", err)
			}
			done := make(chan struct{})
			go func() { p2.Close(); p2.Join(); close(done) }()
			select {
			case <-done:
			case <-time.After(long):
				t.Fatal("close()+join() after a failed map deadlocked")
			}
		})

		// CPython: _TestPool.test_release_task_refs
		t.Run("test_release_task_refs", func(t *testing.T) {
			ctx := testCtx(t)
			var released atomic.Int32
			objs := make([]*countedObject, 10)
			for i := range objs {
				objs[i] = &countedObject{N: i}
				runtime.AddCleanup(objs[i], func(r *atomic.Int32) { r.Add(1) }, &released)
			}
			if _, err := mp.Map(ctx, p, identityObj, objs); err != nil {
				t.Fatal(err)
			}
			objs = nil
			waitFor(t, "the pool to release the task arguments", func() bool {
				runtime.GC()
				return released.Load() == 10
			})
		})

		// CPython: _TestPool.test_enter
		t.Run("test_enter", func(t *testing.T) {
			ctx := testCtx(t)
			p1 := newPool(t, k, 1)
			p1.Terminate() // the end of `with pool:`
			// the pool is no longer running: using it again is an error
			if _, err := mp.Apply(ctx, p1, sqr, 1); !errors.Is(err, mp.ErrClosed) {
				t.Fatalf("apply on a terminated pool: %v", err)
			}
			p1.Join()
		})
	})
}

var anyIdentity = mp.Register("conf.anyIdentity", func(_ context.Context, x any) (any, error) { return x, nil })

// countedObject is test_release_task_refs' CountedObject.
// countedObject is 16 bytes or more (see dummyObject).
type countedObject struct {
	N int
	_ [2]int
}

var identityObj = mp.Register("conf.identityObj", func(_ context.Context, o *countedObject) (*countedObject, error) {
	return o, nil
})

// zipDown is list(zip(range(n), range(n-1, -1, -1))) and its starmap(mul).
func zipDown(n int) ([]mp.Args2[int, int], []int) {
	tuples := make([]mp.Args2[int, int], n)
	want := make([]int, n)
	for i := range n {
		tuples[i] = mp.Args2[int, int]{A1: i, A2: n - 1 - i}
		want[i] = i * (n - 1 - i)
	}
	return tuples, want
}
