package manager_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mp-go/mp/manager"
)

// stagedBackends are the managers whose server bounds the values of one
// call (Limits.Items): a server process on a Unix socket (calls on the
// shared-memory ring) and on TCP. NATS has no such limit.
func stagedBackends(limits manager.Limits) []struct {
	name string
	opts []manager.Option
} {
	return []struct {
		name string
		opts []manager.Option
	}{
		{"unix", []manager.Option{manager.ServerLimits(limits)}},
		{"tcp", []manager.Option{manager.ServerLimits(limits), manager.Listen("tcp", "127.0.0.1:0")}},
	}
}

// A batch above the server's Limits.Items (ErrLimit before the proxies
// split them) works as one call, on every batch method.
func TestBatchAboveItemsLimit(t *testing.T) {
	const limit, n = 10, 25
	for _, be := range stagedBackends(manager.Limits{Items: limit}) {
		t.Run(be.name, func(t *testing.T) {
			ctx := testCtx(t)
			m, err := manager.Start(ctx, be.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Shutdown(ctx)
			vals := make([]int, n)
			for i := range vals {
				vals[i] = i
			}
			l, err := manager.NewList(ctx, m, vals)
			if err != nil {
				t.Fatalf("NewList of %d with Limits.Items %d: %v", n, limit, err)
			}
			if got, err := l.Extend(ctx, vals); got != 2*n || err != nil {
				t.Fatalf("Extend by %d = %d, %v", n, got, err)
			}
			rev := slices.Clone(vals)
			slices.Reverse(rev)
			if err := l.SetMany(ctx, n, rev); err != nil {
				t.Fatalf("SetMany of %d: %v", n, err)
			}
			if all, err := l.All(ctx); err != nil || !slices.Equal(all, slices.Concat(vals, rev)) {
				t.Fatalf("List = %v, %v", all, err)
			}
			a, err := manager.NewArray[int](ctx, m, limit)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.SetMany(ctx, 0, vals); !errors.Is(err, manager.ErrIndex) {
				t.Fatalf("SetMany of %d on an Array of %d: %v", n, limit, err)
			}
			if all, _ := a.All(ctx); !slices.Equal(all, make([]int, limit)) {
				t.Fatalf("a refused staged SetMany changed the array: %v", all)
			}
			d, err := manager.NewDict[int, string](ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			items := map[int]string{}
			for i := range n {
				items[i] = strings.Repeat("v", i)
			}
			if err := d.SetMany(ctx, items); err != nil {
				t.Fatalf("Dict.SetMany of %d: %v", n, err)
			}
			got, found, err := d.GetMany(ctx, append(slices.Sorted(maps.Keys(items)), -1))
			if err != nil || len(got) != n+1 || found[n] {
				t.Fatalf("Dict.GetMany of %d: %d values, %v", n+1, len(got), err)
			}
			for i := range n {
				if !found[i] || got[i] != items[i] {
					t.Fatalf("Dict.GetMany: key %d = %q, %v", i, got[i], found[i])
				}
			}
			q, err := manager.NewQueue[int](ctx, m, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := q.PutMany(ctx, vals); err != nil {
				t.Fatalf("Queue.PutMany of %d: %v", n, err)
			}
			if out, err := q.GetMany(ctx, 2*n); err != nil || !slices.Equal(out, vals) {
				t.Fatalf("Queue.GetMany = %v, %v", out, err)
			}
			// The limit still holds where nothing can be split.
			if _, err := manager.NewArray[int](ctx, m, limit+1); !errors.Is(err, manager.ErrLimit) {
				t.Fatalf("an Array of %d with Limits.Items %d: %v", limit+1, limit, err)
			}
		})
	}
}

// A batch sent in parts is still one call: no other call sees some of
// its values and not the others.
func TestStagedBatchAtomic(t *testing.T) {
	ctx := testCtx(t)
	m, err := manager.Start(ctx, manager.ServerLimits(manager.Limits{Items: 10}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	l, err := manager.NewList[int](ctx, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	const batch, rounds = 95, 20
	var done atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Int64
	wg.Go(func() {
		for !done.Load() {
			n, err := l.Len(ctx)
			if err != nil || n%batch != 0 {
				bad.Store(int64(n))
				return
			}
		}
	})
	for range rounds {
		if _, err := l.Extend(ctx, make([]int, batch)); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Fatalf("a reader saw a list of %d items, part of an Extend of %d", n, batch)
	}
}

// A batch above MaxMessage in bytes (each value fitting) goes in parts
// too; one value above it is still ErrTooBig.
func TestBatchAboveMaxMessage(t *testing.T) {
	ctx := testCtx(t)
	m := start(t)
	small, err := manager.Connect(ctx, m.Address(), m.AuthKey(), manager.MaxMessage(1<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	l, err := manager.NewList[string](ctx, small, nil)
	if err != nil {
		t.Fatal(err)
	}
	vals := slices.Repeat([]string{strings.Repeat("x", 100)}, 50) // 5 KiB
	if n, err := l.Extend(ctx, vals); n != 50 || err != nil {
		t.Fatalf("Extend by 5 KiB with MaxMessage 1 KiB = %d, %v", n, err)
	}
	if _, err := l.Extend(ctx, []string{"a", strings.Repeat("x", 2000)}); !errors.Is(err, manager.ErrTooBig) {
		t.Fatalf("a value above MaxMessage: %v", err)
	}
	if n, err := l.Len(ctx); n != 50 || err != nil {
		t.Fatalf("after a refused batch: Len = %d, %v", n, err)
	}
}

// The regression that Limits made: 2.5 million values in one call, as
// Python's manager takes, with the default limit (1<<20).
func TestBatchOfMillions(t *testing.T) {
	if testing.Short() {
		t.Skip("2.5 million values")
	}
	const n = 2_500_000
	vals := make([]int32, n)
	for i := range vals {
		vals[i] = int32(i)
	}
	for _, be := range stagedBackends(manager.Limits{}) {
		t.Run(be.name, func(t *testing.T) {
			ctx := testCtx(t)
			m, err := manager.Start(ctx, be.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Shutdown(ctx)
			l, err := manager.NewList(ctx, m, vals)
			if err != nil {
				t.Fatalf("NewList of %d: %v", n, err)
			}
			if got, err := l.Extend(ctx, vals[:n/2]); got != n+n/2 || err != nil {
				t.Fatalf("Extend by %d = %d, %v", n/2, got, err)
			}
			got, err := l.Slice(ctx, n-2, n+2)
			if err != nil || !slices.Equal(got, []int32{n - 2, n - 1, 0, 1}) {
				t.Fatalf("Slice around the join = %v, %v", got, err)
			}
			q, err := manager.NewQueue[int32](ctx, m, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := q.PutMany(ctx, vals); err != nil {
				t.Fatalf("PutMany of %d: %v", n, err)
			}
			if size, err := q.Qsize(ctx); size != n || err != nil {
				t.Fatalf("Qsize = %d, %v", size, err)
			}
		})
	}
}

// A call above the ring's message size (1 MiB) goes on the socket, and
// its small reply comes on the ring: the caller must read the ring all
// the same (it waited for its context before).
func TestBigCallSmallReply(t *testing.T) {
	ctx := testCtx(t)
	m := start(t)
	l, err := manager.NewList[int32](ctx, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]int32, 300_000) // 5 bytes each: 1.8 MB
	for i := range vals {
		vals[i] = 1<<20 + int32(i)
	}
	if n, err := l.Extend(ctx, vals); n != len(vals) || err != nil {
		t.Fatalf("Extend by 1.8 MB = %d, %v", n, err)
	}
}
