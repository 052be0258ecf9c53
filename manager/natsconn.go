package manager

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Cluster makes Start use a NATS JetStream cluster at url instead of a
// server process: the objects live in a KV bucket (and, for queues, in
// streams) of the cluster, so processes on any host that reach it share
// them (Python's manager over the network, on NATS's own authentication
// and TLS: put credentials in url). Start with the same url and Bucket
// on every host (or Connect with url) to reach the same objects; Named
// objects are how they find each other.
//
// What is supported, and how consistent, per type:
//   - Dict, Namespace, Value: each key is a KV entry; Get/Set/Delete are
//     linearizable per key; Update and CompareAndSwap are atomic per key
//     (a compare-and-set on the entry's revision, retried on conflict).
//     SetMany, GetMany, Items, Keys, Len and Clear touch keys one by one:
//     not a snapshot, not atomic across keys.
//   - Queue: a work-queue stream (FIFO, each item got once); maxsize is
//     the stream's message limit. TaskDone/Join count in a KV entry.
//   - Lock: a KV entry created by the taker (compare-and-set) with its
//     connection's id, deleted by Unlock; waiters watch it. If the holder's
//     connection is gone (its process died: NATS has no responder on its
//     liveness subject), the next Lock takes it with an error wrapping
//     mp.ErrOwnerDead, as with the server's Lock.
//   - Event: a KV entry; Wait watches it. Semaphore and BoundedSemaphore:
//     a counter with compare-and-set.
//   - List and Array: all items in one entry; each operation is atomic (a
//     compare-and-set of the whole list, retried on conflict) and costs
//     the list's size: for long lists, use a Dict or a Queue.
//   - Registered types (Register, NewMethod): the value is kept encoded
//     (only its exported fields survive) and a method call is a
//     compare-and-set of it, retried on conflict: a method may run more
//     than once, so it must change nothing but its value.
//   - RLock: an entry "hold depth connection" changed by compare-and-set
//     (the hold is the context's, as for the server's RLock); a dead
//     holder is detected as for Lock. Barrier: a state entry
//     changed by compare-and-set; the last party to arrive runs the action
//     in its own process; a party whose context ends breaks the round.
//   - Condition: tickets in an entry changed by compare-and-set; Notify
//     moves the released mark past n waiting tickets (skipping waiters
//     that left), waiters watch it. The lock must be held, but which
//     process holds it is not checked across hosts.
//
// Shutdown deletes the manager's bucket and queues (the objects, for every
// host); Close only disconnects.
func Cluster(url string) Option { return func(c *config) { c.nats = url } }

// Bucket names the KV bucket of a Cluster manager ("default" unless
// set): managers with the same bucket share their objects.
func Bucket(name string) Option { return func(c *config) { c.bucket = name } }

func isNATS(addr string) bool {
	return strings.HasPrefix(addr, "nats://") || strings.HasPrefix(addr, "tls://") || strings.HasPrefix(addr, "ws://") || strings.HasPrefix(addr, "wss://")
}

// startNATS connects a manager to NATS.
func startNATS(ctx context.Context, url string, cfg *config) (*Manager, error) {
	bucket := cfg.bucket
	if bucket == "" {
		bucket = "default"
	}
	c := newNATSConn(url, bucket)
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return &Manager{c: c, addr: url}, nil
}

// natsConns holds this process's connections to NATS-backed managers, for
// proxies received from other processes.
var natsConns struct {
	sync.Mutex
	m map[string]*natsConn
}

func natsConnFor(url, bucket string) *natsConn {
	natsConns.Lock()
	defer natsConns.Unlock()
	id := url + "\x00" + bucket
	if c := natsConns.m[id]; c != nil {
		return c
	}
	if natsConns.m == nil {
		natsConns.m = map[string]*natsConn{}
	}
	c := newNATSConn(url, bucket)
	natsConns.m[id] = c
	return c
}

// natsConn runs the calls of proxies on a NATS KV bucket and streams:
// the same operations as a manager server, without a server.
type natsConn struct {
	url, bucket string

	mu     sync.Mutex
	nc     *nats.Conn
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	err    error
	queues map[uint64]*natsQueue
	kinds  map[uint64]string // objects' kinds, read once: an object's kind never changes
	id     string            // this connection, as a lock holder; it answers on mp.alive.<id>
	alive  *nats.Subscription
}

func newNATSConn(url, bucket string) *natsConn {
	return &natsConn{url: url, bucket: bucket, queues: map[uint64]*natsQueue{}, kinds: map[uint64]string{}}
}

func (c *natsConn) handle() handle { return handle{NATS: c.url, Bucket: c.bucket} }

