package manager

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/mp-go/mp/internal/registry"
	"github.com/mp-go/mp/internal/wire"
)

// object is a shared object held by the server. Values inside it are kept
// as the clients encoded them: the server decodes them only to run an
// update function or a registered type's method.
type object interface {
	kind() string
	// waits reports whether the call may wait (and so runs in its own
	// goroutine, cancellable).
	waits(call *wire.Call) bool
	call(ctx context.Context, c *sconn, call *wire.Call, rep *wire.Reply) error
}

// The kinds of objects, as "new" calls name them.
const (
	kindDict      = "dict"
	kindList      = "list"
	kindArray     = "array"
	kindNamespace = "namespace"
	kindValue     = "value"
	kindQueue     = "queue"
	kindLock      = "lock"
	kindRLock     = "rlock"
	kindSemaphore = "semaphore"
	kindBounded   = "bounded-semaphore"
	kindEvent     = "event"
	kindCondition = "condition"
	kindBarrier   = "barrier"
	kindTypePfx   = "type:"
)

func newObject(s *server, call *wire.Call) (object, error) {
	switch call.Name {
	case kindDict:
		return &dictObj{m: newOmap()}, nil
	case kindNamespace:
		return &namespaceObj{m: newOmap()}, nil
	case kindList:
		return &listObj{items: slices.Clone(call.Args)}, nil
	case kindArray:
		if call.N < 0 || call.N > wire.MaxElements || len(call.Args) != 1 {
			return nil, errf(codeBadArgs, "manager: an Array of %d items", call.N)
		}
		items := make([][]byte, call.N)
		for i := range items {
			items[i] = call.Args[0]
		}
		return &listObj{items: items, fixed: true}, nil
	case kindValue:
		if len(call.Args) != 1 {
			return nil, errf(codeBadArgs, "manager: a Value needs its initial value")
		}
		return &valueObj{v: call.Args[0]}, nil
	case kindQueue:
		if call.N < 0 {
			return nil, errf(codeBadArgs, "manager: a Queue of maxsize %d", call.N)
		}
		return &queueObj{max: int(call.N)}, nil
	case kindLock:
		return &lockObj{}, nil
	case kindRLock:
		return &rlockObj{}, nil
	case kindSemaphore, kindBounded:
		if call.N < 0 {
			return nil, errf(codeBadArgs, "manager: a semaphore's value must not be negative, not %d", call.N)
		}
		return &semObj{value: int(call.N), initial: int(call.N), bounded: call.Name == kindBounded}, nil
	case kindEvent:
		return &eventObj{}, nil
	case kindCondition:
		l, ok := s.object(uint64(call.M)).(*lockObj)
		if !ok {
			return nil, errf(codeBadArgs, "manager: a Condition's lock must be a Lock of the same manager")
		}
		return &condObj{lock: l}, nil
	case kindBarrier:
		if call.N < 1 || call.N >= 1<<31 {
			return nil, errf(codeBadArgs, "manager: a Barrier for %d parties", call.N)
		}
		b := &barrierObj{parties: int(call.N)}
		if len(call.Args) == 1 {
			b.action = string(call.Args[0])
		}
		return b, nil
	}
	if name, ok := strings.CutPrefix(call.Name, kindTypePfx); ok {
		t, ok := types.Load(name)
		if !ok {
			return nil, errf(codeUnknownType, "manager: no type %q is registered in the server's program (manager.Register at package level?)", name)
		}
		ti := t.(*typeInfo)
		return &customObj{t: ti, v: ti.make()}, nil
	}
	return nil, errf(codeUnknownType, "manager: no kind of object %q", call.Name)
}

// base is what every object has: a mutex, and a channel closed (and
// renewed) when the object changes, for the calls that wait on it.
type base struct {
	mu sync.Mutex
	ch chan struct{}
}

