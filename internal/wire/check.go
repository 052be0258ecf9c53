package wire

import (
	"encoding"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// opaque: the encoder writes values of the type by a method of their
	// own, without looking inside.
	opaque bool
	// custom: the type holds values that write their own CBOR
	// (cbor.Marshaler), whose nesting only the bytes tell.
	custom bool
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
		return &typeInfo{simple: e.simple, depth: e.depth, bad: e.bad, badPath: e.badPath, complex: e.complex, custom: e.custom}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &typeInfo{simple: true} // a byte string
		}
		e := computeInfo(t.Elem(), busy)
		return &typeInfo{simple: e.simple, depth: 1 + e.depth, bad: e.bad, badPath: "[0]" + e.badPath, complex: e.complex, custom: e.custom}
	case reflect.Map:
		k, e := computeInfo(t.Key(), busy), computeInfo(t.Elem(), busy)
		ti := &typeInfo{simple: k.simple && e.simple, depth: 1 + max(k.depth, e.depth), bad: k.bad, badPath: "[key]" + k.badPath, complex: k.complex || e.complex, custom: k.custom || e.custom}
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
func Check(v any) error {
	_, err := checkAt(v, 0)
	return err
}

// checkAt checks v at depth levels inside the message (-1: v is a slice
// whose elements are the values, as MarshalSlice sends them). custom
// says that v holds values that write their own CBOR: only the bytes
// tell how deep they nest.
func checkAt(v any, depth int) (custom bool, err error) {
	if v == nil {
		return false, nil
	}
	rv := reflect.ValueOf(v)
	ti := infoOf(rv.Type())
	limit := MaxDepth()
	if ti.simple && depth+ti.depth <= limit && !ti.complex {
		return ti.custom, nil
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
		return false, e.done(rv.Type())
	}
	if ti.complex {
		if _, err := mirrorOf(rv.Type()); err != nil {
			return false, &EncodeError{Type: rv.Type().String(), Part: rv.Type().String(), Reason: err.Error()}
		}
	}
	return ti.custom || w.custom, nil
}

