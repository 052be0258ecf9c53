// Package ops is the table of a manager's operations: every kind of
// shared object, every operation of each kind, and what the backends need
// to know of it (whether it may wait, whether it writes).
//
// Each kind has its own operation type (DictOp, QueueOp, …): a backend
// switches on it (switch ops.DictOp(call.Op)), so that a misspelt
// operation, or one of another kind, is a compile error. Adding an
// operation is a constant and a row here, and a case in each backend
// (the server process's objects, manager/internal/server/objects_*.go,
// and the NATS backend, manager/internal/natskv/nats_*.go); the
// conformance suite (manager's conformance_test.go) fails until it runs
// the operation on both.
//
// The package also holds what the backends and the client share besides
// the table: the error codes of replies and the Error type that carries
// them (errors.go), and the transport's own calls (transport.go).
package ops

// Kind is a kind of shared object, as a "new" call names it and a proxy's
// handle carries it.
type Kind string

// The kinds of objects.
const (
	KindDict      Kind = "dict"
	KindList      Kind = "list"
	KindArray     Kind = "array"
	KindNamespace Kind = "namespace"
	KindValue     Kind = "value"
	KindQueue     Kind = "queue"
	KindLock      Kind = "lock"
	KindRLock     Kind = "rlock"
	KindSemaphore Kind = "semaphore"
	KindBounded   Kind = "bounded-semaphore"
	KindEvent     Kind = "event"
	KindCondition Kind = "condition"
	KindBarrier   Kind = "barrier"
	// KindTypePrefix prefixes the name of a type registered with
	// manager.Register: "type:counter".
	KindTypePrefix = "type:"
	// KindManager is the manager itself: object 0, whose operations make
	// objects and stop the server.
	KindManager Kind = "manager"
)

// Operations of a Dict.
type DictOp string

// The operations of a Dict. Args are encoded keys and values.
const (
	DictGet        DictOp = "get"        // Args: key → Vals: value, OK: found
	DictSet        DictOp = "set"        // Args: key, value, key, value…
	DictSetDefault DictOp = "setdefault" // Args: key, value → Vals: value, OK: it was there
	DictPop        DictOp = "pop"        // Args: key → Vals: value, OK: found
	DictPopItem    DictOp = "popitem"    // → Vals: key, value of the last inserted; OK: not empty
	DictHas        DictOp = "has"        // Args: key → OK
	DictLen        DictOp = "len"        // → N
	DictKeys       DictOp = "keys"       // → Vals: keys, in insertion order
	DictValues     DictOp = "values"     // → Vals: values, in insertion order
	DictItems      DictOp = "items"      // → Vals: key, value, key, value…
	DictGetMany    DictOp = "getmany"    // Args: keys → Vals: values, nil where missing
	DictClear      DictOp = "clear"      //
	DictApply      DictOp = "apply"      // Name: update function; Args: key, argument → Vals: new value
	DictCAS        DictOp = "cas"        // Args: key, old, new → OK: swapped
)

// Operations of a Namespace.
type NamespaceOp string

// The operations of a Namespace; Key is the attribute's name.
const (
	NamespaceGet   NamespaceOp = "get"   // → Vals: value, OK: found
	NamespaceSet   NamespaceOp = "set"   // Args: value
	NamespaceDel   NamespaceOp = "del"   // → OK: it was there
	NamespaceItems NamespaceOp = "items" // → Vals: name, value, name, value…
	NamespaceApply NamespaceOp = "apply" // Name: update function; Args: argument → Vals: new value
)

// Operations of a Value.
type ValueOp string

// The operations of a Value.
const (
	ValueGet   ValueOp = "get"   // → Vals: value
	ValueSet   ValueOp = "set"   // Args: value
	ValueApply ValueOp = "apply" // Name: update function; Args: argument → Vals: new value
	ValueCAS   ValueOp = "cas"   // Args: old, new → OK: swapped
)

// Operations of a List, and of an Array (a List of fixed length: the
// rows marked Grows are refused on it).
type ListOp string

// The operations of a List and an Array. N is an index (negative: from
// the end).
const (
	ListExtend  ListOp = "extend"  // Args: items → N: the new length
	ListGet     ListOp = "get"     // N: index → Vals: item
	ListSet     ListOp = "set"     // N: index; Args: item
	ListSetMany ListOp = "setmany" // N: first index; Args: items
	ListLen     ListOp = "len"     // → N
	ListSlice   ListOp = "slice"   // N, M: bounds; Flag: to the end → Vals: items
	ListPop     ListOp = "pop"     // N: index → Vals: item
	ListInsert  ListOp = "insert"  // N: index (clamped); Args: item
	ListRemove  ListOp = "remove"  // Args: item → N: its index
	ListIndex   ListOp = "index"   // Args: item → N: its index
	ListCount   ListOp = "count"   // Args: item → N
	ListClear   ListOp = "clear"   //
	ListSort    ListOp = "sort"    // Name: order; Flag: descending
	ListReverse ListOp = "reverse" //
	ListApply   ListOp = "apply"   // N: index; Name: update function; Args: argument → Vals: new item
)

