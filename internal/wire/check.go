package wire

import (
	"errors"
	"fmt"
	"reflect"
)

// ErrEncode is wrapped by every error about a value that cannot be
// encoded (see EncodeError).
var ErrEncode = errors.New("mp: a value cannot be encoded")

// EncodeError says why a value cannot be encoded, and where inside it.
type EncodeError struct {
	Type   string // the Go type of the whole value
	Path   string // where inside it, such as ".Items[2].Handler"; "" for the value itself
	Part   string // the Go type of the part at Path
	Reason string // why, and how to fix it
	Err    error  // the error of a handle's codec, if that is why
}

// Error names the value's type, the part's path and type, and the reason.
func (e *EncodeError) Error() string {
	return fmt.Sprintf("cannot encode %s: %s at %s: %s", e.Type, e.Part, orRoot(e.Path), e.Reason)
}

// Is reports whether target is ErrEncode.
func (e *EncodeError) Is(target error) bool { return target == ErrEncode }

// Unwrap returns the error of the handle's codec, or nil.
func (e *EncodeError) Unwrap() error { return e.Err }

func orRoot(p string) string {
	if p == "" {
		return "the value itself"
	}
	return p
}

// The reasons of EncodeErrors.
const (
	reasonFunc    = "functions cannot cross a process boundary (send data, and run code registered with mp.Register)"
	reasonChan    = "channels cannot cross a process boundary (use an mp.Queue or mp.Pipe)"
	reasonPointer = "untyped pointers cannot cross a process boundary"
	reasonComplex = "complex numbers inside an interface value cannot be encoded (give it a concrete type, or send the real and imaginary parts)"
)

func reasonDepth(limit int) string {
	return fmt.Sprintf("the value is nested more than %d levels deep (arrays, maps and structs inside one another), past the limit on the wire: flatten it, or raise the limit with the environment variable %s (up to %d), set before the program sends its first value", limit, DepthEnv, MaxMaxDepth)
}

func reasonCycle(back string) string {
	return fmt.Sprintf("a pointer cycle: this points back to %s, which contains it; a value with a cycle cannot be encoded (break the cycle, for example with indexes into a slice instead of pointers)", orRoot(back))
}

// Check reports whether v can be encoded within the limits, without
// encoding it: an *EncodeError naming the first part that cannot (a
// function, a channel, an unsafe pointer, a complex number inside an
// interface, a pointer cycle, nesting past MaxDepth, more than
// MaxElements elements), or nil. What a value's own MarshalCBOR method
// or a handle's codec writes is seen only by encoding it (Marshal does).
func Check(v any) error {
	_, _, err := checkAt(v, 0)
	return err
}

// checkAt checks v at depth levels inside the message (-1: v is a slice
// whose elements are the values, as MarshalSlice sends them). custom
// says that v holds values that write their own CBOR: only the bytes
// tell how deep they nest; handles, that v holds handles (handle.go).
func checkAt(v any, depth int) (custom, handles bool, err error) {
	if v == nil {
		return false, false, nil
	}
	rv := reflect.ValueOf(v)
	ti := infoOf(rv.Type())
	limit := MaxDepth()
	if ti.simple && depth+ti.depth <= limit && !ti.complex && !ti.handles {
		return ti.custom, false, nil
	}
	w := walker{limit: limit}
	if e := w.walk(rv, ti, depth, 0); e != nil {
		if w.tooDeep {
			// Too deep, or going round a cycle: walk again, remembering
			// the pointers on the way, to tell which.
			w2 := &walker{limit: limit, seen: map[visit]int{}}
			if e2 := w2.walk(rv, ti, depth, 0); e2 != nil {
				e = e2
			}
		}
		return false, false, e.done(rv.Type())
	}
	if ti.complex || ti.handles {
		if _, err := mirrorOf(rv.Type()); err != nil {
			return false, false, &EncodeError{Type: rv.Type().String(), Part: rv.Type().String(), Reason: err.Error()}
		}
	}
	return ti.custom || w.custom, ti.handles || w.handles, nil
}
