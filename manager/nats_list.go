package manager

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// Lists, arrays and registered types on NATS: one entry each, changed
// by compare-and-set.

// list runs a List or Array operation as a compare-and-set of the whole
// item list, retried on conflict: the server's own code does the work.
func (c *natsConn) list(ctx context.Context, p string, fixed bool, call *wire.Call, rep *wire.Reply) error {
	k := p + "items"
	for {
		b, rev, err := c.get(ctx, k)
		if err != nil {
			return err
		}
		var cur wire.Reply
		if err := wire.DecodeReply(b, &cur); err != nil {
			return fmt.Errorf("manager: the list's entry is corrupt: %w", err)
		}
		l := &listObj{items: cur.Vals, fixed: fixed}
		r := &wire.Reply{ID: call.ID}
		if err := l.call(ctx, nil, call, r); err != nil {
			return err
		}
		if row, _ := ops.Lookup(ops.KindList, call.Op); row.Writes {
			ok, err := c.cas(ctx, k, wire.AppendReply(nil, &wire.Reply{Vals: l.items}), rev)
			if err != nil {
				return err
			}
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				continue // another process changed it: again
			}
		}
		*rep = *r
		return nil
	}
}

// custom calls a registered method on the value of a registered type,
// kept encoded in one entry: decode, call, encode, compare-and-set,
// retried on conflict (so the method may run more than once: it must not
// have effects outside its value).
func (c *natsConn) custom(ctx context.Context, p, name string, call *wire.Call, rep *wire.Reply) error {
	t, ok := types.Load(name)
	if !ok {
		return errf(codeUnknownType, "manager: no type %q is registered in this program", name)
	}
	ti := t.(*typeInfo)
	if ops.TypeOp(call.Op) != ops.TypeCall {
		return errf(codeUnknownOp, "manager: a %s has no operation %q", name, call.Op)
	}
	m, ok := ti.methods.Load(call.Name)
	if !ok {
		return errf(codeUnknownOp, "manager: type %s has no registered method %q", name, call.Name)
	}
	if err := wantArgs(call, 1); err != nil {
		return err
	}
	k := p + "value"
	for {
		b, rev, err := c.get(ctx, k)
		if err != nil {
			return err
		}
		v := ti.make()
		if err := wire.Unmarshal(b, v); err != nil {
			return fmt.Errorf("manager: decoding the %s: %w", name, err)
		}
		r, err := m.(methodFunc)(ctx, v, call.Args[0])
		if err != nil {
			return err
		}
		nb, err := encode(v)
		if err != nil {
			return err
		}
		if bytes.Equal(nb, b) {
			rep.Vals = [][]byte{r}
			return nil // unchanged: nothing to write
		}
		ok, err := c.cas(ctx, k, nb, rev)
		if err != nil {
			return err
		}
		if ok {
			rep.Vals = [][]byte{r}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
