package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// rawTag starts a slice of numbers sent as raw little-endian words (or of
// plain values sent as their memory, plain.go): CBOR
// never starts a value with 0xff (the "break" code), so the two cannot be
// confused. Slices of int, int64 and float64 travel this way: 8 bytes a
// number and no reflection, where CBOR costs ~40 ns a number each way.
const rawTag = 0xff

const (
	rawInt     = 1
	rawInt64   = 2
	rawFloat64 = 3
)

// MarshalSlice encodes items as one array: raw words for slices of int,
// int64 and float64, the items' memory for other plain data (numbers,
// arrays and structs of them, and slices of those: plain.go), CBOR
// otherwise. Each item is checked as Marshal checks a value: the error
// of an item that cannot be encoded names it (unless it is the only one)
// and the path inside it.
func MarshalSlice[T any](items []T) ([]byte, error) {
	if kind, ok := RawKind[T](); ok {
		b := make([]byte, 2, 2+8*len(items))
		b[0], b[1] = rawTag, kind
		return append(b, rawBytes(items)...), nil
	}
	switch s := any(items).(type) {
	case []int:
		return appendWords(rawInt, len(s), func(i int) uint64 { return uint64(s[i]) }), nil
	case []int64:
		return appendWords(rawInt64, len(s), func(i int) uint64 { return uint64(s[i]) }), nil
	case []float64:
		return appendWords(rawFloat64, len(s), func(i int) uint64 { return math.Float64bits(s[i]) }), nil
	}
	if p := plainOf[T](); p.ok {
		return appendPlain(make([]byte, 0, plainSize(p, items)), p, items), nil
	}
	b, err := marshalAt(items, -1)
	if err != nil {
		// name the item, with the path inside it
		for i := range items {
			if _, _, e := checkAt(items[i], 0); e != nil {
				if len(items) > 1 {
					return nil, fmt.Errorf("item %d: %w", i, e)
				}
				return nil, e
			}
		}
	}
	return b, err
}

// AppendRaw appends items encoded as MarshalSlice encodes them to dst,
// without allocating, when they are a slice of int, int64 or float64 or
// of other plain data (plain.go); ok is false (and dst returned as is)
// for any other type.
func AppendRaw[T any](dst []byte, items []T) (b []byte, ok bool) {
	if kind, ok := RawKind[T](); ok {
		return append(append(dst, rawTag, kind), rawBytes(items)...), true
	}
	if p := plainOf[T](); p.ok {
		return appendPlain(dst, p, items), true
	}
	switch s := any(items).(type) {
	case []int:
		dst = append(dst, rawTag, rawInt)
		for _, v := range s {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
		}
	case []int64:
		dst = append(dst, rawTag, rawInt64)
		for _, v := range s {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
		}
	case []float64:
		dst = append(dst, rawTag, rawFloat64)
		for _, v := range s {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
		}
	default:
		return dst, false
	}
	return dst, true
}

func appendWords(kind byte, n int, word func(int) uint64) []byte {
	b := make([]byte, 2, 2+8*n)
	b[0], b[1] = rawTag, kind
	for i := range n {
		b = binary.LittleEndian.AppendUint64(b, word(i))
	}
	return b
}

// UnmarshalSlice decodes what MarshalSlice or MarshalEach encoded into
// *out.
func UnmarshalSlice[T any](data []byte, out *[]T) error {
	if len(data) == 0 || data[0] != rawTag {
		return unmarshalWith(theLimits().decSlice, data, out)
	}
	if len(data) >= 2 && (data[1] == rawPlain || data[1] == rawPlainSlices) {
		return unmarshalPlain(data, out)
	}
	if len(data) < 2 || (len(data)-2)%8 != 0 {
		return fmt.Errorf("wire: raw slice of %d bytes", len(data))
	}
	if kind, ok := RawKind[T](); ok {
		if data[1] != kind {
			return fmt.Errorf("wire: raw slice of kind %d cannot be decoded into %T", data[1], out)
		}
		s := make([]T, (len(data)-2)/8)
		copy(rawBytes(s), data[2:])
		*out = s
		return nil
	}
	switch p := any(out).(type) {
	case *[]int:
		return decodeWords(data, rawInt, p, func(w uint64) int { return int(w) })
	case *[]int64:
		return decodeWords(data, rawInt64, p, func(w uint64) int64 { return int64(w) })
	case *[]float64:
		return decodeWords(data, rawFloat64, p, math.Float64frombits)
	}
	return fmt.Errorf("wire: raw slice of kind %d cannot be decoded into %T", data[1], out)
}

// decodeWords decodes raw words of kind into *out.
func decodeWords[T any](data []byte, kind byte, out *[]T, conv func(uint64) T) error {
	if data[1] != kind {
		return fmt.Errorf("wire: raw slice of kind %d cannot be decoded into %T", data[1], out)
	}
	s := make([]T, (len(data)-2)/8)
	for i := range s {
		s[i] = conv(binary.LittleEndian.Uint64(data[2+8*i:]))
	}
	*out = s
	return nil
}
