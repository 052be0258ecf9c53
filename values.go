package mp

import (
	"context"
	"errors"
	"sync/atomic"
	"unsafe"

	"github.com/mp-go/mp/internal/wire"
)

// Value is one value of a plain type in shared memory with its own Lock
// (Python's multiprocessing.Value with lock=True). Get, Set and Update
// take the lock; integer values also have lock-free Add and
// CompareAndSwap (Python has neither). Pass it to processes and tasks as
// an argument.
type Value[T any] struct {
	_ handle[*Value[T]]
	l *Lock
	v *RawValue[T]
}

// NewValue makes a shared value holding v.
func NewValue[T any](v T) (*Value[T], error) {
	l, raw, err := withLock(NewRawValue(v))
	if err != nil {
		return nil, err
	}
	return &Value[T]{l: l, v: raw}, nil
}

// Get returns the value, read under the lock.
func (v *Value[T]) Get(ctx context.Context) (T, error) {
	var x T
	err := v.Update(ctx, func(p *T) { x = *p })
	return x, err
}

// Set stores x under the lock.
func (v *Value[T]) Set(ctx context.Context, x T) error {
	return v.Update(ctx, func(p *T) { *p = x })
}

// Update runs f on the value with the lock held: a read-modify-write that
// no other process interleaves (Python's `with v.get_lock(): v.value += 1`).
// If the lock's last holder died holding it, f still runs and the error
// wraps ErrOwnerDead.
func (v *Value[T]) Update(ctx context.Context, f func(*T)) error {
	return underLock(ctx, v.l, func() { f(v.v.Ptr()) })
}

// underLock runs f with l held. A dead last holder does not stop f; its
// ErrOwnerDead is returned.
func underLock(ctx context.Context, l *Lock, f func()) error {
	err := l.Lock(ctx)
	if err != nil && !errors.Is(err, ErrOwnerDead) {
		return err
	}
	defer l.Unlock()
	f()
	return err
}

// withLock pairs a new Lock with raw, a new shared object, for Value and
// Array; raw is unlinked if the lock cannot be made.
func withLock[R interface{ Unlink() error }](raw R, err error) (*Lock, R, error) {
	if err != nil {
		return nil, raw, err
	}
	l, err := NewLock()
	if err != nil {
		raw.Unlink()
	}
	return l, raw, err
}

// GetLock returns the value's lock (Python's get_lock()).
func (v *Value[T]) GetLock() *Lock { return v.l }

// Ptr returns the value's address in shared memory, for code that holds
// the lock or uses sync/atomic.
func (v *Value[T]) Ptr() *T { return v.v.Ptr() }

// Close unmaps the value in this process (see SharedMemory.Close).
func (v *Value[T]) Close() error {
	v.l.Close()
	return v.v.Close()
}

// Unlink removes the value's segments (see SharedMemory.Unlink).
func (v *Value[T]) Unlink() error {
	v.l.Unlink()
	return v.v.Unlink()
}

var errBadHandle = errors.New("mp: malformed shared memory handle")

type lockedHandle[T any] struct {
	L *Lock `cbor:"1,keyasint"`
	V T     `cbor:"2,keyasint"`
}

// encodeHandle encodes the handle: the lock's and the value's names.
func (v *Value[T]) encodeHandle() ([]byte, error) {
	return wire.Marshal(lockedHandle[*RawValue[T]]{v.l, v.v})
}

// decodeHandle maps the value and lock named in b.
func (v *Value[T]) decodeHandle(b []byte) error {
	var h lockedHandle[*RawValue[T]]
	if err := wire.Unmarshal(b, &h); err != nil {
		return err
	}
	if h.L == nil || h.V == nil || h.L.h == nil || h.V.a.m == nil {
		return errBadHandle
	}
	v.l, v.v = h.L, h.V
	return nil
}

// Integer is the integer types that Add and CompareAndSwap take.
type Integer interface {
	~int32 | ~int64 | ~uint32 | ~uint64
}

// Add adds delta to an integer Value atomically, without its lock, and
// returns the new value. Do not mix it with Update (or Get/Set) on the
// same value: Update's read-modify-write under the lock does not see an
// Add made meanwhile without it.
func Add[T Integer](v *Value[T], delta T) T {
	p := unsafe.Pointer(v.Ptr())
	if unsafe.Sizeof(delta) == 4 { // two's complement: the same bits for signed and unsigned
		return T(atomic.AddInt32((*int32)(p), int32(delta)))
	}
	return T(atomic.AddInt64((*int64)(p), int64(delta)))
}

// CompareAndSwap stores new in an integer Value if it holds old, atomically
// and without its lock, and reports whether it did.
func CompareAndSwap[T Integer](v *Value[T], old, new T) bool {
	p := unsafe.Pointer(v.Ptr())
	if unsafe.Sizeof(old) == 4 {
		return atomic.CompareAndSwapInt32((*int32)(p), int32(old), int32(new))
	}
	return atomic.CompareAndSwapInt64((*int64)(p), int64(old), int64(new))
}

// Array is an array of plain values in shared memory with its own Lock
// (Python's multiprocessing.Array with lock=True).
type Array[T any] struct {
	_ handle[*Array[T]]
	l *Lock
	a *RawArray[T]
}

// NewArray makes a shared array of n zero values.
func NewArray[T any](n int) (*Array[T], error) {
	l, raw, err := withLock(NewRawArray[T](n))
	if err != nil {
		return nil, err
	}
	return &Array[T]{l: l, a: raw}, nil
}

// NewArrayFrom makes a shared array holding a copy of values (Python's
// Array(typecode, sequence), e.g. Array('i', [1, 2, 3])).
func NewArrayFrom[T any](values []T) (*Array[T], error) {
	a, err := NewArray[T](len(values))
	if err != nil {
		return nil, err
	}
	copy(a.Slice(), values)
	return a, nil
}

// Update runs f on the elements with the lock held (see Value.Update).
func (a *Array[T]) Update(ctx context.Context, f func([]T)) error {
	return underLock(ctx, a.l, func() { f(a.a.Slice()) })
}

// Slice returns the elements in shared memory, for code that holds the
// lock or needs none (disjoint parts written by different processes).
func (a *Array[T]) Slice() []T { return a.a.Slice() }

// Len returns the number of elements.
func (a *Array[T]) Len() int { return a.a.Len() }

// GetLock returns the array's lock (Python's get_lock()).
func (a *Array[T]) GetLock() *Lock { return a.l }

// Close unmaps the array in this process (see SharedMemory.Close).
func (a *Array[T]) Close() error {
	a.l.Close()
	return a.a.Close()
}

// Unlink removes the array's segments (see SharedMemory.Unlink).
func (a *Array[T]) Unlink() error {
	a.l.Unlink()
	return a.a.Unlink()
}

// encodeHandle encodes the handle: the lock's and the array's names.
func (a *Array[T]) encodeHandle() ([]byte, error) {
	return wire.Marshal(lockedHandle[*RawArray[T]]{a.l, a.a})
}

// decodeHandle maps the array and lock named in b.
func (a *Array[T]) decodeHandle(b []byte) error {
	var h lockedHandle[*RawArray[T]]
	if err := wire.Unmarshal(b, &h); err != nil {
		return err
	}
	if h.L == nil || h.V == nil || h.L.h == nil || h.V.m == nil {
		return errBadHandle
	}
	a.l, a.a = h.L, h.V
	return nil
}
