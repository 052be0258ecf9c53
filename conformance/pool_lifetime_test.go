//go:build linux

package conformance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mp-go/mp"
)

var (
	// initSet is TestInitializers' initializer(ns): ns.test += 1.
	initSet = mp.Register("conf.initSet", func(ctx context.Context, v *mp.Value[int64]) (struct{}, error) {
		return struct{}{}, v.Update(ctx, func(n *int64) { *n++ })
	})
	// initFails is an initializer that cannot start its worker.
	initFails = mp.Register("conf.initFails", func(context.Context, int) (struct{}, error) {
		return struct{}{}, errors.New("Manually induced OSError")
	})
)

// childPids lists this process's children, from /proc.
func childPids() []int {
	var pids []int
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				pids = append(pids, n)
			}
		}
	}
	slices.Sort(pids)
	return pids
}

// TestPoolWorkers ports _TestPoolWorkerErrors, _TestPoolWorkerLifetime,
// TestInitializers.test_pool_initializer and TestPoolNotLeakOnFailure.
func TestPoolWorkers(t *testing.T) {
	procs := poolKinds[1]

	// CPython: _TestPoolWorkerErrors.test_async_error_callback
	t.Run("test_async_error_callback", func(t *testing.T) {
		ctx := testCtx(t)
		p := newPool(t, procs, 2)
		got := make(chan error, 1)
		res := mp.ApplyAsync(ctx, p, raising, 0)
		res.AddDoneCallback(func(f *mp.Future[int]) { got <- f.Err() })
		if _, err := res.Get(ctx); !raised[keyError](err) {
			t.Fatalf("get() = %v, want the KeyError", err)
		}
		if err := <-got; !raised[keyError](err) {
			t.Fatalf("the error callback got %v", err)
		}
		p.Close()
	})

	// CPython: _TestPoolWorkerErrors.test_unpickleable_result
	t.Run("test_unpickleable_result", func(t *testing.T) {
		ctx := testCtx(t)
		p := newPool(t, procs, 2)
		for i := range 20 {
			var err error
			want := "func"
			if i%3 == 2 {
				// a complex number: it travels (as Python pickles it), or
				// fails its item with an error naming it
				var v complex128
				if v, err = mp.Apply(ctx, p, complexResult, i); err == nil && v == complex(1, 2) {
					continue
				}
				want = "complex"
			} else {
				_, err = mp.Apply(ctx, p, unpicklableResult, i)
			}
			var we *mp.WorkerError
			if err == nil || errors.As(err, &we) || !strings.Contains(err.Error(), want) {
				regression(t, "issue 12 §2.4: a result that cannot be encoded kills the worker")
				t.Fatalf("iteration %d: %v; want an encoding error naming the type, the worker kept", i, err)
			}
		}
		p.Close()
	})

	// CPython: _TestPoolWorkerLifetime.test_pool_worker_lifetime
	t.Run("test_pool_worker_lifetime", func(t *testing.T) {
		ctx := testCtx(t)
		p := newPool(t, procs, 3, mp.MaxTasksPerChild(10))
		if p.Workers() != 3 {
			t.Fatalf("%d workers", p.Workers())
		}
		fs := make([]*mp.Future[int], 100)
		for i := range fs {
			fs[i] = mp.ApplyAsync(ctx, p, pid, i)
		}
		seen := map[int]bool{}
		for _, f := range fs {
			pid, err := f.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			seen[pid] = true
		}
		// 100 tasks, at most 10 a worker: at least 10 workers ran them.
		if len(seen) < 10 {
			t.Fatalf("100 tasks ran in %d processes with maxtasksperchild=10", len(seen))
		}
		p.Close()
	})

	// CPython: _TestPoolWorkerLifetime.test_pool_worker_lifetime_early_close
	t.Run("test_pool_worker_lifetime_early_close", func(t *testing.T) {
		ctx := testCtx(t)
		p := newPool(t, procs, 3, mp.MaxTasksPerChild(1))
		fs := make([]*mp.Future[int], 6)
		for i := range fs {
			fs[i] = mp.ApplyAsync(ctx, p, sqrWait, mp.Args2[int, int]{A1: i, A2: 30})
		}
		p.Close()
		p.Join()
		for j, f := range fs {
			if v, err := f.Get(ctx); err != nil || v != j*j {
				regression(t, "issue 12 §2.1: ApplyAsync then Close runs nothing")
				t.Fatalf("result %d = %v, %v", j, v, err)
			}
		}
	})

	// CPython: _TestPoolWorkerLifetime.test_pool_maxtasksperchild_invalid
	t.Run("test_pool_maxtasksperchild_invalid", func(t *testing.T) {
		// Python refuses 0 too; mp's 0 is Go's zero value, "no limit"
		// (Python's None): docs/python-differences.md.
		for _, v := range []int{-1} {
			if p, err := mp.NewPool(mp.Processes(3), mp.MaxTasksPerChild(v)); !errors.Is(err, mp.ErrInvalidOption) {
				if p != nil {
					p.Terminate()
				}
				t.Fatalf("maxtasksperchild=%d: %v", v, err)
			}
		}
	})

	// CPython: TestInitializers.test_pool_initializer
	t.Run("test_pool_initializer", func(t *testing.T) {
		ctx := testCtx(t)
		ns := newValue[int64](t, 0)
		p := newPool(t, procs, 1, mp.Initializer(initSet, ns))
		// the initializer runs when the worker starts: give it a task
		if _, err := mp.Apply(ctx, p, sqr, 1); err != nil {
			t.Fatal(err)
		}
		p.Close()
		if n := *ns.Ptr(); n != 1 {
			t.Fatalf("ns.test = %d, want 1", n)
		}
	})

	// CPython: TestPoolNotLeakOnFailure.test_release_unused_processes
	t.Run("test_release_unused_processes", func(t *testing.T) {
		ctx := testCtx(t)
		before := childPids()
		p, err := mp.NewPool(mp.Processes(5), mp.Initializer(initFails, 0))
		if err == nil {
			_, err = mp.Apply(ctx, p, sqr, 1)
			p.Terminate()
		}
		if err == nil || !strings.Contains(err.Error(), "Manually induced OSError") {
			t.Fatalf("a pool whose workers cannot start: %v", err)
		}
		waitFor(t, "the started workers to be released", func() bool {
			return len(childPids()) <= len(before)
		})
	})
}
