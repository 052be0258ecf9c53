package manager

import (
	"context"
	"fmt"

	"github.com/mp-go/mp/internal/wire"
)

// decodeAll decodes each value of a reply as a T.
func decodeAll[T any](bs [][]byte) ([]T, error) {
	out := make([]T, len(bs))
	for i, b := range bs {
		v, err := decode[T](b)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// one returns the single value of a reply.
func one[T any](rep *wire.Reply) (T, error) {
	if len(rep.Vals) != 1 {
		var zero T
		return zero, fmt.Errorf("%w: a reply with %d values where one was expected", ErrBadRequest, len(rep.Vals))
	}
	return decode[T](rep.Vals[0])
}

// Dict is a proxy of a dict held by a manager's server (Python's
// Manager().dict()): keys of type K and values of type V, in insertion
// order. Every method is one round trip; the batch methods (SetMany,
// GetMany, Items) and Update save round trips.
type Dict[K comparable, V any] struct {
	_ mark[*Dict[K, V]]
	proxy
}

// NewDict makes an empty dict on m's server (Python's m.dict()).
func NewDict[K comparable, V any](ctx context.Context, m *Manager, opts ...ObjectOption) (*Dict[K, V], error) {
	p, err := m.create(ctx, &wire.Call{Name: kindDict}, opts)
	if err != nil {
		return nil, err
	}
	return &Dict[K, V]{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (d *Dict[K, V]) encodeHandle() ([]byte, error) { return d.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (d *Dict[K, V]) decodeHandle(b []byte) error { return d.unmarshal(b, kindDict) }

// Get returns the value of key, and whether it is there.
func (d *Dict[K, V]) Get(ctx context.Context, key K) (V, bool, error) {
	var zero V
	k, err := encode1(key)
	if err != nil {
		return zero, false, err
	}
	rep, err := d.do(ctx, &wire.Call{Op: "get", Args: [][]byte{k}})
	if err != nil || !rep.OK {
		return zero, false, err
	}
	v, err := one[V](rep)
	return v, err == nil, err
}

// Set sets key to v (Python's d[key] = v).
func (d *Dict[K, V]) Set(ctx context.Context, key K, v V) error {
	args, err := encode2(key, v)
	if err != nil {
		return err
	}
	_, err = d.do(ctx, &wire.Call{Op: "set", Args: args})
	return err
}

// SetMany sets every key of items, in one round trip (Python's
// d.update(items)). It is atomic: no other call sees some set and not the
// others, even for a batch above the server's Limits.Items, which is sent
// in parts and applied at once.
func (d *Dict[K, V]) SetMany(ctx context.Context, items map[K]V) error {
	vs := values{ends: make([]int, 0, 2*len(items))}
	for k, v := range items {
		if err := addValue(&vs, k); err != nil {
			return err
		}
		if err := addValue(&vs, v); err != nil {
			return err
		}
	}
	_, err := d.do(ctx, &wire.Call{Op: "set", Args: vs.slices()})
	return err
}

// SetDefault returns the value of key, setting it to v first if key is
// missing (Python's setdefault); loaded reports whether it was there.
func (d *Dict[K, V]) SetDefault(ctx context.Context, key K, v V) (actual V, loaded bool, err error) {
	args, err := encode2(key, v)
	if err != nil {
		return actual, false, err
	}
	rep, err := d.do(ctx, &wire.Call{Op: "setdefault", Args: args})
	if err != nil {
		return actual, false, err
	}
	actual, err = one[V](rep)
	return actual, rep.OK, err
}

// GetMany returns the values of keys, in one round trip (several parts
// above the server's Limits.Items, read at once); found[i] says whether
// keys[i] is there.
func (d *Dict[K, V]) GetMany(ctx context.Context, keys []K) (vals []V, found []bool, err error) {
	args, err := encodeSlice(keys)
	if err != nil {
		return nil, nil, err
	}
	rep, err := d.do(ctx, &wire.Call{Op: "getmany", Args: args})
	if err != nil {
		return nil, nil, err
	}
	vals, found = make([]V, len(keys)), make([]bool, len(keys))
	for i, b := range rep.Vals {
		if i >= len(keys) || b == nil {
			continue
		}
		if vals[i], err = decode[V](b); err != nil {
			return nil, nil, err
		}
		found[i] = true
	}
	return vals, found, nil
}

// Delete removes key (Python's del d[key]) and reports whether it was
// there.
func (d *Dict[K, V]) Delete(ctx context.Context, key K) (bool, error) {
	_, ok, err := d.Pop(ctx, key)
	return ok, err
}

// Pop removes key and returns its value, if it was there.
func (d *Dict[K, V]) Pop(ctx context.Context, key K) (V, bool, error) {
	var zero V
	k, err := encode1(key)
	if err != nil {
		return zero, false, err
	}
	rep, err := d.do(ctx, &wire.Call{Op: "pop", Args: [][]byte{k}})
	if err != nil || !rep.OK {
		return zero, false, err
	}
	v, err := one[V](rep)
	return v, err == nil, err
}

// PopItem removes and returns the pair inserted last (Python's popitem);
// ok is false when the dict is empty.
func (d *Dict[K, V]) PopItem(ctx context.Context) (key K, v V, ok bool, err error) {
	rep, err := d.do(ctx, &wire.Call{Op: "popitem"})
	if err != nil || !rep.OK || len(rep.Vals) != 2 {
		return key, v, false, err
	}
	if key, err = decode[K](rep.Vals[0]); err != nil {
		return key, v, false, err
	}
	v, err = decode[V](rep.Vals[1])
	return key, v, err == nil, err
}

// Contains reports whether key is there (Python's key in d).
func (d *Dict[K, V]) Contains(ctx context.Context, key K) (bool, error) {
	k, err := encode1(key)
	if err != nil {
		return false, err
	}
	rep, err := d.do(ctx, &wire.Call{Op: "has", Args: [][]byte{k}})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// Len returns the number of keys.
func (d *Dict[K, V]) Len(ctx context.Context) (int, error) {
	rep, err := d.do(ctx, &wire.Call{Op: "len"})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Keys returns the keys in insertion order.
func (d *Dict[K, V]) Keys(ctx context.Context) ([]K, error) {
	rep, err := d.do(ctx, &wire.Call{Op: "keys"})
	if err != nil {
		return nil, err
	}
	return decodeAll[K](rep.Vals)
}

// Values returns the values in insertion order.
func (d *Dict[K, V]) Values(ctx context.Context) ([]V, error) {
	rep, err := d.do(ctx, &wire.Call{Op: "values"})
	if err != nil {
		return nil, err
	}
	return decodeAll[V](rep.Vals)
}

// Item is a key and its value.
type Item[K, V any] struct {
	Key   K
	Value V
}

// Items returns every pair in insertion order, in one round trip.
func (d *Dict[K, V]) Items(ctx context.Context) ([]Item[K, V], error) {
	rep, err := d.do(ctx, &wire.Call{Op: "items"})
	if err != nil {
		return nil, err
	}
	out := make([]Item[K, V], 0, len(rep.Vals)/2)
	for i := 0; i+1 < len(rep.Vals); i += 2 {
		k, err := decode[K](rep.Vals[i])
		if err != nil {
			return nil, err
		}
		v, err := decode[V](rep.Vals[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, Item[K, V]{k, v})
	}
	return out, nil
}

// Copy returns the dict as a Go map (Python's d.copy() or dict(d)).
func (d *Dict[K, V]) Copy(ctx context.Context) (map[K]V, error) {
	items, err := d.Items(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[K]V, len(items))
	for _, it := range items {
		m[it.Key] = it.Value
	}
	return m, nil
}

// Clear removes every key.
func (d *Dict[K, V]) Clear(ctx context.Context) error {
	_, err := d.do(ctx, &wire.Call{Op: "clear"})
	return err
}

// Update runs op on the value of key on the server, atomically, stores
// and returns the result: d.Update(ctx, "hits", manager.Add(1)) is a
// shared counter that needs no lock. A missing key runs op with the zero
// value and found=false.
func (d *Dict[K, V]) Update(ctx context.Context, key K, op Op[V]) (V, error) {
	var zero V
	k, err := encode1(key)
	if err != nil {
		return zero, err
	}
	a, err := op.encode()
	if err != nil {
		return zero, err
	}
	rep, err := d.do(ctx, &wire.Call{Op: "apply", Name: op.name, Args: [][]byte{k, a}})
	if err != nil {
		return zero, err
	}
	return one[V](rep)
}

// CompareAndSwap sets key to new if its value is old (compared as their
// encodings), and reports whether it did. A missing key never matches:
// use SetDefault to insert.
func (d *Dict[K, V]) CompareAndSwap(ctx context.Context, key K, old, new V) (bool, error) {
	args, err := encodeAll(key, old, new)
	if err != nil {
		return false, err
	}
	rep, err := d.do(ctx, &wire.Call{Op: "cas", Args: args})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// Namespace is a proxy of a namespace held by a manager's server
// (Python's Manager().Namespace()): attributes by name, each of any
// encodable type. Attr reads one typed.
type Namespace struct {
	_ mark[*Namespace]
	proxy
}

// Namespace makes an empty namespace on the server.
func (m *Manager) Namespace(ctx context.Context, opts ...ObjectOption) (*Namespace, error) {
	p, err := m.create(ctx, &wire.Call{Name: kindNamespace}, opts)
	if err != nil {
		return nil, err
	}
	return &Namespace{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (n *Namespace) encodeHandle() ([]byte, error) { return n.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (n *Namespace) decodeHandle(b []byte) error { return n.unmarshal(b, kindNamespace) }

// Set sets the attribute name to v (Python's ns.name = v).
func (n *Namespace) Set(ctx context.Context, name string, v any) error {
	b, err := encode1(v)
	if err != nil {
		return err
	}
	_, err = n.do(ctx, &wire.Call{Op: "set", Key: name, Args: [][]byte{b}})
	return err
}

// Get decodes the attribute name into out (a pointer); a missing
// attribute is an error wrapping ErrNotFound (Python's AttributeError).
func (n *Namespace) Get(ctx context.Context, name string, out any) error {
	rep, err := n.do(ctx, &wire.Call{Op: "get", Key: name})
	if err != nil {
		return err
	}
	if !rep.OK || len(rep.Vals) != 1 {
		return fmt.Errorf("%w: the Namespace has no attribute %q", ErrNotFound, name)
	}
	if err := wire.Unmarshal(rep.Vals[0], out); err != nil {
		return fmt.Errorf("manager: decoding attribute %q as %T: %w", name, out, err)
	}
	return nil
}

// Delete removes the attribute name, and reports whether it was there.
func (n *Namespace) Delete(ctx context.Context, name string) (bool, error) {
	rep, err := n.do(ctx, &wire.Call{Op: "del", Key: name})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// Names returns the attributes' names, in the order they were first set.
func (n *Namespace) Names(ctx context.Context) ([]string, error) {
	rep, err := n.do(ctx, &wire.Call{Op: "items"})
	if err != nil {
		return nil, err
	}
	var names []string
	for i := 0; i+1 < len(rep.Vals); i += 2 {
		names = append(names, string(rep.Vals[i]))
	}
	return names, nil
}

// Attr returns the attribute name of ns as a T.
func Attr[T any](ctx context.Context, ns *Namespace, name string) (T, error) {
	var v T
	err := ns.Get(ctx, name, &v)
	return v, err
}

// UpdateAttr runs op on the attribute name of ns on the server,
// atomically, stores and returns the result (a missing attribute runs op
// with the zero value and found=false).
func UpdateAttr[T any](ctx context.Context, ns *Namespace, name string, op Op[T]) (T, error) {
	var zero T
	a, err := op.encode()
	if err != nil {
		return zero, err
	}
	rep, err := ns.do(ctx, &wire.Call{Op: "apply", Key: name, Name: op.name, Args: [][]byte{a}})
	if err != nil {
		return zero, err
	}
	return one[T](rep)
}

// Value is a proxy of a single value held by a manager's server (Python's
// Manager().Value()).
type Value[T any] struct {
	_ mark[*Value[T]]
	proxy
}

// NewValue makes a value on m's server, set to v.
func NewValue[T any](ctx context.Context, m *Manager, v T, opts ...ObjectOption) (*Value[T], error) {
	b, err := encode1(v)
	if err != nil {
		return nil, err
	}
	p, err := m.create(ctx, &wire.Call{Name: kindValue, Args: [][]byte{b}}, opts)
	if err != nil {
		return nil, err
	}
	return &Value[T]{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (v *Value[T]) encodeHandle() ([]byte, error) { return v.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (v *Value[T]) decodeHandle(b []byte) error { return v.unmarshal(b, kindValue) }

// Get returns the value.
func (v *Value[T]) Get(ctx context.Context) (T, error) {
	rep, err := v.do(ctx, &wire.Call{Op: "get"})
	if err != nil {
		var zero T
		return zero, err
	}
	return one[T](rep)
}

// Set sets the value.
func (v *Value[T]) Set(ctx context.Context, x T) error {
	b, err := encode1(x)
	if err != nil {
		return err
	}
	_, err = v.do(ctx, &wire.Call{Op: "set", Args: [][]byte{b}})
	return err
}

// Update runs op on the value on the server, atomically, stores and
// returns the result: v.Update(ctx, manager.Add(1)) is a counter that
// needs no lock (Python's `with v.get_lock(): v.value += 1`).
func (v *Value[T]) Update(ctx context.Context, op Op[T]) (T, error) {
	var zero T
	a, err := op.encode()
	if err != nil {
		return zero, err
	}
	rep, err := v.do(ctx, &wire.Call{Op: "apply", Name: op.name, Args: [][]byte{a}})
	if err != nil {
		return zero, err
	}
	return one[T](rep)
}

// CompareAndSwap sets the value to new if it is old (compared as their
// encodings), and reports whether it did.
func (v *Value[T]) CompareAndSwap(ctx context.Context, old, new T) (bool, error) {
	args, err := encodeAll(old, new)
	if err != nil {
		return false, err
	}
	rep, err := v.do(ctx, &wire.Call{Op: "cas", Args: args})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// seq is what List and Array share.
type seq[T any] struct{ proxy }

// Get returns item i (negative: from the end, as in Python); out of range
// is an error wrapping ErrIndex.
func (s *seq[T]) Get(ctx context.Context, i int) (T, error) {
	rep, err := s.do(ctx, &wire.Call{Op: "get", N: int64(i)})
	if err != nil {
		var zero T
		return zero, err
	}
	return one[T](rep)
}

// Set sets item i (negative: from the end).
func (s *seq[T]) Set(ctx context.Context, i int, v T) error {
	b, err := encode1(v)
	if err != nil {
		return err
	}
	_, err = s.do(ctx, &wire.Call{Op: "set", N: int64(i), Args: [][]byte{b}})
	return err
}

// SetMany sets the items from index from on to vals, in one round trip
// (Python's a[from:from+len(vals)] = vals), atomically, even above the
// server's Limits.Items (sent in parts, applied at once).
func (s *seq[T]) SetMany(ctx context.Context, from int, vals []T) error {
	args, err := encodeSlice(vals)
	if err != nil {
		return err
	}
	_, err = s.do(ctx, &wire.Call{Op: "setmany", N: int64(from), Args: args})
	return err
}

// Len returns the number of items.
func (s *seq[T]) Len(ctx context.Context) (int, error) {
	rep, err := s.do(ctx, &wire.Call{Op: "len"})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Slice returns items lo to hi-1, in one round trip, with Python's slice
// rules (negative from the end, clamped to the length).
func (s *seq[T]) Slice(ctx context.Context, lo, hi int) ([]T, error) {
	return s.slice(ctx, &wire.Call{Op: "slice", N: int64(lo), M: int64(hi)})
}

// All returns every item, in one round trip.
func (s *seq[T]) All(ctx context.Context) ([]T, error) {
	return s.slice(ctx, &wire.Call{Op: "slice", Flag: true})
}

func (s *seq[T]) slice(ctx context.Context, call *wire.Call) ([]T, error) {
	rep, err := s.do(ctx, call)
	if err != nil {
		return nil, err
	}
	return decodeAll[T](rep.Vals)
}

// Update runs op on item i on the server, atomically, stores and returns
// the result.
func (s *seq[T]) Update(ctx context.Context, i int, op Op[T]) (T, error) {
	var zero T
	a, err := op.encode()
	if err != nil {
		return zero, err
	}
	rep, err := s.do(ctx, &wire.Call{Op: "apply", N: int64(i), Name: op.name, Args: [][]byte{a}})
	if err != nil {
		return zero, err
	}
	return one[T](rep)
}

// List is a proxy of a list held by a manager's server (Python's
// Manager().list()).
type List[T any] struct {
	_ mark[*List[T]]
	seq[T]
}

// NewList makes a list on m's server holding items (none if nil; any
// number: above the server's Limits.Items they are sent in parts, and
// the list appears with all of them).
func NewList[T any](ctx context.Context, m *Manager, items []T, opts ...ObjectOption) (*List[T], error) {
	args, err := encodeSlice(items)
	if err != nil {
		return nil, err
	}
	p, err := m.create(ctx, &wire.Call{Name: kindList, Args: args}, opts)
	if err != nil {
		return nil, err
	}
	return &List[T]{seq: seq[T]{p}}, nil
}

// encodeHandle encodes the handle.
func (l *List[T]) encodeHandle() ([]byte, error) { return l.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (l *List[T]) decodeHandle(b []byte) error { return l.unmarshal(b, kindList) }

// Append adds v at the end and returns the new length.
func (l *List[T]) Append(ctx context.Context, v T) (int, error) {
	return l.Extend(ctx, []T{v})
}

// Extend adds vals at the end, in one round trip, atomically (above the
// server's Limits.Items, sent in parts and added at once), and returns
// the new length (Python's extend).
func (l *List[T]) Extend(ctx context.Context, vals []T) (int, error) {
	args, err := encodeSlice(vals)
	if err != nil {
		return 0, err
	}
	rep, err := l.do(ctx, &wire.Call{Op: "extend", Args: args})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Pop removes and returns item i (Python's pop(i); -1 is the last).
func (l *List[T]) Pop(ctx context.Context, i int) (T, error) {
	rep, err := l.do(ctx, &wire.Call{Op: "pop", N: int64(i)})
	if err != nil {
		var zero T
		return zero, err
	}
	return one[T](rep)
}

// Insert inserts v before index i (clamped, as in Python).
func (l *List[T]) Insert(ctx context.Context, i int, v T) error {
	b, err := encode1(v)
	if err != nil {
		return err
	}
	_, err = l.do(ctx, &wire.Call{Op: "insert", N: int64(i), Args: [][]byte{b}})
	return err
}

// Remove removes the first item equal to v (compared as encodings); none
// is an error wrapping ErrNotFound.
func (l *List[T]) Remove(ctx context.Context, v T) error {
	_, err := l.find(ctx, "remove", v)
	return err
}

// Index returns the index of the first item equal to v; none is an error
// wrapping ErrNotFound.
func (l *List[T]) Index(ctx context.Context, v T) (int, error) { return l.find(ctx, "index", v) }

// Count returns how many items equal v.
func (l *List[T]) Count(ctx context.Context, v T) (int, error) { return l.find(ctx, "count", v) }

func (l *List[T]) find(ctx context.Context, op string, v T) (int, error) {
	b, err := encode1(v)
	if err != nil {
		return 0, err
	}
	rep, err := l.do(ctx, &wire.Call{Op: op, Args: [][]byte{b}})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Clear removes every item.
func (l *List[T]) Clear(ctx context.Context) error {
	_, err := l.do(ctx, &wire.Call{Op: "clear"})
	return err
}

// Array is a proxy of a fixed-length array held by a manager's server
// (Python's Manager().Array()). For large numeric arrays used often,
// mp.Array (shared memory, no round trips) is faster.
type Array[T any] struct {
	_ mark[*Array[T]]
	seq[T]
}

// NewArray makes an array of n zero values on m's server.
func NewArray[T any](ctx context.Context, m *Manager, n int, opts ...ObjectOption) (*Array[T], error) {
	var zero T
	b, err := encode(zero)
	if err != nil {
		return nil, err
	}
	p, err := m.create(ctx, &wire.Call{Name: kindArray, N: int64(n), Args: [][]byte{b}}, opts)
	if err != nil {
		return nil, err
	}
	return &Array[T]{seq: seq[T]{p}}, nil
}

// encodeHandle encodes the handle.
func (a *Array[T]) encodeHandle() ([]byte, error) { return a.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (a *Array[T]) decodeHandle(b []byte) error { return a.unmarshal(b, kindArray) }

// Queue is a proxy of a FIFO queue held by a manager's server (Python's
// Manager().Queue(), which is also joinable: TaskDone and Join).
type Queue[T any] struct {
	_ mark[*Queue[T]]
	proxy
}

// NewQueue makes a queue on m's server; maxsize > 0 bounds it.
func NewQueue[T any](ctx context.Context, m *Manager, maxsize int, opts ...ObjectOption) (*Queue[T], error) {
	p, err := m.create(ctx, &wire.Call{Name: kindQueue, N: int64(maxsize)}, opts)
	if err != nil {
		return nil, err
	}
	return &Queue[T]{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (q *Queue[T]) encodeHandle() ([]byte, error) { return q.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (q *Queue[T]) decodeHandle(b []byte) error { return q.unmarshal(b, kindQueue) }

// Put adds v, waiting for room in a bounded queue until ctx ends.
func (q *Queue[T]) Put(ctx context.Context, v T) error { return q.put(ctx, []T{v}, true) }

// PutNowait adds v, or returns an error wrapping mp.ErrFull.
func (q *Queue[T]) PutNowait(ctx context.Context, v T) error { return q.put(ctx, []T{v}, false) }

// PutMany adds vals in order, in one round trip (above the server's
// Limits.Items, sent in parts first), waiting for room as Put does.
func (q *Queue[T]) PutMany(ctx context.Context, vals []T) error { return q.put(ctx, vals, true) }

func (q *Queue[T]) put(ctx context.Context, vals []T, wait bool) error {
	args, err := encodeSlice(vals)
	if err != nil {
		return err
	}
	rep, err := q.do(ctx, &wire.Call{Op: "put", Args: args, Flag: wait})
	if err == nil && int(rep.N) < len(vals) {
		err = fmt.Errorf("manager: %d of %d items put: %w", rep.N, len(vals), ctx.Err())
	}
	return err
}

// Get removes and returns the first item, waiting for one until ctx ends.
// A closed, drained queue returns an error wrapping mp.ErrQueueClosed.
func (q *Queue[T]) Get(ctx context.Context) (T, error) { return q.get1(ctx, true) }

// GetNowait removes and returns the first item, or returns an error
// wrapping mp.ErrEmpty.
func (q *Queue[T]) GetNowait(ctx context.Context) (T, error) { return q.get1(ctx, false) }

func (q *Queue[T]) get1(ctx context.Context, wait bool) (T, error) {
	rep, err := q.do(ctx, &wire.Call{Op: "get", N: 1, Flag: wait})
	if err != nil {
		var zero T
		return zero, err
	}
	return one[T](rep)
}

// GetMany removes and returns up to max items, in one round trip, waiting
// until there is at least one.
func (q *Queue[T]) GetMany(ctx context.Context, max int) ([]T, error) {
	rep, err := q.do(ctx, &wire.Call{Op: "get", N: int64(max), Flag: true})
	if err != nil {
		return nil, err
	}
	return decodeAll[T](rep.Vals)
}

// Qsize returns the number of items in the queue.
func (q *Queue[T]) Qsize(ctx context.Context) (int, error) {
	rep, err := q.do(ctx, &wire.Call{Op: "qsize"})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Empty reports whether the queue is empty.
func (q *Queue[T]) Empty(ctx context.Context) (bool, error) {
	n, err := q.Qsize(ctx)
	return n == 0, err
}

// Full reports whether a bounded queue is full.
func (q *Queue[T]) Full(ctx context.Context) (bool, error) {
	rep, err := q.do(ctx, &wire.Call{Op: "full"})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// TaskDone says that an item got from the queue has been processed
// (Python's task_done); more calls than items put is an error.
func (q *Queue[T]) TaskDone(ctx context.Context) error {
	_, err := q.do(ctx, &wire.Call{Op: "taskdone", N: 1})
	return err
}

// Join waits until every item put has been marked done with TaskDone.
func (q *Queue[T]) Join(ctx context.Context) error {
	_, err := q.do(ctx, &wire.Call{Op: "join"})
	return err
}

// Close closes the queue for every process: Put then fails with
// mp.ErrQueueClosed, and Get does once the queue is drained (Python
// 3.13's shutdown()).
func (q *Queue[T]) Close(ctx context.Context) error {
	_, err := q.do(ctx, &wire.Call{Op: "close"})
	return err
}
