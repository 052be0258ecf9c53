//go:build unix

package mp_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// fakeMem is the memory a MemFree pool sees in the tests.
type fakeMem struct{ n atomic.Int64 }

func (f *fakeMem) Available() int64 { return f.n.Load() }

func newFakeMem(n int64) *fakeMem {
	f := &fakeMem{}
	f.n.Store(n)
	return f
}

// memArg is an item of memHold: it runs in Dir until Dir/go-Item exists.
type memArg struct {
	Dir  string
	Item int
}

// memHold records its start in a file start-ITEM-PID-* (the pid in the
// name: a file created and then written could be read empty), waits
// (at most a minute) for the file go-ITEM, and returns 10·Item.
var memHold = mp.Register("test.memHold", func(ctx context.Context, a memArg) (int, error) {
	f, err := os.CreateTemp(a.Dir, fmt.Sprintf("start-%d-%d-*", a.Item, os.Getpid()))
	if err != nil {
		return 0, err
	}
	f.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(a.Dir, fmt.Sprintf("go-%d", a.Item))); err == nil {
			return 10 * a.Item, nil
		}
		if time.Now().After(deadline) {
			return 0, errors.New("never told to go")
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
})

// memStarts returns the pids of the starts of item, in no order.
func memStarts(t *testing.T, dir string, item int) []int {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("start-%d-*", item)))
	var pids []int
	for _, n := range names {
		f := strings.Split(filepath.Base(n), "-")
		pid, err := strconv.Atoi(f[2])
		if err != nil || pid <= 0 {
			t.Fatalf("the start file %s names no pid", n)
		}
		pids = append(pids, pid)
	}
	return pids
}

// memAllStarts counts the starts of every item.
func memAllStarts(dir string) int {
	names, _ := filepath.Glob(filepath.Join(dir, "start-*"))
	return len(names)
}

func memGo(t *testing.T, dir string, item int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("go-%d", item)), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitUntil waits until cond holds, failing after long.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(long)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", long, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// While memory is short a MemFree pool of two runs one job at a time (a
// job alone always runs), and both again once memory is back.
func TestMemFreeHoldsBack(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  mp.PoolOption
	}{
		{"threads", mp.Threads(2)},
		{"processes", mp.Processes(2)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mem := newFakeMem(600) // short, not critical: nothing is killed
			p := newPool(t, tt.opt, mp.MemFree(1000), mp.MemSource(mem))
			items := make([]memArg, 4)
			for i := range items {
				items[i] = memArg{dir, i}
			}
			fut := mp.MapAsync(context.Background(), p, memHold, items, mp.Chunksize(1))
			waitUntil(t, "item 0 to start", func() bool { return len(memStarts(t, dir, 0)) == 1 })
			waitUntil(t, "the other worker to hold back", func() bool { return p.Stats().MemoryWaits >= 1 })
			if n := memAllStarts(dir); n != 1 {
				t.Fatalf("%d items started while memory is short, want 1", n)
			}
			memGo(t, dir, 0) // item 0 ends: item 1 runs alone
			waitUntil(t, "item 1 to start", func() bool { return len(memStarts(t, dir, 1)) == 1 })
			waitUntil(t, "a worker to hold item 2 back", func() bool { return p.Stats().MemoryWaits >= 2 })
			if n := memAllStarts(dir); n != 2 {
				t.Fatalf("%d items started while memory is short, want 2 (0, then 1 alone)", n)
			}
			mem.n.Store(10000) // memory is back: item 2 runs next to item 1
			waitUntil(t, "item 2 to start beside item 1", func() bool { return len(memStarts(t, dir, 2)) == 1 })
			memGo(t, dir, 2)
			waitUntil(t, "item 3 to start beside item 1", func() bool { return len(memStarts(t, dir, 3)) == 1 })
			memGo(t, dir, 1)
			memGo(t, dir, 3)
			got, err := fut.Get(context.Background())
			if err != nil || !slices.Equal(got, []int{0, 10, 20, 30}) {
				t.Fatalf("Map = %v, %v; want [0 10 20 30]", got, err)
			}
			s := waitIdle(t, p)
			wantCounts(t, s, 4, 0, 0)
			if s.Restarts.Total() != 0 {
				t.Errorf("restarts %+v: nothing is killed above half of MemFree", s.Restarts)
			}
		})
	}
}

