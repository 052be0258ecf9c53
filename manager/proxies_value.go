package manager

import (
	"context"
	"fmt"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// Namespace is a proxy of a namespace held by a manager's server
// (Python's Manager().Namespace()): attributes by name, each of any
// encodable type. Attr reads one typed.
type Namespace struct {
	_ mark[*Namespace]
	proxy
}

// Namespace makes an empty namespace on the server.
func (m *Manager) Namespace(ctx context.Context, opts ...ObjectOption) (*Namespace, error) {
	p, err := m.create(ctx, &wire.Call{Name: string(ops.KindNamespace)}, opts)
	if err != nil {
		return nil, err
	}
	return &Namespace{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (n *Namespace) encodeHandle() ([]byte, error) { return n.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (n *Namespace) decodeHandle(b []byte) error { return n.unmarshal(b, string(ops.KindNamespace)) }

// Set sets the attribute name to v (Python's ns.name = v).
func (n *Namespace) Set(ctx context.Context, name string, v any) error {
	b, err := encode1(v)
	if err != nil {
		return err
	}
	_, err = n.do(ctx, &wire.Call{Op: string(ops.NamespaceSet), Key: name, Args: [][]byte{b}})
	return err
}

// Get decodes the attribute name into out (a pointer); a missing
// attribute is an error wrapping ErrNotFound (Python's AttributeError).
func (n *Namespace) Get(ctx context.Context, name string, out any) error {
	rep, err := n.do(ctx, &wire.Call{Op: string(ops.NamespaceGet), Key: name})
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
	rep, err := n.do(ctx, &wire.Call{Op: string(ops.NamespaceDel), Key: name})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// Names returns the attributes' names, in the order they were first set.
func (n *Namespace) Names(ctx context.Context) ([]string, error) {
	rep, err := n.do(ctx, &wire.Call{Op: string(ops.NamespaceItems)})
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
	rep, err := ns.do(ctx, &wire.Call{Op: string(ops.NamespaceApply), Key: name, Name: op.name, Args: [][]byte{a}})
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
	p, err := m.create(ctx, &wire.Call{Name: string(ops.KindValue), Args: [][]byte{b}}, opts)
	if err != nil {
		return nil, err
	}
	return &Value[T]{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (v *Value[T]) encodeHandle() ([]byte, error) { return v.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (v *Value[T]) decodeHandle(b []byte) error { return v.unmarshal(b, string(ops.KindValue)) }

// Get returns the value.
func (v *Value[T]) Get(ctx context.Context) (T, error) {
	rep, err := v.do(ctx, &wire.Call{Op: string(ops.ValueGet)})
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
	_, err = v.do(ctx, &wire.Call{Op: string(ops.ValueSet), Args: [][]byte{b}})
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
	rep, err := v.do(ctx, &wire.Call{Op: string(ops.ValueApply), Name: op.name, Args: [][]byte{a}})
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
	rep, err := v.do(ctx, &wire.Call{Op: string(ops.ValueCAS), Args: args})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}
