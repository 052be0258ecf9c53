package manager

import (
	"context"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// seq is what List and Array share.
type seq[T any] struct{ proxy }

// Get returns item i (negative: from the end, as in Python); out of range
// is an error wrapping ErrIndex.
func (s *seq[T]) Get(ctx context.Context, i int) (T, error) {
	rep, err := s.do(ctx, &wire.Call{Op: string(ops.ListGet), N: int64(i)})
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
	_, err = s.do(ctx, &wire.Call{Op: string(ops.ListSet), N: int64(i), Args: [][]byte{b}})
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
	_, err = s.do(ctx, &wire.Call{Op: string(ops.ListSetMany), N: int64(from), Args: args})
	return err
}

// Len returns the number of items.
func (s *seq[T]) Len(ctx context.Context) (int, error) {
	rep, err := s.do(ctx, &wire.Call{Op: string(ops.ListLen)})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Slice returns items lo to hi-1, in one round trip, with Python's slice
// rules (negative from the end, clamped to the length).
func (s *seq[T]) Slice(ctx context.Context, lo, hi int) ([]T, error) {
	return s.slice(ctx, &wire.Call{Op: string(ops.ListSlice), N: int64(lo), M: int64(hi)})
}

// All returns every item, in one round trip.
func (s *seq[T]) All(ctx context.Context) ([]T, error) {
	return s.slice(ctx, &wire.Call{Op: string(ops.ListSlice), Flag: true})
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
	rep, err := s.do(ctx, &wire.Call{Op: string(ops.ListApply), N: int64(i), Name: op.name, Args: [][]byte{a}})
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
	p, err := m.create(ctx, &wire.Call{Name: string(ops.KindList), Args: args}, opts)
	if err != nil {
		return nil, err
	}
	return &List[T]{seq: seq[T]{p}}, nil
}

// encodeHandle encodes the handle.
func (l *List[T]) encodeHandle() ([]byte, error) { return l.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (l *List[T]) decodeHandle(b []byte) error { return l.unmarshal(b, string(ops.KindList)) }

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
	rep, err := l.do(ctx, &wire.Call{Op: string(ops.ListExtend), Args: args})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Pop removes and returns item i (Python's pop(i); -1 is the last).
func (l *List[T]) Pop(ctx context.Context, i int) (T, error) {
	rep, err := l.do(ctx, &wire.Call{Op: string(ops.ListPop), N: int64(i)})
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
	_, err = l.do(ctx, &wire.Call{Op: string(ops.ListInsert), N: int64(i), Args: [][]byte{b}})
	return err
}

// Remove removes the first item equal to v (compared as encodings); none
// is an error wrapping ErrNotFound.
func (l *List[T]) Remove(ctx context.Context, v T) error {
	_, err := l.find(ctx, ops.ListRemove, v)
	return err
}

// Index returns the index of the first item equal to v; none is an error
// wrapping ErrNotFound.
func (l *List[T]) Index(ctx context.Context, v T) (int, error) { return l.find(ctx, ops.ListIndex, v) }

// Count returns how many items equal v.
func (l *List[T]) Count(ctx context.Context, v T) (int, error) { return l.find(ctx, ops.ListCount, v) }

func (l *List[T]) find(ctx context.Context, op ops.ListOp, v T) (int, error) {
	b, err := encode1(v)
	if err != nil {
		return 0, err
	}
	rep, err := l.do(ctx, &wire.Call{Op: string(op), Args: [][]byte{b}})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Clear removes every item.
func (l *List[T]) Clear(ctx context.Context) error {
	_, err := l.do(ctx, &wire.Call{Op: string(ops.ListClear)})
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
	p, err := m.create(ctx, &wire.Call{Name: string(ops.KindArray), N: int64(n), Args: [][]byte{b}}, opts)
	if err != nil {
		return nil, err
	}
	return &Array[T]{seq: seq[T]{p}}, nil
}

// encodeHandle encodes the handle.
func (a *Array[T]) encodeHandle() ([]byte, error) { return a.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (a *Array[T]) decodeHandle(b []byte) error { return a.unmarshal(b, string(ops.KindArray)) }
