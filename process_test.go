//go:build unix

package mp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
)

// Functions worker processes run: registered at package level, so that the
// re-executed test binary knows them by name.
var (
	pidOf = mp.Register("test.pid", func(_ context.Context, x int) (int, error) { return os.Getpid(), nil })
	// meetPid writes a file named by its worker's pid in dir, waits until
	// two workers have (or a minute has passed, then it says so in dir for
	// the tasks after it), and returns the pid: a call of several meetPid
	// tasks runs on two workers at least, however slowly they start.
	meetPid = mp.Register("test.meetPid", func(_ context.Context, dir string) (int, error) {
		os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o600)
		deadline := time.Now().Add(time.Minute)
		for {
			entries, _ := os.ReadDir(dir)
			if len(entries) >= 2 {
				return os.Getpid(), nil
			}
			if time.Now().After(deadline) {
				os.WriteFile(filepath.Join(dir, "alone"), nil, 0o600)
				return os.Getpid(), nil
			}
			time.Sleep(time.Millisecond)
		}
	})
	// die kills its own worker process for item 3.
	die = mp.Register("test.die", func(_ context.Context, x int) (int, error) {
		if x == 3 {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Hour)
		}
		return x * 10, nil
	})
	// dieOnce kills its worker the first time it sees marker missing.
	dieOnce = mp.Register("test.dieOnce", func(_ context.Context, marker string) (string, error) {
		if _, err := os.Stat(marker); err != nil {
			os.WriteFile(marker, nil, 0o600)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Hour)
		}
		return "survived", nil
	})
	sleepy = mp.Register("test.sleepy", func(_ context.Context, ms int) (int, error) {
		time.Sleep(time.Duration(ms) * time.Millisecond) // ignores its context: only a kill stops it
		return ms, nil
	})
	// A per-worker state built in the worker process by a registered
	// initializer.
	openModel = mp.Register("test.openModel", func(ctx context.Context, name string) (*model, error) {
		if name == "broken" {
			return nil, errors.New("model file is corrupt")
		}
		return &model{name: name, pid: os.Getpid(), worker: mp.WorkerID(ctx)}, nil
	})
	predict = mp.Register("test.predict", func(ctx context.Context, x int) (string, error) {
		m, ok := mp.WorkerState[*model](ctx)
		if !ok || m.pid != os.Getpid() || m.worker != mp.WorkerID(ctx) {
			return "", errors.New("no model in this worker")
		}
		return fmt.Sprintf("%s:%d", m.name, x), nil
	})
	// nested starts a process pool inside a worker process.
	nested = mp.Register("test.nested", func(ctx context.Context, x int) (int, error) {
		p, err := mp.NewPool(mp.Processes(1))
		if err != nil {
			return 0, err
		}
		defer p.Close()
		return mp.Apply(ctx, p, square, x)
	})
	// describe returns a value that cannot be encoded for item 1.
	describe = mp.Register("test.describe", func(_ context.Context, x payload) (any, error) {
		if x.N == 1 {
			return make(chan int), nil
		}
		return x.N, nil
	})
	// hog leaks 100 MB of resident memory and returns its pid.
	hog = mp.Register("test.hog", func(_ context.Context, x int) (int, error) {
		b := make([]byte, 100<<20)
		for i := range b {
			b[i] = byte(i)
		}
		leaked = append(leaked, b)
		return os.Getpid(), nil
	})
	failing = mp.Register("test.failing", func(_ context.Context, x int) (int, error) {
		if x == 2 {
			return 0, &os.PathError{Op: "open", Path: "/nowhere", Err: os.ErrNotExist}
		}
		if x == 4 {
			panic("worker panic " + strconv.Itoa(x))
		}
		return x, nil
	})
)

var leaked [][]byte

type payload struct {
	N    int
	Meta map[string]any
}

type model struct {
	name        string
	pid, worker int
}

