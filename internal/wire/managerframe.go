package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxAuthFrame bounds a manager handshake frame (Auth): a few dozen bytes
// in practice. Both sides read the handshake under this bound, so that a
// peer that has not proved it knows the authkey (or a peer that is not a
// manager at all) cannot make the other allocate more than this.
const MaxAuthFrame = 4 << 10

// SetMax changes the bound on the payload of the frames read from now on:
// a manager reads the handshake under MaxAuthFrame, then calls under its
// message bound.
func (r *Reader) SetMax(max int) { r.max = max }

// TooManyArgsError is DecodeCallMax's error for a call with more values
// than its bound. The call's ID is decoded by then, so the server can
// refuse that call alone.
type TooManyArgsError struct{ N, Max uint64 }

func (e *TooManyArgsError) Error() string {
	return fmt.Sprintf("wire: a call of %d values, bound %d", e.N, e.Max)
}

// DecodeCallMax is DecodeCall for a call of at most maxArgs values: the
// count is checked before the values' slice is allocated.
func DecodeCallMax(b []byte, c *Call, maxArgs int) error {
	d := decoder{b: b}
	if d.byte() != 'C' {
		return errors.New("wire: not a call")
	}
	*c = Call{ID: d.uvarint(), Obj: d.uvarint(), Op: d.name(), N: d.varint(), M: d.varint(), Name: d.name(), Key: d.string(), Flag: d.bool()}
	if d.err != nil {
		return d.err
	}
	if n, m := binary.Uvarint(d.b); m > 0 && n > uint64(maxArgs) {
		return &TooManyArgsError{N: n, Max: uint64(maxArgs)}
	}
	n := d.count()
	if n > 0 && d.err == nil {
		c.Args = make([][]byte, n)
		for i := range c.Args {
			c.Args[i] = d.bytes()
		}
	}
	return d.end()
}
