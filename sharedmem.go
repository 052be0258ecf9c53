package mp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"sync"
	"unsafe"

	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/shm"
	"github.com/mp-go/mp/internal/wire"
)

// SharedMemory is a named block of memory that several processes map at
// once (Python's multiprocessing.shared_memory.SharedMemory): on Linux a
// file in /dev/shm, mode 0600.
//
// A SharedMemory (and a RawArray or RawValue) can be passed as the
// argument of a Process or of a pool task, or inside one: only its name
// travels, and the receiving process maps the same memory. There the
// mapping lasts as long as the process (Close does nothing), since any
// number of tasks may share it.
//
// Clean-up: every segment made by a process tree is listed for the tree,
// and when the tree's first process (the one that ran the program) ends,
// however it ends, a tracker process unlinks what is listed — never while
// a process of the tree may still use it (they all die with it). Call
// Unlink to remove a segment earlier. In a program that does not call
// Main, no tracker runs: the segments of a tree that ended are then
// unlinked the next time the program makes one.
type SharedMemory struct {
	_        handle[*SharedMemory]
	seg      *shm.Segment
	received bool // decoded from an argument: mapped for the process's life
	mu       sync.Mutex
}

// ErrNoSharedMemory is wrapped by the error of a segment, or of a queue's
// or pipe's item, that does not fit in the shared memory left (/dev/shm,
// or $MP_SHM_DIR if set); the message gives the size wanted, the space
// left and the fix (a container's --shm-size, a bigger MP_SHM_DIR, a
// smaller QueueCapacity).
var ErrNoSharedMemory = shm.ErrNoSpace

// CreateSharedMemory makes a segment of size bytes, zeroed, backed by
// memory at once: a segment that does not fit is an error wrapping
// ErrNoSharedMemory, not a SIGBUS when it is first used. With name "" it
// gets a fresh name (Python's name=None).
func CreateSharedMemory(name string, size int) (*SharedMemory, error) {
	return createSharedMemory(name, size, size)
}

// createSharedMemory makes a segment of which the first now bytes are
// backed by memory at once (see reserve).
func createSharedMemory(name string, size, now int) (*SharedMemory, error) {
	if name == "" {
		var b [8]byte
		rand.Read(b[:])
		name = "mp-" + tree() + "-" + hex.EncodeToString(b[:])
	}
	trackTree()
	seg, err := shm.CreateLazy(name, size, now)
	if err != nil {
		return nil, err
	}
	if err := shm.Register(tree(), name); err != nil {
		seg.Close()
		shm.Unlink(name)
		return nil, err
	}
	return &SharedMemory{seg: seg}, nil
}

// reserve backs bytes [off, off+n) of the segment with memory.
func (m *SharedMemory) reserve(off, n int) error { return m.seg.Reserve(off, n) }

// AttachSharedMemory maps an existing segment by name (Python's
// SharedMemory(name)).
func AttachSharedMemory(name string) (*SharedMemory, error) {
	seg, err := shm.Open(name)
	if err != nil {
		return nil, err
	}
	return &SharedMemory{seg: seg}, nil
}

// Name returns the segment's name.
func (m *SharedMemory) Name() string { return m.seg.Name }

// Size returns the segment's size in bytes.
func (m *SharedMemory) Size() int { return len(m.seg.Data) }

// Buf returns the memory. It is valid until Close.
func (m *SharedMemory) Buf() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seg.Data
}

