package manager

import (
	"fmt"

	"github.com/mp-go/mp/internal/wire"
)

// Values travel as deterministic CBOR (wire.MarshalDeterministic).
// Strings, integers, booleans and byte slices, the common keys and
// counters, take wire's scalar fast path (AppendScalar, DecodeScalar),
// which writes and reads the same bytes without reflection.

// values encodes several values into one buffer.
type values struct {
	buf  []byte
	ends []int
}

// add encodes v.
func (vs *values) add(v any) error { return addValue(vs, v) }

// addValue encodes v; generic, so that the fast path boxes nothing.
func addValue[T any](vs *values, v T) error {
	if b, ok := wire.AppendScalar(vs.buf, v); ok {
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
	if b, ok := wire.AppendScalar(nil, v); ok {
		return b, nil
	}
	return encode(any(v))
}

// encode encodes v for the server, naming what could not be encoded.
func encode(v any) ([]byte, error) {
	if b, ok := wire.AppendScalar[any](nil, v); ok {
		return b, nil
	}
	b, err := wire.MarshalDeterministic(v)
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err) // names the part that cannot be encoded
	}
	return b, nil
}

func decode[T any](b []byte) (T, error) {
	var fast T
	if wire.DecodeScalar(b, &fast) {
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
