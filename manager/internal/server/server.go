// Package server is a manager's server process: it authenticates the
// clients that connect (HMAC of the authkey both ways), keeps the table
// of shared objects, and runs the operations of manager/internal/ops on
// them, by family (objects_maps.go, objects_list.go, objects_queue.go,
// objects_sync.go). Calls that may wait run in a goroutine of their own,
// cancellable; replies go on the connection or on the shared-memory ring
// the client attached. The client side, and the public API, are package
// manager's; manager.Start runs a Server in a child process, and
// manager.Serve in the caller's.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// Server holds the shared objects and serves calls on them, over
// connections that authenticate with its key. It runs in the manager's
// process (manager.Start's child, or manager.Serve's caller); tests also
// run one in-process.
type Server struct {
	key      []byte
	maxFrame int
	lim      Limits
	log      *slog.Logger

	mu      sync.Mutex
	objs    map[uint64]object
	names   map[string]uint64
	next    uint64
	conns   map[*conn]struct{}
	unauth  int // connections not yet authenticated (Limits.Handshakes)
	ln      net.Listener
	closed  bool
	stopped chan struct{} // closed by Shutdown
	wg      sync.WaitGroup
}

// Limits bound what clients can make the server hold: manager.Limits,
// with every field set (manager fills in the defaults, and converts).
type Limits struct {
	// Items bounds the items one message may make the server allocate.
	Items int
	// Waiting bounds the calls that wait at once on one connection.
	Waiting int
	// Handshakes bounds the connections that have not yet authenticated.
	Handshakes int
	// HandshakeTimeout bounds how long a connection may take to
	// authenticate.
	HandshakeTimeout time.Duration
}

// New makes a server that authenticates clients with key, takes frames
// of at most maxFrame bytes, and holds to lim, whose fields must all be
// positive.
func New(key []byte, maxFrame int, lim Limits) *Server {
	return &Server{
		lim:      lim,
		key:      key,
		maxFrame: maxFrame,
		log:      slog.Default(),
		objs:     make(map[uint64]object),
		names:    make(map[string]uint64),
		conns:    make(map[*conn]struct{}),
		stopped:  make(chan struct{}),
	}
}

// Serve accepts connections on ln until Shutdown, then waits for
// them to end; it returns nil after Shutdown, or ln's error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.stopped:
				s.wg.Wait()
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		if !s.admit() {
			nc.Close() // Limits.Handshakes: too many strangers at once
			continue
		}
		if !s.add(nc) {
			s.admitted()
			nc.Close()
			continue
		}
	}
}

// add starts serving nc, unless the server is shutting down.
func (s *Server) add(nc net.Conn) bool {
	c := &conn{s: s, nc: nc, inflight: make(map[uint64]context.CancelFunc), local: nc.LocalAddr().Network() == "unix"}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.run()
	}()
	return true
}

// Shutdown stops accepting, and ends every connection and the calls
// waiting on them; Serve then waits for their goroutines. It is
// idempotent.
func (s *Server) Shutdown() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.stopped)
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.cancel()
		c.nc.Close()
	}
	s.mu.Unlock()
}

// object returns the object with id, or nil.
func (s *Server) object(id uint64) object {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objs[id]
}

// create makes the object a "new" call asks for, or finds the one with
// its name.
func (s *Server) create(c *conn, call *wire.Call) (uint64, error) {
	s.mu.Lock()
	if call.Key != "" {
		if id, ok := s.names[call.Key]; ok {
			obj := s.objs[id]
			s.mu.Unlock()
			if obj.kind() != call.Name {
				return 0, ops.Errorf(ops.CodeExists, "manager: the name %q is taken by a %s, not a %s", call.Key, obj.kind(), call.Name)
			}
			return id, nil
		}
	}
	s.mu.Unlock()
	if err := s.checkLimits(call); err != nil {
		return 0, err
	}
	obj, err := newObject(s, call)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if call.Key != "" {
		if id, ok := s.names[call.Key]; ok { // made meanwhile by another client
			if s.objs[id].kind() != call.Name {
				return 0, ops.Errorf(ops.CodeExists, "manager: the name %q is taken by a %s, not a %s", call.Key, s.objs[id].kind(), call.Name)
			}
			return id, nil
		}
	}
	s.next++
	s.objs[s.next] = obj
	if call.Key != "" {
		s.names[call.Key] = s.next
	}
	return s.next, nil
}

// ServeUntil serves on ln until ctx ends or a client calls Shutdown, and
// waits for the connections to end.
func (s *Server) ServeUntil(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, s.Shutdown)
	defer stop()
	err := s.Serve(ln)
	s.Shutdown()
	s.wg.Wait()
	return err
}

// tooManyItems is the error of a call that would allocate more items
// than Limits.Items; what says what it asked for.
func (s *Server) tooManyItems(what string) error {
	return ops.Errorf(ops.CodeLimit, "manager: %s is above the server's limit of %d items per call (split it, or raise manager.Limits.Items with manager.ServerLimits)", what, s.lim.Items)
}

// checkLimits refuses a "new" call that would allocate more than the
// limits allow.
func (s *Server) checkLimits(call *wire.Call) error {
	if call.Name == string(ops.KindArray) && call.N > int64(s.lim.Items) {
		return s.tooManyItems(fmt.Sprintf("an Array of %d items", call.N))
	}
	return nil
}

// admit takes one of the slots for connections that have not yet
// authenticated; false means that all are taken.
func (s *Server) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unauth >= s.lim.Handshakes {
		return false
	}
	s.unauth++
	return true
}

// admitted gives back a slot taken by admit.
func (s *Server) admitted() {
	s.mu.Lock()
	s.unauth--
	s.mu.Unlock()
}

// Staged returns how many batches sent in parts the server's connections
// hold, not yet committed or dropped (tests check that none is left).
func (s *Server) Staged() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		c.mu.Lock()
		n += len(c.staged)
		c.mu.Unlock()
	}
	return n
}
