package natskv

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/registered"
	"github.com/mp-go/mp/manager/internal/server"
)

// Lists, arrays and registered types on NATS: one entry each, changed
// by compare-and-set.

// list runs a List or Array operation as a compare-and-set of the whole
// item list, retried on conflict: the server's own code does the work.
func (c *Conn) list(ctx context.Context, p string, fixed bool, call *wire.Call, rep *wire.Reply) error {
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
		r := &wire.Reply{ID: call.ID}
		items, err := server.ListCall(ctx, cur.Vals, fixed, call, r)
		if err != nil {
			return err
		}
		if row, _ := ops.Lookup(ops.KindList, call.Op); row.Writes {
			ok, err := c.cas(ctx, k, wire.AppendReply(nil, &wire.Reply{Vals: items}), rev)
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
func (c *Conn) custom(ctx context.Context, p, name string, call *wire.Call, rep *wire.Reply) error {
	ti, ok := registered.LookupType(name)
	if !ok {
		return ops.Errorf(ops.CodeUnknownType, "manager: no type %q is registered in this program", name)
	}
	if ops.TypeOp(call.Op) != ops.TypeCall {
		return ops.Errorf(ops.CodeUnknownOp, "manager: a %s has no operation %q", name, call.Op)
	}
	m, ok := ti.Method(call.Name)
	if !ok {
		return ops.Errorf(ops.CodeUnknownOp, "manager: type %s has no registered method %q", name, call.Name)
	}
	if err := ops.WantArgs(call, 1); err != nil {
		return err
	}
	k := p + "value"
	for {
		b, rev, err := c.get(ctx, k)
		if err != nil {
			return err
		}
		v := ti.New()
		if err := wire.Unmarshal(b, v); err != nil {
			return fmt.Errorf("manager: decoding the %s: %w", name, err)
		}
		r, err := m(ctx, v, call.Args[0])
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
