package manager

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/server"
)

// Over TCP (another host, in general), calls travel on the connection:
// the client attaches no shared-memory ring, and the server refuses one.
func TestTCPCallsOnTheConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim, _ := Limits{}.withDefaults()
	s := server.New([]byte("key"), wire.DefaultMaxFrame, server.Limits(lim))
	done := make(chan error, 1)
	go func() { done <- s.ServeUntil(context.Background(), ln) }()
	defer func() {
		s.Shutdown()
		<-done
	}()
	c := newClient("tcp://"+ln.Addr().String(), []byte("key"), wire.DefaultMaxFrame)
	defer c.close()
	if err := c.connect(ctx); err != nil {
		t.Fatal(err)
	}
	if c.ring != nil {
		t.Fatal("a TCP client attached a shared-memory ring")
	}
	if rep, err := c.call(ctx, &wire.Call{Op: "ping"}); err != nil || !rep.OK {
		t.Fatalf("ping over TCP: %v", err)
	}
	mine, theirs, err := mp.Pipe[byte](true, mp.QueueCapacity(1<<16))
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	defer mine.Unlink()
	b, _ := wire.Marshal(theirs)
	if _, err := c.call(ctx, &wire.Call{Op: "attach", Args: [][]byte{b}}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("attach over TCP: %v, want refused", err)
	}
}

// Connecting to something that is not a manager (or a hostile one) costs
// the client at most an Auth frame, and fails at once.
func TestClientHandshakeBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.Write(header(32<<20, wire.KindAuth)) // a 32 MiB challenge, never sent
		nc.Read(make([]byte, 1))                // until the client leaves
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err = Connect(ctx, "tcp://"+ln.Addr().String(), []byte("k"))
	if !errors.Is(err, ErrServerGone) || !errors.Is(err, wire.ErrFrameTooBig) {
		t.Fatalf("Connect to a server announcing a 32 MiB challenge: %v, want a frame too big", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Connect took %v to refuse it", d)
	}
	<-served
}
