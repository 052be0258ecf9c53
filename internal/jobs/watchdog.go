package jobs

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

// A job's program runs in a process group of its own and dies with mp
// run (PR_SET_PDEATHSIG on Linux), but what it starts does not: after
// `mp run 'sleep 41; true'` is SIGKILLed, the shell dies and the sleep
// would live on. The watchdog is a second process (the mp program run
// again with watchdogEnv set) that is told each job's process group as
// it starts and ends, over a pipe; when mp run dies the pipe closes and
// the watchdog kills the groups still running. It costs one process per
// run and two small writes per job, and works however mp run dies.

const watchdogEnv = "MP_JOBS_WATCHDOG"

// WatchdogMain serves as the watchdog when this process was started as
// one, and never returns then; otherwise it returns at once. Programs
// that set Config.Watchdog call it first thing in main.
func WatchdogMain() {
	if os.Getenv(watchdogEnv) != "1" {
		return
	}
	groups := map[int]bool{}
	buf := make([]byte, 64<<10)
	var part []byte
	for {
		n, err := os.Stdin.Read(buf)
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
			if perr != nil {
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
		// Let the lines pile up in the pipe: a wake-up per job would
		// cost more than the jobs' own start.
		time.Sleep(20 * time.Millisecond)
	}
	// mp run has ended: whatever is still running is an orphan
	for pid := range groups {
		proc.KillGroup(pid)
	}
	os.Exit(0)
}

// watchdog is mp run's side: the pipe to the watchdog process.
type watchdog struct {
	mu  sync.Mutex
	w   *os.File
	cmd *exec.Cmd
}

// startWatchdog starts the watchdog process (this program again).
func startWatchdog() (*watchdog, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	defer r.Close()
	proc.GrowPipe(w, 1<<20) // room for the lines written while it sleeps
	cmd := exec.Command(exe)
	cmd.Stdin = r
	cmd.Env = append(os.Environ(), watchdogEnv+"=1")
	ownGroup(cmd) // a Ctrl-C to mp run's group does not stop it
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	return &watchdog{w: w, cmd: cmd}, nil
}

// watch tells the watchdog that the process group pid has started (op
// '+') or ended ('-').
func (d *watchdog) watch(op byte, pid int) {
	if d == nil {
		return
	}
	b := strconv.AppendInt([]byte{op}, int64(pid), 10)
	b = append(b, '\n')
	d.mu.Lock()
	d.w.Write(b)
	d.mu.Unlock()
}

// close ends the watchdog, every job having ended.
func (d *watchdog) close() {
	if d == nil {
		return
	}
	d.w.Close()
	d.cmd.Wait()
}
