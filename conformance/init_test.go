//go:build linux

package conformance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

var initFail = mp.Register("conf.initFail", func(_ context.Context, _ int) (string, error) {
	time.Sleep(10 * time.Millisecond) // let some futures be scheduled (CPython's); the test holds either way
	return "", valueError{"error in initializer"}
})

// TestInitializer ports test_concurrent_futures.test_init on a thread
// pool and a process pool.
func TestInitializer(t *testing.T) {
	eachKind(t, func(t *testing.T, k poolKind) {
		// CPython: InitializerMixin.test_initializer
		t.Run("test_initializer", func(t *testing.T) {
			ctx := testCtx(t)
			p := newPool(t, k, 2, mp.Initializer(initState, "initialized"))
			fs := []*mp.Future[string]{mp.Submit(ctx, p, workerState, 0), mp.Submit(ctx, p, workerState, 1)}
			for _, f := range fs {
				if v, err := f.Get(ctx); err != nil || v != "initialized" {
					t.Fatalf("get_init_status() = %q, %v", v, err)
				}
			}
		})

		// CPython: FailingInitializerMixin.test_initializer
		t.Run("test_failing_initializer", func(t *testing.T) {
			ctx := testCtx(t)
			p, err := mp.NewPool(k.opt(2), mp.Initializer(initFail, 0))
			if err == nil {
				defer p.Terminate()
				// the pool breaks: the future fails, and so does every
				// later submit
				_, err = mp.Submit(ctx, p, workerState, 0).Get(ctx)
				if !errors.Is(err, mp.ErrBrokenPool) {
					t.Fatalf("a task of a pool whose initializer fails: %v, want ErrBrokenPool", err)
				}
				_, err = mp.Submit(ctx, p, workerState, 0).Get(ctx)
				if !errors.Is(err, mp.ErrBrokenPool) {
					t.Fatalf("a submit to a broken pool: %v, want ErrBrokenPool", err)
				}
			}
			// Python logs "ValueError: error in initializer"; the error says it
			if !strings.Contains(err.Error(), "error in initializer") {
				t.Fatalf("the error does not say why: %v", err)
			}
		})
	})
}