// Operations of a Queue.
type QueueOp string

// The operations of a Queue.
const (
	QueuePut      QueueOp = "put"      // Args: items; Flag: wait for room → N: items put
	QueueGet      QueueOp = "get"      // N: at most; Flag: wait for one → Vals: items
	QueueQsize    QueueOp = "qsize"    // → N
	QueueFull     QueueOp = "full"     // → OK
	QueueTaskDone QueueOp = "taskdone" // N: how many
	QueueJoin     QueueOp = "join"     // waits until every item put is done
	QueueClose    QueueOp = "close"    //
)

// Operations of a Lock.
type LockOp string

// The operations of a Lock.
const (
	LockAcquire LockOp = "acquire" // Flag: wait → OK: taken
	LockRelease LockOp = "release" //
	LockLocked  LockOp = "locked"  // → OK
)

// Operations of an RLock.
type RLockOp string

// The operations of an RLock; N is the hold (a context's).
const (
	RLockAcquire RLockOp = "acquire" // Flag: wait → OK: taken, N: depth
	RLockRelease RLockOp = "release" // → N: depth left
)

// Operations of a Semaphore and a BoundedSemaphore.
type SemaphoreOp string

// The operations of a Semaphore.
const (
	SemaphoreAcquire SemaphoreOp = "acquire" // Flag: wait → OK: taken
	SemaphoreRelease SemaphoreOp = "release" // N: how many
	SemaphoreValue   SemaphoreOp = "value"   // → N
)

// Operations of an Event.
type EventOp string

// The operations of an Event.
const (
	EventSet   EventOp = "set"   //
	EventClear EventOp = "clear" //
	EventIsSet EventOp = "isset" // → OK
	EventWait  EventOp = "wait"  // → OK
)

// Operations of a Condition.
type ConditionOp string

// The operations of a Condition.
const (
	ConditionWait      ConditionOp = "wait"      // → OK: notified
	ConditionNotify    ConditionOp = "notify"    // N: how many
	ConditionNotifyAll ConditionOp = "notifyall" //
)

// Operations of a Barrier.
type BarrierOp string

// The operations of a Barrier.
const (
	BarrierWait     BarrierOp = "wait"     // → N: arrival index
	BarrierAbort    BarrierOp = "abort"    //
	BarrierReset    BarrierOp = "reset"    //
	BarrierParties  BarrierOp = "parties"  // → N
	BarrierNWaiting BarrierOp = "nwaiting" // → N
	BarrierBroken   BarrierOp = "broken"   // → OK
)

// Operations of a value of a registered type.
type TypeOp string

// The operation of a registered type: calling a registered method.
const (
	TypeCall TypeOp = "call" // Name: method; Args: argument → Vals: result
)

// Operations of the manager itself (object 0).
type ManagerOp string

// The operations of the manager.
const (
	ManagerNew      ManagerOp = "new"      // Name: kind; Key: name; N, M, Args: the kind's → N: id
	ManagerShutdown ManagerOp = "shutdown" //
)

// Name is any operation type.
type Name interface {
	~string
	DictOp | NamespaceOp | ValueOp | ListOp | QueueOp | LockOp | RLockOp |
		SemaphoreOp | EventOp | ConditionOp | BarrierOp | TypeOp | ManagerOp
}

// Waits says when an operation may wait (and so runs in a goroutine of
// its own on the server, cancellable).
type Waits uint8

// When operations wait.
const (
	Never  Waits = iota
	IfFlag       // when the call's Flag is set (Lock vs TryLock)
	Always
)

// Row is one operation of the table.
type Row struct {
	Kind  Kind
	Op    string
	Waits Waits
	// Writes: the operation may change the object (the NATS backend
	// writes a List back only then).
	Writes bool
	// Grows: the operation changes a List's length (refused on an Array).
	Grows bool
}

func r[O Name](k Kind, op O, w Waits, writes bool) Row {
	return Row{Kind: k, Op: string(op), Waits: w, Writes: writes}
}

func grows(op ListOp) Row { return Row{Kind: KindList, Op: string(op), Writes: true, Grows: true} }

