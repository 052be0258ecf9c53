package wire

import (
	"fmt"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// A value that holds handles is copied into its mirror (complex.go's
// buildMirror) to be encoded, each handle replaced by the bytes of its
// codec; it is decoded into a mirror, then copied into the receiver's
// value, each handle made by its codec from its bytes. Only values that
// hold handles pay for the copy.

var typeRaw = reflect.TypeFor[cbor.RawMessage]()

// toMirror returns a copy of v as its mirror, handles encoded.
func toMirror(v reflect.Value) (any, error) {
	mt, err := mirrorOf(v.Type())
	if err != nil {
		return nil, &EncodeError{Type: v.Type().String(), Part: v.Type().String(), Reason: err.Error()}
	}
	dst := reflect.New(mt).Elem()
	if err := copyTo(dst, v); err != nil {
		return nil, err
	}
	return dst.Interface(), nil
}

// plain reports whether values of a type with info ti are their own
// mirror and hold no interface (that could hold a handle).
func plain(ti *typeInfo) bool { return ti.simple && !ti.complex && !ti.handles }

// copyTo sets dst, of src's mirror type, to src's mirror.
func copyTo(dst, src reflect.Value) error {
	t := src.Type()
	ti := infoOf(t)
	switch {
	case plain(ti):
		dst.Set(src)
		return nil
	case ti.handle != nil:
		p := reflect.New(t)
		p.Elem().Set(src)
		return encodeHandle(dst, ti.handle, p)
	case !ti.handles && ti.simple: // complex numbers only: same layout
		p := reflect.New(t)
		p.Elem().Set(src)
		dst.Set(reflect.NewAt(dst.Type(), p.UnsafePointer()).Elem())
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return nil
		}
		if h := infoOf(t.Elem()).handle; h != nil {
			return encodeHandle(dst, h, src)
		}
		dst.Set(reflect.New(dst.Type().Elem()))
		return copyTo(dst.Elem(), src.Elem())
	case reflect.Interface:
		if src.IsNil() {
			return nil
		}
		e := src.Elem()
		if plain(infoOf(e.Type())) {
			dst.Set(src)
			return nil
		}
		m, err := toMirror(e)
		if err != nil {
			return err
		}
		mv := reflect.ValueOf(m)
		if !mv.Type().AssignableTo(dst.Type()) {
			return &EncodeError{Type: e.Type().String(), Part: e.Type().String(), Reason: fmt.Sprintf("handles inside a value of interface type %s cannot be encoded (use a field of the handle's own type, or of type any)", dst.Type())}
		}
		dst.Set(mv)
		return nil
	case reflect.Struct:
		for i := range t.NumField() {
			if _, ok := encodedField(t.Field(i)); !ok {
				continue
			}
			if err := copyTo(dst.Field(i), src.Field(i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if src.IsNil() {
			return nil
		}
		dst.Set(reflect.MakeSlice(dst.Type(), src.Len(), src.Len()))
		fallthrough
	case reflect.Array:
		for i := range src.Len() {
			if err := copyTo(dst.Index(i), src.Index(i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if src.IsNil() {
			return nil
		}
		dst.Set(reflect.MakeMapWithSize(dst.Type(), src.Len()))
		k, v := reflect.New(dst.Type().Key()).Elem(), reflect.New(dst.Type().Elem()).Elem()
		for it := src.MapRange(); it.Next(); {
			k.SetZero()
			v.SetZero()
			if err := copyTo(k, it.Key()); err != nil {
				return err
			}
			if err := copyTo(v, it.Value()); err != nil {
				return err
			}
			dst.SetMapIndex(k, v)
		}
		return nil
	}
	dst.Set(src)
	return nil
}

// encodeHandle sets dst, a cbor.RawMessage, to the encoding of the
// handle p points to.
func encodeHandle(dst reflect.Value, h handleCodec, p reflect.Value) error {
	b, err := h.encode(p)
	if err != nil {
		t := p.Type().Elem().String()
		return &EncodeError{Type: t, Part: t, Reason: err.Error(), Err: err}
	}
	dst.SetBytes(b)
	return nil
}

// unmarshalWith decodes data into v with dm, through v's mirror if v
// holds handles.
func unmarshalWith(dm cbor.DecMode, data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return dm.Unmarshal(data, v) // the library says what it cannot decode into
	}
	ti := infoOf(rv.Type())
	if !ti.handles {
		if !ti.complex {
			return dm.Unmarshal(data, v)
		}
		return dm.Unmarshal(data, forDecoding(v))
	}
	mt, err := mirrorOf(rv.Type().Elem())
	if err != nil {
		return fmt.Errorf("wire: cannot decode into %s: %w", rv.Type(), err)
	}
	m := reflect.New(mt)
	if err := dm.Unmarshal(data, m.Interface()); err != nil {
		return err
	}
	return copyFrom(rv.Elem(), m.Elem())
}

// copyFrom sets dst to the value whose mirror is src, handles decoded.
func copyFrom(dst, src reflect.Value) error {
	t := dst.Type()
	ti := infoOf(t)
	switch {
	case plain(ti) || !ti.handles:
		if src.Type() == t {
			dst.Set(src)
			return nil
		}
		// complex numbers only: same layout
		p := reflect.New(src.Type())
		p.Elem().Set(src)
		dst.Set(reflect.NewAt(t, p.UnsafePointer()).Elem())
		return nil
	case ti.handle != nil:
		dst.SetZero()
		if isNull(src.Bytes()) {
			return nil
		}
		return decodeHandle(ti.handle, dst.Addr(), src.Bytes())
	}
	switch t.Kind() {
	case reflect.Pointer:
		if h := infoOf(t.Elem()).handle; h != nil {
			if isNull(src.Bytes()) {
				dst.SetZero()
				return nil
			}
			p := reflect.New(t.Elem())
			if err := decodeHandle(h, p, src.Bytes()); err != nil {
				return err
			}
			dst.Set(p)
			return nil
		}
		if src.IsNil() {
			dst.SetZero()
			return nil
		}
		if dst.IsNil() {
			dst.Set(reflect.New(t.Elem()))
		}
		return copyFrom(dst.Elem(), src.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if _, ok := encodedField(t.Field(i)); !ok {
				continue
			}
			if err := copyFrom(dst.Field(i), src.Field(i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if src.IsNil() {
			dst.SetZero()
			return nil
		}
		dst.Set(reflect.MakeSlice(t, src.Len(), src.Len()))
		fallthrough
	case reflect.Array:
		for i := range min(src.Len(), dst.Len()) {
			if err := copyFrom(dst.Index(i), src.Index(i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if src.IsNil() {
			dst.SetZero()
			return nil
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMapWithSize(t, src.Len()))
		}
		for it := src.MapRange(); it.Next(); {
			k, v := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			if err := copyFrom(k, it.Key()); err != nil {
				return err
			}
			if err := copyFrom(v, it.Value()); err != nil {
				return err
			}
			dst.SetMapIndex(k, v)
		}
		return nil
	}
	return fmt.Errorf("wire: cannot decode a %s holding handles", t)
}

// decodeHandle makes the handle p points to from data.
func decodeHandle(h handleCodec, p reflect.Value, data []byte) error {
	if err := h.decode(p, data); err != nil {
		return fmt.Errorf("wire: decoding a %s: %w", p.Type().Elem(), err)
	}
	return nil
}
