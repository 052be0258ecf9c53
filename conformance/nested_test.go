//go:build linux

package conformance

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/mp-go/mp"
)

var (
	// thisSubProcess is CPython's _this_sub_process(q).
	thisSubProcess = mp.Register("conf.thisSubProcess", func(_ context.Context, q *mp.Queue[int]) (struct{}, error) {
		if _, err := q.GetNowait(); err != nil && !errors.Is(err, mp.ErrEmpty) {
			return struct{}{}, err
		}
		return struct{}{}, nil
	})
	// testProcess is CPython's _test_process: a process that starts a
	// process with a queue.
	testProcess = mp.Register("conf.testProcess", func(ctx context.Context, _ int) (struct{}, error) {
		q, err := mp.NewQueue[int](0)
		if err != nil {
			return struct{}{}, err
		}
		defer q.Unlink()
		p, err := mp.NewProcess(thisSubProcess, q, mp.Daemon(true))
		if err != nil {
			return struct{}{}, err
		}
		if err := p.Start(ctx); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, p.Join(ctx)
	})
	// poolInProcess is CPython's pool_in_process.
	poolInProcess = mp.Register("conf.poolInProcess", func(ctx context.Context, _ int) ([]int, error) {
		p, err := mp.NewPool(mp.Processes(4))
		if err != nil {
			return nil, err
		}
		defer p.Close()
		return mp.Map(ctx, p, sqr, []int{1, 2, 3, 4, 5, 6, 7})
	})
)

// TestStdinBadfiledescriptor ports TestStdinBadfiledescriptor's process
// tests: processes and pools inside a child process.
func TestStdinBadfiledescriptor(t *testing.T) {
	// CPython: TestStdinBadfiledescriptor.test_queue_in_process
	t.Run("test_queue_in_process", func(t *testing.T) {
		p := startProcess(t, testProcess, 0)
		if err := p.Join(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	})

	// CPython: TestStdinBadfiledescriptor.test_pool_in_process
	t.Run("test_pool_in_process", func(t *testing.T) {
		ctx := testCtx(t)
		p := startProcess(t, poolInProcess, 0)
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		// and from a pool's worker, with the result back
		pool := newPool(t, poolKinds[1], 1)
		got, err := mp.Apply(ctx, pool, poolInProcess, 0)
		if err != nil || !slices.Equal(got, []int{1, 4, 9, 16, 25, 36, 49}) {
			t.Fatalf("pool.map in a worker = %v, %v", got, err)
		}
	})
}
