package mp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/mp-go/mp/internal/wire"
)

// ShareableList is a list of a fixed length in shared memory whose items
// are ints, floats, bools, strings, byte slices or nil (Python's
// multiprocessing.shared_memory.ShareableList). Pass it to processes and
// tasks as an argument: they see the same items.
//
// As in Python, an item may be replaced by an int, float, bool or nil at
// any time, while a string or byte slice must fit the room its slot got
// when the list was made (its first value's length, rounded up to the
// next multiple of 8 bytes, as in Python). Ints are 64-bit. No lock guards the items: a reader may see a
// string or byte slice half-replaced, as in Python; guard them with a Lock
// if processes replace them while others read.
type ShareableList struct {
	_    handle[*ShareableList]
	m    *SharedMemory
	meta []slMeta
	data []byte
}

type slHeader struct {
	magic uint32
	n     uint32
}

// slMeta describes one item: its kind, and where its bytes are.
type slMeta struct {
	kind uint32 // slNone...
	room uint32 // bytes of the slot: 8, or 4 (the length) + a multiple of 8 for strings and bytes
	off  uint64 // from the start of the data
}

const (
	slNone = iota
	slInt
	slFloat
	slBool
	slString
	slBytes
)

const magicList = 0x6d704c73 // "mpLs"

// NewShareableList makes a shared list holding values (Python's
// ShareableList(sequence)).
func NewShareableList(values []any) (*ShareableList, error) {
	meta := make([]slMeta, len(values))
	size := 0
	for i, v := range values {
		kind, b, err := slEncode(v)
		if err != nil {
			return nil, fmt.Errorf("mp: ShareableList item %d: %w", i, err)
		}
		room := 8
		if kind == slString || kind == slBytes {
			room = 4 + (len(b)/8+1)*8 // Python's rounding
		}
		meta[i] = slMeta{kind: kind, room: uint32(room), off: uint64(size)}
		size += room
	}
	hsize := int(unsafe.Sizeof(slHeader{})) + len(values)*int(unsafe.Sizeof(slMeta{}))
	m, err := CreateSharedMemory("", hsize+size)
	if err != nil {
		return nil, err
	}
	l := slView(m, len(values))
	copy(l.meta, meta)
	for i, v := range values {
		if err := l.Set(i, v); err != nil {
			m.Unlink()
			return nil, err
		}
	}
	atomic.StoreUint32(&(*slHeader)(unsafe.Pointer(&m.Buf()[0])).magic, magicList)
	return l, nil
}

func slView(m *SharedMemory, n int) *ShareableList {
	buf := m.Buf()
	h := (*slHeader)(unsafe.Pointer(&buf[0]))
	h.n = uint32(n)
	hsize := int(unsafe.Sizeof(slHeader{}))
	var meta []slMeta
	if n > 0 {
		meta = unsafe.Slice((*slMeta)(unsafe.Pointer(&buf[hsize])), n)
	}
	return &ShareableList{m: m, meta: meta, data: buf[hsize+n*int(unsafe.Sizeof(slMeta{})):]}
}

// slEncode returns v's kind and its bytes.
func slEncode(v any) (uint32, []byte, error) {
	var b [8]byte
	switch x := v.(type) {
	case nil:
		return slNone, b[:], nil
	case bool:
		if x {
			b[0] = 1
		}
		return slBool, b[:], nil
	case string:
		return slString, []byte(x), nil
	case []byte:
		return slBytes, x, nil
	case float32:
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(float64(x)))
		return slFloat, b[:], nil
	case float64:
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
		return slFloat, b[:], nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		binary.LittleEndian.PutUint64(b[:], uint64(rv.Int()))
		return slInt, b[:], nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rv.Uint() > math.MaxInt64 {
			return 0, nil, fmt.Errorf("%d does not fit in a 64-bit int", rv.Uint())
		}
		binary.LittleEndian.PutUint64(b[:], rv.Uint())
		return slInt, b[:], nil
	}
	return 0, nil, fmt.Errorf("a %T: a ShareableList holds ints, floats, bools, strings, []byte and nil", v)
}

// Len returns the number of items.
func (l *ShareableList) Len() int { return len(l.meta) }

func (l *ShareableList) check(i int) error {
	if i < 0 || i >= len(l.meta) {
		return fmt.Errorf("mp: ShareableList index %d out of range [0, %d)", i, len(l.meta))
	}
	return nil
}

// Get returns item i: an int, float64, bool, string, []byte (a copy) or
// nil.
func (l *ShareableList) Get(i int) (any, error) {
	if err := l.check(i); err != nil {
		return nil, err
	}
	md := &l.meta[i]
	slot := l.data[md.off : md.off+uint64(md.room)]
	switch atomic.LoadUint32(&md.kind) {
	case slInt:
		return int(int64(binary.LittleEndian.Uint64(slot))), nil
	case slFloat:
		return math.Float64frombits(binary.LittleEndian.Uint64(slot)), nil
	case slBool:
		return slot[0] != 0, nil
	case slString, slBytes:
		n := min(int(binary.LittleEndian.Uint32(slot)), len(slot)-4)
		if atomic.LoadUint32(&md.kind) == slString {
			return string(slot[4 : 4+n]), nil
		}
		return bytes.Clone(slot[4 : 4+n]), nil
	}
	return nil, nil
}

