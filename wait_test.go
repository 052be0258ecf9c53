//go:build linux

package mp_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// sendAfter sleeps, then sends on its Conn.
var sendAfter = mp.Register("test.sendAfter", func(ctx context.Context, c *mp.Conn[string]) (struct{}, error) {
	time.Sleep(50 * time.Millisecond) // likely while WaitReady waits; the test holds either way
	return struct{}{}, c.Send(ctx, "late")
})

// CPython: _TestWait.test_wait, test_wait_timeout, test_wait_integer
// (here: Conns, a queue and a process sentinel at once).
func TestWaitReady(t *testing.T) {
	ctx := context.Background()
	a1, b1, err := mp.Pipe[string](true)
	if err != nil {
		t.Fatal(err)
	}
	defer a1.Unlink()
	a2, b2, err := mp.Pipe[string](true)
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Unlink()
	q, err := mp.NewQueue[int](0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()

	// nothing ready: the timeout
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	ready, err := mp.WaitReady(tctx, a1, a2, q)
	cancel()
	if len(ready) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("nothing ready: %v, %v", ready, err)
	}

	// a child sends on b2 after a while; a process's end is ready too
	p, err := mp.NewProcess(sendAfter, b2)
	startProcess(t, p, err)
	b2.Close()
	var got []mp.Waitable
	within(t, "WaitReady", func() { got, err = mp.WaitReady(ctx, a1, a2, q) })
	if err != nil || !slices.Equal(got, []mp.Waitable{a2}) {
		t.Fatalf("WaitReady = %v, %v; want only the Conn the child sent on", got, err)
	}
	if m, err := a2.Recv(ctx); m != "late" || err != nil {
		t.Fatalf("Recv: %q, %v", m, err)
	}
	within(t, "WaitReady for the sentinel", func() { got, err = mp.WaitReady(ctx, a1, p) })
	if err != nil || !slices.Equal(got, []mp.Waitable{p}) {
		t.Fatalf("WaitReady = %v, %v; want the ended process", got, err)
	}
	// the child ended with its copy of b2: a2 is ready with EOF
	within(t, "WaitReady for EOF", func() { got, err = mp.WaitReady(ctx, a1, a2) })
	if err != nil || !slices.Equal(got, []mp.Waitable{a2}) {
		t.Fatalf("WaitReady = %v, %v; want a2 at EOF", got, err)
	}

	// several ready at once, in the order given
	b1.Send(ctx, "x")
	q.Put(ctx, 1)
	got, err = mp.WaitReady(ctx, q, a2, a1)
	if err != nil || !slices.Equal(got, []mp.Waitable{q, a2, a1}) {
		t.Fatalf("WaitReady = %v, %v; want all three", got, err)
	}
}
