package natskv

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/registered"
	"github.com/nats-io/nats.go/jetstream"
)

// The entries of a NATS manager's bucket: read, compare-and-set, watch.

// key encodes bytes as a KV key token.
func key(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func prefix(id uint64) string { return "o" + strconv.FormatUint(id, 10) + "." }

// get returns the value of k, or nil.
func (c *Conn) get(ctx context.Context, k string) ([]byte, uint64, error) {
	e, err := c.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return e.Value(), e.Revision(), nil
}

// cas sets k to v if its revision is rev (0: if it does not exist), and
// reports whether it did.
func (c *Conn) cas(ctx context.Context, k string, v []byte, rev uint64) (bool, error) {
	var err error
	if rev == 0 {
		_, err = c.kv.Create(ctx, k, v)
	} else {
		_, err = c.kv.Update(ctx, k, v, rev)
	}
	if err == nil {
		return true, nil
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) || (errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)) {
		return false, nil
	}
	return false, err
}

// applyAt runs call's update function on k with its argument
// call.Args[i], and replies the new value.
func (c *Conn) applyAt(ctx context.Context, k string, call *wire.Call, i int, rep *wire.Reply) error {
	if err := ops.WantArgs(call, i+1); err != nil {
		return err
	}
	nv, err := c.update(ctx, k, call.Name, call.Args[i])
	if err == nil {
		rep.Vals = [][]byte{nv}
	}
	return err
}

func (c *Conn) put(ctx context.Context, k string, v []byte) error {
	_, err := c.kv.Put(ctx, k, v)
	return err
}

// update runs a registered update function on k, atomically (retried on
// a conflicting write), and returns the new value.
func (c *Conn) update(ctx context.Context, k, fn string, arg []byte) ([]byte, error) {
	for {
		old, rev, err := c.get(ctx, k)
		if err != nil {
			return nil, err
		}
		nv, err := registered.Apply(ctx, fn, old, old != nil, arg)
		if err != nil {
			return nil, err
		}
		ok, err := c.cas(ctx, k, nv, rev)
		if err != nil {
			return nil, err
		}
		if ok {
			return nv, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// keysWith lists the keys under p.
func (c *Conn) keysWith(ctx context.Context, p string) ([]string, error) {
	lister, err := c.kv.ListKeysFiltered(ctx, p+">")
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range lister.Keys() {
		out = append(out, k)
	}
	return out, nil
}

// watchUntil waits until cond, checked on k's changes, holds.
func (c *Conn) watchUntil(ctx context.Context, k string, cond func() (bool, error)) error {
	w, err := c.kv.Watch(ctx, k, jetstream.UpdatesOnly())
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-w.Updates():
		case <-time.After(time.Second): // in case an update raced the watch
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// errKeep, returned by the function given to changeEntry, leaves the
// entry as it is.
var errKeep = errors.New("manager: leave the entry")

// readEntry decodes the CBOR entry k as a T, with its revision.
func readEntry[T any](ctx context.Context, c *Conn, k string) (*T, uint64, error) {
	v, rev, err := c.get(ctx, k)
	if err != nil {
		return nil, 0, err
	}
	st := new(T)
	if v == nil {
		return st, 0, nil // no entry yet: the zero value
	}
	if err := wire.Unmarshal(v, st); err != nil {
		return nil, 0, fmt.Errorf("manager: the entry %s is corrupt: %w", k, err)
	}
	return st, rev, nil
}

// changeEntry applies f to the CBOR entry k (the zero value if there is
// none yet) with compare-and-set, again while another process changes it
// meanwhile, and returns what it wrote.
// f returning errKeep leaves the entry; another error is returned.
func changeEntry[T any](ctx context.Context, c *Conn, k string, f func(*T) error) (*T, error) {
	for {
		st, rev, err := readEntry[T](ctx, c, k)
		if err != nil {
			return nil, err
		}
		if err := f(st); err != nil {
			if errors.Is(err, errKeep) {
				return st, nil
			}
			return st, err
		}
		b, err := wire.Marshal(st)
		if err != nil {
			return nil, err
		}
		ok, err := c.cas(ctx, k, b, rev)
		if err != nil || ok {
			return st, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}
