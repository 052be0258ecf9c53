package wire

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// littleEndian is whether this machine keeps numbers as the raw slices
// lay them out: then a raw slice is its numbers' memory, copied as bytes.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// RawKind reports whether slices of T travel as raw words that are the
// slice's own memory (int, int64 and float64 on a little-endian machine),
// and the kind byte that says which.
func RawKind[T any]() (kind byte, ok bool) {
	if !littleEndian {
		return 0, false
	}
	var zero T
	switch any(zero).(type) {
	case int:
		if unsafe.Sizeof(zero) == 8 {
			return rawInt, true
		}
	case int64:
		return rawInt64, true
	case float64:
		return rawFloat64, true
	}
	return 0, false
}

// RawHeader is the two bytes that start a raw slice of kind (RawKind).
func RawHeader(kind byte) [2]byte { return [2]byte{rawTag, kind} }

// RawView is the memory of s, a slice of a RawKind type, as bytes: what
// follows RawHeader in a raw array (AppendRaw copies it). It aliases s.
func RawView[T any](s []T) []byte { return rawBytes(s) }

// rawBytes is the memory of s, a slice of a RawKind or other plain type
// (plain.go), as bytes.
func rawBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// DecodeRawInto copies a raw slice of T, as MarshalSlice encodes one of a
// RawKind type, into dst, which it must fill exactly; ok is false, and
// nothing copied, when data is not such a slice (decode it with
// UnmarshalSlice instead).
func DecodeRawInto[T any](data []byte, dst []T) (ok bool, err error) {
	kind, raw := RawKind[T]()
	if !raw || len(data) < 2 || data[0] != rawTag {
		return false, nil
	}
	if data[1] != kind {
		return false, fmt.Errorf("wire: raw slice of kind %d cannot be decoded into %T", data[1], []T(nil)) // not dst: it would escape
	}
	if len(data)-2 != 8*len(dst) {
		return false, fmt.Errorf("wire: raw slice of %d bytes for %d items", len(data)-2, len(dst))
	}
	copy(rawBytes(dst), data[2:])
	return true, nil
}
