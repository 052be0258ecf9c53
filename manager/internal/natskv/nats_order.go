package natskv

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ordered is a Dict's keys (or a Namespace's attributes) on NATS, in the
// order they were first set, as Python's dict keeps them: each key's
// value is the entry vp+key, and an empty entry op+key is created when
// the key is, never rewritten, and deleted with the key. Listing op
// lists keys in the order of their entries' creation (NATS lists a
// bucket's keys in the order of their last write), so a key set again
// keeps its place.
type ordered struct {
	c      *Conn
	vp, op string
}

func (o ordered) value(kb []byte) string { return o.vp + key(kb) }

// added records that the key may be new: its order entry is made unless
// it exists.
func (o ordered) added(ctx context.Context, kb []byte) error {
	_, err := o.c.cas(ctx, o.op+key(kb), nil, 0)
	return err
}

// set sets the key to v.
func (o ordered) set(ctx context.Context, kb, v []byte) error {
	if _, err := o.c.kv.Put(ctx, o.value(kb), v); err != nil {
		return err
	}
	return o.added(ctx, kb)
}

// removed forgets the key's place, once its value is deleted.
func (o ordered) removed(ctx context.Context, kb []byte) error {
	err := o.c.kv.Delete(ctx, o.op+key(kb))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// keys returns the keys, in order, with their values; keys deleted
// meanwhile are left out. A key whose order entry is missing (a Set
// racing a Pop of the same key) comes last.
func (o ordered) keys(ctx context.Context) (keys, vals [][]byte, err error) {
	names, err := o.c.keysWith(ctx, o.op)
	if err != nil {
		return nil, nil, err
	}
	all, err := o.c.keysWith(ctx, o.vp)
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		seen[strings.TrimPrefix(n, o.op)] = true
	}
	for _, n := range all {
		if k := strings.TrimPrefix(n, o.vp); !seen[k] {
			names = append(names, o.op+k)
		}
	}
	for _, n := range names {
		tok := strings.TrimPrefix(n, o.op)
		kb, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			continue
		}
		v, _, err := o.c.get(ctx, o.vp+tok)
		if err != nil {
			return nil, nil, err
		}
		if v == nil {
			continue // deleted meanwhile
		}
		keys, vals = append(keys, kb), append(vals, v)
	}
	return keys, vals, nil
}
