// Package procpool is the process runtime of process pools and of
// mp.Process: it starts worker processes (this program, re-executed) and
// holds the handshake (Hello, Setup/Ready), keeps Tasks in flight in a
// worker's pipe (chain.go), reads their Results, replaces a worker that
// dies and decides what becomes of the item it ran, with backoff when
// workers cannot start. The child side is internal/worker; the seam it
// implements is internal/sched.
package procpool

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/ring"
	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/internal/shm"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// Proc is one worker process and its link (wk.Link): the rings in
// shared memory that carry its tasks and results.
type Proc struct {
	id     int // the worker's number in its pool
	noun   string
	cmd    *exec.Cmd
	pid    int
	link   *wk.Link
	tasks  *ring.Writer // the task ring, as a stream
	w      *wire.Writer
	res    *ring.Reader // the result ring, as a stream
	r      *wire.Reader
	names  map[string]bool
	exited chan struct{}
	mem    *memWatch // tells whether it ran out of memory
	tags   []*taggedWriter
	from   *Spares // the spares it was taken from, if it was one
	nextID uint64
	rss    uint64 // resident memory after its last task
	// the worker's recent time per Task, for pipelining
	avgTask  time.Duration
	avgFunc  string // the function avgTask is of
	lastDone sched.Mono
	room     int // bytes that Tasks queued in its pipe may take
	// scratch and argBuf are the buffers a Task's head and its arguments
	// are encoded in, reused from Task to Task (only the slot running this
	// worker writes to it): its frame is copied into the task ring as it is
	// written
	scratch, argBuf []byte
	// kept is the chain of the slot's last Run, emptied, for its next:
	// Apply in a loop allocates no chain, no job list and no flight
	kept   *chain
	why    atomic.Pointer[error] // why we killed it, if we did
	unhook func() bool           // stops Terminate killing it
	once   sync.Once
}

// MissingMain is the advice given when a worker never says hello.
const MissingMain = "the program must call mp.Main() first thing in main() (and in TestMain), so that its worker processes serve tasks instead of running the program again"

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

// StartError is why a worker process did not start. Retry says that it
// was killed (or could not be made) and that another may well start; if
// not, the program itself is at fault (no mp.Main, another protocol).
type StartError struct {
	msg   string
	Retry bool
	err   error
}

// Error returns the message.
func (e *StartError) Error() string { return e.msg }

// Unwrap returns the cause, if any.
func (e *StartError) Unwrap() error { return e.err }

// Spec says how to start a worker process.
type Spec struct {
	ID        int           // the worker's number in its pool (0 for a Process)
	Noun      string        // names the worker in errors: "worker process", "child process"
	Handshake time.Duration // how long it may take to say Hello
	// Tagged copies its output to ours line by line, tagged with the
	// worker's number and pid (pool workers); otherwise it goes straight
	// to our stdout and stderr (a Process, as in Python).
	Tagged bool
	Env    []string // added to this process's environment
}

