package server

import (
	"bytes"
	"context"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/registered"
)

// The server's maps: Dict, Namespace, Value, and the ordered map they
// keep their entries in.

// omap is a map of encoded keys to encoded values that keeps the order of
// insertion, as Python's dict does.
type omap struct {
	idx  map[string]int
	ents []omapEntry
	dead int
}

type omapEntry struct {
	k    string
	v    []byte
	live bool
}

func newOmap() omap { return omap{idx: make(map[string]int)} }

func (m *omap) get(k []byte) ([]byte, bool) {
	i, ok := m.idx[string(k)]
	if !ok {
		return nil, false
	}
	return m.ents[i].v, true
}

func (m *omap) set(k, v []byte) {
	if i, ok := m.idx[string(k)]; ok {
		m.ents[i].v = v
		return
	}
	m.idx[string(k)] = len(m.ents)
	m.ents = append(m.ents, omapEntry{string(k), v, true})
}

func (m *omap) del(k []byte) ([]byte, bool) {
	i, ok := m.idx[string(k)]
	if !ok {
		return nil, false
	}
	v := m.ents[i].v
	delete(m.idx, string(k))
	m.ents[i] = omapEntry{}
	m.dead++
	if m.dead > 32 && m.dead > len(m.ents)/2 {
		live := m.ents[:0]
		for _, e := range m.ents {
			if e.live {
				m.idx[e.k] = len(live)
				live = append(live, e)
			}
		}
		clear(m.ents[len(live):])
		m.ents, m.dead = live, 0
	}
	return v, true
}

func (m *omap) len() int { return len(m.idx) }

func (m *omap) clear() { *m = newOmap() }

// items appends keys (if k) and values (if v) in order.
func (m *omap) items(dst [][]byte, k, v bool) [][]byte {
	for _, e := range m.ents {
		if !e.live {
			continue
		}
		if k {
			dst = append(dst, []byte(e.k))
		}
		if v {
			dst = append(dst, e.v)
		}
	}
	return dst
}

// last returns the entry inserted last.
func (m *omap) last() (k string, v []byte, ok bool) {
	for i := len(m.ents) - 1; i >= 0; i-- {
		if m.ents[i].live {
			return m.ents[i].k, m.ents[i].v, true
		}
	}
	return "", nil, false
}

// dictObj is a Dict.
type dictObj struct {
	base
	m omap
}

func (*dictObj) kind() string { return string(ops.KindDict) }

func (d *dictObj) call(ctx context.Context, _ *conn, call *wire.Call, rep *wire.Reply) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := call.Args
	switch ops.DictOp(call.Op) {
	case ops.DictGet:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		if v, ok := d.m.get(a[0]); ok {
			rep.Vals, rep.OK = [][]byte{v}, true
		}
	case ops.DictSet:
		if len(a)%2 != 0 {
			return ops.Errorf(ops.CodeBadArgs, "manager: set needs keys and values in pairs")
		}
		for i := 0; i < len(a); i += 2 {
			d.m.set(a[i], a[i+1])
		}
	case ops.DictSetDefault:
		if err := ops.WantArgs(call, 2); err != nil {
			return err
		}
		v, ok := d.m.get(a[0])
		if !ok {
			d.m.set(a[0], a[1])
			v = a[1]
		}
		rep.Vals, rep.OK = [][]byte{v}, ok
	case ops.DictPop:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		if v, ok := d.m.del(a[0]); ok {
			rep.Vals, rep.OK = [][]byte{v}, true
		}
	case ops.DictPopItem:
		if k, v, ok := d.m.last(); ok {
			d.m.del([]byte(k))
			rep.Vals, rep.OK = [][]byte{[]byte(k), v}, true
		}
	case ops.DictHas:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		_, rep.OK = d.m.get(a[0])
	case ops.DictLen:
		rep.N = int64(d.m.len())
	case ops.DictKeys:
		rep.Vals = d.m.items(nil, true, false)
	case ops.DictValues:
		rep.Vals = d.m.items(nil, false, true)
	case ops.DictItems:
		rep.Vals = d.m.items(nil, true, true)
	case ops.DictGetMany:
		rep.Vals = make([][]byte, len(a))
		for i, k := range a {
			rep.Vals[i], _ = d.m.get(k) // nil where missing
		}
	case ops.DictClear:
		d.m.clear()
	case ops.DictApply:
		if err := ops.WantArgs(call, 2); err != nil {
			return err
		}
		old, found := d.m.get(a[0])
		nv, err := registered.Apply(ctx, call.Name, old, found, a[1])
		if err != nil {
			return err
		}
		d.m.set(a[0], nv)
		rep.Vals = [][]byte{nv}
	case ops.DictCAS:
		if err := ops.WantArgs(call, 3); err != nil {
			return err
		}
		if old, ok := d.m.get(a[0]); ok && bytes.Equal(old, a[1]) {
			d.m.set(a[0], a[2])
			rep.OK = true
		}
	default:
		return unknownOp(d, call.Op)
	}
	return nil
}

// namespaceObj is a Namespace: attributes by name.
type namespaceObj struct {
	base
	m omap
}

func (*namespaceObj) kind() string { return string(ops.KindNamespace) }

func (n *namespaceObj) call(ctx context.Context, _ *conn, call *wire.Call, rep *wire.Reply) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	name := []byte(call.Key)
	switch ops.NamespaceOp(call.Op) {
	case ops.NamespaceGet:
		if v, ok := n.m.get(name); ok {
			rep.Vals, rep.OK = [][]byte{v}, true
		}
	case ops.NamespaceSet:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		n.m.set(name, call.Args[0])
	case ops.NamespaceDel:
		_, rep.OK = n.m.del(name)
	case ops.NamespaceItems:
		rep.Vals = n.m.items(nil, true, true)
	case ops.NamespaceApply:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		old, found := n.m.get(name)
		nv, err := registered.Apply(ctx, call.Name, old, found, call.Args[0])
		if err != nil {
			return err
		}
		n.m.set(name, nv)
		rep.Vals = [][]byte{nv}
	default:
		return unknownOp(n, call.Op)
	}
	return nil
}

// valueObj is a Value.
type valueObj struct {
	base
	v []byte
}

func (*valueObj) kind() string { return string(ops.KindValue) }

func (v *valueObj) call(ctx context.Context, _ *conn, call *wire.Call, rep *wire.Reply) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch ops.ValueOp(call.Op) {
	case ops.ValueGet:
		rep.Vals = [][]byte{v.v}
	case ops.ValueSet:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		v.v = call.Args[0]
	case ops.ValueApply:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		nv, err := registered.Apply(ctx, call.Name, v.v, true, call.Args[0])
		if err != nil {
			return err
		}
		v.v = nv
		rep.Vals = [][]byte{nv}
	case ops.ValueCAS:
		if err := ops.WantArgs(call, 2); err != nil {
			return err
		}
		if bytes.Equal(v.v, call.Args[0]) {
			v.v, rep.OK = call.Args[1], true
		}
	default:
		return unknownOp(v, call.Op)
	}
	return nil
}
