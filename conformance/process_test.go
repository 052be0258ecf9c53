//go:build linux

package conformance

import (
	"context"
	"errors"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// childArgs is test_process's (q, 1, 2) args and {'hello': 23, 'bye': 2.54}
// kwargs, as one argument.
type childArgs struct {
	Q     *mp.Queue[childReport]
	Args  []int
	Hello int
	Bye   float64
}

type childReport struct {
	Args  []int
	Hello int
	Bye   float64
	Name  string
	Pid   int
}

var (
	// reportChild is _TestProcess._test: it puts its args, its name and pid.
	reportChild = mp.Register("conf.reportChild", func(ctx context.Context, a childArgs) (struct{}, error) {
		cur := mp.CurrentProcess()
		return struct{}{}, a.Q.Put(ctx, childReport{Args: a.Args, Hello: a.Hello, Bye: a.Bye, Name: cur.Name(), Pid: cur.Pid()})
	})
	echoInt    = mp.Register("conf.echoInt", echo[int])
	echoString = mp.Register("conf.echoString", echo[string])
	echoSlice  = mp.Register("conf.echoSlice", echo[[]int])
	// sleepSome is _TestProcess._sleep_some: time.sleep(100), ignoring
	// its context so that only a signal ends it.
	sleepSome = mp.Register("conf.sleepSome", func(_ context.Context, ms int) (struct{}, error) {
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return struct{}{}, nil
	})
	// closeTest is _TestProcess._test_close: it waits for an item, then
	// exits with rc.
	closeTest = mp.Register("conf.closeTest", func(ctx context.Context, q *mp.Queue[int]) (struct{}, error) {
		rc, err := q.Get(ctx)
		if err != nil {
			return struct{}{}, err
		}
		os.Exit(rc)
		return struct{}{}, nil
	})
	// sysExit is sys.exit(code); a negative code returns an error
	// instead (sys.exit("ignore this")), and -2 panics.
	sysExit = mp.Register("conf.sysExit", func(_ context.Context, code int) (struct{}, error) {
		switch code {
		case -1:
			return struct{}{}, errors.New("ignore this")
		case -2:
			panic("ignore this")
		}
		os.Exit(code)
		return struct{}{}, nil
	})
	// mainThreadID puts the child's main thread id (its pid on Linux).
	mainThreadID = mp.Register("conf.mainThreadID", func(ctx context.Context, q *mp.Queue[int]) (struct{}, error) {
		return struct{}{}, q.Put(ctx, os.Getpid())
	})
	// fdCount is _test_child_fd_inflation: it puts the child's number of
	// open descriptors.
	fdCount = mp.Register("conf.fdCount", func(ctx context.Context, q *mp.Queue[int]) (struct{}, error) {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, q.Put(ctx, len(fds))
	})
)

type echoArgs[T any] struct {
	Q *mp.Queue[T]
	V T
}

func echo[T any](ctx context.Context, a echoArgs[T]) (struct{}, error) {
	return struct{}{}, a.Q.Put(ctx, a.V)
}

// recursion is _TestProcess._test_recursion (registered in init: it
// starts itself).
var recursion mp.Func[recursionArgs, struct{}]

func init() {
	recursion = mp.Register("conf.recursion", func(ctx context.Context, a recursionArgs) (struct{}, error) {
		return struct{}{}, runRecursion(ctx, a)
	})
}

type recursionArgs struct {
	W  *mp.Conn[[]int]
	ID []int
}

func runRecursion(ctx context.Context, a recursionArgs) error {
	if err := a.W.Send(ctx, a.ID); err != nil {
		return err
	}
	if len(a.ID) < 2 {
		for i := range 2 {
			p, err := mp.NewProcess(recursion, recursionArgs{W: a.W, ID: append(slices.Clone(a.ID), i)})
			if err != nil {
				return err
			}
			if err := p.Start(ctx); err != nil {
				return err
			}
			if err := p.Join(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func newQueue[T any](t *testing.T, maxsize int) *mp.Queue[T] {
	t.Helper()
	q, err := mp.NewQueue[T](maxsize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(); q.Unlink() })
	return q
}

func newEvent(t *testing.T) *mp.Event {
	t.Helper()
	e, err := mp.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Set(); e.Unlink() })
	return e
}

// startProcess makes and starts a process, killed and joined at the end of
// the test if still running.
func startProcess[A, R any](t *testing.T, f mp.Func[A, R], arg A, opts ...mp.ProcessOption) *mp.Process {
	t.Helper()
	p := newProcess(t, f, arg, opts...)
	if err := p.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return p
}

func newProcess[A, R any](t *testing.T, f mp.Func[A, R], arg A, opts ...mp.ProcessOption) *mp.Process {
	t.Helper()
	p, err := mp.NewProcess(f, arg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.IsAlive() {
			p.Kill()
		}
		p.JoinTimeout(long)
	})
	return p
}

func isActive(p *mp.Process) bool {
	return slices.ContainsFunc(mp.ActiveChildren(), func(c *mp.Process) bool { return c == p })
}

// TestProcess ports _TestProcess and _TestSubclassingProcess.
func TestProcess(t *testing.T) {
	// CPython: _TestProcess.test_current
	t.Run("test_current", func(t *testing.T) {
		cur := mp.CurrentProcess()
		if !cur.IsAlive() || cur.IsDaemon() || cur.Pid() != os.Getpid() || cur.Name() != "MainProcess" {
			t.Fatalf("current_process(): alive %v daemon %v pid %d name %q", cur.IsAlive(), cur.IsDaemon(), cur.Pid(), cur.Name())
		}
		if _, ok := cur.ExitCode(); ok {
			t.Fatal("current_process().exitcode is set")
		}
	})

	// CPython: _TestProcess.test_args_argument
	t.Run("test_args_argument", func(t *testing.T) {
		ctx := testCtx(t)
		qi, qs, ql := newQueue[int](t, 1), newQueue[string](t, 1), newQueue[[]int](t, 1)
		ps := []*mp.Process{
			startProcess(t, echoInt, echoArgs[int]{Q: qi, V: 1}, mp.Daemon(true)),
			startProcess(t, echoString, echoArgs[string]{Q: qs, V: "str"}, mp.Daemon(true)),
			startProcess(t, echoSlice, echoArgs[[]int]{Q: ql, V: []int{1}}, mp.Daemon(true)),
		}
		if v, err := qi.Get(ctx); err != nil || v != 1 {
			t.Errorf("int arg: %v %v", v, err)
		}
		if v, err := qs.Get(ctx); err != nil || v != "str" {
			t.Errorf("str arg: %v %v", v, err)
		}
		if v, err := ql.Get(ctx); err != nil || !slices.Equal(v, []int{1}) {
			t.Errorf("list arg: %v %v", v, err)
		}
		for _, p := range ps {
			if err := p.Join(ctx); err != nil {
				t.Error(err)
			}
		}
	})

	// CPython: _TestProcess.test_daemon_argument
	t.Run("test_daemon_argument", func(t *testing.T) {
		p0 := newProcess(t, sleepSome, 0)
		p1 := newProcess(t, sleepSome, 0, mp.Daemon(true))
		p2 := newProcess(t, sleepSome, 0, mp.Daemon(false))
		if p0.IsDaemon() != mp.CurrentProcess().IsDaemon() || !p1.IsDaemon() || p2.IsDaemon() {
			t.Fatalf("daemon: default %v, True %v, False %v", p0.IsDaemon(), p1.IsDaemon(), p2.IsDaemon())
		}
	})

	// CPython: _TestProcess.test_process
	t.Run("test_process", func(t *testing.T) {
		ctx := testCtx(t)
		q := newQueue[childReport](t, 1)
		p := newProcess(t, reportChild, childArgs{Q: q, Args: []int{1, 2}, Hello: 23, Bye: 2.54},
			mp.ProcessName("SomeProcess"), mp.Daemon(true))
		if p.IsAlive() || !p.IsDaemon() || isActive(p) {
			t.Fatalf("before start: alive %v daemon %v active %v", p.IsAlive(), p.IsDaemon(), isActive(p))
		}
		if _, ok := p.ExitCode(); ok {
			t.Fatal("exitcode set before start")
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := p.ExitCode(); ok {
			t.Fatal("exitcode set right after start")
		}
		if !p.IsAlive() || !isActive(p) {
			// the child waits on the queue of size 1 only after its put,
			// so it may not have ended yet; Python asserts it has not.
			if _, ok := p.ExitCode(); !ok {
				t.Fatalf("after start: alive %v active %v", p.IsAlive(), isActive(p))
			}
		}
		r, err := q.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Args, []int{1, 2}) || r.Hello != 23 || r.Bye != 2.54 || r.Name != p.Name() || r.Name != "SomeProcess" || r.Pid != p.Pid() {
			t.Fatalf("the child saw %+v (pid %d)", r, p.Pid())
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if code, ok := p.ExitCode(); !ok || code != 0 || p.IsAlive() || isActive(p) {
			t.Fatalf("after join: exitcode %d %v alive %v active %v", code, ok, p.IsAlive(), isActive(p))
		}
	})

	// CPython: _TestProcess.test_process_mainthread_native_id
	t.Run("test_process_mainthread_native_id", func(t *testing.T) {
		ctx := testCtx(t)
		q := newQueue[int](t, 1)
		p := startProcess(t, mainThreadID, q)
		id, err := q.Get(ctx)
		if err != nil || id == os.Getpid() {
			t.Fatalf("the child's main thread id %d, ours %d: %v", id, os.Getpid(), err)
		}
		p.Join(ctx)
	})

	killTests := []struct {
		name string
		meth func(*mp.Process) error
		code int
		sig  string
	}{
		// CPython: _TestProcess.test_terminate
		{"test_terminate", (*mp.Process).Terminate, -int(syscall.SIGTERM), "terminated"},
		// CPython: _TestProcess.test_kill
		{"test_kill", (*mp.Process).Kill, -int(syscall.SIGKILL), "killed"},
	}
	for _, tc := range killTests {
		t.Run(tc.name, func(t *testing.T) {
			p := startProcess(t, sleepSome, 100_000, mp.Daemon(true))
			if !p.IsAlive() || !isActive(p) {
				t.Fatal("not alive after start")
			}
			if _, ok := p.ExitCode(); ok {
				t.Fatal("exitcode set while running")
			}
			// join(0) and join(-1) return at once, the process running.
			for _, d := range []time.Duration{0, -1} {
				returned := make(chan error, 1)
				go func() { returned <- p.JoinTimeout(d) }()
				select {
				case err := <-returned:
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("join(%v) on a running process: %v", d, err)
					}
				case <-time.After(5 * time.Second):
					tc.meth(p)
					regression(t, "found by the port: Process.JoinTimeout(0) and (-1) wait without limit; Python's join(0)/join(-1) return at once")
					t.Fatalf("join(%v) on a running process did not return", d)
				}
			}
			if !p.IsAlive() {
				t.Fatal("join(0) ended the process")
			}
			if err := tc.meth(p); err != nil {
				t.Fatal(err)
			}
			err := p.JoinTimeout(long)
			var pe *mp.ProcessError
			if !errors.As(err, &pe) || pe.ExitCode != tc.code || pe.Signal != tc.sig {
				t.Fatalf("join after %s: %v", tc.name, err)
			}
			if code, ok := p.ExitCode(); !ok || code != tc.code || p.IsAlive() || isActive(p) {
				t.Fatalf("exitcode %d (%v), want %d; alive %v active %v", code, ok, tc.code, p.IsAlive(), isActive(p))
			}
		})
	}

	// CPython: _TestProcess.test_cpu_count
	t.Run("test_cpu_count", func(t *testing.T) {
		if n := mp.CPUCount(); n < 1 {
			t.Fatalf("cpu_count() = %d", n)
		}
	})

	// CPython: _TestProcess.test_active_children
	t.Run("test_active_children", func(t *testing.T) {
		ctx := testCtx(t)
		p := newProcess(t, sleepSome, 10, mp.Daemon(true))
		if isActive(p) {
			t.Fatal("active before start")
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if !isActive(p) {
			if _, ended := p.ExitCode(); !ended {
				t.Fatal("not active after start")
			}
		}
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if isActive(p) {
			t.Fatal("active after join")
		}
	})

	// CPython: _TestProcess.test_recursion
	t.Run("test_recursion", func(t *testing.T) {
		ctx := testCtx(t)
		r, w := newPipe[[]int](t, false)
		if err := runRecursion(ctx, recursionArgs{W: w, ID: []int{}}); err != nil {
			t.Fatal(err)
		}
		var got [][]int
		for r.Poll(0) {
			id, err := r.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		want := [][]int{{}, {0}, {0, 0}, {0, 1}, {1}, {1, 0}, {1, 1}}
		if !slices.EqualFunc(got, want, func(a, b []int) bool { return slices.Equal(a, b) }) {
			t.Fatalf("recursion sent %v, want %v", got, want)
		}
	})

	// CPython: _TestProcess.test_sentinel
	t.Run("test_sentinel", func(t *testing.T) {
		ctx := testCtx(t)
		event := newEvent(t)
		p := startProcess(t, waitEventProc, event)
		select {
		case <-p.Sentinel():
			t.Fatal("the sentinel is ready while the process runs")
		default:
		}
		event.Set()
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.Sentinel():
		case <-time.After(long):
			t.Fatal("the sentinel is not ready after join")
		}
	})

	// CPython: _TestProcess.test_close
	t.Run("test_close", func(t *testing.T) {
		ctx := testCtx(t)
		q := newQueue[int](t, 0)
		p := startProcess(t, closeTest, q, mp.Daemon(true))
		if !p.IsAlive() {
			t.Fatal("not alive")
		}
		if err := p.Close(); err == nil {
			t.Fatal("close() of a running process succeeded")
		}
		q.Put(ctx, 0)
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if code, _ := p.ExitCode(); p.IsAlive() || code != 0 {
			t.Fatalf("after join: alive %v exitcode %d", p.IsAlive(), code)
		}
		if err := p.Close(); err != nil {
			t.Fatalf("close() after join: %v", err)
		}
		if err := p.Start(ctx); err == nil {
			t.Fatal("start() after close() succeeded")
		}
		// Python raises ValueError for join() and terminate() of a closed
		// process; mp's Join still reports how it ended and Terminate does
		// nothing (docs/python-differences.md).
		joinErr, termErr := p.Join(ctx), p.Terminate()
		if joinErr != nil || termErr != nil {
			t.Fatalf("after close(): join %v, terminate %v; want its end (nil) and a no-op", joinErr, termErr)
		}
		if err := p.Close(); err != nil {
			t.Fatalf("a second close(): %v", err)
		}
	})

	// CPython: _TestProcess.test_many_processes
	t.Run("test_many_processes", func(t *testing.T) {
		ctx := testCtx(t)
		const n = 5
		var procs []*mp.Process
		for range n {
			procs = append(procs, startProcess(t, sleepSome, 10))
		}
		for _, p := range procs {
			if err := p.Join(ctx); err != nil {
				t.Fatal(err)
			}
		}
		procs = procs[:0]
		for range n {
			procs = append(procs, startProcess(t, sleepSome, 100_000))
		}
		for _, p := range procs {
			p.Terminate()
		}
		for _, p := range procs {
			p.Join(ctx)
			if code, ok := p.ExitCode(); !ok || code != -int(syscall.SIGTERM) {
				t.Fatalf("exitcode %d (%v), want -SIGTERM", code, ok)
			}
		}
	})

	// CPython: _TestProcess.test_child_fd_inflation
	t.Run("test_child_fd_inflation", func(t *testing.T) {
		ctx := testCtx(t)
		q := newQueue[int](t, 0)
		p := startProcess(t, fdCount, q)
		base, err := q.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.Join(ctx)
		for range 50 {
			f, err := os.Open(os.DevNull)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
		}
		p = startProcess(t, fdCount, q)
		n, err := q.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.Join(ctx)
		if n > base+5 {
			t.Fatalf("the child has %d descriptors after the parent opened 50 more (%d before)", n, base)
		}
	})

	// CPython: _TestSubclassingProcess.test_sys_exit
	t.Run("test_sys_exit", func(t *testing.T) {
		ctx := testCtx(t)
		// sys.exit("ignore this") and an uncaught exception: exit code 1;
		// sys.exit(True/False/8/None): that code.
		for _, tc := range []struct{ arg, want int }{{-1, 1}, {-2, 1}, {1, 1}, {0, 0}, {8, 8}} {
			p := startProcess(t, sysExit, tc.arg, mp.Daemon(true))
			p.Join(ctx)
			if code, ok := p.ExitCode(); !ok || code != tc.want {
				t.Errorf("sys.exit(%d): exitcode %d (%v), want %d", tc.arg, code, ok, tc.want)
			}
		}
	})
}

var waitEventProc = mp.Register("conf.waitEventProc", func(ctx context.Context, e *mp.Event) (struct{}, error) {
	return struct{}{}, e.Wait(ctx)
})
