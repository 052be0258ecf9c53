//go:build linux

package mp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/wire"
)

// socketPair returns the two ends of a connection through a Listener on
// network, with key on both sides.
func socketPair[T any](t *testing.T, network string, key []byte) (*mp.Conn[T], *mp.Conn[T], *mp.Listener[T]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	l, err := mp.Listen[T](ctx, network, "", key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	type res struct {
		c   *mp.Conn[T]
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := mp.Dial[T](ctx, l.Addr().Network(), l.Addr().String(), key)
		ch <- res{c, err}
	}()
	a, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { a.Close(); r.c.Close() })
	return a, r.c, l
}

func TestSocketConn(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), long)
			defer cancel()
			a, b, _ := socketPair[[]int](t, network, []byte("k"))
			if !a.Readable() || !a.Writable() || a.Closed() {
				t.Fatal("a Conn over a socket is readable, writable and open")
			}
			// a Recv cut short by its context loses nothing
			short, cancelShort := context.WithTimeout(ctx, 20*time.Millisecond)
			if _, err := b.Recv(short); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Recv with nothing sent: %v", err)
			}
			cancelShort()
			if b.Poll(0) {
				t.Fatal("Poll(0) with nothing sent")
			}
			if err := a.Send(ctx, []int{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			if !b.Poll(long) || !b.Poll(0) {
				t.Fatal("Poll after a Send")
			}
			if got, err := b.Recv(ctx); err != nil || len(got) != 3 || got[2] != 3 {
				t.Fatalf("Recv = %v, %v", got, err)
			}
			// raw bytes both ways; a short buffer keeps the message
			if err := b.SendBytes(ctx, []byte("0123456789")); err != nil {
				t.Fatal(err)
			}
			var bts *mp.BufferTooShortError
			if _, err := a.RecvBytesInto(ctx, make([]byte, 4)); !errors.As(err, &bts) || string(bts.Msg) != "0123456789" {
				t.Fatalf("RecvBytesInto a short buffer: %v", err)
			}
			// it cannot be sent to another process
			if _, err := wire.Marshal(a); err == nil {
				t.Fatal("a socket Conn was encoded to be sent")
			}
			// the peer closes: what was sent, then io.EOF, for good
			a.Send(ctx, []int{4})
			a.Close()
			if _, err := a.Recv(ctx); !errors.Is(err, mp.ErrConnClosed) {
				t.Fatalf("Recv after Close: %v", err)
			}
			if got, err := b.Recv(ctx); err != nil || len(got) != 1 || got[0] != 4 {
				t.Fatalf("the last message = %v, %v", got, err)
			}
			for range 2 {
				if _, err := b.Recv(ctx); !errors.Is(err, io.EOF) {
					t.Fatalf("Recv after the peer closed: %v, want io.EOF", err)
				}
			}
			if !b.Poll(0) {
				t.Fatal("Poll(0) at EOF: Recv returns at once")
			}
			var sendErr error
			for range 100 { // the first writes may land in the socket's buffer
				if sendErr = b.Send(ctx, []int{5}); sendErr != nil {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if !errors.Is(sendErr, io.ErrClosedPipe) {
				t.Fatalf("Send to a closed peer: %v, want io.ErrClosedPipe", sendErr)
			}
		})
	}
}

// A peer that sends a header announcing a huge frame makes the reader
// fail with the bound, not allocate it; a frame of an unknown kind is an
// error too.
func TestSocketConnRefusesBadFrames(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	for _, hdr := range [][]byte{
		{0xff, 0xff, 0xff, 0x7f, 10}, // 2 GiB
		binary.LittleEndian.AppendUint32(nil, 0),
	} {
		if len(hdr) == 4 {
			hdr = append(hdr, 2) // an empty frame of the pool's kind
		}
		l, err := mp.Listen[string](ctx, "unix", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		nc, err := net.Dial("unix", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(hdr)
		if _, err := c.Recv(ctx); err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("header %x: Recv = %v, want an error saying why", hdr, err)
		}
		nc.Close()
		c.Close()
		l.Close()
	}
}

func TestListenerAccept(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	l, err := mp.Listen[int](ctx, "tcp", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Accept waits for its context, and the Listener goes on
	short, cancelShort := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelShort()
	if _, err := l.Accept(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Accept with no client: %v", err)
	}
	go func() {
		c, err := mp.Dial[int](ctx, "tcp", l.Addr().String(), nil)
		if err == nil {
			c.Send(ctx, 7)
			c.Close()
		}
	}()
	c, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Recv(ctx); err != nil || v != 7 {
		t.Fatalf("Recv = %v, %v", v, err)
	}
	if _, err := mp.Listen[int](ctx, "udp", "", nil); err == nil {
		t.Fatal("Listen on udp")
	}
	// a key on the Listener only: the Dial side learns what to do
	lk, err := mp.Listen[int](ctx, "unix", "", []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	acc := make(chan error, 1)
	go func() {
		c, err := lk.Accept(ctx)
		if err == nil {
			c.Close()
		}
		acc <- err
	}()
	d, err := mp.Dial[int](ctx, "unix", lk.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Recv(ctx); err == nil || !bytes.Contains([]byte(err.Error()), []byte("authkey")) {
		t.Fatalf("Recv on a Conn without the Listener's key: %v", err)
	}
	d.Send(ctx, 1)
	if err := <-acc; !errors.Is(err, mp.ErrAuthentication) {
		t.Fatalf("Accept of a client without a key: %v", err)
	}
}
