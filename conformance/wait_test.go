//go:build linux

package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

type waitChildArgs struct {
	W    *mp.Conn[[2]int]
	Slow bool
}

type waitSocketArgs struct {
	Network, Address string
	Slow             bool
}

type signalSleepArgs struct {
	Sem *mp.Semaphore
	Ms  int
}

var (
	// childTestWait is TestWait._child_test_wait.
	childTestWait = mp.Register("conf.childTestWait", func(ctx context.Context, a waitChildArgs) (struct{}, error) {
		for i := range 10 {
			if a.Slow {
				time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
			}
			if err := a.W.Send(ctx, [2]int{i, os.Getpid()}); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, a.W.Close()
	})
	// childTestWaitSocket is TestWait._child_test_wait_socket, on a Conn
	// from Dial.
	childTestWaitSocket = mp.Register("conf.childTestWaitSocket", func(ctx context.Context, a waitSocketArgs) (struct{}, error) {
		c, err := mp.Dial[string](ctx, a.Network, a.Address, nil)
		if err != nil {
			return struct{}{}, err
		}
		defer c.Close()
		for i := range 10 {
			if a.Slow {
				time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
			}
			if err := c.SendBytes(ctx, fmt.Appendf(nil, "%d\n", i)); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	// signalAndSleep is TestWait.signal_and_sleep.
	signalAndSleep = mp.Register("conf.signalAndSleep", func(ctx context.Context, a signalSleepArgs) (struct{}, error) {
		if err := a.Sem.Release(); err != nil {
			return struct{}{}, err
		}
		time.Sleep(time.Duration(a.Ms) * time.Millisecond)
		return struct{}{}, nil
	})
)

func TestWait(t *testing.T) {
	// CPython: TestWait.test_wait, TestWait.test_wait_slow
	for _, slow := range []bool{false, true} {
		t.Run(fmt.Sprintf("test_wait(slow=%v)", slow), func(t *testing.T) {
			ctx := testCtx(t)
			var readers []mp.Waitable
			conns := map[mp.Waitable]*mp.Conn[[2]int]{}
			var procs []*mp.Process
			for range 4 {
				r, w := newPipe[[2]int](t, false)
				p := startProcess(t, childTestWait, waitChildArgs{w, slow}, mp.Daemon(true))
				w.Close()
				readers = append(readers, r)
				conns[r] = r
				procs = append(procs, p)
			}
			var messages [][2]int
			for len(readers) > 0 {
				ready, err := mp.WaitReady(ctx, readers...)
				if err != nil {
					t.Fatalf("wait(): %v with %d readers left", err, len(readers))
				}
				for _, r := range ready {
					msg, err := conns[r].Recv(ctx)
					switch {
					case errors.Is(err, io.EOF):
						readers = slices.DeleteFunc(readers, func(x mp.Waitable) bool { return x == r })
						conns[r].Close()
					case err != nil:
						t.Fatal(err)
					default:
						messages = append(messages, msg)
					}
				}
			}
			var expected [][2]int
			for _, p := range procs {
				if err := p.Join(ctx); err != nil {
					t.Fatal(err)
				}
				for i := range 10 {
					expected = append(expected, [2]int{i, p.Pid()})
				}
			}
			cmp := func(a, b [2]int) int { return a[0]*1<<32 + a[1] - (b[0]*1<<32 + b[1]) }
			slices.SortFunc(messages, cmp)
			slices.SortFunc(expected, cmp)
			if !slices.Equal(messages, expected) {
				t.Fatalf("messages %v, want %v", messages, expected)
			}
		})
	}

	// CPython: TestWait.test_wait_socket, TestWait.test_wait_socket_slow
	// Python's children write to plain sockets; mp's Dial Conns, waited on
	// as Python waits on the accepted sockets.
	for _, slow := range []bool{false, true} {
		t.Run(fmt.Sprintf("test_wait_socket(slow=%v)", slow), func(t *testing.T) {
			ctx := testCtx(t)
			l := listen[string](t, "tcp", "", nil)
			var procs []*mp.Process
			for range 4 {
				procs = append(procs, startProcess(t, childTestWaitSocket, waitSocketArgs{"tcp", l.Addr().String(), slow}, mp.Daemon(true)))
			}
			var readers []mp.Waitable
			conns := map[mp.Waitable]*mp.Conn[string]{}
			got := map[mp.Waitable]*strings.Builder{}
			for range 4 {
				r := accept(t, l)
				readers = append(readers, r)
				conns[r] = r
				got[r] = new(strings.Builder)
			}
			l.Close()
			for len(readers) > 0 {
				ready, err := mp.WaitReady(ctx, readers...)
				if err != nil {
					t.Fatalf("wait(): %v with %d readers left", err, len(readers))
				}
				for _, r := range ready {
					msg, err := conns[r].RecvBytes(ctx)
					switch {
					case errors.Is(err, io.EOF):
						readers = slices.DeleteFunc(readers, func(x mp.Waitable) bool { return x == r })
						conns[r].Close()
					case err != nil:
						t.Fatal(err)
					default:
						got[r].Write(msg)
					}
				}
			}
			var want strings.Builder
			for i := range 10 {
				fmt.Fprintf(&want, "%d\n", i)
			}
			for _, b := range got {
				if b.String() != want.String() {
					t.Fatalf("a reader got %q, want %q", b.String(), want.String())
				}
			}
			for _, p := range procs {
				if err := p.Join(ctx); err != nil {
					t.Fatal(err)
				}
			}
		})
	}

	// CPython: TestWait.test_wait_timeout
	t.Run("test_wait_timeout", func(t *testing.T) {
		const timeout = 300 * time.Millisecond
		a, b := newPipe[any](t, true)
		// start before the deadline is set: a busy machine may pause this
		// goroutine between the two (it did, 28 ms, at load 10)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		res, err := mp.WaitReady(ctx, a, b)
		delta := time.Since(start)
		if len(res) != 0 || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("wait([a, b], timeout) = %v, %v; want nothing, DeadlineExceeded", res, err)
		}
		if delta < timeout-10*time.Millisecond {
			t.Fatalf("wait returned after %v, before its timeout %v", delta, timeout)
		}
		if err := b.Send(testCtx(t), nil); err != nil {
			t.Fatal(err)
		}
		res, err = mp.WaitReady(testCtx(t), a, b)
		if err != nil || len(res) != 1 || res[0] != mp.Waitable(a) {
			t.Fatalf("wait([a, b], 20) after b.send = %v, %v; want [a]", res, err)
		}
	})

	// CPython: TestWait.test_wait_integer
	// Python waits on p.sentinel, an fd; mp waits on the *Process itself
	// (its Sentinel channel is ready at the same moment).
	t.Run("test_wait_integer", func(t *testing.T) {
		ctx := testCtx(t)
		const expected = 500 * time.Millisecond
		sem, err := mp.NewSemaphore(0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sem.Unlink() })
		a, b := newPipe[any](t, true)
		p := startProcess(t, signalAndSleep, signalSleepArgs{sem, int(expected / time.Millisecond)})
		if err := sem.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res, err := mp.WaitReady(ctx, a, p, b)
		delta := time.Since(start)
		if err != nil || len(res) != 1 || res[0] != mp.Waitable(p) {
			t.Fatalf("wait([a, sentinel, b]) = %v, %v; want [sentinel]", res, err)
		}
		if delta > expected+long/4 {
			t.Fatalf("the sentinel was ready after %v, the process sleeps %v", delta, expected)
		}
		select {
		case <-p.Sentinel():
		default:
			t.Fatal("WaitReady says the process ended; its Sentinel is not closed")
		}
		a.Send(ctx, nil)
		res, err = mp.WaitReady(ctx, a, p, b)
		if err != nil || !slices.Equal(res, []mp.Waitable{p, b}) {
			t.Fatalf("wait() after a.send = %v, %v; want [sentinel, b]", res, err)
		}
		b.Send(ctx, nil)
		res, err = mp.WaitReady(ctx, a, p, b)
		if err != nil || !slices.Equal(res, []mp.Waitable{a, p, b}) {
			t.Fatalf("wait() after b.send = %v, %v; want [a, sentinel, b]", res, err)
		}
		p.Terminate()
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// CPython: TestWait.test_neg_timeout
	// A negative timeout is a context that has already ended.
	t.Run("test_neg_timeout", func(t *testing.T) {
		a, b := newPipe[any](t, true)
		ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
		defer cancel()
		start := time.Now()
		res, err := mp.WaitReady(ctx, a)
		if len(res) != 0 || err == nil {
			t.Fatalf("wait([a], timeout=-1) = %v, %v; want nothing", res, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("wait(timeout=-1) took %v", d)
		}
		a.Close()
		b.Close()
	})
}
