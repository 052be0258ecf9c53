// Package manager is Python's multiprocessing.Manager for Go: a server
// process that holds shared objects, and typed proxies that any process
// of the program uses to reach them.
//
//	m, err := manager.Start(ctx)         // Python: m = Manager(); m.start()
//	defer m.Shutdown(ctx)
//	d, err := manager.NewDict[string, int](ctx, m) // m.dict()
//	q, err := manager.NewQueue[string](ctx, m, 0)  // m.Queue()
//	lock, err := m.Lock(ctx)                      // m.Lock()
//
// Proxies are handles: pass them to mp.NewProcess and to pool tasks as
// (parts of) arguments, and the process that receives one reaches the
// same object. Every call takes a context; a call that waits (a Queue's
// Get, a Lock, an Event's Wait, a Barrier) returns when the context ends,
// and then the operation either happened (its result is returned) or did
// not (the context's error is): an item is never lost between the two.
//
// # Python's names
//
//	Manager()                 manager.Start(ctx, opts...)
//	m.start(initializer, initargs)  manager.Start(ctx, manager.Initializer(init, arg))
//	BaseManager(address, authkey).connect()  manager.Connect(ctx, address, authkey)
//	BaseManager(address=(host, port), authkey).start()  manager.Start(ctx, manager.Listen("tcp", "host:port"), manager.AuthKey(k))
//	m.get_server().serve_forever()  manager.Serve(ctx, ln, authkey)
//	m.shutdown(), with Manager() as m        m.Shutdown(ctx), m.Close()
//	m.dict(), m.list()        NewDict[K, V](ctx, m), NewList[T](ctx, m, items)
//	l.sort(), l.sort(key=f, reverse=True)  l.Sort(ctx, Ascending[T]()), l.Sort(ctx, NewOrder(name, cmp).Reversed())
//	l.reverse()               l.Reverse(ctx)
//	m.Namespace()             m.Namespace(ctx)
//	m.Value(), m.Array()      NewValue[T](ctx, m, v), NewArray[T](ctx, m, n)
//	m.Queue(), m.JoinableQueue()  NewQueue[T](ctx, m, maxsize) (joinable)
//	m.Lock(), m.RLock()       m.Lock(ctx), m.RLock(ctx)
//	m.Semaphore(n), m.BoundedSemaphore(n)  m.Semaphore(ctx, n), m.BoundedSemaphore(ctx, n)
//	m.Condition(lock), m.Event(), m.Barrier(n, action)  same names, with ctx
//	BaseManager.register(typeid, callable)  Register[T](name, new), NewMethod(t, name, fn)
//
// # Fewer round trips
//
// Each proxy call is one round trip to the server (a few microseconds on
// a Unix socket). As the Python advice goes, batch: Dict.SetMany (Python's
// update), Dict.GetMany, Dict.Items, List.Extend, List.Slice,
// Queue.PutMany and Queue.GetMany move many items in one call. And read-
// modify-write runs on the server, atomically, without a lock around two
// calls: Dict.Update(ctx, key, manager.Add(1)) is a correct shared
// counter, and NewUpdate registers any function of the old value; values
// and dict entries also have CompareAndSwap.
//
// # Only data on the wire
//
// The server runs only what the program registered: the object kinds
// above, update functions registered with NewUpdate, and the methods of
// types registered with Register and NewMethod. A call names them and
// carries encoded data (CBOR), never code, so a leaked authkey does not
// let anyone run code in the server, as it does with Python's pickle.
// Registrations belong at package level, so that the server process (this
// program, started again by mp.Main) has them too.
//
// # Security and lifetime
//
// The server listens on a Unix socket of mode 0600 in a private directory
// (mode 0700), or on TCP with Listen, and every connection must pass an
// HMAC-SHA256 challenge with the authkey, both ways, compared in constant
// time. On TCP, add TLS (ServerTLS on the server, TLS on clients): the
// authkey proves who may call, TLS keeps the calls private. A proxy carries
// the address and the key, so pass proxies only to processes you trust
// with the manager. The server dies with the process that started it;
// Shutdown stops it, and every proxy call then returns ErrServerGone at
// once, as do calls waiting when the server is killed. Objects live until
// the server stops (there is no reference counting across processes, a
// source of bugs in Python's manager).
//
// # Limits
//
// A server's memory follows what its clients send (Limits, set with
// ServerLimits): a connection that has not proved it knows the authkey
// can make it read no more than a 4 KiB handshake frame, and at most 64
// such connections (Handshakes) wait at once, each for at most 5 s
// (HandshakeTimeout); one message may make it allocate at most 1<<20
// items (Items: an Array's length, a batch's values), and one connection
// may have at most 4,096 calls waiting at once (Waiting). A call past a
// limit fails with ErrLimit, which names the limit; the connection goes
// on. MaxMessage (64 MiB) bounds every message. A batch above Items or
// MaxMessage (a List of millions of items, as Python's manager takes) is
// sent by the proxy in parts, which the server stages and then runs as
// one call: it stays atomic (nothing applies before the last part; a
// batch abandoned half-way is dropped); only one value above MaxMessage
// fails, with ErrTooBig.
//
// # Across machines
//
// manager.Start(ctx, manager.Listen("tcp", ":50000"), manager.AuthKey(k))
// (or manager.Serve in a process of your own) serves other hosts, which
// Connect(ctx, "tcp://host:50000", k); calls then travel on the TCP
// connection itself.
//
// manager.Start(ctx, manager.Cluster(url)) keeps the objects in a NATS
// JetStream cluster instead of a server process: a KV bucket (compare-and-
// set on revisions for Update, CompareAndSwap, locks and semaphores) and
// a stream per queue. Processes on any host that reach the cluster use the
// same proxies; Named objects are how they find each other, and NATS's
// own credentials and TLS protect them. Every type is offered there;
// Cluster's documentation gives the consistency of each. `mp server` runs a NATS
// server for several hosts.
package manager
