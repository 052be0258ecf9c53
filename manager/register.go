package manager

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/registered"
)

// Update is a read-modify-write function that the server runs on a value
// it holds (Dict.Update, Value.Update, List.Update, Array.Update,
// Namespace.Update), atomically: no other call on the object runs
// meanwhile. Only functions registered with NewUpdate run: the call
// carries the function's name and its argument, never code.
type Update[V, A any] struct{ name string }

// NewUpdate registers fn under name. Call it at package level, so that
// the server's process (this program, started again) registers it too.
// fn gets the old value (the zero value and found=false for a missing
// Dict key or Namespace attribute) and the call's argument, and returns
// the new value. NewUpdate panics if name is taken.
func NewUpdate[V, A any](name string, fn func(old V, found bool, arg A) (V, error)) Update[V, A] {
	if name == "" || fn == nil {
		panic("manager: NewUpdate needs a name and a function")
	}
	f := registered.UpdateFunc(func(_ context.Context, old []byte, found bool, arg []byte) ([]byte, error) {
		var o V
		if found {
			var err error
			if o, err = decode[V](old); err != nil {
				return nil, err
			}
		}
		a, err := decode[A](arg)
		if err != nil {
			return nil, err
		}
		n, err := fn(o, found, a)
		if err != nil {
			return nil, err
		}
		return encode(n)
	})
	if !registered.AddUpdate(name, f) {
		panic("manager: NewUpdate called twice for " + name)
	}
	return Update[V, A]{name: name}
}

// With binds the update's argument: d.Update(ctx, key, add.With(5)).
func (u Update[V, A]) With(arg A) Op[V] { return Op[V]{name: u.name, arg: arg} }

// Op is an update function with its argument, ready to run on the server.
type Op[V any] struct {
	name string
	arg  any
}

func (o Op[V]) encode() ([]byte, error) {
	if o.name == "" {
		return nil, fmt.Errorf("%w: a zero Op (make one with NewUpdate(...).With or Add)", ErrBadRequest)
	}
	return encode(o.arg)
}

// Number is the constraint of Add: Go's integer and float types.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr | ~float32 | ~float64
}

// Add is the update that adds delta (a missing value counts as 0): a
// shared counter without a lock, d.Update(ctx, "hits", manager.Add(1)).
// Integers wrap around as Go's do.
func Add[V Number](delta V) Op[V] { return Op[V]{name: addName, arg: delta} }

const addName = "mp.add"

func init() {
	registered.AddUpdate(addName, registered.UpdateFunc(func(_ context.Context, old []byte, found bool, arg []byte) ([]byte, error) {
		var o, d any = uint64(0), nil
		if found {
			if err := wire.Unmarshal(old, &o); err != nil {
				return nil, fmt.Errorf("the value is not a number: %w", err)
			}
		}
		if err := wire.Unmarshal(arg, &d); err != nil {
			return nil, err
		}
		sum, err := addNumbers(o, d)
		if err != nil {
			return nil, err
		}
		return encode(sum)
	}))
}

// addNumbers adds two decoded CBOR numbers: integers as 64-bit integers
// (wrapping), anything with a float as float64.
func addNumbers(a, b any) (any, error) {
	fa, aFloat := a.(float64)
	fb, bFloat := b.(float64)
	if aFloat || bFloat {
		x, ok1 := toFloat(a, fa, aFloat)
		y, ok2 := toFloat(b, fb, bFloat)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("add: %T + %T is not a sum of numbers", a, b)
		}
		return x + y, nil
	}
	switch x := a.(type) {
	case uint64:
		switch y := b.(type) {
		case uint64:
			return x + y, nil
		case int64:
			if s := int64(x) + y; x <= math.MaxInt64 || s < 0 {
				return s, nil
			}
			return x + uint64(y), nil
		}
	case int64:
		switch y := b.(type) {
		case uint64:
			return x + int64(y), nil
		case int64:
			return x + y, nil
		}
	}
	return nil, fmt.Errorf("add: %T + %T is not a sum of numbers", a, b)
}

