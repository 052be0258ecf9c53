//go:build unix

package mp_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
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

// Fault injection on process pools: programs that forget mp.Main, workers
// killed while they start, garbage on a worker's results pipe, processes
// that tasks start.

var (
	// hold writes a file named by its pid in dir, then waits for dir/go.
	hold = mp.Register("test.hold", func(_ context.Context, dir string) (int, error) {
		os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o600)
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
				return os.Getpid(), nil
			}
		}
		return 0, errors.New("never released")
	})
	// scribble writes garbage to its worker's results pipe (fd 4) for
	// item 2, as a task or a C library writing to the wrong descriptor.
	scribble = mp.Register("test.scribble", func(_ context.Context, a scribbleArgs) (int, error) {
		if a.X == 2 {
			switch a.Mode {
			case "text":
				syscall.Write(4, []byte("warning: libfoo printed this to fd 4\n"))
			case "header":
				// a frame header announcing 60 MiB of results, then 3 bytes
				hdr := []byte{0, 0, 0, 0, 3, 'a', 'b', 'c'}
				binary.LittleEndian.PutUint32(hdr, 60<<20)
				syscall.Write(4, hdr)
			}
		}
		return a.X * 10, nil
	})
	// startSleep starts `sleep 300` and returns its pid, leaving it
	// running; with a file name, it writes the pid there and waits.
	startSleep = mp.Register("test.startSleep", func(_ context.Context, pidFile string) (int, error) {
		cmd := exec.Command("sleep", "300")
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		if pidFile != "" {
			os.WriteFile(pidFile+".tmp", []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
			os.Rename(pidFile+".tmp", pidFile)
			if strings.HasSuffix(pidFile, "wait") {
				time.Sleep(time.Hour)
			}
		}
		return cmd.Process.Pid, nil
	})
)

type scribbleArgs struct {
	Mode string
	X    int
}

// noMainEnv names the counter file of noMainRole.
const noMainEnv = "MP_TEST_NOMAIN"

// noMainRole is the test binary run as a program that forgets mp.Main: it
// makes a process pool, then a Process, and prints what became of them.
// Every process running it (the program and whatever it starts) adds a
// line to the counter file; past 30 lines a process stops at once, a
// fuse that bounds the cascade this test is about, should it come back.
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
	type report struct {
		What string
		Ms   int64
		Err  string
	}
	out := json.NewEncoder(os.Stdout)
	start := time.Now()
	p, err := mp.NewPool(mp.Processes(2))
	if err == nil {
		p.Close()
		err = errors.New("no error")
	}
	out.Encode(report{"pool", time.Since(start).Milliseconds(), err.Error()})
	start = time.Now()
	proc, err := mp.NewProcess(pidOf, 1)
	if err == nil {
		if err = proc.Start(context.Background()); err == nil {
			err = proc.Join(context.Background())
		}
	}
	if err == nil {
		err = errors.New("no error")
	}
	out.Encode(report{"process", time.Since(start).Milliseconds(), err.Error()})
	return 0
}

// Defect 2.2: a program without mp.Main reached 1,004 live copies of
// itself. Its workers must stop at once, the program must hear why within
// seconds, and no more than its own workers may ever start.
func TestMissingMainDoesNotCascade(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "started")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = proc.SelfEnv(noMainEnv + "=" + counter)
	cmd.Stderr = nil
	var out []byte
	var err error
	within(t, "the program without mp.Main", func() { out, err = cmd.Output() })
	if err != nil {
		t.Fatalf("program: %v, output %s", err, out)
	}
	reports := map[string]struct {
		Ms  int64
		Err string
	}{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var r struct {
			What string
			Ms   int64
			Err  string
		}
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			reports[r.What] = struct {
				Ms  int64
				Err string
			}{r.Ms, r.Err}
		}
	}
	for _, what := range []string{"pool", "process"} {
		r, ok := reports[what]
		if !ok {
			t.Errorf("no report for the %s in %q", what, out)
			continue
		}
		if !strings.Contains(r.Err, "mp.Main()") || !strings.Contains(r.Err, "without calling mp.Main") {
			t.Errorf("%s: %q does not say that mp.Main was not called", what, r.Err)
		}
		if r.Ms > 8000 {
			t.Errorf("%s: the error came after %d ms", what, r.Ms)
		}
	}
	if r := reports["process"]; strings.Contains(r.Err, "pool") {
		t.Errorf("the error of a Process speaks of a pool: %q", r.Err)
	}
	b, _ := os.ReadFile(counter)
	// the program, its pool's 2 workers, its Process's child
	if n := strings.Count(string(b), "\n"); n != 4 {
		t.Errorf("%d processes ran the program, want 4 (itself, 2 workers, 1 child)", n)
	}
}

