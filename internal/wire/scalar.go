package wire

import (
	"encoding/binary"
	"math"
)

// Scalars (strings, integers, booleans, byte slices: a manager's keys and
// counters) have a fast path that writes and reads the bytes
// MarshalDeterministic and Unmarshal would, without reflection or boxing
// (FuzzScalar holds the two together).

// AppendScalar appends v's encoding to dst if v is a scalar; ok is false
// (and dst unchanged) otherwise.
func AppendScalar[T any](dst []byte, v T) (_ []byte, ok bool) {
	switch x := any(v).(type) {
	case string:
		return append(appendHead(dst, 3, uint64(len(x))), x...), true
	case []byte:
		if x == nil {
			return append(dst, cborNull), true // as the library encodes a nil slice
		}
		return append(appendHead(dst, 2, uint64(len(x))), x...), true
	case int:
		return AppendInt(dst, int64(x)), true
	case int64:
		return AppendInt(dst, x), true
	case int32:
		return AppendInt(dst, int64(x)), true
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

// AppendInt appends the encoding of x to dst.
func AppendInt(dst []byte, x int64) []byte {
	if x < 0 {
		return appendHead(dst, 1, uint64(-(x + 1)))
	}
	return appendHead(dst, 0, uint64(x))
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

// DecodeScalar decodes b into *p if p points to a string, an int, an
// int64, a uint64 or a bool and b is exactly such a value in the form the
// encoders write; otherwise it returns false and *p is unchanged (decode
// with Unmarshal, which decides).
func DecodeScalar[T any](b []byte, p *T) bool {
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
