//go:build linux

package conformance

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// dialArgs names a Listener for a child process.
type dialArgs struct {
	Network, Address string
	Key              []byte
}

// clientHello is _TestListenerClient._test: connect, send 'hello', close.
var clientHello = mp.Register("conf.clientHello", func(ctx context.Context, a dialArgs) (struct{}, error) {
	c, err := mp.Dial[string](ctx, a.Network, a.Address, a.Key)
	if err != nil {
		return struct{}{}, err
	}
	defer c.Close()
	return struct{}{}, c.Send(ctx, "hello")
})

// families are Python's connection.families on Linux: AF_UNIX, AF_INET.
var families = []string{"unix", "tcp"}

func listen[T any](t *testing.T, network, address string, key []byte) *mp.Listener[T] {
	t.Helper()
	l, err := mp.Listen[T](testCtx(t), network, address, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func accept[T any](t *testing.T, l *mp.Listener[T]) *mp.Conn[T] {
	t.Helper()
	c, err := l.Accept(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dial[T any](t *testing.T, addr net.Addr, key []byte) *mp.Conn[T] {
	t.Helper()
	c, err := mp.Dial[T](testCtx(t), addr.Network(), addr.String(), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestListener(t *testing.T) {
	// CPython: _TestListener.test_multiple_bind
	t.Run("test_multiple_bind", func(t *testing.T) {
		for _, fam := range families {
			l := listen[int](t, fam, "", nil)
			if l2, err := mp.Listen[int](testCtx(t), fam, l.Addr().String(), nil); err == nil {
				l2.Close()
				t.Fatalf("%s: a second Listener on %s succeeded", fam, l.Addr())
			}
		}
	})

	// CPython: _TestListener.test_context
	t.Run("test_context", func(t *testing.T) {
		ctx := testCtx(t)
		l := listen[int](t, "unix", "", nil)
		c := dial[int](t, l.Addr(), nil)
		d := accept(t, l)
		if err := c.Send(ctx, 1729); err != nil {
			t.Fatal(err)
		}
		if got, err := d.Recv(ctx); err != nil || got != 1729 {
			t.Fatalf("recv() = %v, %v", got, err)
		}
		d.Close()
		c.Close()
		l.Close()
		if _, err := l.Accept(ctx); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("accept() after close: %v, want net.ErrClosed (Python's OSError)", err)
		}
	})

	// mp: a wrong authkey fails both sides with ErrAuthentication
	// (Python's AuthenticationError), and the Listener goes on serving.
	t.Run("wrong_authkey", func(t *testing.T) {
		for _, fam := range families {
			ctx := testCtx(t)
			l := listen[string](t, fam, "", []byte("right"))
			dialErr := make(chan error, 1)
			go func() {
				c, err := mp.Dial[string](ctx, l.Addr().Network(), l.Addr().String(), []byte("wrong"))
				if err == nil {
					c.Close()
				}
				dialErr <- err
			}()
			if c, err := l.Accept(ctx); !errors.Is(err, mp.ErrAuthentication) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("%s: accept() of a wrong key: %v, want ErrAuthentication", fam, err)
			}
			if err := <-dialErr; !errors.Is(err, mp.ErrAuthentication) {
				t.Fatalf("%s: Client with a wrong key: %v, want ErrAuthentication", fam, err)
			}
			// a client without a key is refused too
			go func() {
				c, err := mp.Dial[string](ctx, l.Addr().Network(), l.Addr().String(), nil)
				if err == nil {
					c.Send(ctx, "no key")
					c.Recv(ctx) // until the Listener hangs up
					c.Close()
				}
				dialErr <- err
			}()
			if c, err := l.Accept(ctx); !errors.Is(err, mp.ErrAuthentication) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("%s: accept() of a client without a key: %v, want ErrAuthentication", fam, err)
			}
			<-dialErr
			// the right key still gets in, and talks
			go func() {
				c, err := mp.Dial[string](ctx, l.Addr().Network(), l.Addr().String(), []byte("right"))
				if err == nil {
					err = c.Send(ctx, "hello")
					c.Close()
				}
				dialErr <- err
			}()
			d := accept(t, l)
			if got, err := d.Recv(ctx); err != nil || got != "hello" {
				t.Fatalf("%s: recv() after the handshake = %q, %v", fam, got, err)
			}
			if err := <-dialErr; err != nil {
				t.Fatalf("%s: Client with the right key: %v", fam, err)
			}
		}
	})
}

func TestListenerClient(t *testing.T) {
	// CPython: _TestListenerClient.test_listener_client
	t.Run("test_listener_client", func(t *testing.T) {
		for _, fam := range families {
			for _, key := range [][]byte{nil, []byte("secret")} {
				ctx := testCtx(t)
				l := listen[string](t, fam, "", key)
				p := startProcess(t, clientHello, dialArgs{l.Addr().Network(), l.Addr().String(), key}, mp.Daemon(true))
				conn := accept(t, l)
				if got, err := conn.Recv(ctx); err != nil || got != "hello" {
					t.Fatalf("%s: recv() = %q, %v", fam, got, err)
				}
				if err := p.Join(ctx); err != nil {
					t.Fatal(err)
				}
				if code, _ := p.ExitCode(); code != 0 {
					t.Fatalf("%s: the client exited with %d", fam, code)
				}
				l.Close()
			}
		}
	})

	// CPython: _TestListenerClient.test_issue14725
	// Python sleeps a second so that the client has connected, sent and
	// closed before accept(); here the client's process is joined first.
	t.Run("test_issue14725", func(t *testing.T) {
		ctx := testCtx(t)
		l := listen[string](t, "unix", "", nil)
		p := startProcess(t, clientHello, dialArgs{"unix", l.Addr().String(), nil}, mp.Daemon(true))
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if code, _ := p.ExitCode(); code != 0 {
			t.Fatalf("the client exited with %d", code)
		}
		conn := accept(t, l)
		if got, err := conn.Recv(ctx); err != nil || got != "hello" {
			t.Fatalf("recv() = %q, %v", got, err)
		}
		conn.Close()
		l.Close()
	})

	// CPython: _TestListenerClient.test_issue16955
	t.Run("test_issue16955", func(t *testing.T) {
		ctx := testCtx(t)
		for _, fam := range families {
			l := listen[any](t, fam, "", nil)
			c := dial[any](t, l.Addr(), nil)
			a := accept(t, l)
			if err := a.SendBytes(ctx, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			if !c.Poll(time.Second) {
				t.Fatalf("%s: poll(1) after send_bytes", fam)
			}
			a.Close()
			c.Close()
			l.Close()
		}
	})
}
