package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
)

// Complex numbers: CBOR has none, and the CBOR library refuses Go's. A
// complex number travels as an array of two floats, [real, imaginary]
// (one level of nesting). A type that holds complex numbers where its
// type says so (a field, an element, a pointer's target, not inside an
// interface) is encoded and decoded through its mirror: the same type
// with complex128 and complex64 replaced by wireComplex128 and
// wireComplex64, which have the same memory layout and methods that
// encode them. The value's memory is read and written as the mirror's.

type (
	wireComplex128 complex128
	wireComplex64  complex64
)

// MarshalCBOR writes [real, imaginary] as two float64s.
func (c wireComplex128) MarshalCBOR() ([]byte, error) {
	b := make([]byte, 0, 19)
	b = append(b, 0x82, 0xfb)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(real(c)))
	b = append(b, 0xfb)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(imag(c))), nil
}

// UnmarshalCBOR reads [real, imaginary].
func (c *wireComplex128) UnmarshalCBOR(b []byte) error {
	var parts []float64
	if err := theLimits().dec.Unmarshal(b, &parts); err != nil {
		return err
	}
	if len(parts) != 2 {
		return fmt.Errorf("wire: a complex number of %d parts", len(parts))
	}
	*c = wireComplex128(complex(parts[0], parts[1]))
	return nil
}

// MarshalCBOR writes [real, imaginary] as two float32s.
func (c wireComplex64) MarshalCBOR() ([]byte, error) {
	b := make([]byte, 0, 11)
	b = append(b, 0x82, 0xfa)
	b = binary.BigEndian.AppendUint32(b, math.Float32bits(real(c)))
	b = append(b, 0xfa)
	return binary.BigEndian.AppendUint32(b, math.Float32bits(imag(c))), nil
}

// UnmarshalCBOR reads [real, imaginary].
func (c *wireComplex64) UnmarshalCBOR(b []byte) error {
	var w wireComplex128
	if err := w.UnmarshalCBOR(b); err != nil {
		return err
	}
	*c = wireComplex64(complex64(w))
	return nil
}

var (
	typeComplex128 = reflect.TypeFor[wireComplex128]()
	typeComplex64  = reflect.TypeFor[wireComplex64]()
)

type mirror struct {
	t   reflect.Type
	err error
}

var mirrors sync.Map // reflect.Type → mirror

var (
	errRecursive        = errors.New("complex numbers in a recursive type are not supported on the wire (send the real and imaginary parts)")
	errRecursiveHandles = errors.New("handles (mp.Queue, mp.Lock, manager proxies...) in a recursive type cannot be encoded (send them in a non-recursive value, such as a struct or a slice of handles)")
)

// mirrorOf returns the mirror of t, a type that holds complex numbers
// or handles (see handle.go and mirror.go).
func mirrorOf(t reflect.Type) (reflect.Type, error) {
	if m, ok := mirrors.Load(t); ok {
		return m.(mirror).t, m.(mirror).err
	}
	var m mirror
	func() {
		defer func() {
			if r := recover(); r != nil {
				what := "complex numbers"
				if infoOf(t).handles {
					what = "handles"
				}
				m = mirror{err: fmt.Errorf("%s in %s are not supported on the wire: %v", what, t, r)}
				if err, ok := r.(error); ok && (errors.Is(err, errRecursive) || errors.Is(err, errRecursiveHandles)) {
					m.err = err
				}
			}
		}()
		m.t = buildMirror(t, map[reflect.Type]bool{})
	}()
	mirrors.Store(t, m)
	return m.t, m.err
}

// buildMirror builds the mirror of t; it panics where it cannot. The
// mirror of a type that holds handles has each handle, and each pointer
// to one, replaced by its encoding (typeRaw): values are copied to and
// from it (mirror.go). Otherwise it has the same memory layout.
func buildMirror(t reflect.Type, busy map[reflect.Type]bool) reflect.Type {
	ti := infoOf(t)
	if !ti.complex && !ti.handles {
		return t
	}
	if ti.handle != nil || t.Kind() == reflect.Pointer && infoOf(t.Elem()).handle != nil {
		return typeRaw
	}
	if busy[t] {
		if ti.handles {
			panic(errRecursiveHandles)
		}
		panic(errRecursive)
	}
	busy[t] = true
	defer delete(busy, t)
	switch t.Kind() {
	case reflect.Complex128:
		return typeComplex128
	case reflect.Complex64:
		return typeComplex64
	case reflect.Pointer:
		return reflect.PointerTo(buildMirror(t.Elem(), busy))
	case reflect.Slice:
		return reflect.SliceOf(buildMirror(t.Elem(), busy))
	case reflect.Array:
		return reflect.ArrayOf(t.Len(), buildMirror(t.Elem(), busy))
	case reflect.Map:
		return reflect.MapOf(buildMirror(t.Key(), busy), buildMirror(t.Elem(), busy))
	case reflect.Struct:
		fields := make([]reflect.StructField, t.NumField())
		for i := range fields {
			f := t.Field(i)
			nf := reflect.StructField{Name: f.Name, Type: f.Type, Tag: f.Tag, Anonymous: f.Anonymous}
			switch {
			case f.IsExported():
				nf.Type = buildMirror(f.Type, busy)
				if nf.Type == typeRaw {
					// an embedded handle travels as a field of its name
					// (StructOf embeds no type with methods)
					nf.Anonymous = false
				}
			case f.Anonymous:
				panic("an embedded unexported type")
			default:
				// not encoded: an exported name to please StructOf
				nf.Name, nf.Tag = fmt.Sprintf("MpUnexported%d", i), `cbor:"-" json:"-"`
			}
			fields[i] = nf
		}
		m := reflect.StructOf(fields)
		if ti.handles {
			return m // copied, not seen in place
		}
		if m.Size() != t.Size() || m.Align() != t.Align() {
			panic("a layout that cannot be mirrored")
		}
		for i := range fields {
			if m.Field(i).Offset != t.Field(i).Offset {
				panic("a layout that cannot be mirrored")
			}
		}
		return m
	}
	panic("a kind that cannot be mirrored")
}

// forEncoding returns v, or v seen as its mirror if its type holds
// complex numbers, or a copy of v as its mirror if v holds handles (as
// checkAt said).
func forEncoding(v any, handles bool) (any, error) {
	if v == nil {
		return v, nil
	}
	if handles {
		return toMirror(reflect.ValueOf(v))
	}
	t := reflect.TypeOf(v)
	if !infoOf(t).complex {
		return v, nil
	}
	m, err := mirrorOf(t)
	if err != nil {
		return nil, &EncodeError{Type: t.String(), Part: t.String(), Reason: err.Error()}
	}
	p := reflect.New(t)
	p.Elem().Set(reflect.ValueOf(v))
	return reflect.NewAt(m, p.UnsafePointer()).Elem().Interface(), nil
}

// forDecoding returns v, a pointer, or v seen as a pointer to the mirror
// of its target if that holds complex numbers (not handles: see
// unmarshalWith).
func forDecoding(v any) any {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || !infoOf(t).complex {
		return v
	}
	m, err := mirrorOf(t.Elem())
	if err != nil {
		return v // the decoder says what it cannot decode
	}
	return reflect.NewAt(m, reflect.ValueOf(v).UnsafePointer()).Interface()
}
