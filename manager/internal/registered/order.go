package registered

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// OrderNatural names the built-in order of integers, floats and strings
// (manager.Ascending, manager.Descending).
const OrderNatural = "natural"

// OrderFunc sorts encoded items, stably, in place (reversed if desc).
type OrderFunc func(items [][]byte, desc bool) error

// orders holds the orders registered with manager.NewOrder, by name.
var orders sync.Map

// AddOrder registers f as the order name; false means that the name is
// taken.
func AddOrder(name string, f OrderFunc) bool {
	_, dup := orders.LoadOrStore(name, f)
	return !dup
}

// Sort sorts items in place, stably, in the order name (OrderNatural or a
// registered one), reversed if desc; its failures are *ops.Error, and may
// leave items in part sorted (sort a copy).
func Sort(items [][]byte, name string, desc bool) error {
	if name == OrderNatural {
		return sortNatural(items, desc)
	}
	f, ok := orders.Load(name)
	if !ok {
		return ops.Errorf(ops.CodeUnknownOp, "manager: no order %q: register it with manager.NewOrder at package level, so that the server's process has it too", name)
	}
	if err := f.(OrderFunc)(items, desc); err != nil {
		return ops.Errorf(ops.CodeBadArgs, "manager: sorting with order %q: %v", name, err)
	}
	return nil
}

// Permute sorts items stably by compare, which compares the items at
// indices i and j of the original order.
func Permute(items [][]byte, compare func(i, j int) int) {
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
			return ops.Errorf(ops.CodeBadArgs, "manager: sorting: item %d is malformed: %v", i, err)
		}
		switch v.(type) {
		case int64, uint64, float64, float32, string:
		default:
			return ops.Errorf(ops.CodeBadArgs, "manager: sorting: item %d is a %T, which has no natural order (sort items of a cmp.Ordered type, or register an order with manager.NewOrder)", i, v)
		}
		keys[i] = v
	}
	var bad error
	Permute(items, func(i, j int) int {
		c, err := compareNatural(keys[i], keys[j])
		if err != nil && bad == nil {
			bad = ops.Errorf(ops.CodeBadArgs, "manager: sorting: items %d and %d: %v", i, j, err)
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
