//go:build linux

package conformance

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

var (
	// echo is _TestConnection._echo: it echoes raw messages until an
	// empty one (SENTINEL), then closes its end.
	echoConn = mp.Register("conf.echoConn", func(ctx context.Context, c *mp.Conn[any]) (struct{}, error) {
		for {
			msg, err := c.RecvBytes(ctx)
			if err != nil {
				return struct{}{}, err
			}
			if len(msg) == 0 {
				return struct{}{}, c.Close()
			}
			if err := c.SendBytes(ctx, msg); err != nil {
				return struct{}{}, err
			}
		}
	})
	// echoValues echoes typed messages until a nil one.
	childStrings = mp.Register("conf.childStrings", func(ctx context.Context, a stringsArgs) (struct{}, error) {
		for _, s := range a.Strings {
			time.Sleep(10 * time.Millisecond)
			if err := a.C.SendBytes(ctx, s); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, a.C.Close()
	})
	childBoundaries = mp.Register("conf.childBoundaries", func(_ context.Context, r *mp.Conn[any]) (struct{}, error) {
		r.Poll(5 * time.Second)
		return struct{}{}, nil
	})
	childDontMerge = mp.Register("conf.childDontMerge", func(ctx context.Context, b *mp.Conn[any]) (struct{}, error) {
		for _, s := range []string{"a", "b", "cd"} {
			if err := b.SendBytes(ctx, []byte(s)); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	// childAccess is _TestPicklingConnections.child_access.
	childAccess = mp.Register("conf.childAccess", func(ctx context.Context, c *mp.Conn[accessMsg]) (struct{}, error) {
		m, err := c.Recv(ctx)
		if err != nil {
			return struct{}{}, err
		}
		if err := m.W.Send(ctx, "all is well"); err != nil {
			return struct{}{}, err
		}
		m, err = c.Recv(ctx)
		if err != nil {
			return struct{}{}, err
		}
		msg, err := m.R.Recv(ctx)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, c.Send(ctx, accessMsg{S: msg + msg})
	})
)

type stringsArgs struct {
	C       *mp.Conn[any]
	Strings [][]byte
}

type accessMsg struct {
	W, R *mp.Conn[string]
	S    string
}

// int32Bytes is array.array('i', ...) as bytes.
func int32Bytes(v ...int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.NativeEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

// TestConnection ports _TestConnection, _TestPoll and
// _TestPicklingConnections.
func TestConnection(t *testing.T) {
	// CPython: _TestConnection.test_connection
	t.Run("test_connection", func(t *testing.T) {
		ctx := testCtx(t)
		conn, child := newPipe[any](t, true)
		p := startProcess(t, echoConn, child, mp.Daemon(true))
		msg := []byte("hello world")
		longmsg := bytes.Repeat(msg, 10)
		arr := int32Bytes(0, 1, 2, 3)
		// conn.send(seq) / conn.recv(): through the typed echo of a peer
		// goroutine is Send/Recv's job: the child echoes raw bytes, so
		// the typed round trip is checked on a second pipe.
		a, b := newPipe[[]any](t, true)
		seq := []any{uint64(1), 2.25, nil}
		if err := a.Send(ctx, seq); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Recv(ctx); err != nil || len(got) != 3 || got[1] != 2.25 || got[2] != nil {
			t.Fatalf("recv() = %#v, %v", got, err)
		}
		if err := conn.SendBytes(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if got, err := conn.RecvBytes(ctx); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("recv_bytes() = %q, %v", got, err)
		}
		buf := make([]byte, 40)
		conn.SendBytes(ctx, arr)
		if n, err := conn.RecvBytesInto(ctx, buf); err != nil || n != len(arr) || !bytes.Equal(buf[:n], arr) || !bytes.Equal(buf[n:], make([]byte, 40-n)) {
			t.Fatalf("recv_bytes_into() = %d, %v: %v", n, err, buf)
		}
		buf = make([]byte, 40)
		conn.SendBytes(ctx, arr)
		if n, err := conn.RecvBytesInto(ctx, buf[12:]); err != nil || n != len(arr) || !bytes.Equal(buf[12:12+n], arr) || !bytes.Equal(buf[:12], make([]byte, 12)) {
			t.Fatalf("recv_bytes_into(buffer, offset) = %d, %v: %v", n, err, buf)
		}
		conn.SendBytes(ctx, longmsg)
		_, shortErr := conn.RecvBytesInto(ctx, make([]byte, 40))
		if shortErr == nil {
			t.Fatal("recv_bytes_into a short buffer succeeded")
		}
		if poll := conn.Poll(0); poll {
			t.Fatal("poll() with nothing sent")
		}
		if conn.Poll(-1) || conn.Poll(100*time.Millisecond) {
			t.Fatal("poll(timeout) with nothing sent")
		}
		conn.SendBytes(ctx, []byte{0})
		if !conn.Poll(long) {
			t.Fatal("poll(timeout) with a message coming")
		}
		conn.RecvBytes(ctx)
		big := bytes.Repeat([]byte("X"), 16<<20)
		if err := conn.SendBytes(ctx, big); err != nil {
			t.Fatalf("send_bytes of 16 MiB: %v", err)
		}
		if got, err := conn.RecvBytes(ctx); err != nil || !bytes.Equal(got, big) {
			t.Fatalf("recv_bytes of 16 MiB: %d bytes, %v", len(got), err)
		}
		conn.SendBytes(ctx, nil) // SENTINEL: the child quits
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		child.Close()
		if _, err := conn.Recv(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("recv() after the other end closed: %v, want EOF", err)
		}
		if _, err := conn.RecvBytes(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("recv_bytes() after the other end closed: %v, want EOF", err)
		}
		// BufferTooShort carries the message: nothing is lost.
		var bts *mp.BufferTooShortError
		if !errors.As(shortErr, &bts) || !bytes.Equal(bts.Msg, longmsg) || !errors.Is(shortErr, mp.ErrBufferTooShort) {
			t.Fatalf("the too-long message is lost: %v", shortErr)
		}
	})

	// CPython: _TestConnection.test_duplex_false
	t.Run("test_duplex_false", func(t *testing.T) {
		ctx := testCtx(t)
		reader, writer := newPipe[int](t, false)
		if err := writer.Send(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if v, err := reader.Recv(ctx); err != nil || v != 1 {
			t.Fatalf("recv() = %v, %v", v, err)
		}
		if err := reader.Send(ctx, 2); err == nil {
			t.Fatal("send on the reading end succeeded")
		}
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := writer.Recv(short); err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("recv on the writing end: %v, want an error at once", err)
		}
	})

	// CPython: _TestConnection.test_spawn_close
	t.Run("test_spawn_close", func(t *testing.T) {
		ctx := testCtx(t)
		conn, child := newPipe[any](t, true)
		p := startProcess(t, echoConn, child, mp.Daemon(true))
		child.Close() // the parent's copy of the child's end
		err := conn.SendBytes(ctx, []byte("hello"))
		var got []byte
		if err == nil {
			got, err = conn.RecvBytes(ctx)
		}
		if err != nil || string(got) != "hello" {
			p.Kill()
			regression(t, "issue 12 §2.6: Conn.Close closes the pipe for every process")
			t.Fatalf("echo after closing the parent's copy of the child's end: %q, %v", got, err)
		}
		conn.SendBytes(ctx, nil)
		conn.Close()
		p.Join(ctx)
	})

	// CPython: _TestConnection.test_sendbytes
	t.Run("test_sendbytes", func(t *testing.T) {
		// send_bytes(msg, offset, size) is SendBytes(msg[offset:offset+size]);
		// Go's slice bounds replace the ValueError checks.
		ctx := testCtx(t)
		msg := []byte("abcdefghijklmnopqrstuvwxyz")
		a, b := newPipe[any](t, true)
		for _, m := range [][]byte{msg, msg[5:], msg[7 : 7+8], msg[26:], msg[26:26]} {
			a.SendBytes(ctx, m)
			if got, err := b.RecvBytes(ctx); err != nil || !bytes.Equal(got, m) {
				t.Fatalf("recv_bytes() = %q, %v; want %q", got, err, m)
			}
		}
	})

	// CPython: _TestPoll.test_empty_string
	t.Run("test_empty_string", func(t *testing.T) {
		ctx := testCtx(t)
		a, b := newPipe[any](t, true)
		if a.Poll(0) {
			t.Fatal("poll() on an empty pipe")
		}
		b.SendBytes(ctx, []byte{})
		// poll() twice: polling does not take the message
		for i := range 2 {
			if !a.Poll(0) {
				t.Fatalf("poll() %d after send_bytes(b'')", i+1)
			}
		}
	})

	// CPython: _TestPoll.test_strings
	t.Run("test_strings", func(t *testing.T) {
		ctx := testCtx(t)
		strs := [][]byte{[]byte("hello"), {}, []byte("a"), []byte("b"), {}, []byte("bye"), {}, []byte("lop")}
		a, b := newPipe[any](t, true)
		p := startProcess(t, childStrings, stringsArgs{C: b, Strings: strs})
		for _, s := range strs {
			for range 200 {
				if a.Poll(10 * time.Millisecond) {
					break
				}
			}
			if got, err := a.RecvBytes(ctx); err != nil || !bytes.Equal(got, s) {
				t.Fatalf("recv_bytes() = %q, %v; want %q", got, err, s)
			}
		}
		p.Join(ctx)
	})

	// CPython: _TestPoll.test_boundaries
	t.Run("test_boundaries", func(t *testing.T) {
		ctx := testCtx(t)
		r, w := newPipe[any](t, false)
		p := startProcess(t, childBoundaries, r)
		l := [][]byte{[]byte("first"), []byte("second")}
		for _, m := range l {
			w.SendBytes(ctx, m)
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := r.RecvBytes(ctx)
		if err != nil || !slices.ContainsFunc(l, func(m []byte) bool { return bytes.Equal(m, got) }) {
			t.Fatalf("recv_bytes() = %q, %v", got, err)
		}
	})

	// CPython: _TestPoll.test_dont_merge
	t.Run("test_dont_merge", func(t *testing.T) {
		ctx := testCtx(t)
		a, b := newPipe[any](t, true)
		if a.Poll(0) || a.Poll(100*time.Millisecond) {
			t.Fatal("poll() on an empty pipe")
		}
		p := startProcess(t, childDontMerge, b)
		for _, want := range []string{"a", "b", "cd"} {
			for i := range 2 {
				if want != "a" && !a.Poll(long) {
					t.Fatalf("poll(1.0) %d before %q", i+1, want)
				}
			}
			if got, err := a.RecvBytes(ctx); err != nil || string(got) != want {
				t.Fatalf("recv_bytes() = %q, %v; want %q", got, err, want)
			}
		}
		p.Join(ctx)
	})

	// CPython: _TestPicklingConnections.test_access
	t.Run("test_access", func(t *testing.T) {
		ctx := testCtx(t)
		conn, child := newPipe[accessMsg](t, true)
		p := startProcess(t, childAccess, child, mp.Daemon(true))
		r, w := newPipe[string](t, false)
		if err := conn.Send(ctx, accessMsg{W: w}); err != nil {
			t.Fatal(err)
		}
		if got, err := r.Recv(ctx); err != nil || got != "all is well" {
			t.Fatalf("r.recv() = %q, %v", got, err)
		}
		r2, w2 := newPipe[string](t, false)
		if err := conn.Send(ctx, accessMsg{R: r2}); err != nil {
			t.Fatal(err)
		}
		w2.Send(ctx, "foobar")
		if got, err := conn.Recv(ctx); err != nil || got.S != "foobarfoobar" {
			t.Fatalf("conn.recv() = %q, %v", got.S, err)
		}
		p.Join(ctx)
	})

	// CPython: _TestPicklingConnections.test_pickling
	t.Run("test_pickling", func(t *testing.T) {
		// CPython sends connections through a Listener to a child that
		// echoes on them; here both ends of new pipes go to a child
		// through a queue, and it echoes on them.
		ctx := testCtx(t)
		q := newQueue[*mp.Conn[any]](t, 0)
		p := startProcess(t, echoFromQueue, q, mp.Daemon(true))
		for _, msg := range []string{"This connection uses os.pipe()", "hello"} {
			conn, child := newPipe[any](t, true)
			if err := q.Put(ctx, child); err != nil {
				t.Fatal(err)
			}
			conn.SendBytes(ctx, []byte(msg))
			if got, err := conn.RecvBytes(ctx); err != nil || string(got) != msg {
				t.Fatalf("echo = %q, %v", got, err)
			}
			conn.SendBytes(ctx, nil)
		}
		q.Put(ctx, nil)
		p.Join(ctx)
	})
}

// echoFromQueue takes connections from a queue and echoes on each until
// its SENTINEL, until a nil connection.
var echoFromQueue = mp.Register("conf.echoFromQueue", func(ctx context.Context, q *mp.Queue[*mp.Conn[any]]) (struct{}, error) {
	for {
		c, err := q.Get(ctx)
		if err != nil || c == nil {
			return struct{}{}, err
		}
		for {
			msg, err := c.RecvBytes(ctx)
			if err != nil {
				return struct{}{}, err
			}
			if len(msg) == 0 {
				break
			}
			c.SendBytes(ctx, msg)
		}
	}
})