// changed wakes the calls waiting on the object; mu is held.
func (b *base) changed() {
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// await returns once try returns true, or with ctx's error; mu is held on
// entry and on return. try is called with mu held; it may change the
// object (take an item, a lock).
func (b *base) await(ctx context.Context, try func() bool) error {
	for !try() {
		if b.ch == nil {
			b.ch = make(chan struct{})
		}
		ch := b.ch
		b.mu.Unlock()
		select {
		case <-ch:
			b.mu.Lock()
		case <-ctx.Done():
			b.mu.Lock()
			if try() {
				return nil
			}
			return ctx.Err()
		}
	}
	return nil
}

func wantArgs(call *wire.Call, n int) error {
	if len(call.Args) < n {
		return errf(codeBadArgs, "manager: %s needs %d values, got %d", call.Op, n, len(call.Args))
	}
	return nil
}

func unknownOp(o object, op string) error {
	return errf(codeUnknownOp, "manager: a %s has no operation %q", o.kind(), op)
}

// omap is a map of encoded keys to encoded values that keeps the order of
// insertion, as Python's dict does.
type omap struct {
	idx  map[string]int
	ents []omapEntry
	dead int
}

type omapEntry struct {
	k    string
	v    []byte
	live bool
}

func newOmap() omap { return omap{idx: make(map[string]int)} }

func (m *omap) get(k []byte) ([]byte, bool) {
	i, ok := m.idx[string(k)]
	if !ok {
		return nil, false
	}
	return m.ents[i].v, true
}

func (m *omap) set(k, v []byte) {
	if i, ok := m.idx[string(k)]; ok {
		m.ents[i].v = v
		return
	}
	m.idx[string(k)] = len(m.ents)
	m.ents = append(m.ents, omapEntry{string(k), v, true})
}

func (m *omap) del(k []byte) ([]byte, bool) {
	i, ok := m.idx[string(k)]
	if !ok {
		return nil, false
	}
	v := m.ents[i].v
	delete(m.idx, string(k))
	m.ents[i] = omapEntry{}
	m.dead++
	if m.dead > 32 && m.dead > len(m.ents)/2 {
		live := m.ents[:0]
		for _, e := range m.ents {
			if e.live {
				m.idx[e.k] = len(live)
				live = append(live, e)
			}
		}
		clear(m.ents[len(live):])
		m.ents, m.dead = live, 0
	}
	return v, true
}

func (m *omap) len() int { return len(m.idx) }

func (m *omap) clear() { *m = newOmap() }

// items appends keys (if k) and values (if v) in order.
func (m *omap) items(dst [][]byte, k, v bool) [][]byte {
	for _, e := range m.ents {
		if !e.live {
			continue
		}
		if k {
			dst = append(dst, []byte(e.k))
		}
		if v {
			dst = append(dst, e.v)
		}
	}
	return dst
}

// last returns the entry inserted last.
func (m *omap) last() (k string, v []byte, ok bool) {
	for i := len(m.ents) - 1; i >= 0; i-- {
		if m.ents[i].live {
			return m.ents[i].k, m.ents[i].v, true
		}
	}
	return "", nil, false
}

// applyUpdate runs the registered update function call.Name on old.
func applyUpdate(ctx context.Context, name string, old []byte, found bool, arg []byte) ([]byte, error) {
	u, ok := updates.Load(name)
	if !ok {
		return nil, errf(codeUnknownOp, "manager: no update function %q is registered in the server's program", name)
	}
	nv, err := u.(updateFunc)(ctx, old, found, arg)
	if err != nil {
		return nil, errf(codeRemote, "manager: update %s: %v", name, err)
	}
	return nv, nil
}

// dictObj is a Dict.
type dictObj struct {
	base
	m omap
}

func (*dictObj) kind() string          { return kindDict }
func (*dictObj) waits(*wire.Call) bool { return false }

func (d *dictObj) call(ctx context.Context, _ *sconn, call *wire.Call, rep *wire.Reply) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := call.Args
	switch call.Op {
	case "get":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		if v, ok := d.m.get(a[0]); ok {
			rep.Vals, rep.OK = [][]byte{v}, true
		}
	case "set":
		if len(a)%2 != 0 {
			return errf(codeBadArgs, "manager: set needs keys and values in pairs")
		}
		for i := 0; i < len(a); i += 2 {
			d.m.set(a[i], a[i+1])
		}
	case "setdefault":
		if err := wantArgs(call, 2); err != nil {
			return err
		}
		v, ok := d.m.get(a[0])
		if !ok {
			d.m.set(a[0], a[1])
			v = a[1]
		}
		rep.Vals, rep.OK = [][]byte{v}, ok
	case "pop":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		if v, ok := d.m.del(a[0]); ok {
			rep.Vals, rep.OK = [][]byte{v}, true
		}
	case "popitem":
		if k, v, ok := d.m.last(); ok {
			d.m.del([]byte(k))
			rep.Vals, rep.OK = [][]byte{[]byte(k), v}, true
		}
	case "has":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		_, rep.OK = d.m.get(a[0])
	case "len":
		rep.N = int64(d.m.len())
	case "keys":
		rep.Vals = d.m.items(nil, true, false)
	case "values":
		rep.Vals = d.m.items(nil, false, true)
	case "items":
		rep.Vals = d.m.items(nil, true, true)
	case "getmany":
		rep.Vals = make([][]byte, len(a))
		for i, k := range a {
			rep.Vals[i], _ = d.m.get(k) // nil where missing
		}
	case "clear":
		d.m.clear()
	case "apply":
		if err := wantArgs(call, 2); err != nil {
			return err
		}
		old, found := d.m.get(a[0])
		nv, err := applyUpdate(ctx, call.Name, old, found, a[1])
		if err != nil {
			return err
		}
		d.m.set(a[0], nv)
		rep.Vals = [][]byte{nv}
	case "cas":
		if err := wantArgs(call, 3); err != nil {
			return err
		}
		if old, ok := d.m.get(a[0]); ok && bytes.Equal(old, a[1]) {
			d.m.set(a[0], a[2])
			rep.OK = true
		}
	default:
		return unknownOp(d, call.Op)
	}
	return nil
}

