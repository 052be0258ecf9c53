//go:build linux

package conformance

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// closeWithin runs p.Close and fails the test if it does not return.
func closeWithin(t *testing.T, p *mp.Pool) {
	t.Helper()
	done := make(chan struct{})
	go func() { p.Close(); p.Join(); close(done) }()
	select {
	case <-done:
	case <-time.After(long):
		t.Fatal("shutdown() hung")
	}
}

// TestExecutorShutdown ports test_concurrent_futures.test_shutdown's
// ExecutorShutdownTest, ThreadPoolShutdownTest and ProcessPoolShutdownTest.
func TestExecutorShutdown(t *testing.T) {
	eachKind(t, func(t *testing.T, k poolKind) {
		// CPython: ExecutorShutdownTest.test_run_after_shutdown
		t.Run("test_run_after_shutdown", func(t *testing.T) {
			ctx := testCtx(t)
			p := newPool(t, k, 2)
			p.Close()
			if _, err := mp.Submit(ctx, p, powFn, mp.Args2[int, int]{A1: 2, A2: 5}).Get(ctx); !errors.Is(err, mp.ErrClosed) {
				t.Fatalf("submit after shutdown: %v, want ErrClosed", err)
			}
		})

		// CPython: ExecutorShutdownTest.test_hang_issue12364
		t.Run("test_hang_issue12364", func(t *testing.T) {
			ctx := testCtx(t)
			p := newPool(t, k, 2)
			fs := make([]*mp.Future[struct{}], 50)
			for i := range fs {
				fs[i] = mp.Submit(ctx, p, sleepMs, 2)
			}
			closeWithin(t, p)
			for i, f := range fs {
				if _, err := f.Get(ctx); err != nil {
					regression(t, "issue 12 §2.1: work accepted before Close must run")
					t.Fatalf("future %d submitted before shutdown: %v", i, err)
				}
			}
		})

		// CPython: ExecutorShutdownTest.test_cancel_futures
		t.Run("test_cancel_futures", func(t *testing.T) {
			// shutdown(cancel_futures=True) is: cancel every future, then
			// Close, which waits for those already running.
			ctx := testCtx(t)
			p := newPool(t, k, 2)
			fs := make([]*mp.Future[struct{}], 50)
			for i := range fs {
				fs[i] = mp.Submit(ctx, p, sleepMs, 100)
			}
			// Python's workers have taken the first tasks by then; wait
			// for that here rather than race with the workers' start.
			waitFor(t, "the first task to run", func() bool { return fs[0].Running() || fs[0].Ready() })
			for _, f := range fs {
				f.Cancel()
			}
			closeWithin(t, p)
			cancelled := 0
			for _, f := range fs {
				if f.Cancelled() {
					cancelled++
				} else if !f.Ready() || f.Err() != nil {
					t.Errorf("a future not cancelled: ready %v, err %v", f.Ready(), f.Err())
				}
			}
			if cancelled <= 20 || cancelled == len(fs) {
				t.Fatalf("%d of %d cancelled; want most, not all", cancelled, len(fs))
			}
		})

		// CPython: ExecutorShutdownTest.test_hang_gh94440
		t.Run("test_hang_gh94440", func(t *testing.T) {
			ctx := testCtx(t)
			p := newPool(t, k, 1)
			if _, err := mp.Submit(ctx, p, identity, 0).Get(ctx); err != nil {
				t.Fatal(err)
			}
			mp.Submit(ctx, p, identity, 0).Cancel()
			closeWithin(t, p)
		})

		// CPython: ThreadPoolShutdownTest.test_threads_terminate
		// CPython: ProcessPoolShutdownTest.test_processes_terminate
		t.Run("test_workers_terminate", func(t *testing.T) {
			ctx := testCtx(t)
			p := newPool(t, k, 3)
			sem, err := mp.NewSemaphore(0)
			if err != nil {
				t.Fatal(err)
			}
			defer sem.Unlink()
			fs := make([]*mp.Future[struct{}], 3)
			for i := range fs {
				fs[i] = mp.Submit(ctx, p, acquireSem, sem)
			}
			for range 3 {
				sem.Release()
			}
			closeWithin(t, p)
			for _, f := range fs {
				if _, err := f.Get(ctx); err != nil {
					t.Fatal(err)
				}
			}
		})

		// CPython: ThreadPoolShutdownTest.test_context_manager_shutdown
		t.Run("test_context_manager_shutdown", func(t *testing.T) {
			ctx := testCtx(t)
			p := newPool(t, k, 5)
			in := []int{-5, -4, -3, -2, -1, 0, 1, 2, 3, 4}
			got, err := mp.Map(ctx, p, absFn, in)
			if err != nil || !slices.Equal(got, []int{5, 4, 3, 2, 1, 0, 1, 2, 3, 4}) {
				t.Fatalf("map(abs) = %v, %v", got, err)
			}
			closeWithin(t, p)
		})

		// CPython: ThreadPoolShutdownTest.test_shutdown_no_wait
		t.Run("test_shutdown_no_wait", func(t *testing.T) {
			// shutdown(wait=False): Close from another goroutine, while the
			// results are still read.
			ctx := testCtx(t)
			p := newPool(t, k, 5)
			in := []int{-5, -4, -3, -2, -1, 0, 1, 2, 3, 4}
			res := mp.MapAsync(ctx, p, absFn, in)
			go p.Close()
			got, err := res.Get(ctx)
			if err != nil || !slices.Equal(got, []int{5, 4, 3, 2, 1, 0, 1, 2, 3, 4}) {
				regression(t, "issue 12 §2.1: work accepted before Close must run")
				t.Fatalf("results of a map before shutdown(wait=False) = %v, %v", got, err)
			}
			closeWithin(t, p)
		})

		// CPython: ProcessPoolShutdownTest.test_shutdown_gh_132969_case_1
		// CPython: ProcessPoolShutdownTest.test_shutdown_gh_132969_case_2
		for _, workers := range []int{2, 4} {
			name := map[int]string{2: "test_shutdown_gh_132969_case_1", 4: "test_shutdown_gh_132969_case_2"}[workers]
			t.Run(name, func(t *testing.T) {
				ctx := testCtx(t)
				p := newPool(t, k, workers, mp.MaxTasksPerChild(1))
				f1 := mp.Submit(ctx, p, goodTask, 1)
				f2 := mp.Submit(ctx, p, failingTask, 2)
				f3 := mp.Submit(ctx, p, goodTask, 3)
				total := 0
				for _, f := range []*mp.Future[int]{f1, f2, f3} {
					v, err := f.Get(ctx)
					if err != nil {
						if !raised[valueError](err) {
							t.Fatalf("the failing task: %v", err)
						}
						break
					}
					total += v
				}
				go p.Close() // shutdown(wait=False)
				closeWithin(t, p)
				if total != 1 {
					t.Fatalf("result = %d, want 1", total)
				}
			})
		}
	})
}

// TestContextTimeoutIsTimeoutError ports the part of
// _TestPool.test_async_timeout and TestTimeouts.test_timeout that checks the
// kind of error a timed out wait gives.
// CPython: TestTimeouts.test_timeout
func TestContextTimeoutIsTimeoutError(t *testing.T) {
	ctx := testCtx(t)
	p := newPool(t, poolKinds[1], 1)
	// TestTimeouts checks that a queue's get, a connection's poll and a
	// pool's get time out as asked, with a default socket timeout set.
	q, err := mp.NewQueue[int](0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := q.Get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queue.get(timeout): %v", err)
	}
	a, _ := newPipe[int](t, true)
	if a.Poll(50 * time.Millisecond) {
		t.Fatal("poll(timeout) on an empty pipe is true")
	}
	res := mp.ApplyAsync(ctx, p, sqrWait, mp.Args2[int, int]{A1: 2, A2: 50})
	if v, err := res.Get(ctx); err != nil || v != 4 {
		t.Fatalf("apply_async(sqr).get() = %v, %v", v, err)
	}
}
