package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Calls and Replies travel in a compact binary form rather than CBOR: a
// manager's round trip is a few microseconds, and a batch carries
// thousands of values, so decoding cost matters. The values inside stay
// CBOR, encoded by the client. Layout (integers are varints):
//
//	Call:  'C' ID Obj Op N M Name Key Flag len(Args) {len(arg) arg}...
//	Reply: 'R' ID N OK Code Msg HasErr len(Vals) {len(val)+1 val | 0}...
//
// Strings are a length then the bytes. In a Reply, a nil value (a
// missing key of GetMany) is a 0 length; others are length+1.

var errShort = errors.New("wire: truncated message")

// AppendCall appends the encoding of c to dst.
func AppendCall(dst []byte, c *Call) []byte {
	dst = append(dst, 'C')
	dst = binary.AppendUvarint(dst, c.ID)
	dst = binary.AppendUvarint(dst, c.Obj)
	dst = appendString(dst, c.Op)
	dst = binary.AppendVarint(dst, c.N)
	dst = binary.AppendVarint(dst, c.M)
	dst = appendString(dst, c.Name)
	dst = appendString(dst, c.Key)
	dst = appendBool(dst, c.Flag)
	dst = binary.AppendUvarint(dst, uint64(len(c.Args)))
	for _, a := range c.Args {
		dst = binary.AppendUvarint(dst, uint64(len(a)))
		dst = append(dst, a...)
	}
	return dst
}

// DecodeCall decodes b into c. The Args alias b: the caller must not
// reuse b while c is in use.
func DecodeCall(b []byte, c *Call) error { return DecodeCallMax(b, c, MaxElements) }

// AppendReply appends the encoding of r to dst.
func AppendReply(dst []byte, r *Reply) []byte {
	dst = append(dst, 'R')
	dst = binary.AppendUvarint(dst, r.ID)
	dst = binary.AppendVarint(dst, r.N)
	dst = appendBool(dst, r.OK)
	var code, msg string
	if r.Err != nil {
		code, msg = r.Err.Code, r.Err.Msg
	}
	dst = appendString(dst, code)
	dst = appendString(dst, msg)
	dst = appendBool(dst, r.Err != nil)
	dst = binary.AppendUvarint(dst, uint64(len(r.Vals)))
	for _, v := range r.Vals {
		if v == nil {
			dst = append(dst, 0)
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(v))+1)
		dst = append(dst, v...)
	}
	return dst
}

// DecodeReply decodes b into r. The Vals alias b.
func DecodeReply(b []byte, r *Reply) error {
	d := decoder{b: b}
	if d.byte() != 'R' {
		return errors.New("wire: not a reply")
	}
	*r = Reply{ID: d.uvarint(), N: d.varint(), OK: d.bool()}
	code, msg, hasErr := d.string(), d.string(), d.bool()
	if hasErr {
		r.Err = &CallError{Code: code, Msg: msg}
	}
	n := d.count()
	if n > 0 && d.err == nil {
		r.Vals = make([][]byte, n)
		for i := range r.Vals {
			if l := d.uvarint(); l > 0 {
				r.Vals[i] = d.take(l - 1)
			}
		}
	}
	return d.end()
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// decoder reads b; the first error sticks, and every read after it
// returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail(errShort)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(errors.New("wire: a boolean that is neither 0 nor 1"))
	return false
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) take(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) bytes() []byte { return d.take(d.uvarint()) }

func (d *decoder) string() string { return string(d.bytes()) }

// names interns the operation and function names of calls: a few dozen
// strings, read on every call.
var names struct {
	sync.RWMutex
	m map[string]string
}

// name reads a string that is likely one of a few names.
func (d *decoder) name() string {
	b := d.bytes()
	if len(b) > 64 {
		return string(b)
	}
	names.RLock()
	s, ok := names.m[string(b)]
	names.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	names.Lock()
	if names.m == nil || len(names.m) > 4096 {
		names.m = make(map[string]string)
	}
	names.m[s] = s
	names.Unlock()
	return s
}

// count reads a number of elements, each at least one byte long.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > MaxElements || n > uint64(len(d.b)) {
		d.fail(fmt.Errorf("wire: %d elements in a message of %d bytes", n, len(d.b)))
		return 0
	}
	return int(n)
}

func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		return fmt.Errorf("wire: %d bytes after the end of a message", len(d.b))
	}
	return d.err
}