// namespaceObj is a Namespace: attributes by name.
type namespaceObj struct {
	base
	m omap
}

func (*namespaceObj) kind() string          { return kindNamespace }
func (*namespaceObj) waits(*wire.Call) bool { return false }

func (n *namespaceObj) call(ctx context.Context, _ *sconn, call *wire.Call, rep *wire.Reply) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	name := []byte(call.Key)
	switch call.Op {
	case "get":
		if v, ok := n.m.get(name); ok {
			rep.Vals, rep.OK = [][]byte{v}, true
		}
	case "set":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		n.m.set(name, call.Args[0])
	case "del":
		_, rep.OK = n.m.del(name)
	case "items":
		rep.Vals = n.m.items(nil, true, true)
	case "apply":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		old, found := n.m.get(name)
		nv, err := applyUpdate(ctx, call.Name, old, found, call.Args[0])
		if err != nil {
			return err
		}
		n.m.set(name, nv)
		rep.Vals = [][]byte{nv}
	default:
		return unknownOp(n, call.Op)
	}
	return nil
}

// valueObj is a Value.
type valueObj struct {
	base
	v []byte
}

func (*valueObj) kind() string          { return kindValue }
func (*valueObj) waits(*wire.Call) bool { return false }

func (v *valueObj) call(ctx context.Context, _ *sconn, call *wire.Call, rep *wire.Reply) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch call.Op {
	case "get":
		rep.Vals = [][]byte{v.v}
	case "set":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		v.v = call.Args[0]
	case "apply":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		nv, err := applyUpdate(ctx, call.Name, v.v, true, call.Args[0])
		if err != nil {
			return err
		}
		v.v = nv
		rep.Vals = [][]byte{nv}
	case "cas":
		if err := wantArgs(call, 2); err != nil {
			return err
		}
		if bytes.Equal(v.v, call.Args[0]) {
			v.v, rep.OK = call.Args[1], true
		}
	default:
		return unknownOp(v, call.Op)
	}
	return nil
}

// listObj is a List, or an Array (fixed: its length never changes).
type listObj struct {
	base
	items [][]byte
	fixed bool
}

func (l *listObj) kind() string {
	if l.fixed {
		return kindArray
	}
	return kindList
}

func (*listObj) waits(*wire.Call) bool { return false }

// index resolves a Python index (negative: from the end).
func (l *listObj) index(i int64) (int, error) {
	n := int64(len(l.items))
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return 0, errf(codeIndex, "manager: %s index %d out of range (length %d)", l.kind(), i, n)
	}
	return int(i), nil
}

