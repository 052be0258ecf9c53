package mp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/procpool"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// Process is a registered function running in a child process: Python's
// multiprocessing.Process. Make one with NewProcess, then Start it and
// Join it:
//
//	p, err := mp.NewProcess(work, "job 1")
//	...
//	err = p.Start(ctx)
//	...
//	err = p.Join(ctx) // nil if work returned nil
//
// The child is this program re-executed, as for a process pool (it must
// call mp.Main). Its stdout and stderr are the parent's, as in Python. A
// log/slog record it makes goes to the parent's slog.Default, with the
// process's name and pid under the "mp" group.
//
// # Daemon or not
//
// Every child dies with its parent, daemon or not: when the parent exits
// or is killed, the kernel kills its children (Linux's parent-death
// signal; the child also leads its own process group, so that Kill
// reaches what it started). Nothing is left orphaned, which Python cannot
// promise. Go runs no code after main returns, so Python's wait for
// non-daemon children at exit is a call: JoinChildren at the end of main
// terminates the daemon children and waits for the others. A daemon
// child, unlike Python's, may start processes and pools of its own.
//
// # Exit status
//
// The child exits with status 0 when the function returns nil, and 1 when
// it returns an error or panics (the error and stack go to its stderr,
// like Python's traceback); a function may also call os.Exit. Join
// returns a *ProcessError for any end but status 0.
type Process struct {
	name   string
	daemon bool
	fn     string
	arg    []byte // the argument, encoded as a one-item array
	self   bool   // CurrentProcess
	parent bool   // ParentProcess
	done   chan struct{}

	mu      sync.Mutex
	started bool
	closed  bool
	pid     int
	cmd     *os.Process
	err     error // how it ended, once done is closed
	code    int
}

// ProcessError says how a Process ended when it did not exit with status
// 0. Err is the error the function returned (a *RemoteError), if it did.
type ProcessError struct {
	Name     string
	PID      int
	ExitCode int    // -N when signal N ended it, as Python's exitcode
	Signal   string // "terminated", "killed", ... or ""
	Err      error
}

// Error says which process ended how.
func (e *ProcessError) Error() string {
	how := fmt.Sprintf("exited with status %d", e.ExitCode)
	if e.Signal != "" {
		how = "was killed by signal " + e.Signal
	}
	s := fmt.Sprintf("mp: process %s (pid %d) %s", e.Name, e.PID, how)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the function's error.
func (e *ProcessError) Unwrap() error { return e.Err }

// ProcessOption configures a Process.
type ProcessOption func(*Process)

// ProcessName names the process (default "Process-N", N counting the
// processes made by this one, as in Python). CurrentProcess().Name() in
// the child returns it.
func ProcessName(name string) ProcessOption { return func(p *Process) { p.name = name } }

// Daemon marks the process as a daemon: JoinChildren terminates it
// instead of waiting for it (Python's daemon=True).
func Daemon(on bool) ProcessOption { return func(p *Process) { p.daemon = on } }

var processCount atomic.Int64

// children are the Processes started and not yet ended.
var children struct {
	sync.Mutex
	list []*Process
}

// NewProcess prepares f(arg) to run in a child process; Start starts it.
// f must be made with Register. The argument is encoded now: one that
// cannot be is an error naming its type and the path inside it.
func NewProcess[A, R any](f Func[A, R], arg A, opts ...ProcessOption) (*Process, error) {
	stopIfNotServing("mp.NewProcess")
	if err := f.check(); err != nil {
		return nil, err
	}
	if !f.Registered() {
		return nil, fmt.Errorf("%w: a function made with mp.Fn cannot run in another process: make it with mp.Register at package level", ErrInvalidOption)
	}
	p := &Process{fn: f.name, done: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(p)
		}
	}
	if p.name == "" {
		p.name = fmt.Sprintf("Process-%d", processCount.Add(1))
	}
	data, n, err := encodeArgs([]A{arg}, maxArgBytes)
	if n == 0 {
		return nil, fmt.Errorf("mp: the argument of process %s: %w", p.name, err)
	}
	p.arg = data
	return p, nil
}

