package manager_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager"
)

// TestConformance runs the conformance suite on every backend: a server
// process (Unix socket, TCP) and NATS. It is the manager's
// testing/fstest.TestFS: every operation of the table, every kind, with
// Python's semantics, and the same answers from each backend.
func TestConformance(t *testing.T) {
	backends(t, conformance)
}

// conformance checks that m, a manager of any backend, runs every
// operation of every kind as the others do; it ends with m shut down,
// and fails if an operation of the table (manager/internal/ops) was not
// run.
func conformance(t *testing.T, ctx context.Context, m *manager.Manager) {
	seen := manager.RecordOps(m)
	cases := []struct {
		name string
		f    func(t *testing.T, ctx context.Context, m *manager.Manager)
	}{
		{"Dict", conformDict},
		{"Namespace", conformNamespace},
		{"Value", conformValue},
		{"List", conformList},
		{"Array", conformArray},
		{"Queue", conformQueue},
		{"Lock", conformLock},
		{"RLock", conformRLock},
		{"Semaphore", conformSemaphore},
		{"Event", conformEvent},
		{"Condition", conformCondition},
		{"Barrier", conformBarrier},
		{"Type", conformType},
		{"Named", conformNamed},
	}
	ran := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { ran++; tc.f(t, ctx, m) })
	}
	d, err := manager.NewDict[string, int](ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, _, err := d.Get(ctx, "k"); !errors.Is(err, manager.ErrServerGone) {
		t.Errorf("a call after Shutdown: %v, want ErrServerGone", err)
	}
	if ran < len(cases) {
		return // -run chose some: the others' operations did not run
	}
	got := seen()
	for _, op := range manager.OpTable() {
		if !got[op] {
			t.Errorf("the suite never ran %s: add it to the conformance suite", op)
		}
	}
}

