package jobs

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/mp-go/mp/internal/proc"
)

// started is a job's process once it has started: by proc.Spawn where
// it can (files for standard streams: the usual job), without os/exec's
// work around each start, else by os/exec.
type started struct {
	cmd   *exec.Cmd
	child *proc.Child  // Spawn's
	pidfd *proc.ExitFD // os/exec's start: its end, on the poller
	pid   int
	once  sync.Once
	p     *os.Process // to signal it (process)
}

// start starts cmd.
func start(cmd *exec.Cmd) (*started, error) {
	child, err := proc.Spawn(cmd)
	if err == nil {
		return &started{cmd: cmd, child: child, pid: child.Pid}, nil
	}
	if !errors.Is(err, errors.ErrUnsupported) {
		return nil, err
	}
	pidfd := proc.WatchExit(cmd)
	if err := cmd.Start(); err != nil {
		pidfd.Close()
		return nil, err
	}
	return &started{cmd: cmd, pidfd: pidfd, pid: cmd.Process.Pid, p: cmd.Process}, nil
}

// wait returns once the process has ended, reaped: its exit status
// (-1 if a signal ended it) and that signal, or why it could not wait.
func (s *started) wait() (code int, sig syscall.Signal, err error) {
	if s.child != nil {
		ws, err := s.child.Wait()
		if err != nil {
			return -1, 0, err
		}
		code, sig := proc.WaitStatusExit(ws)
		return code, sig, nil
	}
	s.pidfd.Wait()
	err = s.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code, sig := proc.ExitStatus(ee.ProcessState)
		return code, sig, nil
	}
	if err != nil {
		return -1, 0, err
	}
	return 0, 0, nil
}

// process returns the process to signal (proc.Stop, proc.Kill): found
// by its pid, only when needed, where Spawn started it.
func (s *started) process() *os.Process {
	s.once.Do(func() {
		if s.p == nil {
			s.p, _ = os.FindProcess(s.pid) // never fails on unix
		}
	})
	return s.p
}

// baseEnv returns environ without the variables that each job gets its
// own value of, each other variable once (its last value, in the place
// of its last occurrence), as os/exec would pass it: Spawn passes the
// jobs' environment as it is, without os/exec's copy of it per job.
func baseEnv(environ []string) []string {
	seen := make(map[string]bool, len(environ))
	out := make([]string, 0, len(environ))
	for i := len(environ) - 1; i >= 0; i-- {
		kv := environ[i]
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			if kv != "" {
				out = append(out, kv) // not KEY=value: passed as it is, as os/exec does
			}
			continue
		}
		if seen[k] || k == "PARALLEL_SEQ" || k == "PARALLEL_JOBSLOT" {
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	slices.Reverse(out)
	return out
}