// processHandshake bounds how long a Process may take to reach mp.Main.
const processHandshake = 10 * time.Second

// childEnv is what a worker process, of a pool or a Process, is told in
// its environment: that it is one, its tree (for shared memory) and its
// parent.
func childEnv() []string {
	return []string{workerEnv + "=" + workerCookie, treeEnv + "=" + tree(), parentEnv + "=" + strconv.Itoa(os.Getpid())}
}

// Start starts the child process and returns once it runs the function.
// Cancelling ctx kills the process (as exec.CommandContext does), so give
// it a context that lives as long as the process should. A Process starts
// once; a program that does not call mp.Main is an error within seconds.
func (p *Process) Start(ctx context.Context) error {
	p.mu.Lock()
	switch {
	case p.self:
		p.mu.Unlock()
		return errors.New("mp: the current process cannot be started")
	case p.parent:
		p.mu.Unlock()
		return errors.New("mp: the parent process cannot be started")
	case p.closed:
		p.mu.Unlock()
		return fmt.Errorf("mp: process %s is closed", p.name)
	case p.started:
		p.mu.Unlock()
		return fmt.Errorf("mp: process %s can be started only once", p.name)
	}
	p.started = true
	p.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return p.failStart(err)
	}
	stopIfNotServing("Process.Start")
	pw, err := procpool.Spawn(procpool.Spec{Noun: "child process", Handshake: processHandshake, Env: childEnv()})
	if err != nil {
		return p.failStart(fmt.Errorf("mp: starting process %s: %w", p.name, err))
	}
	stop := context.AfterFunc(ctx, pw.Kill)
	if err := p.launch(pw); err != nil {
		stop()
		pw.Kill()
		pw.Close()
		return p.failStart(err)
	}
	p.mu.Lock()
	p.pid, p.cmd = pw.PID(), pw.Process()
	p.mu.Unlock()
	children.Lock()
	children.list = append(children.list, p)
	children.Unlock()
	go p.wait(pw, stop)
	return nil
}

// launch sends Setup and the one Task.
func (p *Process) launch(pw *procpool.Proc) error {
	if !pw.Has(p.fn) {
		return fmt.Errorf("mp: function %q is not registered in process %s (pid %d): register it at package level, so that every process of the program has it", p.fn, p.name, pw.PID())
	}
	setup := wire.Setup{Name: p.name, Daemon: p.daemon, Process: true, LogLevel: int(wk.LowestLevel(slog.Default())), Parent: CurrentProcess().Name()}
	if err := pw.Send(wire.KindSetup, setup); err != nil {
		return fmt.Errorf("mp: starting process %s (pid %d): %w", p.name, pw.PID(), err)
	}
	kind, b, err := pw.Read(slog.Default(), "process", p.name)
	var ready wire.Ready
	if err != nil || kind != wire.KindReady || wire.Unmarshal(b, &ready) != nil || ready.Err != nil {
		if err == nil || procpool.FramingError(err) {
			pw.Kill() // out of step: it would not be understood
		}
		return fmt.Errorf("mp: process %s (pid %d) %s during setup", p.name, pw.PID(), pw.ExitText())
	}
	if err := pw.Send(wire.KindTask, wire.Task{ID: 1, Func: p.fn, Args: p.arg, N: 1}); err != nil {
		return fmt.Errorf("mp: starting process %s (pid %d): %w", p.name, pw.PID(), err)
	}
	return nil
}

// failStart records a failed start: the process counts as ended.
func (p *Process) failStart(err error) error {
	p.mu.Lock()
	p.err, p.code = err, 1
	p.mu.Unlock()
	close(p.done)
	return err
}

