package mp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/wire"
)

// Processes makes the pool run tasks in n worker processes: this program,
// re-executed, serving tasks from mp.Main (Python's Pool(processes=n) and
// ProcessPoolExecutor). Only functions made with Register run there. A
// worker that dies is replaced and its task fails with a *WorkerError
// (or is run again if Retries allows); Timeout and cancellation kill the
// worker running the late or cancelled task.
func Processes(n int) Option {
	return func(s *settings) error {
		if err := poolOnly("Processes", s); err != nil {
			return err
		}
		if n < 1 {
			return fmt.Errorf("%w: Processes(%d): need at least one worker", ErrInvalidOption, n)
		}
		s.workers, s.processes = n, true
		return nil
	}
}

// HandshakeTimeout bounds how long a new worker process may take to reach
// mp.Main and announce itself (default 10s). A program that does not call
// mp.Main fails within it with an error that says so, instead of hanging.
func HandshakeTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if err := poolOnly("HandshakeTimeout", s); err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("%w: HandshakeTimeout(%v) must be positive", ErrInvalidOption, d)
		}
		s.handshake = d
		return nil
	}
}

// remoteJob is a job as the process backend runs it: item by item, from
// its cursor, with encoded arguments and results.
type remoteJob interface {
	job
	// begin reports whether the job is still to run (not cancelled or
	// stopped); if not, it has already been reported.
	begin() bool
	funcName() string
	settings() (timeout time.Duration, retries int)
	context() context.Context
	cursor() int
	size() int
	encode(i int) ([]byte, error)
	// deliver reports item i: data to decode, or err.
	deliver(i int, data []byte, err error)
	complete(w *worker, took time.Duration)
}

// processBackend runs each worker slot as a child process.
type processBackend struct {
	handshake time.Duration
	pool      *Pool
	initName  string // registered Initializer, if any
	initArg   []byte
}

// procWorker is one worker process and its pipes.
type procWorker struct {
	cmd    *exec.Cmd
	pid    int
	tasks  *os.File // our end of the task pipe
	w      *wire.Writer
	res    *os.File // our end of the result pipe
	r      *wire.Reader
	names  map[string]bool
	exited chan struct{}
	nextID uint64
	once   sync.Once
}

func (b *processBackend) start(ctx context.Context, w *worker) error {
	pw, err := b.spawn(w.id)
	if err != nil {
		return err
	}
	w.bk = pw
	return nil
}

func (b *processBackend) stop(w *worker) {
	if pw, ok := w.bk.(*procWorker); ok {
		pw.close()
		w.bk = nil
	}
}

// errMissingMain is the advice given when a worker never says hello.
const errMissingMain = "the program must call mp.Main() first thing in main() (and in TestMain), so that its worker processes serve tasks instead of running the program again"

func (b *processBackend) spawn(id int) (*procWorker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("mp: finding this program to start worker %d: %w", id, err)
	}
	tr, tw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("mp: starting worker %d: %w", id, err)
	}
	rr, rw, err := os.Pipe()
	if err != nil {
		tr.Close()
		tw.Close()
		return nil, fmt.Errorf("mp: starting worker %d: %w", id, err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), workerEnv+"="+workerCookie)
	cmd.ExtraFiles = []*os.File{tr, rw} // fds 3 and 4 in the worker
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	proc.Configure(cmd)
	err = cmd.Start()
	tr.Close()
	rw.Close()
	if err != nil {
		tw.Close()
		rr.Close()
		return nil, fmt.Errorf("mp: starting worker %d: %w", id, err)
	}
	pw := &procWorker{
		cmd: cmd, pid: cmd.Process.Pid, tasks: tw, res: rr,
		w: wire.NewWriter(tw, wire.DefaultMaxFrame), r: wire.NewReader(rr, wire.DefaultMaxFrame),
		exited: make(chan struct{}),
	}
	go func() {
		cmd.Wait()
		close(pw.exited)
	}()
	if err := pw.hello(b.handshake); err != nil {
		pw.kill()
		pw.close()
		return nil, err
	}
	if err := b.setup(pw, id); err != nil {
		pw.kill()
		pw.close()
		return nil, err
	}
	return pw, nil
}

// setup sends Setup and waits for Ready: the initializer has run.
func (b *processBackend) setup(pw *procWorker, id int) error {
	if b.initName != "" && !pw.names[b.initName] {
		return fmt.Errorf("mp: initializer %q is not registered in worker process %d: register it at package level", b.initName, pw.pid)
	}
	if err := send(pw.w, wire.KindSetup, wire.Setup{Worker: id, Init: b.initName, Arg: b.initArg}); err != nil {
		return fmt.Errorf("%w: worker %d (pid %d): %w", ErrBrokenPool, id, pw.pid, err)
	}
	if err := pw.w.Flush(); err != nil {
		return fmt.Errorf("%w: worker %d (pid %d): %w", ErrBrokenPool, id, pw.pid, err)
	}
	// the initializer may take long: no deadline but the worker's life
	kind, p, err := pw.r.Read()
	var ready wire.Ready
	if err != nil || kind != wire.KindReady || wire.Unmarshal(p, &ready) != nil {
		return fmt.Errorf("%w: worker %d (pid %d) %s during setup", ErrBrokenPool, id, pw.pid, pw.exitText())
	}
	if ready.Err != nil {
		re := &RemoteError{PID: pw.pid, Msg: ready.Err.Msg, Type: ready.Err.Type, Stack: ready.Err.Stack, Panic: ready.Err.Panic}
		return fmt.Errorf("mp: initializer of worker %d (pid %d): %w", id, pw.pid, re)
	}
	return nil
}