func (c *natsConn) connect(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kv != nil {
		return nil
	}
	nc, err := nats.Connect(c.url, nats.Name("mp manager"))
	if err != nil {
		return fmt.Errorf("%w: connecting to NATS: %w", ErrServerGone, err)
	}
	js, err := jetstream.New(nc)
	if err == nil {
		c.kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "mp_manager_" + c.bucket, History: 1})
	}
	if err != nil {
		nc.Close()
		return fmt.Errorf("%w: the manager's KV bucket (is JetStream on?): %w", ErrServerGone, err)
	}
	c.id = nuid.Next()
	c.alive, err = nc.Subscribe("mp.alive."+c.id, func(m *nats.Msg) { m.Respond(nil) })
	if err != nil {
		nc.Close()
		return fmt.Errorf("%w: %w", ErrServerGone, err)
	}
	c.nc, c.js = nc, js
	return nil
}

func (c *natsConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc != nil {
		c.nc.Close()
	}
	c.err = fmt.Errorf("%w: the connection was closed", ErrServerGone)
	natsConns.Lock()
	for id, x := range natsConns.m {
		if x == c {
			delete(natsConns.m, id)
		}
	}
	natsConns.Unlock()
}

func (c *natsConn) call(ctx context.Context, call *wire.Call) (*wire.Reply, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	rep := &wire.Reply{ID: call.ID}
	if call.Obj == 0 {
		err = c.serverCall(ctx, call, rep)
	} else {
		err = c.objectCall(ctx, call, rep)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ce *callError
		if errors.As(err, &ce) {
			return rep, &CallError{Code: ce.code, Msg: ce.msg}
		}
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("%w: %w", ErrServerGone, err)
		}
		return nil, err
	}
	return rep, nil
}

