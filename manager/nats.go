package manager

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/natskv"
	"github.com/mp-go/mp/manager/internal/ops"
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
	c := &natsConn{natskv.New(url, bucket)}
	if err := c.Connect(ctx); err != nil {
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

// natsConnFor returns this process's connection to the NATS-backed
// manager with url and bucket.
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
	c := &natsConn{natskv.New(url, bucket)}
	natsConns.m[id] = c
	return c
}

// natsConn is the NATS backend (manager/internal/natskv) as proxies
// call it.
type natsConn struct{ *natskv.Conn }

func (c *natsConn) handle() handle { return handle{NATS: c.URL(), Bucket: c.Bucket()} }

func (c *natsConn) call(ctx context.Context, call *wire.Call) (*wire.Reply, error) {
	rep, err := c.Call(ctx, call)
	var ce *ops.Error
	if errors.As(err, &ce) {
		return rep, &CallError{Code: ce.Code, Msg: ce.Msg}
	}
	return rep, err
}

func (c *natsConn) close() {
	c.Close()
	natsConns.Lock()
	for id, x := range natsConns.m {
		if x == c {
			delete(natsConns.m, id)
		}
	}
	natsConns.Unlock()
}
