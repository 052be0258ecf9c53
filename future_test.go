package mp_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/progress"
)

func TestFuture(t *testing.T) {
	p := newPool(t, mp.Threads(1))
	ctx := context.Background()
	gate := make(chan struct{})
	started := make(chan struct{})
	hold := mp.Fn(func(ctx context.Context, x int) (int, error) {
		close(started)
		<-gate
		return x, nil
	})
	f := mp.Submit(ctx, p, hold, 5)
	<-started
	if f.Ready() || f.Successful() || f.Err() != nil || !f.Running() {
		t.Error("running future looks resolved")
	}
	if f.Wait(5 * time.Millisecond) {
		t.Error("Wait returned true before the task ended")
	}
	var cbs atomic.Int32
	f.AddDoneCallback(func(*mp.Future[int]) { cbs.Add(1) })
	f.AddDoneCallback(func(*mp.Future[int]) { panic("a bad callback is logged, not fatal") })
	queued := mp.Submit(ctx, p, square, 3)
	if f.Cancel() {
		t.Error("Cancel of a running task returned true")
	}
	if !queued.Cancel() || !queued.Cancelled() {
		t.Error("Cancel of a queued task failed")
	}
	if _, err := queued.Get(ctx); !errors.Is(err, mp.ErrCancelled) {
		t.Errorf("cancelled future: %v", err)
	}
	shortCtx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	defer cancel()
	if _, err := f.Get(shortCtx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get with an expired ctx: %v", err)
	}
	close(gate)
	if !f.Wait(long) {
		t.Fatal("future not resolved")
	}
	select {
	case <-f.Done():
	default:
		t.Error("Done not closed")
	}
	if v, err := f.Get(ctx); v != 5 || err != nil || !f.Successful() {
		t.Errorf("Get = %v, %v", v, err)
	}
	// Callbacks run in the resolving goroutine just after waiters wake (as
	// in Python), so give them a moment.
	for deadline := time.Now().Add(long); cbs.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if cbs.Load() != 1 {
		t.Errorf("callback ran %d times", cbs.Load())
	}
	f.AddDoneCallback(func(*mp.Future[int]) { cbs.Add(1) }) // runs at once
	if cbs.Load() != 2 {
		t.Error("callback added after resolution did not run")
	}
	if f.Cancel() {
		t.Error("Cancel of a resolved future returned true")
	}
	within(t, "Join", p.Join)
}

func TestMapAsyncCancel(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	f := mp.MapAsync(context.Background(), p, blocker(nil), ints(4))
	if !f.Cancel() {
		t.Fatal("Cancel of a running MapAsync returned false")
	}
	if _, err := f.Get(context.Background()); !errors.Is(err, mp.ErrCancelled) {
		t.Errorf("err = %v", err)
	}
	within(t, "Join", p.Join) // the map's tasks saw the cancellation
}

// In a synctest bubble: the sleeps below run on a fake clock, so the
// completion order is exact on any machine.
func TestAsCompletedAndWait(t *testing.T) {
	synctest.Test(t, asCompletedAndWait)
}

func asCompletedAndWait(t *testing.T) {
	p, err := mp.NewPool(mp.Threads(4))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	sleepy := mp.Fn(func(ctx context.Context, ms int) (int, error) {
		time.Sleep(time.Duration(ms) * time.Millisecond)
		if ms == 0 {
			return 0, errBoom
		}
		return ms, nil
	})
	var fs []*mp.Future[int]
	for _, ms := range []int{300, 1, 150} {
		fs = append(fs, mp.Submit(ctx, p, sleepy, ms))
	}
	var order []int
	bar := progress.New(3, progress.WithMode(progress.Off))
	for f, err := range mp.AsCompleted(ctx, append(fs, fs[0]), mp.ProgressBar(bar)) {
		if err != nil {
			t.Fatal(err)
		}
		v, _ := f.Get(ctx)
		order = append(order, v)
	}
	if !slices.Equal(order, []int{1, 150, 300}) {
		t.Errorf("completion order %v", order)
	}
	if bar.Count() != 3 {
		t.Errorf("bar counted %d", bar.Count())
	}

	slow := mp.Submit(ctx, p, sleepy, 400)
	fast := mp.Submit(ctx, p, sleepy, 1)
	done, pending, err := mp.Wait(ctx, []*mp.Future[int]{slow, fast}, mp.FirstCompleted)
	if err != nil || len(done) != 1 || done[0] != fast || len(pending) != 1 {
		t.Errorf("FirstCompleted: done %d pending %d err %v", len(done), len(pending), err)
	}
	failing := mp.Submit(ctx, p, sleepy, 0)
	done, pending, _ = mp.Wait(ctx, []*mp.Future[int]{slow, failing}, mp.FirstException)
	if len(done) != 1 || done[0] != failing || len(pending) != 1 {
		t.Errorf("FirstException: done %d pending %d", len(done), len(pending))
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_, pending, err = mp.Wait(tctx, []*mp.Future[int]{slow}, mp.AllCompleted)
	if !errors.Is(err, context.DeadlineExceeded) || len(pending) != 1 {
		t.Errorf("Wait with a timeout: %v, %d pending", err, len(pending))
	}
	for f, err := range mp.AsCompleted(tctx, []*mp.Future[int]{slow}) {
		if f != nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("AsCompleted with an expired ctx: %v, %v", f, err)
		}
	}
	done, _, err = mp.Wait(ctx, []*mp.Future[int]{slow, fast}, mp.AllCompleted)
	if err != nil || len(done) != 2 {
		t.Errorf("AllCompleted: %d done, %v", len(done), err)
	}
}
