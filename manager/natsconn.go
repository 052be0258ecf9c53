package manager

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

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
	drains sync.WaitGroup // goroutines giving back what a waiting Get's pull brings after its caller left
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
		c.drains.Wait() // at most a fetch round and the client's second of grace
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
