package wire

import (
	"encoding"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// typeInfo is what the type of a value alone says about encoding it.
type typeInfo struct {
	// simple: no value of the type can hold an interface, a recursive
	// type or a part that cannot be encoded, so its nesting is depth.
	simple bool
	depth  int
	// bad is the first part, found through the type alone, that cannot
	// be encoded (at badPath), or nil. The encoder refuses such a type
	// even where the part is nil or empty.
	bad     reflect.Type
	badPath string
	// complex: the type holds complex numbers (see complex.go).
	complex bool
	// opaque: the encoder writes values of the type by a method of their
	// own, without looking inside.
	opaque bool
	// custom: the type holds values that write their own CBOR
	// (cbor.Marshaler, handles), whose nesting only the bytes tell.
	custom bool
	// handle is the codec of a handle type (handle.go); handles: the
	// type holds handles where its type says so (not inside interfaces).
	handle  handleCodec
	handles bool
	// fields are the fields a struct type's encoding has.
	fields []field
	// elem and key are the infos of the element (or pointer target) and
	// key types, found on first use: the walk then looks up no type.
	elem, key atomic.Pointer[typeInfo]
}

// field is a field of a struct that its encoding has.
type field struct {
	index int
	name  string
	flat  bool // an embedded struct, whose fields are encoded in its place
	typ   reflect.Type
	info  atomic.Pointer[typeInfo] // found on first use
}

// child returns the info of t, cached in p.
func child(p *atomic.Pointer[typeInfo], t reflect.Type) *typeInfo {
	if ti := p.Load(); ti != nil {
		return ti
	}
	ti := infoOf(t)
	p.Store(ti)
	return ti
}

var typeInfos sync.Map // reflect.Type → *typeInfo

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := computeInfo(t, map[reflect.Type]bool{})
	typeInfos.Store(t, ti)
	return ti
}

var (
	typeTime            = reflect.TypeFor[time.Time]()
	typeBigInt          = reflect.TypeFor[big.Int]()
	typeMarshaler       = reflect.TypeFor[cbor.Marshaler]()
	typeBinaryMarshaler = reflect.TypeFor[encoding.BinaryMarshaler]()
)

// opaque reports whether the encoder writes t's values by a method of
// their own (or as a single item), without looking inside.
func opaque(t reflect.Type) bool {
	if t == typeTime || t == typeBigInt {
		return true
	}
	pt := reflect.PointerTo(t)
	return pt.Implements(typeMarshaler) || pt.Implements(typeBinaryMarshaler)
}

func badKind(k reflect.Kind) bool {
	switch k {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return true
	}
	return false
}

func reasonFor(k reflect.Kind) string {
	switch k {
	case reflect.Func:
		return reasonFunc
	case reflect.Chan:
		return reasonChan
	}
	return reasonPointer
}

func computeInfo(t reflect.Type, busy map[reflect.Type]bool) *typeInfo {
	if c := handleOf(t); c != nil {
		return &typeInfo{simple: true, opaque: true, custom: true, handle: c, handles: true}
	}
	if t.Kind() != reflect.Pointer && opaque(t) {
		return &typeInfo{simple: true, opaque: true, custom: reflect.PointerTo(t).Implements(typeMarshaler)}
	}
	if badKind(t.Kind()) {
		return &typeInfo{bad: t}
	}
	if t.Kind() == reflect.Complex64 || t.Kind() == reflect.Complex128 {
		return &typeInfo{simple: true, depth: 1, complex: true} // [real, imaginary]
	}
	if busy[t] {
		return &typeInfo{} // recursive: values must be walked
	}
	busy[t] = true
	defer delete(busy, t)
	switch t.Kind() {
	case reflect.Interface:
		return &typeInfo{}
	case reflect.Pointer:
		e := computeInfo(t.Elem(), busy)
		return &typeInfo{simple: e.simple, depth: e.depth, bad: e.bad, badPath: e.badPath, complex: e.complex, custom: e.custom, handles: e.handles}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &typeInfo{simple: true} // a byte string
		}
		e := computeInfo(t.Elem(), busy)
		return &typeInfo{simple: e.simple, depth: 1 + e.depth, bad: e.bad, badPath: "[0]" + e.badPath, complex: e.complex, custom: e.custom, handles: e.handles}
	case reflect.Map:
		k, e := computeInfo(t.Key(), busy), computeInfo(t.Elem(), busy)
		ti := &typeInfo{simple: k.simple && e.simple, depth: 1 + max(k.depth, e.depth), bad: k.bad, badPath: "[key]" + k.badPath, complex: k.complex || e.complex, custom: k.custom || e.custom, handles: k.handles || e.handles}
		if ti.bad == nil {
			ti.bad, ti.badPath = e.bad, "[key]"+e.badPath
		}
		return ti
	case reflect.Struct:
		ti := &typeInfo{simple: true, depth: 1}
		for i := range t.NumField() {
			f := t.Field(i)
			flat, ok := encodedField(f)
			if !ok {
				continue
			}
			ti.fields = append(ti.fields, field{index: i, name: f.Name, flat: flat, typ: f.Type})
			fi := computeInfo(f.Type, busy)
			ti.simple = ti.simple && fi.simple
			ti.complex = ti.complex || fi.complex
			ti.custom = ti.custom || fi.custom
			ti.handles = ti.handles || fi.handles
			if flat {
				ti.depth = max(ti.depth, fi.depth)
			} else {
				ti.depth = max(ti.depth, 1+fi.depth)
			}
			if ti.bad == nil && fi.bad != nil {
				ti.bad, ti.badPath = fi.bad, "."+f.Name+fi.badPath
			}
		}
		return ti
	}
	return &typeInfo{simple: true}
}

// encodedField reports whether the encoder writes field f, and whether
// it writes its fields in place of it (an embedded struct), by the rules
// of the CBOR library.
func encodedField(f reflect.StructField) (flat, ok bool) {
	ft := f.Type
	for ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if !f.IsExported() && !(f.Anonymous && ft.Kind() == reflect.Struct) {
		return false, false
	}
	tag := f.Tag.Get("cbor")
	if tag == "" {
		tag = f.Tag.Get("json")
	}
	if tag == "-" {
		return false, false
	}
	name, _, _ := strings.Cut(tag, ",")
	return f.Anonymous && ft.Kind() == reflect.Struct && name == "", true
}
