// Package natskv runs a manager's operations (manager/internal/ops) on a
// NATS JetStream cluster instead of a server process: objects are entries
// of a KV bucket, changed by compare-and-set (nats_entry.go), and queues
// are streams (nats_queue.go); the families are in nats_maps.go,
// nats_order.go, nats_list.go and nats_sync.go. manager.Cluster's doc
// says what each type offers and how consistent it is. Package manager
// adapts a Conn to its connection interface.
package natskv

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/registered"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Conn runs the calls of proxies on a NATS KV bucket and streams: the
// same operations as a manager server, without a server. Make one with
// New; it connects at Connect, or at its first call.
type Conn struct {
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

// New returns a connection to the bucket of a NATS-backed manager at
// url, not connected yet.
func New(url, bucket string) *Conn {
	return &Conn{url: url, bucket: bucket, queues: map[uint64]*natsQueue{}, kinds: map[uint64]string{}}
}

// URL returns the NATS URL the connection was made with.
func (c *Conn) URL() string { return c.url }

// Bucket returns the manager's bucket name (without its "mp_manager_"
// prefix).
func (c *Conn) Bucket() string { return c.bucket }

// Connect connects to NATS and opens (or makes) the manager's bucket, if
// it has not yet; its errors wrap ops.ErrServerGone.
func (c *Conn) Connect(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kv != nil {
		return nil
	}
	nc, err := nats.Connect(c.url, nats.Name("mp manager"))
	if err != nil {
		return fmt.Errorf("%w: connecting to NATS: %w", ops.ErrServerGone, err)
	}
	js, err := jetstream.New(nc)
	if err == nil {
		c.kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "mp_manager_" + c.bucket, History: 1})
	}
	if err != nil {
		nc.Close()
		return fmt.Errorf("%w: the manager's KV bucket (is JetStream on?): %w", ops.ErrServerGone, err)
	}
	c.id = nuid.Next()
	c.alive, err = nc.Subscribe("mp.alive."+c.id, func(m *nats.Msg) { m.Respond(nil) })
	if err != nil {
		nc.Close()
		return fmt.Errorf("%w: %w", ops.ErrServerGone, err)
	}
	c.nc, c.js = nc, js
	return nil
}

// Close closes the connection: calls then fail with ops.ErrServerGone.
func (c *Conn) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc != nil {
		c.drains.Wait() // at most a fetch round and the client's second of grace
		c.nc.Close()
	}
	c.err = fmt.Errorf("%w: the connection was closed", ops.ErrServerGone)
}

// Call runs call, as a manager server would. A call that failed there
// returns its reply and an *ops.Error; a lost connection, an error
// wrapping ops.ErrServerGone; an ended context, the context's error.
func (c *Conn) Call(ctx context.Context, call *wire.Call) (*wire.Reply, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
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
		var ce *ops.Error
		if errors.As(err, &ce) {
			return rep, ce
		}
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("%w: %w", ops.ErrServerGone, err)
		}
		return nil, err
	}
	return rep, nil
}