func newProcPool(t *testing.T, opts ...mp.PoolOption) *mp.Pool {
	t.Helper()
	p, err := mp.NewPool(append([]mp.PoolOption{mp.Processes(2)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Terminate()
		if kids := children(t); len(kids) > 0 {
			t.Errorf("worker processes left behind: %v", kids)
		}
	})
	return p
}

// children lists the live child processes of this test process (Linux
// /proc; nil elsewhere).
func children(t *testing.T) []int {
	t.Helper()
	deadline := time.Now().Add(long)
	for {
		kids := childPids(os.Getpid())
		if len(kids) == 0 || time.Now().After(deadline) {
			return kids
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProcessMap(t *testing.T) {
	p := newProcPool(t)
	ctx := context.Background()
	got, err := mp.Map(ctx, p, square, ints(1000))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i*i {
			t.Fatalf("result %d = %d", i, v)
		}
	}
	// tiny tasks may all be run by one worker (the other one's slot is not
	// even awake), tasks that wait for each other are shared
	pids, err := mp.Map(ctx, p, meetPid, slices.Repeat([]string{t.TempDir()}, 20), mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pids)
	pids = slices.Compact(pids)
	if len(pids) != 2 || slices.Contains(pids, os.Getpid()) {
		t.Errorf("tasks ran in processes %v, want 2 workers other than %d", pids, os.Getpid())
	}
	var n int
	for v, err := range mp.Imap(ctx, p, square, slices.Values(ints(500))) {
		if err != nil || v != n*n {
			t.Fatalf("Imap item %d = %d, %v", n, v, err)
		}
		n++
	}
	if v, err := mp.Apply(ctx, p, square, 12); v != 144 || err != nil {
		t.Errorf("Apply = %v, %v", v, err)
	}
	if _, err := mp.Apply(ctx, p, mp.Fn(mp.Plain(func(x int) int { return x })), 1); !errors.Is(err, mp.ErrInvalidOption) || !strings.Contains(err.Error(), "mp.Register") {
		t.Errorf("closure on a process pool: %v", err)
	}
	p.Close()
}

func TestProcessErrorsCrossBack(t *testing.T) {
	p := newProcPool(t)
	// chunks of 2, and one chunk for all: the worker goes on after an
	// item that panics, also inside a chunk
	for _, opts := range [][]mp.Option{{mp.Chunksize(2)}, {mp.Chunksize(6)}, {mp.Chunksize(6), mp.Retries(1)}} {
		out, err := mp.Map(context.Background(), p, failing, ints(6), append(opts, mp.Partial())...)
		if !slices.Equal(out, []int{0, 1, 0, 3, 0, 5}) {
			t.Errorf("results %v", out)
		}
		var re *mp.RemoteError
		errs := err.(interface{ Unwrap() []error }).Unwrap()
		if len(errs) != 2 || !errors.As(errs[0], &re) || re.Type != "*fs.PathError" || !strings.Contains(re.Msg, "/nowhere") {
			t.Fatalf("item 2: %v", errs)
		}
		if !errors.As(errs[1], &re) || !re.Panic || !strings.Contains(re.Stack, "process_test.go") || re.PID == os.Getpid() {
			t.Errorf("item 4: %#v", re)
		}
	}
}

func TestProcessWorkerKilled(t *testing.T) {
	p := newProcPool(t)
	ctx := context.Background()
	var out []int
	var err error
	within(t, "Map with a worker killed", func() {
		out, err = mp.Map(ctx, p, die, ints(8), mp.Partial(), mp.Chunksize(2))
	})
	var te *mp.TaskError
	var we *mp.WorkerError
	if !errors.As(err, &te) || te.Index != 3 || !errors.As(err, &we) || we.Signal != "killed" || !errors.Is(err, mp.ErrBrokenPool) {
		t.Fatalf("err = %v, want task 3 failing with a WorkerError for SIGKILL", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("worker process %d killed by signal killed", we.PID)) {
		t.Errorf("message %q does not name the pid and signal", err)
	}
	for i, v := range out {
		if i != 3 && v != i*10 {
			t.Errorf("item %d = %d: lost with the dead worker", i, v)
		}
	}
	// The pool replaced the worker and still works.
	if v, err := mp.Apply(ctx, p, square, 5); v != 25 || err != nil {
		t.Errorf("Apply after the crash = %v, %v", v, err)
	}
	// With Retries, a crash once is survived.
	marker := filepath.Join(t.TempDir(), "crashed")
	if v, err := mp.Apply(ctx, p, dieOnce, marker, mp.Retries(1)); v != "survived" || err != nil {
		t.Errorf("dieOnce with a retry = %q, %v", v, err)
	}
}

func TestProcessTimeoutKills(t *testing.T) {
	p := newProcPool(t)
	ctx := context.Background()
	var out []int
	var err error
	start := time.Now()
	within(t, "Map with a hung task", func() {
		out, err = mp.Map(ctx, p, sleepy, []int{1, 60_000, 2, 3}, mp.Timeout(300*time.Millisecond), mp.Partial(), mp.Chunksize(1))
	})
	if !errors.Is(err, mp.ErrTimeout) || !strings.Contains(err.Error(), "task 1") {
		t.Fatalf("err = %v, want ErrTimeout for task 1", err)
	}
	if out[0] != 1 || out[2] != 2 || out[3] != 3 {
		t.Errorf("results %v", out)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v: the hung worker was not killed", d)
	}
}

func TestProcessCancelKills(t *testing.T) {
	p := newProcPool(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	var err error
	within(t, "cancelled Map", func() { _, err = mp.Map(ctx, p, sleepy, []int{60_000, 60_000}) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	within(t, "Terminate", p.Terminate)
}

func TestProcessMissingMain(t *testing.T) {
	for _, mode := range []string{"hang", "exit"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("MP_TEST_WORKER_MISBEHAVES", mode)
			var err error
			within(t, "NewPool", func() {
				_, err = mp.NewPool(mp.Processes(1), mp.HandshakeTimeout(time.Second))
			})
			if !errors.Is(err, mp.ErrBrokenPool) || !strings.Contains(err.Error(), "mp.Main()") {
				t.Errorf("err = %v, want advice to call mp.Main()", err)
			}
			if mode == "exit" && !strings.Contains(err.Error(), "status 7") {
				t.Errorf("err = %v, want the exit status", err)
			}
			if kids := children(t); len(kids) > 0 {
				t.Errorf("processes left: %v", kids)
			}
		})
	}
}

// processID names this process uniquely: its pid and start time (a pid
// alone can be reused by a busy machine within the test).
var processID = mp.Register("test.processID", func(_ context.Context, x int) (string, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return strconv.Itoa(os.Getpid()), nil
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return fmt.Sprintf("%d-%s", os.Getpid(), f[19]), nil
})

// TestProcessRecycling replaces a worker after every task, under load:
// MP_TEST_RECYCLE_N=2000 runs the full size (about 10 s). What
// is bounded is progress (each result within long of the one before),
// not the whole run, whose time is that of n process starts on however
// busy a machine.
func TestProcessRecycling(t *testing.T) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("MP_TEST_RECYCLE_N")); err == nil {
		n = v
	}
	p := newProcPool(t, mp.MaxTasksPerChild(1))
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		id  string
		err error
	}
	results := make(chan result)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for id, err := range mp.Imap(ctx, p, processID, slices.Values(ints(n)), mp.Chunksize(1)) {
			select {
			case results <- result{id, err}:
			case <-ctx.Done():
				return
			}
		}
		close(results)
	}()
	defer func() { cancel(); <-ended }()
	ids := map[string]bool{}
	for got := 0; ; got++ {
		select {
		case r, ok := <-results:
			if !ok {
				if got != n {
					t.Fatalf("%d results of %d", got, n)
				}
				if len(ids) != n {
					t.Errorf("%d tasks with MaxTasksPerChild(1) ran in %d processes", n, len(ids))
				}
				p.Close()
				return
			}
			if r.err != nil {
				t.Fatalf("task %d: %v", got, r.err)
			}
			ids[r.id] = true
		case <-time.After(long):
			t.Fatalf("no result for %v after %d of %d: the pool stalled", long, got, n)
		}
	}
}

func TestProcessInitializer(t *testing.T) {
	_, err := mp.NewPool(mp.Processes(2), mp.Initializer(openModel, "broken"))
	var re *mp.RemoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "initializer of worker") || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("failing initializer: %v", err)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("processes left after a failed start: %v", kids)
	}
	_, err = mp.NewPool(mp.Processes(1), mp.Initializer(mp.Fn(func(context.Context, int) (int, error) { return 0, nil }), 1))
	if !errors.Is(err, mp.ErrInvalidOption) || !strings.Contains(err.Error(), "mp.Register") {
		t.Errorf("closure initializer on processes: %v", err)
	}

	p := newProcPool(t, mp.Initializer(openModel, "resnet"))
	out, err := mp.Map(context.Background(), p, predict, ints(6), mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	if out[5] != "resnet:5" {
		t.Errorf("results %v", out)
	}
}