// hello reads the worker's Hello within d.
func (pw *procWorker) hello(d time.Duration) error {
	pw.res.SetReadDeadline(time.Now().Add(d))
	defer pw.res.SetReadDeadline(time.Time{})
	kind, p, err := pw.r.Read()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: worker process %d did not answer within %v: %s", ErrBrokenPool, pw.pid, d, errMissingMain)
	}
	if err != nil {
		return fmt.Errorf("%w: worker process %d %s before serving: %s", ErrBrokenPool, pw.pid, pw.exitText(), errMissingMain)
	}
	var h wire.Hello
	if kind != wire.KindHello || wire.Unmarshal(p, &h) != nil {
		return fmt.Errorf("%w: worker process %d spoke out of turn (frame kind %d): %s", ErrBrokenPool, pw.pid, kind, errMissingMain)
	}
	if h.Version != wire.Version {
		return fmt.Errorf("%w: worker process %d speaks protocol %d, this pool %d", ErrBrokenPool, pw.pid, h.Version, wire.Version)
	}
	pw.names = make(map[string]bool, len(h.Names))
	for _, n := range h.Names {
		pw.names[n] = true
	}
	return nil
}

// exitText waits briefly for the worker to end and says how it ended.
func (pw *procWorker) exitText() string {
	e := pw.exitError(nil)
	if e.Signal != "" {
		return "was killed by signal " + e.Signal
	}
	return fmt.Sprintf("exited with status %d", e.ExitCode)
}

// exitError waits for the worker to end (killing it if it lingers) and
// describes the end.
func (pw *procWorker) exitError(reason error) *WorkerError {
	select {
	case <-pw.exited:
	case <-time.After(2 * time.Second):
		pw.kill()
		<-pw.exited
	}
	e := &WorkerError{PID: pw.pid, ExitCode: -1, Reason: reason}
	if st := pw.cmd.ProcessState; st != nil {
		e.ExitCode = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signal = ws.Signal().String()
		}
	}
	return e
}

func (pw *procWorker) kill() {
	if proc.KillGroup(pw.pid) != nil {
		pw.cmd.Process.Kill()
	}
}

// close ends the worker: EOF on its task pipe makes it exit; one that
// lingers is killed.
func (pw *procWorker) close() {
	pw.once.Do(func() {
		pw.tasks.Close()
		select {
		case <-pw.exited:
		case <-time.After(2 * time.Second):
			pw.kill()
			<-pw.exited
		}
		pw.res.Close()
	})
}

func (b *processBackend) run(w *worker, j job) {
	rj := j.(remoteJob)
	if !rj.begin() {
		return
	}
	start := time.Now()
	timeout, retries := rj.settings()
	name := rj.funcName()
	crashes := map[int]int{}
	for rj.cursor() < rj.size() {
		pw, _ := w.bk.(*procWorker)
		if pw == nil {
			var err error
			if pw, err = b.spawn(w.id); err != nil {
				b.pool.breakPool(err)
				rj.deliver(rj.cursor(), nil, err)
				break
			}
			w.bk = pw
		}
		if !pw.names[name] {
			rj.deliver(rj.cursor(), nil, fmt.Errorf("mp: function %q is not registered in worker process %d: register it at package level, so that every process of the program has it", name, pw.pid))
			continue
		}
		from := rj.cursor()
		var args [][]byte
		var encErr error
		for i := from; i < rj.size(); i++ {
			enc, err := rj.encode(i)
			if err != nil {
				encErr = err
				break
			}
			args = append(args, enc)
		}
		if len(args) == 0 {
			rj.deliver(from, nil, encErr)
			continue
		}
		dead, reason := b.exchange(pw, rj, from, args, name, timeout, retries)
		if !dead {
			if encErr != nil {
				rj.deliver(rj.cursor(), nil, encErr)
			}
			continue
		}
		werr := pw.exitError(reason)
		pw.close()
		w.bk = nil
		item := rj.cursor()
		if reason != nil && !errors.Is(reason, ErrTimeout) {
			break // cancelled: the call has stopped
		}
		if crashes[item] < retries {
			crashes[item]++
			continue // run it again on a fresh worker
		}
		rj.deliver(item, nil, werr)
	}
	rj.complete(w, time.Since(start))
	if w.bk == nil && b.pool.ctx.Err() == nil {
		if pw, err := b.spawn(w.id); err != nil {
			b.pool.breakPool(err)
		} else {
			w.bk = pw
		}
	}
}

