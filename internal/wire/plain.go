package wire

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/fxamacker/cbor/v2"
)

// rawPlain is the kind of a raw slice of a plain type other than the
// word kinds: numbers (no bools: a byte other than 0 or 1 is not a Go
// bool), and arrays and structs of them, with no pointer anywhere, that
// CBOR would write whole (plainLayout). Its items travel as their
// memory, after the 8-byte fingerprint of the type's layout, as Queue
// carries such items: no reflection and no encoding per item, where CBOR
// walks every field.
const rawPlain = 4

// rawPlainSlices is the kind of a raw slice whose items are slices of a
// plain type (vectors: []float64, [][3]float32, []Point): after the
// fingerprint of the element's layout, each item is a uvarint (0: nil,
// else 1 + its length) and its elements' memory.
const rawPlainSlices = 5

// plainHead is the bytes before the items of a rawPlain or rawPlainSlices
// slice: the tag, the kind and the fingerprint.
const plainHead = 2 + 8

// plainType is what a type's layout says about sending it as its bytes.
type plainType struct {
	size   int    // of a value; of an element, for slices
	fp     uint64 // the layout's fingerprint (of the element, for slices)
	ok     bool   // plain, of a size above 0, on a little-endian machine
	slices bool   // the type is a slice of such a plain type
	typ    reflect.Type
}

// kind is the raw kind of slices of p's type.
func (p plainType) kind() byte {
	if p.slices {
		return rawPlainSlices
	}
	return rawPlain
}

var plainTypes sync.Map // reflect.Type → plainType

// plainEntry is a type and its plainType, in plainRecent.
type plainEntry struct {
	t reflect.Type
	p plainType
}

// plainRecent holds the types last asked about: a worker asks for every
// item it stages, where a sync.Map lookup (hashing the interface) was a
// tenth of its time in a Map of small structs. plainNext is the slot the
// next type found in plainTypes takes.
var (
	plainRecent [4]atomic.Pointer[plainEntry]
	plainNext   atomic.Uint32
)

// plainOf returns T's plainType, worked out once per type.
func plainOf[T any]() plainType {
	t := reflect.TypeFor[T]()
	for i := range plainRecent {
		if e := plainRecent[i].Load(); e != nil && e.t == t {
			return e.p
		}
	}
	if v, ok := plainTypes.Load(t); ok {
		plainRecent[plainNext.Add(1)%uint32(len(plainRecent))].Store(&plainEntry{t, v.(plainType)})
		return v.(plainType)
	}
	p := plainTypeOf(t)
	plainTypes.Store(t, p)
	return p
}

// plainTypeOf works out t's plainType.
func plainTypeOf(t reflect.Type) plainType {
	if !littleEndian {
		return plainType{}
	}
	h := fnv.New64a()
	if t.Size() > 0 && plainLayout(h, t, 0) {
		return plainType{size: int(t.Size()), fp: h.Sum64(), ok: true, typ: t}
	}
	// a slice of plain elements, bytes aside (CBOR sends those as one
	// byte string already), with no encoding methods of its own
	if t.Kind() != reflect.Slice || t.Elem().Kind() == reflect.Uint8 || opaque(t) || decodesItself(t) {
		return plainType{}
	}
	h.Reset()
	e := t.Elem()
	if e.Size() > 0 && plainLayout(h, e, 0) {
		return plainType{size: int(e.Size()), fp: h.Sum64(), ok: true, slices: true, typ: t}
	}
	return plainType{}
}

// decodesItself reports whether t's values are decoded by a method of
// their own (cbor.Unmarshaler, encoding.BinaryUnmarshaler).
func decodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(typeUnmarshaler) || pt.Implements(typeBinaryUnmarshaler)
}

