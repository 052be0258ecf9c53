//go:build linux

// Package conformance holds CPython's own multiprocessing and
// concurrent.futures tests, ported to Go against mp's public API. Each test
// names the CPython test it ports in a "CPython:" comment.
//
// Every ported test runs and must pass; where mp deliberately differs from
// CPython, the test checks mp's behaviour and docs/python-differences.md
// says why. A check that guards a defect the port found calls regression
// first, naming the defect, so its failure says what came back.
package conformance

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"go.uber.org/goleak"
)

// long bounds every wait of a test: a bug makes it fail with a message,
// never hang. Generous, for a busy 2-core machine under -race.
const long = 60 * time.Second

func TestMain(m *testing.M) {
	if os.Getenv(noMainEnv) != "" {
		// the test binary run as a program that forgets mp.Main (and so
		// does every process it starts: TestNoForkBomb)
		os.Exit(noMainRole())
	}
	// Worker processes are this test binary, re-executed: there mp.Main
	// serves and never returns.
	mp.Main()
	// Race-enabled children would otherwise sleep a second when they exit.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	if role := os.Getenv("MP_CONF_ROLE"); role != "" {
		// the test binary run as a program of its own
		os.Exit(runRole(role))
	}
	// Tests make tasks and callbacks fail on purpose; keep their logs out
	// of the output.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	before := shmSegments()
	code := m.Run()
	if code == 0 {
		for name := range shmSegments() {
			if !before[name] {
				fmt.Fprintln(os.Stderr, "FAIL: shared memory left in /dev/shm:", name)
				code = 1
			}
		}
		if ch := mp.ActiveChildren(); len(ch) != 0 {
			fmt.Fprintln(os.Stderr, "FAIL: child processes left:", ch)
			code = 1
		}
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// runRole is the test binary run as a program by a test: "leak-shm"
// makes two shared memory segments, prints their names and waits to be
// killed (TestResourceTracker.test_resource_tracker's script).
func runRole(role string) int {
	switch role {
	case "smm":
		// TestSharedMemory.test_shared_memory_SharedMemoryManager_reuses_resource_tracker's script
		var smm mp.SharedMemoryManager
		vals := make([]any, 10)
		for i := range vals {
			vals[i] = i
		}
		sl, err := smm.ShareableList(vals)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(sl.SharedMemory().Name())
		if err := smm.Shutdown(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "leak-shm":
		for range 2 {
			m, err := mp.CreateSharedMemory("", 10)
			if err != nil {
				fmt.Println("error:", err)
				return 1
			}
			fmt.Println(m.Name())
		}
		time.Sleep(time.Hour)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown MP_CONF_ROLE", role)
	return 2
}

// shmSegments lists this test binary's tree's segments in /dev/shm, not
// the tree's bookkeeping files.
func shmSegments() map[string]bool {
	names, _ := filepath.Glob(fmt.Sprintf("/dev/shm/mp-%d-*", os.Getpid()))
	out := map[string]bool{}
	for _, n := range names {
		if !strings.HasSuffix(n, ".segments") && !strings.HasSuffix(n, ".tracker") {
			out[n] = true
		}
	}
	return out
}

// regression names the defect whose fix a failing faithful port checks
// ("issue 12 §2.3: ..."), so that its failure says what came back; the
// assertion after it fails the test. Every such gap is fixed: the suite
// runs strict, there is nothing to skip.
func regression(t *testing.T, defect string) {
	t.Helper()
	t.Log("regression of a fixed defect: " + defect)
}

// testCtx bounds a test with long.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), long)
	t.Cleanup(cancel)
	return ctx
}

// poolKind is one of the two pools the pool tests run on, as CPython runs
// _TestPool with processes and with threads.
type poolKind struct {
	name string
	opt  func(n int) mp.PoolOption
}

var poolKinds = []poolKind{
	{"threads", mp.Threads},
	{"processes", mp.Processes},
}

// newPool makes a pool of n workers of kind k, closed and joined at the
// end of the test.
func newPool(t *testing.T, k poolKind, n int, opts ...mp.PoolOption) *mp.Pool {
	t.Helper()
	p, err := mp.NewPool(append([]mp.PoolOption{k.opt(n)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Terminate()
		p.Join()
	})
	return p
}

// eachKind runs f once per pool kind, as a subtest.
func eachKind(t *testing.T, f func(t *testing.T, k poolKind)) {
	t.Helper()
	for _, k := range poolKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

// waitFor polls cond until it holds, failing the test after long.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(long)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newPipe is mp.Pipe, closed and unlinked at the end of the test.
func newPipe[T any](t *testing.T, duplex bool) (*mp.Conn[T], *mp.Conn[T]) {
	t.Helper()
	a, b, err := mp.Pipe[T](duplex)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Close()
		b.Close()
		a.Unlink()
		b.Unlink()
	})
	return a, b
}
