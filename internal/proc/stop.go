package proc

import (
	"io"
	"os"
	"syscall"
	"time"
)

// Stop ends a process that leads its own process group (Configure), in
// the steps of the fuzz engine's worker.stop, each taken only if the
// process has not ended (exited is closed) after the previous one:
//
//  1. close input, if not nil, and wait up to closeWait: a worker that
//     serves a pipe ends on EOF, cleanly;
//  2. if termGrace > 0, SIGTERM to its group, and wait up to termGrace;
//  3. SIGKILL to its group (or to p where there are no groups).
//
// It returns once exited is closed. Every place that stops a process
// (pool workers, mp.Process, the jobs of mp run) goes through it.
func Stop(p *os.Process, exited <-chan struct{}, input io.Closer, closeWait, termGrace time.Duration) {
	if input != nil {
		input.Close()
		if waitFor(exited, closeWait) {
			return
		}
	}
	if termGrace > 0 {
		if TerminateGroup(p.Pid) != nil {
			Terminate(p)
		}
		if waitFor(exited, termGrace) {
			return
		}
	}
	Kill(p)
	<-exited
}

// Kill sends SIGKILL to the process group p leads, or to p alone where
// that cannot be done.
func Kill(p *os.Process) {
	if KillGroup(p.Pid) != nil {
		p.Kill()
	}
}

// waitFor reports whether exited is closed within d.
func waitFor(exited <-chan struct{}, d time.Duration) bool {
	select {
	case <-exited:
		return true
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-exited:
		return true
	case <-t.C:
		return false
	}
}

// ExitStatus says how a process ended: its exit status (-1 when a signal
// ended it, or when st is nil), and the signal, if one did (0 if not).
func ExitStatus(st *os.ProcessState) (code int, sig syscall.Signal) {
	if st == nil {
		return -1, 0
	}
	code = st.ExitCode()
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal()
	}
	return code, 0
}

// WaitStatusExit says how a process ended from its wait status, as
// ExitStatus does from its ProcessState.
func WaitStatusExit(ws syscall.WaitStatus) (code int, sig syscall.Signal) {
	if ws.Signaled() {
		return -1, ws.Signal()
	}
	if !ws.Exited() {
		return -1, 0
	}
	return ws.ExitStatus(), 0
}