// On a process pool, under half of MemFree the worker that took its job
// last is killed and its item runs again once memory is back: the oldest
// runs on, each item's result is delivered once, nothing fails, and Stats
// counts the kill.
func TestMemFreeKillsYoungestWorker(t *testing.T) {
	dir := t.TempDir()
	mem := newFakeMem(10000)
	p := newPool(t, mp.Processes(2), mp.MemFree(1000), mp.MemSource(mem))
	ctx := context.Background()
	old := mp.Submit(ctx, p, memHold, memArg{dir, 0})
	waitUntil(t, "item 0 to start", func() bool { return len(memStarts(t, dir, 0)) == 1 })
	young := mp.Submit(ctx, p, memHold, memArg{dir, 1})
	waitUntil(t, "item 1 to start", func() bool { return len(memStarts(t, dir, 1)) == 1 })
	oldPID, youngPID := memStarts(t, dir, 0)[0], memStarts(t, dir, 1)[0]

	mem.n.Store(400) // critical: the youngest, item 1's worker, is killed
	waitUntil(t, "a MemFree restart", func() bool { return p.Stats().Restarts.MemFree >= 1 })
	waitUntil(t, "item 1's worker to die", func() bool { return syscall.Kill(youngPID, 0) != nil })
	waitUntil(t, "item 1 to be held back", func() bool { return p.Stats().MemoryWaits >= 1 })
	if syscall.Kill(oldPID, 0) != nil {
		t.Fatal("item 0's worker, the oldest, was killed")
	}
	if n := len(memStarts(t, dir, 1)); n != 1 {
		t.Fatalf("item 1 started %d times while memory is critical, want 1 (it waits)", n)
	}

	mem.n.Store(10000) // memory is back: item 1 runs again, on a new worker
	waitUntil(t, "item 1 to start again", func() bool { return len(memStarts(t, dir, 1)) == 2 })
	memGo(t, dir, 0)
	memGo(t, dir, 1)
	for i, f := range []*mp.Future[int]{old, young} {
		got, err := f.Get(ctx)
		if err != nil || got != 10*i {
			t.Errorf("item %d: %v, %v; want %d", i, got, err, 10*i)
		}
	}
	if pids := memStarts(t, dir, 0); len(pids) != 1 {
		t.Errorf("item 0 ran %d times, want once", len(pids))
	}
	s := waitIdle(t, p)
	wantCounts(t, s, 2, 0, 0)
	if s.Restarts.MemFree != 1 || s.Restarts.Total() != 1 || s.Retried != 0 {
		t.Errorf("restarts %+v, retried %d; want one MemFree restart and no retry", s.Restarts, s.Retried)
	}
}

// A call's items are each delivered once when one of its workers is
// killed for memory in the middle of a chunk.
func TestMemFreeKillKeepsResultsExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	mem := newFakeMem(10000)
	p := newPool(t, mp.Processes(2), mp.MemFree(1000), mp.MemSource(mem))
	items := make([]memArg, 8)
	for i := range items {
		items[i] = memArg{dir, i}
	}
	for i := range items {
		if i != 1 && i != 5 {
			memGo(t, dir, i) // 1 and 5, the second of each chunk, wait
		}
	}
	got := map[int]int{}
	done := make(chan error, 1)
	go func() {
		var errs []error
		for r, err := range mp.ImapUnordered(context.Background(), p, memHold, slices.Values(items), mp.Chunksize(4)) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got[r]++
		}
		done <- errors.Join(errs...)
	}()
	waitUntil(t, "items 1 and 5 to start", func() bool {
		return len(memStarts(t, dir, 1)) == 1 && len(memStarts(t, dir, 5)) == 1
	})
	mem.n.Store(400)
	waitUntil(t, "a MemFree restart", func() bool { return p.Stats().Restarts.MemFree >= 1 })
	mem.n.Store(10000)
	waitUntil(t, "item 1 or 5 to start again", func() bool {
		return len(memStarts(t, dir, 1))+len(memStarts(t, dir, 5)) == 3
	})
	memGo(t, dir, 1)
	memGo(t, dir, 5)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(long):
		t.Fatal("the call did not end")
	}
	for i := range items {
		if got[10*i] != 1 {
			t.Errorf("result of item %d delivered %d times, want once (%v)", i, got[10*i], got)
		}
	}
	s := waitIdle(t, p)
	wantCounts(t, s, 8, 0, 0)
	if s.Restarts.MemFree != 1 {
		t.Errorf("restarts %+v, want one MemFree", s.Restarts)
	}
}

// MemFree is a pool option (a call does not take it: a compile error,
// see TestPoolOnlyOptionsAreNotCallOptions), refused on a cluster pool.
func TestMemFreeOptions(t *testing.T) {
	if _, ok := mp.MemFree(1).(mp.Option); ok {
		t.Error("MemFree is a call Option")
	}
	p, err := mp.NewPool(mp.Cluster("nats://127.0.0.1:1"), mp.MemFree(1<<30))
	if p != nil {
		p.Terminate()
	}
	if !errors.Is(err, mp.ErrInvalidOption) {
		t.Errorf("MemFree on a cluster pool: err = %v, want ErrInvalidOption", err)
	}
}
