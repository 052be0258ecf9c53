package ring

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/mp-go/mp/internal/futex"
)

// newRing makes a ring of capacity bytes in ordinary memory (the code
// does not care where the memory is).
func newRing(t *testing.T, capacity, maxsize int) *Ring {
	t.Helper()
	mem := make([]byte, Size(capacity))
	r := Init(mem, 0x7465_7374, capacity, capacity, maxsize, nil)
	if a, ok := Attach(mem, 0x7465_7374, nil); !ok || a.H != r.H {
		t.Fatal("Attach does not find the ring Init made")
	}
	if _, ok := Attach(mem, 0x6f746865, nil); ok {
		t.Fatal("Attach takes a ring of another magic")
	}
	return r
}

func TestPutGet(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		capacity int
		msgs     int
		size     int
	}{
		{"small", 64, 100, 7},     // wraps around many times
		{"exact", 64, 10, 60},     // a message as big as the ring
		{"big", 1 << 16, 50, 999}, // several in the ring at once
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(t, tt.capacity, 0)
			for i := range tt.msgs {
				msg := bytes.Repeat([]byte{byte(i)}, tt.size)
				if err := r.Put(ctx, msg, false); err != nil {
					t.Fatalf("Put %d: %v", i, err)
				}
				got, err := r.GetBuf(ctx, nil)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("Get %d: %v, %v", i, got, err)
				}
			}
			if _, err := r.Get(ctx, false, nil); !errors.Is(err, ErrEmpty) {
				t.Errorf("Get on an empty ring: %v, want ErrEmpty", err)
			}
		})
	}
}

func TestLimitsAndClose(t *testing.T) {
	ctx := context.Background()
	r := newRing(t, 64, 2)
	if err := r.Put(ctx, make([]byte, 61), false); err == nil {
		t.Error("a message bigger than the ring was put")
	}
	r.Put(ctx, []byte("a"), false)
	r.Put(ctx, []byte("b"), false)
	if err := r.Put(ctx, []byte("c"), false); !errors.Is(err, ErrFull) {
		t.Errorf("a third message with maxsize 2: %v, want ErrFull", err)
	}
	r.Close()
	if err := r.Put(ctx, []byte("c"), true); !errors.Is(err, ErrClosed) {
		t.Errorf("Put on a closed ring: %v", err)
	}
	for _, want := range []string{"a", "b"} {
		if got, err := r.Get(ctx, true, nil); string(got) != want || err != nil {
			t.Errorf("Get after Close: %q, %v, want %q", got, err, want)
		}
	}
	if _, err := r.Get(ctx, true, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Get on a closed empty ring: %v", err)
	}
}

// A Get that waits wakes when the ring is closed, or when PeerGone says
// the other side is gone.
func TestWaitersWake(t *testing.T) {
	for _, how := range []string{"Close", "PeerGone"} {
		t.Run(how, func(t *testing.T) {
			r := newRing(t, 256, 0)
			gone := make(chan struct{})
			r.PeerGone = func() bool {
				select {
				case <-gone:
					return true
				default:
					return false
				}
			}
			done := make(chan error, 1)
			go func() {
				_, err := r.Get(context.Background(), true, nil)
				done <- err
			}()
			time.Sleep(time.Millisecond) // let it wait (the test holds either way)
			if how == "Close" {
				r.Close()
			} else {
				close(gone)
			}
			select {
			case err := <-done:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("the waiting Get: %v, want ErrClosed", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the waiting Get did not wake")
			}
		})
	}
}

// A stream's write bigger than a quarter of the ring crosses in parts,
// read while it is written; the reader then sees io.EOF once the ring is
// closed, and a deadline while it waits.
func TestStream(t *testing.T) {
	r := newRing(t, 1024, 0)
	msg := make([]byte, 10_000)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	w := &Writer{R: r}
	go func() {
		w.Write(msg)
		w.Close()
	}()
	got, err := io.ReadAll(&Reader{R: r})
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes, %v; want the %d written", len(got), err, len(msg))
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Write on a closed ring: %v", err)
	}
	r2 := newRing(t, 1024, 0)
	rd := &Reader{R: r2, Deadline: time.Now().Add(5 * time.Millisecond)}
	if _, err := rd.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past its deadline: %v", err)
	}
}

