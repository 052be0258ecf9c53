// Package watchdog kills what a program started when the program dies,
// however it dies (SIGKILL included): process groups that a signal to the
// program, or the end of the program, would not reach.
//
// The watchdog is a second process, the program run again with an
// environment variable that this package's init recognises: it serves
// there, during package initialisation, before package mp and every
// package that imports it (main included) is initialised, so a program
// needs no call of its own. It reads on its standard input, a pipe
// from the program, the process groups that start ('+pid') and end
// ('-pid'), and when the pipe closes (the program has ended) it sends
// SIGKILL to the groups still running, then exits. It leads a process
// group of its own, so that a Ctrl-C to the program's group, or a kill of
// a worker process's group, does not stop it. It costs one process per
// program that asks for one and two small writes per group watched.
//
// Between the start of a group and its '+' line there is a window of a
// few microseconds in which the program's death is not covered.
package watchdog

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/mp-go/mp/internal/proc"
)

// env tells a program run again that it is a watchdog; the value is a
// cookie so that a stray variable of the same name changes nothing.
const (
	env    = "MP_WATCHDOG"
	cookie = "mp-watchdog-v1"
)

func init() {
	if os.Getenv(env) == cookie {
		serve(os.Stdin)
		os.Exit(0)
	}
}

// batch is how long serve lets lines pile up in the pipe between reads:
// a wake-up per group would cost more than a job's own start.
const batch = 20 * time.Millisecond

// serve reads the groups' lines from in until it ends, then kills the
// groups still running.
func serve(in *os.File) {
	groups := map[int]bool{}
	buf := make([]byte, 64<<10)
	var part []byte
	for {
		n, err := in.Read(buf)
		part = append(part, buf[:n]...)
		for {
			i := bytes.IndexByte(part, '\n')
			if i < 0 {
				break
			}
			line := part[:i]
			part = part[i+1:]
			if len(line) < 2 {
				continue
			}
			pid, perr := strconv.Atoi(string(line[1:]))
			if perr != nil || pid <= 0 {
				continue
			}
			if line[0] == '+' {
				groups[pid] = true
			} else {
				delete(groups, pid)
			}
		}
		if err != nil {
			break
		}
		time.Sleep(batch)
	}
	// the program has ended: whatever is still running is an orphan
	for pid := range groups {
		proc.KillGroup(pid)
	}
}

// Watchdog is the program's side of a watchdog process. Its methods are
// safe for concurrent use; a nil *Watchdog watches nothing.
type Watchdog struct {
	mu     sync.Mutex
	w      *os.File
	cmd    *exec.Cmd
	closed bool
}

// Start starts a watchdog process: this program, run again.
func Start() (*Watchdog, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("starting the watchdog process: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting the watchdog process: %w", err)
	}
	defer r.Close()
	proc.GrowPipe(w, 1<<20) // room for the lines written while it sleeps
	cmd := exec.Command(exe)
	cmd.Stdin = r // stdout and stderr: the null device, holding no pipe of the program open
	cmd.Env = proc.SelfEnv(env + "=" + cookie)
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("starting the watchdog process: %w", err)
	}
	return &Watchdog{w: w, cmd: cmd}, nil
}

// Add tells the watchdog that the process group led by pid has started:
// it is killed if the program ends before Remove.
func (d *Watchdog) Add(pid int) { d.write('+', pid) }

// Remove tells the watchdog that the process group led by pid has ended.
func (d *Watchdog) Remove(pid int) { d.write('-', pid) }

func (d *Watchdog) write(op byte, pid int) {
	if d == nil {
		return
	}
	b := strconv.AppendInt([]byte{op}, int64(pid), 10)
	b = append(b, '\n')
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.w.Write(b)
	}
}

// Close ends the watchdog process, which kills the groups still added,
// and waits for it. Closing twice does nothing.
func (d *Watchdog) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.w.Close()
	d.mu.Unlock()
	return d.cmd.Wait()
}
