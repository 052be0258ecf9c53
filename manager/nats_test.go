package manager_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/cluster"
	"github.com/mp-go/mp/manager"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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

// TestNATSQueuePutCutShortKeepsJoinsCount: a Put on a full queue whose
// context ends while it is counting the item as unfinished or trying to
// publish it must leave the count as it was. It left one too many when the
// context ended between the two (likelier under load): Join then waited
// for ever, and every later call of the conformance suite timed out.
func TestNATSQueuePutCutShortKeepsJoinsCount(t *testing.T) {
	ctx := testCtx(t)
	m, err := manager.Start(ctx, manager.Cluster(natsServer(t)), manager.Bucket("putcut"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	q, err := manager.NewQueue[int](ctx, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Put(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Deadlines spread over the first tries of each Put: some end before
	// the count, some between the count and the publish's answer, some
	// while it waits for room.
	for i := range 80 {
		short, cancel := context.WithTimeout(ctx, time.Duration(i)*40*time.Microsecond)
		err := q.Put(short, 2)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Put %d on a full queue: %v, want a deadline error", i, err)
		}
	}
	if x, err := q.Get(ctx); err != nil || x != 1 {
		t.Fatalf("Get: %v, %v; want 1", x, err)
	}
	if err := q.TaskDone(ctx); err != nil {
		t.Fatal(err)
	}
	join, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := q.Join(join); err != nil {
		t.Fatalf("Join after the one item put was done: %v (a Put cut short was counted)", err)
	}
}

// TestNATSQueueGetCutShortTakesNothing: a waiting Get whose context is
// cancelled while its pull request is on the server must not take the
// next item put. A waiting Get's pull is not tied to its caller's context
// (the client library dropped a message that arrived as the context
// ended: it came back only after the consumer's AckWait, 30s); what the
// pull brings after its caller left is given back at once. Without that,
// the item put next waits in a pull nobody reads.
func TestNATSQueueGetCutShortTakesNothing(t *testing.T) {
	ctx := testCtx(t)
	url := natsServer(t)
	m, err := manager.Start(ctx, manager.Cluster(url), manager.Bucket("getcut"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	q, err := manager.NewQueue[int](ctx, m, 0)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waiting := func() bool { // a pull request of the Get is on the server
		for name := range js.StreamNames(ctx).Name() {
			if !strings.HasPrefix(name, "MPQ_getcut_") {
				continue
			}
			c, err := js.Consumer(ctx, name, "get")
			if err != nil {
				return false
			}
			info, err := c.Info(ctx)
			return err == nil && info.NumWaiting > 0
		}
		return false
	}
	for i := range 5 {
		gctx, cancel := context.WithCancel(ctx)
		got := async(func() error { _, err := q.Get(gctx); return err })
		eventually(t, ctx, "the Get waits on the server", waiting)
		cancel()
		if err := await(t, ctx, "the cancelled Get", got); !errors.Is(err, context.Canceled) {
			t.Fatalf("the cancelled Get: %v, want context.Canceled", err)
		}
		if err := q.Put(ctx, i); err != nil {
			t.Fatal(err)
		}
		short, cancel2 := context.WithTimeout(ctx, 10*time.Second)
		x, err := q.Get(short)
		cancel2()
		if err != nil || x != i {
			t.Fatalf("round %d: Get after a cancelled Get: %v, %v; want %d (the cancelled Get took it)", i, x, err, i)
		}
	}
}

// TestNATSQueueGetSeesWhatWasPut: a Get that does not wait, and a Get of a
// closed queue, right after a Put returned, get its item. A pull asking
// not to wait could find nothing there (the server tells the consumer of a
// new message after it answers the publisher): GetNowait said Empty, and a
// closed queue's Get said it was drained (1 in ~200 runs of the
// conformance suite under load).
func TestNATSQueueGetSeesWhatWasPut(t *testing.T) {
	ctx := testCtx(t)
	m, err := manager.Start(ctx, manager.Cluster(natsServer(t)), manager.Bucket("getput"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	q, err := manager.NewQueue[int](ctx, m, 0)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 400 {
		if err := q.Put(ctx, round); err != nil {
			t.Fatal(err)
		}
		if x, err := q.GetNowait(ctx); err != nil || x != round {
			t.Fatalf("round %d: GetNowait right after Put: %v, %v", round, x, err)
		}
	}
	for round := range 20 {
		q, err := manager.NewQueue[int](ctx, m, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Put(ctx, round); err != nil {
			t.Fatal(err)
		}
		if err := q.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if x, err := q.Get(ctx); err != nil || x != round {
			t.Fatalf("round %d: Get of a closed queue right after its last Put: %v, %v", round, x, err)
		}
		if _, err := q.Get(ctx); !errors.Is(err, mp.ErrQueueClosed) {
			t.Fatalf("round %d: Get of a closed, drained queue: %v", round, err)
		}
	}
}
