package mp_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
)

// cpItem is an item of the checkpoint tests: the function logs each run
// of it to Log (one line per run, from any process) and fails while the
// file Log+".fail."+N exists.
type cpItem struct {
	N   int
	Log string
}

var cpSquare = mp.Register("test.cpSquare", func(_ context.Context, it cpItem) (int, error) {
	f, err := os.OpenFile(it.Log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	fmt.Fprintln(f, it.N)
	f.Close()
	if _, err := os.Stat(it.Log + ".fail." + strconv.Itoa(it.N)); err == nil {
		return 0, fmt.Errorf("item %d fails", it.N)
	}
	if d := os.Getenv("MP_TEST_CP_SLOW"); d != "" {
		t, _ := time.ParseDuration(d)
		time.Sleep(t) // a long task, so that the test can kill the program mid-Map
	}
	return it.N * it.N, nil
})

// runs returns how many times each item ran, from the log.
func runs(t *testing.T, log string) map[int]int {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	m := map[int]int{}
	for _, l := range strings.Fields(string(b)) {
		n, _ := strconv.Atoi(l)
		m[n]++
	}
	return m
}

func cpItems(log string, ns ...int) []cpItem {
	items := make([]cpItem, len(ns))
	for i, n := range ns {
		items[i] = cpItem{n, log}
	}
	return items
}

func seqs(lo, hi int) []int {
	var s []int
	for i := lo; i < hi; i++ {
		s = append(s, i)
	}
	return s
}

func wantSquares(t *testing.T, got []int, items []cpItem) {
	t.Helper()
	if len(got) != len(items) {
		t.Fatalf("%d results for %d items", len(got), len(items))
	}
	for i, it := range items {
		if got[i] != it.N*it.N {
			t.Fatalf("result %d = %d, want %d", i, got[i], it.N*it.N)
		}
	}
}

// A second call with the same function and items runs nothing; new
// items run once; order does not matter; a failed item runs again.
func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	for _, kind := range poolKinds {
		t.Run(kind.name, func(t *testing.T) {
			p := newPool(t, kind.opts...)
			dir := t.TempDir()
			log := filepath.Join(dir, "log")
			cp := mp.Checkpoint(filepath.Join(dir, "cp"))

			first := cpItems(log, seqs(0, 50)...)
			got, err := mp.Map(ctx, p, cpSquare, first, cp)
			if err != nil {
				t.Fatal(err)
			}
			wantSquares(t, got, first)

			// the same again, reordered, with 50 new ones
			again := cpItems(log, seqs(0, 100)...)
			slices.Reverse(again)
			got, err = mp.Map(ctx, p, cpSquare, again, cp, mp.Chunksize(7))
			if err != nil {
				t.Fatal(err)
			}
			wantSquares(t, got, again)
			for n, c := range runs(t, log) {
				if c != 1 {
					t.Fatalf("item %d ran %d times, want once", n, c)
				}
			}
			if r := runs(t, log); len(r) != 100 {
				t.Fatalf("%d items ran, want 100", len(r))
			}

			// item 105 fails: the results before it come back, its error
			// names its index in this call, and only it runs again later
			third := cpItems(log, seqs(95, 110)...)
			os.WriteFile(log+".fail.105", nil, 0o644)
			got, err = mp.Map(ctx, p, cpSquare, third, cp)
			var te *mp.TaskError
			if !errors.As(err, &te) || te.Index != 10 {
				t.Fatalf("error %v, want a *TaskError at index 10", err)
			}
			wantSquares(t, got, third[:10])
			os.Remove(log + ".fail.105")
			before := runs(t, log)
			got, err = mp.Map(ctx, p, cpSquare, third, cp)
			if err != nil {
				t.Fatal(err)
			}
			wantSquares(t, got, third)
			after := runs(t, log)
			if after[105] != before[105]+1 {
				t.Fatalf("the failed item ran %d more times, want 1", after[105]-before[105])
			}
			for n := 95; n < 105; n++ {
				if after[n] != 1 {
					t.Fatalf("item %d ran %d times, want once", n, after[n])
				}
			}
		})
	}
}

func TestCheckpointPartial(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, mp.Threads(3))
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	items := cpItems(log, seqs(0, 30)...)
	mp.Map(ctx, p, cpSquare, items[:10], mp.Checkpoint(dir))
	os.WriteFile(log+".fail.20", nil, 0o644)
	os.WriteFile(log+".fail.25", nil, 0o644)
	got, err := mp.Map(ctx, p, cpSquare, items, mp.Checkpoint(dir), mp.Partial())
	var idx []int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var te *mp.TaskError
		if errors.As(e, &te) {
			idx = append(idx, te.Index)
		}
	}
	slices.Sort(idx)
	if !slices.Equal(idx, []int{20, 25}) {
		t.Fatalf("failed indices %v (%v), want [20 25]", idx, err)
	}
	for i, r := range got {
		if i != 20 && i != 25 && r != i*i {
			t.Fatalf("result %d = %d", i, r)
		}
	}
}

