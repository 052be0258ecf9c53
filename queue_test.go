//go:build linux

package mp_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

type msg struct {
	From int
	N    int
	Text string
}

type producerJob struct {
	Q    *mp.Queue[msg]
	From int
	N    int
}

var (
	// produce puts N messages and returns at once: the process may exit
	// with the items still unread.
	produce = mp.Register("test.produce", func(ctx context.Context, j producerJob) (struct{}, error) {
		for i := range j.N {
			if err := j.Q.Put(ctx, msg{From: j.From, N: i, Text: fmt.Sprint("item ", i)}); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	// consume gets until it sees the sentinel (N == -1), and counts.
	consume = mp.Register("test.consume", func(ctx context.Context, q *mp.JoinableQueue[msg]) (int, error) {
		n := 0
		for {
			m, err := q.Get(ctx)
			if err != nil {
				return n, err
			}
			q.TaskDone()
			if m.N == -1 {
				return n, nil
			}
			n++
		}
	})
)

// Python's best-known trap: a child puts items and exits, the parent
// joins it before draining. Here Put returns once the item is in shared
// memory: the child ends, nothing is lost.
func TestQueueJoinBeforeDrain(t *testing.T) {
	q, err := mp.NewQueue[msg](0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	var ps []*mp.Process
	for from := range 3 {
		p, err := mp.NewProcess(produce, producerJob{q, from, 5000})
		startProcess(t, p, err)
		ps = append(ps, p)
	}
	for _, p := range ps {
		var err error
		within(t, "Join before draining", func() { err = p.Join(context.Background()) })
		if err != nil {
			t.Fatal(err)
		}
	}
	if q.Qsize() != 15000 {
		t.Fatalf("Qsize %d after the producers ended, want 15000", q.Qsize())
	}
	next := make([]int, 3)
	for range 15000 {
		m, err := q.GetNowait()
		if err != nil {
			t.Fatal(err)
		}
		if m.N != next[m.From] || m.Text != fmt.Sprint("item ", m.N) {
			t.Fatalf("from %d: got %+v, want item %d (FIFO per producer)", m.From, m, next[m.From])
		}
		next[m.From]++
	}
	if _, err := q.GetNowait(); !errors.Is(err, mp.ErrEmpty) || !q.Empty() {
		t.Errorf("GetNowait of an empty queue: %v", err)
	}
}

// Many producers and consumers across processes; a JoinableQueue's Join
// waits for every TaskDone.
func TestJoinableQueueAcrossProcesses(t *testing.T) {
	q, err := mp.NewJoinableQueue[msg](100) // small: producers wait for consumers
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	pool, err := mp.NewPool(mp.Processes(4))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Terminate()
	ctx := context.Background()
	var consumers []*mp.Future[int]
	for range 2 {
		consumers = append(consumers, mp.Submit(ctx, pool, consume, q))
	}
	producers := mp.MapAsync(ctx, pool, produce, []producerJob{{&q.Queue, 0, 3000}, {&q.Queue, 1, 3000}}, mp.Chunksize(1))
	if _, err := producers.Get(ctx); err != nil {
		t.Fatal(err)
	}
	for range consumers {
		q.Put(ctx, msg{N: -1})
	}
	total := 0
	for _, f := range consumers {
		var n int
		within(t, "consumer", func() { n, err = f.Get(ctx) })
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 6000 {
		t.Errorf("consumers got %d items, want 6000", total)
	}
	jctx, cancel := context.WithTimeout(ctx, long)
	defer cancel()
	if err := q.Join(jctx); err != nil {
		t.Errorf("Join: %v", err)
	}
	if err := q.TaskDone(); err == nil {
		t.Error("TaskDone once too often accepted")
	}
}

func TestQueueLimitsAndClose(t *testing.T) {
	ctx := context.Background()
	q, err := mp.NewQueue[string](2, mp.QueueCapacity(1024))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	for _, s := range []string{"a", "b"} {
		if err := q.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.PutNowait("c"); !errors.Is(err, mp.ErrFull) || !q.Full() {
		t.Errorf("PutNowait on a full queue: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := q.Put(tctx, "c"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Put on a full queue with a timeout: %v", err)
	}
	big := string(make([]byte, 2000))
	if err := q.PutNowait(big); err == nil {
		t.Error("an item larger than the queue accepted")
	}
	// a getter waiting is woken by a put from another goroutine
	got := make(chan string, 3)
	go func() {
		for range 3 {
			s, _ := q.Get(ctx)
			got <- s
		}
	}()
	time.Sleep(20 * time.Millisecond) // the getter likely waits by then; the test holds either way
	q.Put(ctx, "c")
	var all []string
	for range 3 {
		select {
		case s := <-got:
			all = append(all, s)
		case <-time.After(long):
			t.Fatal("a waiting Get was not woken")
		}
	}
	if !slices.Equal(all, []string{"a", "b", "c"}) {
		t.Errorf("got %q", all)
	}
	// bytes wrap around the ring many times
	for i := range 2000 {
		if err := q.Put(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		if s, err := q.Get(ctx); err != nil || s != fmt.Sprint(i) {
			t.Fatalf("round %d: %q, %v", i, s, err)
		}
	}
	q.Put(ctx, "last")
	q.Close()
	if err := q.Put(ctx, "late"); !errors.Is(err, mp.ErrQueueClosed) {
		t.Errorf("Put after Close: %v", err)
	}
	if s, err := q.Get(ctx); s != "last" || err != nil {
		t.Errorf("Get after Close: %q, %v", s, err)
	}
	if _, err := q.Get(ctx); !errors.Is(err, mp.ErrQueueClosed) {
		t.Errorf("Get of a closed empty queue: %v", err)
	}
	if _, err := mp.NewQueue[int](-1); !errors.Is(err, mp.ErrInvalidOption) {
		t.Errorf("maxsize -1: %v", err)
	}
}

type lockMsg struct {
	L *mp.Lock
	E *mp.Event
}

// takeFromQueue gets a lock and an event through a queue, holds the lock
// and sets the event.
var takeFromQueue = mp.Register("test.takeFromQueue", func(ctx context.Context, q *mp.Queue[lockMsg]) (struct{}, error) {
	m, err := q.Get(ctx)
	if err != nil {
		return struct{}{}, err
	}
	if !m.L.TryLock() {
		return struct{}{}, errors.New("the lock received through the queue is held")
	}
	m.E.Set()
	return struct{}{}, m.L.Unlock()
})

// Synchronization objects travel through a Queue (Python refuses: they
// "should only be shared between processes through inheritance").
func TestHandlesThroughAQueue(t *testing.T) {
	q, err := mp.NewQueue[lockMsg](0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	l, _ := mp.NewLock()
	defer l.Unlink()
	e, _ := mp.NewEvent()
	defer e.Unlink()
	p, err := mp.NewProcess(takeFromQueue, q)
	startProcess(t, p, err)
	ctx := context.Background()
	if err := q.Put(ctx, lockMsg{l, e}); err != nil {
		t.Fatal(err)
	}
	within(t, "Join", func() { err = p.Join(ctx) })
	if err != nil || !e.IsSet() {
		t.Errorf("child: %v, event set %v", err, e.IsSet())
	}
}