// serverCall: new (and find by name), shutdown.
func (c *Conn) serverCall(ctx context.Context, call *wire.Call, rep *wire.Reply) error {
	switch ops.ManagerOp(call.Op) {
	case ops.ManagerNew:
		switch ops.Kind(call.Name) {
		case ops.KindDict, ops.KindNamespace, ops.KindValue, ops.KindQueue, ops.KindLock, ops.KindEvent, ops.KindSemaphore, ops.KindBounded, ops.KindList, ops.KindArray, ops.KindRLock, ops.KindBarrier, ops.KindCondition:
		default:
			name, ok := strings.CutPrefix(call.Name, ops.KindTypePrefix)
			if !ok {
				return ops.Errorf(ops.CodeUnknownType, "manager: a %s is not offered by a NATS-backed manager (Dict, Namespace, Value, List, Array, Queue, Lock, RLock, Event, semaphores, Condition, Barrier and registered types are)", call.Name)
			}
			if _, ok := registered.LookupType(name); !ok {
				return ops.Errorf(ops.CodeUnknownType, "manager: no type %q is registered in this program", name)
			}
		}
		if err := ops.CheckNew(call); err != nil {
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
	return ops.Errorf(ops.CodeUnknownOp, "manager: no operation %q", call.Op)
}

// newObject allocates an object id (a counter with compare-and-set), or
// finds the object with call.Key's name.
func (c *Conn) newObject(ctx context.Context, call *wire.Call) (id uint64, fresh bool, err error) {
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

func (c *Conn) checkKind(ctx context.Context, idText []byte, call *wire.Call) (uint64, bool, error) {
	id, _ := strconv.ParseUint(string(idText), 10, 64)
	e, err := c.kv.Get(ctx, "obj."+string(idText))
	if err != nil {
		return 0, false, err
	}
	if string(e.Value()) != call.Name {
		return 0, false, ops.Errorf(ops.CodeExists, "manager: the name %q is taken by a %s, not a %s", call.Key, e.Value(), call.Name)
	}
	return id, false, nil
}

// initObject gives a new object its first state.
func (c *Conn) initObject(ctx context.Context, id uint64, call *wire.Call) error {
	p := prefix(id)
	switch ops.Kind(call.Name) {
	case ops.KindValue:
		if len(call.Args) != 1 {
			return ops.Errorf(ops.CodeBadArgs, "manager: a Value needs its initial value")
		}
		_, err := c.kv.Put(ctx, p+"v", call.Args[0])
		return err
	case ops.KindSemaphore, ops.KindBounded:
		if call.N < 0 {
			return ops.Errorf(ops.CodeBadArgs, "manager: a semaphore's value must not be negative, not %d", call.N)
		}
		b, err := wire.Marshal(&semState{N: call.N, Init: call.N})
		if err != nil {
			return err
		}
		return c.put(ctx, p+"sem", b)
	case ops.KindQueue:
		_, err := c.queue(ctx, id, call.N)
		if err == nil {
			_, err = c.kv.Put(ctx, p+"max", []byte(strconv.FormatInt(call.N, 10)))
		}
		return err
	case ops.KindCondition:
		if e, err := c.kv.Get(ctx, "obj."+strconv.FormatInt(call.M, 10)); err != nil || string(e.Value()) != string(ops.KindLock) {
			return ops.Errorf(ops.CodeBadArgs, "manager: a Condition's lock must be a Lock of the same manager")
		}
		b, _ := wire.Marshal(&condState{Lock: uint64(call.M)})
		return c.put(ctx, p+"cond", b)
	case ops.KindBarrier:
		if call.N < 1 || call.N >= 1<<31 {
			return ops.Errorf(ops.CodeBadArgs, "manager: a Barrier for %d parties", call.N)
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
	case ops.KindList, ops.KindArray:
		// The items are one entry: every operation is a compare-and-set
		// of the whole list, so each is atomic (and costs its length).
		items := call.Args
		if call.Name == string(ops.KindArray) {
			if call.N < 0 || call.N > wire.MaxElements || len(call.Args) != 1 {
				return ops.Errorf(ops.CodeBadArgs, "manager: an Array of %d items", call.N)
			}
			items = make([][]byte, call.N)
			for i := range items {
				items[i] = call.Args[0]
			}
		}
		_, err := c.kv.Put(ctx, p+"items", wire.AppendReply(nil, &wire.Reply{Vals: items}))
		return err
	}
	if name, ok := strings.CutPrefix(call.Name, ops.KindTypePrefix); ok {
		t, _ := registered.LookupType(name)
		b, err := encode(t.New())
		if err != nil {
			return ops.Errorf(ops.CodeBadArgs, "manager: a %s must be encodable to live in NATS: %v", name, err)
		}
		_, err = c.kv.Put(ctx, p+"value", b)
		return err
	}
	return nil
}

// objectCall runs an operation on an object.
func (c *Conn) objectCall(ctx context.Context, call *wire.Call, rep *wire.Reply) error {
	c.mu.Lock()
	kind, ok := c.kinds[call.Obj]
	c.mu.Unlock()
	if !ok {
		e, err := c.kv.Get(ctx, "obj."+strconv.FormatUint(call.Obj, 10))
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				return ops.Errorf(ops.CodeUnknownObject, "manager: no object %d in bucket %s", call.Obj, c.bucket)
			}
			return err
		}
		kind = string(e.Value())
		c.mu.Lock()
		c.kinds[call.Obj] = kind
		c.mu.Unlock()
	}
	p := prefix(call.Obj)
	switch ops.Kind(kind) {
	case ops.KindDict:
		return c.dict(ctx, p, call, rep)
	case ops.KindNamespace:
		return c.namespace(ctx, p, call, rep)
	case ops.KindValue:
		return c.value(ctx, p, call, rep)
	case ops.KindQueue:
		return c.queueCall(ctx, call, rep)
	case ops.KindLock:
		return c.lock(ctx, p, call, rep)
	case ops.KindEvent:
		return c.event(ctx, p, call, rep)
	case ops.KindSemaphore, ops.KindBounded:
		return c.semaphore(ctx, p, kind == string(ops.KindBounded), call, rep)
	case ops.KindList, ops.KindArray:
		return c.list(ctx, p, kind == string(ops.KindArray), call, rep)
	case ops.KindRLock:
		return c.rlock(ctx, p, call, rep)
	case ops.KindBarrier:
		return c.barrier(ctx, p, call, rep)
	case ops.KindCondition:
		return c.condition(ctx, p, call, rep)
	default:
		if name, ok := strings.CutPrefix(kind, ops.KindTypePrefix); ok {
			return c.custom(ctx, p, name, call, rep)
		}
		return ops.Errorf(ops.CodeUnknownType, "manager: a %s is not offered by a NATS-backed manager", kind)
	}
}

// encode encodes a registered type's value as the manager's proxies
// encode values (wire.MarshalDeterministic), naming what could not be.
func encode(v any) ([]byte, error) {
	b, err := wire.MarshalDeterministic(v)
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err)
	}
	return b, nil
}
