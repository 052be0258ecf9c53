//go:build linux

package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

type putGetArgs struct {
	Q                       *mp.Queue[int]
	ChildCanStart, ParentGo *mp.Event
}

var (
	// testPut is _TestQueue._test_put: it takes 6 items.
	testPut = mp.Register("conf.testPut", func(ctx context.Context, a putGetArgs) (struct{}, error) {
		if err := a.ChildCanStart.Wait(ctx); err != nil {
			return struct{}{}, err
		}
		for range 6 {
			if _, err := a.Q.Get(ctx); err != nil {
				return struct{}{}, err
			}
		}
		a.ParentGo.Set()
		return struct{}{}, nil
	})
	// testGet is _TestQueue._test_get: it puts 2, 3, 4, 5.
	testGet = mp.Register("conf.testGet", func(ctx context.Context, a putGetArgs) (struct{}, error) {
		if err := a.ChildCanStart.Wait(ctx); err != nil {
			return struct{}{}, err
		}
		for i := 2; i <= 5; i++ {
			if err := a.Q.Put(ctx, i); err != nil {
				return struct{}{}, err
			}
		}
		a.ParentGo.Set()
		return struct{}{}, nil
	})
	// testFork is _TestQueue._test_fork: it puts 10..19.
	testFork = mp.Register("conf.testFork", func(ctx context.Context, q *mp.Queue[int]) (struct{}, error) {
		for i := 10; i < 20; i++ {
			if err := q.Put(ctx, i); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	// testTaskDone is _TestQueue._test_task_done: for obj in iter(q.get,
	// None): q.task_done(); -1 stands for None.
	testTaskDone = mp.Register("conf.testTaskDone", func(ctx context.Context, q *mp.JoinableQueue[int]) (struct{}, error) {
		for {
			v, err := q.Get(ctx)
			if err != nil || v == -1 {
				return struct{}{}, err
			}
			time.Sleep(time.Millisecond)
			if err := q.TaskDone(); err != nil {
				return struct{}{}, err
			}
		}
	})
	// testEmpty is TestSimpleQueue._test_empty.
	testEmpty = mp.Register("conf.testEmpty", func(ctx context.Context, a simpleArgs) (struct{}, error) {
		defer a.ParentGo.Set()
		if err := a.ChildCanStart.Wait(ctx); err != nil {
			return struct{}{}, err
		}
		if err := a.Q.Put(ctx, a.Q.Empty()); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, a.Q.Put(ctx, a.Q.Empty())
	})
)

type simpleArgs struct {
	Q                       *mp.SimpleQueue[bool]
	ChildCanStart, ParentGo *mp.Event
}

// TestQueue ports _TestQueue and TestSimpleQueue.
func TestQueue(t *testing.T) {
	// CPython: _TestQueue.test_put
	t.Run("test_put", func(t *testing.T) {
		ctx := testCtx(t)
		const maxsize = 6
		q := newQueue[int](t, maxsize)
		start, cont := newEvent(t), newEvent(t)
		p := startProcess(t, testPut, putGetArgs{Q: q, ChildCanStart: start, ParentGo: cont}, mp.Daemon(true))
		if !q.Empty() || q.Full() {
			t.Fatalf("new queue: empty %v full %v", q.Empty(), q.Full())
		}
		for i := 1; i <= 5; i++ {
			if err := q.Put(ctx, i); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.PutNowait(6); err != nil {
			t.Fatal(err)
		}
		if q.Empty() || !q.Full() {
			t.Fatalf("full queue: empty %v full %v", q.Empty(), q.Full())
		}
		if err := q.PutNowait(7); !errors.Is(err, mp.ErrFull) {
			t.Fatalf("put_nowait on a full queue: %v", err)
		}
		for _, d := range []time.Duration{100 * time.Millisecond, 10 * time.Millisecond} {
			short, cancel := context.WithTimeout(ctx, d)
			err := q.Put(short, 7)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("put(timeout) on a full queue: %v", err)
			}
		}
		start.Set()
		if err := cont.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if !q.Empty() || q.Full() {
			t.Fatalf("emptied queue: empty %v full %v", q.Empty(), q.Full())
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// CPython: _TestQueue.test_get
	t.Run("test_get", func(t *testing.T) {
		ctx := testCtx(t)
		q := newQueue[int](t, 0)
		start, cont := newEvent(t), newEvent(t)
		p := startProcess(t, testGet, putGetArgs{Q: q, ChildCanStart: start, ParentGo: cont}, mp.Daemon(true))
		if !q.Empty() {
			t.Fatal("new queue not empty")
		}
		start.Set()
		if err := cont.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if q.Empty() {
			t.Fatal("queue empty after the child's puts")
		}
		for _, want := range []int{2, 3, 4} {
			if v, err := q.Get(ctx); err != nil || v != want {
				t.Fatalf("get() = %v, %v; want %d", v, err, want)
			}
		}
		if v, err := q.GetNowait(); err != nil || v != 5 {
			t.Fatalf("get_nowait() = %v, %v", v, err)
		}
		if !q.Empty() {
			t.Fatal("not empty after 4 gets")
		}
		if _, err := q.GetNowait(); !errors.Is(err, mp.ErrEmpty) {
			t.Fatalf("get_nowait on an empty queue: %v", err)
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := q.Get(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("get(timeout) on an empty queue: %v", err)
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// CPython: _TestQueue.test_fork
	t.Run("test_fork", func(t *testing.T) {
		ctx := testCtx(t)
		q := newQueue[int](t, 0)
		for i := range 10 {
			q.Put(ctx, i)
		}
		p := startProcess(t, testFork, q, mp.Daemon(true))
		for i := range 20 {
			if v, err := q.Get(ctx); err != nil || v != i {
				t.Fatalf("get() = %v, %v; want %d", v, err, i)
			}
		}
		if _, err := q.GetNowait(); !errors.Is(err, mp.ErrEmpty) {
			t.Fatalf("get(False) at the end: %v", err)
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// CPython: _TestQueue.test_qsize
	t.Run("test_qsize", func(t *testing.T) {
		ctx := testCtx(t)
		q := newQueue[int](t, 0)
		check := func(want int) {
			t.Helper()
			if n := q.Qsize(); n != want {
				t.Fatalf("qsize() = %d, want %d", n, want)
			}
		}
		check(0)
		q.Put(ctx, 1)
		check(1)
		q.Put(ctx, 5)
		check(2)
		q.Get(ctx)
		check(1)
		q.Get(ctx)
		check(0)
	})

	// CPython: _TestQueue.test_task_done
	t.Run("test_task_done", func(t *testing.T) {
		ctx := testCtx(t)
		q, err := mp.NewJoinableQueue[int](0)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Unlink()
		var workers []*mp.Process
		for range 4 {
			workers = append(workers, startProcess(t, testTaskDone, q, mp.Daemon(true)))
		}
		for i := range 10 {
			q.Put(ctx, i)
		}
		if err := q.Join(ctx); err != nil {
			t.Fatal(err)
		}
		for range workers {
			q.Put(ctx, -1)
		}
		for _, p := range workers {
			if err := p.Join(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})

	// CPython: _TestQueue.test_timeout
	t.Run("test_timeout", func(t *testing.T) {
		q := newQueue[int](t, 0)
		start := time.Now()
		short, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
		defer cancel()
		if _, err := q.Get(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("get(True, 0.2): %v", err)
		}
		if d := time.Since(start); d < 100*time.Millisecond {
			t.Fatalf("get(timeout=0.2) gave up after %v", d)
		}
	})

	// CPython: _TestQueue.test_queue_feeder_donot_stop_onexc
	t.Run("test_queue_feeder_donot_stop_onexc", func(t *testing.T) {
		// Python's put of an unpicklable object fails in the feeder thread
		// and is dropped; here the put itself fails. Either way the queue
		// goes on.
		ctx := testCtx(t)
		for _, maxsize := range []int{0, 1} {
			q, err := mp.NewQueue[any](maxsize)
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Put(ctx, func() {}); err == nil {
				t.Error("put of an unencodable item succeeded")
			}
			if err := q.Put(ctx, true); err != nil {
				t.Fatal(err)
			}
			if n := q.Qsize(); n != 1 {
				t.Errorf("qsize() = %d", n)
			}
			if v, err := q.Get(ctx); err != nil || v != true {
				t.Fatalf("get() = %v, %v", v, err)
			}
			if !q.Empty() {
				t.Error("not empty")
			}
			q.Unlink()
		}
	})

	// CPython: _TestQueue.test_closed_queue_put_get_exceptions
	t.Run("test_closed_queue_put_get_exceptions", func(t *testing.T) {
		ctx := testCtx(t)
		q := newQueue[string](t, 0)
		jq, err := mp.NewJoinableQueue[string](0)
		if err != nil {
			t.Fatal(err)
		}
		defer jq.Unlink()
		for _, q := range []*mp.Queue[string]{q, &jq.Queue} {
			q.Close()
			if err := q.Put(ctx, "foo"); !errors.Is(err, mp.ErrQueueClosed) {
				t.Errorf("put on a closed queue: %v", err)
			}
			if _, err := q.Get(ctx); !errors.Is(err, mp.ErrQueueClosed) {
				t.Errorf("get on a closed queue: %v", err)
			}
		}
	})

	// CPython: TestSimpleQueue.test_empty
	t.Run("test_empty", func(t *testing.T) {
		ctx := testCtx(t)
		q, err := mp.NewSimpleQueue[bool]()
		if err != nil {
			t.Fatal(err)
		}
		defer q.Unlink()
		start, cont := newEvent(t), newEvent(t)
		p := startProcess(t, testEmpty, simpleArgs{Q: q, ChildCanStart: start, ParentGo: cont}, mp.Daemon(true))
		if !q.Empty() {
			t.Fatal("new queue not empty")
		}
		start.Set()
		if err := cont.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if q.Empty() {
			t.Fatal("empty after the child's puts")
		}
		if v, err := q.Get(ctx); err != nil || v != true {
			t.Fatalf("first get() = %v, %v; want True", v, err)
		}
		if v, err := q.Get(ctx); err != nil || v != false {
			t.Fatalf("second get() = %v, %v; want False", v, err)
		}
		if !q.Empty() {
			t.Fatal("not empty at the end")
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// CPython: TestSimpleQueue.test_close
	t.Run("test_close", func(t *testing.T) {
		q, err := mp.NewSimpleQueue[int]()
		if err != nil {
			t.Fatal(err)
		}
		defer q.Unlink()
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if err := q.Close(); err != nil {
			t.Fatalf("closing a queue twice: %v", err)
		}
	})

	// CPython: TestSimpleQueue.test_closed
	t.Run("test_closed", func(t *testing.T) {
		ctx := testCtx(t)
		q, err := mp.NewSimpleQueue[int]()
		if err != nil {
			t.Fatal(err)
		}
		defer q.Unlink()
		q.Close()
		// CPython checks its reader and writer are closed.
		if err := q.Put(ctx, 1); !errors.Is(err, mp.ErrQueueClosed) {
			t.Fatalf("put on a closed SimpleQueue: %v", err)
		}
		if _, err := q.Get(ctx); !errors.Is(err, mp.ErrQueueClosed) {
			t.Fatalf("get on a closed SimpleQueue: %v", err)
		}
	})
}
