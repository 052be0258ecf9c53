//go:build linux

package conformance

import (
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
)

// noMainEnv names the counter file of noMainRole.
const noMainEnv = "MP_CONF_NOMAIN"

// noMainRole is CPython's mp_fork_bomb.py in Go: a program that forgets
// mp.Main and makes a pool (Python's forgets the `if __name__ ==
// "__main__"` guard and starts a Process). Every process that runs it
// adds a line to the counter file; past 30 lines a process stops at once,
// a fuse that bounds the cascade this test is about, should it come back.
func noMainRole() int {
	counter := os.Getenv(noMainEnv)
	f, err := os.OpenFile(counter, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 3
	}
	fmt.Fprintln(f, os.Getpid())
	f.Close()
	if b, _ := os.ReadFile(counter); strings.Count(string(b), "\n") > 30 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := mp.NewPool(mp.Processes(2))
	if err == nil {
		var out []int
		out, err = mp.Map(ctx, p, sqr, []int{1, 2, 3})
		p.Close()
		if err == nil {
			fmt.Println(out) // Python's child prints 123 under fork only
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// CPython: TestNoForkBomb.test_noforkbomb
// Python (spawn) fails with a RuntimeError that explains the guard, and
// prints nothing; mp fails naming mp.Main, within seconds, and starts no
// more than the pool's 2 workers.
func TestNoForkBomb(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "started")
	ctx := testCtx(t)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = proc.SelfEnv(noMainEnv + "=" + counter)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("the program without mp.Main: %v (want exit status 1); stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
	if stdout.String() != "" {
		t.Errorf("stdout %q, want nothing", stdout.String())
	}
	if !strings.Contains(stderr.String(), "mp.Main") {
		t.Errorf("stderr %q does not name mp.Main", stderr.String())
	}
	if took > 15*time.Second {
		t.Errorf("the error came after %v", took)
	}
	b, _ := os.ReadFile(counter)
	if n := strings.Count(string(b), "\n"); n > 3 {
		t.Errorf("%d processes ran the program, want at most 3 (itself and its 2 workers)", n)
	}
}

// CPython: _TestSharedMemory.test_shared_memory_SharedMemoryManager_reuses_resource_tracker
// The script makes a ShareableList with a SharedMemoryManager and shuts
// it down: it must exit cleanly, silent on stderr, leaving no segment.
func TestSharedMemoryManagerReusesTracker(t *testing.T) {
	cmd := exec.CommandContext(testCtx(t), os.Args[0], "-test.run=^$")
	cmd.Env = proc.SelfEnv("MP_CONF_ROLE=smm")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.String() != "" {
		t.Fatalf("the script: %v, stderr %q", err, stderr.String())
	}
	name := strings.TrimSpace(string(out))
	if name == "" {
		t.Fatal("the script printed no segment name")
	}
	if _, err := os.Stat(filepath.Join("/dev/shm", strings.TrimPrefix(name, "/"))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the list's segment %s after shutdown: %v", name, err)
	}
}
