package mp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/watchdog"
)

// Cmd is an external command that ends with its owner: an *exec.Cmd (set
// its fields, Stdin, Stdout, Env, Dir and the rest, and use its pipes as
// usual) whose Start, Run, Wait, Output and CombinedOutput make sure that
// nothing the command starts outlives the task that started it, nor the
// program. Make one with Command.
//
// Plain exec.Command (or Python's subprocess) in a task gives no such
// guarantee: the command is a child of the program in the program's own
// process group; exec.CommandContext kills that one process when ctx
// ends, and what it started (the sleep of `sh -c 'sleep 300; true'`) goes
// on; nothing at all is killed when the program is SIGKILLed. With Cmd:
//
//   - the command leads a process group of its own, and when ctx ends (a
//     pool task's context ends when its call returns, on Terminate, on
//     the call's timeout or cancellation) the whole group is killed
//     (SIGKILL), not just the first process;
//   - Wait (so Run and Output) kills what the command left running in its
//     group once it has exited: a command's processes end with it;
//   - if the program dies however it dies, SIGKILL included, a watchdog
//     process kills the groups of the commands still running. It is the
//     program run again, started by the first Start in each process (a
//     pool's worker process has its own: a worker killed by Terminate
//     takes its commands with it); it needs no mp.Main and costs one
//     process and two small writes per command.
//
// A process that leaves the group on purpose (setsid, as daemons do) is
// not followed. Being in a group of its own, the command does not get the
// terminal's Ctrl-C (the program does, and its commands die with it), and
// to the terminal it is a background job: one that reads from the
// terminal is stopped (SIGTTIN), so give such a command another Stdin. Replacing Cancel gives up the group kill when ctx ends.
// Where there are no process groups (Windows), ctx ending kills the
// command's own process, as exec.CommandContext does.
type Cmd struct {
	*exec.Cmd
	wd     *watchdog.Watchdog // the process's watchdog, once started
	waited bool               // Wait was called
}

// Command returns the Cmd to run the program name with the given
// arguments (os/exec's CommandContext, see Cmd for what it adds). ctx
// must not be nil; when it ends the command's whole process group is
// killed.
//
//	out, err := mp.Command(ctx, "sh", "-c", "convert $0 $0.png", path).Output()
func Command(ctx context.Context, name string, arg ...string) *Cmd {
	c := &Cmd{Cmd: exec.CommandContext(ctx, name, arg...)}
	ownGroup(c.Cmd)
	c.Cmd.Cancel = c.killGroup
	return c
}

// Start starts the command in a process group of its own and has the
// process's watchdog watch that group; it does not wait for it to
// complete (os/exec's Start). Call Wait to release its resources.
func (c *Cmd) Start() error {
	wd, err := commandWatchdog()
	if err != nil {
		return fmt.Errorf("mp: Command %s: %w (the watchdog kills what the command starts if the program dies)", c.Path, err)
	}
	ownGroup(c.Cmd) // SysProcAttr may have been replaced since Command
	if err := c.Cmd.Start(); err != nil {
		if wd != nil {
			releaseWatchdog()
		}
		return err
	}
	c.wd = wd
	wd.Add(c.Process.Pid)
	return nil
}

// release tells the watchdog that the command's group has ended.
func (c *Cmd) release() {
	if c.wd != nil {
		c.wd.Remove(c.Process.Pid)
		releaseWatchdog()
	}
}

// Wait waits for the command to exit and for its input and output to be
// copied (os/exec's Wait), kills whatever it left running in its process
// group, and returns the command's outcome (*exec.ExitError for a failure
// status, as os/exec).
func (c *Cmd) Wait() error {
	if c.Process == nil || c.waited {
		return c.Cmd.Wait() // os/exec's error: not started, or waited already
	}
	c.waited = true
	defer c.release()
	pid := c.Process.Pid
	// Kill the rest of the group while the command, not yet reaped, still
	// holds its pid: the group's id cannot be another's then.
	if ok, _ := proc.WaitExited(pid); ok {
		proc.KillGroup(pid)
	}
	err := c.Cmd.Wait()
	proc.KillGroup(pid) // where WaitExited cannot wait without reaping
	return err
}

