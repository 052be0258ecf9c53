package natskv

import (
	"bytes"
	"context"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/nats-io/nats.go/jetstream"
)

// The maps on NATS: Dict, Namespace, Value.

func (c *Conn) dict(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	a := call.Args
	o := ordered{c: c, vp: p + "k.", op: p + "ko."}
	switch ops.DictOp(call.Op) {
	case ops.DictGet:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		v, _, err := c.get(ctx, o.value(a[0]))
		if v != nil {
			rep.Vals, rep.OK = [][]byte{v}, true
		}
		return err
	case ops.DictSet:
		if len(a)%2 != 0 {
			return ops.Errorf(ops.CodeBadArgs, "manager: set needs keys and values in pairs")
		}
		for i := 0; i < len(a); i += 2 {
			if err := o.set(ctx, a[i], a[i+1]); err != nil {
				return err
			}
		}
		return nil
	case ops.DictSetDefault:
		if err := ops.WantArgs(call, 2); err != nil {
			return err
		}
		for {
			if ok, err := c.cas(ctx, o.value(a[0]), a[1], 0); err != nil || ok {
				rep.Vals = [][]byte{a[1]}
				if err == nil {
					err = o.added(ctx, a[0])
				}
				return err
			}
			v, _, err := c.get(ctx, o.value(a[0]))
			if err != nil {
				return err
			}
			if v != nil {
				rep.Vals, rep.OK = [][]byte{v}, true
				return nil
			}
		}
	case ops.DictPop:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		v, ok, err := c.popKey(ctx, o, a[0])
		if ok {
			rep.Vals, rep.OK = [][]byte{v}, true
		}
		return err
	case ops.DictPopItem:
		for {
			keys, _, err := o.keys(ctx)
			if err != nil || len(keys) == 0 {
				return err
			}
			k := keys[len(keys)-1]
			v, ok, err := c.popKey(ctx, o, k)
			if err != nil {
				return err
			}
			if ok {
				rep.Vals, rep.OK = [][]byte{k, v}, true
				return nil
			}
			// popped meanwhile by another process: the next last one
		}
	case ops.DictHas:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		v, _, err := c.get(ctx, o.value(a[0]))
		rep.OK = v != nil
		return err
	case ops.DictGetMany:
		rep.Vals = make([][]byte, len(a))
		for i, kb := range a {
			v, _, err := c.get(ctx, o.value(kb))
			if err != nil {
				return err
			}
			rep.Vals[i] = v
		}
		return nil
	case ops.DictLen, ops.DictKeys, ops.DictValues, ops.DictItems:
		keys, vals, err := o.keys(ctx)
		if err != nil {
			return err
		}
		rep.N = int64(len(keys))
		for i := range keys {
			switch ops.DictOp(call.Op) {
			case ops.DictKeys:
				rep.Vals = append(rep.Vals, keys[i])
			case ops.DictValues:
				rep.Vals = append(rep.Vals, vals[i])
			case ops.DictItems:
				rep.Vals = append(rep.Vals, keys[i], vals[i])
			}
		}
		return nil
	case ops.DictClear:
		for _, pfx := range []string{o.op, o.vp} {
			ks, err := c.keysWith(ctx, pfx)
			if err != nil {
				return err
			}
			for _, full := range ks {
				if err := c.kv.Delete(ctx, full); err != nil {
					return err
				}
			}
		}
		return nil
	case ops.DictApply:
		if err := ops.WantArgs(call, 2); err != nil {
			return err
		}
		if err := c.applyAt(ctx, o.value(a[0]), call, 1, rep); err != nil {
			return err
		}
		return o.added(ctx, a[0])
	case ops.DictCAS:
		if err := ops.WantArgs(call, 3); err != nil {
			return err
		}
		v, rev, err := c.get(ctx, o.value(a[0]))
		if err != nil || v == nil || !bytes.Equal(v, a[1]) {
			return err
		}
		rep.OK, err = c.cas(ctx, o.value(a[0]), a[2], rev)
		return err
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: a dict has no operation %q here", call.Op)
}

// popKey deletes the key kb of o, if it is there, and returns its value.
func (c *Conn) popKey(ctx context.Context, o ordered, kb []byte) ([]byte, bool, error) {
	for {
		v, rev, err := c.get(ctx, o.value(kb))
		if err != nil || v == nil {
			return nil, false, err
		}
		if err := c.kv.Delete(ctx, o.value(kb), jetstream.LastRevision(rev)); err == nil {
			return v, true, o.removed(ctx, kb)
		}
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
	}
}

func (c *Conn) namespace(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	o := ordered{c: c, vp: p + "a.", op: p + "ao."}
	name := []byte(call.Key)
	switch ops.NamespaceOp(call.Op) {
	case ops.NamespaceGet:
		v, _, err := c.get(ctx, o.value(name))
		if v != nil {
			rep.Vals, rep.OK = [][]byte{v}, true
		}
		return err
	case ops.NamespaceSet:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		return o.set(ctx, name, call.Args[0])
	case ops.NamespaceDel:
		_, ok, err := c.popKey(ctx, o, name)
		rep.OK = ok
		return err
	case ops.NamespaceItems:
		keys, vals, err := o.keys(ctx)
		for i := range keys {
			rep.Vals = append(rep.Vals, keys[i], vals[i])
		}
		return err
	case ops.NamespaceApply:
		if err := c.applyAt(ctx, o.value(name), call, 0, rep); err != nil {
			return err
		}
		return o.added(ctx, name)
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: a namespace has no operation %q here", call.Op)
}

func (c *Conn) value(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	k := p + "v"
	switch ops.ValueOp(call.Op) {
	case ops.ValueGet:
		v, _, err := c.get(ctx, k)
		rep.Vals = [][]byte{v}
		return err
	case ops.ValueSet:
		if err := ops.WantArgs(call, 1); err != nil {
			return err
		}
		return c.put(ctx, k, call.Args[0])
	case ops.ValueApply:
		return c.applyAt(ctx, k, call, 0, rep)
	case ops.ValueCAS:
		if err := ops.WantArgs(call, 2); err != nil {
			return err
		}
		v, rev, err := c.get(ctx, k)
		if err != nil || !bytes.Equal(v, call.Args[0]) {
			return err
		}
		rep.OK, err = c.cas(ctx, k, call.Args[1], rev)
		return err
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: a value has no operation %q here", call.Op)
}
