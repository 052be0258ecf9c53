package mp_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/progress"
)

// counting yields 0, 1, 2, ... up to n (forever if n < 0) and counts what
// was pulled.
func counting(n int, pulled *atomic.Int64) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; n < 0 || i < n; i++ {
			pulled.Add(1)
			if !yield(i) {
				return
			}
		}
	}
}

func TestImapOrderedWithUnequalTasks(t *testing.T) {
	p := newPool(t, mp.Threads(3))
	f := mp.Fn(func(ctx context.Context, x int) (int, error) {
		time.Sleep(time.Duration(x%4) * time.Millisecond) // later items often finish first
		return x * x, nil
	})
	var pulled atomic.Int64
	i := 0
	for v, err := range mp.Imap(context.Background(), p, f, counting(200, &pulled)) {
		if err != nil {
			t.Fatal(err)
		}
		if v != i*i {
			t.Fatalf("result %d = %d, want %d (out of order)", i, v, i*i)
		}
		i++
	}
	if i != 200 {
		t.Errorf("%d results, want 200", i)
	}
}

// The notes' imap_unordered demo, in a synctest bubble: sleeps advance a
// fake clock, so completion order is exact however busy the machine is.
func TestImapUnorderedYieldsInCompletionOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := mp.NewPool(mp.Threads(3))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		f := mp.Fn(func(ctx context.Context, x int) (int, error) {
			time.Sleep(time.Duration(4-x) * time.Second)
			return x, nil
		})
		in := slices.Values([]int{0, 1, 2})
		var unordered, ordered []int
		for v, err := range mp.ImapUnordered(context.Background(), p, f, in, mp.Chunksize(1)) {
			if err != nil {
				t.Fatal(err)
			}
			unordered = append(unordered, v)
		}
		for v, err := range mp.Imap(context.Background(), p, f, in, mp.Chunksize(1)) {
			if err != nil {
				t.Fatal(err)
			}
			ordered = append(ordered, v)
		}
		if !slices.Equal(unordered, []int{2, 1, 0}) || !slices.Equal(ordered, []int{0, 1, 2}) {
			t.Errorf("unordered %v (want 2 1 0), ordered %v (want 0 1 2)", unordered, ordered)
		}
	})
}

func TestImapIsLazyAndBounded(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	for _, ordered := range []bool{true, false} {
		var pulled atomic.Int64
		seq := counting(-1, &pulled) // endless
		call := mp.Imap[int, int]
		if !ordered {
			call = mp.ImapUnordered[int, int]
		}
		n := 0
		within(t, "break out of an endless Imap", func() {
			for _, err := range call(context.Background(), p, square, seq) {
				if err != nil {
					t.Error(err)
				}
				if n++; n == 100_000 {
					break
				}
			}
		})
		// The window holds at most 8 chunks of at most 16384 items, and
		// the feeder fills one more before it waits for room for it.
		if got := pulled.Load(); got > int64(n)+9*16384+1 {
			t.Errorf("ordered=%v: %d items pulled for %d results: input not bounded", ordered, got, n)
		}
	}
	// Nothing runs before the loop starts.
	var pulled atomic.Int64
	seq := mp.Imap(context.Background(), p, square, counting(10, &pulled))
	// An absence has no event to wait for: the sleep gives an eager pull
	// time to show. The test holds either way.
	time.Sleep(10 * time.Millisecond)
	if pulled.Load() != 0 {
		t.Error("Imap pulled input before being ranged over")
	}
	total := 0
	for range seq {
		total++
	}
	for range seq { // a second range runs the call again
		total++
	}
	if total != 20 {
		t.Errorf("two ranges gave %d results, want 20", total)
	}
}