// A waiter that looked at the ring before it was closed, and sleeps after,
// must not sleep: Close moves the words waiters sleep on (a futex wait on
// a word that moved returns at once), as Put and Get do. Without it a
// pool's Close waited PollEvery one time in three.
func TestCloseMovesTheWaitWords(t *testing.T) {
	r := newRing(t, 256, 0)
	empty, full := atomic.LoadUint32(&r.H.NotEmpty), atomic.LoadUint32(&r.H.NotFull)
	r.Close()
	if atomic.LoadUint32(&r.H.NotEmpty) == empty || atomic.LoadUint32(&r.H.NotFull) == full {
		t.Fatal("Close left NotEmpty or NotFull where a waiter about to sleep saw them: it would sleep until PollEvery")
	}
}

// TestBuffers: a message put as parts is their bytes, one after the
// other, wrapping around the ring like any other; WriteBuffers puts
// parts that fit a quarter of the ring as one message, and bigger ones
// as Write does; ReadChunk hands out the rest of a message, then the
// next.
func TestBuffers(t *testing.T) {
	ctx := context.Background()
	r := newRing(t, 256, 0)
	for i := range 40 { // wraps around the ring many times
		parts := [][]byte{{byte(i)}, nil, bytes.Repeat([]byte{byte(i + 1)}, 20), []byte("tail")}
		if err := r.PutBuffers(ctx, parts, false); err != nil {
			t.Fatalf("PutBuffers %d: %v", i, err)
		}
		got, err := r.GetBuf(ctx, nil)
		if want := bytes.Join(parts, nil); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %v, %v; want %v", i, got, err, want)
		}
	}
	if err := r.PutBuffers(ctx, [][]byte{make([]byte, 200), make([]byte, 60)}, false); err == nil {
		t.Fatal("parts bigger than the ring were put")
	}

	w, rd := &Writer{R: r}, &Reader{R: r}
	if err := w.WriteBuffers([][]byte{[]byte("ab"), []byte("cd")}); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 1 {
		t.Fatalf("parts that fit a quarter of the ring made %d messages, want 1", r.Len())
	}
	one := make([]byte, 1)
	if _, err := rd.Read(one); err != nil || one[0] != 'a' {
		t.Fatalf("Read: %q, %v", one, err)
	}
	if c, err := rd.ReadChunk(); err != nil || string(c) != "bcd" {
		t.Fatalf("ReadChunk after a Read: %q, %v; want the rest of the message", c, err)
	}
	big := bytes.Repeat([]byte{9}, 100) // more than a quarter of 256
	done := make(chan error, 1)
	go func() { done <- w.WriteBuffers([][]byte{big, big}) }()
	var got []byte
	for len(got) < 200 {
		c, err := rd.ReadChunk()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) > 64 {
			t.Fatalf("a message of %d bytes in a ring of 256", len(c))
		}
		got = append(got, c...)
	}
	if err := <-done; err != nil || !bytes.Equal(got, append(big, big...)) {
		t.Fatalf("big parts: %d bytes read, %v", len(got), err)
	}
	w.Close()
	if _, err := rd.ReadChunk(); err != io.EOF {
		t.Fatalf("ReadChunk on a closed, empty ring: %v, want io.EOF", err)
	}
	if err := w.WriteBuffers([][]byte{[]byte("x")}); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("WriteBuffers on a closed ring: %v", err)
	}
}

// A process that died holding the lock after committing its update
// leaves the update done; before committing, not done.
func TestDeadHolder(t *testing.T) {
	ctx := context.Background()
	r := newRing(t, 256, 0)
	r.Put(ctx, []byte("kept"), false)
	// a holder that committed a Get of "kept" and died before applying it
	r.H.Lock = 1 << 31 // a pid that cannot be alive
	s := r.State()
	s.Head, s.Count = s.Tail, 0
	r.H.Next = s
	r.H.Logged = 1
	if n := r.Len(); n != 0 {
		t.Errorf("after a dead holder's committed Get: %d messages, want 0", n)
	}
	r.Put(ctx, []byte("next"), false)
	if got, err := r.Get(ctx, false, nil); string(got) != "next" || err != nil {
		t.Errorf("Get: %q, %v", got, err)
	}
}