// parentRole is the test binary run as a program with a process pool, or
// with two Processes (one a daemon): it prints its children's pids and
// waits to be killed.
func parentRole() int {
	if os.Getenv("MP_TEST_PARENT_OF") == "shm" {
		m, err := mp.CreateSharedMemory("", 4096)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println(m.Name())
		time.Sleep(time.Hour)
		return 0
	}
	if os.Getenv("MP_TEST_PARENT_OF") == "tasksleep" {
		p, err := mp.NewPool(mp.Processes(1))
		var pid int
		if err == nil {
			pid, err = mp.Apply(context.Background(), p, startSleep, "")
		}
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println(pid)
		time.Sleep(time.Hour)
		return 0
	}
	if os.Getenv("MP_TEST_PARENT_OF") == "processes" {
		for _, daemon := range []bool{false, true} {
			p, err := mp.NewProcess(sleepy, 3_600_000, mp.Daemon(daemon))
			if err == nil {
				err = p.Start(context.Background())
			}
			if err != nil {
				fmt.Println("error:", err)
				return 1
			}
		}
	} else if _, err := mp.NewPool(mp.Processes(2)); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println(childPids(os.Getpid()))
	time.Sleep(time.Hour)
	return 0
}

// childPids lists the live children of pid (Linux /proc).
func childPids(parent int) []int {
	var kids []int
	entries, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, e := range entries {
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[1] == strconv.Itoa(parent) && f[0] != "Z" {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			kids = append(kids, pid)
		}
	}
	return kids
}