// Set replaces item i with v (Python's l[i] = v): an int, float, bool or
// nil anywhere; a string or []byte only in a slot made for one, and no
// longer than its room.
func (l *ShareableList) Set(i int, v any) error {
	if err := l.check(i); err != nil {
		return err
	}
	kind, b, err := slEncode(v)
	if err != nil {
		return fmt.Errorf("mp: ShareableList.Set: %w", err)
	}
	md := &l.meta[i]
	slot := l.data[md.off : md.off+uint64(md.room)]
	if kind == slString || kind == slBytes {
		if md.room == 8 { // a slot made for a number, a bool or nil
			return fmt.Errorf("mp: ShareableList.Set: item %d was made for a number, a bool or nil: it has no room for a %T", i, v)
		}
		if len(b) > len(slot)-4 {
			return fmt.Errorf("mp: ShareableList.Set: a %T of %d bytes exceeds item %d's room of %d (set when the list was made)", v, len(b), i, len(slot)-4)
		}
		atomic.StoreUint32(&md.kind, kind)
		binary.LittleEndian.PutUint32(slot, uint32(len(b)))
		copy(slot[4:], b)
		return nil
	}
	if len(slot) < 8 {
		return fmt.Errorf("mp: ShareableList.Set: item %d has no room for a %T", i, v)
	}
	copy(slot, b)
	atomic.StoreUint32(&md.kind, kind)
	return nil
}

// All returns the items, by index.
func (l *ShareableList) All() iter.Seq2[int, any] {
	return func(yield func(int, any) bool) {
		for i := range l.meta {
			v, _ := l.Get(i)
			if !yield(i, v) {
				return
			}
		}
	}
}

// slEqual compares an item with v as Python's == would for these kinds
// (an int equals the float of the same value; True equals 1).
func slEqual(item, v any) bool {
	_, vb, err := slEncode(v)
	if err != nil {
		return false
	}
	switch x := item.(type) {
	case []byte:
		y, ok := v.([]byte)
		return ok && bytes.Equal(x, y)
	case string:
		y, ok := v.(string)
		return ok && x == y
	case nil:
		return v == nil
	}
	a, ok1 := slNumber(item)
	kind, _, _ := slEncode(v)
	var b float64
	switch kind {
	case slInt:
		b = float64(int64(binary.LittleEndian.Uint64(vb)))
	case slFloat:
		b = math.Float64frombits(binary.LittleEndian.Uint64(vb))
	case slBool:
		b = float64(vb[0])
	default:
		return false
	}
	return ok1 && a == b
}

func slNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// Index returns the index of the first item equal to v (Python's index);
// an error if there is none.
func (l *ShareableList) Index(v any) (int, error) {
	for i, item := range l.All() {
		if slEqual(item, v) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("mp: ShareableList.Index: %v is not in the list", v)
}

// Count returns the number of items equal to v (Python's count).
func (l *ShareableList) Count(v any) int {
	n := 0
	for _, item := range l.All() {
		if slEqual(item, v) {
			n++
		}
	}
	return n
}

// SharedMemory returns the segment that holds the list (Python's shm).
func (l *ShareableList) SharedMemory() *SharedMemory { return l.m }

// Close unmaps the list in this process (see SharedMemory.Close).
func (l *ShareableList) Close() error { return l.m.Close() }

// Unlink removes the list's segment (see SharedMemory.Unlink).
func (l *ShareableList) Unlink() error { return l.m.Unlink() }

// encodeHandle encodes the handle: the segment's name.
func (l *ShareableList) encodeHandle() ([]byte, error) {
	return wire.Marshal(shmHandle{Name: l.m.Name()})
}

var errBadList = errors.New("mp: malformed ShareableList in shared memory")

// decodeHandle maps the list named in b.
func (l *ShareableList) decodeHandle(b []byte) error {
	hsize := int(unsafe.Sizeof(slHeader{}))
	m, err := receivedKind(b, hsize, magicList, "ShareableList")
	if err != nil {
		return err
	}
	n := int((*slHeader)(unsafe.Pointer(&m.Buf()[0])).n)
	msize := int(unsafe.Sizeof(slMeta{}))
	if n > (m.Size()-hsize)/msize {
		return errBadList
	}
	v := slView(m, n)
	for _, md := range v.meta {
		if md.off > uint64(len(v.data)) || uint64(md.room) > uint64(len(v.data))-md.off || md.room < 8 {
			return errBadList
		}
	}
	*l = *v
	return nil
}
