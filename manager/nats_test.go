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

	// A registered type and a list, from 4 processes.
	b, err := boardType.New(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := manager.NewList[int](ctx, m, []int{-1})
	var jobs2 []boardJob
	for i := range 40 {
		jobs2 = append(jobs2, boardJob{b, l2, i})
	}
	if _, err := mp.Map(ctx, pool, boardWork, jobs2); err != nil {
		t.Fatal(err)
	}
	if n, err := boardAdd.Call(ctx, b, ""); n != 40 || err != nil {
		t.Errorf("registered type: %d %v", n, err)
	}
	all, _ := l2.All(ctx)
	slices.Sort(all)
	if len(all) != 41 || all[0] != -1 || all[40] != 39 {
		t.Errorf("list: %v", all)
	}
	if v, _ := l2.Pop(ctx, 0); v == 0 && len(all) == 0 {
		t.Error("Pop")
	}
	if n, _ := l2.Len(ctx); n != 40 {
		t.Errorf("Len after Pop = %d", n)
	}
	a, _ := manager.NewArray[int](ctx, m, 3)
	a.SetMany(ctx, 1, []int{5, 6})
	if x, _ := a.Update(ctx, 2, manager.Add(1)); x != 7 {
		t.Errorf("Array.Update = %d", x)
	}
	if _, err := a.Get(ctx, 3); !errors.Is(err, manager.ErrIndex) {
		t.Errorf("Array.Get(3): %v", err)
	}
}

// Board is a registered type with exported fields (what lives in NATS).
type Board struct{ Total int }

var (
	boardType = manager.Register("manager-test.board", func() *Board { return &Board{} })
	boardAdd  = manager.NewMethod(boardType, "Add", func(_ context.Context, b *Board, who string) (int, error) {
		if who != "" {
			b.Total++
		}
		return b.Total, nil
	})
)

type boardJob struct {
	B *manager.Object[Board]
	L *manager.List[int]
	I int
}

var boardWork = mp.Register("manager-test.board-work", func(ctx context.Context, j boardJob) (struct{}, error) {
	if _, err := boardAdd.Call(ctx, j.B, "x"); err != nil {
		return struct{}{}, err
	}
	_, err := j.L.Append(ctx, j.I)
	return struct{}{}, err
})

func TestNATSEventSemaphore(t *testing.T) {
	ctx := testCtx(t)
	url := natsServer(t)
	m, err := manager.Start(ctx, manager.Cluster(url), manager.Bucket("test2"))
	if err != nil {
		t.Fatal(err)
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
	sem.Release()
	if err := sem.Release(); !errors.Is(err, manager.ErrBadRequest) {
		t.Fatalf("over-release: %v", err)
	}
	// Shutdown deletes the objects for everybody.
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.IsSet(ctx); err == nil {
		t.Fatal("an event after Shutdown")
	}
}
