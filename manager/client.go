package manager

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/authkey"
	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// client is this process's connection to one manager server, shared by
// all proxies of that server. Calls from any goroutine are multiplexed on
// it; each waits for the reply with its ID.
type client struct {
	addr string
	key  []byte
	max  int
	// items is the server's limit of values per call, told at the
	// handshake (0 until then: the default); bigger batches are sent in
	// parts (staged.go)
	items int

	dial sync.Mutex // serialises connecting
	// TLS, for a server on TCP: the configuration to dial with (set
	// before connecting), and the server's certificate once known
	tls  *tls.Config
	cert []byte

	mu      sync.Mutex
	nc      net.Conn
	w       *wire.Writer
	pending map[uint64]chan *wire.Reply
	next    uint64
	err     error         // why the connection ended; set once
	done    chan struct{} // closed when it ends
	readers sync.WaitGroup
	// ring is the shared-memory pipe to the server, once attached: calls
	// and replies that fit travel there, without a system call when both
	// sides are busy; bigger ones, and everything when there is no ring,
	// on the socket, which also tells when the server is gone.
	ring *mp.Conn[byte]
	// poke is the server's end of the ring: an empty message sent on it
	// wakes this process's reader of the ring.
	poke *mp.Conn[byte]
	// reading says that a call reads the ring for every call (the
	// leader); handoff, made by the first call that waits for it, is
	// closed when it stops, so that another takes over. The caller reads its own reply: no hand-off between
	// goroutines, no wake-up, on the fast path.
	reading bool
	handoff chan struct{}
}

// ringBytes is the size of each direction of a connection's ring;
// messages above ringMsg go on the socket.
const (
	ringBytes = ops.RingBytes
	ringMsg   = ops.RingMsg
)

// clients holds this process's client of each server, by address and
// key, so that proxies received from other processes share one
// connection.
var clients struct {
	sync.Mutex
	m map[string]*client
}

// clientFor returns this process's client of the server at addr.
func clientFor(addr string, key []byte, max int) *client {
	clients.Lock()
	defer clients.Unlock()
	id := addr + "\x00" + string(key)
	if c := clients.m[id]; c != nil {
		c.mu.Lock()
		gone := c.err != nil && !errors.Is(c.err, errNotYet)
		c.mu.Unlock()
		if !gone {
			return c
		}
	}
	if clients.m == nil {
		clients.m = make(map[string]*client)
	}
	c := newClient(addr, key, max)
	clients.m[id] = c
	return c
}

// conn is what proxies call: a manager server's client, or a NATS-backed
// manager.
type conn interface {
	call(ctx context.Context, call *wire.Call) (*wire.Reply, error)
	// handle says how another process reaches the same objects.
	handle() handle
	close()
}

// The backends: a server process (Start, Connect, Serve) and NATS
// (Cluster).
var (
	_ conn = (*client)(nil)
	_ conn = (*natsConn)(nil)
)

func (c *client) handle() handle {
	c.mu.Lock()
	defer c.mu.Unlock()
	return handle{Addr: c.addr, Key: c.key, Max: c.max, TLSCert: c.cert}
}

// newClient makes a client, not connected yet.
func newClient(addr string, key []byte, max int) *client {
	return &client{addr: addr, key: key, max: max, pending: make(map[uint64]chan *wire.Reply), err: errNotYet, done: make(chan struct{})}
}

// errNotYet marks a client that has not connected yet.
var errNotYet = errors.New("manager: not connected")

// connect dials the server and authenticates, once.
func (c *client) connect(ctx context.Context) error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err == nil {
		return nil
	}
	if !errors.Is(err, errNotYet) {
		return err
	}
	c.dial.Lock()
	defer c.dial.Unlock()
	c.mu.Lock()
	err = c.err
	c.mu.Unlock()
	if !errors.Is(err, errNotYet) {
		return err
	}
	nc, cert, err := dial(ctx, c.addr, c.tls, c.cert)
	if err != nil {
		return err
	}
	// Until the server proves it knows the key, it (or whatever listens
	// there) can make this process allocate no more than an Auth frame.
	r := wire.NewReader(nc, wire.MaxAuthFrame)
	w := wire.NewWriter(nc, c.max)
	items, err := handshake(ctx, nc, r, w, c.key)
	if err != nil {
		nc.Close()
		return err
	}
	r.SetMax(c.max)
	c.mu.Lock()
	c.nc, c.w, c.err = nc, w, nil
	c.items = items
	if cert != nil {
		c.cert = cert
	}
	c.mu.Unlock()
	c.readers.Add(1)
	go c.read(r)
	if nc.LocalAddr().Network() == "unix" {
		c.attach(ctx) // over TCP, calls stay on the connection
	}
	return nil
}

