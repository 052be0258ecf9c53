package wire

import (
	"fmt"
	"reflect"
	"strconv"

	"github.com/fxamacker/cbor/v2"
)

// Decoding limits: bytes from another process are never trusted to be
// small or shallow.
const (
	MaxDepth    = 64
	MaxElements = 1 << 24 // per array or map
)

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{Time: cbor.TimeRFC3339Nano}.EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		MaxNestedLevels:  MaxDepth,
		MaxArrayElements: MaxElements,
		MaxMapPairs:      MaxElements,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Marshal encodes v. If v cannot be encoded, the error names v's type and
// the path inside v to the first part that cannot (".Conn", "[3]",
// "[\"key\"]").
func Marshal(v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		if path, typ, ok := unencodable(reflect.ValueOf(v), "", 0); ok {
			return nil, fmt.Errorf("wire: cannot encode %T: %s at %s", v, typ, orRoot(path))
		}
		return nil, fmt.Errorf("wire: cannot encode %T: %w", v, err)
	}
	return b, nil
}

// Unmarshal decodes data into v within the decoding limits.
func Unmarshal(data []byte, v any) error { return decMode.Unmarshal(data, v) }

func orRoot(p string) string {
	if p == "" {
		return "the value itself"
	}
	return p
}

// unencodable walks v for a part CBOR cannot encode.
func unencodable(v reflect.Value, path string, depth int) (string, string, bool) {
	if !v.IsValid() || depth > MaxDepth {
		return "", "", false
	}
	switch v.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return path, v.Type().String(), true
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", "", false
		}
		return unencodable(v.Elem(), path, depth+1)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			if p, typ, ok := unencodable(v.Field(i), path+"."+t.Field(i).Name, depth+1); ok {
				return p, typ, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return "", "", false
		}
		for i := range v.Len() {
			if p, typ, ok := unencodable(v.Index(i), path+"["+strconv.Itoa(i)+"]", depth+1); ok {
				return p, typ, true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			key := fmt.Sprintf("[%#v]", it.Key().Interface())
			if p, typ, ok := unencodable(it.Key(), path+key+"(key)", depth+1); ok {
				return p, typ, true
			}
			if p, typ, ok := unencodable(it.Value(), path+key, depth+1); ok {
				return p, typ, true
			}
		}
	}
	return "", "", false
}
