package mp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// procWorker is one worker process and its pipes.
type procWorker struct {
	id     int // the worker's number in its pool
	noun   string
	cmd    *exec.Cmd
	pid    int
	tasks  *os.File // our end of the task pipe
	w      *wire.Writer
	res    *os.File // our end of the result pipe
	r      *wire.Reader
	names  map[string]bool
	exited chan struct{}
	nextID uint64
	rss    uint64 // resident memory after its last task
	// the worker's recent time per Task, for pipelining
	avgTask  time.Duration
	lastDone time.Time
	room     int                   // bytes that Tasks queued in its pipe may take
	why      atomic.Pointer[error] // why we killed it, if we did
	unhook   func() bool           // stops Terminate killing it
	once     sync.Once
}

// errMissingMain is the advice given when a worker never says hello.
const errMissingMain = "the program must call mp.Main() first thing in main() (and in TestMain), so that its worker processes serve tasks instead of running the program again"

// parentEnv tells a worker process its parent's pid: how it knows that
// its parent died (and ParentProcess).
const parentEnv = "MP_PARENT"

// lifeline is a pipe that this process never writes to and never closes:
// its workers get EOF on their read end (fd 5) once it has died, whatever
// killed it, and then end, killing what their tasks started.
var lifeline struct {
	once sync.Once
	r, w *os.File
	err  error
}

// lifelineEnd returns the read end of the lifeline, made on first use.
func lifelineEnd() (*os.File, error) {
	lifeline.once.Do(func() { lifeline.r, lifeline.w, lifeline.err = os.Pipe() })
	return lifeline.r, lifeline.err
}

// frameStall bounds how long a frame from a pool's worker may take to
// arrive whole once it has begun: a worker writes each frame at once, so
// a frame that stops arriving is garbage (a header written by something
// else in the worker process), not a slow worker.
const frameStall = 3 * time.Second

// startError is why a worker process did not start. retry says that it
// was killed (or could not be made) and that another may well start; if
// not, the program itself is at fault (no mp.Main, another protocol).
type startError struct {
	msg   string
	retry bool
	err   error
}

func (e *startError) Error() string { return e.msg }
func (e *startError) Unwrap() error { return e.err }

// spawnWorker starts this program as a worker process and reads its Hello
// within handshake. Its output is copied to ours line by line, tagged
// with the worker's number and pid (pool workers), or goes straight to
// our stdout and stderr (a Process, as in Python). noun names the worker
// in errors ("worker process", "child process"); its errors are
// *startError but for a missing executable.
//
// When the worker ends, its process group is killed: what its tasks
// started ends with it.
func spawnWorker(id int, noun string, handshake time.Duration, tagged bool) (*procWorker, error) {
	if tagged {
		stopIfNotServing("mp.NewPool")
	} else {
		stopIfNotServing("Process.Start")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program to start a %s: %w", noun, err)
	}
	// Pipes: tasks (fd 3), results (fd 4), and for tagged output stdout
	// and stderr. The output pipes are made here, not by os/exec, so that
	// the tag can carry the pid, known only after Start.
	npipes := 2
	if tagged {
		npipes = 4
	}
	var pipes [4][2]*os.File // read end, write end
	for i := range npipes {
		if pipes[i][0], pipes[i][1], err = os.Pipe(); err != nil {
			for _, p := range pipes[:i] {
				p[0].Close()
				p[1].Close()
			}
			return nil, &startError{msg: fmt.Sprintf("starting a %s: %v", noun, err), retry: true, err: err}
		}
	}
	tr, tw := pipes[0][0], pipes[0][1]
	rr, rw := pipes[1][0], pipes[1][1]
	room := proc.GrowPipe(tw, taskPipeSize) * 3 / 4
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), workerEnv+"="+workerCookie, treeEnv+"="+tree(), parentEnv+"="+strconv.Itoa(os.Getpid()))
	lifeline, err := lifelineEnd()
	if err != nil {
		tr.Close()
		tw.Close()
		for _, p := range pipes[1:npipes] {
			p[0].Close()
			p[1].Close()
		}
		return nil, &startError{msg: fmt.Sprintf("starting a %s: %v", noun, err), retry: true, err: err}
	}
	cmd.ExtraFiles = []*os.File{tr, rw, lifeline} // fds 3, 4 and 5 in the worker
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if tagged {
		cmd.Stdout, cmd.Stderr = pipes[2][1], pipes[3][1]
	}
	proc.Configure(cmd)
	err = cmd.Start()
	// close the child's ends: tasks' read end, the others' write ends
	tr.Close()
	for _, p := range pipes[1:npipes] {
		p[1].Close()
	}
	if err != nil {
		tw.Close()
		for _, p := range pipes[1:npipes] {
			p[0].Close()
		}
		return nil, &startError{msg: fmt.Sprintf("starting a %s: %v", noun, err), retry: true, err: err}
	}
	var copying sync.WaitGroup
	if tagged {
		for _, c := range []struct {
			r   *os.File
			dst *os.File
		}{{pipes[2][0], os.Stdout}, {pipes[3][0], os.Stderr}} {
			tag := newTaggedWriter(c.dst, id, cmd.Process.Pid)
			copying.Go(func() {
				io.Copy(tag, c.r) // ends when the worker and its children close the pipe
				tag.Close()
				c.r.Close()
			})
		}
	}
	pw := &procWorker{
		id: id, noun: noun, cmd: cmd, pid: cmd.Process.Pid, tasks: tw, res: rr, room: room,
		w: wire.NewWriter(tw, wire.DefaultMaxFrame), r: wire.NewReader(rr, wire.DefaultMaxFrame),
		exited: make(chan struct{}),
	}
	if tagged {
		pw.r.SetStall(frameStall, func(want, got int) {
			what := "a frame header cut short"
			if want > 0 {
				what = fmt.Sprintf("a frame announcing %d bytes of which %d came", want, got)
			}
			pw.killFor(fmt.Errorf("mp: worker process %d broke the frame protocol: %s, then nothing for %v (something in the worker, such as a task or a C library, wrote to its results pipe, fd 4)", pw.pid, what, frameStall))
		})
	}
	go func() {
		// The worker's process group goes with it: what its tasks
		// started and left running. It is killed while the worker, not
		// yet reaped, still holds its pid (where the system allows).
		if proc.WaitExited(pw.pid) {
			proc.KillGroup(pw.pid)
			cmd.Wait()
		} else {
			cmd.Wait()
			proc.KillGroup(pw.pid)
		}
		// Output still in the pipes is copied; a grandchild that keeps them
		// open cannot stall us.
		done := make(chan struct{})
		go func() { copying.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			if tagged {
				pipes[2][0].Close()
				pipes[3][0].Close()
			}
			<-done
		}
		close(pw.exited)
	}()
	if err := pw.hello(handshake); err != nil {
		pw.kill()
		pw.close()
		return nil, err
	}
	return pw, nil
}

