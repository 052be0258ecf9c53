package mp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"golang.org/x/sys/unix"
)

// A worker that runs out of memory gives a *WorkerError that says so and
// names the limit, not just how it ended.

type hogArgs struct {
	Probe bool   // return at once
	AS    uint64 // not 0: set RLIMIT_AS to the current address space plus this
}

// memHog allocates until the worker dies of it.
var memHog = mp.Register("test.memHog", func(_ context.Context, a hogArgs) (int, error) {
	if a.Probe {
		return 0, nil
	}
	if a.AS > 0 {
		vm, err := vmSize()
		if err != nil {
			return 0, err
		}
		lim := unix.Rlimit{Cur: vm + a.AS, Max: unix.RLIM_INFINITY}
		if err := unix.Setrlimit(unix.RLIMIT_AS, &lim); err != nil {
			return 0, err
		}
	}
	var keep [][]byte
	for range 256 { // 2 GiB at most: a limit that does not hold fails the test, not the machine
		b := make([]byte, 8<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1 // touched: a cgroup counts only what is used
		}
		keep = append(keep, b)
	}
	return 0, fmt.Errorf("allocated %d MiB: the limit did not stop it", 8*len(keep))
})

// vmSize is this process's address space (VmSize) in bytes.
func vmSize() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmSize:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmSize in /proc/self/status")
}

func TestWorkerOutOfMemoryGo(t *testing.T) {
	p, err := mp.NewPool(mp.Processes(1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = mp.Apply(ctx, p, memHog, hogArgs{AS: 256 << 20})
	var we *mp.WorkerError
	if !errors.As(err, &we) {
		t.Fatalf("Apply of a task that allocates past ulimit -v: %v; want a *mp.WorkerError", err)
	}
	msg := err.Error()
	if !errors.Is(err, mp.ErrOutOfMemory) || !strings.Contains(msg, "out of memory") || !strings.Contains(msg, "RLIMIT_AS") {
		t.Fatalf("error %q: want it to wrap mp.ErrOutOfMemory, say \"out of memory\" and name the RLIMIT_AS limit", msg)
	}
	t.Log(msg)
	if _, err := mp.Apply(ctx, p, memHog, hogArgs{Probe: true}); err != nil {
		t.Fatalf("the pool after a worker ran out of memory: %v", err)
	}
}

func TestWorkerOutOfMemoryCgroup(t *testing.T) {
	dir, back := memoryCgroupForTest(t)
	// The worker starts in the limited cgroup: this process joins it
	// while the pool starts its worker, then leaves (the OOM killer would
	// pick the biggest process in it: this one). Cgroup v1 shows a process
	// that has ended in the root cgroup, so the pool reads a worker's
	// cgroup when it starts.
	join := func(d string) error {
		return os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
	}
	if err := join(dir); err != nil {
		t.Skipf("cannot move this process into the cgroup %s: %v", dir, err)
	}
	p, err := mp.NewPool(mp.Processes(1))
	if err == nil {
		_, err = mp.Apply(context.Background(), p, memHog, hogArgs{Probe: true}) // the worker is up
	}
	if err := join(back); err != nil {
		t.Fatalf("moving this process back to its cgroup %s: %v", back, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// With a Timeout the pool does not run the item again after the crash
	// (on a new worker, outside the cgroup).
	_, err = mp.Apply(ctx, p, memHog, hogArgs{}, mp.Timeout(time.Minute))
	var we *mp.WorkerError
	if !errors.As(err, &we) || we.Signal != "killed" {
		t.Fatalf("Apply of a task that allocates past its cgroup's limit: %v; want a *mp.WorkerError, killed", err)
	}
	msg := err.Error()
	if !errors.Is(err, mp.ErrOutOfMemory) || !strings.Contains(msg, "out of memory") || !strings.Contains(msg, "192.0 MiB") {
		t.Fatalf("error %q: want it to wrap mp.ErrOutOfMemory, say \"out of memory\" and name the 192 MiB limit", msg)
	}
	t.Log(msg)
}

// memoryCgroupForTest makes a memory cgroup limited to 192 MiB under this
// process's own, removed at the end of the test, or skips the test. It
// returns it and this process's own.
func memoryCgroupForTest(t *testing.T) (sub, own string) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skipf("no /proc/self/cgroup: %v", err)
	}
	var dir, limitFile string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case strings.Contains(","+f[1]+",", ",memory,"):
			dir, limitFile = "/sys/fs/cgroup/memory"+f[2], "memory.limit_in_bytes"
		case f[0] == "0" && f[1] == "" && dir == "":
			dir, limitFile = "/sys/fs/cgroup"+f[2], "memory.max"
		}
	}
	if dir == "" {
		t.Skip("no memory cgroup found in /proc/self/cgroup")
	}
	if _, err := os.Stat(filepath.Join(dir, limitFile)); err != nil {
		t.Skipf("the memory cgroup %s is not mounted where expected: %v", dir, err)
	}
	sub = filepath.Join(dir, fmt.Sprintf("mp-oom-test-%d", os.Getpid()))
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Skipf("cannot make a memory cgroup here (run as root with a writable cgroup tree to test the OOM killer): %v", err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for os.Remove(sub) != nil && time.Now().Before(deadline) { // busy until its last process is reaped
			time.Sleep(10 * time.Millisecond)
		}
	})
	limit := []byte(strconv.Itoa(192 << 20))
	if err := os.WriteFile(filepath.Join(sub, limitFile), limit, 0); err != nil {
		t.Skipf("cannot limit the memory cgroup %s: %v", sub, err)
	}
	os.WriteFile(filepath.Join(sub, "memory.memsw.limit_in_bytes"), limit, 0) // v1 with swap accounting: no swapping out of it
	os.WriteFile(filepath.Join(sub, "memory.swap.max"), []byte("0"), 0)       // v2
	return sub, dir
}
