package cluster

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/registry"
)

// The local worker processes of a pool (LocalWorkers): started as copies
// of this program, replaced when they die, each dying with this process.

// startWorker starts a worker process of this program, connected to the
// cluster, and keeps one running until Close: a worker that dies (a task
// that crashes it) is replaced, but one that ran the program instead of
// serving (no mp.Main) is not: the pool breaks, saying why, rather than
// start copies of the program that would start more. Each dies with this
// process.
func (t *transport) startWorker() error {
	cmd, report, err := t.spawn()
	if err != nil {
		return err
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for {
			done := make(chan struct{})
			go func() {
				cmd.Wait()
				close(done)
			}()
			select {
			case <-done:
			case <-t.stop:
				cmd.Process.Signal(os.Interrupt) // finish the task, then exit
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					proc.KillGroup(cmd.Process.Pid)
					<-done
				}
				report.Close()
				return
			}
			call := readReport(report)
			report.Close()
			if call != "" {
				t.breakPool(fmt.Errorf("cluster: local worker process %d ran the program again instead of serving, up to %s, without calling mp.Main(): %s", cmd.Process.Pid, call, errMissingMain))
				return
			}
			select {
			case <-t.stop:
				return
			case <-time.After(100 * time.Millisecond): // no restart storm
			}
			if cmd, report, err = t.spawn(); err != nil {
				fmt.Fprintln(os.Stderr, "mp:", err)
				return
			}
		}
	}()
	return nil
}

// errMissingMain is the advice given when a local worker does not serve.
const errMissingMain = "the program must call mp.Main() first thing in main() (and in TestMain), so that its local workers serve tasks instead of running the program again"

// readReport returns what an exited local worker wrote to its report
// pipe: the call it reached running the program instead of serving, or
// "". The worker wrote it before exiting, so it is there at once; the
// short deadline only bounds the wait for a worker that wrote nothing
// while a process it started still holds the pipe open.
func readReport(r *os.File) string {
	r.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var b [256]byte
	n, _ := io.ReadFull(r, b[:])
	line, _, _ := strings.Cut(string(b[:n]), "\n")
	return line
}

// spawn starts a local worker with the write end of its report pipe,
// and returns it with the read end.
func (t *transport) spawn() (*exec.Cmd, *os.File, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: starting a worker: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: starting a worker: %w", err)
	}
	defer w.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = proc.SelfEnv(registry.WorkerEnv+"="+t.url, registry.ReportEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	if t.cfg.Creds != "" {
		cmd.Env = append(cmd.Env, registry.CredsEnv+"="+t.cfg.Creds)
	}
	if t.cfg.CA != "" {
		cmd.Env = append(cmd.Env, registry.CAEnv+"="+t.cfg.CA)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	proc.Configure(cmd)
	if err := cmd.Start(); err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("cluster: starting a worker: %w", err)
	}
	return cmd, r, nil
}
