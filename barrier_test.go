//go:build linux

package mp_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

var (
	// markBarrier is a barrier's action: it leaves a file where the test
	// says.
	markBarrier = mp.Register("test.markBarrier", func(context.Context, struct{}) (struct{}, error) {
		return struct{}{}, os.WriteFile(os.Getenv("MP_TEST_BARRIER_MARK"), nil, 0o600)
	})
	waitAt = mp.Register("test.waitAt", func(ctx context.Context, b *mp.Barrier) (int, error) {
		ctx, cancel := context.WithTimeout(ctx, long)
		defer cancel()
		return b.Wait(ctx)
	})
	echoSimple = mp.Register("test.echoSimple", func(ctx context.Context, q *mp.SimpleQueue[string]) (struct{}, error) {
		s, err := q.Get(ctx)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, q.Put(ctx, s+" back")
	})
)

func TestBarrierAcrossProcesses(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "mark")
	t.Setenv("MP_TEST_BARRIER_MARK", mark) // before the workers start: they inherit it
	b, err := mp.NewBarrier(3, markBarrier)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unlink()
	p, err := mp.NewPool(mp.Processes(3))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Terminate()
	var idx []int
	within(t, "three parties at the barrier", func() {
		idx, err = mp.Map(context.Background(), p, waitAt, []*mp.Barrier{b, b, b}, mp.Chunksize(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(idx)
	if !slices.Equal(idx, []int{0, 1, 2}) {
		t.Errorf("arrival indices %v", idx)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Errorf("the action did not run: %v", err)
	}
	if _, err := mp.NewBarrier(2, mp.Fn(func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil })); !errors.Is(err, mp.ErrInvalidOption) {
		t.Errorf("a closure as action: %v", err)
	}
}

func TestBarrierBreaks(t *testing.T) {
	b, err := mp.NewBarrier(2, mp.Func[struct{}, struct{}]{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unlink()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) || !b.Broken() {
		t.Fatalf("a party that times out: %v, broken %v", err, b.Broken())
	}
	if _, err := b.Wait(context.Background()); !errors.Is(err, mp.ErrBrokenBarrier) {
		t.Errorf("Wait on a broken barrier: %v", err)
	}
	b.Reset()
	if b.Broken() {
		t.Fatal("broken after Reset")
	}
	got := make(chan error, 1)
	go func() { _, err := b.Wait(context.Background()); got <- err }()
	for deadline := time.Now().Add(long); b.NWaiting() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the waiter never reached the barrier")
		}
	}
	b.Abort()
	select {
	case err := <-got:
		if !errors.Is(err, mp.ErrBrokenBarrier) {
			t.Errorf("a waiter when aborted: %v", err)
		}
	case <-time.After(long):
		t.Fatal("Abort did not release the waiter")
	}
	b.Reset()
	done := make(chan int, 2)
	for range 2 {
		go func() { i, _ := b.Wait(context.Background()); done <- i }()
	}
	a, c := <-done, <-done
	if a+c != 1 {
		t.Errorf("indices %d %d", a, c)
	}
}

func TestSimpleQueue(t *testing.T) {
	q, err := mp.NewSimpleQueue[string]()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	p, err := mp.NewProcess(echoSimple, q)
	startProcess(t, p, err)
	ctx := context.Background()
	if err := q.Put(ctx, "ping"); err != nil {
		t.Fatal(err)
	}
	within(t, "Join", func() { err = p.Join(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	if s, err := q.Get(ctx); s != "ping back" || err != nil || !q.Empty() {
		t.Errorf("got %q, %v", s, err)
	}
}