// wait reads the function's outcome and the child's log records, reaps
// the child and records how it ended.
func (p *Process) wait(pw *procpool.Proc, stop func() bool) {
	defer stop()
	var remote error
	for {
		kind, b, err := pw.Read(slog.Default(), "process", p.name)
		if err != nil {
			if procpool.FramingError(err) {
				// something else wrote to the pipe: no more frames can be
				// read, but the child goes on (as in Python, whose pipe
				// this would not be)
				io.Copy(io.Discard, pw.Results())
			}
			break // EOF: the child has ended (or closed its pipe)
		}
		var res wire.Results
		if kind == wire.KindResult && wire.DecodeResults(b, &res) == nil && len(res.Errs) > 0 {
			e := res.Errs[0].Err
			remote = errorMaker{}.Remote(pw.PID(), &e)
		}
	}
	<-pw.Exited()
	pw.Close()
	e := &ProcessError{Name: p.name, PID: pw.PID(), Err: remote}
	code, sig := pw.ExitStatus()
	e.ExitCode = code
	if sig != 0 {
		e.ExitCode, e.Signal = -int(sig), sig.String() // Python's exitcode
	}
	p.mu.Lock()
	p.code = e.ExitCode
	if e.ExitCode != 0 {
		p.err = e
	}
	p.mu.Unlock()
	children.Lock()
	children.list = slices.DeleteFunc(children.list, func(c *Process) bool { return c == p })
	children.Unlock()
	close(p.done)
}

// Join waits for the process to end, or for ctx. It returns nil when the
// function returned nil (exit status 0), a *ProcessError for any other
// end, and ctx's error if ctx ended first (the process goes on).
func (p *Process) Join(ctx context.Context) error {
	if err := p.joinable(); err != nil {
		return err
	}
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// JoinTimeout is Join with a time limit (Python's join(timeout)): it
// returns context.DeadlineExceeded if the process still runs after d.
func (p *Process) JoinTimeout(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return p.Join(ctx)
}

func (p *Process) joinable() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.self:
		return errors.New("mp: the current process cannot join itself")
	case !p.started:
		return fmt.Errorf("mp: process %s is not started", p.name)
	}
	return nil
}

// IsAlive reports whether the process has started and not yet ended.
func (p *Process) IsAlive() bool {
	if p.self {
		return true
	}
	started, ended := p.status()
	return started && !ended
}

// status says whether the process has started and whether it has ended.
func (p *Process) status() (started, ended bool) {
	p.mu.Lock()
	started = p.started
	p.mu.Unlock()
	select {
	case <-p.done:
		return started, true
	default:
		return started, false
	}
}

// Terminate sends SIGTERM to the process (Python's terminate): it ends at
// once, without running deferred calls, unless it handles the signal.
// Processes it started die with it. Terminating an ended process does
// nothing.
func (p *Process) Terminate() error { return p.signal(false) }

// Kill sends SIGKILL to the process and its process group (Python's kill).
func (p *Process) Kill() error { return p.signal(true) }

func (p *Process) signal(kill bool) error {
	p.mu.Lock()
	cmd, self, started := p.cmd, p.self, p.started
	p.mu.Unlock()
	switch {
	case self:
		return errors.New("mp: use os.Exit to end the current process")
	case p.parent:
		return errors.New("mp: the parent process cannot be signalled from its child")
	case !started:
		return fmt.Errorf("mp: process %s is not started", p.name)
	case cmd == nil || !p.IsAlive():
		return nil
	}
	if kill {
		if proc.KillGroup(cmd.Pid) == nil {
			return nil
		}
		return ignoreDone(cmd.Kill())
	}
	return ignoreDone(proc.Terminate(cmd))
}

