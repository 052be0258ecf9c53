//go:build linux

package conformance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/mp-go/mp"
)

type writeArgs struct {
	Name string
	SHM  *mp.SharedMemory
	Data []byte
}

// attachThenWrite is _TestSharedMemory._attach_existing_shmem_then_write:
// by name, or by the object itself.
var attachThenWrite = mp.Register("conf.attachThenWrite", func(_ context.Context, a writeArgs) (struct{}, error) {
	m := a.SHM
	if m == nil {
		var err error
		if m, err = mp.AttachSharedMemory(a.Name); err != nil {
			return struct{}{}, err
		}
	}
	copy(m.Buf(), a.Data)
	return struct{}{}, m.Close()
})

func shmName(prefix string) string { return fmt.Sprintf("%s%d", prefix, os.Getpid()) }

func createShm(t *testing.T, name string, size int) *mp.SharedMemory {
	t.Helper()
	m, err := mp.CreateSharedMemory(name, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); m.Unlink() })
	return m
}

// TestSharedMemory ports _TestSharedMemory (ShareableList and
// SharedMemoryManager are issue 12 §3's, not in mp yet).
func TestSharedMemory(t *testing.T) {
	// CPython: _TestSharedMemory.test_shared_memory_basics
	t.Run("test_shared_memory_basics", func(t *testing.T) {
		name := shmName("test01_tsmb")
		sms := createShm(t, name, 512)
		if sms.Name() != name || sms.Size() < 512 || len(sms.Buf()) < sms.Size() {
			t.Fatalf("name %q size %d len(buf) %d", sms.Name(), sms.Size(), len(sms.Buf()))
		}
		sms.Buf()[0] = 42
		also, err := mp.AttachSharedMemory(name)
		if err != nil {
			t.Fatal(err)
		}
		if also.Buf()[0] != 42 {
			t.Fatal("an attached segment does not see the write")
		}
		also.Close()
		if _, err := mp.CreateSharedMemory("", -2); err == nil {
			t.Fatal("size=-2 accepted")
		}
		// Double unlink: Python's second fails with FileNotFoundError; mp's
		// Unlink is idempotent (docs/python-differences.md), but the name
		// is gone after the first.
		uno := createShm(t, shmName("test01_dblunlink"), 5000)
		duo, err := mp.AttachSharedMemory(uno.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := duo.Unlink(); err != nil {
			t.Fatal(err)
		}
		duo.Close()
		if m, err := mp.AttachSharedMemory(uno.Name()); !errors.Is(err, fs.ErrNotExist) {
			if m != nil {
				m.Close()
			}
			t.Fatalf("attach after unlink: %v, want ErrNotExist", err)
		}
		if err := uno.Unlink(); err != nil {
			t.Fatalf("a second unlink: %v", err)
		}
		// There can only be one: create with a taken name.
		if m, err := mp.CreateSharedMemory(name, 512); !errors.Is(err, fs.ErrExist) {
			if m != nil {
				m.Unlink()
			}
			t.Fatalf("create with a taken name: %v, want ErrExist", err)
		}
		if m, err := mp.AttachSharedMemory("test01_notthere"); !errors.Is(err, fs.ErrNotExist) {
			if m != nil {
				m.Unlink()
			}
			t.Fatalf("attach a missing name: %v, want ErrNotExist", err)
		}
	})

	// CPython: _TestSharedMemory.test_shared_memory_recreate
	t.Run("test_shared_memory_recreate", func(t *testing.T) {
		// CPython makes the name generator return a taken name first: a
		// fresh name is then tried. Here: fresh names never collide.
		a := createShm(t, "", 1)
		b := createShm(t, "", 1)
		if a.Name() == b.Name() || a.Name() == "" {
			t.Fatalf("two new segments named %q and %q", a.Name(), b.Name())
		}
	})

	// CPython: _TestSharedMemory.test_invalid_shared_memory_cration
	t.Run("test_invalid_shared_memory_cration", func(t *testing.T) {
		for _, size := range []int{-1, 0} {
			if m, err := mp.CreateSharedMemory("", size); err == nil {
				m.Unlink()
				t.Fatalf("size=%d accepted", size)
			}
		}
	})

	// CPython: _TestSharedMemory.test_shared_memory_pickle_unpickle
	t.Run("test_shared_memory_pickle_unpickle", func(t *testing.T) {
		ctx := testCtx(t)
		sms := createShm(t, "", 512)
		copy(sms.Buf(), "pickle")
		// pickle.dumps/loads: through a queue, which encodes the handle.
		q := newQueue[*mp.SharedMemory](t, 0)
		if err := q.Put(ctx, sms); err != nil {
			t.Fatal(err)
		}
		sms2, err := q.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sms2.Name() != sms.Name() || string(sms2.Buf()[:6]) != "pickle" {
			t.Fatalf("unpickled %q: %q", sms2.Name(), sms2.Buf()[:6])
		}
		copy(sms.Buf(), "newval")
		if string(sms2.Buf()[:6]) != "newval" {
			t.Fatal("the copy does not see the original's write")
		}
		copy(sms2.Buf(), "oldval")
		if string(sms.Buf()[:6]) != "oldval" {
			t.Fatal("the original does not see the copy's write")
		}
	})

	// CPython: _TestSharedMemory.test_shared_memory_pickle_unpickle_dead_object
	t.Run("test_shared_memory_pickle_unpickle_dead_object", func(t *testing.T) {
		ctx := testCtx(t)
		sms, err := mp.CreateSharedMemory("", 512)
		if err != nil {
			t.Fatal(err)
		}
		q := newQueue[*mp.SharedMemory](t, 0)
		if err := q.Put(ctx, sms); err != nil {
			t.Fatal(err)
		}
		sms.Close()
		sms.Unlink()
		if m, err := q.Get(ctx); err == nil || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("unpickling an unlinked segment: %v, %v; want ErrNotExist", m, err)
		}
	})

	// CPython: _TestSharedMemory.test_shared_memory_across_processes
	t.Run("test_shared_memory_across_processes", func(t *testing.T) {
		ctx := testCtx(t)
		sms := createShm(t, "", 512)
		p := startProcess(t, attachThenWrite, writeArgs{Name: sms.Name(), Data: []byte("howdy")}, mp.Daemon(true))
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if string(sms.Buf()[:5]) != "howdy" {
			t.Fatalf("buf = %q", sms.Buf()[:5])
		}
		p = startProcess(t, attachThenWrite, writeArgs{SHM: sms, Data: []byte("HELLO")}, mp.Daemon(true))
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if string(sms.Buf()[:5]) != "HELLO" {
			t.Fatalf("buf = %q", sms.Buf()[:5])
		}
	})

	// CPython: _TestSharedMemory.test_shared_memory_cleaned_after_process_termination
	t.Run("test_shared_memory_cleaned_after_process_termination", func(t *testing.T) {
		// A child makes a segment and is killed: CPython's resource
		// tracker unlinks the segment. mp unlinks a tree's segments when
		// the tree's first process ends (docs/python-differences.md):
		// here, a child's segment must survive the child, for the others
		// of its tree, and be unlinkable by the parent.
		ctx := testCtx(t)
		q := newQueue[string](t, 0)
		p := startProcess(t, makeShmAndWait, q)
		name, err := q.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.Kill()
		p.JoinTimeout(long)
		m, err := mp.AttachSharedMemory(name)
		if err != nil {
			t.Fatalf("a killed child's segment, within its tree: %v", err)
		}
		if err := m.Unlink(); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "mp-") {
			t.Logf("segment name %q", name)
		}
	})
}

var makeShmAndWait = mp.Register("conf.makeShmAndWait", func(ctx context.Context, q *mp.Queue[string]) (struct{}, error) {
	m, err := mp.CreateSharedMemory("", 512)
	if err != nil {
		return struct{}{}, err
	}
	if err := q.Put(ctx, m.Name()); err != nil {
		return struct{}{}, err
	}
	<-ctx.Done()
	return struct{}{}, nil
})
