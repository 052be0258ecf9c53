package server

import (
	"bytes"
	"context"
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

// conn is the server's side of one client connection.
type conn struct {
	s      *Server
	nc     net.Conn
	ctx    context.Context // ends with the connection
	cancel context.CancelFunc

	wmu sync.Mutex
	w   *wire.Writer

	ring  *mp.Conn[byte] // the client's shared-memory ring, once attached
	local bool           // on a Unix socket: the client may attach a ring

	mu       sync.Mutex
	inflight map[uint64]context.CancelFunc // calls that wait, by ID
	held     []heldLock                    // locks taken by this connection
	staged   map[uint64][][]byte           // batches being sent in parts, by stage ID
	calls    sync.WaitGroup
}

// heldLock is a lock that a connection holds: when the connection ends,
// the lock is freed for the next taker, who learns that its owner died.
type heldLock interface{ ownerGone(c *conn) }

func (c *conn) run() {
	defer c.close()
	// Until the client proves it knows the key, it can make the server
	// allocate no more than an Auth frame.
	r := wire.NewReader(c.nc, wire.MaxAuthFrame)
	c.w = wire.NewWriter(c.nc, c.s.maxFrame)
	err := c.handshake(r)
	c.s.admitted()
	if err != nil {
		c.s.log.Debug("manager: handshake failed", "err", err)
		return
	}
	r.SetMax(c.s.maxFrame)
	for {
		kind, p, err := r.Read()
		if err != nil {
			if errors.Is(err, wire.ErrFrameTooBig) {
				c.fatal(ops.CodeTooBig, fmt.Sprintf("manager: %v (raise manager.MaxMessage on both sides?)", err))
			} else if errors.Is(err, wire.ErrBadKind) {
				c.fatal(ops.CodeBadRequest, "manager: "+err.Error())
			}
			return // the client went away
		}
		if !c.handle(kind, bytes.Clone(p), r.Buffered() > 0) {
			return
		}
	}
}

// handle decodes and runs one frame, which it keeps (values stored alias
// it); false means the connection must end (the client was told why).
func (c *conn) handle(kind wire.Kind, p []byte, more bool) bool {
	if kind != wire.KindCall {
		c.fatal(ops.CodeBadRequest, fmt.Sprintf("manager: frame of kind %d where a call was expected", kind))
		return false
	}
	var call wire.Call
	err := wire.DecodeCallMax(p, &call, c.s.lim.Items)
	if tm := (*wire.TooManyArgsError)(nil); errors.As(err, &tm) && call.ID != 0 {
		c.reply(ops.ErrorReply(call.ID, c.s.tooManyItems(fmt.Sprintf("a %s call of %d values", call.Op, tm.N))), more)
		return true
	}
	if err != nil {
		c.fatal(ops.CodeBadRequest, "manager: malformed call: "+err.Error())
		return false
	}
	if call.ID == 0 {
		c.fatal(ops.CodeBadRequest, "manager: a call with ID 0")
		return false
	}
	c.dispatch(&call, more)
	return true
}

// fatal tells the client why its connection is being closed (a Reply
// with ID 0), then the deferred close ends it.
func (c *conn) fatal(code, msg string) {
	c.s.log.Warn("manager: dropping a client", "reason", msg)
	c.reply(&wire.Reply{Err: &wire.CallError{Code: code, Msg: msg}}, false)
}

// close ends the connection and whatever waits on it; a lock it held is
// freed, marked as left by a dead owner.
func (c *conn) close() {
	c.cancel()
	c.nc.Close()
	c.mu.Lock()
	if c.ring != nil {
		c.ring.CloseAll() // wakes its reader, and a reply waiting for room
	}
	c.mu.Unlock()
	c.calls.Wait()
	c.mu.Lock()
	held := c.held
	c.held = nil
	c.staged = nil
	c.mu.Unlock()
	for _, l := range held {
		l.ownerGone(c)
	}
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
}

// handshake authenticates the client, then proves the server knows the
// key too (both with HMAC-SHA256 over a fresh random challenge).
func (c *conn) handshake(r *wire.Reader) error {
	c.nc.SetDeadline(time.Now().Add(c.s.lim.HandshakeTimeout))
	defer c.nc.SetDeadline(time.Time{})
	return authkey.Server(r, c.w, c.s.key, wire.ManagerVersion, "manager", wire.Auth{Items: c.s.lim.Items})
}

// dispatch runs a call: in the reading goroutine when it cannot wait, in
// its own goroutine when it may (so that the calls behind it go on).
// more says that another call is already arriving, so the reply may wait
// in the buffer for the next flush.
func (c *conn) dispatch(call *wire.Call, more bool) {
	if call.Obj == 0 {
		c.serverCall(call, more)
		return
	}
	obj := c.s.object(call.Obj)
	if obj == nil {
		c.reply(ops.ErrorReply(call.ID, ops.Errorf(ops.CodeUnknownObject, "manager: no object %d (created by another manager, or the manager restarted?)", call.Obj)), more)
		return
	}
	if !ops.MayWait(ops.Kind(obj.kind()), call.Op, call.Flag) {
		c.reply(run(c.ctx, c, obj, call), more)
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	if _, dup := c.inflight[call.ID]; dup {
		c.mu.Unlock()
		cancel()
		c.reply(ops.ErrorReply(call.ID, ops.Errorf(ops.CodeBadArgs, "manager: call ID %d is already running", call.ID)), more)
		return
	}
	if len(c.inflight) >= c.s.lim.Waiting {
		c.mu.Unlock()
		cancel()
		c.reply(ops.ErrorReply(call.ID, ops.Errorf(ops.CodeLimit, "manager: %d calls already wait on this connection, the server's limit (fewer goroutines waiting at once, or raise manager.Limits.Waiting with manager.ServerLimits)", len(c.inflight))), more)
		return
	}
	c.inflight[call.ID] = cancel
	c.calls.Add(1)
	c.mu.Unlock()
	c.flush() // this call replies later: send the replies held for it now
	go func() {
		defer c.calls.Done()
		rep := run(ctx, c, obj, call)
		c.mu.Lock()
		delete(c.inflight, call.ID)
		c.mu.Unlock()
		cancel()
		if c.ctx.Err() != nil {
			return // the connection ends: the client learns that the server is gone
		}
		c.reply(rep, false)
	}()
}

// run calls obj, turning a panic into an error reply.
func run(ctx context.Context, c *conn, obj object, call *wire.Call) (rep *wire.Reply) {
	rep = &wire.Reply{ID: call.ID}
	defer func() {
		if p := recover(); p != nil {
			rep = ops.ErrorReply(call.ID, ops.Errorf(ops.CodeRemote, "manager: panic in %s.%s: %v", obj.kind(), call.Op, p))
		}
	}()
	if err := obj.call(ctx, c, call, rep); err != nil {
		return ops.ErrorReply(call.ID, err)
	}
	return rep
}

// serverCall runs a call on the server itself (object 0).
func (c *conn) serverCall(call *wire.Call, more bool) {
	switch call.Op {
	case ops.Cancel:
		c.mu.Lock()
		cancel := c.inflight[uint64(call.N)]
		c.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		c.flush()
		return // no reply: the cancelled call replies
	case string(ops.ManagerNew):
		id, err := c.s.create(c, call)
		if err != nil {
			c.reply(ops.ErrorReply(call.ID, err), more)
			return
		}
		c.reply(&wire.Reply{ID: call.ID, N: int64(id)}, more)
	case ops.Ping:
		c.reply(&wire.Reply{ID: call.ID, OK: true}, more)
	case ops.Attach:
		c.attach(call)
	case ops.Stage, ops.Commit, ops.Unstage:
		c.staging(call, more)
	case string(ops.ManagerShutdown):
		c.reply(&wire.Reply{ID: call.ID, OK: true}, false)
		go c.s.Shutdown()
	default:
		c.reply(ops.ErrorReply(call.ID, ops.Errorf(ops.CodeUnknownOp, "manager: the server has no operation %q", call.Op)), more)
	}
}

// attach maps the client's shared-memory ring; calls and replies that fit
// travel there from then on.
func (c *conn) attach(call *wire.Call) {
	var ring *mp.Conn[byte]
	if !c.local {
		c.reply(ops.ErrorReply(call.ID, ops.Errorf(ops.CodeBadArgs, "manager: a shared-memory ring only on a Unix socket")), false)
		return
	}
	if len(call.Args) != 1 || wire.Unmarshal(call.Args[0], &ring) != nil || ring == nil {
		c.reply(ops.ErrorReply(call.ID, ops.Errorf(ops.CodeBadArgs, "manager: attach needs a ring")), false)
		return
	}
	c.mu.Lock()
	if c.ring != nil || c.ctx.Err() != nil {
		c.mu.Unlock()
		ring.Close()
		c.reply(ops.ErrorReply(call.ID, ops.Errorf(ops.CodeBadArgs, "manager: attached already")), false)
		return
	}
	c.calls.Add(1)
	c.mu.Unlock()
	// Answer on the socket before replies may come on the ring.
	c.reply(&wire.Reply{ID: call.ID, OK: true}, false)
	c.mu.Lock()
	c.ring = ring
	c.mu.Unlock()
	go func() {
		defer c.calls.Done()
		for {
			b, err := ring.RecvBytes(context.Background())
			if err != nil {
				c.nc.Close() // ends the connection
				return
			}
			if !c.handle(wire.KindCall, b, false) {
				c.nc.Close()
				return
			}
		}
	}()
}

// reply sends rep; a reply too big for a frame becomes an error reply.
func (c *conn) reply(rep *wire.Reply, more bool) {
	bp := replyBufs.Get().(*[]byte)
	defer putBuf(bp)
	b := wire.AppendReply((*bp)[:0], rep)
	*bp = b
	if len(b) > c.s.maxFrame {
		b = wire.AppendReply(nil, ops.ErrorReply(rep.ID, ops.Errorf(ops.CodeTooBig, "manager: the reply is %d bytes, above the %d-byte bound (ask for fewer items at a time)", len(b), c.s.maxFrame)))
	}
	c.mu.Lock()
	ring := c.ring
	c.mu.Unlock()
	if ring != nil && len(b) <= ops.RingMsg {
		ring.SendBytes(context.Background(), b) // fails once closed
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.w.Write(wire.KindReply, b) != nil {
		return
	}
	if !more || c.w.Buffered() > 32<<10 {
		c.w.Flush()
	}
}

// flush sends the replies that reply held back because another call
// was arriving (more), when that call does not reply now: one that
// waits, or a cancel.
func (c *conn) flush() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.w.Buffered() > 0 {
		c.w.Flush()
	}
}

// staging runs the server's side of a batch sent in parts.
func (c *conn) staging(call *wire.Call, more bool) {
	id := uint64(call.N)
	c.mu.Lock()
	staged := c.staged[id]
	switch call.Op {
	case ops.Stage:
		if c.staged == nil {
			c.staged = make(map[uint64][][]byte)
		}
		c.staged[id] = append(staged, call.Args...)
		c.mu.Unlock()
		c.reply(&wire.Reply{ID: call.ID, OK: true}, more)
		return
	case ops.Unstage:
		delete(c.staged, id)
		c.mu.Unlock()
		c.reply(&wire.Reply{ID: call.ID, OK: true}, more)
		return
	}
	delete(c.staged, id)
	c.mu.Unlock()
	var inner wire.Call
	if len(call.Args) != 1 {
		c.reply(ops.ErrorReply(call.ID, ops.Errorf(ops.CodeBadRequest, "manager: a commit carries one call")), more)
		return
	}
	if err := wire.DecodeCallMax(call.Args[0], &inner, c.s.lim.Items); err != nil {
		c.reply(ops.ErrorReply(call.ID, ops.Errorf(ops.CodeBadRequest, "manager: a commit of a malformed call: %v", err)), more)
		return
	}
	if inner.Obj == 0 && inner.Op != string(ops.ManagerNew) {
		c.reply(ops.ErrorReply(call.ID, ops.Errorf(ops.CodeBadRequest, "manager: a commit of a %q call", inner.Op)), more)
		return
	}
	inner.ID = call.ID
	inner.Args = append(staged, inner.Args...)
	c.dispatch(&inner, more)
}

// replyBufs recycles the buffers replies are encoded in (sending copies
// them).
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// putBuf recycles a buffer, unless a big message made it big.
func putBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		replyBufs.Put(bp)
	}
}