// bounds resolves a Python slice [lo:hi] (clamped, negative from the end).
func (l *listObj) bounds(lo, hi int64, toEnd bool) (int, int) {
	n := int64(len(l.items))
	fix := func(i int64) int64 {
		if i < 0 {
			i += n
		}
		return max(0, min(i, n))
	}
	lo = fix(lo)
	if toEnd {
		hi = n
	}
	hi = fix(hi)
	return int(lo), int(max(lo, hi))
}

func (l *listObj) call(ctx context.Context, _ *sconn, call *wire.Call, rep *wire.Reply) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := call.Args
	if l.fixed {
		switch call.Op {
		case "append", "extend", "pop", "insert", "remove", "clear":
			return errf(codeUnknownOp, "manager: an Array's length is fixed: no %s", call.Op)
		}
	}
	switch call.Op {
	case "append", "extend":
		l.items = append(l.items, a...)
		rep.N = int64(len(l.items))
	case "get":
		i, err := l.index(call.N)
		if err != nil {
			return err
		}
		rep.Vals = [][]byte{l.items[i]}
	case "set":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		i, err := l.index(call.N)
		if err != nil {
			return err
		}
		l.items[i] = a[0]
	case "setmany":
		lo, hi := l.bounds(call.N, call.N+int64(len(a)), false)
		if hi-lo != len(a) {
			return errf(codeIndex, "manager: setting %d items from index %d of a %s of length %d", len(a), call.N, l.kind(), len(l.items))
		}
		copy(l.items[lo:], a)
	case "len":
		rep.N = int64(len(l.items))
	case "slice":
		lo, hi := l.bounds(call.N, call.M, call.Flag)
		rep.Vals = slices.Clone(l.items[lo:hi])
	case "pop":
		i, err := l.index(call.N)
		if err != nil {
			return err
		}
		rep.Vals = [][]byte{l.items[i]}
		l.items = slices.Delete(l.items, i, i+1)
	case "insert":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		i, _ := l.bounds(call.N, 0, true) // Python clamps insert's index
		l.items = slices.Insert(l.items, i, a[0])
	case "remove", "index":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		i := slices.IndexFunc(l.items, func(b []byte) bool { return bytes.Equal(b, a[0]) })
		if i < 0 {
			return errf(codeNoKey, "manager: %s.%s(x): x not in list", l.kind(), call.Op)
		}
		if call.Op == "remove" {
			l.items = slices.Delete(l.items, i, i+1)
		}
		rep.N = int64(i)
	case "count":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		for _, b := range l.items {
			if bytes.Equal(b, a[0]) {
				rep.N++
			}
		}
	case "clear":
		l.items = nil
	case "sort", "reverse":
		return l.reorder(call)
	case "apply":
		if err := wantArgs(call, 1); err != nil {
			return err
		}
		i, err := l.index(call.N)
		if err != nil {
			return err
		}
		nv, err := applyUpdate(ctx, call.Name, l.items[i], true, a[0])
		if err != nil {
			return err
		}
		l.items[i] = nv
		rep.Vals = [][]byte{nv}
	default:
		return unknownOp(l, call.Op)
	}
	return nil
}

// queueObj is a Queue: FIFO, bounded when max > 0, joinable.
type queueObj struct {
	base
	items      [][]byte
	head       int
	max        int
	unfinished int
	closed     bool
}

func (*queueObj) kind() string { return kindQueue }

func (*queueObj) waits(call *wire.Call) bool {
	return call.Flag && (call.Op == "put" || call.Op == "get") || call.Op == "join"
}

func (q *queueObj) len() int { return len(q.items) - q.head }

