package manager_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mp.Main()
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	slog.SetDefault(slog.New(slog.DiscardHandler))
	before := shmSegments()
	code := m.Run()
	if code == 0 {
		// The rings between clients and servers are unlinked as soon as
		// both sides have mapped them: nothing may be left.
		for name := range shmSegments() {
			if !before[name] {
				fmt.Fprintln(os.Stderr, "FAIL: shared memory left in /dev/shm:", name)
				code = 1
			}
		}
		if len(mp.ActiveChildren()) != 0 {
			fmt.Fprintln(os.Stderr, "FAIL: child processes left:", mp.ActiveChildren())
			code = 1
		}
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// shmSegments lists the segments of this test binary's tree in /dev/shm
// (not the tree's own bookkeeping files; not other programs').
func shmSegments() map[string]bool {
	names, _ := filepath.Glob(fmt.Sprintf("/dev/shm/mp-%d-*", os.Getpid()))
	out := map[string]bool{}
	for _, n := range names {
		if !strings.HasSuffix(n, ".segments") && !strings.HasSuffix(n, ".tracker") {
			out[n] = true
		}
	}
	return out
}

// testCtx bounds a test: a bug makes it fail with a message, never hang.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func start(t *testing.T) *manager.Manager {
	t.Helper()
	ctx := testCtx(t)
	m, err := manager.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return m
}

// The functions the tests run in other processes.

type counterJob struct {
	D *manager.Dict[string, int]
	V *manager.Value[int]
	L *manager.Lock
	X *manager.Value[int] // incremented under L with Get and Set
	N int
}

var bump = mp.Register("manager-test.bump", func(ctx context.Context, j counterJob) (int, error) {
	for range j.N {
		if _, err := j.D.Update(ctx, "hits", manager.Add(1)); err != nil {
			return 0, err
		}
		if _, err := j.V.Update(ctx, manager.Add(1)); err != nil {
			return 0, err
		}
		if err := j.L.Lock(ctx); err != nil {
			return 0, err
		}
		x, err := j.X.Get(ctx)
		if err == nil {
			err = j.X.Set(ctx, x+1)
		}
		if uerr := j.L.Unlock(); err == nil {
			err = uerr
		}
		if err != nil {
			return 0, err
		}
	}
	return os.Getpid(), nil
})