func TestChildrenDieWithTheirParent(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	for _, tt := range []struct {
		of  string
		sig syscall.Signal
	}{
		{"pool", syscall.SIGKILL}, {"pool", syscall.SIGTERM}, {"pool", syscall.SIGINT},
		{"processes", syscall.SIGKILL}, {"processes", syscall.SIGTERM},
	} {
		sig := tt.sig
		t.Run(tt.of+"/"+sig.String(), func(t *testing.T) {
			if signal.Ignored(sig) {
				// inherited (a shell's background job ignores SIGINT), so
				// the parent we start would ignore it too
				t.Skipf("%v is ignored by this process and so by its children", sig)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = proc.SelfEnv("MP_TEST_ROLE=parent", "MP_TEST_PARENT_OF="+tt.of)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { // whatever happens below, the parent does not outlive the test
				cmd.Process.Kill()
				cmd.Wait()
			}()
			guard := time.AfterFunc(long, func() { cmd.Process.Kill() }) // the read below ends
			line, err := bufio.NewReader(out).ReadString('\n')
			guard.Stop()
			if err != nil {
				t.Fatalf("parent said %q: %v", line, err)
			}
			var pids []int
			for _, f := range strings.Fields(strings.Trim(line, "[]\n")) {
				pid, _ := strconv.Atoi(f)
				pids = append(pids, pid)
			}
			if len(pids) != 2 {
				t.Fatalf("parent printed %q", line)
			}
			cmd.Process.Signal(sig)
			exited := make(chan error, 1)
			go func() { _, err := cmd.Process.Wait(); exited <- err }()
			select {
			case <-exited:
			case <-time.After(long):
				t.Errorf("the parent did not die of %v within %v", sig, long)
			}
			deadline := time.Now().Add(long)
			for _, pid := range pids {
				for alive(pid) && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if alive(pid) {
					t.Errorf("worker %d survived its parent's %v", pid, sig)
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		})
	}
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

func TestNestedPoolInAWorker(t *testing.T) {
	p := newProcPool(t)
	if v, err := mp.Apply(context.Background(), p, nested, 9); v != 81 || err != nil {
		t.Errorf("a pool inside a worker: %v, %v", v, err)
	}
}

func TestNoFdLeaks(t *testing.T) {
	count := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("needs /proc")
		}
		return len(entries)
	}
	// The first pool makes the process's lifeline, kept for its life.
	warm, err := mp.NewPool(mp.Processes(1))
	if err != nil {
		t.Fatal(err)
	}
	warm.Close()
	before := count()
	for range 3 {
		p, err := mp.NewPool(mp.Processes(2))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mp.Map(context.Background(), p, die, ints(6), mp.Partial()); err == nil {
			t.Error("no crash reported")
		}
		p.Close()
		if _, err := mp.NewPool(mp.Processes(1), mp.Initializer(openModel, "broken")); err == nil {
			t.Error("broken initializer accepted")
		}
	}
	if after := count(); after > before {
		t.Errorf("%d fds open before, %d after three pools", before, after)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("processes left: %v", kids)
	}
}

func TestProcessUnencodableValues(t *testing.T) {
	p := newProcPool(t)
	ctx := context.Background()
	items := []payload{{N: 0}, {N: 1}, {N: 2, Meta: map[string]any{"cb": func() {}}}, {N: 3}}
	out, err := mp.Map(ctx, p, describe, items, mp.Partial(), mp.Chunksize(4))
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	if len(errs) != 2 {
		t.Fatalf("errors: %v", errs)
	}
	if !strings.Contains(errs[0].Error(), "task 1") || !strings.Contains(errs[0].Error(), "chan int") {
		t.Errorf("unencodable result: %v", errs[0])
	}
	if !strings.Contains(errs[1].Error(), "task 2") || !strings.Contains(errs[1].Error(), `func() at .Meta["cb"]`) {
		t.Errorf("unencodable argument: %v", errs[1])
	}
	if fmt.Sprint(out[0], out[3]) != "0 3" {
		t.Errorf("the other items: %v", out)
	}
}

func TestProcessMemoryRecycling(t *testing.T) {
	if _, err := os.Stat("/proc/self/statm"); err != nil {
		t.Skip("resident memory is read on Linux only")
	}
	p := newProcPool(t, mp.MaxMemoryPerChild(80<<20))
	pids, err := mp.Map(context.Background(), p, hog, ints(4), mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pids)
	if n := len(slices.Compact(pids)); n != 4 {
		t.Errorf("4 tasks leaking 100 MB each under an 80 MB limit ran in %d processes, want 4", n)
	}
	if _, err := mp.NewPool(mp.Threads(1), mp.MaxMemoryPerChild(1)); !errors.Is(err, mp.ErrInvalidOption) {
		t.Errorf("MaxMemoryPerChild on goroutines: %v", err)
	}
}

var chatty = mp.Register("test.chatty", func(_ context.Context, x int) (int, error) {
	fmt.Fprintf(os.Stderr, "working on %d\n", x)
	return x, nil
})

func TestWorkerOutputIsTagged(t *testing.T) {
	// Run the pool in a child test process so that its stderr can be read.
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerOutputIsTaggedChild$", "-test.v")
	cmd.Env = proc.SelfEnv("MP_TEST_CHILD=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
	for _, x := range []int{5, 6} {
		re := fmt.Sprintf("] working on %d", x)
		found := false
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasSuffix(line, re) && strings.HasPrefix(line, "[mp worker ") && strings.Contains(line, " pid ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no tagged line for item %d in:\n%s", x, out.String())
		}
	}
}

func TestWorkerOutputIsTaggedChild(t *testing.T) {
	if os.Getenv("MP_TEST_CHILD") == "" {
		t.Skip("run by TestWorkerOutputIsTagged")
	}
	if os.Getenv("MP_TEST_PRESTART") != "" {
		prestart(t, 2) // the workers are spares (TestPrestartedWorkerOutputIsTagged)
	}
	p := newProcPool(t)
	if _, err := mp.Map(context.Background(), p, chatty, ints(8), mp.Chunksize(1)); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := mp.Prestart(context.Background(), 0); err != nil { // before the pool's check for processes left
		t.Error(err)
	}
}

func TestProcessSubmitCancelledWhileRunning(t *testing.T) {
	p := newProcPool(t)
	ctx, cancel := context.WithCancel(context.Background())
	f := mp.Submit(ctx, p, sleepy, 60_000)
	time.AfterFunc(100*time.Millisecond, cancel)
	var err error
	within(t, "Get of a cancelled Submit", func() { _, err = f.Get(context.Background()) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want the cancellation", err)
	}
	if v, err := mp.Apply(context.Background(), p, square, 4); v != 16 || err != nil {
		t.Errorf("pool after a cancelled task: %v, %v", v, err)
	}
}

// BenchmarkProcessMap maps b.N trivial items on two worker processes;
// ns/op is per item.
func BenchmarkProcessMap(b *testing.B) {
	for _, chunk := range []int{1, 1000} {
		b.Run(fmt.Sprintf("chunksize=%d", chunk), func(b *testing.B) {
			p, err := mp.NewPool(mp.Processes(2))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			in := ints(b.N)
			b.ResetTimer()
			if _, err := mp.Map(context.Background(), p, square, in, mp.Chunksize(chunk)); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func BenchmarkProcessApply(b *testing.B) {
	p, err := mp.NewPool(mp.Processes(2))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := mp.Apply(ctx, p, square, i); err != nil {
			b.Fatal(err)
		}
	}
}

var echo = mp.Register("test.echo", mp.Plain(func(s string) string { return s }))

// Tasks queued in a worker's pipe behind the running one (pipelining)
// must survive that worker's death, a Terminate and a cancellation.
func TestProcessPipelineFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("crash with tasks queued behind", func(t *testing.T) {
		p := newProcPool(t)
		in := ints(3000)
		var out []int
		var err error
		within(t, "Map", func() { out, err = mp.Map(ctx, p, die, in, mp.Partial(), mp.Chunksize(1)) })
		var te *mp.TaskError
		errs := err.(interface{ Unwrap() []error }).Unwrap()
		if len(errs) != 1 || !errors.As(errs[0], &te) || te.Index != 3 {
			t.Fatalf("err = %v, want only task 3 failing", err)
		}
		for i, v := range out {
			if i != 3 && v != i*10 {
				t.Fatalf("item %d = %d: lost with the dead worker", i, v)
			}
		}
	})
	t.Run("Submit futures queued behind a crash", func(t *testing.T) {
		p := newProcPool(t)
		var fs []*mp.Future[int]
		for i := range 500 {
			fs = append(fs, mp.Submit(ctx, p, die, i))
		}
		for i, f := range fs {
			var v int
			var err error
			within(t, "Get", func() { v, err = f.Get(ctx) })
			if (i == 3) != (err != nil) || (err == nil && v != i*10) {
				t.Fatalf("future %d = %d, %v", i, v, err)
			}
		}
	})
	t.Run("Terminate with tasks queued", func(t *testing.T) {
		p := newProcPool(t)
		var fs []*mp.Future[int]
		for i := range 2000 {
			fs = append(fs, mp.Submit(ctx, p, sleepy, i%3))
		}
		// Terminate while the workers run tasks, not before they start
		waitUntil(t, "a first task done", fs[0].Ready)
		within(t, "Terminate", p.Terminate)
		for i, f := range fs {
			within(t, "Get after Terminate", func() {
				if _, err := f.Get(ctx); err != nil && !errors.Is(err, mp.ErrClosed) && !errors.Is(err, mp.ErrBrokenPool) {
					t.Errorf("future %d: %v", i, err)
				}
			})
		}
	})
	t.Run("cancel with tasks queued", func(t *testing.T) {
		p := newProcPool(t)
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		var err error
		within(t, "cancelled Map", func() { _, err = mp.Map(cctx, p, sleepy, slices.Repeat([]int{1}, 5000), mp.Chunksize(1)) })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
		if v, err := mp.Apply(ctx, p, square, 7); v != 49 || err != nil {
			t.Errorf("pool after the cancel: %v, %v", v, err)
		}
	})
	t.Run("big tasks and results", func(t *testing.T) {
		// Tasks too big to queue without blocking wait for the worker:
		// neither side may block writing while the other does.
		p := newProcPool(t)
		in := make([]string, 300)
		for i := range in {
			in[i] = strings.Repeat(string(rune('a'+i%26)), 20_000+i*100)
		}
		var out []string
		var err error
		within(t, "Map of big strings", func() { out, err = mp.Map(ctx, p, echo, in, mp.Chunksize(1)) })
		if err != nil || !slices.Equal(out, in) {
			t.Errorf("echo: %v", err)
		}
	})
}

// The end of a call cancels its context; that must not kill the workers
// that ran it (they are done with it), or each call would cost a restart.
func TestProcessWorkersOutliveCalls(t *testing.T) {
	p := newProcPool(t)
	ctx := context.Background()
	pids := func() []int {
		out, err := mp.Map(ctx, p, meetPid, slices.Repeat([]string{t.TempDir()}, 20), mp.Chunksize(1))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	before := pids()
	for range 100 {
		if _, err := mp.Map(ctx, p, square, ints(50), mp.Chunksize(1)); err != nil {
			t.Fatal(err)
		}
	}
	if after := pids(); !slices.Equal(before, after) {
		t.Errorf("workers %v before 100 calls, %v after: some were killed", before, after)
	}
}

// sleepPid sleeps ms and says which process ran it.
var sleepPid = mp.Register("test.sleepPid", func(_ context.Context, ms int) (int, error) {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return os.Getpid(), nil
})

// Long tasks after many tiny ones of another function share the workers:
// a worker's recent task time is per function, so the first long task
// does not look tiny and queue the others behind it in its worker's pipe
// (bench -procs' CPU-bound case ran 16 × 150 ms in 1.8–2.4 s instead of
// 1.2 on 2 workers, after the tiny tasks of the cases before it). Sleeps,
// not CPU: the spread holds on a loaded machine.
func TestLongTasksAfterTinyOnesShareTheWorkers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := newProcPool(t)
	for range 3 {
		if _, err := mp.Map(ctx, p, pidOf, make([]int, 2000), mp.Chunksize(1)); err != nil {
			t.Fatal(err)
		}
		pids, err := mp.Map(ctx, p, sleepPid, slices.Repeat([]int{30}, 8), mp.Chunksize(1))
		if err != nil {
			t.Fatal(err)
		}
		ran := map[int]int{}
		for _, pid := range pids {
			ran[pid]++
		}
		if len(ran) != 2 {
			t.Fatalf("8 tasks of 30 ms ran on %d worker(s): %v", len(ran), ran)
		}
		for pid, n := range ran {
			if n < 2 {
				t.Fatalf("worker %d ran %d of 8 tasks of 30 ms (pids: %v)", pid, n, ran)
			}
		}
	}
}

// Apply in a loop on a process pool allocates nothing: its task is one a
// lent run is done with (kept by the Func), the slot's chain, its list
// of jobs and its flight are kept from call to call, the argument is
// encoded from the task, a number's result copied from the frame, and the
// worker is lent to the caller (no Done channel to wait on). It took 9
// allocations a call.
func TestApplyAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p := newProcPool(t)
	ctx := context.Background()
	if _, err := mp.Apply(ctx, p, square, 1); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(500, func() {
		if v, err := mp.Apply(ctx, p, square, 3); v != 9 || err != nil {
			t.Fatalf("Apply: %v, %v", v, err)
		}
	})
	if n > 0.2 { // a collection may empty the Func's pool of tasks
		t.Fatalf("Apply allocated %.2f times a call, want none", n)
	}
}

// Apply in a loop runs every task on the worker that ran the last one:
// that worker says it is finishing before the caller has its result
// (sched.Pool.Finishing), so the caller's next task is left to it instead
// of waking the other, asleep (its goroutine parked, its process maybe
// asleep on its task ring). Before, the two workers took turns. With
// MaxTasksPerChild(1) each worker leaves after a task, and the task left
// to it must go to another worker, not wait for it.
func TestApplyInALoopStaysOnOneWorker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := newProcPool(t)
	ran := map[int]int{}
	for i := range 300 {
		pid, err := mp.Apply(ctx, p, pidOf, i)
		if err != nil {
			t.Fatal(err)
		}
		if i >= 10 { // the first may find either worker
			ran[pid]++
		}
	}
	if len(ran) != 1 {
		t.Fatalf("290 sequential Applies ran on %d workers (tasks by pid: %v), want 1", len(ran), ran)
	}

	p2, err := mp.NewPool(mp.Processes(2), mp.MaxTasksPerChild(1))
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	seen := map[int]bool{}
	for i := range 20 {
		pid, err := mp.Apply(ctx, p2, pidOf, i)
		if err != nil {
			t.Fatalf("Apply %d with MaxTasksPerChild(1): %v", i, err)
		}
		if seen[pid] {
			t.Fatalf("Apply %d ran on worker %d again after MaxTasksPerChild(1)", i, pid)
		}
		seen[pid] = true
	}
}