// Close unmaps the memory in this process; the segment stays for the
// others until Unlink. For a segment received as an argument it does
// nothing (see SharedMemory).
func (m *SharedMemory) Close() error {
	if m.received {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seg.Close()
}

// Unlink removes the segment's name: no process can attach it any more,
// and its memory is freed once every process has unmapped it.
func (m *SharedMemory) Unlink() error { return shm.Unlink(m.seg.Name) }

type shmHandle struct {
	Name string `cbor:"1,keyasint"`
	N    int    `cbor:"2,keyasint,omitempty"` // elements, for arrays
}

// encodeHandle encodes the handle: the segment's name.
func (m *SharedMemory) encodeHandle() ([]byte, error) {
	return wire.Marshal(shmHandle{Name: m.seg.Name})
}

// decodeHandle maps the segment named in b (once per process).
func (m *SharedMemory) decodeHandle(b []byte) error {
	var h shmHandle
	if err := wire.Unmarshal(b, &h); err != nil {
		return err
	}
	got, err := received(h.Name)
	if err != nil {
		return err
	}
	m.seg, m.received = got.seg, true
	return nil
}

// attached are the segments this process received as arguments, by name.
var attached struct {
	sync.Mutex
	byName map[string]*SharedMemory
}

func received(name string) (*SharedMemory, error) {
	attached.Lock()
	defer attached.Unlock()
	if m := attached.byName[name]; m != nil {
		return m, nil
	}
	m, err := AttachSharedMemory(name)
	if err != nil {
		return nil, err
	}
	m.received = true
	if attached.byName == nil {
		attached.byName = map[string]*SharedMemory{}
	}
	attached.byName[name] = m
	return m, nil
}

// RawArray is an array of n values of a plain type (numbers, bools,
// arrays and structs of them: no pointers) in shared memory, without a
// lock (Python's multiprocessing.RawArray). Pass it to a Process or a
// pool task and both sides see the same elements.
type RawArray[T any] struct {
	_ handle[*RawArray[T]]
	m *SharedMemory
	s []T
}

// NewRawArray makes a zeroed shared array of n values.
func NewRawArray[T any](n int) (*RawArray[T], error) {
	size, err := plainSize[T](n)
	if err != nil {
		return nil, err
	}
	m, err := CreateSharedMemory("", max(size, 1))
	if err != nil {
		return nil, err
	}
	return &RawArray[T]{m: m, s: view[T](m.Buf(), n)}, nil
}

// NewRawArrayFrom makes a shared array holding a copy of values (Python's
// RawArray(typecode, sequence)).
func NewRawArrayFrom[T any](values []T) (*RawArray[T], error) {
	a, err := NewRawArray[T](len(values))
	if err != nil {
		return nil, err
	}
	copy(a.s, values)
	return a, nil
}

// Slice returns the elements, in shared memory: valid until Close.
func (a *RawArray[T]) Slice() []T { return a.s }

// Len returns the number of elements.
func (a *RawArray[T]) Len() int { return len(a.s) }

// SharedMemory returns the segment that holds the array.
func (a *RawArray[T]) SharedMemory() *SharedMemory { return a.m }

// Close unmaps the array in this process (see SharedMemory.Close).
func (a *RawArray[T]) Close() error { return a.m.Close() }

// Unlink removes the array's segment (see SharedMemory.Unlink).
func (a *RawArray[T]) Unlink() error { return a.m.Unlink() }

// encodeHandle encodes the handle: the segment's name and the length.
func (a *RawArray[T]) encodeHandle() ([]byte, error) {
	return wire.Marshal(shmHandle{Name: a.m.Name(), N: len(a.s)})
}

// decodeHandle maps the array named in b.
func (a *RawArray[T]) decodeHandle(b []byte) error {
	var h shmHandle
	if err := wire.Unmarshal(b, &h); err != nil {
		return err
	}
	size, err := plainSize[T](h.N)
	if err != nil {
		return err
	}
	m, err := received(h.Name)
	if err != nil {
		return err
	}
	if m.Size() < size {
		return fmt.Errorf("mp: shared memory %q holds %d bytes, not %d %T values", h.Name, m.Size(), h.N, *new(T))
	}
	a.m, a.s = m, view[T](m.Buf(), h.N)
	return nil
}

// RawValue is one value of a plain type in shared memory, without a lock
// (Python's multiprocessing.RawValue).
type RawValue[T any] struct {
	_ handle[*RawValue[T]]
	a RawArray[T]
}

// NewRawValue makes a shared value holding v.
func NewRawValue[T any](v T) (*RawValue[T], error) {
	a, err := NewRawArray[T](1)
	if err != nil {
		return nil, err
	}
	a.s[0] = v
	return &RawValue[T]{a: *a}, nil
}

// Ptr returns the value's address, in shared memory: valid until Close.
func (v *RawValue[T]) Ptr() *T { return &v.a.s[0] }

// SharedMemory returns the segment that holds the value.
func (v *RawValue[T]) SharedMemory() *SharedMemory { return v.a.m }

// Close unmaps the value in this process (see SharedMemory.Close).
func (v *RawValue[T]) Close() error { return v.a.Close() }

// Unlink removes the value's segment (see SharedMemory.Unlink).
func (v *RawValue[T]) Unlink() error { return v.a.Unlink() }

func (v *RawValue[T]) encodeHandle() ([]byte, error) { return v.a.encodeHandle() }

// decodeHandle maps the value named in b.
func (v *RawValue[T]) decodeHandle(b []byte) error {
	if err := v.a.decodeHandle(b); err != nil {
		return err
	}
	if v.a.Len() != 1 {
		return fmt.Errorf("mp: a RawValue handle for %d values", v.a.Len())
	}
	return nil
}

// plainSize returns the bytes of n values of T, or why T cannot live in
// shared memory.
func plainSize[T any](n int) (int, error) {
	t := reflect.TypeFor[T]()
	if !plain(t) {
		return 0, fmt.Errorf("%w: %v holds pointers (strings, slices, maps...): shared memory takes numbers, bools, and arrays and structs of them", ErrInvalidOption, t)
	}
	if n < 0 || (t.Size() > 0 && n > (1<<46)/int(t.Size())) {
		return 0, fmt.Errorf("%w: %d values of %v", ErrInvalidOption, n, t)
	}
	return n * int(t.Size()), nil
}

func plain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return plain(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !plain(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

func view[T any](b []byte, n int) []T {
	if n == 0 {
		return []T{}
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// The process tree: its identity (the root's pid and start time), known
// to the workers through their environment.
var treeState struct {
	once    sync.Once
	id      string
	tracked sync.Once
}

const treeEnv = "MP_TREE"

func tree() string {
	treeState.once.Do(func() {
		if treeState.id == "" {
			treeState.id = shm.Tree()
		}
	})
	return treeState.id
}

// trackTree makes sure the tree's tracker runs (when the program calls
// Main, so that running it again starts the tracker and nothing else),
// and unlinks what dead trees left.
func trackTree() {
	treeState.tracked.Do(func() {
		shm.Sweep()
		if !mainCalled {
			return
		}
		exe, err := os.Executable()
		if err == nil {
			err = shm.EnsureTracker(tree(), exe, proc.SelfEnv(workerEnv+"="+workerCookie, treeEnv+"="+tree()))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "mp:", err)
		}
	})
}
