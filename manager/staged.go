package manager

import (
	"context"
	"fmt"
	"time"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// Batches bigger than one message.
//
// A server takes at most Limits.Items values, and MaxMessage bytes, in
// one message. A proxy call with more (a List of 3 million items, a
// SetMany of a big map) is sent in parts: each part is staged on the
// server, in the connection's memory, under a stage ID; the last part
// carries the call itself, which the server then runs on every staged
// value at once. The call stays one call: as atomic as when it fits in
// one message, cancelled as one, and nothing is applied before the last
// part arrives. A batch abandoned half-way (its context ended, an error)
// is dropped, and with its connection. The calls are ops.Stage,
// ops.Commit and ops.Unstage; the server's side is in
// manager/internal/server (conn.go, staging).

// callOverhead bounds the bytes that a call adds to its values' (its
// fields, and a commit's wrapping), so that each part fits MaxMessage.
const callOverhead = 64

// unstageGrace bounds how long dropping an abandoned batch may take.
const unstageGrace = 5 * time.Second

// limitItems returns the server's Limits.Items, or the default when the
// server did not tell.
func (c *client) limitItems() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items > 0 {
		return c.items
	}
	return defaultItems
}

// tooBigForOne says that call has too many values, or bytes, for one
// message to the server.
func (c *client) tooBigForOne(call *wire.Call) bool {
	if len(call.Args) < 2 {
		return false // one value cannot be split
	}
	if len(call.Args) > c.limitItems() {
		return true
	}
	n := callOverhead + len(call.Op) + len(call.Name) + len(call.Key)
	for _, a := range call.Args {
		n += len(a) + 8
		if n > c.max {
			return true
		}
	}
	return false
}

// callStaged sends call's values in parts of at most the server's limits,
// then the call itself, which runs on all of them at once.
func (c *client) callStaged(ctx context.Context, call *wire.Call) (*wire.Reply, error) {
	items := c.limitItems()
	budget := c.max - callOverhead - len(call.Op) - len(call.Name) - len(call.Key)
	var parts [][][]byte
	start, size := 0, 0
	for i, a := range call.Args {
		if len(a)+8 > budget {
			return nil, fmt.Errorf("%w: a %s call with a value of %d bytes, above the %d-byte bound (manager.MaxMessage)", ErrTooBig, call.Op, len(a), c.max)
		}
		if i-start == items || size+len(a)+8 > budget {
			parts = append(parts, call.Args[start:i])
			start, size = i, 0
		}
		size += len(a) + 8
	}
	parts = append(parts, call.Args[start:])
	c.mu.Lock()
	c.next++
	id := c.next // unique on the connection, as call IDs are
	c.mu.Unlock()
	committed := false
	defer func() {
		if !committed {
			ctx, stop := context.WithTimeout(context.Background(), unstageGrace)
			defer stop()
			c.call(ctx, &wire.Call{Op: ops.Unstage, N: int64(id)})
		}
	}()
	for _, p := range parts[:len(parts)-1] {
		if _, err := c.call(ctx, &wire.Call{Op: ops.Stage, N: int64(id), Args: p}); err != nil {
			return nil, err
		}
	}
	last := *call
	last.ID, last.Args = 0, parts[len(parts)-1]
	committed = true // the server drops the stage whatever the commit does
	return c.call(ctx, &wire.Call{Op: ops.Commit, N: int64(id), Args: [][]byte{wire.AppendCall(nil, &last)}})
}