// Spawn starts this program as a worker process and reads its Hello
// within the handshake. Its errors are *StartError but for a missing
// executable.
//
// When the worker ends, its process group is killed: what its tasks
// started ends with it.
func Spawn(sp Spec) (*Proc, error) {
	id, noun, handshake, tagged := sp.ID, sp.Noun, sp.Handshake, sp.Tagged
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program to start a %s: %w", noun, err)
	}
	// The link (fd 3): a segment whose name is unlinked at once, so that
	// nothing is left in /dev/shm however either process ends; and for
	// tagged output, pipes for stdout and stderr, made here, not by
	// os/exec, so that the tag can carry the pid, known only after Start.
	startErr := func(err error) error {
		return &StartError{msg: fmt.Sprintf("starting a %s: %v", noun, err), Retry: !errors.Is(err, shm.ErrNoSpace), err: err}
	}
	link, err := newLink()
	if err != nil {
		return nil, startErr(err)
	}
	var pipes [2][2]*os.File // read end, write end
	closePipes := func() {
		for _, p := range pipes {
			for _, f := range p {
				if f != nil {
					f.Close()
				}
			}
		}
	}
	if tagged {
		for i := range pipes {
			if pipes[i][0], pipes[i][1], err = os.Pipe(); err != nil {
				closePipes()
				link.Seg.Close()
				return nil, startErr(err)
			}
		}
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = proc.SelfEnv(sp.Env...)
	lifeline, err := lifelineEnd()
	if err != nil {
		closePipes()
		link.Seg.Close()
		return nil, startErr(err)
	}
	cmd.ExtraFiles = []*os.File{link.Seg.File(), nil, lifeline} // fds 3 and 5 in the worker; 4 is closed
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if tagged {
		cmd.Stdout, cmd.Stderr = pipes[0][1], pipes[1][1]
	}
	proc.Configure(cmd)
	err = cmd.Start()
	if tagged { // the child's ends
		pipes[0][1].Close()
		pipes[1][1].Close()
	}
	if err != nil {
		if tagged {
			pipes[0][0].Close()
			pipes[1][0].Close()
		}
		link.Seg.Close()
		return nil, startErr(err)
	}
	mem := newMemWatch(cmd.Process.Pid, cmd.Env)
	var copying sync.WaitGroup
	var tags []*taggedWriter
	if tagged {
		for _, c := range []struct {
			r    *os.File
			dst  *os.File
			seen func([]byte)
		}{{pipes[0][0], os.Stdout, nil}, {pipes[1][0], os.Stderr, mem.line}} {
			tag := newTaggedWriter(c.dst, id, cmd.Process.Pid, c.seen)
			tags = append(tags, tag)
			copying.Go(func() {
				io.Copy(tag, c.r) // ends when the worker and its children close the pipe
				tag.Close()
				c.r.Close()
			})
		}
	}
	pw := &Proc{
		id: id, noun: noun, cmd: cmd, pid: cmd.Process.Pid, link: link, room: wk.TaskRingBytes * 3 / 4,
		tasks: &ring.Writer{R: link.Tasks}, res: &ring.Reader{R: link.Results},
		exited: make(chan struct{}), mem: mem, tags: tags,
	}
	pw.w = wire.NewWriter(pw.tasks, wire.DefaultMaxFrame)
	pw.r = wire.NewReader(pw.res, wire.DefaultMaxFrame)
	go func() {
		// The worker's process group goes with it: what its tasks
		// started and left running. It is killed while the worker, not
		// yet reaped, still holds its pid (where the system allows).
		if ok, clean := proc.WaitExited(pw.pid); ok {
			if !clean {
				mem.ended() // its limits and cgroup, while it is a zombie
			}
			proc.KillGroup(pw.pid)
			cmd.Wait()
		} else {
			cmd.Wait()
			proc.KillGroup(pw.pid)
		}
		// Whoever waits on a ring wakes: our reader reads what the worker
		// left in the result ring (whole frames are kept), then EOF; a
		// Task that waits for room fails.
		link.Results.Close()
		link.Tasks.Close()
		// Output still in the pipes is copied; a grandchild that keeps them
		// open cannot stall us.
		done := make(chan struct{})
		go func() { copying.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			if tagged {
				pipes[0][0].Close()
				pipes[1][0].Close()
			}
			<-done
		}
		close(pw.exited)
	}()
	if err := pw.hello(handshake); err != nil {
		pw.Kill()
		pw.Close()
		return nil, err
	}
	return pw, nil
}

