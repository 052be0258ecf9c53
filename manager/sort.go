package manager

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// Order is how List.Sort orders a list's items on the server: Ascending
// or Descending for items of an ordered type (cmp.Ordered: integers,
// floats, strings), or an order registered with NewOrder. The zero Order
// is Ascending's, for the items that have a natural order.
type Order[T any] struct {
	name string
	desc bool
}

// orderNatural names the built-in order of integers, floats and strings.
const orderNatural = "natural"

// Ascending is the natural order of T, as cmp.Compare gives it (NaNs
// first): l.Sort(ctx, manager.Ascending[int]()) is Python's l.sort().
func Ascending[T cmp.Ordered]() Order[T] { return Order[T]{name: orderNatural} }

// Descending is Ascending reversed: Python's l.sort(reverse=True).
func Descending[T cmp.Ordered]() Order[T] { return Order[T]{name: orderNatural, desc: true} }

// NewOrder registers compare as the order named name, for List.Sort
// (Python's l.sort(key=...): compare the keys of a and b). Call it at
// package level, so that the server's process (this program, started
// again) registers it too. compare returns a negative number when a
// comes before b, a positive one when after, 0 when they are equal
// (equal items keep their order: the sort is stable, as Python's).
// NewOrder panics if name is taken.
func NewOrder[T any](name string, compare func(a, b T) int) Order[T] {
	if name == "" || name == orderNatural || compare == nil {
		panic("manager: NewOrder needs a name (not " + orderNatural + ") and a function")
	}
	f := orderFunc(func(items [][]byte, desc bool) error {
		vals := make([]T, len(items))
		for i, b := range items {
			v, err := decode[T](b)
			if err != nil {
				return fmt.Errorf("%w: item %d: %w", ErrBadRequest, i, err)
			}
			vals[i] = v
		}
		permute(items, func(i, j int) int {
			if desc {
				return compare(vals[j], vals[i])
			}
			return compare(vals[i], vals[j])
		})
		return nil
	})
	if _, dup := orders.LoadOrStore(name, f); dup {
		panic("manager: NewOrder called twice for " + name)
	}
	return Order[T]{name: name}
}

// Reversed is the order o reversed (Python's reverse=True: each
// comparison reversed, so equal items still keep their order).
func (o Order[T]) Reversed() Order[T] { o.desc = !o.desc; return o }

// orderFunc sorts encoded items, stably, in place.
type orderFunc func(items [][]byte, desc bool) error

// orders holds the orders registered with NewOrder, by name.
var orders sync.Map

// Sort sorts the list on the server, stably, in the order o (Python's
// l.sort(); Ascending[T]() for items of an ordered type, or an order
// registered with NewOrder). It is atomic: no other call sees the list
// half sorted.
func (l *List[T]) Sort(ctx context.Context, o Order[T]) error {
	name := o.name
	if name == "" {
		name = orderNatural
	}
	_, err := l.do(ctx, &wire.Call{Op: string(ops.ListSort), Name: name, Flag: o.desc})
	return err
}

// Reverse reverses the list on the server (Python's l.reverse()).
func (l *List[T]) Reverse(ctx context.Context) error {
	_, err := l.do(ctx, &wire.Call{Op: string(ops.ListReverse)})
	return err
}

// reorder runs "sort" and "reverse" on a list; l.mu is held.
func (l *listObj) reorder(call *wire.Call) error {
	if ops.ListOp(call.Op) == ops.ListReverse {
		slices.Reverse(l.items)
		return nil
	}
	sorted := slices.Clone(l.items) // the list changes only if it all goes well
	if call.Name == orderNatural {
		if err := sortNatural(sorted, call.Flag); err != nil {
			return err
		}
	} else {
		f, ok := orders.Load(call.Name)
		if !ok {
			return errf(codeUnknownOp, "manager: no order %q: register it with manager.NewOrder at package level, so that the server's process has it too", call.Name)
		}
		if err := f.(orderFunc)(sorted, call.Flag); err != nil {
			return errf(codeBadArgs, "manager: sorting with order %q: %v", call.Name, err)
		}
	}
	l.items = sorted
	return nil
}

// permute sorts items stably by compare, which compares the items at
// indices i and j of the original order.
func permute(items [][]byte, compare func(i, j int) int) {
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, compare)
	orig := slices.Clone(items)
	for k, i := range idx {
		items[k] = orig[i]
	}
}

// sortNatural sorts items in their natural order: numbers by value,
// strings by their bytes (cmp.Compare's order); anything else, or a mix
// of numbers and strings, is an error.
func sortNatural(items [][]byte, desc bool) error {
	keys := make([]any, len(items))
	for i, b := range items {
		var v any
		if err := wire.Unmarshal(b, &v); err != nil {
			return errf(codeBadArgs, "manager: sorting: item %d is malformed: %v", i, err)
		}
		switch v.(type) {
		case int64, uint64, float64, float32, string:
		default:
			return errf(codeBadArgs, "manager: sorting: item %d is a %T, which has no natural order (sort items of a cmp.Ordered type, or register an order with manager.NewOrder)", i, v)
		}
		keys[i] = v
	}
	var bad error
	permute(items, func(i, j int) int {
		c, err := compareNatural(keys[i], keys[j])
		if err != nil && bad == nil {
			bad = errf(codeBadArgs, "manager: sorting: items %d and %d: %v", i, j, err)
		}
		if desc {
			return -c
		}
		return c
	})
	return bad
}

// compareNatural compares two decoded items of an ordered type.
func compareNatural(a, b any) (int, error) {
	if s, ok := a.(string); ok {
		t, ok := b.(string)
		if !ok {
			return 0, fmt.Errorf("a string and a %T cannot be compared", b)
		}
		return cmp.Compare(s, t), nil
	}
	if _, ok := b.(string); ok {
		return 0, fmt.Errorf("a %T and a string cannot be compared", a)
	}
	// Integers exactly, whatever their sign; floats as floats.
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp.Compare(x, y), nil
		case uint64:
			if x < 0 {
				return -1, nil
			}
			return cmp.Compare(uint64(x), y), nil
		}
	case uint64:
		switch y := b.(type) {
		case uint64:
			return cmp.Compare(x, y), nil
		case int64:
			if y < 0 {
				return 1, nil
			}
			return cmp.Compare(x, uint64(y)), nil
		}
	}
	return cmp.Compare(naturalFloat(a), naturalFloat(b)), nil
}

func naturalFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}