func toFloat(v any, f float64, isFloat bool) (float64, bool) {
	if isFloat {
		return f, true
	}
	switch x := v.(type) {
	case uint64:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// Type is a Go type whose values live in a manager's server, with the
// methods registered with NewMethod (Python's BaseManager.register). Make
// one with Register at package level.
type Type[T any] struct{ info *registered.Type }

// Register registers the type T under name, with the function that makes
// a new value of it on the server. Call it at package level, so that the
// server's process (this program, started again) registers it too.
// Register panics if name is taken.
func Register[T any](name string, newValue func() *T) *Type[T] {
	if name == "" || newValue == nil {
		panic("manager: Register needs a name and a constructor")
	}
	ti := &registered.Type{Name: name, Go: reflect.TypeFor[T](), New: func() any { return newValue() }}
	if !registered.AddType(ti) {
		panic("manager: Register called twice for " + name)
	}
	return &Type[T]{info: ti}
}

// New makes a value of the type on m's server and returns its proxy.
func (t *Type[T]) New(ctx context.Context, m *Manager, opts ...ObjectOption) (*Object[T], error) {
	p, err := m.create(ctx, &wire.Call{Name: ops.KindTypePrefix + t.info.Name}, opts)
	if err != nil {
		return nil, err
	}
	return &Object[T]{proxy: p}, nil
}

// Object is the proxy of a value of a registered type: call its methods
// with Method.Call. It is a handle: pass it to processes and tasks.
type Object[T any] struct {
	_ mark[*Object[T]]
	proxy
}

// encodeHandle encodes the handle.
func (o *Object[T]) encodeHandle() ([]byte, error) { return o.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (o *Object[T]) decodeHandle(b []byte) error {
	var h handle
	if err := wire.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("manager: malformed proxy: %w", err)
	}
	name, _ := strings.CutPrefix(h.Kind, ops.KindTypePrefix)
	ti, ok := registered.LookupType(name)
	if !ok || ti.Go != reflect.TypeFor[T]() {
		return fmt.Errorf("manager: a proxy of a %s where a %s was expected", h.Kind, reflect.TypeFor[T]())
	}
	return o.unmarshal(b, h.Kind)
}

// Method is a method of a registered type that proxies may call: the
// server runs fn on its value, one call at a time per value.
type Method[T, A, R any] struct {
	t    *Type[T]
	name string
}

// NewMethod registers fn as the method name of t. Call it at package
// level, next to Register.
func NewMethod[T, A, R any](t *Type[T], name string, fn func(ctx context.Context, v *T, arg A) (R, error)) Method[T, A, R] {
	if name == "" || fn == nil {
		panic("manager: NewMethod needs a name and a function")
	}
	f := registered.MethodFunc(func(ctx context.Context, v any, arg []byte) ([]byte, error) {
		a, err := decode[A](arg)
		if err != nil {
			return nil, err
		}
		r, err := fn(ctx, v.(*T), a)
		if err != nil {
			return nil, err
		}
		return encode(r)
	})
	if !t.info.AddMethod(name, f) {
		panic("manager: NewMethod called twice for " + t.info.Name + "." + name)
	}
	return Method[T, A, R]{t: t, name: name}
}

// Call calls the method on the value o stands for, on the server.
func (m Method[T, A, R]) Call(ctx context.Context, o *Object[T], arg A) (R, error) {
	var r R
	b, err := encode(arg)
	if err != nil {
		return r, err
	}
	rep, err := o.do(ctx, &wire.Call{Op: string(ops.TypeCall), Name: m.name, Args: [][]byte{b}})
	if err != nil {
		return r, err
	}
	if len(rep.Vals) != 1 {
		return r, fmt.Errorf("%w: a method's reply without its result", ErrBadRequest)
	}
	return decode[R](rep.Vals[0])
}
