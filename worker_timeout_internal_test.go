package mp

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mp-go/mp/internal/pacer"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// TestRunBatchTimesItems: a Task with a Timeout (what a cluster worker
// runs) reports an item still running at its deadline as timed out at
// once, before the function returns, and runs the next item only after it.
// Before, the pool timed the whole round trip instead, so a quick task
// failed with ErrTimeout when the transport took longer than the limit on
// a loaded machine (cluster TestTimeoutAndRetries in CI).
func TestRunBatchTimesItems(t *testing.T) {
	for _, tc := range []struct {
		name     string
		honours  bool // the function returns when its ctx ends
		retries  int
		wantRuns int32
		lastLate bool // the late item is the task's last
	}{
		{"ignores ctx", false, 0, 1, false},
		{"honours ctx", true, 0, 1, false},
		{"retried", true, 1, 2, false},
		{"last item ignores ctx", false, 0, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			var runs, running atomic.Int32
			fn := func(ctx context.Context, x int) (int, error) {
				if x == 1 {
					return 10, nil
				}
				runs.Add(1)
				running.Add(1)
				defer running.Add(-1)
				if tc.honours {
					<-ctx.Done()
					return 0, ctx.Err()
				}
				<-release
				return 7, nil
			}
			in, lateAt := []int{0, 1}, 0
			if tc.lastLate {
				in, lateAt = []int{1, 0}, 1
			}
			args, err := wire.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			task := &wire.Task{ID: 1, Func: "t", Args: args, N: 2, Retries: tc.retries, Timeout: int64(20 * time.Millisecond)}
			var got []wire.Results
			send := func(r *wire.Results) error {
				got = append(got, *r)
				if len(r.Errs) > 0 && !tc.honours && !tc.lastLate {
					if running.Load() != 1 {
						t.Errorf("the late item was reported after its function returned")
					}
					close(release)
				}
				return nil
			}
			type ret struct {
				late <-chan struct{}
				err  error
			}
			done := make(chan ret, 1)
			go func() {
				var due pacer.Due
				late, err := runBatch(context.Background(), "t", fn, task, &due, send)
				done <- ret{late, err}
			}()
			select {
			case r := <-done:
				if r.err != nil {
					t.Fatal(r.err)
				}
				if tc.lastLate {
					// returned with the late item's function still running
					if r.late == nil || running.Load() != 1 {
						t.Fatalf("runBatch returned late=%v with %d functions running, want the late item's", r.late, running.Load())
					}
					close(release)
				}
				if r.late != nil {
					select {
					case <-r.late:
					case <-time.After(20 * time.Second):
						t.Fatal("late was not closed when the function returned")
					}
				}
			case <-time.After(20 * time.Second):
				close(release)
				t.Fatal("runBatch did not report the late item before its function returned")
			}
			if n := runs.Load(); n != tc.wantRuns {
				t.Errorf("the late item ran %d times, want %d", n, tc.wantRuns)
			}
			var errs []wire.ItemError
			items := 0
			for _, r := range got {
				errs = append(errs, r.Errs...)
				items += r.N
			}
			if items != 2 || len(errs) != 1 || errs[0].Index != lateAt || errs[0].Err.Type != wk.TimeoutErrorType {
				t.Fatalf("results %+v, want item %d timed out and the other done", got, lateAt)
			}
			re := &RemoteError{Msg: errs[0].Err.Msg, Type: errs[0].Err.Type}
			if !errors.Is(re, ErrTimeout) {
				t.Errorf("errors.Is(%v, ErrTimeout) = false", re)
			}
			var vals []int
			for _, r := range got {
				var v []int
				if err := wire.UnmarshalSlice(r.Values, &v); err != nil {
					t.Fatal(err)
				}
				vals = append(vals, v...)
			}
			if vals[1-lateAt] != 10 {
				t.Errorf("the item on time: %v", vals)
			}
		})
	}
}