// Defect 2.9: a worker killed, then its replacement killed while it
// starts, broke the pool for good. Each trial kills the worker running a
// task and then one or two replacements at random points of their start.
// The task may fail (a replacement killed once it ran the task again is
// a second crash of that task); the pool must go on.
func TestKillsWhileStartingDoNotBreakThePool(t *testing.T) {
	if l, _ := filepath.Glob("/proc/self/task/*/children"); len(l) == 0 {
		t.Skip("needs /proc/PID/task/TID/children to see workers as they start")
	}
	p := newProcPool(t, mp.Processes(1))
	ctx := context.Background()
	ran := 0
	for trial := range 24 {
		dir := t.TempDir()
		done := make(chan error, 1)
		go func() {
			// Retries(1): the killed item runs again on a replacement
			// (without retries it fails at once: it ran, and runs once)
			_, err := mp.Apply(ctx, p, hold, dir, mp.Retries(1))
			done <- err
		}()
		worker := waitForPidFile(t, dir)
		syscall.Kill(worker, syscall.SIGKILL)
		seen := map[int]bool{worker: true}
		for range 1 + rand.IntN(2) {
			pid := newChild(t, seen)
			if pid == 0 {
				t.Fatalf("trial %d: no replacement started", trial)
			}
			time.Sleep(time.Duration(rand.IntN(10_000)) * time.Microsecond)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
		select {
		case err := <-done:
			var we *mp.WorkerError
			if err != nil && !errors.As(err, &we) {
				t.Fatalf("trial %d: the task failed: %v", trial, err)
			}
			if err != nil {
				t.Logf("trial %d (first worker %d, seen %v): %v", trial, worker, seen, err)
			}
			if err == nil {
				ran++
			}
		case <-time.After(long):
			t.Fatalf("trial %d: the task did not end", trial)
		}
		if v, err := mp.Apply(ctx, p, square, 3); v != 9 || err != nil {
			t.Fatalf("trial %d: the pool after the kills: %v, %v", trial, v, err)
		}
	}
	t.Logf("the task survived the kills in %d of 24 trials", ran)
}

// When no worker can start at all (here each is killed as it starts), the
// pool breaks and says why.
func TestPoolBreaksWhenWorkersCannotStart(t *testing.T) {
	p := newProcPool(t, mp.Processes(1))
	ctx := context.Background()
	t.Setenv("MP_TEST_WORKER_MISBEHAVES", "killed") // for the workers started from now on
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() {
		// Retries(1): the killed item runs again, which needs a new worker
		// (without retries it would fail at once: it ran, and runs once)
		_, err := mp.Apply(ctx, p, hold, dir, mp.Retries(1))
		done <- err
	}()
	syscall.Kill(waitForPidFile(t, dir), syscall.SIGKILL)
	var err error
	select {
	case err = <-done:
	case <-time.After(long):
		t.Fatal("the task did not end")
	}
	if !errors.Is(err, mp.ErrBrokenPool) || !strings.Contains(err.Error(), "cannot start") || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("err = %v, want a broken pool saying that workers are killed as they start", err)
	}
	if strings.Contains(err.Error(), "mp.Main") {
		t.Errorf("err = %v: advice about mp.Main is wrong here", err)
	}
	if _, err2 := mp.Apply(ctx, p, square, 2); !errors.Is(err2, mp.ErrBrokenPool) {
		t.Errorf("the call after: %v, want the broken pool", err2)
	}
}

// waitForPidFile waits for a hold task to start in dir and returns the
// pid of its worker.
func waitForPidFile(t *testing.T, dir string) int {
	t.Helper()
	for deadline := time.Now().Add(long); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if pid, err := strconv.Atoi(e.Name()); err == nil {
				return pid
			}
		}
	}
	t.Fatal("the task did not start")
	return 0
}

// newChild waits for a child process of this test not in seen, adds it
// and returns it (0 if none comes).
func newChild(t *testing.T, seen map[int]bool) int {
	t.Helper()
	for deadline := time.Now().Add(long); time.Now().Before(deadline); time.Sleep(100 * time.Microsecond) {
		if pid := childPidsExcept(seen); pid != 0 {
			seen[pid] = true
			return pid
		}
	}
	return 0
}

// childPidsExcept returns a child of this process not in seen, or 0. It
// reads the children of each of our threads, faster than a scan of
// /proc: a worker is seen as it starts.
func childPidsExcept(seen map[int]bool) int {
	lists, _ := filepath.Glob("/proc/self/task/*/children")
	for _, l := range lists {
		b, _ := os.ReadFile(l)
		for _, f := range strings.Fields(string(b)) {
			if pid, _ := strconv.Atoi(f); pid > 0 && !seen[pid] && alive(pid) {
				return pid
			}
		}
	}
	return 0
}

// Defect 2.10: bytes that are not mp's frames on a worker's results pipe
// stalled the call for seconds, and a header announcing 60 MiB was
// allocated and then waited for without bound. Since issue 15 results
// travel in shared memory, not on fd 4: what a task or a C library writes
// to fd 4 (closed in a worker) reaches nothing, and every item runs.
func TestGarbageOnTheResultsPipe(t *testing.T) {
	p := newProcPool(t, mp.Processes(1))
	ctx := context.Background()
	for _, mode := range []string{"text", "header"} {
		t.Run(mode, func(t *testing.T) {
			args := make([]scribbleArgs, 6)
			for i := range args {
				args[i] = scribbleArgs{Mode: mode, X: i}
			}
			var out []int
			var err error
			within(t, "Map", func() { out, err = mp.Map(ctx, p, scribble, args, mp.Partial(), mp.Chunksize(6)) })
			if err != nil {
				t.Fatalf("err = %v, want none: fd 4 is not the results' way any more", err)
			}
			if want := []int{0, 10, 20, 30, 40, 50}; !slices.Equal(out, want) {
				t.Errorf("results %v, want %v", out, want)
			}
			if v, err := mp.Apply(ctx, p, square, 4); v != 16 || err != nil {
				t.Errorf("the pool afterwards: %v, %v", v, err)
			}
		})
	}
}

