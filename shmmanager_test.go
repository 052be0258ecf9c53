//go:build linux

package mp_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mp-go/mp"
)

// fillSegment writes 7s into a SharedMemory and sets item 0 of a list.
type smmJob struct {
	M *mp.SharedMemory
	L *mp.ShareableList
}

var fillSegment = mp.Register("test.fillSegment", func(_ context.Context, j smmJob) (struct{}, error) {
	for i := range j.M.Buf() {
		j.M.Buf()[i] = 7
	}
	return struct{}{}, j.L.Set(0, "child")
})

// CPython: _TestSharedMemory.test_shared_memory_SharedMemoryManager_basics
// (segments made by the manager are used by another process, then all
// unlinked by shutdown).
func TestSharedMemoryManager(t *testing.T) {
	ctx := context.Background()
	smm := mp.NewSharedMemoryManager()
	defer smm.Shutdown()
	m, err := smm.SharedMemory(64)
	if err != nil {
		t.Fatal(err)
	}
	l, err := smm.ShareableList([]any{"parent", 3})
	if err != nil {
		t.Fatal(err)
	}
	p, err := mp.NewProcess(fillSegment, smmJob{m, l})
	startProcess(t, p, err)
	within(t, "Join", func() { err = p.Join(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	if m.Buf()[63] != 7 {
		t.Error("the child's writes are not seen")
	}
	if v, _ := l.Get(0); v != "child" {
		t.Errorf("item 0 = %v", v)
	}
	names := []string{m.Name(), l.SharedMemory().Name()}
	if err := smm.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if a, err := mp.AttachSharedMemory(name); err == nil {
			a.Close()
			t.Errorf("segment %s still there after Shutdown", name)
		}
	}
	if err := smm.Shutdown(); err != nil {
		t.Errorf("a second Shutdown: %v", err)
	}
	if _, err := smm.SharedMemory(8); !errors.Is(err, mp.ErrManagerShutdown) {
		t.Errorf("SharedMemory after Shutdown: %v", err)
	}
	if _, err := smm.ShareableList([]any{1}); !errors.Is(err, mp.ErrManagerShutdown) {
		t.Errorf("ShareableList after Shutdown: %v", err)
	}
	var zero mp.SharedMemoryManager // the zero value works
	z, err := zero.SharedMemory(8)
	if err != nil {
		t.Fatal(err)
	}
	zero.Shutdown()
	if a, err := mp.AttachSharedMemory(z.Name()); err == nil {
		a.Close()
		t.Error("the zero manager's segment survived Shutdown")
	}
}
