package wire

import (
	"fmt"
	"reflect"
)

// Handles: values such as an mp.Queue or a manager proxy that stand for
// something another process can reach (a shared-memory segment, an
// object on a server) travel as a small encoding of their own, made and
// read by the package that owns them. That encoding stays out of the
// owners' APIs: a handle type has no CBOR method; instead its first
// field, of type Handle, names the type's HandleCodec, which only this
// package calls. A value that holds handles is encoded through its
// handle mirror (mirror.go): the same type with each handle replaced by
// its encoding.

// HandleCodec encodes and decodes the handles of type H, a pointer to a
// struct whose first field is a Handle[H, C]. Implement it on an
// unexported zero-size type of the package that owns H.
type HandleCodec[H any] interface {
	// EncodeHandle returns the encoding of h (made with Marshal).
	EncodeHandle(h H) ([]byte, error)
	// DecodeHandle makes h, a new zero value, the handle that data
	// encodes. data comes from another process: decode it with
	// Unmarshal, which bounds it, and check what it names.
	DecodeHandle(h H, data []byte) error
}

// Handle marks a struct type as a handle: declare it as the type's first
// field, blank, with H a pointer to the type and C its codec:
//
//	type Queue[T any] struct {
//		_ wire.Handle[*Queue[T], queueCodec[T]]
//		...
//	}
//
// It takes no space.
type Handle[H any, C HandleCodec[H]] struct{}

// codec returns the handle's codec; the interface handleMark finds it.
func (Handle[H, C]) codec() handleCodec { return typedCodec[H, C]{} }

// handleMark is what a Handle field is.
type handleMark interface{ codec() handleCodec }

var typeHandleMark = reflect.TypeFor[handleMark]()

// handleCodec encodes and decodes a handle, given a pointer to it.
type handleCodec interface {
	ptrType() reflect.Type // H
	encode(p reflect.Value) ([]byte, error)
	decode(p reflect.Value, data []byte) error
}

type typedCodec[H any, C HandleCodec[H]] struct{}

func (typedCodec[H, C]) ptrType() reflect.Type { return reflect.TypeFor[H]() }

func (typedCodec[H, C]) encode(p reflect.Value) ([]byte, error) {
	var c C
	return c.EncodeHandle(p.Interface().(H))
}

func (typedCodec[H, C]) decode(p reflect.Value, data []byte) error {
	var c C
	return c.DecodeHandle(p.Interface().(H), data)
}

// handleOf returns the codec of t if t is a handle type (a struct whose
// first field is a Handle whose H is *t), or nil.
func handleOf(t reflect.Type) handleCodec {
	if t.Kind() != reflect.Struct || t.NumField() == 0 || !t.Field(0).Type.Implements(typeHandleMark) {
		return nil
	}
	c := reflect.Zero(t.Field(0).Type).Interface().(handleMark).codec()
	if c.ptrType() != reflect.PointerTo(t) {
		panic(fmt.Sprintf("wire: the Handle of %s names %s: it must name *%s", t, c.ptrType(), t))
	}
	return c
}

// isNull reports whether a handle's bytes are CBOR null (or none): a nil
// handle, which decodes to nil.
func isNull(b []byte) bool { return len(b) == 0 || len(b) == 1 && b[0] == cborNull }