func TestCheckpointRefused(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, mp.Threads(1))
	dir := t.TempDir()
	anon := mp.Fn(func(_ context.Context, x int) (int, error) { return x, nil })
	if _, err := mp.Map(ctx, p, anon, []int{1}, mp.Checkpoint(dir)); !errors.Is(err, mp.ErrInvalidOption) || !strings.Contains(err.Error(), "mp.Register") {
		t.Errorf("Checkpoint with an unregistered function: %v", err)
	}
	if _, err := mp.Apply(ctx, p, cpSquare, cpItem{1, filepath.Join(dir, "log")}, mp.Checkpoint(dir)); !errors.Is(err, mp.ErrInvalidOption) {
		t.Errorf("Checkpoint with Apply: %v", err)
	}
	for _, err := range mp.Imap(ctx, p, cpSquare, slices.Values(cpItems(dir)), mp.Checkpoint(dir)) {
		if !errors.Is(err, mp.ErrInvalidOption) {
			t.Errorf("Checkpoint with Imap: %v", err)
		}
	}
	if _, err := mp.NewPool(mp.Checkpoint("")); !errors.Is(err, mp.ErrInvalidOption) {
		t.Errorf("Checkpoint(\"\"): %v", err)
	}
	// calls of one program share a store: a second call while the first
	// runs works (another program would be refused: the store's lock,
	// internal/checkpoint.TestStoreLocked)
	g := &cpGate{held: make(chan struct{}, 2), release: make(chan struct{})}
	cpGates.Store(g)
	p2 := newPool(t, mp.Threads(2))
	first := mp.MapAsync(ctx, p2, cpHold, []int{1}, mp.Checkpoint(dir))
	second := mp.MapAsync(ctx, p2, cpHold, []int{2}, mp.Checkpoint(dir))
	<-g.held
	<-g.held // both calls run, on one store
	close(g.release)
	for _, f := range []*mp.Future[[]int]{first, second} {
		if _, err := f.Get(ctx); err != nil {
			t.Errorf("two calls on one checkpoint at once: %v", err)
		}
	}
}

// cpGate holds cpHold's task until the test lets it go.
type cpGate struct{ held, release chan struct{} }

var (
	cpGates atomic.Pointer[cpGate]
	cpHold  = mp.Register("test.cpHold", func(ctx context.Context, x int) (int, error) {
		g := cpGates.Load()
		g.held <- struct{}{}
		<-g.release
		return x, nil
	})
)

// checkpointRole is a program that Maps cpSquare over MP_TEST_CP_N items
// with a Checkpoint, as the crash test's child.
func checkpointRole() int {
	n, _ := strconv.Atoi(os.Getenv("MP_TEST_CP_N"))
	dir := os.Getenv("MP_TEST_CP_DIR")
	opts := []mp.PoolOption{mp.Threads(2)}
	if os.Getenv("MP_TEST_CP_PROCS") != "" {
		opts = []mp.PoolOption{mp.Processes(2)}
	}
	p, err := mp.NewPool(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer p.Close()
	got, err := mp.Map(context.Background(), p, cpSquare, cpItems(filepath.Join(dir, "log"), seqs(0, n)...), mp.Checkpoint(filepath.Join(dir, "cp")), mp.Chunksize(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i, r := range got {
		if r != i*i {
			fmt.Fprintf(os.Stderr, "result %d = %d\n", i, r)
			return 1
		}
	}
	return 0
}

// A program SIGKILLed in the middle of a Map, run again, runs only what
// it had not finished: runs across both equal the items, plus at most
// those in flight at the kill.
func TestCheckpointAfterSIGKILL(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		procs    bool
		inFlight int // items that may be running, or finished but not yet stored, at the kill
	}{
		{"Threads(2)", false, 2},
		{"Processes(2)", true, 2 * 8}, // a worker process is sent a few items ahead
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 60
			dir := t.TempDir()
			log := filepath.Join(dir, "log")
			env := proc.SelfEnv("MP_TEST_ROLE=checkpoint", "MP_TEST_CP_N="+strconv.Itoa(n), "MP_TEST_CP_DIR="+dir, "MP_TEST_CP_SLOW=20ms")
			if tc.procs {
				env = append(env, "MP_TEST_CP_PROCS=1")
			}
			cmd := exec.Command(exe)
			cmd.Env = env
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(60 * time.Second)
			for len(runs(t, log)) < n/3 {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("the program ran %d items in 60 s", len(runs(t, log)))
				}
				time.Sleep(5 * time.Millisecond) // polling the log file for a condition
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			killedAt := len(runs(t, log))
			if killedAt >= n {
				t.Fatalf("every item had run before the kill (%d): nothing left to test", killedAt)
			}

			cmd = exec.Command(exe)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("the second run: %v\n%s", err, out)
			}
			total := 0
			r := runs(t, log)
			for i := range n {
				if r[i] == 0 {
					t.Fatalf("item %d never ran", i)
				}
				total += r[i]
			}
			if total > n+tc.inFlight {
				t.Fatalf("%d runs for %d items (killed after %d had started): more than the %d in flight ran twice", total, n, killedAt, tc.inFlight)
			}
			t.Logf("%d runs for %d items, %d started before the kill", total, n, killedAt)
		})
	}
}