// Table is every operation of every kind. An Array's operations are the
// List's, less the rows that grow it.
var Table = []Row{
	r(KindDict, DictGet, Never, false),
	r(KindDict, DictSet, Never, true),
	r(KindDict, DictSetDefault, Never, true),
	r(KindDict, DictPop, Never, true),
	r(KindDict, DictPopItem, Never, true),
	r(KindDict, DictHas, Never, false),
	r(KindDict, DictLen, Never, false),
	r(KindDict, DictKeys, Never, false),
	r(KindDict, DictValues, Never, false),
	r(KindDict, DictItems, Never, false),
	r(KindDict, DictGetMany, Never, false),
	r(KindDict, DictClear, Never, true),
	r(KindDict, DictApply, Never, true),
	r(KindDict, DictCAS, Never, true),

	r(KindNamespace, NamespaceGet, Never, false),
	r(KindNamespace, NamespaceSet, Never, true),
	r(KindNamespace, NamespaceDel, Never, true),
	r(KindNamespace, NamespaceItems, Never, false),
	r(KindNamespace, NamespaceApply, Never, true),

	r(KindValue, ValueGet, Never, false),
	r(KindValue, ValueSet, Never, true),
	r(KindValue, ValueApply, Never, true),
	r(KindValue, ValueCAS, Never, true),

	grows(ListExtend),
	r(KindList, ListGet, Never, false),
	r(KindList, ListSet, Never, true),
	r(KindList, ListSetMany, Never, true),
	r(KindList, ListLen, Never, false),
	r(KindList, ListSlice, Never, false),
	grows(ListPop),
	grows(ListInsert),
	grows(ListRemove),
	r(KindList, ListIndex, Never, false),
	r(KindList, ListCount, Never, false),
	grows(ListClear),
	r(KindList, ListSort, Never, true),
	r(KindList, ListReverse, Never, true),
	r(KindList, ListApply, Never, true),

	r(KindQueue, QueuePut, IfFlag, true),
	r(KindQueue, QueueGet, IfFlag, true),
	r(KindQueue, QueueQsize, Never, false),
	r(KindQueue, QueueFull, Never, false),
	r(KindQueue, QueueTaskDone, Never, true),
	r(KindQueue, QueueJoin, Always, false),
	r(KindQueue, QueueClose, Never, true),

	r(KindLock, LockAcquire, IfFlag, true),
	r(KindLock, LockRelease, Never, true),
	r(KindLock, LockLocked, Never, false),

	r(KindRLock, RLockAcquire, IfFlag, true),
	r(KindRLock, RLockRelease, Never, true),

	r(KindSemaphore, SemaphoreAcquire, IfFlag, true),
	r(KindSemaphore, SemaphoreRelease, Never, true),
	r(KindSemaphore, SemaphoreValue, Never, false),

	r(KindEvent, EventSet, Never, true),
	r(KindEvent, EventClear, Never, true),
	r(KindEvent, EventIsSet, Never, false),
	r(KindEvent, EventWait, Always, false),

	r(KindCondition, ConditionWait, Always, true),
	r(KindCondition, ConditionNotify, Never, true),
	r(KindCondition, ConditionNotifyAll, Never, true),

	r(KindBarrier, BarrierWait, Always, true),
	r(KindBarrier, BarrierAbort, Never, true),
	r(KindBarrier, BarrierReset, Never, true),
	r(KindBarrier, BarrierParties, Never, false),
	r(KindBarrier, BarrierNWaiting, Never, false),
	r(KindBarrier, BarrierBroken, Never, false),

	// A registered method may wait (it runs with the call's context).
	r(Kind(KindTypePrefix), TypeCall, Always, true),

	r(KindManager, ManagerNew, Never, true),
	r(KindManager, ManagerShutdown, Never, true),
}

// family is the kind whose rows a kind uses: an Array's are the List's,
// a BoundedSemaphore's the Semaphore's, every registered type's the
// prefix's.
func family(k Kind) Kind {
	switch {
	case k == KindArray:
		return KindList
	case k == KindBounded:
		return KindSemaphore
	case len(k) > len(KindTypePrefix) && k[:len(KindTypePrefix)] == KindTypePrefix:
		return Kind(KindTypePrefix)
	}
	return k
}

type key struct {
	k  Kind
	op string
}

// index finds a row by kind and operation.
var index = func() map[key]Row {
	m := make(map[key]Row, len(Table))
	for _, row := range Table {
		if _, dup := m[key{row.Kind, row.Op}]; dup {
			panic("manager/internal/ops: two rows for " + string(row.Kind) + "." + row.Op)
		}
		m[key{row.Kind, row.Op}] = row
	}
	return m
}()

// Lookup returns the row of operation op on an object of kind k.
func Lookup(k Kind, op string) (Row, bool) {
	row, ok := index[key{family(k), op}]
	if ok && k == KindArray && row.Grows {
		return Row{}, false
	}
	return row, ok
}

// MayWait reports whether the call op, with its flag, may wait.
func MayWait(k Kind, op string, flag bool) bool {
	row, _ := Lookup(k, op)
	return row.Waits == Always || row.Waits == IfFlag && flag
}