// hello reads the worker's Hello within d.
func (pw *Proc) hello(d time.Duration) error {
	pw.res.Deadline = time.Now().Add(d)
	defer func() { pw.res.Deadline = time.Time{} }()
	kind, p, err := pw.r.Read()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &StartError{msg: fmt.Sprintf("%s %d did not answer within %v: %s", pw.noun, pw.pid, d, MissingMain)}
	}
	if err != nil {
		if FramingError(err) {
			pw.killFor(pw.protocolError(err))
			return &StartError{msg: fmt.Sprintf("%s %d wrote something other than mp's frames to its result ring before serving (%v): %s", pw.noun, pw.pid, err, MissingMain), err: err}
		}
		if _, sig := pw.ExitStatus(); sig != 0 {
			return &StartError{msg: fmt.Sprintf("%s %d was killed by signal %s before it served", pw.noun, pw.pid, sig), Retry: true}
		}
		return &StartError{msg: fmt.Sprintf("%s %d %s before serving: %s", pw.noun, pw.pid, pw.ExitText(), MissingMain)}
	}
	var h wire.Hello
	if kind != wire.KindHello || wire.Unmarshal(p, &h) != nil {
		return &StartError{msg: fmt.Sprintf("%s %d spoke out of turn (frame kind %d): %s", pw.noun, pw.pid, kind, MissingMain)}
	}
	if h.NoMain != "" {
		return &StartError{msg: fmt.Sprintf("%s %d ran the program again instead of serving, up to %s, without calling mp.Main(): %s", pw.noun, pw.pid, h.NoMain, MissingMain)}
	}
	if h.Version != wire.Version {
		return &StartError{msg: fmt.Sprintf("%s %d speaks protocol %d, this program %d", pw.noun, pw.pid, h.Version, wire.Version)}
	}
	pw.names = make(map[string]bool, len(h.Names))
	for _, n := range h.Names {
		pw.names[n] = true
	}
	return nil
}

// FramingError reports whether err, from reading a worker's frames, says
// that its bytes are not mp's frames (rather than that it ended).
func FramingError(err error) bool {
	return errors.Is(err, wire.ErrFrameTooBig) || errors.Is(err, wire.ErrBadKind)
}

// protocolError is the reason given for killing a worker that broke the
// frame protocol.
func (pw *Proc) protocolError(err error) error {
	return fmt.Errorf("mp: %s %d broke the frame protocol: %w (its result ring in shared memory holds something other than mp's frames: a stray write in the worker?)", pw.noun, pw.pid, err)
}

// PID is the worker's process id.
func (pw *Proc) PID() int { return pw.pid }

// RecentTask is the worker's recent time per Task of the function it ran
// last (0: none timed yet), which sets how many Tasks its slot queues
// behind the running one (ahead). Read it only while no Run uses pw.
func (pw *Proc) RecentTask() time.Duration { return pw.avgTask }

// Process is the worker's os.Process.
func (pw *Proc) Process() *os.Process { return pw.cmd.Process }

// Has reports whether the worker announced the registered function name.
func (pw *Proc) Has(name string) bool { return pw.names[name] }

// Exited is closed once the worker has ended and its output is copied.
func (pw *Proc) Exited() <-chan struct{} { return pw.exited }

// Results is the worker's result ring, as a stream.
func (pw *Proc) Results() io.Reader { return pw.res }

// ExitText waits briefly for the worker to end and says how it ended.
func (pw *Proc) ExitText() string {
	code, sig := pw.ExitStatus()
	if sig != 0 {
		return "was killed by signal " + sig.String()
	}
	return fmt.Sprintf("exited with status %d", code)
}

// ExitStatus waits for the worker to end, killing it if it lingers, and
// says how it ended (proc.ExitStatus).
func (pw *Proc) ExitStatus() (code int, sig syscall.Signal) {
	if !pw.waitExit(2 * time.Second) {
		pw.Kill()
		<-pw.exited
	}
	return proc.ExitStatus(pw.cmd.ProcessState)
}