// exchange sends one Task and delivers its results. It reports whether
// the worker died, and why it was killed if we killed it.
func (b *processBackend) exchange(pw *procWorker, rj remoteJob, from int, args [][]byte, name string, timeout time.Duration, retries int) (dead bool, reason error) {
	pw.nextID++
	id := pw.nextID
	if err := send(pw.w, wire.KindTask, wire.Task{ID: id, Func: name, Args: args, Retries: retries}); err != nil {
		return true, nil
	}
	if err := pw.w.Flush(); err != nil {
		return true, nil
	}
	var why atomic.Pointer[error]
	kill := func(err error) {
		why.CompareAndSwap(nil, &err)
		pw.kill()
	}
	ctx := rj.context()
	stopCtx := context.AfterFunc(ctx, func() { kill(context.Cause(ctx)) })
	defer stopCtx()
	stopPool := context.AfterFunc(b.pool.ctx, func() { kill(errTerminated) })
	defer stopPool()
	var current atomic.Int64
	arm := func(i int) *time.Timer {
		if timeout <= 0 {
			return nil
		}
		return time.AfterFunc(timeout, func() {
			if current.Load() == int64(i) {
				kill(fmt.Errorf("%w after %v", ErrTimeout, timeout))
			}
		})
	}
	reasonOf := func() error {
		if p := why.Load(); p != nil {
			return *p
		}
		return nil
	}
	timer := arm(0)
	for i := range args {
		kind, p, err := pw.r.Read()
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			return true, reasonOf()
		}
		var res wire.Result
		if kind != wire.KindResult || wire.Unmarshal(p, &res) != nil || res.ID != id || res.Index != i {
			pw.kill() // out of step: this worker cannot be trusted
			return true, fmt.Errorf("mp: worker process %d sent a malformed result", pw.pid)
		}
		current.Store(int64(i + 1))
		if i+1 < len(args) {
			timer = arm(i + 1)
		}
		var rerr error
		if res.Err != nil {
			rerr = &RemoteError{PID: pw.pid, Msg: res.Err.Msg, Type: res.Err.Type, Stack: res.Err.Stack, Panic: res.Err.Panic}
		}
		rj.deliver(from+i, res.Data, rerr)
	}
	return false, nil
}

// remote job methods of a chunk

func (k *chunk[A, R]) begin() bool {
	if k.call.stopped.Load() {
		k.finish()
		return false
	}
	return true
}

func (k *chunk[A, R]) funcName() string                    { return k.call.name }
func (k *chunk[A, R]) settings() (time.Duration, int)      { return k.call.timeout, k.call.retries }
func (k *chunk[A, R]) context() context.Context            { return k.call.ctx }
func (k *chunk[A, R]) cursor() int                         { return k.ran }
func (k *chunk[A, R]) size() int                           { return len(k.in) }
func (k *chunk[A, R]) encode(i int) ([]byte, error)        { return wire.Marshal(k.in[i]) }
func (k *chunk[A, R]) complete(w *worker, d time.Duration) { w.tasks += k.ran; k.took = d; k.finish() }

func (k *chunk[A, R]) deliver(i int, data []byte, err error) {
	r, err := decodeResult[R](k.call.name, data, err)
	k.report(i, r, err)
}

// remote job methods of a Submit task

func (t *task[A, R]) begin() bool                         { return t.state.CompareAndSwap(fPending, fRunning) }
func (t *task[A, R]) funcName() string                    { return t.runner.name }
func (t *task[A, R]) settings() (time.Duration, int)      { return t.runner.timeout, t.runner.retries }
func (t *task[A, R]) context() context.Context            { return t.ctx }
func (t *task[A, R]) cursor() int                         { return t.n }
func (t *task[A, R]) size() int                           { return 1 }
func (t *task[A, R]) encode(int) ([]byte, error)          { return wire.Marshal(t.arg) }
func (t *task[A, R]) complete(w *worker, _ time.Duration) { w.tasks += t.n }

func (t *task[A, R]) deliver(_ int, data []byte, err error) {
	t.n = 1
	r, err := decodeResult[R](t.runner.name, data, err)
	t.resolve(r, err)
}

func decodeResult[R any](name string, data []byte, err error) (R, error) {
	var r R
	if err != nil {
		return r, err
	}
	if derr := wire.Unmarshal(data, &r); derr != nil {
		return r, fmt.Errorf("mp: decoding the result of %s as %T: %w", name, r, derr)
	}
	return r, nil
}

// checkFor refuses a function that cannot run on p's workers.
func (f Func[A, R]) checkFor(p *Pool) error {
	if err := f.check(); err != nil {
		return err
	}
	if p != nil && p.defs.processes && !f.Registered() {
		return fmt.Errorf("%w: a function made with mp.Fn cannot run in a worker process: make it with mp.Register at package level", ErrInvalidOption)
	}
	return nil
}