// key encodes bytes as a KV key token.
func key(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// serverCall: new (and find by name), shutdown.
func (c *natsConn) serverCall(ctx context.Context, call *wire.Call, rep *wire.Reply) error {
	switch ops.ManagerOp(call.Op) {
	case ops.ManagerNew:
		switch call.Name {
		case kindDict, kindNamespace, kindValue, kindQueue, kindLock, kindEvent, kindSemaphore, kindBounded, kindList, kindArray, kindRLock, kindBarrier, kindCondition:
		default:
			name, ok := strings.CutPrefix(call.Name, kindTypePfx)
			if !ok {
				return errf(codeUnknownType, "manager: a %s is not offered by a NATS-backed manager (Dict, Namespace, Value, List, Array, Queue, Lock, RLock, Event, semaphores, Condition, Barrier and registered types are)", call.Name)
			}
			if _, ok := types.Load(name); !ok {
				return errf(codeUnknownType, "manager: no type %q is registered in this program", name)
			}
		}
		if err := checkNew(call); err != nil {
			return err
		}
		id, fresh, err := c.newObject(ctx, call)
		if err != nil {
			return err
		}
		rep.N = int64(id)
		if fresh {
			return c.initObject(ctx, id, call)
		}
		return nil
	case ops.ManagerShutdown:
		// The objects go, for every host.
		for _, q := range c.listQueues(ctx) {
			c.js.DeleteStream(ctx, q)
		}
		return c.js.DeleteKeyValue(ctx, "mp_manager_"+c.bucket)
	}
	return errf(codeUnknownOp, "manager: no operation %q", call.Op)
}

// newObject allocates an object id (a counter with compare-and-set), or
// finds the object with call.Key's name.
func (c *natsConn) newObject(ctx context.Context, call *wire.Call) (id uint64, fresh bool, err error) {
	if call.Key != "" {
		if e, err := c.kv.Get(ctx, "name."+key([]byte(call.Key))); err == nil {
			return c.checkKind(ctx, e.Value(), call)
		}
	}
	if _, err := changeEntry(ctx, c, "next", func(next *uint64) error {
		id = max(*next, 1)
		*next = id + 1
		return nil
	}); err != nil {
		return 0, false, err
	}
	if _, err := c.kv.Put(ctx, "obj."+strconv.FormatUint(id, 10), []byte(call.Name)); err != nil {
		return 0, false, err
	}
	if call.Key != "" {
		if _, err := c.kv.Create(ctx, "name."+key([]byte(call.Key)), []byte(strconv.FormatUint(id, 10))); err != nil {
			// made meanwhile by another process: use that one
			e, gerr := c.kv.Get(ctx, "name."+key([]byte(call.Key)))
			if gerr != nil {
				return 0, false, err
			}
			return c.checkKind(ctx, e.Value(), call)
		}
	}
	return id, true, nil
}

func (c *natsConn) checkKind(ctx context.Context, idText []byte, call *wire.Call) (uint64, bool, error) {
	id, _ := strconv.ParseUint(string(idText), 10, 64)
	e, err := c.kv.Get(ctx, "obj."+string(idText))
	if err != nil {
		return 0, false, err
	}
	if string(e.Value()) != call.Name {
		return 0, false, errf(codeExists, "manager: the name %q is taken by a %s, not a %s", call.Key, e.Value(), call.Name)
	}
	return id, false, nil
}

// initObject gives a new object its first state.
func (c *natsConn) initObject(ctx context.Context, id uint64, call *wire.Call) error {
	p := prefix(id)
	switch call.Name {
	case kindValue:
		if len(call.Args) != 1 {
			return errf(codeBadArgs, "manager: a Value needs its initial value")
		}
		_, err := c.kv.Put(ctx, p+"v", call.Args[0])
		return err
	case kindSemaphore, kindBounded:
		if call.N < 0 {
			return errf(codeBadArgs, "manager: a semaphore's value must not be negative, not %d", call.N)
		}
		b, err := wire.Marshal(&semState{N: call.N, Init: call.N})
		if err != nil {
			return err
		}
		return c.put(ctx, p+"sem", b)
	case kindQueue:
		_, err := c.queue(ctx, id, call.N)
		if err == nil {
			_, err = c.kv.Put(ctx, p+"max", []byte(strconv.FormatInt(call.N, 10)))
		}
		return err
	case kindCondition:
		if e, err := c.kv.Get(ctx, "obj."+strconv.FormatInt(call.M, 10)); err != nil || string(e.Value()) != kindLock {
			return errf(codeBadArgs, "manager: a Condition's lock must be a Lock of the same manager")
		}
		b, _ := wire.Marshal(&condState{Lock: uint64(call.M)})
		return c.put(ctx, p+"cond", b)
	case kindBarrier:
		if call.N < 1 || call.N >= 1<<31 {
			return errf(codeBadArgs, "manager: a Barrier for %d parties", call.N)
		}
		st := barrierState{Parties: int(call.N)}
		if len(call.Args) == 1 {
			st.Action = string(call.Args[0])
		}
		b, err := wire.Marshal(&st)
		if err != nil {
			return err
		}
		return c.put(ctx, p+"barrier", b)
	case kindList, kindArray:
		// The items are one entry: every operation is a compare-and-set
		// of the whole list, so each is atomic (and costs its length).
		items := call.Args
		if call.Name == kindArray {
			if call.N < 0 || call.N > wire.MaxElements || len(call.Args) != 1 {
				return errf(codeBadArgs, "manager: an Array of %d items", call.N)
			}
			items = make([][]byte, call.N)
			for i := range items {
				items[i] = call.Args[0]
			}
		}
		_, err := c.kv.Put(ctx, p+"items", wire.AppendReply(nil, &wire.Reply{Vals: items}))
		return err
	}
	if name, ok := strings.CutPrefix(call.Name, kindTypePfx); ok {
		t, _ := types.Load(name)
		b, err := encode(t.(*typeInfo).make())
		if err != nil {
			return errf(codeBadArgs, "manager: a %s must be encodable to live in NATS: %v", name, err)
		}
		_, err = c.kv.Put(ctx, p+"value", b)
		return err
	}
	return nil
}

func prefix(id uint64) string { return "o" + strconv.FormatUint(id, 10) + "." }

// objectCall runs an operation on an object.
func (c *natsConn) objectCall(ctx context.Context, call *wire.Call, rep *wire.Reply) error {
	c.mu.Lock()
	kind, ok := c.kinds[call.Obj]
	c.mu.Unlock()
	if !ok {
		e, err := c.kv.Get(ctx, "obj."+strconv.FormatUint(call.Obj, 10))
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				return errf(codeUnknownObject, "manager: no object %d in bucket %s", call.Obj, c.bucket)
			}
			return err
		}
		kind = string(e.Value())
		c.mu.Lock()
		c.kinds[call.Obj] = kind
		c.mu.Unlock()
	}
	p := prefix(call.Obj)
	switch kind {
	case kindDict:
		return c.dict(ctx, p, call, rep)
	case kindNamespace:
		return c.namespace(ctx, p, call, rep)
	case kindValue:
		return c.value(ctx, p, call, rep)
	case kindQueue:
		return c.queueCall(ctx, call, rep)
	case kindLock:
		return c.lock(ctx, p, call, rep)
	case kindEvent:
		return c.event(ctx, p, call, rep)
	case kindSemaphore, kindBounded:
		return c.semaphore(ctx, p, kind == kindBounded, call, rep)
	case kindList, kindArray:
		return c.list(ctx, p, kind == kindArray, call, rep)
	case kindRLock:
		return c.rlock(ctx, p, call, rep)
	case kindBarrier:
		return c.barrier(ctx, p, call, rep)
	case kindCondition:
		return c.condition(ctx, p, call, rep)
	default:
		if name, ok := strings.CutPrefix(kind, kindTypePfx); ok {
			return c.custom(ctx, p, name, call, rep)
		}
		return errf(codeUnknownType, "manager: a %s is not offered by a NATS-backed manager", kind)
	}
}