// Run starts the command and waits for it (os/exec's Run).
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the command and returns its standard output (os/exec's
// Output): if Stderr is nil, the start of the command's standard error is
// kept in the *exec.ExitError of a failure.
func (c *Cmd) Output() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("exec: Stdout already set")
	}
	var out bytesBuffer
	c.Stdout = &out
	var stderr *cappedBuffer
	if c.Stderr == nil {
		stderr = &cappedBuffer{max: 32 << 10}
		c.Stderr = stderr
	}
	err := c.Run()
	var ee *exec.ExitError
	if stderr != nil && errors.As(err, &ee) {
		ee.Stderr = stderr.b
	}
	return out.b, err
}

// CombinedOutput runs the command and returns its standard output and
// standard error together (os/exec's CombinedOutput).
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("exec: Stdout already set")
	}
	if c.Stderr != nil {
		return nil, errors.New("exec: Stderr already set")
	}
	var b syncBuffer
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	return b.b, err
}

// killGroup is Cmd's Cancel: SIGKILL to the command's process group.
func (c *Cmd) killGroup() error {
	err := proc.KillGroup(c.Process.Pid)
	if errors.Is(err, errors.ErrUnsupported) {
		return c.Process.Kill()
	}
	if err != nil {
		return os.ErrProcessDone // the group has ended
	}
	return nil
}

// bytesBuffer collects a command's output.
type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// syncBuffer is a bytesBuffer written by two goroutines (stdout and
// stderr, when they are not the same file).
type syncBuffer struct {
	mu sync.Mutex
	bytesBuffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bytesBuffer.Write(p)
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	max int
	b   []byte
}

func (w *cappedBuffer) Write(p []byte) (int, error) {
	if room := w.max - len(w.b); room > 0 {
		w.b = append(w.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// cmdWatchdog is this process's watchdog for its Commands, started by a
// Start when none runs, and closed once no Command has run for
// watchdogLinger (so that a burst of commands shares one, and an idle
// program has no extra process).
var cmdWatchdog struct {
	sync.Mutex
	d       *watchdog.Watchdog
	running int         // Commands started and not waited for
	idle    *time.Timer // closes d once running has been 0 for watchdogLinger
}

// watchdogLinger is how long the Commands' watchdog outlives the last
// Command.
const watchdogLinger = time.Second

// acquireWatchdog returns this process's watchdog for one more Command,
// starting it if none runs.
func acquireWatchdog() (*watchdog.Watchdog, error) {
	cmdWatchdog.Lock()
	defer cmdWatchdog.Unlock()
	if cmdWatchdog.d == nil {
		d, err := watchdog.Start()
		if err != nil {
			return nil, err
		}
		cmdWatchdog.d = d
	}
	if cmdWatchdog.idle != nil {
		cmdWatchdog.idle.Stop()
		cmdWatchdog.idle = nil
	}
	cmdWatchdog.running++
	return cmdWatchdog.d, nil
}

// releaseWatchdog says that a Command has ended.
func releaseWatchdog() {
	cmdWatchdog.Lock()
	defer cmdWatchdog.Unlock()
	cmdWatchdog.running--
	if cmdWatchdog.running == 0 && cmdWatchdog.idle == nil {
		cmdWatchdog.idle = time.AfterFunc(watchdogLinger, closeIdleWatchdog)
	}
}

// closeIdleWatchdog closes the watchdog if no Command runs.
func closeIdleWatchdog() {
	cmdWatchdog.Lock()
	d := cmdWatchdog.d
	if cmdWatchdog.running > 0 || d == nil {
		cmdWatchdog.Unlock()
		return
	}
	cmdWatchdog.d, cmdWatchdog.idle = nil, nil
	cmdWatchdog.Unlock()
	d.Close()
}