func (q *queueObj) call(ctx context.Context, _ *sconn, call *wire.Call, rep *wire.Reply) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch call.Op {
	case "put":
		for i, v := range call.Args {
			room := func() bool { return q.closed || q.max <= 0 || q.len() < q.max }
			if !call.Flag && !room() {
				if i == 0 {
					return errf(codeFull, "manager: queue full")
				}
				break
			}
			if err := q.await(ctx, room); err != nil {
				if i > 0 {
					break // report what went in
				}
				return err
			}
			if q.closed {
				return errf(codeClosed, "manager: queue closed")
			}
			q.items = append(q.items, v)
			q.unfinished++
			rep.N++
			q.changed()
		}
	case "get":
		avail := func() bool { return q.len() > 0 || q.closed }
		if call.Flag {
			if err := q.await(ctx, avail); err != nil {
				return err
			}
		}
		if q.len() == 0 {
			if q.closed {
				return errf(codeClosed, "manager: queue closed")
			}
			return errf(codeEmpty, "manager: queue empty")
		}
		n := int(max(1, min(call.N, int64(q.len()))))
		rep.Vals = slices.Clone(q.items[q.head : q.head+n])
		clear(q.items[q.head : q.head+n])
		q.head += n
		if q.head > 1024 && q.head > len(q.items)/2 {
			q.items = slices.Clone(q.items[q.head:])
			q.head = 0
		}
		q.changed()
	case "qsize":
		rep.N = int64(q.len())
	case "full":
		rep.OK = q.max > 0 && q.len() >= q.max
	case "taskdone":
		n := int(max(1, call.N))
		if n > q.unfinished {
			return errf(codeBadArgs, "manager: task_done called more times than items were put")
		}
		q.unfinished -= n
		q.changed()
	case "join":
		return q.await(ctx, func() bool { return q.unfinished == 0 })
	case "close":
		q.closed = true
		q.changed()
	default:
		return unknownOp(q, call.Op)
	}
	return nil
}

// lockObj is a Lock. Its holder is the connection (the process) that took
// it; any connection may release it, as in Python.
type lockObj struct {
	base
	locked bool
	holder *sconn
	dead   bool // its holder's connection ended while it held the lock
}

func (*lockObj) kind() string { return kindLock }

func (*lockObj) waits(call *wire.Call) bool { return call.Op == "acquire" && call.Flag }

func (l *lockObj) call(ctx context.Context, c *sconn, call *wire.Call, rep *wire.Reply) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch call.Op {
	case "acquire":
		return l.acquire(ctx, c, call.Flag, rep)
	case "release":
		return l.release()
	case "locked":
		rep.OK = l.locked
	default:
		return unknownOp(l, call.Op)
	}
	return nil
}

// acquire takes the lock for c; mu is held.
func (l *lockObj) acquire(ctx context.Context, c *sconn, wait bool, rep *wire.Reply) error {
	try := func() bool {
		if l.locked {
			return false
		}
		l.locked, l.holder = true, c
		return true
	}
	if !wait {
		if !try() {
			return nil
		}
	} else if err := l.await(ctx, try); err != nil {
		return err
	}
	rep.OK = true
	c.hold(l)
	if l.dead {
		l.dead = false
		return errf(codeOwnerDead, "manager: the Lock's holder ended holding it")
	}
	return nil
}

// release frees the lock; mu is held.
func (l *lockObj) release() error {
	if !l.locked {
		return errf(codeNotOwner, "manager: release of an unlocked Lock")
	}
	if l.holder != nil {
		l.holder.drop(l)
	}
	l.locked, l.holder = false, nil
	l.changed()
	return nil
}

func (l *lockObj) ownerGone(c *sconn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locked && l.holder == c {
		l.locked, l.holder, l.dead = false, nil, true
		l.changed()
	}
}

// hold records that c holds l, to free it if c ends first.
func (c *sconn) hold(l heldLock) {
	c.mu.Lock()
	c.held = append(c.held, l)
	c.mu.Unlock()
}

func (c *sconn) drop(l heldLock) {
	c.mu.Lock()
	if i := slices.Index(c.held, l); i >= 0 {
		c.held = slices.Delete(c.held, i, i+1)
	}
	c.mu.Unlock()
}

// rlockObj is an RLock: its owner is a hold (a random number the client
// keeps in a context) on one connection.
type rlockObj struct {
	base
	owner uint64
	conn  *sconn
	depth int
	dead  bool
}

func (*rlockObj) kind() string { return kindRLock }

func (*rlockObj) waits(call *wire.Call) bool { return call.Op == "acquire" && call.Flag }

