//go:build linux

package conformance

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/wire"
)

func newShareableList(t *testing.T, vals []any) *mp.ShareableList {
	t.Helper()
	l, err := mp.NewShareableList(vals)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Unlink() })
	return l
}

func slItems(l *mp.ShareableList) []any {
	var out []any
	for _, v := range l.All() {
		out = append(out, v)
	}
	return out
}

func slGet(t *testing.T, l *mp.ShareableList, i int) any {
	t.Helper()
	v, err := l.Get(i)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sameItems(a, b []any) bool {
	return slices.EqualFunc(a, b, func(x, y any) bool {
		if bx, ok := x.([]byte); ok {
			by, ok := y.([]byte)
			return ok && bytes.Equal(bx, by)
		}
		return x == y
	})
}

// unpickle is pickle.loads(pickle.dumps(l)): the handle's encoding (as
// it travels to another process), decoded into another ShareableList of
// the same segment.
func unpickle(t *testing.T, l *mp.ShareableList) *mp.ShareableList {
	t.Helper()
	b, err := wire.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var d mp.ShareableList
	if err := wire.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func TestShareableList(t *testing.T) {
	// CPython: _TestSharedMemory.test_shared_memory_ShareableList_basics
	// Python's format strings and negative indices have no mp counterpart;
	// a slot made for a number takes no string in mp
	// (docs/python-differences.md).
	t.Run("test_shared_memory_ShareableList_basics", func(t *testing.T) {
		want := []any{"howdy", []byte("HoWdY"), -273.154, 100, nil, true, 42}
		sl := newShareableList(t, want)
		if _, err := sl.Get(7); err == nil {
			t.Fatal("sl[7] did not fail")
		}
		if err := sl.Set(7, 2); err == nil {
			t.Fatal("sl[7] = 2 did not fail")
		}
		if err := sl.Set(0, "howdy"); err != nil {
			t.Fatal(err)
		}
		if sl.Len() != 7 {
			t.Fatalf("len = %d", sl.Len())
		}
		if _, err := sl.Index("100"); err == nil {
			t.Fatal("index('100') found a string that is not there")
		}
		if i, err := sl.Index(100); err != nil || i != 3 {
			t.Fatalf("index(100) = %d, %v", i, err)
		}
		if slGet(t, sl, 0) != "howdy" || slGet(t, sl, 5) != true {
			t.Fatal("sl[0], sl[-2]")
		}
		if got := slItems(sl); !sameItems(got, want) {
			t.Fatalf("tuple(sl) = %v, want %v", got, want)
		}
		if err := sl.Set(3, 42); err != nil || slGet(t, sl, 3) != 42 {
			t.Fatalf("sl[3] = 42: %v", err)
		}
		if err := sl.Set(0, "encodés"); err != nil || slGet(t, sl, 0) != "encodés" {
			t.Fatalf("sl[0] = 'encodés' (8 bytes of UTF-8): %v", err)
		}
		if !bytes.Equal(slGet(t, sl, 1).([]byte), []byte("HoWdY")) {
			t.Fatal("spillage into sl[1]")
		}
		if err := sl.Set(0, "encodées"); err == nil {
			t.Fatal("sl[0] = 'encodées' (9 bytes) exceeds the storage and did not fail")
		}
		if err := sl.Set(1, []byte("123456789")); err == nil {
			t.Fatal("sl[1] = b'123456789' exceeds the storage and did not fail")
		}
		if !bytes.Equal(slGet(t, sl, 1).([]byte), []byte("HoWdY")) {
			t.Fatal("sl[1] changed by a failed assignment")
		}
		if sl.Count(42) != 2 || sl.Count([]byte("HoWdY")) != 1 || sl.Count([]byte("adios")) != 0 {
			t.Fatalf("count(42) = %d, count(b'HoWdY') = %d, count(b'adios') = %d", sl.Count(42), sl.Count([]byte("HoWdY")), sl.Count([]byte("adios")))
		}
		// ShareableList(sl): a copy in a segment of its own
		cp := newShareableList(t, slItems(sl))
		if cp.SharedMemory().Name() == sl.SharedMemory().Name() || !sameItems(slItems(cp), slItems(sl)) {
			t.Fatal("a copy of the list")
		}
		cp.Set(6, 77)
		if slGet(t, cp, 6) != 77 || slGet(t, sl, 6) == 77 {
			t.Fatal("the copy shares its items")
		}
		// ShareableList(name=sl.shm.name): the same items
		tethered := unpickle(t, sl)
		if tethered.SharedMemory().Name() != sl.SharedMemory().Name() {
			t.Fatal("a tethered list has another segment")
		}
		tethered.Set(6, 880)
		if slGet(t, sl, 6) != 880 {
			t.Fatal("a tethered list's write is not seen")
		}
		tethered.Close()
		// the empty list
		empty := newShareableList(t, nil)
		if empty.Len() != 0 || empty.Count("any") != 0 {
			t.Fatal("the empty list")
		}
		if _, err := empty.Index(nil); err == nil {
			t.Fatal("index(None) in the empty list")
		}
	})

	// CPython: _TestSharedMemory.test_shared_memory_ShareableList_pickling
	t.Run("test_shared_memory_ShareableList_pickling", func(t *testing.T) {
		vals := make([]any, 10)
		for i := range vals {
			vals[i] = i
		}
		sl := newShareableList(t, vals)
		d := unpickle(t, sl)
		if d == sl || slGet(t, d, 9) != 9 {
			t.Fatal("the unpickled list")
		}
		// Python changes an int slot to a string; mp's slots keep their
		// kind of room, so numbers stand in for strings here.
		if err := d.Set(4, 44); err != nil || slGet(t, sl, 4) != 44 {
			t.Fatalf("deserialized_sl[4] = ... not seen: %v", err)
		}
		sl.Set(3, 33)
		if slGet(t, d, 3) != 33 {
			t.Fatal("sl[3] = ... not seen by the unpickled list")
		}
		large := make([]any, 400)
		for i := range large {
			large[i] = i
		}
		lsl := newShareableList(t, large)
		small, _ := wire.Marshal(sl)
		big, _ := wire.Marshal(lsl)
		if len(small) != len(big) {
			t.Fatalf("a list of 10 pickles to %d bytes, one of 400 to %d: the items travel", len(small), len(big))
		}
		d.Close()
	})

	// CPython: _TestSharedMemory.test_shared_memory_ShareableList_pickling_dead_object
	t.Run("test_shared_memory_ShareableList_pickling_dead_object", func(t *testing.T) {
		l, err := mp.NewShareableList([]any{1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		b, err := wire.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		l.Unlink()
		var d mp.ShareableList
		if err := wire.Unmarshal(b, &d); !errors.Is(err, os.ErrNotExist) {
			if err == nil {
				d.Close()
			}
			t.Fatalf("unpickling a list whose segment is unlinked: %v, want os.ErrNotExist (FileNotFoundError)", err)
		}
	})
}

func TestSharedMemoryManager(t *testing.T) {
	// CPython: _TestSharedMemory.test_shared_memory_SharedMemoryManager_basics
	// Python's smm must be started first (ValueError before); mp's zero
	// value is ready. After Shutdown, mp's methods fail with
	// ErrManagerShutdown.
	t.Run("test_shared_memory_SharedMemoryManager_basics", func(t *testing.T) {
		smm1 := mp.NewSharedMemoryManager()
		var lol []*mp.ShareableList
		for i := 5; i < 10; i++ {
			vals := make([]any, i)
			for j := range vals {
				vals[j] = j
			}
			l, err := smm1.ShareableList(vals)
			if err != nil {
				t.Fatal(err)
			}
			lol = append(lol, l)
		}
		var lom []*mp.SharedMemory
		for j := 32; j < 128; j += 16 {
			m, err := smm1.SharedMemory(j)
			if err != nil {
				t.Fatal(err)
			}
			lom = append(lom, m)
		}
		dl0 := unpickle(t, lol[0])
		if dl0.Len() != 5 {
			t.Fatalf("len(doppleganger_list0) = %d", dl0.Len())
		}
		ds0, err := mp.AttachSharedMemory(lom[0].Name())
		if err != nil {
			t.Fatal(err)
		}
		if len(ds0.Buf()) < 32 {
			t.Fatalf("len(doppleganger_shm0.buf) = %d", len(ds0.Buf()))
		}
		dl0.Close()
		ds0.Close()
		held := lom[0].Name()
		if err := smm1.Shutdown(); err != nil {
			t.Fatal(err)
		}
		if m, err := mp.AttachSharedMemory(held); !errors.Is(err, os.ErrNotExist) {
			if err == nil {
				m.Close()
			}
			t.Fatalf("a segment after shutdown(): %v, want os.ErrNotExist", err)
		}
		if _, err := smm1.SharedMemory(9); !errors.Is(err, mp.ErrManagerShutdown) {
			t.Fatalf("SharedMemory after Shutdown: %v, want ErrManagerShutdown", err)
		}

		// with SharedMemoryManager() as smm2: ...
		var heldList string
		func() {
			var smm2 mp.SharedMemoryManager
			defer smm2.Shutdown()
			sl, err := smm2.ShareableList([]any{"h", "o", "w", "d", "y"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := smm2.SharedMemory(128); err != nil {
				t.Fatal(err)
			}
			heldList = sl.SharedMemory().Name()
		}()
		if m, err := mp.AttachSharedMemory(heldList); !errors.Is(err, os.ErrNotExist) {
			if err == nil {
				m.Close()
			}
			t.Fatalf("a list after the with block: %v, want os.ErrNotExist", err)
		}
	})
}