// Defect 2.13: a process a task started outlived the pool's Close, its
// Terminate, a Process, and the program itself when SIGKILLed.
func TestTaskProcessesDieWithTheirOwners(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep command")
	}
	ctx := context.Background()
	gone := func(t *testing.T, what string, pid int) {
		t.Helper()
		deadline := time.Now().Add(long)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("the process a task started (pid %d) outlived %s", pid, what)
		}
	}
	for _, stop := range []string{"Close", "Terminate"} {
		t.Run("pool "+stop, func(t *testing.T) {
			p := newProcPool(t, mp.Processes(1))
			pid, err := mp.Apply(ctx, p, startSleep, "")
			if err != nil {
				t.Fatal(err)
			}
			if !alive(pid) {
				t.Fatalf("sleep %d is not running", pid)
			}
			if stop == "Close" {
				within(t, "Close", func() { p.Close() })
			} else {
				within(t, "Terminate", p.Terminate)
			}
			gone(t, "pool."+stop+"()", pid)
		})
	}
	for _, end := range []string{"returns", "Terminate"} {
		t.Run("Process "+end, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "pid")
			if end == "Terminate" {
				file += ".wait"
			}
			proc, err := mp.NewProcess(startSleep, file)
			proc = startProcess(t, proc, err)
			pid := readPid(t, file)
			if end == "Terminate" {
				proc.Terminate()
			}
			within(t, "Join", func() { proc.Join(ctx) })
			if code, _ := proc.ExitCode(); end == "Terminate" && code != -int(syscall.SIGTERM) {
				t.Errorf("exit code after Terminate %d, want %d", code, -int(syscall.SIGTERM))
			}
			gone(t, "its Process ("+end+")", pid)
		})
	}
	t.Run("program SIGKILLed", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = proc.SelfEnv("MP_TEST_ROLE=parent", "MP_TEST_PARENT_OF=tasksleep")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cmd.Process.Kill()
			cmd.Wait()
		}()
		guard := time.AfterFunc(long, func() { cmd.Process.Kill() })
		line, err := bufio.NewReader(out).ReadString('\n')
		guard.Stop()
		pid, perr := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || perr != nil {
			t.Fatalf("the program said %q: %v", line, err)
		}
		cmd.Process.Kill()
		cmd.Wait()
		gone(t, "its program, SIGKILLed", pid)
	})
}

// readPid waits for a pid written to file.
func readPid(t *testing.T, file string) int {
	t.Helper()
	for deadline := time.Now().Add(long); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if b, err := os.ReadFile(file); err == nil {
			if pid, err := strconv.Atoi(string(b)); err == nil {
				return pid
			}
		}
	}
	t.Fatalf("no pid in %s", file)
	return 0
}

type parentInfo struct {
	Nil   bool
	Name  string
	Pid   int
	Alive bool
}

// whoIsParent describes mp.ParentProcess() where it runs, to a file if
// given one (a Process's result does not come back).
var whoIsParent = mp.Register("test.whoIsParent", func(_ context.Context, file string) (parentInfo, error) {
	var info parentInfo
	if pp := mp.ParentProcess(); pp == nil {
		info.Nil = true
	} else {
		info = parentInfo{Name: pp.Name(), Pid: pp.Pid(), Alive: pp.IsAlive()}
	}
	if file != "" {
		b, _ := json.Marshal(info)
		return info, os.WriteFile(file, b, 0o600)
	}
	return info, nil
})

// CPython: _TestProcess.test_parent_process (parent_process()).
func TestParentProcess(t *testing.T) {
	if pp := mp.ParentProcess(); pp != nil {
		t.Errorf("the program as started has a parent process %v", pp)
	}
	want := parentInfo{Name: "MainProcess", Pid: os.Getpid(), Alive: true}
	p := newProcPool(t, mp.Processes(1))
	if got, err := mp.Apply(context.Background(), p, whoIsParent, ""); err != nil || got != want {
		t.Errorf("in a pool's worker: %+v, %v; want %+v", got, err, want)
	}
	file := filepath.Join(t.TempDir(), "parent")
	child, err := mp.NewProcess(whoIsParent, file)
	child = startProcess(t, child, err)
	within(t, "Join", func() { err = child.Join(context.Background()) })
	var got parentInfo
	b, rerr := os.ReadFile(file)
	if err != nil || rerr != nil || json.Unmarshal(b, &got) != nil || got != want {
		t.Errorf("in a Process: %s (%v, %v); want %+v", b, err, rerr, want)
	}
}