// walker walks a value for parts that cannot be encoded. The path to a
// part is made only when one is found, on the way back (walkError.rev),
// except when looking for cycles: the path is then kept as it goes.
type walker struct {
	limit   int
	seen    map[visit]int // pointers on the path → len(path) there; nil: not looking for cycles
	path    []seg         // kept only when seen is not nil
	tooDeep bool
	custom  bool // met a value that writes its own CBOR
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

// walkError is an EncodeError on its way back to the root.
type walkError struct {
	EncodeError
	rev    []seg  // the path from the part back to the root
	suffix string // the path on from the part, by its type (badInside)
}

func (e *walkError) done(root reflect.Type) *EncodeError {
	slices.Reverse(e.rev)
	e.Type, e.Path = root.String(), render(e.rev)+e.suffix
	return &e.EncodeError
}

// step adds s to the path of e, if any, on the way back.
func step(e *walkError, s seg) *walkError {
	if e != nil {
		e.rev = append(e.rev, s)
	}
	return e
}

func fail(part reflect.Type, reason string) *walkError {
	return &walkError{EncodeError: EncodeError{Part: part.String(), Reason: reason}}
}

func (w *walker) failDeep(t reflect.Type) *walkError {
	w.tooDeep = true
	return fail(t, reasonDepth(w.limit))
}

// push and pop keep the path while looking for cycles.
func (w *walker) push(s seg) {
	if w.seen != nil {
		w.path = append(w.path, s)
	}
}

func (w *walker) pop() {
	if w.seen != nil {
		w.path = w.path[:len(w.path)-1]
	}
}

// walk checks v, of type info ti (nil: look it up), with depth arrays,
// maps and structs around it and hops steps from the root.
func (w *walker) walk(v reflect.Value, ti *typeInfo, depth, hops int) *walkError {
	if k := v.Kind(); k == reflect.Invalid || k >= reflect.Bool && k <= reflect.Float64 || k == reflect.String {
		return nil
	}
	t := v.Type()
	if ti == nil {
		ti = infoOf(t)
	}
	if ti.simple && depth+ti.depth <= w.limit || ti.opaque {
		w.custom = w.custom || ti.custom
		return nil
	}
	if badKind(t.Kind()) {
		return fail(t, reasonFor(t.Kind()))
	}
	if hops > 4*w.limit+64 {
		return w.failDeep(t)
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return badInside(ti)
		}
		if t.Kind() == reflect.Interface && infoOf(v.Elem().Type()).complex {
			return fail(v.Elem().Type(), reasonComplex)
		}
		if t.Kind() == reflect.Pointer && w.seen != nil {
			k := visit{p: v.Pointer(), t: t}
			if e := w.enter(k, t); e != nil {
				return e
			}
			e := w.walk(v.Elem(), child(&ti.elem, t.Elem()), depth, hops+1)
			delete(w.seen, k)
			return e
		}
		if t.Kind() == reflect.Pointer {
			return w.walk(v.Elem(), child(&ti.elem, t.Elem()), depth, hops+1)
		}
		return w.walk(v.Elem(), nil, depth, hops+1)
	case reflect.Struct:
		if depth+1 > w.limit {
			return w.failDeep(t)
		}
		for i := range ti.fields {
			f := &ti.fields[i]
			d := depth + 1
			if f.flat {
				d = depth
			}
			w.push(seg{field: f.name})
			if e := w.walk(v.Field(f.index), child(&f.info, f.typ), d, hops+1); e != nil {
				return step(e, seg{field: f.name})
			}
			w.pop()
		}
		return nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil
		}
		if v.Len() == 0 {
			return badInside(ti)
		}
		if depth+1 > w.limit {
			return w.failDeep(t)
		}
		if v.Len() > MaxElements {
			return fail(t, fmt.Sprintf("%d elements, more than the %d an array may have on the wire: send it in parts", v.Len(), MaxElements))
		}
		ei := child(&ti.elem, t.Elem())
		if ei.simple && depth+1+ei.depth <= w.limit {
			return nil
		}
		var k visit
		if t.Kind() == reflect.Slice && w.seen != nil {
			k = visit{p: v.Pointer(), t: t, n: v.Len()}
			if e := w.enter(k, t); e != nil {
				return e
			}
		}
		for i := range v.Len() {
			w.push(seg{index: i})
			if e := w.walk(v.Index(i), ei, depth+1, hops+1); e != nil {
				return step(e, seg{index: i})
			}
			w.pop()
		}
		if k.t != nil {
			delete(w.seen, k)
		}
		return nil
	case reflect.Map:
		if v.Len() == 0 {
			return badInside(ti)
		}
		if depth+1 > w.limit {
			return w.failDeep(t)
		}
		if v.Len() > MaxElements {
			return fail(t, fmt.Sprintf("%d entries, more than the %d a map may have on the wire: send it in parts", v.Len(), MaxElements))
		}
		ki, vi := child(&ti.key, t.Key()), child(&ti.elem, t.Elem())
		keys := !ki.simple || depth+1+ki.depth > w.limit
		if !keys && vi.simple && depth+1+vi.depth <= w.limit {
			return nil
		}
		var k visit
		if w.seen != nil {
			k = visit{p: v.Pointer(), t: t}
			if e := w.enter(k, t); e != nil {
				return e
			}
		}
		// one key and one value for all entries: no copy per entry
		key, val := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		for it := v.MapRange(); it.Next(); {
			key.SetIterKey(it)
			w.push(seg{key: key})
			if keys {
				if e := w.walk(key, ki, depth+1, hops+1); e != nil {
					return step(e, seg{key: key, isKey: true})
				}
			}
			val.SetIterValue(it)
			if e := w.walk(val, vi, depth+1, hops+1); e != nil {
				return step(e, seg{key: key})
			}
			w.pop()
		}
		if k.t != nil {
			delete(w.seen, k)
		}
		return nil
	}
	return nil
}

// badInside fails a nil or empty container whose type holds a part that
// cannot be encoded: the encoder refuses the type whatever the value.
func badInside(ti *typeInfo) *walkError {
	if ti.bad == nil {
		return nil
	}
	e := fail(ti.bad, reasonFor(ti.bad.Kind())+" (the encoder refuses the type even where this part is nil or empty)")
	e.suffix = ti.badPath
	return e
}

// enter records pointer k on the path, or fails if it is there already.
func (w *walker) enter(k visit, t reflect.Type) *walkError {
	if n, ok := w.seen[k]; ok {
		return fail(t, reasonCycle(render(w.path[:n])))
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