// hello reads the worker's Hello within d.
func (pw *procWorker) hello(d time.Duration) error {
	pw.res.SetReadDeadline(time.Now().Add(d))
	defer pw.res.SetReadDeadline(time.Time{})
	kind, p, err := pw.r.Read()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &startError{msg: fmt.Sprintf("%s %d did not answer within %v: %s", pw.noun, pw.pid, d, errMissingMain)}
	}
	if err != nil {
		if framingError(err) {
			pw.killFor(pw.protocolError(err))
			return &startError{msg: fmt.Sprintf("%s %d wrote something other than mp's frames to its results pipe before serving (%v): %s", pw.noun, pw.pid, err, errMissingMain), err: err}
		}
		if e := pw.exitError(nil); e.Signal != "" {
			return &startError{msg: fmt.Sprintf("%s %d was killed by signal %s before it served", pw.noun, pw.pid, e.Signal), retry: true}
		}
		return &startError{msg: fmt.Sprintf("%s %d %s before serving: %s", pw.noun, pw.pid, pw.exitText(), errMissingMain)}
	}
	var h wire.Hello
	if kind != wire.KindHello || wire.Unmarshal(p, &h) != nil {
		return &startError{msg: fmt.Sprintf("%s %d spoke out of turn (frame kind %d): %s", pw.noun, pw.pid, kind, errMissingMain)}
	}
	if h.NoMain != "" {
		return &startError{msg: fmt.Sprintf("%s %d ran the program again instead of serving, up to %s, without calling mp.Main(): %s", pw.noun, pw.pid, h.NoMain, errMissingMain)}
	}
	if h.Version != wire.Version {
		return &startError{msg: fmt.Sprintf("%s %d speaks protocol %d, this program %d", pw.noun, pw.pid, h.Version, wire.Version)}
	}
	pw.names = make(map[string]bool, len(h.Names))
	for _, n := range h.Names {
		pw.names[n] = true
	}
	return nil
}

// framingError reports whether err, from reading a worker's frames, says
// that its bytes are not mp's frames (rather than that it ended).
func framingError(err error) bool {
	return errors.Is(err, wire.ErrFrameTooBig) || errors.Is(err, wire.ErrBadKind)
}

// protocolError is the reason given for killing a worker that broke the
// frame protocol.
func (pw *procWorker) protocolError(err error) error {
	return fmt.Errorf("mp: %s %d broke the frame protocol: %w (something in the worker, such as a task or a C library, wrote to its results pipe, fd 4)", pw.noun, pw.pid, err)
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

// send writes one message to the worker and flushes it.
func (pw *procWorker) send(kind wire.Kind, msg any) error {
	b, err := wire.Marshal(msg)
	if err != nil {
		return err
	}
	if err := pw.w.Write(kind, b); err != nil {
		return err
	}
	return pw.w.Flush()
}

// read reads the worker's next frame other than Log, handing Log frames
// to l with the given attributes and the worker's pid.
func (pw *procWorker) read(l *slog.Logger, where ...any) (wire.Kind, []byte, error) {
	for {
		kind, p, err := pw.r.Read()
		if err != nil || kind != wire.KindLog {
			return kind, p, err
		}
		wk.EmitLog(l, p, append(where, "pid", pw.pid)...)
	}
}

// reason is why we killed the worker, if we did.
func (pw *procWorker) reason() error {
	if p := pw.why.Load(); p != nil {
		return *p
	}
	return nil
}

// killFor kills the worker, recording why (the first reason counts).
func (pw *procWorker) killFor(err error) {
	pw.why.CompareAndSwap(nil, &err)
	pw.kill()
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
		if pw.unhook != nil {
			pw.unhook()
		}
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
