package manager

import (
	"context"
	"fmt"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
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
	p, err := m.create(ctx, &wire.Call{Name: string(ops.KindDict)}, opts)
	if err != nil {
		return nil, err
	}
	return &Dict[K, V]{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (d *Dict[K, V]) encodeHandle() ([]byte, error) { return d.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (d *Dict[K, V]) decodeHandle(b []byte) error { return d.unmarshal(b, string(ops.KindDict)) }

// Get returns the value of key, and whether it is there.
func (d *Dict[K, V]) Get(ctx context.Context, key K) (V, bool, error) {
	var zero V
	k, err := encode1(key)
	if err != nil {
		return zero, false, err
	}
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictGet), Args: [][]byte{k}})
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
	_, err = d.do(ctx, &wire.Call{Op: string(ops.DictSet), Args: args})
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
	_, err := d.do(ctx, &wire.Call{Op: string(ops.DictSet), Args: vs.slices()})
	return err
}

// SetDefault returns the value of key, setting it to v first if key is
// missing (Python's setdefault); loaded reports whether it was there.
func (d *Dict[K, V]) SetDefault(ctx context.Context, key K, v V) (actual V, loaded bool, err error) {
	args, err := encode2(key, v)
	if err != nil {
		return actual, false, err
	}
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictSetDefault), Args: args})
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
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictGetMany), Args: args})
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
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictPop), Args: [][]byte{k}})
	if err != nil || !rep.OK {
		return zero, false, err
	}
	v, err := one[V](rep)
	return v, err == nil, err
}

// PopItem removes and returns the pair inserted last (Python's popitem);
// ok is false when the dict is empty.
func (d *Dict[K, V]) PopItem(ctx context.Context) (key K, v V, ok bool, err error) {
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictPopItem)})
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
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictHas), Args: [][]byte{k}})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// Len returns the number of keys.
func (d *Dict[K, V]) Len(ctx context.Context) (int, error) {
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictLen)})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Keys returns the keys in insertion order.
func (d *Dict[K, V]) Keys(ctx context.Context) ([]K, error) {
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictKeys)})
	if err != nil {
		return nil, err
	}
	return decodeAll[K](rep.Vals)
}

// Values returns the values in insertion order.
func (d *Dict[K, V]) Values(ctx context.Context) ([]V, error) {
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictValues)})
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
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictItems)})
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
	_, err := d.do(ctx, &wire.Call{Op: string(ops.DictClear)})
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
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictApply), Name: op.name, Args: [][]byte{k, a}})
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
	rep, err := d.do(ctx, &wire.Call{Op: string(ops.DictCAS), Args: args})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}
