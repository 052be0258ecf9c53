package jobs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/mp-go/mp/internal/proc"
)

// sshMaster is --controlmaster (-M): one ssh connection per host for the
// whole run, which every job's ssh multiplexes, as GNU parallel's -M.
type sshMaster struct {
	dir   string // holds the control sockets
	procs []*exec.Cmd
}

// controlPath is the control socket of h under the run's directory; ""
// for hosts without a master.
func (r *Runner) controlPath(h *sshHost) string {
	if r.master == nil || h.Command != "" || h.Local {
		return "" // GNU parallel: not for sshlogins with their own ssh command
	}
	return filepath.Join(r.master.dir, fmt.Sprintf("h%d", h.first))
}

// startMasters starts a master connection to each host and waits (a
// minute at most) until its socket is there; a job's ssh that finds no
// socket connects on its own, so a master that fails only costs speed.
func (r *Runner) startMasters() error {
	// a short directory: a socket's path has at most about 100 bytes
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "mp-ssh-")
	if err != nil {
		return fmt.Errorf("--controlmaster: %w", err)
	}
	r.master = &sshMaster{dir: dir}
	var waiting []string
	for _, h := range r.hosts {
		cp := r.controlPath(h)
		if cp == "" {
			continue
		}
		argv := []string{"/bin/sh", "-c", "exec " + r.sshCommand(h) + ` "$@"`, "sh",
			"-M", "-N", "-o", "ControlPath=" + cp, "-o", "ControlPersist=no", h.Host}
		cmd := exec.Command(argv[0], argv[1:]...)
		proc.Configure(cmd) // it dies with mp
		cmd.Stdin = r.devNull
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(r.cfg.Stderr, "mp: Warning: --controlmaster: %s: %v\n", h.Login, err)
			continue
		}
		r.master.procs = append(r.master.procs, cmd)
		waiting = append(waiting, cp)
	}
	deadline := time.Now().Add(time.Minute)
	for _, cp := range waiting {
		for {
			if _, err := os.Stat(cp); err == nil {
				break
			}
			if time.Now().After(deadline) || r.stopping.Load() {
				fmt.Fprintf(r.cfg.Stderr, "mp: Warning: --controlmaster: no master connection after a minute (%s); the jobs connect on their own\n", cp)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// stopMasters ends the master connections and removes their directory.
func (r *Runner) stopMasters() {
	if r.master == nil {
		return
	}
	for _, cmd := range r.master.procs {
		proc.KillGroup(cmd.Process.Pid)
		cmd.Wait()
	}
	os.RemoveAll(r.master.dir)
}