// is fails t unless err wraps want (nil: no error).
func is(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// equal fails t unless got equals want.
func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// equalSlices fails t unless got equals want.
func equalSlices[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// short returns a context that ends soon, for a call that must wait in
// vain.
func short(t *testing.T, ctx context.Context) context.Context {
	c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	t.Cleanup(cancel)
	return c
}

// eventually waits until cond holds, failing t when ctx ends first.
func eventually(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting until %s: %v", what, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// async runs f in a goroutine; the channel gets its error.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// await returns what async's f returned, failing t when ctx ends first.
func await(t *testing.T, ctx context.Context, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		t.Fatalf("%s did not return: %v", what, ctx.Err())
		return nil
	}
}

func conformDict(t *testing.T, ctx context.Context, m *manager.Manager) {
	d, err := manager.NewDict[string, int](ctx, m)
	is(t, "NewDict", err, nil)
	v, ok, err := d.Get(ctx, "a")
	is(t, "Get of a missing key", err, nil)
	equal(t, "Get of a missing key", v != 0 || ok, false)
	is(t, "Set", d.Set(ctx, "a", 1), nil)
	is(t, "Set", d.Set(ctx, "b", 2), nil)
	is(t, "SetMany", d.SetMany(ctx, map[string]int{"c": 3}), nil)
	v, ok, err = d.SetDefault(ctx, "a", 9)
	is(t, "SetDefault", err, nil)
	equal(t, "SetDefault of a key that is there", [2]any{v, ok}, [2]any{1, true})
	v, ok, err = d.SetDefault(ctx, "d", 4)
	is(t, "SetDefault", err, nil)
	equal(t, "SetDefault of a missing key", [2]any{v, ok}, [2]any{4, false})
	v, ok, err = d.Get(ctx, "a")
	is(t, "Get", err, nil)
	equal(t, "Get", [2]any{v, ok}, [2]any{1, true})
	has, err := d.Contains(ctx, "b")
	is(t, "Contains", err, nil)
	equal(t, "Contains of a key that is there", has, true)
	has, _ = d.Contains(ctx, "x")
	equal(t, "Contains of a missing key", has, false)
	n, err := d.Len(ctx)
	is(t, "Len", err, nil)
	equal(t, "Len", n, 4)

	// Python's dict keeps the order of first insertion: setting a key
	// that is there does not move it.
	is(t, "Set", d.Set(ctx, "a", 10), nil)
	keys, err := d.Keys(ctx)
	is(t, "Keys", err, nil)
	equalSlices(t, "Keys", keys, []string{"a", "b", "c", "d"})
	vals, err := d.Values(ctx)
	is(t, "Values", err, nil)
	equalSlices(t, "Values", vals, []int{10, 2, 3, 4})
	items, err := d.Items(ctx)
	is(t, "Items", err, nil)
	equalSlices(t, "Items", items, []manager.Item[string, int]{{"a", 10}, {"b", 2}, {"c", 3}, {"d", 4}})
	cp, err := d.Copy(ctx)
	is(t, "Copy", err, nil)
	equal(t, "len(Copy)", len(cp), 4)

	gv, found, err := d.GetMany(ctx, []string{"a", "x", "c"})
	is(t, "GetMany", err, nil)
	equalSlices(t, "GetMany's values", gv, []int{10, 0, 3})
	equalSlices(t, "GetMany's found", found, []bool{true, false, true})

	v, err = d.Update(ctx, "a", manager.Add(5))
	is(t, "Update", err, nil)
	equal(t, "Update", v, 15)
	v, err = d.Update(ctx, "e", manager.Add(1))
	is(t, "Update of a missing key", err, nil)
	equal(t, "Update of a missing key", v, 1)

	ok, err = d.CompareAndSwap(ctx, "a", 15, 16)
	is(t, "CompareAndSwap", err, nil)
	equal(t, "CompareAndSwap with the value", ok, true)
	ok, _ = d.CompareAndSwap(ctx, "a", 15, 17)
	equal(t, "CompareAndSwap with a stale value", ok, false)
	ok, _ = d.CompareAndSwap(ctx, "missing", 0, 1)
	equal(t, "CompareAndSwap of a missing key", ok, false)

	v, ok, err = d.Pop(ctx, "b")
	is(t, "Pop", err, nil)
	equal(t, "Pop", [2]any{v, ok}, [2]any{2, true})
	_, ok, _ = d.Pop(ctx, "b")
	equal(t, "Pop of a missing key", ok, false)
	ok, err = d.Delete(ctx, "c")
	is(t, "Delete", err, nil)
	equal(t, "Delete", ok, true)

	// popitem: the pair inserted last (a, d, e are left).
	k, v, ok, err := d.PopItem(ctx)
	is(t, "PopItem", err, nil)
	equal(t, "PopItem", [3]any{k, v, ok}, [3]any{"e", 1, true})
	keys, _ = d.Keys(ctx)
	equalSlices(t, "Keys after PopItem", keys, []string{"a", "d"})

	is(t, "Clear", d.Clear(ctx), nil)
	n, _ = d.Len(ctx)
	equal(t, "Len after Clear", n, 0)
	_, _, ok, err = d.PopItem(ctx)
	is(t, "PopItem of an empty dict", err, nil)
	equal(t, "PopItem of an empty dict", ok, false)
}

func conformNamespace(t *testing.T, ctx context.Context, m *manager.Manager) {
	ns, err := m.Namespace(ctx)
	is(t, "Namespace", err, nil)
	var x int
	is(t, "Get of a missing attribute", ns.Get(ctx, "x", &x), manager.ErrNotFound)
	is(t, "Set", ns.Set(ctx, "x", 1), nil)
	is(t, "Set", ns.Set(ctx, "y", "why"), nil)
	x, err = manager.Attr[int](ctx, ns, "x")
	is(t, "Attr", err, nil)
	equal(t, "Attr", x, 1)
	y, err := manager.Attr[string](ctx, ns, "y")
	is(t, "Attr", err, nil)
	equal(t, "Attr", y, "why")
	x, err = manager.UpdateAttr(ctx, ns, "x", manager.Add(2))
	is(t, "UpdateAttr", err, nil)
	equal(t, "UpdateAttr", x, 3)
	z, err := manager.UpdateAttr(ctx, ns, "z", manager.Add(1))
	is(t, "UpdateAttr of a missing attribute", err, nil)
	equal(t, "UpdateAttr of a missing attribute", z, 1)
	is(t, "Set", ns.Set(ctx, "x", 4), nil)
	names, err := ns.Names(ctx)
	is(t, "Names", err, nil)
	equalSlices(t, "Names (in the order first set)", names, []string{"x", "y", "z"})
	ok, err := ns.Delete(ctx, "x")
	is(t, "Delete", err, nil)
	equal(t, "Delete", ok, true)
	ok, _ = ns.Delete(ctx, "x")
	equal(t, "Delete of a missing attribute", ok, false)
	names, _ = ns.Names(ctx)
	equalSlices(t, "Names after Delete", names, []string{"y", "z"})
}

func conformValue(t *testing.T, ctx context.Context, m *manager.Manager) {
	v, err := manager.NewValue(ctx, m, 7)
	is(t, "NewValue", err, nil)
	x, err := v.Get(ctx)
	is(t, "Get", err, nil)
	equal(t, "Get", x, 7)
	is(t, "Set", v.Set(ctx, 8), nil)
	x, err = v.Update(ctx, manager.Add(2))
	is(t, "Update", err, nil)
	equal(t, "Update", x, 10)
	ok, err := v.CompareAndSwap(ctx, 10, 11)
	is(t, "CompareAndSwap", err, nil)
	equal(t, "CompareAndSwap with the value", ok, true)
	ok, _ = v.CompareAndSwap(ctx, 10, 12)
	equal(t, "CompareAndSwap with a stale value", ok, false)
	x, _ = v.Get(ctx)
	equal(t, "Get", x, 11)
}

func conformList(t *testing.T, ctx context.Context, m *manager.Manager) {
	l, err := manager.NewList(ctx, m, []int{3, 1, 2})
	is(t, "NewList", err, nil)
	n, err := l.Append(ctx, 4)
	is(t, "Append", err, nil)
	equal(t, "Append", n, 4)
	n, err = l.Extend(ctx, []int{5, 1})
	is(t, "Extend", err, nil)
	equal(t, "Extend", n, 6)
	x, err := l.Get(ctx, -1)
	is(t, "Get", err, nil)
	equal(t, "Get(-1)", x, 1)
	_, err = l.Get(ctx, 6)
	is(t, "Get out of range", err, manager.ErrIndex)
	is(t, "Set", l.Set(ctx, 1, 7), nil)
	is(t, "Set out of range", l.Set(ctx, -7, 7), manager.ErrIndex)
	is(t, "SetMany", l.SetMany(ctx, 4, []int{8, 9}), nil)
	is(t, "SetMany past the end", l.SetMany(ctx, 5, []int{8, 9}), manager.ErrIndex)
	all, err := l.All(ctx)
	is(t, "All", err, nil)
	equalSlices(t, "All", all, []int{3, 7, 2, 4, 8, 9})
	s, err := l.Slice(ctx, 1, 3)
	is(t, "Slice", err, nil)
	equalSlices(t, "Slice(1, 3)", s, []int{7, 2})
	s, _ = l.Slice(ctx, -2, 100)
	equalSlices(t, "Slice(-2, 100)", s, []int{8, 9})
	x, err = l.Pop(ctx, -1)
	is(t, "Pop", err, nil)
	equal(t, "Pop(-1)", x, 9)
	is(t, "Insert", l.Insert(ctx, 0, 0), nil)
	is(t, "Insert past the end", l.Insert(ctx, 100, 6), nil)
	is(t, "Remove", l.Remove(ctx, 8), nil)
	is(t, "Remove of a missing item", l.Remove(ctx, 42), manager.ErrNotFound)
	i, err := l.Index(ctx, 2)
	is(t, "Index", err, nil)
	equal(t, "Index", i, 3)
	_, err = l.Index(ctx, 42)
	is(t, "Index of a missing item", err, manager.ErrNotFound)
	l.Append(ctx, 7)
	c, err := l.Count(ctx, 7)
	is(t, "Count", err, nil)
	equal(t, "Count", c, 2)
	all, _ = l.All(ctx)
	equalSlices(t, "All", all, []int{0, 3, 7, 2, 4, 6, 7})
	is(t, "Sort", l.Sort(ctx, manager.Ascending[int]()), nil)
	all, _ = l.All(ctx)
	equalSlices(t, "All after Sort", all, []int{0, 2, 3, 4, 6, 7, 7})
	is(t, "Reverse", l.Reverse(ctx), nil)
	all, _ = l.All(ctx)
	equalSlices(t, "All after Reverse", all, []int{7, 7, 6, 4, 3, 2, 0})
	x, err = l.Update(ctx, -1, manager.Add(10))
	is(t, "Update", err, nil)
	equal(t, "Update", x, 10)
	n, err = l.Len(ctx)
	is(t, "Len", err, nil)
	equal(t, "Len", n, 7)
	is(t, "Clear", l.Clear(ctx), nil)
	n, _ = l.Len(ctx)
	equal(t, "Len after Clear", n, 0)
	_, err = l.Pop(ctx, -1)
	is(t, "Pop of an empty list", err, manager.ErrIndex)
}

func conformArray(t *testing.T, ctx context.Context, m *manager.Manager) {
	a, err := manager.NewArray[int](ctx, m, 3)
	is(t, "NewArray", err, nil)
	all, err := a.All(ctx)
	is(t, "All", err, nil)
	equalSlices(t, "All", all, []int{0, 0, 0})
	is(t, "Set", a.Set(ctx, -1, 5), nil)
	is(t, "SetMany", a.SetMany(ctx, 0, []int{1, 2}), nil)
	is(t, "SetMany past the end", a.SetMany(ctx, 2, []int{1, 2}), manager.ErrIndex)
	x, err := a.Update(ctx, 1, manager.Add(3))
	is(t, "Update", err, nil)
	equal(t, "Update", x, 5)
	x, err = a.Get(ctx, 0)
	is(t, "Get", err, nil)
	equal(t, "Get", x, 1)
	_, err = a.Get(ctx, 3)
	is(t, "Get out of range", err, manager.ErrIndex)
	s, err := a.Slice(ctx, 1, 3)
	is(t, "Slice", err, nil)
	equalSlices(t, "Slice", s, []int{5, 5})
	n, err := a.Len(ctx)
	is(t, "Len", err, nil)
	equal(t, "Len", n, 3)
	_, err = manager.NewArray[int](ctx, m, -1)
	is(t, "NewArray of -1 items", err, manager.ErrBadRequest)
}

func conformQueue(t *testing.T, ctx context.Context, m *manager.Manager) {
	q, err := manager.NewQueue[int](ctx, m, 2)
	is(t, "NewQueue", err, nil)
	is(t, "Put", q.Put(ctx, 1), nil)
	is(t, "PutNowait", q.PutNowait(ctx, 2), nil)
	is(t, "PutNowait on a full queue", q.PutNowait(ctx, 3), mp.ErrFull)
	is(t, "Put on a full queue", q.Put(short(t, ctx), 3), context.DeadlineExceeded)
	full, err := q.Full(ctx)
	is(t, "Full", err, nil)
	equal(t, "Full", full, true)
	n, err := q.Qsize(ctx)
	is(t, "Qsize", err, nil)
	equal(t, "Qsize", n, 2)
	x, err := q.Get(ctx)
	is(t, "Get", err, nil)
	equal(t, "Get", x, 1)
	x, err = q.GetNowait(ctx)
	is(t, "GetNowait", err, nil)
	equal(t, "GetNowait", x, 2)
	_, err = q.GetNowait(ctx)
	is(t, "GetNowait on an empty queue", err, mp.ErrEmpty)
	_, err = q.Get(short(t, ctx))
	is(t, "Get on an empty queue", err, context.DeadlineExceeded)
	empty, err := q.Empty(ctx)
	is(t, "Empty", err, nil)
	equal(t, "Empty", empty, true)

	// Join waits for a TaskDone per item put.
	joined := async(func() error { return q.Join(ctx) })
	is(t, "TaskDone", q.TaskDone(ctx), nil)
	select {
	case err := <-joined:
		t.Fatalf("Join returned (%v) with one item of two done", err)
	default:
	}
	is(t, "TaskDone", q.TaskDone(ctx), nil)
	is(t, "Join", await(t, ctx, "Join", joined), nil)
	is(t, "a TaskDone too many", q.TaskDone(ctx), manager.ErrBadRequest)

	// A Get waiting gets the item put after it.
	var got atomic.Int64
	getting := async(func() error {
		x, err := q.Get(ctx)
		got.Store(int64(x))
		return err
	})
	is(t, "Put", q.Put(ctx, 7), nil)
	is(t, "a waiting Get", await(t, ctx, "Get", getting), nil)
	equal(t, "a waiting Get", got.Load(), 7)

	// A Put waiting for room puts once there is some.
	is(t, "PutMany", q.PutMany(ctx, []int{3, 4}), nil)
	putting := async(func() error { return q.Put(ctx, 5) })
	xs, err := q.GetMany(ctx, 10)
	is(t, "GetMany", err, nil)
	for len(xs) < 2 {
		more, err := q.GetMany(ctx, 10)
		is(t, "GetMany", err, nil)
		xs = append(xs, more...)
	}
	is(t, "a waiting Put", await(t, ctx, "Put", putting), nil)
	if len(xs) == 2 {
		x, err = q.Get(ctx)
		is(t, "Get", err, nil)
		xs = append(xs, x)
	}
	equalSlices(t, "the items, in order", xs, []int{3, 4, 5})

	// Close: Put fails, Get drains, then fails.
	is(t, "Put", q.Put(ctx, 6), nil)
	is(t, "Close", q.Close(ctx), nil)
	is(t, "Put on a closed queue", q.Put(ctx, 7), mp.ErrQueueClosed)
	x, err = q.Get(ctx)
	is(t, "Get on a closed queue with an item", err, nil)
	equal(t, "Get on a closed queue with an item", x, 6)
	_, err = q.Get(ctx)
	is(t, "Get on a closed, drained queue", err, mp.ErrQueueClosed)
	_, err = manager.NewQueue[int](ctx, m, -1)
	is(t, "NewQueue of maxsize -1", err, manager.ErrBadRequest)
}

func conformLock(t *testing.T, ctx context.Context, m *manager.Manager) {
	l, err := m.Lock(ctx)
	is(t, "Lock", err, nil)
	locked, err := l.Locked(ctx)
	is(t, "Locked", err, nil)
	equal(t, "Locked of a new lock", locked, false)
	ok, err := l.TryLock(ctx)
	is(t, "TryLock", err, nil)
	equal(t, "TryLock of a free lock", ok, true)
	ok, _ = l.TryLock(ctx)
	equal(t, "TryLock of a held lock", ok, false)
	is(t, "Lock of a held lock", l.Lock(short(t, ctx)), context.DeadlineExceeded)
	locked, _ = l.Locked(ctx)
	equal(t, "Locked", locked, true)
	taking := async(func() error { return l.Lock(ctx) })
	is(t, "Unlock", l.Unlock(), nil)
	is(t, "a waiting Lock", await(t, ctx, "Lock", taking), nil)
	is(t, "Unlock", l.Unlock(), nil)
	is(t, "Unlock of an unlocked lock", l.Unlock(), manager.ErrNotOwner)
	locked, _ = l.Locked(ctx)
	equal(t, "Locked", locked, false)
}

func conformRLock(t *testing.T, ctx context.Context, m *manager.Manager) {
	l, err := m.RLock(ctx)
	is(t, "RLock", err, nil)
	held, err := l.Lock(ctx)
	is(t, "Lock", err, nil)
	again, err := l.Lock(held)
	is(t, "Lock again with the holding context", err, nil)
	_, err = l.Lock(short(t, ctx))
	is(t, "Lock from another context", err, context.DeadlineExceeded)
	is(t, "Unlock with a context that never locked", l.Unlock(ctx), manager.ErrNotOwner)
	is(t, "Unlock", l.Unlock(again), nil)
	is(t, "Unlock", l.Unlock(held), nil)
	is(t, "Unlock of an unlocked RLock", l.Unlock(held), manager.ErrNotOwner)
	other, err := l.Lock(ctx)
	is(t, "Lock by another context once free", err, nil)
	is(t, "Unlock with a context that no longer holds it", l.Unlock(held), manager.ErrNotOwner)
	is(t, "Unlock", l.Unlock(other), nil)
}

func conformSemaphore(t *testing.T, ctx context.Context, m *manager.Manager) {
	s, err := m.Semaphore(ctx, 2)
	is(t, "Semaphore", err, nil)
	ok, err := s.TryAcquire(ctx)
	is(t, "TryAcquire", err, nil)
	equal(t, "TryAcquire", ok, true)
	is(t, "Acquire", s.Acquire(ctx), nil)
	ok, _ = s.TryAcquire(ctx)
	equal(t, "TryAcquire at 0", ok, false)
	is(t, "Acquire at 0", s.Acquire(short(t, ctx)), context.DeadlineExceeded)
	taking := async(func() error { return s.Acquire(ctx) })
	is(t, "Release", s.Release(), nil)
	is(t, "a waiting Acquire", await(t, ctx, "Acquire", taking), nil)
	v, err := s.Value(ctx)
	is(t, "Value", err, nil)
	equal(t, "Value", v, 0)
	for range 3 {
		is(t, "Release", s.Release(), nil)
	}
	v, _ = s.Value(ctx)
	equal(t, "Value of a Semaphore released above its start", v, 3)

	b, err := m.BoundedSemaphore(ctx, 1)
	is(t, "BoundedSemaphore", err, nil)
	ok, _ = b.TryAcquire(ctx)
	equal(t, "TryAcquire", ok, true)
	is(t, "Release", b.Release(), nil)
	is(t, "Release of a BoundedSemaphore above its start", b.Release(), manager.ErrBadRequest)
	v, _ = b.Value(ctx)
	equal(t, "Value", v, 1)
	_, err = m.Semaphore(ctx, -1)
	is(t, "Semaphore(-1)", err, manager.ErrBadRequest)
}

func conformEvent(t *testing.T, ctx context.Context, m *manager.Manager) {
	e, err := m.Event(ctx)
	is(t, "Event", err, nil)
	set, err := e.IsSet(ctx)
	is(t, "IsSet", err, nil)
	equal(t, "IsSet of a new event", set, false)
	is(t, "Wait on a clear event", e.Wait(short(t, ctx)), context.DeadlineExceeded)
	waiting := async(func() error { return e.Wait(ctx) })
	is(t, "Set", e.Set(ctx), nil)
	is(t, "a waiting Wait", await(t, ctx, "Wait", waiting), nil)
	is(t, "Wait on a set event", e.Wait(ctx), nil)
	set, _ = e.IsSet(ctx)
	equal(t, "IsSet", set, true)
	is(t, "Clear", e.Clear(ctx), nil)
	set, _ = e.IsSet(ctx)
	equal(t, "IsSet after Clear", set, false)
}

func conformCondition(t *testing.T, ctx context.Context, m *manager.Manager) {
	c, err := m.Condition(ctx, nil)
	is(t, "Condition", err, nil)
	is(t, "Wait without the lock", c.Wait(ctx), manager.ErrNotOwner)
	is(t, "Notify without the lock", c.Notify(ctx, 1), manager.ErrNotOwner)
	is(t, "NotifyAll without the lock", c.NotifyAll(ctx), manager.ErrNotOwner)

	// Wait with the lock held: ctx ends, the lock is held again.
	is(t, "Lock", c.Lock(ctx), nil)
	is(t, "Wait, in vain", c.Wait(short(t, ctx)), context.DeadlineExceeded)
	locked, _ := c.L.Locked(ctx)
	equal(t, "Locked after a Wait that ended", locked, true)
	is(t, "Unlock", c.Unlock(), nil)

	// waiters start n goroutines that wait on c; it returns once they all
	// wait (each says so under the lock, which Wait then releases).
	waiters := func(n int) []<-chan error {
		var in atomic.Int64
		var chs []<-chan error
		for range n {
			chs = append(chs, async(func() error {
				if err := c.Lock(ctx); err != nil {
					return err
				}
				in.Add(1)
				err := c.Wait(ctx)
				if uerr := c.Unlock(); err == nil {
					err = uerr
				}
				return err
			}))
		}
		// Once this takes the lock with every waiter in, they all wait.
		eventually(t, ctx, "every waiter waits", func() bool {
			if err := c.Lock(ctx); err != nil {
				t.Fatal(err)
			}
			if in.Load() == int64(n) {
				return true
			}
			c.Unlock()
			return false
		})
		return chs
	}
	chs := waiters(2)
	is(t, "Notify", c.Notify(ctx, 1), nil)
	is(t, "Unlock", c.Unlock(), nil)
	select {
	case first := <-chs[0]:
		is(t, "a notified Wait", first, nil)
		chs = chs[1:]
	case first := <-chs[1]:
		is(t, "a notified Wait", first, nil)
		chs = chs[:1]
	case <-ctx.Done():
		t.Fatal("Notify(1) woke no waiter")
	}
	is(t, "Lock", c.Lock(ctx), nil)
	is(t, "Notify", c.Notify(ctx, 1), nil)
	is(t, "Unlock", c.Unlock(), nil)
	is(t, "the other waiter", await(t, ctx, "Wait", chs[0]), nil)

	chs = waiters(3)
	is(t, "NotifyAll", c.NotifyAll(ctx), nil)
	is(t, "Unlock", c.Unlock(), nil)
	for _, ch := range chs {
		is(t, "a Wait woken by NotifyAll", await(t, ctx, "Wait", ch), nil)
	}
}

func conformBarrier(t *testing.T, ctx context.Context, m *manager.Manager) {
	b, err := m.Barrier(ctx, 3, mp.Func[struct{}, struct{}]{})
	is(t, "Barrier", err, nil)
	n, err := b.Parties(ctx)
	is(t, "Parties", err, nil)
	equal(t, "Parties", n, 3)
	idx := make(chan int, 3)
	wait := func() error {
		i, err := b.Wait(ctx)
		idx <- i
		return err
	}
	chs := []<-chan error{async(wait), async(wait)}
	eventually(t, ctx, "two parties wait", func() bool {
		n, err := b.NWaiting(ctx)
		return err == nil && n == 2
	})
	is(t, "Wait", wait(), nil)
	for _, ch := range chs {
		is(t, "Wait", await(t, ctx, "Wait", ch), nil)
	}
	got := []int{<-idx, <-idx, <-idx}
	sort.Ints(got)
	equalSlices(t, "the arrival indices", got, []int{0, 1, 2})
	n, _ = b.NWaiting(ctx)
	equal(t, "NWaiting after a round", n, 0)
	broken, err := b.Broken(ctx)
	is(t, "Broken", err, nil)
	equal(t, "Broken", broken, false)

	// A party that gives up breaks the round, for the others too.
	waiting := async(func() error { _, err := b.Wait(ctx); return err })
	eventually(t, ctx, "a party waits", func() bool {
		n, err := b.NWaiting(ctx)
		return err == nil && n == 1
	})
	_, err = b.Wait(short(t, ctx))
	is(t, "Wait, in vain", err, context.DeadlineExceeded)
	is(t, "the other party's Wait", await(t, ctx, "Wait", waiting), mp.ErrBrokenBarrier)
	broken, _ = b.Broken(ctx)
	equal(t, "Broken after a party gave up", broken, true)
	_, err = b.Wait(ctx)
	is(t, "Wait on a broken barrier", err, mp.ErrBrokenBarrier)
	is(t, "Reset", b.Reset(ctx), nil)
	broken, _ = b.Broken(ctx)
	equal(t, "Broken after Reset", broken, false)

	// Reset and Abort break the parties waiting.
	waiting = async(func() error { _, err := b.Wait(ctx); return err })
	eventually(t, ctx, "a party waits", func() bool {
		n, err := b.NWaiting(ctx)
		return err == nil && n == 1
	})
	is(t, "Reset", b.Reset(ctx), nil)
	is(t, "a Wait at Reset", await(t, ctx, "Wait", waiting), mp.ErrBrokenBarrier)
	waiting = async(func() error { _, err := b.Wait(ctx); return err })
	eventually(t, ctx, "a party waits", func() bool {
		n, err := b.NWaiting(ctx)
		return err == nil && n == 1
	})
	is(t, "Abort", b.Abort(ctx), nil)
	is(t, "a Wait at Abort", await(t, ctx, "Wait", waiting), mp.ErrBrokenBarrier)
	broken, _ = b.Broken(ctx)
	equal(t, "Broken after Abort", broken, true)

	// The action runs when the last party arrives; its error breaks the
	// barrier.
	ab, err := m.Barrier(ctx, 1, barrierAction)
	is(t, "Barrier with an action", err, nil)
	_, err = ab.Wait(ctx)
	is(t, "Wait with a failing action", err, mp.ErrBrokenBarrier)
	_, err = m.Barrier(ctx, 0, mp.Func[struct{}, struct{}]{})
	is(t, "Barrier(0)", err, manager.ErrBadRequest)
}

// Counter is a registered type with exported fields (a NATS manager keeps
// its values encoded).
type Counter struct {
	N     int
	Words []string
}

var counterType = manager.Register("manager-test.counter", func() *Counter { return &Counter{} })

var counterAdd = manager.NewMethod(counterType, "Add", func(_ context.Context, c *Counter, w string) (int, error) {
	if w == "" {
		return 0, errors.New("no word")
	}
	c.N++
	c.Words = append(c.Words, w)
	return c.N, nil
})

var counterWords = manager.NewMethod(counterType, "Words", func(_ context.Context, c *Counter, _ struct{}) ([]string, error) {
	return c.Words, nil
})

func conformType(t *testing.T, ctx context.Context, m *manager.Manager) {
	o, err := counterType.New(ctx, m)
	is(t, "New", err, nil)
	for i, w := range []string{"a", "b"} {
		n, err := counterAdd.Call(ctx, o, w)
		is(t, "a method", err, nil)
		equal(t, "a method's result", n, i+1)
	}
	_, err = counterAdd.Call(ctx, o, "")
	if err == nil || !strings.Contains(err.Error(), "no word") {
		t.Fatalf("a method's error: %v", err)
	}
	ws, err := counterWords.Call(ctx, o, struct{}{})
	is(t, "a method", err, nil)
	equalSlices(t, "the value's state", ws, []string{"a", "b"})
}

func conformNamed(t *testing.T, ctx context.Context, m *manager.Manager) {
	a, err := manager.NewDict[string, int](ctx, m, manager.Named("conformance"))
	is(t, "NewDict, Named", err, nil)
	is(t, "Set", a.Set(ctx, "k", 1), nil)
	b, err := manager.NewDict[string, int](ctx, m, manager.Named("conformance"))
	is(t, "NewDict with the same name", err, nil)
	v, ok, err := b.Get(ctx, "k")
	is(t, "Get", err, nil)
	equal(t, "the named dict's value", [2]any{v, ok}, [2]any{1, true})
	_, err = m.Event(ctx, manager.Named("conformance"))
	is(t, "a name taken by another kind", err, manager.ErrBadRequest)
}
