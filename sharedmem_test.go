//go:build linux

package mp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/wire"
)

func init() {
	leftovers = func() error {
		// this tree's segments are named mp-PID-START-...; the tree's list
		// (.segments) and tracker mark stay until the tracker cleans up
		names, _ := filepath.Glob(fmt.Sprintf("/dev/shm/mp-%d-*", os.Getpid()))
		var left []string
		for _, n := range names {
			if !strings.HasSuffix(n, ".segments") && !strings.HasSuffix(n, ".tracker") {
				left = append(left, filepath.Base(n))
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("shared memory left in /dev/shm by the tests: %v", left)
		}
		return nil
	}
}

type span struct {
	A      *mp.RawArray[float64]
	Lo, Hi int
}

var (
	// fill writes i*2 at every index of the array it is given.
	fill = mp.Register("test.fill", func(_ context.Context, a *mp.RawArray[float64]) (int, error) {
		s := a.Slice()
		for i := range s {
			s[i] = float64(i) * 2
		}
		return os.Getpid(), nil
	})
	sumSpan = mp.Register("test.sumSpan", func(_ context.Context, sp span) (float64, error) {
		t := 0.0
		for _, v := range sp.A.Slice()[sp.Lo:sp.Hi] {
			t += v
		}
		return t, nil
	})
	setValue = mp.Register("test.setValue", func(_ context.Context, v *mp.RawValue[int64]) (struct{}, error) {
		*v.Ptr() = 42
		return struct{}{}, nil
	})
)

func TestSharedMemory(t *testing.T) {
	m, err := mp.CreateSharedMemory("", 100)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unlink()
	defer m.Close()
	copy(m.Buf(), "hello")
	other, err := mp.AttachSharedMemory(m.Name())
	if err != nil {
		t.Fatal(err)
	}
	if string(other.Buf()[:5]) != "hello" || other.Size() != 100 {
		t.Errorf("attached: %q, size %d", other.Buf()[:5], other.Size())
	}
	other.Buf()[0] = 'j'
	if m.Buf()[0] != 'j' {
		t.Error("a write through one mapping is not seen through the other")
	}
	other.Close()
	st, err := os.Stat(filepath.Join("/dev/shm", m.Name()))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("segment file: %v, %v", st, err)
	}
	if _, err := mp.CreateSharedMemory(m.Name(), 10); !errors.Is(err, os.ErrExist) {
		t.Errorf("creating a name in use: %v", err)
	}
	for _, bad := range []string{"a/b", ".."} {
		if _, err := mp.CreateSharedMemory(bad, 10); err == nil {
			mp.AttachSharedMemory(bad)
			t.Errorf("name %q accepted", bad)
		}
	}
	if err := m.Unlink(); err != nil {
		t.Fatal(err)
	}
	if _, err := mp.AttachSharedMemory(m.Name()); err == nil {
		t.Error("attached after Unlink")
	}
	if _, err := mp.NewRawArray[string](3); !errors.Is(err, mp.ErrInvalidOption) {
		t.Errorf("RawArray of strings: %v", err)
	}
}

// A RawArray passed to a Process and to pool tasks is the same memory there.
func TestRawArrayTravels(t *testing.T) {
	a, err := mp.NewRawArray[float64](100_000)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlink()
	defer a.Close()
	p, err := mp.NewProcess(fill, a)
	if err != nil {
		t.Fatal(err)
	}
	startProcess(t, p, nil)
	within(t, "Join", func() { err = p.Join(context.Background()) })
	if err != nil {
		t.Fatal(err)
	}
	if s := a.Slice(); s[99_999] != 199_998 || s[1] != 2 {
		t.Fatalf("the child's writes are not seen: %v %v", s[1], s[99_999])
	}
	pool := newProcPool(t)
	var spans []span
	for lo := 0; lo < a.Len(); lo += 10_000 {
		spans = append(spans, span{A: a, Lo: lo, Hi: lo + 10_000})
	}
	sums, err := mp.Map(context.Background(), pool, sumSpan, spans)
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, s := range sums {
		total += s
	}
	if want := float64(99_999 * 100_000); total != want {
		t.Errorf("sum over the workers %v, want %v", total, want)
	}
	v, err := mp.NewRawValue[int64](7)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Unlink()
	if _, err := mp.Apply(context.Background(), pool, setValue, v); err != nil || *v.Ptr() != 42 {
		t.Errorf("RawValue set by a worker: %d, %v", *v.Ptr(), err)
	}
}

// The segments of a program that is SIGKILLed are unlinked by its tree's
// tracker, which then ends.
func TestSharedMemoryCleanupAfterCrash(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = proc.SelfEnv("MP_TEST_ROLE=parent", "MP_TEST_PARENT_OF=shm")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	guard := time.AfterFunc(long, func() { cmd.Process.Kill() }) // the read below ends
	name, err := bufio.NewReader(out).ReadString('\n')
	guard.Stop()
	name = strings.TrimSpace(name)
	if err != nil || strings.HasPrefix(name, "error") {
		t.Fatalf("the parent said %q, %v", name, err)
	}
	path := filepath.Join("/dev/shm", name)
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(long)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		os.Remove(path)
		t.Fatalf("%s is still there %v after its program was killed", path, long)
	}
	// and the tracker has ended
	tree := strings.Split(strings.TrimPrefix(name, "mp-"), "-")
	marker := "MP_SHM_TRACKER=track:" + tree[0] + "-" + tree[1]
	for time.Now().Before(deadline) {
		if !trackerRuns(marker) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("the tracker (%s) still runs", marker)
}

func trackerRuns(marker string) bool {
	envs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, e := range envs {
		b, err := os.ReadFile(e)
		if err == nil && strings.Contains(string(b), marker+"\x00") {
			return true
		}
	}
	return false
}

// FuzzSharedHandle: a handle from another process decodes to a mapping or
// an error, never a panic or a mapping outside the shared-memory directory.
func FuzzSharedHandle(f *testing.F) {
	a, err := mp.NewRawArray[int32](4)
	if err != nil {
		f.Fatal(err)
	}
	defer a.Unlink()
	good, _ := wire.Marshal(a)
	f.Add(good)
	f.Add([]byte{0xa2, 0x01, 0x64, '.', '.', '/', 'x', 0x02, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xa1, 0x01, 0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got mp.RawArray[int32]
		if err := wire.Unmarshal(b, &got); err == nil && len(got.Slice()) > 0 {
			got.Slice()[0] = got.Slice()[0] // the memory is mapped
		}
		var v mp.RawValue[int64]
		_ = wire.Unmarshal(b, &v)
		var l mp.Lock
		_ = wire.Unmarshal(b, &l)
		var e mp.Event
		_ = wire.Unmarshal(b, &e)
		var s mp.Semaphore
		_ = wire.Unmarshal(b, &s)
		var val mp.Value[int64]
		_ = wire.Unmarshal(b, &val)
		var arr mp.Array[float64]
		_ = wire.Unmarshal(b, &arr)
		var q mp.Queue[int]
		_ = wire.Unmarshal(b, &q)
		var sq mp.SimpleQueue[int]
		_ = wire.Unmarshal(b, &sq)
		var bar mp.Barrier
		_ = wire.Unmarshal(b, &bar)
		var conn mp.Conn[int]
		_ = wire.Unmarshal(b, &conn)
		var rl mp.RLock
		_ = wire.Unmarshal(b, &rl)
		var cond mp.Condition
		_ = wire.Unmarshal(b, &cond)
	})
}