// attach makes the shared-memory ring and hands the server its end. If
// that fails (no shared memory here), calls stay on the socket.
func (c *client) attach(ctx context.Context) {
	mine, theirs, err := mp.Pipe[byte](true, mp.QueueCapacity(ringBytes))
	if err != nil {
		return
	}
	defer mine.Unlink() // mapped on both sides, or not needed: the names go
	b, err := wire.Marshal(theirs)
	if err != nil {
		return
	}
	if _, err := c.call(ctx, &wire.Call{Op: ops.Attach, Args: [][]byte{b}}); err != nil {
		mine.CloseAll()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		mine.CloseAll()
		return
	}
	c.ring, c.poke = mine, theirs
}

// lead reads the ring and delivers the replies until ch has its reply,
// ctx ends or the connection does; then it gives up the lead.
func (c *client) lead(ctx context.Context, ch chan *wire.Reply, ring *mp.Conn[byte]) {
	defer func() {
		c.mu.Lock()
		c.reading = false
		if c.handoff != nil {
			close(c.handoff) // the followers race to lead
			c.handoff = nil
		}
		c.mu.Unlock()
	}()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, c.pokeRing) // wakes the read below
		defer stop()
	}
	for len(ch) == 0 && ctx.Err() == nil {
		b, err := ring.RecvBytes(context.Background()) // spins a while, then sleeps
		if err != nil {
			c.fail(fmt.Errorf("%w: the server closed the connection", ErrServerGone))
			return
		}
		if len(b) == 0 {
			continue // a poke, or a wake-up to look at ch and ctx
		}
		rep := new(wire.Reply)
		if wire.DecodeReply(b, rep) != nil || rep.ID == 0 {
			c.fail(fmt.Errorf("%w: a malformed reply from the server", ErrServerGone))
			return
		}
		c.deliver(rep)
	}
}

// pokeRing wakes the ring's reader with an empty message.
func (c *client) pokeRing() {
	c.mu.Lock()
	poke := c.poke
	c.mu.Unlock()
	if poke != nil {
		poke.SendBytes(context.Background(), nil)
	}
}

// deliver hands rep to the call waiting for it.
func (c *client) deliver(rep *wire.Reply) {
	c.mu.Lock()
	ch := c.pending[rep.ID]
	delete(c.pending, rep.ID)
	c.mu.Unlock()
	if ch != nil {
		ch <- rep
	}
}

// clientHandshake answers the server's challenge and checks its answer to
// ours.
func clientHandshake(ctx context.Context, nc net.Conn, r *wire.Reader, w *wire.Writer, key []byte) error {
	_, err := handshake(ctx, nc, r, w, key)
	return err
}

// handshake is clientHandshake; it returns the server's Limits.Items (0:
// not told, the default).
func handshake(ctx context.Context, nc net.Conn, r *wire.Reader, w *wire.Writer, key []byte) (int, error) {
	deadline := time.Now().Add(handshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	nc.SetDeadline(deadline)
	defer nc.SetDeadline(time.Time{})
	ans, err := authkey.Client(r, w, key, wire.ManagerVersion)
	var pe *authkey.PeerError
	var ve *authkey.VersionError
	switch {
	case err == nil:
		return ans.Items, nil
	case errors.As(err, &pe):
		return 0, fmt.Errorf("%w: the server says: %s", ErrAuth, pe.Msg)
	case errors.As(err, &ve):
		return 0, fmt.Errorf("%w: the server speaks protocol %d, this program %d", ErrBadRequest, ve.Peer, ve.Mine)
	case errors.Is(err, authkey.ErrNotHandshake):
		return 0, fmt.Errorf("%w: the handshake got %v (not a manager?)", ErrBadRequest, err)
	case errors.Is(err, authkey.ErrNoChallenge):
		return 0, fmt.Errorf("%w: during the handshake: %w (not a manager, or one that wants TLS: manager.TLS)", ErrServerGone, err)
	case errors.Is(err, authkey.ErrNoAnswer):
		return 0, fmt.Errorf("%w: the server closed the connection during the handshake (wrong authkey?)", ErrAuth)
	case errors.Is(err, authkey.ErrWrongKey):
		return 0, fmt.Errorf("%w: the server does not know the authkey", ErrAuth)
	default:
		return 0, fmt.Errorf("%w: during the handshake: %w", ErrServerGone, err)
	}
}

// read delivers replies to their callers until the connection ends.
func (c *client) read(r *wire.Reader) {
	defer c.readers.Done()
	for {
		kind, p, err := r.Read()
		if err != nil {
			c.fail(fmt.Errorf("%w: %w", ErrServerGone, err))
			return
		}
		rep := new(wire.Reply)
		if kind != wire.KindReply || wire.DecodeReply(bytes.Clone(p), rep) != nil {
			c.fail(fmt.Errorf("%w: a malformed reply from the server", ErrServerGone))
			return
		}
		if rep.ID == 0 {
			msg := "closed the connection"
			if rep.Err != nil {
				msg = rep.Err.Msg
			}
			c.fail(fmt.Errorf("%w: the server %s", ErrServerGone, msg))
			return
		}
		c.deliver(rep)
		c.mu.Lock()
		leading := c.reading
		c.mu.Unlock()
		if leading {
			c.pokeRing() // the reply may be the leader's own
		}
	}
}

// fail ends the connection with err, once; waiting calls return err.
func (c *client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil && !errors.Is(c.err, errNotYet) {
		return
	}
	c.err = err
	close(c.done)
	if c.nc != nil {
		c.nc.Close()
	}
	if c.ring != nil {
		c.ring.CloseAll() // wakes both sides' readers
		c.poke = nil
	}
}

// close ends the connection and forgets the client.
func (c *client) close() {
	c.fail(fmt.Errorf("%w: the connection was closed", ErrServerGone))
	c.readers.Wait()
	clients.Lock()
	for id, x := range clients.m {
		if x == c {
			delete(clients.m, id)
		}
	}
	clients.Unlock()
}

// callBufs recycles the buffers calls and replies are encoded in
// (sending copies them).
var callBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// putBuf recycles a buffer, unless a big message made it big.
func putBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		callBufs.Put(bp)
	}
}

