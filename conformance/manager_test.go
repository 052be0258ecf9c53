//go:build linux

package conformance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager"
)

func startManager(t *testing.T, opts ...manager.Option) *manager.Manager {
	t.Helper()
	m, err := manager.Start(testCtx(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return m
}

// runWorker is TestSyncManagerTypes.run_worker: f runs in a child process
// with obj, and must exit with code 0.
func runWorker[A any](t *testing.T, f mp.Func[A, struct{}], obj A) {
	t.Helper()
	p := startProcess(t, f, obj, mp.Daemon(true))
	if err := p.JoinTimeout(long); err != nil {
		t.Fatalf("the worker: %v", err)
	}
}

// check is Python's assert in a worker: an error naming what failed.
func check(ok bool, what string) error {
	if !ok {
		return errors.New("assertion failed: " + what)
	}
	return nil
}

var (
	mgrEvent = mp.Register("conf.mgrEvent", func(ctx context.Context, o *manager.Event) (struct{}, error) {
		set, err := o.IsSet(ctx)
		if err != nil || !set {
			return struct{}{}, errors.Join(err, check(set, "obj.is_set()"))
		}
		if err := o.Wait(ctx); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, o.Clear(ctx)
	})
	mgrLock = mp.Register("conf.mgrLock", func(ctx context.Context, o *manager.Lock) (struct{}, error) {
		return struct{}{}, o.Lock(ctx)
	})
	mgrRLock = mp.Register("conf.mgrRLock", func(ctx context.Context, o *manager.RLock) (struct{}, error) {
		held, err := o.Lock(ctx)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, o.Unlock(held)
	})
	mgrSemaphore = mp.Register("conf.mgrSemaphore", func(ctx context.Context, o *manager.Semaphore) (struct{}, error) {
		return struct{}{}, o.Acquire(ctx)
	})
	mgrCondition = mp.Register("conf.mgrCondition", func(ctx context.Context, o *manager.Condition) (struct{}, error) {
		if err := o.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, o.Unlock()
	})
	mgrBarrier = mp.Register("conf.mgrBarrier", func(ctx context.Context, o *manager.Barrier) (struct{}, error) {
		n, err := o.Parties(ctx)
		if err != nil || n != 5 {
			return struct{}{}, errors.Join(err, check(n == 5, "obj.parties == 5"))
		}
		return struct{}{}, o.Reset(ctx)
	})
	mgrQueue = mp.Register("conf.mgrQueue", func(ctx context.Context, o *manager.Queue[int]) (struct{}, error) {
		n, err1 := o.Qsize(ctx)
		full, err2 := o.Full(ctx)
		empty, err3 := o.Empty(ctx)
		a, err4 := o.Get(ctx)
		empty2, err5 := o.Empty(ctx)
		b, err6 := o.Get(ctx)
		empty3, err7 := o.Empty(ctx)
		return struct{}{}, errors.Join(err1, err2, err3, err4, err5, err6, err7,
			check(n == 2, "qsize() == 2"), check(full, "full()"), check(!empty, "not empty()"),
			check(a == 5, "get() == 5"), check(!empty2, "not empty()"), check(b == 6, "get() == 6"), check(empty3, "empty()"))
	})
	// CPython: TestSyncManagerTypes._test_list (with its sort() and reverse())
	mgrList = mp.Register("conf.mgrList", func(ctx context.Context, o *manager.List[int]) (struct{}, error) {
		v, err1 := o.Get(ctx, 0)
		c, err2 := o.Count(ctx, 5)
		i, err3 := o.Index(ctx, 5)
		// obj.sort(); obj.reverse()
		errSort := o.Sort(ctx, manager.Ascending[int]())
		errReverse := o.Reverse(ctx)
		all, err4 := o.All(ctx)
		n, err5 := o.Len(ctx)
		p, err6 := o.Pop(ctx, 0)
		return struct{}{}, errors.Join(err1, err2, err3, errSort, errReverse, err4, err5, err6,
			check(v == 5, "obj[0] == 5"), check(c == 1, "count(5) == 1"), check(i == 0, "index(5) == 0"),
			check(len(all) == 1, "for x in obj"), check(n == 1, "len(obj) == 1"), check(p == 5, "pop(0) == 5"))
	})
	mgrDict = mp.Register("conf.mgrDict", func(ctx context.Context, o *manager.Dict[string, int]) (struct{}, error) {
		n, err1 := o.Len(ctx)
		v, found, err2 := o.Get(ctx, "foo")
		items, err3 := o.Items(ctx)
		keys, err4 := o.Keys(ctx)
		vals, err5 := o.Values(ctx)
		cp, err6 := o.Copy(ctx)
		k, pv, ok, err7 := o.PopItem(ctx)
		return struct{}{}, errors.Join(err1, err2, err3, err4, err5, err6, err7,
			check(n == 1, "len(obj) == 1"), check(found && v == 5, "obj['foo'] == 5"),
			check(len(items) == 1 && items[0].Key == "foo" && items[0].Value == 5, "items() == [('foo', 5)]"),
			check(slices.Equal(keys, []string{"foo"}), "keys() == ['foo']"), check(slices.Equal(vals, []int{5}), "values() == [5]"),
			check(len(cp) == 1 && cp["foo"] == 5, "copy() == {'foo': 5}"), check(ok && k == "foo" && pv == 5, "popitem() == ('foo', 5)"))
	})
	mgrValue = mp.Register("conf.mgrValue", func(ctx context.Context, o *manager.Value[int]) (struct{}, error) {
		v, err := o.Get(ctx)
		if err != nil || v != 1 {
			return struct{}{}, errors.Join(err, check(v == 1, "obj.value == 1"))
		}
		return struct{}{}, o.Set(ctx, 2)
	})
	mgrArray = mp.Register("conf.mgrArray", func(ctx context.Context, o *manager.Array[int32]) (struct{}, error) {
		a, err1 := o.Get(ctx, 0)
		b, err2 := o.Get(ctx, 1)
		n, err3 := o.Len(ctx)
		all, err4 := o.All(ctx)
		return struct{}{}, errors.Join(err1, err2, err3, err4, check(a == 0 && b == 1, "obj[0], obj[1] == 0, 1"),
			check(n == 2, "len(obj) == 2"), check(slices.Equal(all, []int32{0, 1}), "list(obj) == [0, 1]"))
	})
	mgrNamespace = mp.Register("conf.mgrNamespace", func(ctx context.Context, o *manager.Namespace) (struct{}, error) {
		x, err1 := manager.Attr[int](ctx, o, "x")
		y, err2 := manager.Attr[int](ctx, o, "y")
		return struct{}{}, errors.Join(err1, err2, check(x == 0 && y == 1, "obj.x == 0, obj.y == 1"))
	})
)

// TestSyncManagerTypes ports TestSyncManagerTypes: a proxy made in the
// parent, used by a child process.
func TestSyncManagerTypes(t *testing.T) {
	m := startManager(t)

	// CPython: TestSyncManagerTypes.test_event
	t.Run("test_event", func(t *testing.T) {
		ctx := testCtx(t)
		o, err := m.Event(ctx)
		if err != nil {
			t.Fatal(err)
		}
		o.Set(ctx)
		runWorker(t, mgrEvent, o)
		if set, err := o.IsSet(ctx); err != nil || set {
			t.Fatalf("is_set() = %v, %v", set, err)
		}
	})

	// CPython: TestSyncManagerTypes.test_lock
	t.Run("test_lock", func(t *testing.T) {
		ctx := testCtx(t)
		o, err := m.Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		runWorker(t, mgrLock, o)
		// Python's manager Lock is a threading.Lock: it stays held after
		// the child exits, and the parent releases it. mp's server takes
		// back a lock whose holder's process is gone, and the next Lock
		// gets it with mp.ErrOwnerDead (docs/python-differences.md).
		if err := o.Lock(ctx); err != nil && !errors.Is(err, mp.ErrOwnerDead) {
			t.Fatalf("acquire() after the holder exited: %v", err)
		}
		if err := o.Unlock(); err != nil {
			t.Fatalf("release(): %v", err)
		}
		if err := o.Unlock(); err == nil {
			t.Fatal("a second release() succeeded")
		}
	})

	// CPython: TestSyncManagerTypes.test_rlock
	t.Run("test_rlock", func(t *testing.T) {
		o, err := m.RLock(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		runWorker(t, mgrRLock, o)
	})

	// CPython: TestSyncManagerTypes.test_semaphore
	// CPython: TestSyncManagerTypes.test_bounded_semaphore
	for _, bounded := range []bool{false, true} {
		name := map[bool]string{false: "test_semaphore", true: "test_bounded_semaphore"}[bounded]
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			mk := m.Semaphore
			if bounded {
				mk = m.BoundedSemaphore
			}
			o, err := mk(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			runWorker(t, mgrSemaphore, o)
			if err := o.Release(); err != nil {
				t.Fatal(err)
			}
		})
	}

	// CPython: TestSyncManagerTypes.test_condition
	t.Run("test_condition", func(t *testing.T) {
		o, err := m.Condition(testCtx(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		runWorker(t, mgrCondition, o)
	})

	// CPython: TestSyncManagerTypes.test_barrier
	t.Run("test_barrier", func(t *testing.T) {
		o, err := m.Barrier(testCtx(t), 5, mp.Func[struct{}, struct{}]{})
		if err != nil {
			t.Fatal(err)
		}
		runWorker(t, mgrBarrier, o)
	})

	// CPython: TestSyncManagerTypes.test_queue
	// CPython: TestSyncManagerTypes.test_joinable_queue
	for _, name := range []string{"test_queue", "test_joinable_queue"} {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			o, err := manager.NewQueue[int](ctx, m, 2)
			if err != nil {
				t.Fatal(err)
			}
			o.Put(ctx, 5)
			o.Put(ctx, 6)
			runWorker(t, mgrQueue, o)
			empty, _ := o.Empty(ctx)
			full, _ := o.Full(ctx)
			if !empty || full {
				t.Fatalf("empty %v full %v", empty, full)
			}
		})
	}

	// CPython: TestSyncManagerTypes.test_list
	t.Run("test_list", func(t *testing.T) {
		ctx := testCtx(t)
		o, err := manager.NewList[int](ctx, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Append(ctx, 5)
		runWorker(t, mgrList, o)
		if n, err := o.Len(ctx); err != nil || n != 0 {
			t.Fatalf("len(o) = %d, %v", n, err)
		}
	})

	// CPython: TestSyncManagerTypes.test_dict
	t.Run("test_dict", func(t *testing.T) {
		ctx := testCtx(t)
		o, err := manager.NewDict[string, int](ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		o.Set(ctx, "foo", 5)
		runWorker(t, mgrDict, o)
		if n, err := o.Len(ctx); err != nil || n != 0 {
			t.Fatalf("len(o) = %d, %v", n, err)
		}
	})

	// CPython: TestSyncManagerTypes.test_value
	t.Run("test_value", func(t *testing.T) {
		ctx := testCtx(t)
		o, err := manager.NewValue(ctx, m, 1)
		if err != nil {
			t.Fatal(err)
		}
		runWorker(t, mgrValue, o)
		if v, err := o.Get(ctx); err != nil || v != 2 {
			t.Fatalf("o.value = %d, %v", v, err)
		}
	})

	// CPython: TestSyncManagerTypes.test_array
	t.Run("test_array", func(t *testing.T) {
		ctx := testCtx(t)
		o, err := manager.NewArray[int32](ctx, m, 2)
		if err != nil {
			t.Fatal(err)
		}
		o.SetMany(ctx, 0, []int32{0, 1})
		runWorker(t, mgrArray, o)
	})

	// CPython: TestSyncManagerTypes.test_namespace
	t.Run("test_namespace", func(t *testing.T) {
		ctx := testCtx(t)
		o, err := m.Namespace(ctx)
		if err != nil {
			t.Fatal(err)
		}
		o.Set(ctx, "x", 0)
		o.Set(ctx, "y", 1)
		runWorker(t, mgrNamespace, o)
	})
}

// TestContainers ports _TestContainers.
func TestContainers(t *testing.T) {
	m := startManager(t)

	// CPython: _TestContainers.test_list
	t.Run("test_list", func(t *testing.T) {
		ctx := testCtx(t)
		a, _ := manager.NewList(ctx, m, ints(10))
		if all, err := a.All(ctx); err != nil || !slices.Equal(all, ints(10)) {
			t.Fatalf("a[:] = %v, %v", all, err)
		}
		b, _ := manager.NewList[int](ctx, m, nil)
		if all, _ := b.All(ctx); len(all) != 0 {
			t.Fatal("b[:] not empty")
		}
		b.Extend(ctx, ints(5))
		if v, _ := b.Get(ctx, 2); v != 2 {
			t.Fatal("b[2]")
		}
		if s, err := b.Slice(ctx, 2, 10); err != nil || !slices.Equal(s, []int{2, 3, 4}) {
			t.Fatalf("b[2:10] = %v, %v", s, err)
		}
		all, _ := b.All(ctx)
		b.Extend(ctx, all) // b *= 2
		if all, _ := b.All(ctx); !slices.Equal(all, []int{0, 1, 2, 3, 4, 0, 1, 2, 3, 4}) {
			t.Fatalf("b *= 2: %v", all)
		}
		// a list of list proxies
		e, err := manager.NewList(ctx, m, []*manager.List[int]{a, b})
		if err != nil {
			t.Fatal(err)
		}
		e0, _ := e.Get(ctx, 0)
		e1, _ := e.Get(ctx, 1)
		a0, _ := e0.All(ctx)
		b0, _ := e1.All(ctx)
		if !slices.Equal(a0, ints(10)) || len(b0) != 10 {
			t.Fatalf("[element[:] for element in e] = %v %v", a0, b0)
		}
		f, _ := manager.NewList(ctx, m, []*manager.List[int]{a})
		a.Append(ctx, 10)
		f0, _ := f.Get(ctx, 0)
		if all, _ := f0.All(ctx); !slices.Equal(all, ints(11)) {
			t.Fatalf("f[0][:] after a.append = %v", all)
		}
	})

	// CPython: _TestContainers.test_list_iter
	t.Run("test_list_iter", func(t *testing.T) {
		// Iterating a list proxy is All: one snapshot, in one call
		// (docs/python-differences.md).
		ctx := testCtx(t)
		a, _ := manager.NewList(ctx, m, ints(10))
		if all, _ := a.All(ctx); !slices.Equal(all, ints(10)) {
			t.Fatal("list(a)")
		}
		a.Set(ctx, 0, 100)
		if all, _ := a.All(ctx); all[0] != 100 {
			t.Fatal("a new iteration does not see a[0] = 100")
		}
	})

	// CPython: _TestContainers.test_list_proxy_in_list
	t.Run("test_list_proxy_in_list", func(t *testing.T) {
		ctx := testCtx(t)
		var inner []*manager.List[int]
		for range 3 {
			l, _ := manager.NewList(ctx, m, ints(3))
			inner = append(inner, l)
		}
		a, err := manager.NewList(ctx, m, inner)
		if err != nil {
			t.Fatal(err)
		}
		a0, _ := a.Get(ctx, 0)
		a0.Set(ctx, 2, 55)
		if all, _ := a0.All(ctx); !slices.Equal(all, []int{0, 1, 55}) {
			t.Fatalf("a[0][:] = %v", all)
		}
		for i := 1; i < 3; i++ {
			ai, _ := a.Get(ctx, i)
			if all, _ := ai.All(ctx); !slices.Equal(all, []int{0, 1, 2}) {
				t.Fatalf("a[%d][:] = %v", i, all)
			}
		}
		a1, _ := a.Get(ctx, 1)
		if v, err := a1.Pop(ctx, -1); err != nil || v != 2 {
			t.Fatalf("a[1].pop() = %v, %v", v, err)
		}
		if n, _ := a1.Len(ctx); n != 2 {
			t.Fatalf("len(a[1]) = %d", n)
		}
	})

	// CPython: _TestContainers.test_dict
	t.Run("test_dict", func(t *testing.T) {
		ctx := testCtx(t)
		d, _ := manager.NewDict[int, string](ctx, m)
		want := map[int]string{}
		for i := 65; i < 70; i++ {
			d.Set(ctx, i, string(rune(i)))
			want[i] = string(rune(i))
		}
		cp, _ := d.Copy(ctx)
		keys, _ := d.Keys(ctx)
		vals, _ := d.Values(ctx)
		slices.Sort(keys)
		slices.Sort(vals)
		if len(cp) != 5 || cp[65] != "A" || !slices.Equal(keys, []int{65, 66, 67, 68, 69}) || !slices.Equal(vals, []string{"A", "B", "C", "D", "E"}) {
			t.Fatalf("copy %v keys %v values %v", cp, keys, vals)
		}
		items, _ := d.Items(ctx)
		if len(items) != 5 {
			t.Fatalf("items() = %v", items)
		}
	})

	// CPython: _TestContainers.test_dict_iter
	t.Run("test_dict_iter", func(t *testing.T) {
		// Iteration is Keys: one snapshot (docs/python-differences.md),
		// so a clear during it raises nothing.
		ctx := testCtx(t)
		d, _ := manager.NewDict[int, string](ctx, m)
		for i := 65; i < 70; i++ {
			d.Set(ctx, i, string(rune(i)))
		}
		keys, _ := d.Keys(ctx)
		slices.Sort(keys)
		if !slices.Equal(keys, []int{65, 66, 67, 68, 69}) {
			t.Fatalf("list(d) = %v", keys)
		}
		d.Clear(ctx)
		if keys, _ := d.Keys(ctx); len(keys) != 0 {
			t.Fatal("keys after clear")
		}
	})

	// CPython: _TestContainers.test_dict_proxy_nested
	t.Run("test_dict_proxy_nested", func(t *testing.T) {
		ctx := testCtx(t)
		pets, _ := manager.NewDict[string, int](ctx, m)
		pets.SetMany(ctx, map[string]int{"ferrets": 2, "hamsters": 4})
		supplies, _ := manager.NewDict[string, int](ctx, m)
		supplies.SetMany(ctx, map[string]int{"water": 10, "feed": 3})
		d, _ := manager.NewDict[string, *manager.Dict[string, int]](ctx, m)
		d.SetMany(ctx, map[string]*manager.Dict[string, int]{"pets": pets, "supplies": supplies})
		get := func(dd *manager.Dict[string, *manager.Dict[string, int]], k, k2 string) int {
			inner, _, err := dd.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			v, _, err := inner.Get(ctx, k2)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if get(d, "supplies", "water") != 10 {
			t.Fatal("d['supplies']['water']")
		}
		ds, _, _ := d.Get(ctx, "supplies")
		ds.Set(ctx, "blankets", 5)
		if v, _, _ := supplies.Get(ctx, "blankets"); v != 5 {
			t.Fatal("supplies['blankets'] after d['supplies']['blankets'] = 5")
		}
		ds.Set(ctx, "water", 7)
		if v, _, _ := supplies.Get(ctx, "water"); v != 7 || get(d, "supplies", "water") != 7 {
			t.Fatal("water = 7")
		}
		if get(d, "pets", "ferrets") != 2 {
			t.Fatal("d['pets']['ferrets']")
		}
		d.Clear(ctx)
		if n, _ := d.Len(ctx); n != 0 {
			t.Fatal("len(d) after clear")
		}
		if v, _, _ := supplies.Get(ctx, "water"); v != 7 {
			t.Fatal("supplies outlives d.clear()")
		}
		if v, _, _ := pets.Get(ctx, "hamsters"); v != 4 {
			t.Fatal("pets outlives d.clear()")
		}
		l, _ := manager.NewList(ctx, m, []*manager.Dict[string, int]{pets, supplies})
		l0, _ := l.Get(ctx, 0)
		l0.Set(ctx, "marmots", 1)
		if v, _, _ := pets.Get(ctx, "marmots"); v != 1 {
			t.Fatal("pets['marmots'] after l[0]['marmots'] = 1")
		}
	})

	// CPython: _TestContainers.test_nested_queue
	t.Run("test_nested_queue", func(t *testing.T) {
		ctx := testCtx(t)
		q1, _ := manager.NewQueue[int](ctx, m, 0)
		a, _ := manager.NewList(ctx, m, []*manager.Queue[int]{q1})
		a0, _ := a.Get(ctx, 0)
		a0.Put(ctx, 123)
		if v, err := a0.Get(ctx); err != nil || v != 123 {
			t.Fatalf("a[0].get() = %v, %v", v, err)
		}
		q2, _ := manager.NewQueue[int](ctx, m, 0)
		b, _ := manager.NewDict[int, *manager.Queue[int]](ctx, m)
		b.Set(ctx, 0, q2)
		b0, _, _ := b.Get(ctx, 0)
		b0.Put(ctx, 456)
		if v, err := b0.Get(ctx); err != nil || v != 456 {
			t.Fatalf("b[0].get() = %v, %v", v, err)
		}
	})

	// CPython: _TestContainers.test_namespace
	t.Run("test_namespace", func(t *testing.T) {
		ctx := testCtx(t)
		n, _ := m.Namespace(ctx)
		n.Set(ctx, "name", "Bob")
		n.Set(ctx, "job", "Builder")
		n.Set(ctx, "_hidden", "hidden")
		name, _ := manager.Attr[string](ctx, n, "name")
		job, _ := manager.Attr[string](ctx, n, "job")
		if name != "Bob" || job != "Builder" {
			t.Fatalf("(n.name, n.job) = %q, %q", name, job)
		}
		n.Delete(ctx, "job")
		if _, err := manager.Attr[string](ctx, n, "job"); !errors.Is(err, manager.ErrNotFound) {
			t.Fatalf("n.job after del: %v", err)
		}
		names, _ := n.Names(ctx)
		slices.Sort(names)
		// str(n) is "Namespace(name='Bob')": names starting with _ hidden
		if !slices.Contains(names, "name") || slices.Contains(names, "job") {
			t.Fatalf("names %v", names)
		}
	})
}

// FooBar is _TestMyManager's FooBar.
type FooBar struct{}

var (
	fooType = manager.Register("conf.FooBar", func() *FooBar { return &FooBar{} })
	fooF    = manager.NewMethod(fooType, "f", func(context.Context, *FooBar, struct{}) (string, error) { return "f()", nil })
	fooG    = manager.NewMethod(fooType, "g", func(context.Context, *FooBar, struct{}) (string, error) {
		return "", valueError{""}
	})
)

// TestMyManager ports _TestMyManager (a custom manager type).
func TestMyManager(t *testing.T) {
	common := func(t *testing.T, m *manager.Manager) {
		ctx := testCtx(t)
		foo, err := fooType.New(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := fooF.Call(ctx, foo, struct{}{}); err != nil || v != "f()" {
			t.Fatalf("foo.f() = %q, %v", v, err)
		}
		if _, err := fooG.Call(ctx, foo, struct{}{}); err == nil {
			t.Fatal("foo.g() raised nothing")
		}
	}

	// CPython: _TestMyManager.test_mymanager
	t.Run("test_mymanager", func(t *testing.T) {
		m, err := manager.Start(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		common(t, m)
		if err := m.Shutdown(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	})

	// CPython: _TestMyManager.test_mymanager_context
	t.Run("test_mymanager_context", func(t *testing.T) {
		func() {
			m, err := manager.Start(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Shutdown(context.Background()) // with manager:
			common(t, m)
		}()
	})

	// CPython: _TestMyManager.test_mymanager_context_prestarted
	t.Run("test_mymanager_context_prestarted", func(t *testing.T) {
		m := startManager(t)
		common(t, m)
		// a second client of the same server
		m2, err := manager.Connect(testCtx(t), m.Address(), m.AuthKey())
		if err != nil {
			t.Fatal(err)
		}
		common(t, m2)
		m2.Close()
	})
}

type remoteArgs struct {
	Address string
	AuthKey []byte
}

// remoteValues is _TestRemoteManager.values.
var remoteValues = []any{"hello world", nil, true, 2.25, "hallå världen", "привіт світ", []byte("hall\xe5 v\xe4rlden")}

var putter = mp.Register("conf.putter", func(ctx context.Context, a remoteArgs) (struct{}, error) {
	m, err := manager.Connect(ctx, a.Address, a.AuthKey)
	if err != nil {
		return struct{}{}, err
	}
	defer m.Close()
	q, err := manager.NewQueue[[]any](ctx, m, 0, manager.Named("get_queue"))
	if err != nil {
		return struct{}{}, err
	}
	return struct{}{}, q.Put(ctx, remoteValues)
})

// TestRemoteManager ports _TestRemoteManager, _TestManagerRestart and
// OtherTest's authentication tests.
func TestRemoteManager(t *testing.T) {
	// CPython: _TestRemoteManager.test_remote
	t.Run("test_remote", func(t *testing.T) {
		ctx := testCtx(t)
		key := []byte("0123456789abcdef0123456789abcdef")
		m := startManager(t, manager.AuthKey(key))
		p := startProcess(t, putter, remoteArgs{Address: m.Address(), AuthKey: key}, mp.Daemon(true))
		m2, err := manager.Connect(ctx, m.Address(), key)
		if err != nil {
			t.Fatal(err)
		}
		defer m2.Close()
		q, err := manager.NewQueue[[]any](ctx, m2, 0, manager.Named("get_queue"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := q.Get(ctx)
		if err != nil || len(got) != len(remoteValues) || got[0] != "hello world" || got[1] != nil || got[2] != true || got[3] != 2.25 || got[5] != "привіт світ" {
			t.Fatalf("queue.get() = %#v, %v", got, err)
		}
		p.Join(ctx)
		qf, _ := manager.NewQueue[any](ctx, m2, 0, manager.Named("funcs"))
		if err := qf.Put(ctx, func() {}); err == nil {
			t.Fatal("put of a function succeeded")
		}
	})

	// CPython: _TestManagerRestart.test_rapid_restart
	t.Run("test_rapid_restart", func(t *testing.T) {
		ctx := testCtx(t)
		dir, err := os.MkdirTemp("", "conf-restart")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		addr := filepath.Join(dir, "mgr.sock")
		key := []byte("restart key")
		for i := range 2 {
			m, err := manager.Start(ctx, manager.Address(addr), manager.AuthKey(key))
			if err != nil {
				t.Fatalf("start %d at the same address: %v", i, err)
			}
			p := startProcess(t, putter, remoteArgs{Address: addr, AuthKey: key})
			if err := p.Join(ctx); err != nil {
				t.Fatal(err)
			}
			q, _ := manager.NewQueue[[]any](ctx, m, 0, manager.Named("get_queue"))
			if got, err := q.Get(ctx); err != nil || got[0] != "hello world" {
				t.Fatalf("get() = %v, %v", got, err)
			}
			if err := m.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})

	// CPython: OtherTest.test_deliver_challenge_auth_failure
	t.Run("test_deliver_challenge_auth_failure", func(t *testing.T) {
		m := startManager(t, manager.AuthKey([]byte("right key")))
		if m2, err := manager.Connect(testCtx(t), m.Address(), []byte("wrong key")); !errors.Is(err, manager.ErrAuth) {
			if m2 != nil {
				m2.Close()
			}
			t.Fatalf("connect with a wrong authkey: %v, want ErrAuth", err)
		}
	})
}

// mgrInitializer is TestInitializers' initializer(ns): ns.test += 1.
var mgrInitializer = mp.Register("conf.mgrInitializer", func(ctx context.Context, ns *manager.Namespace) (struct{}, error) {
	_, err := manager.UpdateAttr(ctx, ns, "test", manager.Add(1))
	return struct{}{}, err
})

// TestManagerInitializer ports TestInitializers.test_manager_initializer:
// the initializer runs in the new manager's server process before start
// returns; a non-function initializer is refused (Python's TypeError).
func TestManagerInitializer(t *testing.T) {
	// CPython: TestInitializers.test_manager_initializer
	ctx := testCtx(t)
	mgr := startManager(t)
	ns, err := mgr.Namespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Set(ctx, "test", 0); err != nil {
		t.Fatal(err)
	}
	// self.assertRaises(TypeError, m.start, 1)
	if _, err := manager.Start(ctx, manager.Initializer(mp.Func[*manager.Namespace, struct{}]{}, ns)); !errors.Is(err, mp.ErrInvalidOption) {
		t.Fatalf("start with a zero initializer: %v, want mp.ErrInvalidOption", err)
	}
	startManager(t, manager.Initializer(mgrInitializer, ns)) // shut down by its cleanup (m.shutdown(); m.join())
	if n, err := manager.Attr[int](ctx, ns, "test"); err != nil || n != 1 {
		t.Fatalf("ns.test = %d, %v; want 1", n, err)
	}
}