// waitExit reports whether the worker ends within d.
func (pw *Proc) waitExit(d time.Duration) bool {
	select {
	case <-pw.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// exitError describes the worker's end, as the pool's users see it.
func (pw *Proc) exitError(mk sched.Errors, reason error) error {
	code, sig := pw.ExitStatus()
	signal := ""
	if sig != 0 {
		signal = sig.String()
	}
	if reason == nil {
		reason = pw.mem.verdict(sig) // nil unless it ran out of memory
	}
	return mk.Exit(pw.pid, code, signal, reason)
}

// Send writes one message to the worker and flushes it.
func (pw *Proc) Send(kind wire.Kind, msg any) error {
	var b []byte
	var err error
	switch t := msg.(type) { // a Task frame has its own layout
	case wire.Task:
		b = wire.AppendTask(nil, &t)
	case *wire.Task:
		b = wire.AppendTask(nil, t)
	default:
		if b, err = wire.Marshal(msg); err != nil {
			return err
		}
	}
	if err := pw.w.Write(kind, b); err != nil {
		return err
	}
	return pw.w.Flush()
}

// Read reads the worker's next frame other than Log, handing Log frames
// to l with the given attributes and the worker's pid.
func (pw *Proc) Read(l *slog.Logger, where ...any) (wire.Kind, []byte, error) {
	for {
		kind, p, err := pw.r.Read()
		if err != nil || kind != wire.KindLog {
			return kind, p, err
		}
		wk.EmitLog(l, p, append(where, "pid", pw.pid)...)
	}
}

// reason is why we killed the worker, if we did.
func (pw *Proc) reason() error {
	if p := pw.why.Load(); p != nil {
		return *p
	}
	return nil
}

// killFor kills the worker, recording why (the first reason counts).
func (pw *Proc) killFor(err error) {
	pw.why.CompareAndSwap(nil, &err)
	pw.Kill()
}

// Kill kills the worker and its process group.
func (pw *Proc) Kill() { proc.Kill(pw.cmd.Process) }

// Close ends the worker: EOF on its task ring makes it exit; one that
// lingers is killed (proc.Stop). Then its link is unmapped: nothing may
// read or write the worker's rings any more. It is safe to call more
// than once.
func (pw *Proc) Close() {
	pw.once.Do(func() {
		if pw.unhook != nil {
			pw.unhook()
		}
		proc.Stop(pw.cmd.Process, pw.exited, pw.tasks, 2*time.Second, 0)
		<-pw.exited // the watcher is done with the rings
		pw.link.Seg.Close()
		if pw.from != nil {
			pw.from.returned()
		}
	})
}

// newLink makes a worker's link in a segment whose name is gone at once.
func newLink() (*wk.Link, error) {
	var b [8]byte
	rand.Read(b[:])
	name := fmt.Sprintf("mp-link-%d-%s", os.Getpid(), hex.EncodeToString(b[:]))
	seg, err := shm.CreateLazy(name, wk.LinkSize(), wk.LinkBacked())
	if err != nil {
		return nil, err
	}
	shm.Unlink(name)
	link, err := wk.NewLink(seg)
	if err != nil {
		seg.Close()
		return nil, err
	}
	return link, nil
}

// recover delivers the results of f's items that the worker, now dead,
// had finished and kept in its stage, but not sent.
func (pw *Proc) recover(f *flight, mk sched.Errors) {
	for _, st := range pw.link.Stage.Read(f.id) {
		at := f.from + st.Index
		if at < f.rj.Cursor() {
			continue // sent before it died
		}
		if at != f.rj.Cursor() || st.Index >= f.n {
			return
		}
		var errs map[int]error
		if st.Err != nil {
			var e wire.Error
			if wire.Unmarshal(st.Err, &e) != nil {
				return
			}
			errs = map[int]error{at: mk.Remote(pw.pid, &e)}
		}
		f.rj.Deliver(at, st.Value, 1, errs)
	}
}

// Running says whether the worker had begun item i of the Task numbered
// id when it stopped: its mark names that item. (A worker marks an item
// after the results of the one before are in its result ring.)
func (pw *Proc) Running(id uint64, i int) bool {
	t, item, ok := pw.link.Mark.Running()
	return ok && t == uint64(uint32(id)) && item == i
}
