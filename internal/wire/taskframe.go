package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The Task and Results frames between a pool and its worker processes are
// the hot path of a process pool: one of each per task, both ways. They
// are laid out by hand (a format byte, then varints and length-prefixed
// bytes) instead of as CBOR maps: CBOR took 0.8–1.8 µs to encode or
// decode each (the library's reflection over a struct of eight fields),
// this takes tens of nanoseconds. The arguments and results inside stay
// what they were (MarshalSlice's arrays, raw words for plain numbers);
// so do the rare item errors (CBOR, inside). A cluster task, a message of
// its own, stays CBOR.
//
//	Task:    0x54 flags uvarint(ID) uvarint(N) uvarint(Retries)
//	         varint(Timeout) uvarint(len) Func uvarint(len) Args
//	Results: 0x52 uvarint(ID) uvarint(From) uvarint(N) uvarint(RSS)
//	         uvarint(Retried) uvarint(len) Values uvarint(len) Errs(CBOR)
//
// flags: 1 Careful, 2 Ticks. Every byte must be accounted for.
const (
	taskFormat    = 0x54 // 'T'
	resultsFormat = 0x52 // 'R'

	flagCareful = 1
	flagTicks   = 2
)

// errFrame is the error of a Task or Results frame that is not one.
var errFrame = errors.New("wire: malformed frame")

// AppendTask appends the frame of t to dst.
func AppendTask(dst []byte, t *Task) []byte {
	return append(AppendTaskHead(dst, t), t.Args...)
}

// AppendTaskHead appends the frame of t but its arguments, which follow
// it: for a Writer's WriteParts, which takes them where they lie.
func AppendTaskHead(dst []byte, t *Task) []byte { return AppendTaskHeadLen(dst, t, len(t.Args)) }

// AppendTaskHeadLen is AppendTaskHead for arguments of args bytes, which
// need not be in t.Args: the caller writes them after the head.
func AppendTaskHeadLen(dst []byte, t *Task, args int) []byte {
	var flags byte
	if t.Careful {
		flags |= flagCareful
	}
	if t.Ticks {
		flags |= flagTicks
	}
	dst = append(dst, taskFormat, flags)
	dst = binary.AppendUvarint(dst, t.ID)
	dst = binary.AppendUvarint(dst, uint64(t.N))
	dst = binary.AppendUvarint(dst, uint64(t.Retries))
	dst = binary.AppendVarint(dst, t.Timeout)
	dst = binary.AppendUvarint(dst, uint64(len(t.Func)))
	dst = append(dst, t.Func...)
	return binary.AppendUvarint(dst, uint64(args))
}

// DecodeTask decodes a frame made by AppendTask into t; Args is a copy.
func DecodeTask(b []byte, t *Task) error {
	err := DecodeTaskShared(b, t)
	t.Args = clone(t.Args)
	return err
}

// DecodeTaskShared is DecodeTask whose t.Args is b's own bytes, not a
// copy: for a reader that decodes them before b is reused (a worker runs
// the Task before it reads the next frame).
func DecodeTaskShared(b []byte, t *Task) error {
	d := frameReader{b: b}
	if d.byte() != taskFormat {
		return fmt.Errorf("%w: not a task", errFrame)
	}
	flags := d.byte()
	prev := t.Func
	*t = Task{ID: d.uvarint(), N: d.int(), Retries: d.int(), Timeout: d.varint()}
	t.Careful, t.Ticks = flags&flagCareful != 0, flags&flagTicks != 0
	t.Func = prev
	if name := d.bytes(); string(name) != prev {
		t.Func = string(name) // else the name t had: a worker decoding into one Task allocates none
	}
	t.Args = d.bytes()
	if err := d.end(); err != nil {
		return fmt.Errorf("%w: task: %w", errFrame, err)
	}
	if flags&^(flagCareful|flagTicks) != 0 {
		return fmt.Errorf("%w: task flags %#x", errFrame, flags)
	}
	return nil
}