// A Get that sleeps learns how long its wake-up took from the Put's stamp
// (futex.WakeCost); a Patient one spins for that long before it sleeps.
func TestWakeUpMeasured(t *testing.T) {
	ctx := context.Background()
	for _, patient := range []bool{false, true} {
		r := newRing(t, 1024, 0)
		r.Patient = patient
		if patient {
			// wake-ups that cost 5ms: a Patient Get spins futex.SpinMax
			for range 40 {
				now := futex.Stamp()
				futex.Woken(now-int64(10*time.Millisecond), now-int64(5*time.Millisecond))
			}
			t.Cleanup(func() {
				for range 80 {
					now := futex.Stamp()
					futex.Woken(now, now)
				}
			})
		}
		before := futex.WakeCost()
		t0 := time.Now()
		got := make(chan error, 1)
		go func() {
			_, err := r.Get(ctx, true, nil)
			got <- err
		}()
		deadline := time.Now().Add(30 * time.Second)
		for atomic.LoadUint32(&r.H.WaitGet) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the Get did not go to sleep within 30s")
			}
			runtime.Gosched() // a sleep of 10µs can take a millisecond here
		}
		spun := time.Since(t0)
		if patient && spun < futex.SpinMax {
			t.Errorf("a Patient Get slept after %v, with wake-ups costing 5ms; want a spin of futex.SpinMax (%v)", spun, futex.SpinMax)
		}
		if err := r.Put(ctx, []byte("x"), true); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the sleeping Get was not woken within 30s")
		}
		if futex.WakeCost() == before {
			t.Errorf("patient=%v: the wake-up was not measured (WakeCost still %v)", patient, before)
		}
	}
}

// TestHeaderCacheLines: the words a waiting Get and a waiting Put spin
// on each have a cache line of their own, apart from the lock holder's
// (a reader spinning on a word of the line a Put writes took that line
// from the Put at every look: measured, a quarter of a pool's time in
// Map with Chunksize(1)), and the ring's bytes start on a line of their
// own. Segments are page-aligned, so offsets are lines.
func TestHeaderCacheLines(t *testing.T) {
	const line = 64
	var h Header
	lineOf := func(off uintptr) uintptr { return off / line }
	lock := lineOf(unsafe.Offsetof(h.Lock))
	for _, f := range []struct {
		name string
		off  uintptr
		size uintptr
	}{
		{"Head", unsafe.Offsetof(h.Head), 8}, {"Tail", unsafe.Offsetof(h.Tail), 8},
		{"Count", unsafe.Offsetof(h.Count), 8}, {"Unfinished", unsafe.Offsetof(h.Unfinished), 8},
		{"Logged", unsafe.Offsetof(h.Logged), 4},
	} {
		if lineOf(f.off) != lock || lineOf(f.off+f.size-1) != lock {
			t.Errorf("%s is not on the lock's cache line", f.name)
		}
	}
	empty, full := lineOf(unsafe.Offsetof(h.NotEmpty)), lineOf(unsafe.Offsetof(h.NotFull))
	if empty == lock || full == lock || empty == full {
		t.Errorf("NotEmpty (line %d) and NotFull (line %d) share a cache line with each other or the lock (line %d)", empty, full, lock)
	}
	for name, off := range map[string]uintptr{
		"Next": unsafe.Offsetof(h.Next), "Capacity": unsafe.Offsetof(h.Capacity), "Backed": unsafe.Offsetof(h.Backed),
		"Magic": unsafe.Offsetof(h.Magic), "Closed": unsafe.Offsetof(h.Closed), "Done": unsafe.Offsetof(h.Done),
		"PutWoke": unsafe.Offsetof(h.PutWoke), "GetWoke": unsafe.Offsetof(h.GetWoke),
		"WaitGet": unsafe.Offsetof(h.WaitGet), "WaitPut": unsafe.Offsetof(h.WaitPut),
	} {
		if l := lineOf(off); (l == empty && name != "WaitGet" && name != "PutWoke") || (l == full && name != "WaitPut" && name != "GetWoke") {
			t.Errorf("%s shares the cache line that a waiting Get or Put spins on", name)
		}
	}
	if HeaderSize%line != 0 {
		t.Errorf("HeaderSize %d: the ring's first bytes share a cache line with the header", HeaderSize)
	}
}