var (
	typeUnmarshaler       = reflect.TypeFor[cbor.Unmarshaler]()
	typeBinaryUnmarshaler = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// plainLayout writes t's layout into w and reports whether t is plain
// data that CBOR would write whole (every field exported, or an embedded
// struct, none left out by a tag; no type with encoding methods of its
// own: what a type exports, and how it encodes itself, stay its contract):
// every field's name, kind, offset and size, every array's length, so
// that a process built from other code (a cluster worker of another
// version, a field renamed, moved or of another type) does not read
// another layout's bytes as its own: the fingerprints differ and
// UnmarshalSlice says so. depth bounds the walk (arrays and structs
// nest, pointers are not followed: none is plain).
func plainLayout(w interface{ Write([]byte) (int, error) }, t reflect.Type, depth int) bool {
	if depth > 64 {
		return false
	}
	put := func(parts ...string) {
		for _, s := range parts {
			w.Write([]byte(s))
			w.Write([]byte{0})
		}
	}
	if opaque(t) || decodesItself(t) {
		return false // its own methods say how it travels
	}
	put(t.Kind().String(), strconv.Itoa(int(t.Size())))
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		put(strconv.Itoa(t.Len()))
		return plainLayout(w, t.Elem(), depth+1)
	case reflect.Struct:
		put(strconv.Itoa(t.NumField()))
		for i := range t.NumField() {
			f := t.Field(i)
			if _, ok := encodedField(f); !ok {
				return false // CBOR leaves it out: so must we
			}
			put(f.Name, strconv.FormatUint(uint64(f.Offset), 10))
			if !plainLayout(w, f.Type, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// sliceHeader is the memory of a slice value.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// appendPlain appends items, of plain type p (or slices of one), as a
// rawPlain (rawPlainSlices) slice.
func appendPlain[T any](dst []byte, p plainType, items []T) []byte {
	dst = append(dst, rawTag, p.kind())
	dst = binary.LittleEndian.AppendUint64(dst, p.fp)
	if !p.slices {
		return append(dst, rawBytes(items)...)
	}
	for i := range items {
		h := (*sliceHeader)(unsafe.Pointer(&items[i])) // T is a slice type
		if h.data == nil {
			dst = append(dst, 0)
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(h.len)+1)
		dst = append(dst, unsafe.Slice((*byte)(h.data), h.len*p.size)...)
	}
	return dst
}

// plainSize is the bytes appendPlain appends for items.
func plainSize[T any](p plainType, items []T) int {
	if !p.slices {
		return plainHead + p.size*len(items)
	}
	n := plainHead
	for i := range items {
		h := (*sliceHeader)(unsafe.Pointer(&items[i]))
		n += binary.MaxVarintLen64 + h.len*p.size
	}
	return n
}

// unmarshalPlain decodes a rawPlain or rawPlainSlices slice (data[1]
// says which) into *out.
func unmarshalPlain[T any](data []byte, out *[]T) error {
	p := plainOf[T]()
	if !p.ok || data[1] != p.kind() {
		return fmt.Errorf("wire: values sent as their bytes (kind %d) cannot be decoded into %T", data[1], out)
	}
	if len(data) < plainHead {
		return fmt.Errorf("wire: a raw slice of plain values cut short (%d bytes)", len(data))
	}
	if fp := binary.LittleEndian.Uint64(data[2:]); fp != p.fp {
		return fmt.Errorf("wire: values sent as their bytes by a process whose %v is laid out otherwise (fingerprint %#x, here %#x): both ends must be built from the same code", reflect.TypeFor[T](), fp, p.fp)
	}
	body := data[plainHead:]
	if p.slices {
		return unmarshalPlainSlices(body, p, out)
	}
	if len(body)%p.size != 0 {
		return fmt.Errorf("wire: %d bytes of plain values of %d bytes each", len(body), p.size)
	}
	s := make([]T, len(body)/p.size)
	copy(rawBytes(s), body)
	*out = s
	return nil
}

// unmarshalPlainSlices decodes the items of a rawPlainSlices slice, each
// a new slice of p's type.
func unmarshalPlainSlices[T any](body []byte, p plainType, out *[]T) error {
	var s []T
	for len(body) > 0 {
		u, n := binary.Uvarint(body)
		if n <= 0 {
			return fmt.Errorf("wire: item %d of a raw slice of slices: a bad length", len(s))
		}
		body = body[n:]
		if u == 0 {
			var zero T // nil
			s = append(s, zero)
			continue
		}
		if u-1 > uint64(len(body)/p.size) {
			return fmt.Errorf("wire: item %d of a raw slice of slices: %d elements of %d bytes in %d", len(s), u-1, p.size, len(body))
		}
		k := int(u - 1)
		v := reflect.MakeSlice(p.typ, k, k)
		if k > 0 {
			copy(unsafe.Slice((*byte)(v.UnsafePointer()), k*p.size), body)
		}
		body = body[k*p.size:]
		s = append(s, v.Interface().(T))
	}
	if s == nil {
		s = []T{}
	}
	*out = s
	return nil
}