func TestImapBreakCancelsInFlight(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	var cancelled atomic.Int32
	running := make(chan struct{}, 10)
	f := mp.Fn(func(ctx context.Context, x int) (int, error) {
		if x == 0 {
			return 0, nil
		}
		running <- struct{}{}
		<-ctx.Done()
		cancelled.Add(1)
		return 0, ctx.Err()
	})
	within(t, "break", func() {
		for range mp.Imap(context.Background(), p, f, slices.Values(ints(10)), mp.Chunksize(1)) {
			// Break while a task is in flight (one may not have started yet
			// when the first result arrives on a busy machine).
			select {
			case <-running:
			case <-time.After(10 * time.Second):
				t.Error("no task started after the first result") // fn runs on another goroutine: no Fatal
			}
			break
		}
	})
	within(t, "Join", p.Join)
	if cancelled.Load() == 0 {
		t.Error("in-flight tasks were not cancelled by break")
	}
}

func TestImapErrors(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	f := mp.Fn(func(ctx context.Context, x int) (int, error) {
		if x%5 == 2 {
			return 0, errBoom
		}
		return x, nil
	})
	ctx := context.Background()
	// Default: the first failure ends the sequence.
	var errs []error
	for _, err := range mp.Imap(ctx, p, f, slices.Values(ints(20)), mp.Chunksize(1)) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var te *mp.TaskError
	if len(errs) != 1 || !errors.As(errs[0], &te) || !errors.Is(errs[0], errBoom) {
		t.Fatalf("errors %v, want one *TaskError", errs)
	}
	// Partial: every failure in its place.
	var got []int
	var failed []int
	for v, err := range mp.Imap(ctx, p, f, slices.Values(ints(20)), mp.Partial()) {
		if errors.As(err, &te) {
			failed = append(failed, te.Index)
			continue
		}
		got = append(got, v)
	}
	if !slices.Equal(failed, []int{2, 7, 12, 17}) || len(got) != 16 {
		t.Errorf("failed %v, %d results; want 2 7 12 17 and 16", failed, len(got))
	}
	failed = failed[:0]
	for _, err := range mp.ImapUnordered(ctx, p, f, slices.Values(ints(20)), mp.Partial()) {
		if errors.As(err, &te) {
			failed = append(failed, te.Index)
		}
	}
	slices.Sort(failed)
	if !slices.Equal(failed, []int{2, 7, 12, 17}) {
		t.Errorf("unordered failed %v", failed)
	}
	// A panicking input sequence is an error, not a crash.
	bad := func(yield func(int) bool) {
		yield(1)
		panic("input broke")
	}
	var last error
	for _, err := range mp.Imap(ctx, p, square, bad) {
		last = err
	}
	var pe *mp.PanicError
	if !errors.As(last, &pe) || !strings.Contains(last.Error(), "input sequence") {
		t.Errorf("input panic: %v", last)
	}
	// A closed pool.
	p2 := newPool(t, mp.Threads(1))
	p2.Close()
	for _, err := range mp.Imap(ctx, p2, square, slices.Values(ints(3))) {
		if !errors.Is(err, mp.ErrClosed) {
			t.Errorf("Imap on a closed pool: %v", err)
		}
	}
}

func TestImapProgressTotal(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	var buf strings.Builder // read after the call has closed its bar
	for _, err := range mp.Imap(context.Background(), p, square, slices.Values(ints(30)),
		mp.Progress("stream", progress.Total(30), progress.Writer(&buf), progress.WithMode(progress.Plain))) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(buf.String(), "stream: 30/30 100%") {
		t.Errorf("progress %q", buf.String())
	}
}

func TestImapAdaptiveChunksKeepSlowTasksParallel(t *testing.T) {
	p := newPool(t, mp.Threads(4))
	pt := newPeakTracker(t)
	f := mp.Fn(func(ctx context.Context, x int) (int, error) {
		pt.enter() // until a second task runs at once
		defer pt.leave()
		time.Sleep(10 * time.Millisecond) // then slow: a task's work
		return x, nil
	})
	for _, err := range mp.ImapUnordered(context.Background(), p, f, slices.Values(ints(40))) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := pt.peak.Load(); n < 2 {
		t.Errorf("slow tasks ran %d at a time on 4 workers: chunks grew too big", n)
	}
}
