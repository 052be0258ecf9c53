package wire

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// walker walks a value for parts that cannot be encoded. The path to a
// part is made only when one is found, on the way back (walkError.rev),
// except when looking for cycles: the path is then kept as it goes.
type walker struct {
	limit   int
	seen    map[visit]int // pointers on the path → len(path) there; nil: not looking for cycles
	path    []seg         // kept only when seen is not nil
	tooDeep bool
	custom  bool // met a value that writes its own CBOR
	handles bool // met a handle (inside an interface: the type does not say)
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
		w.handles = w.handles || ti.handles
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
