package manager_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/cluster"
	"github.com/mp-go/mp/manager"
)

// natsServer starts an embedded NATS server with JetStream for a test.
func natsServer(t *testing.T) string {
	t.Helper()
	srv, err := cluster.StartServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.URL()
}

// TestNATSManagerAcrossProcesses: the same proxies, backed by NATS KV and
// streams, used by 4 pool processes: counters end exact.
func TestNATSManagerAcrossProcesses(t *testing.T) {
	ctx := testCtx(t)
	url := natsServer(t)
	m, err := manager.Start(ctx, manager.Cluster(url), manager.Bucket("test1"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d, err := manager.NewDict[string, int](ctx, m, manager.Named("scores"))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := manager.NewValue(ctx, m, 0)
	x, _ := manager.NewValue(ctx, m, 0)
	l, err := m.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := mp.NewPool(mp.Processes(4), mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const per = 25
	jobs := slices.Repeat([]counterJob{{D: d, V: v, L: l, X: x, N: per}}, 4)
	if _, err := mp.Map(ctx, pool, bump, jobs); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := d.Get(ctx, "hits"); n != 4*per || !ok || err != nil {
		t.Errorf("dict counter = %d %v %v", n, ok, err)
	}
	if n, _ := v.Get(ctx); n != 4*per {
		t.Errorf("value counter = %d", n)
	}
	if n, _ := x.Get(ctx); n != 4*per {
		t.Errorf("counter under the NATS lock = %d", n)
	}

	// Another manager on the same bucket (another host, say) finds the
	// named dict.
	other, err := manager.Connect(ctx, url, nil, manager.Bucket("test1"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	d2, _ := manager.NewDict[string, int](ctx, other, manager.Named("scores"))
	if n, _, _ := d2.Get(ctx, "hits"); n != 4*per {
		t.Errorf("through another manager: %d", n)
	}
	d2.SetMany(ctx, map[string]int{"a": 1, "b": 2})
	items, _ := d.Copy(ctx)
	if len(items) != 3 || items["b"] != 2 {
		t.Errorf("Copy = %v", items)
	}
	if ok, _ := d.CompareAndSwap(ctx, "a", 1, 10); !ok {
		t.Error("CompareAndSwap")
	}
	if ok, _ := d.CompareAndSwap(ctx, "a", 1, 11); ok {
		t.Error("CompareAndSwap with a stale old value")
	}
	if _, ok, _ := d.Pop(ctx, "a"); !ok {
		t.Error("Pop")
	}
	if n, _ := d.Len(ctx); n != 2 {
		t.Errorf("Len = %d", n)
	}
	if _, err := manager.NewValue(ctx, m, 0, manager.Named("scores")); !errors.Is(err, manager.ErrBadRequest) {
		t.Errorf("a name taken by another kind: %v", err)
	}
	if _, err := manager.NewList[int](ctx, m, nil); !errors.Is(err, manager.ErrUnknown) {
		t.Errorf("a List on NATS: %v", err)
	}
}

func TestNATSQueueEventSemaphore(t *testing.T) {
	ctx := testCtx(t)
	url := natsServer(t)
	m, err := manager.Start(ctx, manager.Cluster(url), manager.Bucket("test2"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := manager.NewQueue[int](ctx, m, 10)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	p, _ := mp.NewProcess(produce, queueJob{q, n})
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
			q.TaskDone(ctx)
		}
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("item %d is %d", i, v)
		}
	}
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := q.GetNowait(ctx); !errors.Is(err, mp.ErrEmpty) {
		t.Fatalf("GetNowait on empty: %v", err)
	}
	for i := range 10 {
		if err := q.PutNowait(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.PutNowait(ctx, 10); !errors.Is(err, mp.ErrFull) {
		t.Fatalf("PutNowait on full: %v", err)
	}

	ev, _ := m.Event(ctx)
	done := make(chan error, 1)
	go func() { done <- ev.Wait(ctx) }()
	time.Sleep(50 * time.Millisecond)
	ev.Set(ctx)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Event.Wait did not return after Set")
	}
	sem, _ := m.BoundedSemaphore(ctx, 1)
	if ok, _ := sem.TryAcquire(ctx); !ok {
		t.Fatal("TryAcquire")
	}
	if ok, _ := sem.TryAcquire(ctx); ok {
		t.Fatal("TryAcquire past 0")
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := sem.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire with a deadline: %v", err)
	}
	sem.Release(ctx)
	if err := sem.Release(ctx); !errors.Is(err, manager.ErrBadRequest) {
		t.Fatalf("over-release: %v", err)
	}
	// Shutdown deletes the objects for everybody.
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Qsize(ctx); err == nil {
		t.Fatal("a queue after Shutdown")
	}
}