func (l *rlockObj) call(ctx context.Context, c *sconn, call *wire.Call, rep *wire.Reply) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	hold := uint64(call.N)
	switch call.Op {
	case "acquire":
		if hold == 0 {
			return errf(codeBadArgs, "manager: an RLock hold of 0")
		}
		try := func() bool {
			switch {
			case l.depth == 0:
				l.owner, l.conn, l.depth = hold, c, 1
				c.hold(l)
			case l.owner == hold && l.conn == c:
				l.depth++
			default:
				return false
			}
			return true
		}
		if !call.Flag {
			if !try() {
				return nil
			}
		} else if err := l.await(ctx, try); err != nil {
			return err
		}
		rep.OK, rep.N = true, int64(l.depth)
		if l.dead {
			l.dead = false
			return errf(codeOwnerDead, "manager: the RLock's holder ended holding it")
		}
	case "release":
		if l.depth == 0 || l.owner != hold || l.conn != c {
			return errf(codeNotOwner, "manager: release of an RLock not held by this context")
		}
		l.depth--
		if l.depth == 0 {
			c.drop(l)
			l.owner, l.conn = 0, nil
			l.changed()
		}
		rep.N = int64(l.depth)
	default:
		return unknownOp(l, call.Op)
	}
	return nil
}

func (l *rlockObj) ownerGone(c *sconn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.depth > 0 && l.conn == c {
		l.owner, l.conn, l.depth, l.dead = 0, nil, 0, true
		l.changed()
	}
}

// semObj is a Semaphore or BoundedSemaphore.
type semObj struct {
	base
	value, initial int
	bounded        bool
}

func (s *semObj) kind() string {
	if s.bounded {
		return kindBounded
	}
	return kindSemaphore
}

func (*semObj) waits(call *wire.Call) bool { return call.Op == "acquire" && call.Flag }

func (s *semObj) call(ctx context.Context, _ *sconn, call *wire.Call, rep *wire.Reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch call.Op {
	case "acquire":
		try := func() bool {
			if s.value == 0 {
				return false
			}
			s.value--
			return true
		}
		if !call.Flag {
			rep.OK = try()
			return nil
		}
		if err := s.await(ctx, try); err != nil {
			return err
		}
		rep.OK = true
	case "release":
		n := int(max(1, call.N))
		if s.bounded && s.value+n > s.initial {
			return errf(codeBadArgs, "manager: BoundedSemaphore released too many times")
		}
		s.value += n
		s.changed()
	case "value":
		rep.N = int64(s.value)
	default:
		return unknownOp(s, call.Op)
	}
	return nil
}

// eventObj is an Event.
type eventObj struct {
	base
	set bool
}

func (*eventObj) kind() string { return kindEvent }

func (*eventObj) waits(call *wire.Call) bool { return call.Op == "wait" }

func (e *eventObj) call(ctx context.Context, _ *sconn, call *wire.Call, rep *wire.Reply) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch call.Op {
	case "set":
		e.set = true
		e.changed()
	case "clear":
		e.set = false
	case "isset":
		rep.OK = e.set
	case "wait":
		if err := e.await(ctx, func() bool { return e.set }); err != nil {
			return err
		}
		rep.OK = true
	default:
		return unknownOp(e, call.Op)
	}
	return nil
}

// condObj is a Condition on a Lock of the same server.
type condObj struct {
	base
	lock    *lockObj
	waiters []*condWaiter
}

type condWaiter struct {
	ch       chan struct{}
	notified bool
}

func (*condObj) kind() string { return kindCondition }

func (*condObj) waits(call *wire.Call) bool { return call.Op == "wait" }

// holds reports whether c holds the condition's lock.
func (cd *condObj) holds(c *sconn) bool {
	cd.lock.mu.Lock()
	defer cd.lock.mu.Unlock()
	return cd.lock.locked && cd.lock.holder == c
}

