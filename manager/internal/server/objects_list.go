package server

import (
	"bytes"
	"context"
	"slices"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/registered"
)

// listObj is a List, or an Array (fixed: its length never changes).
type listObj struct {
	base
	items [][]byte
	fixed bool
}

func (l *listObj) kind() string {
	if l.fixed {
		return string(ops.KindArray)
	}
	return string(ops.KindList)
}

// index resolves a Python index (negative: from the end).
func (l *listObj) index(i int64) (int, error) {
	n := int64(len(l.items))
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return 0, ops.Errorf(ops.CodeIndex, "manager: %s index %d out of range (length %d)", l.kind(), i, n)
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

func (l *listObj) call(ctx context.Context, _ *conn, call *wire.Call, rep *wire.Reply) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := call.Args
	if l.fixed {
		switch ops.ListOp(call.Op) {
		case "append", "extend", "pop", "insert", "remove", "clear":
			return ops.Errorf(ops.CodeUnknownOp, "manager: an Array's length is fixed: no %s", call.Op)
		}
	}
	switch ops.ListOp(call.Op) {
	case ops.ListExtend:
		l.items = append(l.items, a...)
		rep.N = int64(len(l.items))
	case ops.ListGet:
		i, err := l.index(call.N)
		if err != nil {
			return err
		}
		rep.Vals = [][]byte{l.items[i]}
	case ops.ListSet:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		i, err := l.index(call.N)
		if err != nil {
			return err
		}
		l.items[i] = a[0]
	case ops.ListSetMany:
		lo, hi := l.bounds(call.N, call.N+int64(len(a)), false)
		if hi-lo != len(a) {
			return ops.Errorf(ops.CodeIndex, "manager: setting %d items from index %d of a %s of length %d", len(a), call.N, l.kind(), len(l.items))
		}
		copy(l.items[lo:], a)
	case ops.ListLen:
		rep.N = int64(len(l.items))
	case ops.ListSlice:
		lo, hi := l.bounds(call.N, call.M, call.Flag)
		rep.Vals = slices.Clone(l.items[lo:hi])
	case ops.ListPop:
		i, err := l.index(call.N)
		if err != nil {
			return err
		}
		rep.Vals = [][]byte{l.items[i]}
		l.items = slices.Delete(l.items, i, i+1)
	case ops.ListInsert:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		i, _ := l.bounds(call.N, 0, true) // Python clamps insert's index
		l.items = slices.Insert(l.items, i, a[0])
	case ops.ListRemove, ops.ListIndex:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		i := slices.IndexFunc(l.items, func(b []byte) bool { return bytes.Equal(b, a[0]) })
		if i < 0 {
			return ops.Errorf(ops.CodeNoKey, "manager: %s.%s(x): x not in list", l.kind(), call.Op)
		}
		if ops.ListOp(call.Op) == ops.ListRemove {
			l.items = slices.Delete(l.items, i, i+1)
		}
		rep.N = int64(i)
	case ops.ListCount:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		for _, b := range l.items {
			if bytes.Equal(b, a[0]) {
				rep.N++
			}
		}
	case ops.ListClear:
		l.items = nil
	case ops.ListSort, ops.ListReverse:
		return l.reorder(call)
	case ops.ListApply:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		i, err := l.index(call.N)
		if err != nil {
			return err
		}
		nv, err := registered.Apply(ctx, call.Name, l.items[i], true, a[0])
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

// reorder runs "sort" and "reverse" on a list; l.mu is held.
func (l *listObj) reorder(call *wire.Call) error {
	if ops.ListOp(call.Op) == ops.ListReverse {
		slices.Reverse(l.items)
		return nil
	}
	sorted := slices.Clone(l.items) // the list changes only if it all goes well
	if err := registered.Sort(sorted, call.Name, call.Flag); err != nil {
		return err
	}
	l.items = sorted
	return nil
}

// ListCall runs a List operation (an Array's, if fixed) on items as the
// server's List does, and returns the items after it: the NATS backend
// runs it on the entry it read, then writes the items back.
func ListCall(ctx context.Context, items [][]byte, fixed bool, call *wire.Call, rep *wire.Reply) ([][]byte, error) {
	l := &listObj{items: items, fixed: fixed}
	if err := l.call(ctx, nil, call, rep); err != nil {
		return nil, err
	}
	return l.items, nil
}
