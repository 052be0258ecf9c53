package mp_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
)

// prestart keeps n spare workers for the test and ends them after it,
// checking that their processes are gone.
func prestart(t *testing.T, n int) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), long)
		defer cancel()
		if err := mp.Prestart(ctx, 0); err != nil {
			t.Errorf("Prestart(0): %v", err)
		}
		if pids := mp.SparePIDs(); len(pids) > 0 {
			t.Errorf("spares left after Prestart(0): %v", pids)
		}
		if kids := children(t); len(kids) > 0 {
			t.Errorf("processes left behind after Prestart(0): %v", kids)
		}
	})
	if err := mp.Prestart(ctx, n); err != nil {
		t.Fatalf("Prestart(%d): %v", n, err)
	}
	pids := mp.SparePIDs()
	if len(pids) != n {
		t.Fatalf("Prestart(%d) returned with spares %v", n, pids)
	}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("spare %d is not running", pid)
		}
	}
	return pids
}

func TestPrestartedWorkersServeTheNextPool(t *testing.T) {
	ctx := context.Background()
	spares := prestart(t, 2)
	p, err := mp.NewPool(mp.Processes(2))
	if err != nil {
		t.Fatal(err)
	}
	pids, err := mp.Map(ctx, p, pidOf, ints(20), mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if !slices.Contains(spares, pid) {
			t.Errorf("an item ran in process %d, not one of the spares %v", pid, spares)
		}
	}
	// Taken spares are replaced once their workers end, not while the
	// pool works.
	if now := mp.SparePIDs(); len(now) != 0 {
		t.Errorf("spares %v started while the pool that took the others runs", now)
	}
	p.Close()
	for _, pid := range spares {
		if alive(pid) {
			t.Errorf("worker %d, a spare, still runs after Close", pid)
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, long)
	defer cancel()
	if err := mp.Prestart(waitCtx, 2); err != nil {
		t.Fatal(err)
	}
	again := mp.SparePIDs()
	if len(again) != 2 || slices.ContainsFunc(again, func(pid int) bool { return slices.Contains(spares, pid) }) {
		t.Errorf("after Close, spares %v; want two new ones (the old were %v)", again, spares)
	}
	// A pool that wants more workers than are ready starts the rest.
	p3, err := mp.NewPool(mp.Processes(3))
	if err != nil {
		t.Fatal(err)
	}
	defer p3.Close()
	pids, err = mp.Map(ctx, p3, sleepyPid, ints(3), mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pids)
	if pids = slices.Compact(pids); len(pids) != 3 {
		t.Errorf("three items that each hold a worker ran in processes %v, want three", pids)
	}
}

func TestPrestartBackToBackPools(t *testing.T) {
	// A pool started right after another closed finds its spares being
	// started: it takes those rather than starting two more processes.
	ctx := context.Background()
	prestart(t, 2)
	for i := range 4 {
		p, err := mp.NewPool(mp.Processes(2))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mp.Apply(ctx, p, pidOf, i); err != nil {
			t.Fatal(err)
		}
		if ready, starting, taken := mp.SpareState(); len(ready) != 0 || starting != 0 || taken != 2 {
			t.Errorf("pool %d: spares ready %v, starting %d, taken %d; want the two taken and no other", i, ready, starting, taken)
		}
		p.Close()
		if ready, starting, taken := mp.SpareState(); len(ready)+starting != 2 || taken != 0 {
			t.Errorf("after pool %d closed: spares ready %v, %d starting, %d taken; want 2 ready or starting in place of its workers", i, ready, starting, taken)
		}
	}
}

func TestPrestartedWorkerIsInitialized(t *testing.T) {
	prestart(t, 1)
	p, err := mp.NewPool(mp.Processes(1), mp.Initializer(openModel, "resnet"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if s, err := mp.Apply(context.Background(), p, predict, 7); s != "resnet:7" || err != nil {
		t.Errorf("predict on a spare with an initializer: %q, %v", s, err)
	}
}

func TestPrestartedSpareKilled(t *testing.T) {
	spares := prestart(t, 2)
	for _, pid := range spares {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for range 3 { // dead spares are skipped or replaced, however soon the pool comes
		p, err := mp.NewPool(mp.Processes(2))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := mp.Apply(context.Background(), p, pidOf, 1)
		if err != nil || slices.Contains(spares, pid) {
			t.Errorf("Apply after the spares were killed: pid %d, %v (killed: %v)", pid, err, spares)
		}
		p.Close()
	}
}

func TestPrestartArguments(t *testing.T) {
	if err := mp.Prestart(context.Background(), -1); !errors.Is(err, mp.ErrInvalidOption) {
		t.Errorf("Prestart(-1): %v, want ErrInvalidOption", err)
	}
	prestart(t, 0)
	ctx, cancel := context.WithCancelCause(context.Background())
	why := errors.New("the user gave up")
	cancel(why)
	if err := mp.Prestart(ctx, 2); !errors.Is(err, why) {
		t.Errorf("Prestart with a cancelled context: %v, want its cause", err)
	}
	// they go on starting; the cleanup's Prestart(0) ends them
}

func TestPrestartedWorkerOutputIsTagged(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerOutputIsTaggedChild$", "-test.v")
	cmd.Env = proc.SelfEnv("MP_TEST_CHILD=1", "MP_TEST_PRESTART=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
	tagged := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "[mp worker ") && strings.Contains(line, "] working on ") {
			tagged++
			if !strings.HasPrefix(line, "[mp worker 1 pid ") && !strings.HasPrefix(line, "[mp worker 2 pid ") {
				t.Errorf("a spare's line is not tagged with its number in the pool: %q", line)
			}
		}
	}
	if tagged != 8 {
		t.Errorf("%d tagged lines, want 8:\n%s", tagged, out.String())
	}
}

// sleepyPid holds its worker a while and returns the worker's pid.
var sleepyPid = mp.Register("test.sleepyPid", func(ctx context.Context, x int) (int, error) {
	time.Sleep(200 * time.Millisecond)
	return os.Getpid(), nil
})

// Spares and the workers they became, killed at random moments while
// pools start, work and close: every pool starts, every item ends in its
// result or a *WorkerError, and nothing is left running. A few trials in
// CI, hundreds with MP_STRESS_TRIALS=300.
func TestPrestartKillsAtRandom(t *testing.T) {
	if l, _ := filepath.Glob("/proc/self/task/*/children"); len(l) == 0 {
		t.Skip("needs /proc/PID/task/TID/children to find the spares")
	}
	ctx := context.Background()
	prestart(t, 2)
	trials := 8 * ringTrials()
	killed := 0
	for trial := range trials {
		stop := make(chan struct{})
		kills := make(chan int, 1)
		go func() {
			n := 0
			defer func() { kills <- n }()
			for range 1 + rand.IntN(2) {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(rand.IntN(4000)) * time.Microsecond):
				}
				if kids := childPidsExcept(nil); kids != 0 {
					syscall.Kill(kids, syscall.SIGKILL)
					n++
				}
			}
		}()
		p, err := mp.NewPool(mp.Processes(2))
		if err != nil {
			t.Fatalf("trial %d: NewPool: %v", trial, err)
		}
		var out []int
		within(t, "Map while spares and workers are killed", func() { out, err = mp.Map(ctx, p, square, ints(20), mp.Chunksize(1)) })
		var we *mp.WorkerError
		switch {
		case err == nil:
			for i, v := range out {
				if v != i*i {
					t.Fatalf("trial %d: item %d = %d", trial, i, v)
				}
			}
		case !errors.As(err, &we):
			t.Fatalf("trial %d: Map: %v, want results or a *WorkerError", trial, err)
		}
		within(t, "Close", func() { p.Close() })
		close(stop)
		killed += <-kills
	}
	t.Logf("%d trials, %d processes killed", trials, killed)
}

// A spare killed while it starts is started again, as a pool's worker
// would be: Prestart still gets its spare, and says nothing of the kill.
func TestPrestartSpareKilledWhileStarting(t *testing.T) {
	if l, _ := filepath.Glob("/proc/self/task/*/children"); len(l) == 0 {
		t.Skip("needs /proc/PID/task/TID/children to find the spare")
	}
	prestart(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- mp.Prestart(ctx, 1) }()
	killed := 0
	deadline := time.Now().Add(long)
	for killed == 0 && time.Now().Before(deadline) {
		if pid := childPidsExcept(nil); pid != 0 {
			syscall.Kill(pid, syscall.SIGKILL)
			killed = pid
		}
	}
	if killed == 0 {
		t.Fatal("no spare seen starting")
	}
	var err error
	within(t, "Prestart with its spare killed", func() { err = <-errc })
	if err != nil {
		t.Fatalf("Prestart(1) with the spare killed as it started: %v", err)
	}
	if err := mp.Prestart(ctx, 1); err != nil { // replaces one killed after it was ready
		t.Fatal(err)
	}
	pids := mp.SparePIDs()
	if len(pids) != 1 || pids[0] == killed || !alive(pids[0]) {
		t.Errorf("spares %v after the kill of %d; want one live other", pids, killed)
	}
}

// A pool that replaces its workers (MaxTasksPerChild) takes each
// replacement from the spares too, as they come back.
func TestPrestartedReplacements(t *testing.T) {
	spares := prestart(t, 1)
	p, err := mp.NewPool(mp.Processes(1), mp.MaxTasksPerChild(1))
	if err != nil {
		t.Fatal(err)
	}
	pids, err := mp.Map(context.Background(), p, pidOf, ints(5), mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if pids[0] != spares[0] {
		t.Errorf("item 0 ran in %d, not in the spare %d", pids[0], spares[0])
	}
	slices.Sort(pids)
	if n := len(slices.Compact(pids)); n != 5 {
		t.Errorf("5 items, one task per worker, ran in %d processes", n)
	}
	if ready, starting, taken := mp.SpareState(); len(ready)+starting != 1 || taken != 0 {
		t.Errorf("after Close: spares ready %v, starting %d, taken %d; want one ready or starting", ready, starting, taken)
	}
}
