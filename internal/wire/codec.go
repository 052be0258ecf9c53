package wire

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// The encoder modes: the CBOR library's options live here only.
var (
	// encMode writes values as they come: Marshal, MarshalSlice.
	encMode = mustEncMode(cbor.EncOptions{Time: cbor.TimeRFC3339Nano})
	// detMode writes equal values as equal bytes (map keys sorted,
	// shortest floats): MarshalDeterministic. Sorting map keys costs 2-3
	// times the encoding of a map, so the streams (queues, pipes, tasks)
	// do without it.
	detMode = func() cbor.EncMode {
		opts := cbor.CoreDetEncOptions()
		opts.Time = cbor.TimeRFC3339Nano
		return mustEncMode(opts)
	}()
)

func mustEncMode(opts cbor.EncOptions) cbor.EncMode {
	m, err := opts.EncMode()
	if err != nil {
		panic(err) // the options are constants
	}
	return m
}

// Marshal encodes v, after checking that it can be and that it is within
// the limits its receiver decodes (see Check): a value Marshal accepts,
// Unmarshal decodes. If v cannot be encoded, the error is an
// *EncodeError naming v's type and the path inside v to the part that
// cannot (".Conn", "[3]", "[\"key\"]").
func Marshal(v any) ([]byte, error) { return marshalAt(v, 0) }

// MarshalDeterministic encodes v as Marshal does, except that equal
// values encode to equal bytes: map keys sorted, floats in their
// shortest form. A manager's server compares such bytes (Dict keys,
// CompareAndSwap, List.Remove). Unmarshal decodes what it writes.
func MarshalDeterministic(v any) ([]byte, error) { return marshalWith(detMode, v, 0) }

// marshalAt encodes v to be decoded depth levels inside a message (-1: v
// is a slice whose elements are the values, see MarshalSlice).
func marshalAt(v any, depth int) ([]byte, error) { return marshalWith(encMode, v, depth) }

func marshalWith(em cbor.EncMode, v any, depth int) ([]byte, error) {
	custom, handles, err := checkAt(v, depth)
	if err != nil {
		return nil, err
	}
	m, err := forEncoding(v, handles)
	if err != nil {
		return nil, err
	}
	b, err := em.Marshal(m)
	if err != nil {
		return nil, &EncodeError{Type: fmt.Sprintf("%T", v), Part: fmt.Sprintf("%T", v), Reason: err.Error()}
	}
	// What a method of the value's own wrote (cbor.Marshaler) was not
	// walked, nor the length of arrays whose elements need no walk (an
	// array of more than MaxElements elements takes more bytes than
	// that): check the bytes as the receiver will.
	if custom || len(b) > MaxElements {
		if err := decoderAt(depth).Wellformed(b); err != nil {
			return nil, encodedTooBig(v, err)
		}
	}
	return b, nil
}

func encodedTooBig(v any, err error) *EncodeError {
	e := &EncodeError{Type: fmt.Sprintf("%T", v), Part: fmt.Sprintf("%T", v), Reason: err.Error()}
	var deep *cbor.MaxNestedLevelError
	if errors.As(err, &deep) {
		e.Reason = reasonDepth(MaxDepth())
	}
	return e
}

// decoderAt decodes values that are depth levels inside a message.
func decoderAt(depth int) cbor.DecMode {
	if depth < 0 {
		return theLimits().decSlice
	}
	return theLimits().dec
}

// Unmarshal decodes data into v within the decoding limits.
// Every decoding of bytes from another process goes through it (or
// UnmarshalSlice): handles too are decoded by their codecs with it.
func Unmarshal(data []byte, v any) error { return unmarshalWith(theLimits().dec, data, v) }

// cborNull is what MarshalEach writes for an item that cannot be encoded:
// decoding it leaves the receiver's zero value.
const cborNull = 0xf6

// MarshalEach encodes items as MarshalSlice does, except that an item
// that cannot be encoded does not fail the rest: it travels as its zero
// value, and its error is returned in errs, by index.
func MarshalEach[T any](items []T) (data []byte, errs map[int]error) {
	if data, err := MarshalSlice(items); err == nil {
		return data, nil
	}
	data = appendHead(nil, 4, uint64(len(items)))
	errs = map[int]error{}
	for i := range items {
		b, err := marshalAt(items[i], 0)
		if err != nil {
			errs[i] = err
			data = append(data, cborNull)
			continue
		}
		data = append(data, b...)
	}
	return data, errs
}

// appendHead appends the head of a CBOR data item of major type major
// with argument n.
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