func ignoreDone(err error) error {
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Close releases the Process. It is an error while the process runs;
// afterwards Start fails. (Python's close.)
func (p *Process) Close() error {
	if p.self || p.parent {
		return nil
	}
	if p.IsAlive() {
		return fmt.Errorf("mp: process %s is still running: join it first", p.name)
	}
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return nil
}

// ExitCode returns the exit status once the process has ended (ok true):
// 0 for success, 1 when the function failed, -N when signal N ended it.
func (p *Process) ExitCode() (code int, ok bool) {
	if started, ended := p.status(); p.self || p.parent || !started || !ended {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code, true
}

// Pid returns the process id, or 0 before Start.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

// Name returns the process's name.
func (p *Process) Name() string { return p.name }

// IsDaemon reports whether the process is a daemon (see Daemon).
func (p *Process) IsDaemon() bool { return p.daemon }

// Sentinel returns a channel closed when the process has ended (Python's
// sentinel, for select).
func (p *Process) Sentinel() <-chan struct{} { return p.done }

// String gives the name, pid and state, as Python's repr.
func (p *Process) String() string {
	state := "initial"
	if p.IsAlive() {
		state = "started"
	} else if code, ok := p.ExitCode(); ok {
		state = fmt.Sprintf("stopped exitcode=%d", code)
	}
	if p.daemon {
		state += " daemon"
	}
	return fmt.Sprintf("<Process name=%q pid=%d %s>", p.name, p.Pid(), state)
}

var current struct {
	once sync.Once
	p    *Process
	// set by a worker process's Setup, before any task runs
	name   string
	daemon bool
}

// setCurrent records what Setup says this worker process is.
func setCurrent(name string, daemon bool) {
	current.name, current.daemon = name, daemon
}

var parent struct {
	once sync.Once
	p    *Process
	name string        // set by Setup
	gone chan struct{} // closed when the parent has died
}

// ParentProcess returns the Process that stands for the process that
// started this one, or nil in the program as started (Python's
// parent_process()). In a pool's worker process it is the pool's
// process; in a Process's child, the process that started it. Only Name,
// Pid, IsAlive, Join and Sentinel mean anything on it. A child dies with
// its parent (see Process), so it sees its parent alive to the end.
func ParentProcess() *Process {
	if parentPID == 0 {
		return nil
	}
	parent.once.Do(func() {
		name := parent.name
		if name == "" {
			name = "MainProcess"
		}
		parent.p = &Process{name: name, pid: parentPID, parent: true, started: true, done: parentGone()}
	})
	return parent.p
}

// parentGone returns the Done channel of ParentProcess: never closed, as
// this process dies with its parent before any of its code could see the
// parent gone (watchLifeline).
func parentGone() chan struct{} {
	parentGoneOnce.Do(func() { parent.gone = make(chan struct{}) })
	return parent.gone
}

var parentGoneOnce sync.Once

// CurrentProcess returns the Process that stands for this process
// (Python's current_process()): "MainProcess" in the program as started,
// the Process's name in a child (see ProcessName), "PoolWorker-N" in a
// pool's worker process. Only Name, Pid, IsDaemon and IsAlive mean
// anything on it.
func CurrentProcess() *Process {
	current.once.Do(func() {
		name := current.name
		if name == "" {
			name = "MainProcess"
		}
		current.p = &Process{name: name, daemon: current.daemon, self: true, started: true, pid: os.Getpid(), done: make(chan struct{})}
	})
	return current.p
}

// ActiveChildren returns the Processes this process started that have not
// yet ended, in the order they were started (Python's active_children).
// A pool's worker processes are the pool's own and not listed.
func ActiveChildren() []*Process {
	children.Lock()
	defer children.Unlock()
	return slices.Clone(children.list)
}

// JoinChildren does what Python does at exit, for Go programs to call at
// the end of main: it terminates the daemon children, then waits for
// every child to end, or for ctx. It returns ctx's error if ctx ended
// first (the children then die with the program).
func JoinChildren(ctx context.Context) error {
	kids := ActiveChildren()
	for _, c := range kids {
		if c.daemon {
			c.Terminate()
		}
	}
	for _, c := range kids {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