func (cd *condObj) call(ctx context.Context, c *sconn, call *wire.Call, rep *wire.Reply) error {
	switch call.Op {
	case "wait":
		if !cd.holds(c) {
			return errf(codeNotOwner, "manager: Condition.Wait without its lock")
		}
		w := &condWaiter{ch: make(chan struct{})}
		cd.mu.Lock()
		cd.waiters = append(cd.waiters, w)
		cd.mu.Unlock()
		cd.lock.mu.Lock()
		cd.lock.release()
		cd.lock.mu.Unlock()
		var werr error
		select {
		case <-w.ch:
		case <-ctx.Done():
			cd.mu.Lock()
			if !w.notified {
				cd.waiters = slices.DeleteFunc(cd.waiters, func(x *condWaiter) bool { return x == w })
				werr = ctx.Err()
			}
			cd.mu.Unlock()
		}
		// Take the lock again, whatever happened, as Python does; only the
		// end of the connection stops this.
		cd.lock.mu.Lock()
		err := cd.lock.acquire(c.ctx, c, true, &wire.Reply{})
		cd.lock.mu.Unlock()
		if err != nil && werr == nil {
			werr = err
		}
		rep.OK = werr == nil
		return werr
	case "notify", "notifyall":
		if !cd.holds(c) {
			return errf(codeNotOwner, "manager: Condition.%s without its lock", call.Op)
		}
		n := int(call.N)
		if call.Op == "notifyall" {
			n = 1 << 30
		}
		cd.mu.Lock()
		n = min(n, len(cd.waiters))
		for _, w := range cd.waiters[:n] {
			w.notified = true
			close(w.ch)
		}
		cd.waiters = slices.Delete(cd.waiters, 0, n)
		cd.mu.Unlock()
		rep.N = int64(n)
	default:
		return unknownOp(cd, call.Op)
	}
	return nil
}

// barrierObj is a Barrier; its action, if any, is a function registered
// with mp.Register, run by the server when the last party arrives.
type barrierObj struct {
	base
	parties, count int
	gen, released  uint64
	broken         bool
	action         string
}

func (*barrierObj) kind() string { return kindBarrier }

func (*barrierObj) waits(call *wire.Call) bool { return call.Op == "wait" }

func (b *barrierObj) breakLocked() {
	b.broken = true
	b.count = 0
	b.gen++
	b.changed()
}

func (b *barrierObj) call(ctx context.Context, _ *sconn, call *wire.Call, rep *wire.Reply) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	broken := func() error { return errf(codeBroken, "manager: broken barrier") }
	switch call.Op {
	case "wait":
		if b.broken {
			return broken()
		}
		gen := b.gen
		rep.N = int64(b.count)
		b.count++
		if b.count == b.parties {
			if err := b.runAction(ctx); err != nil {
				b.breakLocked()
				return errf(codeBroken, "manager: broken barrier: its action: %v", err)
			}
			b.count = 0
			b.gen++
			b.released = b.gen
			b.changed()
			return nil
		}
		err := b.await(ctx, func() bool { return b.gen != gen })
		if err != nil {
			if b.gen == gen {
				b.breakLocked() // a party gave up: the others must not wait forever
			}
			return err
		}
		if b.released != gen+1 {
			return broken()
		}
	case "abort":
		b.breakLocked()
	case "reset":
		if b.count > 0 {
			b.gen++ // the parties waiting now see it broken
		}
		b.count, b.broken = 0, false
		b.changed()
	case "parties":
		rep.N = int64(b.parties)
	case "nwaiting":
		rep.N = int64(b.count)
	case "broken":
		rep.OK = b.broken
	default:
		return unknownOp(b, call.Op)
	}
	return nil
}

func (b *barrierObj) runAction(ctx context.Context) (err error) {
	if b.action == "" {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	arg, _ := wire.Marshal(struct{}{})
	_, ok, err := registry.Call(ctx, b.action, arg)
	if !ok {
		return fmt.Errorf("no function %q is registered in the server's program", b.action)
	}
	return err
}

// customObj is a value of a type registered with Register; calls to its
// methods are serialised.
type customObj struct {
	base
	t *typeInfo
	v any
}

func (o *customObj) kind() string { return kindTypePfx + o.t.name }

func (*customObj) waits(*wire.Call) bool { return true }

func (o *customObj) call(ctx context.Context, _ *sconn, call *wire.Call, rep *wire.Reply) error {
	if call.Op != "call" {
		return unknownOp(o, call.Op)
	}
	m, ok := o.t.methods.Load(call.Name)
	if !ok {
		var names []string
		o.t.methods.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
		sort.Strings(names)
		return errf(codeUnknownOp, "manager: type %s has no registered method %q (registered: %s)", o.t.name, call.Name, strings.Join(names, ", "))
	}
	if err := wantArgs(call, 1); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := m.(methodFunc)(ctx, o.v, call.Args[0])
	if err != nil {
		return err
	}
	rep.Vals = [][]byte{r}
	return nil
}