func TestCountersFromFourProcesses(t *testing.T) {
	ctx := testCtx(t)
	m := start(t)
	d, err := manager.NewDict[string, int](ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := manager.NewValue(ctx, m, 0)
	x, _ := manager.NewValue(ctx, m, 0)
	l, _ := m.Lock(ctx)
	pool, err := mp.NewPool(mp.Processes(4), mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const per = 200
	jobs := slices.Repeat([]counterJob{{D: d, V: v, L: l, X: x, N: per}}, 4)
	pids, err := mp.Map(ctx, pool, bump, jobs)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(pids, os.Getpid()) {
		t.Fatal("a job ran in the test process")
	}
	hits, ok, err := d.Get(ctx, "hits")
	if err != nil || !ok || hits != 4*per {
		t.Errorf("dict counter = %d, %v, %v; want %d", hits, ok, err, 4*per)
	}
	if n, err := v.Get(ctx); n != 4*per || err != nil {
		t.Errorf("value counter = %d, %v; want %d", n, err, 4*per)
	}
	if n, err := x.Get(ctx); n != 4*per || err != nil {
		t.Errorf("counter under the manager's Lock = %d, %v; want %d", n, err, 4*per)
	}
}

type fillJob struct {
	D *manager.Dict[int, string]
	L *manager.List[int]
	A *manager.Array[float64]
	I int
}

var fill = mp.Register("manager-test.fill", func(ctx context.Context, j fillJob) (struct{}, error) {
	if err := j.D.Set(ctx, j.I, fmt.Sprint("item ", j.I)); err != nil {
		return struct{}{}, err
	}
	if _, err := j.L.Append(ctx, j.I); err != nil {
		return struct{}{}, err
	}
	_, err := j.A.Update(ctx, j.I%4, manager.Add(0.5))
	return struct{}{}, err
})

func TestDictListArrayFilledByAPool(t *testing.T) {
	ctx := testCtx(t)
	m := start(t)
	d, _ := manager.NewDict[int, string](ctx, m)
	l, _ := manager.NewList[int](ctx, m, nil)
	a, err := manager.NewArray[float64](ctx, m, 4)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := mp.NewPool(mp.Processes(3))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var jobs []fillJob
	for i := range 100 {
		jobs = append(jobs, fillJob{d, l, a, i})
	}
	if _, err := mp.Map(ctx, pool, fill, jobs); err != nil {
		t.Fatal(err)
	}
	got, err := d.Copy(ctx)
	if err != nil || len(got) != 100 || got[42] != "item 42" {
		t.Fatalf("dict: %d items, [42]=%q, %v", len(got), got[42], err)
	}
	items, _ := l.All(ctx)
	slices.Sort(items)
	if len(items) != 100 || items[0] != 0 || items[99] != 99 {
		t.Fatalf("list: %v", items)
	}
	sums, _ := a.All(ctx)
	if !slices.Equal(sums, []float64{12.5, 12.5, 12.5, 12.5}) {
		t.Fatalf("array: %v", sums)
	}
}

func TestDictOperations(t *testing.T) {
	ctx := testCtx(t)
	m := start(t)
	d, _ := manager.NewDict[string, []int](ctx, m)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.Set(ctx, "a", []int{1}))
	must(d.SetMany(ctx, map[string][]int{"b": {2}, "c": {3, 3}}))
	if v, ok, err := d.Get(ctx, "c"); !ok || err != nil || !slices.Equal(v, []int{3, 3}) {
		t.Fatalf("Get c = %v %v %v", v, ok, err)
	}
	if _, ok, _ := d.Get(ctx, "zz"); ok {
		t.Fatal("Get of a missing key found it")
	}
	vals, found, err := d.GetMany(ctx, []string{"a", "zz", "b"})
	if err != nil || !slices.Equal(found, []bool{true, false, true}) || vals[2][0] != 2 {
		t.Fatalf("GetMany = %v %v %v", vals, found, err)
	}
	if v, loaded, _ := d.SetDefault(ctx, "a", []int{9}); !loaded || v[0] != 1 {
		t.Fatalf("SetDefault on a present key = %v %v", v, loaded)
	}
	if v, loaded, _ := d.SetDefault(ctx, "d", []int{4}); loaded || v[0] != 4 {
		t.Fatalf("SetDefault on a missing key = %v %v", v, loaded)
	}
	keys, _ := d.Keys(ctx)
	if !slices.Equal(keys[:1], []string{"a"}) || keys[3] != "d" {
		t.Fatalf("Keys not in insertion order: %v", keys)
	}
	if ok, _ := d.CompareAndSwap(ctx, "a", []int{7}, []int{8}); ok {
		t.Fatal("CompareAndSwap with a wrong old value swapped")
	}
	if ok, _ := d.CompareAndSwap(ctx, "a", []int{1}, []int{8}); !ok {
		t.Fatal("CompareAndSwap with the right old value did not swap")
	}
	if k, v, ok, _ := d.PopItem(ctx); !ok || k != "d" || v[0] != 4 {
		t.Fatalf("PopItem = %v %v %v", k, v, ok)
	}
	if ok, _ := d.Delete(ctx, "b"); !ok {
		t.Fatal("Delete of a present key")
	}
	if ok, _ := d.Contains(ctx, "b"); ok {
		t.Fatal("Contains after Delete")
	}
	items, _ := d.Items(ctx)
	if len(items) != 2 || items[0].Key != "a" || items[0].Value[0] != 8 || items[1].Key != "c" {
		t.Fatalf("Items = %v", items)
	}
	must(d.Clear(ctx))
	if n, _ := d.Len(ctx); n != 0 {
		t.Fatalf("Len after Clear = %d", n)
	}
}

var appendWord = manager.NewUpdate("manager-test.append", func(old string, found bool, w string) (string, error) {
	if w == "" {
		return "", errors.New("empty word")
	}
	if !found {
		return w, nil
	}
	return old + " " + w, nil
})

func TestUpdateFunctionsAndNamespace(t *testing.T) {
	ctx := testCtx(t)
	m := start(t)
	ns, _ := m.Namespace(ctx)
	if err := ns.Set(ctx, "x", 1.5); err != nil {
		t.Fatal(err)
	}
	ns.Set(ctx, "name", "mp")
	if x, err := manager.Attr[float64](ctx, ns, "x"); x != 1.5 || err != nil {
		t.Fatalf("x = %v %v", x, err)
	}
	if _, err := manager.Attr[int](ctx, ns, "nope"); !errors.Is(err, manager.ErrNotFound) {
		t.Fatalf("a missing attribute: %v", err)
	}
	if s, err := manager.UpdateAttr(ctx, ns, "name", appendWord.With("go")); s != "mp go" || err != nil {
		t.Fatalf("UpdateAttr = %q %v", s, err)
	}
	if names, _ := ns.Names(ctx); !slices.Equal(names, []string{"x", "name"}) {
		t.Fatalf("Names = %v", names)
	}
	d, _ := manager.NewDict[string, string](ctx, m)
	if s, _ := d.Update(ctx, "k", appendWord.With("a")); s != "a" {
		t.Fatalf("Update on a missing key = %q", s)
	}
	if s, _ := d.Update(ctx, "k", appendWord.With("b")); s != "a b" {
		t.Fatalf("Update = %q", s)
	}
	if _, err := d.Update(ctx, "k", appendWord.With("")); err == nil || !strings.Contains(err.Error(), "empty word") {
		t.Fatalf("an update function's error: %v", err)
	}
	if s, _, _ := d.Get(ctx, "k"); s != "a b" {
		t.Fatalf("a failed update changed the value: %q", s)
	}
	f, _ := manager.NewValue(ctx, m, 1.25)
	if x, err := f.Update(ctx, manager.Add(2.5)); x != 3.75 || err != nil {
		t.Fatalf("float Add = %v %v", x, err)
	}
	u, _ := manager.NewValue[uint8](ctx, m, 250)
	if x, err := u.Update(ctx, manager.Add[uint8](10)); err == nil {
		t.Fatalf("uint8 overflow gave %v, want a decoding error", x)
	}
	neg, _ := manager.NewValue(ctx, m, 5)
	if x, _ := neg.Update(ctx, manager.Add(-7)); x != -2 {
		t.Fatalf("5 + -7 = %d", x)
	}
	var zero manager.Op[int]
	if _, err := neg.Update(ctx, zero); !errors.Is(err, manager.ErrBadRequest) {
		t.Fatalf("zero Op: %v", err)
	}
	if ok, _ := neg.CompareAndSwap(ctx, -2, 10); !ok {
		t.Fatal("CompareAndSwap")
	}
}

func TestListOperations(t *testing.T) {
	ctx := testCtx(t)
	m := start(t)
	l, _ := manager.NewList(ctx, m, []string{"a", "b"})
	l.Extend(ctx, []string{"c", "d", "b"})
	if v, _ := l.Get(ctx, -1); v != "b" {
		t.Fatalf("Get(-1) = %q", v)
	}
	if _, err := l.Get(ctx, 5); !errors.Is(err, manager.ErrIndex) {
		t.Fatalf("Get(5): %v", err)
	}
	if s, _ := l.Slice(ctx, 1, -1); !slices.Equal(s, []string{"b", "c", "d"}) {
		t.Fatalf("Slice(1,-1) = %v", s)
	}
	if n, _ := l.Count(ctx, "b"); n != 2 {
		t.Fatalf("Count = %d", n)
	}
	l.Remove(ctx, "b")
	if i, _ := l.Index(ctx, "b"); i != 3 {
		t.Fatalf("Index after Remove = %d", i)
	}
	if err := l.Remove(ctx, "zz"); !errors.Is(err, manager.ErrNotFound) {
		t.Fatalf("Remove of a missing value: %v", err)
	}
	l.Insert(ctx, 0, "z")
	if v, _ := l.Pop(ctx, 0); v != "z" {
		t.Fatalf("Pop(0) = %q", v)
	}
	l.Set(ctx, 0, "A")
	l.SetMany(ctx, 1, []string{"C", "D"})
	if all, _ := l.All(ctx); !slices.Equal(all, []string{"A", "C", "D", "b"}) {
		t.Fatalf("All = %v", all)
	}
	a, _ := manager.NewArray[int](ctx, m, 3)
	if err := a.SetMany(ctx, 2, []int{1, 2}); !errors.Is(err, manager.ErrIndex) {
		t.Fatalf("SetMany past the end of an Array: %v", err)
	}
	if n, _ := a.Len(ctx); n != 3 {
		t.Fatalf("Array Len = %d", n)
	}
}

type queueJob struct {
	Q *manager.Queue[int]
	N int
}

var produce = mp.Register("manager-test.produce", func(ctx context.Context, j queueJob) (struct{}, error) {
	for i := range j.N {
		if err := j.Q.Put(ctx, i); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, j.Q.Join(ctx) // until the consumer has done every item
})

func TestQueueBetweenProcesses(t *testing.T) {
	backends(t, func(t *testing.T, ctx context.Context, m *manager.Manager) {
		q, _ := manager.NewQueue[int](ctx, m, 10) // bounded: the producer waits for room
		const n = 500
		p, err := mp.NewProcess(produce, queueJob{q, n})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		var got []int
		for len(got) < n {
			batch, err := q.GetMany(ctx, 7)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, batch...)
			for range batch {
				if err := q.TaskDone(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("item %d is %d: not FIFO", i, v)
			}
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if err := q.TaskDone(ctx); err == nil {
			t.Fatal("TaskDone more times than items put: no error")
		}
		if _, err := q.GetNowait(ctx); !errors.Is(err, mp.ErrEmpty) {
			t.Fatalf("GetNowait on an empty queue: %v", err)
		}
		for i := range 10 {
			q.PutNowait(ctx, i)
		}
		if err := q.PutNowait(ctx, 10); !errors.Is(err, mp.ErrFull) {
			t.Fatalf("PutNowait on a full queue: %v", err)
		}
		if full, _ := q.Full(ctx); !full {
			t.Fatal("Full")
		}
		// A Put that times out leaves the queue as it was; a Get that times
		// out loses nothing.
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := q.Put(short, 99); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Put on a full queue with a deadline: %v", err)
		}
		if n, _ := q.Qsize(ctx); n != 10 {
			t.Fatalf("Qsize = %d after a Put that timed out", n)
		}
		q.Close(ctx)
		if err := q.Put(ctx, 1); !errors.Is(err, mp.ErrQueueClosed) {
			t.Fatalf("Put after Close: %v", err)
		}
		if v, err := q.Get(ctx); v != 0 || err != nil {
			t.Fatalf("Get after Close drains: %v %v", v, err)
		}
		q.GetMany(ctx, 100)
		if _, err := q.Get(ctx); !errors.Is(err, mp.ErrQueueClosed) {
			t.Fatalf("Get on a closed, drained queue: %v", err)
		}
	})
}

func TestGetCancelledLosesNothing(t *testing.T) {
	ctx := testCtx(t)
	m := start(t)
	q, _ := manager.NewQueue[string](ctx, m, 0)
	for range 20 {
		short, cancel := context.WithTimeout(ctx, time.Millisecond)
		go q.Put(ctx, "x")
		v, err := q.Get(short)
		cancel()
		if err == nil && v != "x" {
			t.Fatalf("Get = %q", v)
		}
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			if _, err := q.Get(ctx); err != nil { // the item is still there
				t.Fatal(err)
			}
		}
	}
	if n, _ := q.Qsize(ctx); n != 0 {
		t.Fatalf("%d items left", n)
	}
}

type syncJob struct {
	Sem  *manager.Semaphore
	Cur  *manager.Value[int]
	Max  *manager.Dict[string, int]
	B    *manager.Barrier
	Ev   *manager.Event
	Cond *manager.Condition
	NS   *manager.Namespace
	In   *manager.Value[int] // children inside the condition's Wait
}

var maxOf = manager.NewUpdate("manager-test.max", func(old int, _ bool, x int) (int, error) { return max(old, x), nil })

var syncWork = mp.Register("manager-test.sync", func(ctx context.Context, j syncJob) (string, error) {
	if err := j.Ev.Wait(ctx); err != nil { // the parent's start signal
		return "", err
	}
	var greeting string
	if err := j.NS.Get(ctx, "greeting", &greeting); err != nil {
		return "", err
	}
	for range 5 {
		if err := j.Sem.Acquire(ctx); err != nil {
			return "", err
		}
		n, err := j.Cur.Update(ctx, manager.Add(1))
		if err == nil {
			_, err = j.Max.Update(ctx, "max", maxOf.With(n))
		}
		time.Sleep(time.Millisecond)
		if err == nil {
			_, err = j.Cur.Update(ctx, manager.Add(-1))
		}
		if err := j.Sem.Release(); err != nil {
			return "", err
		}
		if err != nil {
			return "", err
		}
	}
	if _, err := j.B.Wait(ctx); err != nil {
		return "", err
	}
	// After the barrier: wait on the condition until the parent says go.
	if err := j.Cond.Lock(ctx); err != nil {
		return "", err
	}
	if _, err := j.In.Update(ctx, manager.Add(1)); err != nil {
		return "", err
	}
	var goFlag bool
	for {
		if err := j.NS.Get(ctx, "go", &goFlag); err != nil && !errors.Is(err, manager.ErrNotFound) {
			return "", err
		}
		if goFlag {
			break
		}
		if err := j.Cond.Wait(ctx); err != nil {
			return "", err
		}
	}
	j.Cond.Unlock()
	return greeting, nil
})

func TestSyncObjectsAcrossProcesses(t *testing.T) {
	ctx := testCtx(t)
	m := start(t)
	sem, _ := m.BoundedSemaphore(ctx, 2)
	cur, _ := manager.NewValue(ctx, m, 0)
	mx, _ := manager.NewDict[string, int](ctx, m)
	b, _ := m.Barrier(ctx, 4, mp.Func[struct{}, struct{}]{})
	ev, _ := m.Event(ctx)
	cond, err := m.Condition(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := m.Namespace(ctx)
	ns.Set(ctx, "greeting", "hello from the parent")
	in, _ := manager.NewValue(ctx, m, 0)
	job := syncJob{sem, cur, mx, b, ev, cond, ns, in}
	var procs []*mp.Process
	for range 4 {
		p, err := mp.NewProcess(syncWork, job)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	ev.Set(ctx)
	// Each child counts itself in, holding the condition's lock, then
	// waits: once the parent sees 4 and takes the lock, all 4 wait.
	deadline := time.Now().Add(time.Minute)
	for n := 0; n < 4; n, _ = in.Get(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 children reached the condition within a minute", n)
		}
		for _, p := range procs {
			if !p.IsAlive() {
				t.Fatalf("a child ended early: %v", p.Join(ctx))
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	cond.Lock(ctx)
	ns.Set(ctx, "go", true)
	cond.NotifyAll(ctx)
	cond.Unlock()
	for _, p := range procs {
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if v, _, _ := mx.Get(ctx, "max"); v < 1 || v > 2 {
		t.Fatalf("%d children held the semaphore of 2 at once", v)
	}
	if err := sem.Release(); !errors.Is(err, manager.ErrBadRequest) {
		t.Fatalf("over-release of a BoundedSemaphore: %v", err)
	}
}

var holdLock = mp.Register("manager-test.hold", func(ctx context.Context, l *manager.Lock) (struct{}, error) {
	if err := l.Lock(ctx); err != nil {
		return struct{}{}, err
	}
	os.Exit(3) // dies holding it
	return struct{}{}, nil
})

var barrierAction = mp.Register("manager-test.barrier-action", func(ctx context.Context, _ struct{}) (struct{}, error) {
	return struct{}{}, errors.New("action failed")
})

// backends runs f against a manager of each kind: a server process of
// this program (on its Unix socket, and on TCP), and NATS (an embedded server, a bucket of the test's own).
func backends(t *testing.T, f func(t *testing.T, ctx context.Context, m *manager.Manager)) {
	t.Run("server", func(t *testing.T) { f(t, testCtx(t), start(t)) })
	t.Run("tcp", func(t *testing.T) { f(t, testCtx(t), startTCP(t)) })
	t.Run("nats", func(t *testing.T) {
		ctx := testCtx(t)
		m, err := manager.Start(ctx, manager.Cluster(natsServer(t)), manager.Bucket(strings.ReplaceAll(t.Name(), "/", "_")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		f(t, ctx, m)
	})
}

func TestCondition(t *testing.T) {
	backends(t, func(t *testing.T, ctx context.Context, m *manager.Manager) {
		cond, err := m.Condition(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cond.Wait(ctx); !errors.Is(err, manager.ErrNotOwner) {
			t.Fatalf("Wait without the lock: %v", err)
		}
		if err := cond.Notify(ctx, 1); !errors.Is(err, manager.ErrNotOwner) {
			t.Fatalf("Notify without the lock: %v", err)
		}
		// A waiter is woken by Notify and holds the lock again.
		cond.Lock(ctx)
		woke := make(chan error, 1)
		go func() { woke <- cond.Wait(ctx) }()
		// the waiter releases the lock when it waits: take it to notify
		if err := cond.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		cond.Notify(ctx, 1)
		cond.Unlock()
		select {
		case err := <-woke:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Notify did not wake the waiter")
		}
		if locked, _ := cond.L.Locked(ctx); !locked {
			t.Fatal("the waiter does not hold the lock after Wait")
		}
		// A Wait that times out holds the lock again.
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := cond.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait with a deadline: %v", err)
		}
		if locked, _ := cond.L.Locked(ctx); !locked {
			t.Fatal("the lock is not held after a Wait that timed out")
		}
		cond.Unlock()
	})
}

var holdRLock = mp.Register("manager-test.hold-rlock", func(ctx context.Context, l *manager.RLock) (struct{}, error) {
	if _, err := l.Lock(ctx); err != nil {
		return struct{}{}, err
	}
	os.Exit(3) // dies holding it
	return struct{}{}, nil
})

func TestRLock(t *testing.T) {
	backends(t, func(t *testing.T, ctx context.Context, m *manager.Manager) {
		l, err := m.RLock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held, err := l.Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		again, err := l.Lock(held)
		if err != nil || again != held {
			t.Fatalf("reentrant Lock: %v", err)
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := l.Lock(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock by another context: %v", err)
		}
		if err := l.Unlock(ctx); !errors.Is(err, manager.ErrNotOwner) {
			t.Fatalf("Unlock by a context that never locked: %v", err)
		}
		l.Unlock(held)
		l.Unlock(held)
		if err := l.Unlock(held); !errors.Is(err, manager.ErrNotOwner) {
			t.Fatalf("one Unlock too many: %v", err)
		}
		// A holder that dies: the next Lock gets it with ErrOwnerDead.
		p, _ := mp.NewProcess(holdRLock, l)
		p.Start(ctx)
		p.Join(ctx)
		other, err := l.Lock(ctx)
		if !errors.Is(err, mp.ErrOwnerDead) {
			t.Fatalf("Lock after its holder died: %v", err)
		}
		if err := l.Unlock(other); err != nil {
			t.Fatalf("Unlock after ErrOwnerDead: %v", err)
		}
	})
}

func TestLockOwnerDies(t *testing.T) {
	backends(t, func(t *testing.T, ctx context.Context, m *manager.Manager) {
		l, err := m.Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := mp.NewProcess(holdLock, l)
		p.Start(ctx)
		p.Join(ctx)
		if err := l.Lock(ctx); !errors.Is(err, mp.ErrOwnerDead) {
			t.Fatalf("Lock after the holder died: %v", err)
		}
		if locked, _ := l.Locked(ctx); !locked {
			t.Fatal("ErrOwnerDead, yet the lock is not held")
		}
		if ok, _ := l.TryLock(ctx); ok {
			t.Fatal("TryLock of a held lock")
		}
		l.Unlock()
		if err := l.Unlock(); !errors.Is(err, manager.ErrNotOwner) {
			t.Fatalf("Unlock of an unlocked lock: %v", err)
		}
	})
}

func TestBarrier(t *testing.T) {
	backends(t, func(t *testing.T, ctx context.Context, m *manager.Manager) {
		b, err := m.Barrier(ctx, 3, mp.Func[struct{}, struct{}]{})
		if err != nil {
			t.Fatal(err)
		}
		idx := make(chan int, 3)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				i, err := b.Wait(ctx)
				if err != nil {
					t.Error(err)
				}
				idx <- i
			})
		}
		wg.Wait()
		close(idx)
		var got []int
		for i := range idx {
			got = append(got, i)
		}
		slices.Sort(got)
		if !slices.Equal(got, []int{0, 1, 2}) {
			t.Fatalf("indices %v", got)
		}
		// A party that gives up breaks the barrier for the others.
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := b.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait with a deadline: %v", err)
		}
		if _, err := b.Wait(ctx); !errors.Is(err, mp.ErrBrokenBarrier) {
			t.Fatalf("Wait on a broken barrier: %v", err)
		}
		b.Reset(ctx)
		if broken, _ := b.Broken(ctx); broken {
			t.Fatal("broken after Reset")
		}
		// The action's error breaks the barrier.
		ab, _ := m.Barrier(ctx, 1, barrierAction)
		if _, err := ab.Wait(ctx); !errors.Is(err, mp.ErrBrokenBarrier) || !strings.Contains(err.Error(), "action failed") {
			t.Fatalf("a failing action: %v", err)
		}
		if _, err := m.Barrier(ctx, 1, mp.Fn(func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil })); !errors.Is(err, mp.ErrInvalidOption) {
			t.Fatalf("a closure as action: %v", err)
		}
	})
}

type Tally struct{ counts map[string]int }

var tallyType = manager.Register("manager-test.tally", func() *Tally { return &Tally{counts: map[string]int{}} })

var tallyAdd = manager.NewMethod(tallyType, "Add", func(_ context.Context, t *Tally, word string) (int, error) {
	if word == "" {
		return 0, errors.New("no word")
	}
	t.counts[word]++ // no lock: the server runs one method at a time per value
	return t.counts[word], nil
})

var tallyTop = manager.NewMethod(tallyType, "Top", func(_ context.Context, t *Tally, _ struct{}) (map[string]int, error) {
	return t.counts, nil
})

var tallyJob = mp.Register("manager-test.tally-job", func(ctx context.Context, o *manager.Object[Tally]) (struct{}, error) {
	for range 100 {
		if _, err := tallyAdd.Call(ctx, o, "go"); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
})

func TestRegisteredType(t *testing.T) {
	ctx := testCtx(t)
	m := start(t)
	o, err := tallyType.New(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := mp.NewPool(mp.Processes(3))
	defer pool.Close()
	if _, err := mp.Map(ctx, pool, tallyJob, []*manager.Object[Tally]{o, o, o, o}); err != nil {
		t.Fatal(err)
	}
	top, err := tallyTop.Call(ctx, o, struct{}{})
	if err != nil || top["go"] != 400 {
		t.Fatalf("Top = %v %v", top, err)
	}
	if _, err := tallyAdd.Call(ctx, o, ""); err == nil || !strings.Contains(err.Error(), "no word") {
		t.Fatalf("a method's error: %v", err)
	}
	// Named objects: the same name gives the same object.
	a, _ := tallyType.New(ctx, m, manager.Named("shared"))
	tallyAdd.Call(ctx, a, "x")
	b, _ := tallyType.New(ctx, m, manager.Named("shared"))
	if n, _ := tallyAdd.Call(ctx, b, "x"); n != 2 {
		t.Fatalf("a second New with the same name made a new object (%d)", n)
	}
	if _, err := manager.NewDict[string, int](ctx, m, manager.Named("shared")); !errors.Is(err, manager.ErrBadRequest) {
		t.Fatalf("a name taken by another kind: %v", err)
	}
}

func TestShutdownAndServerGone(t *testing.T) {
	ctx := testCtx(t)
	m, err := manager.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(m.Address())
	if fi, err := os.Stat(m.Address()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", fi, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory: %v %v", fi, err)
	}
	q, _ := manager.NewQueue[int](ctx, m, 0)
	got := make(chan error, 1)
	go func() {
		_, err := q.Get(ctx) // waits on the server
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, manager.ErrServerGone) {
			t.Fatalf("a Get waiting at Shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a Get waiting at Shutdown did not return")
	}
	if _, err := q.Qsize(ctx); !errors.Is(err, manager.ErrServerGone) {
		t.Fatalf("a call after Shutdown: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the server's directory is left: %v", err)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatalf("a second Shutdown: %v", err)
	}
}
