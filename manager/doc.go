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
//	BaseManager(address, authkey).connect()  manager.Connect(ctx, address, authkey)
//	m.shutdown(), with Manager() as m        m.Shutdown(ctx), m.Close()
//	m.dict(), m.list()        NewDict[K, V](ctx, m), NewList[T](ctx, m, items)
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
// (mode 0700), and every connection must pass an HMAC-SHA256 challenge
// with the authkey, both ways, compared in constant time. A proxy carries
// the address and the key, so pass proxies only to processes you trust
// with the manager. The server dies with the process that started it;
// Shutdown stops it, and every proxy call then returns ErrServerGone at
// once, as do calls waiting when the server is killed. Objects live until
// the server stops (there is no reference counting across processes, a
// source of bugs in Python's manager).
//
// # Across machines
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
