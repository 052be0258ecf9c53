package wire

import (
	"encoding"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
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
}

// Error names the value's type, the part's path and type, and the reason.
func (e *EncodeError) Error() string {
	return fmt.Sprintf("cannot encode %s: %s at %s: %s", e.Type, e.Part, orRoot(e.Path), e.Reason)
}

// Is reports whether target is ErrEncode.
func (e *EncodeError) Is(target error) bool { return target == ErrEncode }

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
	if t.Kind() != reflect.Pointer && opaque(t) {
		return &typeInfo{simple: true}
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
		return computeInfo(t.Elem(), busy)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &typeInfo{simple: true} // a byte string
		}
		e := computeInfo(t.Elem(), busy)
		return &typeInfo{simple: e.simple, depth: 1 + e.depth, bad: e.bad, badPath: "[0]" + e.badPath, complex: e.complex}
	case reflect.Map:
		k, e := computeInfo(t.Key(), busy), computeInfo(t.Elem(), busy)
		ti := &typeInfo{simple: k.simple && e.simple, depth: 1 + max(k.depth, e.depth), bad: k.bad, badPath: "[key]" + k.badPath, complex: k.complex || e.complex}
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
			fi := computeInfo(f.Type, busy)
			ti.simple = ti.simple && fi.simple
			ti.complex = ti.complex || fi.complex
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

// Check reports whether v can be encoded within the limits, without
// encoding it: an *EncodeError naming the first part that cannot (a
// function, a channel, a complex number, a pointer cycle, nesting past
// MaxDepth, more than MaxElements elements), or nil.
func Check(v any) error { return checkAt(v, 0) }

// checkAt checks v at depth levels inside the message (-1: v is a slice
// whose elements are the values, as MarshalSlice sends them).
func checkAt(v any, depth int) error {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	ti := infoOf(rv.Type())
	limit := MaxDepth()
	if ti.simple && depth+ti.depth <= limit && !ti.complex {
		return nil
	}
	w := &walker{limit: limit}
	if e := w.walk(rv, depth, 0); e != nil {
		if w.tooDeep {
			// Too deep, or going round a cycle: walk again, remembering
			// the pointers on the way, to tell which.
			w2 := &walker{limit: limit, seen: map[visit]int{}}
			if e2 := w2.walk(rv, depth, 0); e2 != nil {
				e = e2
			}
		}
		e.Type = rv.Type().String()
		return e
	}
	if ti.complex {
		if _, err := mirrorOf(rv.Type()); err != nil {
			return &EncodeError{Type: rv.Type().String(), Part: rv.Type().String(), Reason: err.Error()}
		}
	}
	return nil
}

// walker walks a value for parts that cannot be encoded.
type walker struct {
	limit   int
	path    []seg
	seen    map[visit]int // pointers on the path → len(path) there; nil: not looking for cycles
	tooDeep bool
}

// visit is a pointer on the path: the same address with the same type
// (and length, for a slice) again means a cycle.
type visit struct {
	p uintptr
	t reflect.Type
	n int
}

// seg is one step of a path: a field, an index, or a map key.
type seg struct {
	field string
	index int
	key   reflect.Value
	isKey bool // the map key itself, not its value
}

func (w *walker) fail(part reflect.Type, reason string) *EncodeError {
	return &EncodeError{Path: render(w.path), Part: part.String(), Reason: reason}
}

