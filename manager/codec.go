package manager

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/mp-go/mp/internal/wire"
)

// Values travel as deterministic CBOR (see wire.MarshalDeterministic). Strings, integers,
// booleans and byte slices, the common keys and counters, take a fast
// path that writes and reads the same bytes as the CBOR library, without
// reflection.

// values encodes several values into one buffer.
type values struct {
	buf  []byte
	ends []int
}

// add encodes v.
func (vs *values) add(v any) error { return addValue(vs, v) }

// addValue encodes v; generic, so that the fast path boxes nothing.
func addValue[T any](vs *values, v T) error {
	if b, ok := appendFast(vs.buf, v); ok {
		vs.buf = b
	} else {
		b, err := encode(any(v))
		if err != nil {
			return err
		}
		vs.buf = append(vs.buf, b...)
	}
	vs.ends = append(vs.ends, len(vs.buf))
	return nil
}

// slices returns the encoded values.
func (vs *values) slices() [][]byte {
	out := make([][]byte, len(vs.ends))
	start := 0
	for i, end := range vs.ends {
		out[i] = vs.buf[start:end:end]
		start = end
	}
	return out
}

// encodeAll encodes each value.
func encodeAll(vals ...any) ([][]byte, error) {
	var vs values
	for _, v := range vals {
		if err := vs.add(v); err != nil {
			return nil, err
		}
	}
	return vs.slices(), nil
}

// encodeSlice encodes each item of s.
func encodeSlice[T any](s []T) ([][]byte, error) {
	vs := values{ends: make([]int, 0, len(s))}
	for _, v := range s {
		if err := addValue(&vs, v); err != nil {
			return nil, err
		}
	}
	return vs.slices(), nil
}

// encode2 encodes a and b (a key and a value).
func encode2[A, B any](a A, b B) ([][]byte, error) {
	vs := values{ends: make([]int, 0, 2)}
	if err := addValue(&vs, a); err != nil {
		return nil, err
	}
	if err := addValue(&vs, b); err != nil {
		return nil, err
	}
	return vs.slices(), nil
}

// encode1 encodes v, boxing nothing on the fast path.
func encode1[T any](v T) ([]byte, error) {
	if b, ok := appendFast(nil, v); ok {
		return b, nil
	}
	return encode(any(v))
}

// encode encodes v for the server, naming what could not be encoded.
func encode(v any) ([]byte, error) {
	if b, ok := appendFast[any](nil, v); ok {
		return b, nil
	}
	b, err := wire.MarshalDeterministic(v)
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err) // names the part that cannot be encoded
	}
	return b, nil
}

// appendHead appends a CBOR head of major type major with argument n,
// in its shortest form.
func appendHead(dst []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= math.MaxUint8:
		return append(dst, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, m|27), n)
}

func appendInt(dst []byte, x int64) []byte {
	if x < 0 {
		return appendHead(dst, 1, uint64(-(x + 1)))
	}
	return appendHead(dst, 0, uint64(x))
}

// appendFast appends v's encoding if its type has a fast path.
func appendFast[T any](dst []byte, v T) ([]byte, bool) {
	switch x := any(v).(type) {
	case string:
		return append(appendHead(dst, 3, uint64(len(x))), x...), true
	case []byte:
		if x == nil {
			return append(dst, 0xf6), true // null, as the library encodes a nil slice
		}
		return append(appendHead(dst, 2, uint64(len(x))), x...), true
	case int:
		return appendInt(dst, int64(x)), true
	case int64:
		return appendInt(dst, x), true
	case int32:
		return appendInt(dst, int64(x)), true
	case uint64:
		return appendHead(dst, 0, x), true
	case uint32:
		return appendHead(dst, 0, uint64(x)), true
	case uint:
		return appendHead(dst, 0, uint64(x)), true
	case bool:
		if x {
			return append(dst, 0xf5), true
		}
		return append(dst, 0xf4), true
	}
	return dst, false
}

// readHead reads a CBOR head of major type major; ok is false if b is
// not exactly that (the slow path then decides).
func readHead(b []byte, major byte) (n uint64, rest []byte, ok bool) {
	if len(b) == 0 || b[0]>>5 != major {
		return 0, nil, false
	}
	info := b[0] & 31
	b = b[1:]
	switch {
	case info < 24:
		return uint64(info), b, true
	case info == 24 && len(b) >= 1:
		return uint64(b[0]), b[1:], true
	case info == 25 && len(b) >= 2:
		return uint64(binary.BigEndian.Uint16(b)), b[2:], true
	case info == 26 && len(b) >= 4:
		return uint64(binary.BigEndian.Uint32(b)), b[4:], true
	case info == 27 && len(b) >= 8:
		return binary.BigEndian.Uint64(b), b[8:], true
	}
	return 0, nil, false
}

// readInt reads a CBOR integer that fits an int64.
func readInt(b []byte) (int64, bool) {
	if n, rest, ok := readHead(b, 0); ok && len(rest) == 0 && n <= math.MaxInt64 {
		return int64(n), true
	}
	if n, rest, ok := readHead(b, 1); ok && len(rest) == 0 && n <= math.MaxInt64 {
		return -1 - int64(n), true
	}
	return 0, false
}

// decodeFast decodes b into p if p's type has a fast path and b is in the
// form it expects.
func decodeFast[T any](b []byte, p *T) bool {
	switch x := any(p).(type) {
	case *string:
		n, rest, ok := readHead(b, 3)
		if !ok || uint64(len(rest)) != n {
			return false
		}
		*x = string(rest)
	case *int:
		v, ok := readInt(b)
		if !ok || int64(int(v)) != v {
			return false
		}
		*x = int(v)
	case *int64:
		v, ok := readInt(b)
		if !ok {
			return false
		}
		*x = v
	case *uint64:
		n, rest, ok := readHead(b, 0)
		if !ok || len(rest) != 0 {
			return false
		}
		*x = n
	case *bool:
		if len(b) != 1 || (b[0] != 0xf4 && b[0] != 0xf5) {
			return false
		}
		*x = b[0] == 0xf5
	default:
		return false
	}
	return true
}

func decode[T any](b []byte) (T, error) {
	var fast T
	if decodeFast(b, &fast) {
		return fast, nil
	}
	return decodeSlow[T](b)
}

// decodeSlow decodes with the CBOR library (its variable escapes; the
// fast path's does not).
func decodeSlow[T any](b []byte) (T, error) {
	v := new(T)
	if err := wire.Unmarshal(b, v); err != nil {
		return *v, fmt.Errorf("manager: decoding a %T: %w", *v, err)
	}
	return *v, nil
}
