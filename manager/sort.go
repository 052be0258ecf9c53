package manager

import (
	"cmp"
	"context"
	"fmt"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/registered"
)

// Order is how List.Sort orders a list's items on the server: Ascending
// or Descending for items of an ordered type (cmp.Ordered: integers,
// floats, strings), or an order registered with NewOrder. The zero Order
// is Ascending's, for the items that have a natural order.
type Order[T any] struct {
	name string
	desc bool
}

// Ascending is the natural order of T, as cmp.Compare gives it (NaNs
// first): l.Sort(ctx, manager.Ascending[int]()) is Python's l.sort().
func Ascending[T cmp.Ordered]() Order[T] { return Order[T]{name: registered.OrderNatural} }

// Descending is Ascending reversed: Python's l.sort(reverse=True).
func Descending[T cmp.Ordered]() Order[T] { return Order[T]{name: registered.OrderNatural, desc: true} }

// NewOrder registers compare as the order named name, for List.Sort
// (Python's l.sort(key=...): compare the keys of a and b). Call it at
// package level, so that the server's process (this program, started
// again) registers it too. compare returns a negative number when a
// comes before b, a positive one when after, 0 when they are equal
// (equal items keep their order: the sort is stable, as Python's).
// NewOrder panics if name is taken.
func NewOrder[T any](name string, compare func(a, b T) int) Order[T] {
	if name == "" || name == registered.OrderNatural || compare == nil {
		panic("manager: NewOrder needs a name (not " + registered.OrderNatural + ") and a function")
	}
	f := registered.OrderFunc(func(items [][]byte, desc bool) error {
		vals := make([]T, len(items))
		for i, b := range items {
			v, err := decode[T](b)
			if err != nil {
				return fmt.Errorf("%w: item %d: %w", ErrBadRequest, i, err)
			}
			vals[i] = v
		}
		registered.Permute(items, func(i, j int) int {
			if desc {
				return compare(vals[j], vals[i])
			}
			return compare(vals[i], vals[j])
		})
		return nil
	})
	if !registered.AddOrder(name, f) {
		panic("manager: NewOrder called twice for " + name)
	}
	return Order[T]{name: name}
}

// Reversed is the order o reversed (Python's reverse=True: each
// comparison reversed, so equal items still keep their order).
func (o Order[T]) Reversed() Order[T] { o.desc = !o.desc; return o }

// Sort sorts the list on the server, stably, in the order o (Python's
// l.sort(); Ascending[T]() for items of an ordered type, or an order
// registered with NewOrder). It is atomic: no other call sees the list
// half sorted.
func (l *List[T]) Sort(ctx context.Context, o Order[T]) error {
	name := o.name
	if name == "" {
		name = registered.OrderNatural
	}
	_, err := l.do(ctx, &wire.Call{Op: string(ops.ListSort), Name: name, Flag: o.desc})
	return err
}

// Reverse reverses the list on the server (Python's l.reverse()).
func (l *List[T]) Reverse(ctx context.Context) error {
	_, err := l.do(ctx, &wire.Call{Op: string(ops.ListReverse)})
	return err
}