// walk checks v, with depth arrays, maps and structs around it and hops
// steps from the root.
func (w *walker) walk(v reflect.Value, depth, hops int) *EncodeError {
	if !v.IsValid() {
		return nil
	}
	t := v.Type()
	ti := infoOf(t)
	if ti.simple && depth+ti.depth <= w.limit {
		return nil
	}
	if t.Kind() != reflect.Pointer && opaque(t) {
		return nil
	}
	if badKind(t.Kind()) {
		return w.fail(t, reasonFor(t.Kind()))
	}
	if hops > 4*w.limit+64 {
		w.tooDeep = true
		return w.fail(t, reasonDepth(w.limit))
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return w.badInside(ti)
		}
		if t.Kind() == reflect.Interface && infoOf(v.Elem().Type()).complex {
			return w.fail(v.Elem().Type(), reasonComplex)
		}
		if t.Kind() == reflect.Pointer && w.seen != nil {
			k := visit{p: v.Pointer(), t: t}
			if e := w.enter(k, t); e != nil {
				return e
			}
			defer delete(w.seen, k)
		}
		return w.walk(v.Elem(), depth, hops+1)
	case reflect.Struct:
		if depth+1 > w.limit {
			w.tooDeep = true
			return w.fail(t, reasonDepth(w.limit))
		}
		for i := range t.NumField() {
			f := t.Field(i)
			flat, ok := encodedField(f)
			if !ok {
				continue
			}
			d := depth + 1
			if flat {
				d = depth
			}
			w.path = append(w.path, seg{field: f.Name})
			if e := w.walk(v.Field(i), d, hops+1); e != nil {
				return e
			}
			w.path = w.path[:len(w.path)-1]
		}
		return nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil
		}
		if v.Len() == 0 {
			return w.badInside(ti)
		}
		if depth+1 > w.limit {
			w.tooDeep = true
			return w.fail(t, reasonDepth(w.limit))
		}
		if v.Len() > MaxElements {
			return w.fail(t, fmt.Sprintf("%d elements, more than the %d an array may have on the wire: send it in parts", v.Len(), MaxElements))
		}
		if t.Kind() == reflect.Slice && w.seen != nil {
			k := visit{p: v.Pointer(), t: t, n: v.Len()}
			if e := w.enter(k, t); e != nil {
				return e
			}
			defer delete(w.seen, k)
		}
		if e := infoOf(t.Elem()); e.simple && depth+1+e.depth <= w.limit {
			return nil
		}
		for i := range v.Len() {
			w.path = append(w.path, seg{index: i})
			if e := w.walk(v.Index(i), depth+1, hops+1); e != nil {
				return e
			}
			w.path = w.path[:len(w.path)-1]
		}
		return nil
	case reflect.Map:
		if v.Len() == 0 {
			return w.badInside(ti)
		}
		if depth+1 > w.limit {
			w.tooDeep = true
			return w.fail(t, reasonDepth(w.limit))
		}
		if v.Len() > MaxElements {
			return w.fail(t, fmt.Sprintf("%d entries, more than the %d a map may have on the wire: send it in parts", v.Len(), MaxElements))
		}
		if w.seen != nil {
			k := visit{p: v.Pointer(), t: t}
			if e := w.enter(k, t); e != nil {
				return e
			}
			defer delete(w.seen, k)
		}
		for it := v.MapRange(); it.Next(); {
			w.path = append(w.path, seg{key: it.Key(), isKey: true})
			if e := w.walk(it.Key(), depth+1, hops+1); e != nil {
				return e
			}
			w.path[len(w.path)-1].isKey = false
			if e := w.walk(it.Value(), depth+1, hops+1); e != nil {
				return e
			}
			w.path = w.path[:len(w.path)-1]
		}
		return nil
	}
	return nil
}

// badInside fails a nil or empty container whose type holds a part that
// cannot be encoded: the encoder refuses the type whatever the value.
func (w *walker) badInside(ti *typeInfo) *EncodeError {
	if ti.bad == nil {
		return nil
	}
	return &EncodeError{Path: render(w.path) + ti.badPath, Part: ti.bad.String(), Reason: reasonFor(ti.bad.Kind()) + " (the encoder refuses the type even where this part is nil or empty)"}
}

// enter records pointer k on the path, or fails if it is there already.
func (w *walker) enter(k visit, t reflect.Type) *EncodeError {
	if n, ok := w.seen[k]; ok {
		return w.fail(t, reasonCycle(render(w.path[:n])))
	}
	w.seen[k] = len(w.path)
	return nil
}

// render writes a path the Go way (.Field, [3], ["key"]), a step
// repeated many times once with a count.
func render(path []seg) string {
	var b strings.Builder
	for i := 0; i < len(path); {
		s := segString(path[i])
		j := i + 1
		for j < len(path) && segString(path[j]) == s {
			j++
		}
		if n := j - i; n >= 4 {
			fmt.Fprintf(&b, "%s…(%d times)", s, n)
		} else {
			b.WriteString(strings.Repeat(s, n))
		}
		i = j
	}
	return b.String()
}

func segString(s seg) string {
	switch {
	case s.field != "":
		return "." + s.field
	case s.key.IsValid():
		k := "?"
		if s.key.CanInterface() {
			k = fmt.Sprintf("%#v", s.key.Interface())
		}
		if len(k) > 40 {
			k = k[:37] + "..."
		}
		if s.isKey {
			return "[" + k + "](the key)"
		}
		return "[" + k + "]"
	}
	return "[" + strconv.Itoa(s.index) + "]"
}