// AppendResults appends the frame of r to dst.
func AppendResults(dst []byte, r *Results) ([]byte, error) {
	errs, err := resultsErrs(r)
	if err != nil {
		return dst, err
	}
	dst = append(appendResultsHead(dst, r), r.Values...)
	dst = binary.AppendUvarint(dst, uint64(len(errs)))
	return append(dst, errs...), nil
}

// ResultsParts lays out the frame of r in dst's memory but its Values,
// which go between head and tail: for a Writer's WriteParts, which takes
// them where they lie (a worker's stage). tail follows head in dst's
// memory: head[:0] is the memory to reuse, and head is not to be
// appended to.
func ResultsParts(dst []byte, r *Results) (head, tail []byte, err error) {
	errs, err := resultsErrs(r)
	if err != nil {
		return nil, nil, err
	}
	dst = appendResultsHead(dst, r)
	h := len(dst)
	dst = binary.AppendUvarint(dst, uint64(len(errs)))
	dst = append(dst, errs...)
	return dst[:h], dst[h:], nil
}

// resultsErrs encodes r's item errors (none: nil).
func resultsErrs(r *Results) ([]byte, error) {
	if len(r.Errs) == 0 {
		return nil, nil
	}
	return Marshal(r.Errs)
}

// appendResultsHead appends the frame of r up to its Values.
func appendResultsHead(dst []byte, r *Results) []byte {
	dst = append(dst, resultsFormat)
	dst = binary.AppendUvarint(dst, r.ID)
	dst = binary.AppendUvarint(dst, uint64(r.From))
	dst = binary.AppendUvarint(dst, uint64(r.N))
	dst = binary.AppendUvarint(dst, r.RSS)
	dst = binary.AppendUvarint(dst, uint64(r.Retried))
	return binary.AppendUvarint(dst, uint64(len(r.Values)))
}

// DecodeResults decodes a frame made by AppendResults into r; Values is
// a copy.
func DecodeResults(b []byte, r *Results) error {
	err := DecodeResultsShared(b, r)
	r.Values = clone(r.Values)
	return err
}

// DecodeResultsShared is DecodeResults whose r.Values is b's own bytes,
// not a copy: for a reader that is done with them before b is reused (the
// pool decodes a chunk's results into the call's slice at once).
func DecodeResultsShared(b []byte, r *Results) error {
	d := frameReader{b: b}
	if d.byte() != resultsFormat {
		return fmt.Errorf("%w: not results", errFrame)
	}
	*r = Results{ID: d.uvarint(), From: d.int(), N: d.int(), RSS: d.uvarint(), Retried: d.int()}
	r.Values = d.bytes()
	errs := d.bytes()
	if err := d.end(); err != nil {
		return fmt.Errorf("%w: results: %w", errFrame, err)
	}
	if len(errs) > 0 {
		var list []ItemError // not &r.Errs: r would escape
		if err := Unmarshal(errs, &list); err != nil {
			return fmt.Errorf("%w: results' errors: %w", errFrame, err)
		}
		if len(list) > 0 { // an empty list is none
			r.Errs = list
		}
	}
	return nil
}

// frameReader reads a frame's fields; the first one missing or out of
// range sets err, and every read after it gives zeros.
type frameReader struct {
	b   []byte
	err error
}

func (d *frameReader) fail(what string) {
	if d.err == nil {
		d.err = errors.New(what)
	}
	d.b = nil
}

func (d *frameReader) byte() byte {
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *frameReader) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad or truncated number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *frameReader) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad or truncated number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int reads a count or index: at most MaxInt32, whatever int's size.
func (d *frameReader) int() int {
	v := d.uvarint()
	if v > math.MaxInt32 {
		d.fail("number out of range")
		return 0
	}
	return int(v)
}

// bytes reads a length-prefixed field, aliasing the frame.
func (d *frameReader) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length past the end")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// end reports the first error, or bytes left over.
func (d *frameReader) end() error {
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes past the end", len(d.b))
	}
	return d.err
}

// clone copies b; nil for none (as CBOR decodes an empty byte string).
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