// get returns the value of k, or nil.
func (c *natsConn) get(ctx context.Context, k string) ([]byte, uint64, error) {
	e, err := c.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return e.Value(), e.Revision(), nil
}

// cas sets k to v if its revision is rev (0: if it does not exist), and
// reports whether it did.
func (c *natsConn) cas(ctx context.Context, k string, v []byte, rev uint64) (bool, error) {
	var err error
	if rev == 0 {
		_, err = c.kv.Create(ctx, k, v)
	} else {
		_, err = c.kv.Update(ctx, k, v, rev)
	}
	if err == nil {
		return true, nil
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) || (errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)) {
		return false, nil
	}
	return false, err
}

// applyAt runs call's update function on k with its argument
// call.Args[i], and replies the new value.
func (c *natsConn) applyAt(ctx context.Context, k string, call *wire.Call, i int, rep *wire.Reply) error {
	if err := wantArgs(call, i+1); err != nil {
		return err
	}
	nv, err := c.update(ctx, k, call.Name, call.Args[i])
	if err == nil {
		rep.Vals = [][]byte{nv}
	}
	return err
}

func (c *natsConn) put(ctx context.Context, k string, v []byte) error {
	_, err := c.kv.Put(ctx, k, v)
	return err
}

// update runs a registered update function on k, atomically (retried on
// a conflicting write), and returns the new value.
func (c *natsConn) update(ctx context.Context, k, fn string, arg []byte) ([]byte, error) {
	for {
		old, rev, err := c.get(ctx, k)
		if err != nil {
			return nil, err
		}
		nv, err := applyUpdate(ctx, fn, old, old != nil, arg)
		if err != nil {
			return nil, err
		}
		ok, err := c.cas(ctx, k, nv, rev)
		if err != nil {
			return nil, err
		}
		if ok {
			return nv, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// keysWith lists the keys under p.
func (c *natsConn) keysWith(ctx context.Context, p string) ([]string, error) {
	lister, err := c.kv.ListKeysFiltered(ctx, p+">")
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range lister.Keys() {
		out = append(out, k)
	}
	return out, nil
}

// watchUntil waits until cond, checked on k's changes, holds.
func (c *natsConn) watchUntil(ctx context.Context, k string, cond func() (bool, error)) error {
	w, err := c.kv.Watch(ctx, k, jetstream.UpdatesOnly())
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-w.Updates():
		case <-time.After(time.Second): // in case an update raced the watch
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *natsConn) lock(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	k := p + "held"
	switch ops.LockOp(call.Op) {
	case ops.LockAcquire:
		var ownerDead bool
		try := func() (bool, error) {
			ok, dead, err := c.takeLock(ctx, k)
			rep.OK, ownerDead = ok, dead
			return ok, err
		}
		var err error
		if !call.Flag {
			_, err = try()
		} else {
			err = c.watchUntil(ctx, k, try)
		}
		if err == nil && ownerDead {
			return errf(codeOwnerDead, "manager: the Lock's holder ended holding it")
		}
		return err
	case ops.LockRelease:
		v, rev, err := c.get(ctx, k)
		if err != nil {
			return err
		}
		if v == nil {
			return errf(codeNotOwner, "manager: release of an unlocked Lock")
		}
		return c.kv.Delete(ctx, k, jetstream.LastRevision(rev))
	case ops.LockLocked:
		v, _, err := c.get(ctx, k)
		rep.OK = v != nil
		return err
	}
	return errf(codeUnknownOp, "manager: a lock has no operation %q here", call.Op)
}

// takeLock takes the lock entry k for this connection if it is free, or
// if the connection holding it is gone (ownerDead): every connection
// answers on mp.alive.<id>, and NATS says at once when nobody listens
// there any more.
func (c *natsConn) takeLock(ctx context.Context, k string) (ok, ownerDead bool, err error) {
	if ok, err := c.cas(ctx, k, []byte(c.id), 0); err != nil || ok {
		return ok, false, err
	}
	holder, rev, err := c.get(ctx, k)
	if err != nil || holder == nil || !c.gone(string(holder)) {
		return false, false, err // free meanwhile, or held by a live process: wait
	}
	ok, err = c.cas(ctx, k, []byte(c.id), rev)
	return ok, ok, err
}

// gone reports whether the connection id is gone: nobody answers on its
// liveness subject (NATS says so at once).
func (c *natsConn) gone(id string) bool {
	if id == "" {
		return false
	}
	_, err := c.nc.Request("mp.alive."+id, nil, 2*time.Second)
	return errors.Is(err, nats.ErrNoResponders)
}

func (c *natsConn) event(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	k := p + "set"
	isSet := func() (bool, error) {
		v, _, err := c.get(ctx, k)
		return v != nil, err
	}
	switch ops.EventOp(call.Op) {
	case ops.EventSet:
		_, err := c.kv.Put(ctx, k, []byte("1"))
		return err
	case ops.EventClear:
		return c.kv.Delete(ctx, k)
	case ops.EventIsSet:
		var err error
		rep.OK, err = isSet()
		return err
	case ops.EventWait:
		err := c.watchUntil(ctx, k, isSet)
		rep.OK = err == nil
		return err
	}
	return errf(codeUnknownOp, "manager: an event has no operation %q here", call.Op)
}

// semState is a semaphore's entry: its value, and its initial value (a
// BoundedSemaphore's bound).
type semState struct {
	N    int64 `cbor:"1,keyasint"`
	Init int64 `cbor:"2,keyasint"`
}

func (c *natsConn) semaphore(ctx context.Context, p string, bounded bool, call *wire.Call, rep *wire.Reply) error {
	k := p + "sem"
	switch ops.SemaphoreOp(call.Op) {
	case ops.SemaphoreAcquire:
		try := func() (bool, error) {
			rep.OK = false
			_, err := changeEntry(ctx, c, k, func(st *semState) error {
				if st.N <= 0 {
					return errKeep
				}
				st.N--
				rep.OK = true
				return nil
			})
			return rep.OK && err == nil, err
		}
		if !call.Flag {
			_, err := try()
			return err
		}
		return c.watchUntil(ctx, k, try)
	case ops.SemaphoreRelease:
		inc := max(1, call.N)
		_, err := changeEntry(ctx, c, k, func(st *semState) error {
			if bounded && st.N+inc > st.Init {
				return errf(codeBadArgs, "manager: BoundedSemaphore released too many times")
			}
			st.N += inc
			return nil
		})
		return err
	case ops.SemaphoreValue:
		st, _, err := readEntry[semState](ctx, c, k)
		if err == nil {
			rep.N = st.N
		}
		return err
	}
	return errf(codeUnknownOp, "manager: a semaphore has no operation %q here", call.Op)
}

// natsQueue is a Queue: a work-queue stream and its consumer.
type natsQueue struct {
	stream jetstream.Stream
	cons   jetstream.Consumer
	subj   string
}

func (c *natsConn) queueName(id uint64) string {
	return "MPQ_" + c.bucket + "_" + strconv.FormatUint(id, 10)
}

// queue returns queue id's stream, making it if max >= 0.
func (c *natsConn) queue(ctx context.Context, id uint64, max int64) (*natsQueue, error) {
	c.mu.Lock()
	q := c.queues[id]
	c.mu.Unlock()
	if q != nil {
		return q, nil
	}
	name := c.queueName(id)
	q = &natsQueue{subj: "mpq." + c.bucket + "." + strconv.FormatUint(id, 10)}
	var err error
	if max >= 0 {
		cfg := jetstream.StreamConfig{Name: name, Subjects: []string{q.subj}, Retention: jetstream.WorkQueuePolicy, Discard: jetstream.DiscardNew, MaxMsgs: -1}
		if max > 0 {
			cfg.MaxMsgs = max
		}
		q.stream, err = c.js.CreateOrUpdateStream(ctx, cfg)
	} else {
		q.stream, err = c.js.Stream(ctx, name)
	}
	if err != nil {
		return nil, err
	}
	q.cons, err = q.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "get", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.queues[id] = q
	c.mu.Unlock()
	return q, nil
}

// listQueues lists this bucket's queue streams.
func (c *natsConn) listQueues(ctx context.Context) []string {
	var out []string
	names := c.js.StreamNames(ctx)
	for n := range names.Name() {
		if strings.HasPrefix(n, "MPQ_"+c.bucket+"_") {
			out = append(out, n)
		}
	}
	return out
}

// counter adds d to the integer entry k (compare-and-set); with min0, a
// result below 0 is refused as too many TaskDones.
func (c *natsConn) counter(ctx context.Context, k string, d int64, min0 bool) error {
	_, err := changeEntry(ctx, c, k, func(n *int64) error {
		if min0 && *n+d < 0 {
			return errf(codeBadArgs, "manager: task_done called more times than items were put")
		}
		*n += d
		return nil
	})
	return err
}

func (c *natsConn) queueCall(ctx context.Context, call *wire.Call, rep *wire.Reply) error {
	q, err := c.queue(ctx, call.Obj, -1)
	if err != nil {
		return err
	}
	p := prefix(call.Obj)
	closed := func() (bool, error) {
		v, _, err := c.get(ctx, p+"closed")
		return v != nil, err
	}
	switch ops.QueueOp(call.Op) {
	case ops.QueuePut:
		if cl, err := closed(); err != nil || cl {
			if cl {
				return errf(codeClosed, "manager: queue closed")
			}
			return err
		}
		wait := 10 * time.Millisecond
		for i := 0; i < len(call.Args); {
			if err := c.counter(ctx, p+"unfinished", 1, false); err != nil {
				return err
			}
			_, err := c.js.Publish(ctx, q.subj, call.Args[i])
			if err == nil {
				rep.N++
				i++
				wait = 10 * time.Millisecond
				continue
			}
			c.counter(ctx, p+"unfinished", -1, false)
			if !strings.Contains(err.Error(), "maximum messages") {
				return err
			}
			if !call.Flag {
				if i == 0 {
					return errf(codeFull, "manager: queue full")
				}
				return nil
			}
			select { // full: wait for room
			case <-ctx.Done():
				if i > 0 {
					return nil
				}
				return ctx.Err()
			case <-time.After(wait):
				wait = min(2*wait, 200*time.Millisecond)
			}
		}
		return nil
	case ops.QueueGet:
		max := int(max(1, call.N))
		for {
			batch, err := q.cons.FetchNoWait(max)
			if err != nil {
				return err
			}
			for m := range batch.Messages() {
				rep.Vals = append(rep.Vals, m.Data())
				m.DoubleAck(ctx)
			}
			if len(rep.Vals) > 0 {
				return nil
			}
			if cl, err := closed(); err != nil || cl {
				if cl {
					return errf(codeClosed, "manager: queue closed")
				}
				return err
			}
			if !call.Flag {
				return errf(codeEmpty, "manager: queue empty")
			}
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			batch, err = q.cons.Fetch(1, jetstream.FetchContext(wctx))
			if err == nil {
				for m := range batch.Messages() {
					rep.Vals = append(rep.Vals, m.Data())
					m.DoubleAck(ctx)
				}
			}
			cancel()
			if len(rep.Vals) > 0 {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	case ops.QueueQsize, ops.QueueFull:
		info, err := q.stream.Info(ctx)
		if err != nil {
			return err
		}
		rep.N = int64(info.State.Msgs)
		rep.OK = info.Config.MaxMsgs > 0 && rep.N >= info.Config.MaxMsgs
		return nil
	case ops.QueueTaskDone:
		return c.counter(ctx, p+"unfinished", -max(1, call.N), true)
	case ops.QueueJoin:
		return c.watchUntil(ctx, p+"unfinished", func() (bool, error) {
			n, _, err := readEntry[int64](ctx, c, p+"unfinished")
			return err == nil && *n <= 0, err
		})
	case ops.QueueClose:
		_, err := c.kv.Put(ctx, p+"closed", []byte("1"))
		return err
	}
	return errf(codeUnknownOp, "manager: a queue has no operation %q here", call.Op)
}

// list runs a List or Array operation as a compare-and-set of the whole
// item list, retried on conflict: the server's own code does the work.
func (c *natsConn) list(ctx context.Context, p string, fixed bool, call *wire.Call, rep *wire.Reply) error {
	k := p + "items"
	for {
		b, rev, err := c.get(ctx, k)
		if err != nil {
			return err
		}
		var cur wire.Reply
		if err := wire.DecodeReply(b, &cur); err != nil {
			return fmt.Errorf("manager: the list's entry is corrupt: %w", err)
		}
		l := &listObj{items: cur.Vals, fixed: fixed}
		r := &wire.Reply{ID: call.ID}
		if err := l.call(ctx, nil, call, r); err != nil {
			return err
		}
		if row, _ := ops.Lookup(ops.KindList, call.Op); row.Writes {
			ok, err := c.cas(ctx, k, wire.AppendReply(nil, &wire.Reply{Vals: l.items}), rev)
			if err != nil {
				return err
			}
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				continue // another process changed it: again
			}
		}
		*rep = *r
		return nil
	}
}

// custom calls a registered method on the value of a registered type,
// kept encoded in one entry: decode, call, encode, compare-and-set,
// retried on conflict (so the method may run more than once: it must not
// have effects outside its value).
func (c *natsConn) custom(ctx context.Context, p, name string, call *wire.Call, rep *wire.Reply) error {
	t, ok := types.Load(name)
	if !ok {
		return errf(codeUnknownType, "manager: no type %q is registered in this program", name)
	}
	ti := t.(*typeInfo)
	if ops.TypeOp(call.Op) != ops.TypeCall {
		return errf(codeUnknownOp, "manager: a %s has no operation %q", name, call.Op)
	}
	m, ok := ti.methods.Load(call.Name)
	if !ok {
		return errf(codeUnknownOp, "manager: type %s has no registered method %q", name, call.Name)
	}
	if err := wantArgs(call, 1); err != nil {
		return err
	}
	k := p + "value"
	for {
		b, rev, err := c.get(ctx, k)
		if err != nil {
			return err
		}
		v := ti.make()
		if err := wire.Unmarshal(b, v); err != nil {
			return fmt.Errorf("manager: decoding the %s: %w", name, err)
		}
		r, err := m.(methodFunc)(ctx, v, call.Args[0])
		if err != nil {
			return err
		}
		nb, err := encode(v)
		if err != nil {
			return err
		}
		if bytes.Equal(nb, b) {
			rep.Vals = [][]byte{r}
			return nil // unchanged: nothing to write
		}
		ok, err := c.cas(ctx, k, nb, rev)
		if err != nil {
			return err
		}
		if ok {
			rep.Vals = [][]byte{r}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// rlockState is an RLock's entry: the hold (a context's) that has it,
// how many times, and its connection; a hold whose connection is gone is
// taken over with mp.ErrOwnerDead, as for Lock.
type rlockState struct {
	Hold  uint64 `cbor:"1,keyasint"`
	Depth int64  `cbor:"2,keyasint"`
	Conn  string `cbor:"3,keyasint,omitempty"`
}

func (c *natsConn) rlock(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	k := p + "rlock"
	hold := uint64(call.N)
	switch ops.RLockOp(call.Op) {
	case ops.RLockAcquire:
		if hold == 0 {
			return errf(codeBadArgs, "manager: an RLock hold of 0")
		}
		ownerDead := false
		try := func() (bool, error) {
			rep.OK, ownerDead = false, false
			st, err := changeEntry(ctx, c, k, func(st *rlockState) error {
				if st.Depth > 0 && st.Hold != hold {
					if !c.gone(st.Conn) {
						return errKeep // held: wait
					}
					st.Depth, ownerDead = 0, true // its holder's process is gone
				}
				st.Hold, st.Conn = hold, c.id
				st.Depth++
				rep.OK = true
				return nil
			})
			if err == nil && rep.OK {
				rep.N = st.Depth
			}
			return rep.OK && err == nil, err
		}
		var err error
		if !call.Flag {
			_, err = try()
		} else {
			err = c.watchUntil(ctx, k, try)
		}
		if err == nil && ownerDead {
			return errf(codeOwnerDead, "manager: the RLock's holder ended holding it")
		}
		return err
	case ops.RLockRelease:
		st, err := changeEntry(ctx, c, k, func(st *rlockState) error {
			if st.Depth == 0 || st.Hold != hold {
				return errf(codeNotOwner, "manager: release of an RLock not held by this context")
			}
			st.Depth--
			return nil
		})
		if err == nil {
			rep.N = st.Depth
		}
		return err
	}
	return errf(codeUnknownOp, "manager: an RLock has no operation %q here", call.Op)
}

// barrierState is a Barrier's entry.
type barrierState struct {
	Parties  int    `cbor:"1,keyasint"`
	Count    int    `cbor:"2,keyasint"`
	Gen      uint64 `cbor:"3,keyasint"`
	Released uint64 `cbor:"4,keyasint"`
	Broken   bool   `cbor:"5,keyasint"`
	Action   string `cbor:"6,keyasint,omitempty"`
}

// errKeep, returned by the function given to changeEntry, leaves the
// entry as it is.
var errKeep = errors.New("manager: leave the entry")

// readEntry decodes the CBOR entry k as a T, with its revision.
func readEntry[T any](ctx context.Context, c *natsConn, k string) (*T, uint64, error) {
	v, rev, err := c.get(ctx, k)
	if err != nil {
		return nil, 0, err
	}
	st := new(T)
	if v == nil {
		return st, 0, nil // no entry yet: the zero value
	}
	if err := wire.Unmarshal(v, st); err != nil {
		return nil, 0, fmt.Errorf("manager: the entry %s is corrupt: %w", k, err)
	}
	return st, rev, nil
}

// changeEntry applies f to the CBOR entry k (the zero value if there is
// none yet) with compare-and-set, again while another process changes it
// meanwhile, and returns what it wrote.
// f returning errKeep leaves the entry; another error is returned.
func changeEntry[T any](ctx context.Context, c *natsConn, k string, f func(*T) error) (*T, error) {
	for {
		st, rev, err := readEntry[T](ctx, c, k)
		if err != nil {
			return nil, err
		}
		if err := f(st); err != nil {
			if errors.Is(err, errKeep) {
				return st, nil
			}
			return st, err
		}
		b, err := wire.Marshal(st)
		if err != nil {
			return nil, err
		}
		ok, err := c.cas(ctx, k, b, rev)
		if err != nil || ok {
			return st, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// barrier is a Barrier: a state entry changed by compare-and-set; the
// last party to arrive runs the action (in its own process) and releases
// the round; the others watch the entry.
func (c *natsConn) barrier(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	broken := errf(codeBroken, "manager: broken barrier")
	breakRound := func(st *barrierState) error {
		st.Broken, st.Count = true, 0
		st.Gen++
		return nil
	}
	switch ops.BarrierOp(call.Op) {
	case ops.BarrierWait:
		var idx int
		var gen uint64
		var last bool
		st, err := changeEntry(ctx, c, p+"barrier", func(st *barrierState) error {
			if st.Broken {
				return broken
			}
			idx, gen = st.Count, st.Gen
			last = st.Count+1 == st.Parties
			if last {
				st.Count = 0
				st.Gen++
				st.Released = st.Gen
			} else {
				st.Count++
			}
			return nil
		})
		if err != nil {
			return err
		}
		rep.N = int64(idx)
		if last {
			if st.Action != "" {
				b := &barrierObj{action: st.Action}
				if err := b.runAction(ctx); err != nil {
					changeEntry(context.WithoutCancel(ctx), c, p+"barrier", breakRound)
					return errf(codeBroken, "manager: broken barrier: its action: %v", err)
				}
			}
			return nil
		}
		var final *barrierState
		err = c.watchUntil(ctx, p+"barrier", func() (bool, error) {
			st, _, err := readEntry[barrierState](ctx, c, p+"barrier")
			final = st
			return err == nil && st.Gen != gen, err
		})
		if err != nil {
			// a party gave up: the round breaks, as Python's timeout does
			changeEntry(context.WithoutCancel(ctx), c, p+"barrier", func(st *barrierState) error {
				if st.Gen != gen {
					return errKeep // released meanwhile
				}
				return breakRound(st)
			})
			return err
		}
		if final.Released != gen+1 {
			return broken
		}
		return nil
	case ops.BarrierAbort:
		_, err := changeEntry(ctx, c, p+"barrier", breakRound)
		return err
	case ops.BarrierReset:
		_, err := changeEntry(ctx, c, p+"barrier", func(st *barrierState) error {
			if st.Count > 0 {
				st.Gen++
			}
			st.Count, st.Broken = 0, false
			return nil
		})
		return err
	case ops.BarrierParties, ops.BarrierNWaiting, ops.BarrierBroken:
		st, _, err := readEntry[barrierState](ctx, c, p+"barrier")
		if err != nil {
			return err
		}
		rep.N = int64(st.Parties)
		if ops.BarrierOp(call.Op) == ops.BarrierNWaiting {
			rep.N = int64(st.Count)
		}
		rep.OK = st.Broken
		return nil
	}
	return errf(codeUnknownOp, "manager: a barrier has no operation %q here", call.Op)
}

// condState is a Condition's entry: the tickets taken by waiters, the
// mark below which they are released, and the tickets of waiters that
// left before being notified.
type condState struct {
	Lock     uint64   `cbor:"1,keyasint"`
	Tickets  uint64   `cbor:"2,keyasint"`
	Released uint64   `cbor:"3,keyasint"`
	Gone     []uint64 `cbor:"4,keyasint,omitempty"`
}

func (c *natsConn) condition(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	st, _, err := readEntry[condState](ctx, c, p+"cond")
	if err != nil {
		return err
	}
	lockKey := prefix(st.Lock) + "held"
	held, _, err := c.get(ctx, lockKey)
	if err != nil {
		return err
	}
	if held == nil {
		return errf(codeNotOwner, "manager: Condition.%s without its lock", call.Op)
	}
	switch ops.ConditionOp(call.Op) {
	case ops.ConditionWait:
		var ticket uint64
		if _, err := changeEntry(ctx, c, p+"cond", func(st *condState) error { ticket = st.Tickets; st.Tickets++; return nil }); err != nil {
			return err
		}
		if err := c.kv.Delete(ctx, lockKey); err != nil {
			return err
		}
		werr := c.watchUntil(ctx, p+"cond", func() (bool, error) {
			st, _, err := readEntry[condState](ctx, c, p+"cond")
			return err == nil && st.Released > ticket, err
		})
		bg := context.WithoutCancel(ctx)
		if werr != nil {
			changeEntry(bg, c, p+"cond", func(st *condState) error {
				if st.Released > ticket {
					return errKeep // notified meanwhile
				}
				st.Gone = append(st.Gone, ticket) // leaving: not to be notified
				return nil
			})
		}
		// Take the lock again, whatever happened, as Python does.
		err := c.watchUntil(bg, lockKey, func() (bool, error) {
			ok, _, err := c.takeLock(bg, lockKey)
			return ok, err
		})
		if werr == nil {
			werr = err
		}
		rep.OK = werr == nil
		return werr
	case ops.ConditionNotify, ops.ConditionNotifyAll:
		n := call.N
		if ops.ConditionOp(call.Op) == ops.ConditionNotifyAll {
			n = 1 << 30
		}
		_, err := changeEntry(ctx, c, p+"cond", func(st *condState) error {
			for k := int64(0); k < n && st.Released < st.Tickets; {
				if i := slices.Index(st.Gone, st.Released); i >= 0 {
					st.Gone = slices.Delete(st.Gone, i, i+1) // a waiter that left
				} else {
					k++
				}
				st.Released++
			}
			return nil
		})
		return err
	}
	return errf(codeUnknownOp, "manager: a condition has no operation %q here", call.Op)
}
