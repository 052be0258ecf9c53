package mp_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// failAt7 fails item 7; the items before it are slower, so that the
// failure comes first in time while they still run.
var failAt7 = mp.Register("test.failAt7", func(_ context.Context, x int) (int, error) {
	if x == 7 {
		return 0, errBoom
	}
	if x < 7 {
		time.Sleep(time.Duration(7-x) * time.Millisecond)
	}
	return x * 10, nil
})

// poolKinds are the pools every fidelity test runs on.
var poolKinds = []struct {
	name string
	opts []mp.PoolOption
}{
	{"Threads(1)", []mp.PoolOption{mp.Threads(1)}},
	{"Threads(4)", []mp.PoolOption{mp.Threads(4)}},
	{"Processes(2)", []mp.PoolOption{mp.Processes(2)}},
}

// panicsAt yields 0..n-1 and panics at n, as a raising generator does.
func panicsAt(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; ; i++ {
			if i == n {
				panic("input broke")
			}
			if !yield(i) {
				return
			}
		}
	}
}

// CPython: _TestPool.test_map_exception (concurrent.futures
// ExecutorTest.test_map_exception), _TestPool.test_imap_handle_iterable_exception
//
// The results before the failed item come first, then the error, on every
// run, whatever the chunking and however many workers.
func TestOrderedResultsBeforeAnError(t *testing.T) {
	ctx := context.Background()
	want := []int{0, 10, 20, 30, 40, 50, 60}
	for _, kind := range poolKinds {
		t.Run(kind.name, func(t *testing.T) {
			p := newPool(t, kind.opts...)
			for _, chunk := range []mp.Option{nil, mp.Chunksize(1), mp.Chunksize(3)} {
				for run := range 10 {
					what := fmt.Sprintf("run %d chunk option %v", run, chunk != nil)
					// Imap: results 0..6, then the error of item 7.
					var got []int
					var errs []error
					within(t, "Imap", func() {
						for v, err := range mp.Imap(ctx, p, failAt7, slices.Values(ints(20)), chunk) {
							if err != nil {
								errs = append(errs, err)
								continue
							}
							got = append(got, v)
						}
					})
					var te *mp.TaskError
					if !slices.Equal(got, want) || len(errs) != 1 || !errors.As(errs[0], &te) || te.Index != 7 {
						t.Fatalf("%s: Imap yielded %v then %v; want %v then the error of item 7", what, got, errs, want)
					}
					// Map: the same results, with the error.
					var out []int
					var err error
					within(t, "Map", func() { out, err = mp.Map(ctx, p, failAt7, ints(20), chunk) })
					if !slices.Equal(out, want) || !errors.As(err, &te) || te.Index != 7 {
						t.Fatalf("%s: Map = %v, %v; want %v and the error of item 7", what, out, err, want)
					}
					// An input that panics at item 6: results 0..5, then
					// an error carrying the panic.
					got, errs = nil, nil
					within(t, "Imap over a panicking input", func() {
						for v, err := range mp.Imap(ctx, p, square, panicsAt(6), chunk) {
							if err != nil {
								errs = append(errs, err)
								continue
							}
							got = append(got, v)
						}
					})
					var pe *mp.PanicError
					if !slices.Equal(got, []int{0, 1, 4, 9, 16, 25}) || len(errs) != 1 || !errors.As(errs[0], &pe) || !strings.Contains(errs[0].Error(), "input broke") {
						t.Fatalf("%s: Imap over a panicking input yielded %v then %v; want 0 1 4 9 16 25 then the panic", what, got, errs)
					}
				}
			}
			// Unordered: every result that came before the input
			// panicked is yielded, then the panic.
			var n int
			var last error
			within(t, "ImapUnordered over a panicking input", func() {
				for _, err := range mp.ImapUnordered(ctx, p, square, panicsAt(6)) {
					if err != nil {
						last = err
						continue
					}
					n++
				}
			})
			if n != 6 || last == nil || !strings.Contains(last.Error(), "input broke") {
				t.Errorf("ImapUnordered over a panicking input: %d results then %v; want 6 then the panic", n, last)
			}
			p.Close()
		})
	}
}

// CPython: _TestPool.test_async (map_async; close(); join()), and
// concurrent.futures' shutdown(wait=True) after submit.
//
// Work accepted by MapAsync, StarmapAsync, ApplyAsync and Submit before
// Close runs, and Close (or Join) returns with every Future resolved.
func TestAsyncCallsThenCloseRunEverything(t *testing.T) {
	ctx := context.Background()
	for _, kind := range poolKinds {
		for _, end := range []string{"Close", "Join"} {
			t.Run(kind.name+"/"+end, func(t *testing.T) {
				p := newPool(t, kind.opts...)
				m := mp.MapAsync(ctx, p, failAt7, []int{8, 9, 10, 11, 12})
				sm := mp.StarmapAsync(ctx, p, r2, []mp.Args2[int, int]{{A1: 5, A2: 3}, {A1: 1, A2: 2}})
				a := mp.ApplyAsync(ctx, p, square, 9)
				s := mp.Submit(ctx, p, square, 4)
				if end == "Close" {
					within(t, "Close", func() { p.Close() })
				} else {
					within(t, "Join", p.Join)
				}
				for name, ready := range map[string]bool{"MapAsync": m.Ready(), "StarmapAsync": sm.Ready(), "ApplyAsync": a.Ready(), "Submit": s.Ready()} {
					if !ready {
						t.Errorf("%s: the Future is not resolved after %s", name, end)
					}
				}
				if v, err := m.Get(ctx); err != nil || !slices.Equal(v, []int{80, 90, 100, 110, 120}) {
					t.Errorf("MapAsync = %v, %v", v, err)
				}
				if v, err := sm.Get(ctx); err != nil || !slices.Equal(v, []int{2, -1}) {
					t.Errorf("StarmapAsync = %v, %v", v, err)
				}
				if v, err := a.Get(ctx); err != nil || v != 81 {
					t.Errorf("ApplyAsync = %v, %v", v, err)
				}
				if v, err := s.Get(ctx); err != nil || v != 16 {
					t.Errorf("Submit = %v, %v", v, err)
				}
				if end == "Close" {
					if _, err := mp.MapAsync(ctx, p, square, ints(3)).Get(ctx); !errors.Is(err, mp.ErrClosed) {
						t.Errorf("MapAsync after Close: %v, want ErrClosed", err)
					}
				}
				p.Close()
			})
		}
	}
}

// A pool closed while Imap is being ranged over: the results of every
// item the pool took come in order, then one error wrapping ErrClosed for
// the input it did not take.
func TestImapAcrossClose(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, mp.Threads(2))
	endless := func(yield func(int) bool) {
		for i := 0; yield(i); i++ {
		}
	}
	slow := mp.Fn(func(_ context.Context, x int) (int, error) {
		time.Sleep(100 * time.Microsecond)
		return x * x, nil
	})
	closed := make(chan struct{})
	var got []int
	var errs []error
	within(t, "Imap across Close", func() {
		for v, err := range mp.Imap(ctx, p, slow, endless, mp.Chunksize(4)) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if len(got) == 0 {
				go func() { p.Close(); close(closed) }()
			}
			got = append(got, v)
		}
	})
	within(t, "Close", func() { <-closed })
	for i, v := range got {
		if v != i*i {
			t.Fatalf("result %d = %d: a gap before the end", i, v)
		}
	}
	if len(got) == 0 || len(errs) != 1 || !errors.Is(errs[0], mp.ErrClosed) {
		t.Errorf("%d results then %v; want some results then one ErrClosed", len(got), errs)
	}
}
