//go:build linux

package mp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// pong answers every message with the message and " pong", until EOF.
var pong = mp.Register("test.pong", func(ctx context.Context, c *mp.Conn[string]) (int, error) {
	n := 0
	for {
		m, err := c.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := c.Send(ctx, m+" pong"); err != nil {
			return n, err
		}
		n++
	}
})

func TestPipeAcrossProcesses(t *testing.T) {
	a, b, err := mp.Pipe[string](true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlink()
	p, err := mp.NewProcess(pong, b)
	startProcess(t, p, err)
	ctx := context.Background()
	for i := range 100 {
		if err := a.Send(ctx, "ping"); err != nil {
			t.Fatal(err)
		}
		var got string
		within(t, "Recv", func() { got, err = a.Recv(ctx) })
		if got != "ping pong" || err != nil {
			t.Fatalf("round %d: %q, %v", i, got, err)
		}
	}
	a.Close() // the child reads EOF and ends
	within(t, "Join", func() { err = p.Join(ctx) })
	if err != nil {
		t.Fatal(err)
	}
}

func TestPipeEnds(t *testing.T) {
	ctx := context.Background()
	r, w, err := mp.Pipe[int](false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Unlink()
	if err := r.Send(ctx, 1); err == nil {
		t.Error("the reading end of a one-way pipe sent")
	}
	if _, err := w.Recv(ctx); err == nil {
		t.Error("the writing end of a one-way pipe received")
	}
	if r.Poll(0) {
		t.Error("Poll of an empty pipe")
	}
	go func() { time.Sleep(50 * time.Millisecond); w.Send(ctx, 7) }() // likely while Poll waits; the test holds either way
	if !r.Poll(long) {
		t.Fatal("Poll did not see the message")
	}
	if v, err := r.Recv(ctx); v != 7 || err != nil {
		t.Errorf("Recv = %d, %v", v, err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := r.Recv(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Recv with a timeout: %v", err)
	}
	w.Send(ctx, 8)
	w.Close()
	if v, err := r.Recv(ctx); v != 8 || err != nil {
		t.Errorf("a message sent before Close: %d, %v", v, err)
	}
	if _, err := r.Recv(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("Recv after the other end closed: %v", err)
	}
	if err := w.Send(ctx, 9); !errors.Is(err, mp.ErrConnClosed) {
		t.Errorf("Send on a closed Conn: %v", err)
	}
	if !w.Closed() || r.Closed() || !r.Readable() || r.Writable() || w.Readable() || !w.Writable() {
		t.Errorf("closed %v %v, readable %v %v, writable %v %v", r.Closed(), w.Closed(), r.Readable(), w.Readable(), r.Writable(), w.Writable())
	}
	if !r.Poll(0) {
		t.Error("Poll at EOF: false, want true (Recv would not block)")
	}
	if w.Fileno() != -1 {
		t.Error("Fileno")
	}
}

// Messages above Python's 32 MiB limit work; above the ring's size they
// are a clear error.
func TestPipeBytes(t *testing.T) {
	ctx := context.Background()
	a, b, err := mp.Pipe[string](true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlink()
	big := bytes.Repeat([]byte("0123456789abcdef"), 40<<20/16) // 40 MiB
	go a.SendBytes(ctx, big)
	got, err := b.RecvBytes(ctx)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("40 MiB message: %d bytes, %v", len(got), err)
	}
	if err := a.SendBytes(ctx, make([]byte, 70<<20)); err == nil {
		t.Error("a message larger than the pipe accepted")
	}
	b.SendBytes(ctx, []byte("hello"))
	buf := make([]byte, 3)
	if _, err := a.RecvBytesInto(ctx, buf); err == nil {
		t.Error("a message longer than the buffer accepted")
	}
	b.SendBytes(ctx, []byte("hi"))
	buf = make([]byte, 8)
	if n, err := a.RecvBytesInto(ctx, buf); n != 2 || string(buf[:2]) != "hi" || err != nil {
		t.Errorf("RecvBytesInto: %d %q %v", n, buf[:n], err)
	}
}

// replyOnce answers one message and returns: the process ends, and its
// copy of the pipe's end with it.
var replyOnce = mp.Register("test.replyOnce", func(ctx context.Context, c *mp.Conn[string]) (struct{}, error) {
	m, err := c.Recv(ctx)
	if err != nil {
		return struct{}{}, err
	}
	return struct{}{}, c.Send(ctx, m+" once")
})

// CPython: _TestConnection.test_connection (the parent closes its copy
// of the child's end after start) and the EOFError once the child ends.
func TestPipeCloseIsPerProcess(t *testing.T) {
	ctx := context.Background()
	t.Run("the parent closes its copy of the child's end", func(t *testing.T) {
		a, b, err := mp.Pipe[string](true)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Unlink()
		p, err := mp.NewProcess(pong, b)
		startProcess(t, p, err)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := a.Send(ctx, "ping"); err != nil {
			t.Fatalf("Send after closing the parent's copy of the other end: %v", err)
		}
		var got string
		within(t, "Recv", func() { got, err = a.Recv(ctx) })
		if got != "ping pong" || err != nil {
			t.Fatalf("the child's answer: %q, %v", got, err)
		}
		a.Close() // the last copy of a: the child reads EOF and ends
		within(t, "Join", func() { err = p.Join(ctx) })
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("EOF once the holders of the other end are gone", func(t *testing.T) {
		a, b, err := mp.Pipe[string](true)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Unlink()
		p, err := mp.NewProcess(replyOnce, b)
		startProcess(t, p, err)
		b.Close()
		a.Send(ctx, "hi")
		var got string
		within(t, "Recv", func() { got, err = a.Recv(ctx) })
		if got != "hi once" || err != nil {
			t.Fatalf("the child's answer: %q, %v", got, err)
		}
		// the child ends without closing its copy: its death closes it
		within(t, "Recv at EOF", func() { _, err = a.Recv(ctx) })
		if !errors.Is(err, io.EOF) {
			t.Fatalf("Recv after the child ended: %v, want io.EOF", err)
		}
		if err := a.Send(ctx, "anyone?"); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("Send after the other end's holders are gone: %v, want io.ErrClosedPipe", err)
		}
	})
	t.Run("no EOF while this process holds the other end", func(t *testing.T) {
		a, b, err := mp.Pipe[string](true)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Unlink()
		p, err := mp.NewProcess(replyOnce, b)
		startProcess(t, p, err)
		a.Send(ctx, "hi")
		if _, err := a.Recv(ctx); err != nil {
			t.Fatal(err)
		}
		within(t, "Join", func() { err = p.Join(ctx) })
		if a.Poll(200 * time.Millisecond) {
			t.Error("Poll true: EOF while the parent still holds a copy of b (Python blocks too)")
		}
		b.Close()
		if !a.Poll(long) {
			t.Error("Poll false after the last copy of b was closed")
		}
	})
	t.Run("CloseAll closes both ends everywhere", func(t *testing.T) {
		a, b, err := mp.Pipe[string](true)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Unlink()
		p, err := mp.NewProcess(pong, b)
		startProcess(t, p, err)
		if err := b.CloseAll(); err != nil {
			t.Fatal(err)
		}
		within(t, "Join", func() { err = p.Join(ctx) }) // the child read EOF
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Recv(ctx); !errors.Is(err, io.EOF) {
			t.Errorf("Recv after CloseAll: %v", err)
		}
	})
}