// replyChans recycles the channels calls wait on.
var replyChans = sync.Pool{New: func() any { return make(chan *wire.Reply, 1) }}

// cancelGrace bounds the wait for the reply of a cancelled call: the
// server answers at once, unless it is stuck.
const cancelGrace = 10 * time.Second

// call sends call and returns the server's reply. If ctx ends first, the
// server is told to cancel the call, and call returns what it did: the
// reply if the operation happened anyway (the lock was taken, the item
// got), ctx's error if it did not.
func (c *client) call(ctx context.Context, call *wire.Call) (*wire.Reply, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	if c.tooBigForOne(call) {
		return c.callStaged(ctx, call)
	}
	ch := replyChans.Get().(chan *wire.Reply)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, c.err
	}
	c.next++
	call.ID = c.next
	bp := callBufs.Get().(*[]byte)
	defer putBuf(bp)
	b := wire.AppendCall((*bp)[:0], call)
	*bp = b
	var err error
	if len(b) > c.max {
		err = fmt.Errorf("%w: a %s call of %d bytes, above the %d-byte bound (manager.MaxMessage)", ErrTooBig, call.Op, len(b), c.max)
	}
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	c.pending[call.ID] = ch
	// A call too big for the ring goes on the socket, but its reply may
	// come on the ring: whoever waits reads the ring all the same.
	ring, send := c.ring, c.ring
	if len(b) > ringMsg {
		send = nil
	}
	if send == nil {
		if err = c.w.Write(wire.KindCall, b); err == nil {
			err = c.w.Flush()
		}
	}
	c.mu.Unlock()
	if send != nil {
		// waits only while the ring is full: the server drains it
		err = send.SendBytes(context.Background(), b)
	}
	if err != nil {
		c.fail(fmt.Errorf("%w: %w", ErrServerGone, err))
	}
	wait, cancelled := ctx, false
	for {
		var handoff chan struct{}
		if ring != nil {
			c.mu.Lock()
			lead := !c.reading && c.err == nil
			if lead {
				c.reading = true
			} else {
				if c.handoff == nil {
					c.handoff = make(chan struct{})
				}
				handoff = c.handoff
			}
			c.mu.Unlock()
			if lead {
				c.lead(wait, ch, ring)
			}
		}
		select {
		case rep := <-ch:
			replyChans.Put(ch) // nothing else sends on it: its entry is gone
			if cancelled && rep.Err != nil && rep.Err.Code == ops.CodeCancelled {
				return nil, ctx.Err()
			}
			return rep, replyErr(rep)
		case <-c.done:
			return c.gone(ch)
		case <-handoff: // the leader left: lead, unless another does
		case <-wait.Done():
			if cancelled {
				c.mu.Lock()
				delete(c.pending, call.ID)
				c.mu.Unlock()
				return nil, fmt.Errorf("%w (and the server did not answer the cancellation within %v)", ctx.Err(), cancelGrace)
			}
			// Tell the server, and wait for what it did: the operation
			// happened (its reply) or not (cancelled).
			c.cancel(call.ID, send != nil)
			cancelled = true
			var stop context.CancelFunc
			wait, stop = context.WithTimeout(context.Background(), cancelGrace)
			defer stop()
		}
	}
}

// gone returns the reply if it arrived just before the connection ended,
// else the connection's error.
func (c *client) gone(ch chan *wire.Reply) (*wire.Reply, error) {
	select {
	case rep := <-ch:
		return rep, replyErr(rep)
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return nil, c.err
}

// cancel asks the server to cancel call id (a call that waits), on the
// way the call went, so that it cannot overtake it.
func (c *client) cancel(id uint64, onRing bool) {
	b := wire.AppendCall(nil, &wire.Call{ID: id, Op: ops.Cancel, N: int64(id)})
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	if onRing {
		ring := c.ring
		c.mu.Unlock()
		ring.SendBytes(context.Background(), b)
		return
	}
	defer c.mu.Unlock()
	if c.w.Write(wire.KindCall, b) == nil {
		c.w.Flush()
	}
}

func replyErr(rep *wire.Reply) error {
	if rep.Err == nil {
		return nil
	}
	return &CallError{Code: rep.Err.Code, Msg: rep.Err.Msg}
}
