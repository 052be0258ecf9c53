package jobs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/mp-go/mp/internal/proc"
)

// One try of a job: its process started (directly or through the shell,
// here or on a host), waited for on a pidfd, stopped on a time limit,
// --memfree, --halt or Ctrl-C, and its exit status read as GNU
// parallel's job log writes it.

// attempt runs the job's process once.
func (r *Runner) attempt(ctx context.Context, j *Job, slot int, res *result) {
	cfg := r.cfg
	res.out, res.err2 = &spill{}, &spill{}
	argv, line := cfg.Template.Command(j, slot)
	shell := cfg.Shell
	if cfg.Template.Bash() {
		shell = "bash" // export -f works with bash only
	}
	if argv == nil {
		argv = []string{shell, "-c", line}
	}
	if cfg.Remote != nil {
		r.remoteAttempt(ctx, j, argv, res)
		return
	}
	if r.hosts != nil {
		var after func()
		if argv, after = r.sshJob(ctx, j, slot, res, argv); after != nil {
			defer after()
		}
	}
	if cfg.Nice != 0 {
		argv = append([]string{"nice", "-n", strconv.Itoa(cfg.Nice)}, argv...)
	}
	path, err := r.lookPath(argv[0])
	if err != nil && argv[0] != shell {
		// not a program: the shell says so (exit 127), or runs its
		// alias or function, as GNU parallel's shell would
		argv = []string{shell, "-c", cfg.Template.Display(j, slot)}
		path, err = r.lookPath(shell)
	}
	if err != nil {
		res.err, res.exit = err, -1
		fmt.Fprintf(&res.err2.buf, "mp: job %d: %v\n", j.Seq, err)
		return
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Dir: cfg.Dir}
	if res.host != "" && res.host != ":" {
		cmd.Dir = "" // ssh runs here; --workdir is the host's
	}
	cmd.Env = append(r.baseEnv[:len(r.baseEnv):len(r.baseEnv)], "PARALLEL_SEQ="+strconv.Itoa(j.Seq), "PARALLEL_JOBSLOT="+strconv.Itoa(slot))
	proc.Configure(cmd) // its own process group, and it dies with us
	if cfg.Ungroup {
		cmd.Stdout, cmd.Stderr = passThrough(cfg.Stdout, &r.outMu), passThrough(cfg.Stderr, &r.outMu)
	} else if cfg.LineBuffer {
		cmd.Stdout = r.lines(cfg.Stdout, j, slot, res.out)
		cmd.Stderr = r.lines(cfg.Stderr, j, slot, res.err2)
	} else {
		// The job writes straight into (unlinked) temporary files: no
		// pipe and no copying goroutine per stream, and big outputs go
		// to disk. A pipe is the fallback.
		cmd.Stdout, cmd.Stderr = res.out.file(r.outFiles), res.err2.file(r.outFiles)
	}
	cmd.Stdin = r.devNull // shared: os/exec would open /dev/null for every job
	var pid int           // once started
	var feed func()       // writes Data into the job's pipe, once it has started
	switch {
	case j.Input != nil:
		cmd.Stdin = j.Input
	case j.Data != nil && len(j.Data) > 64<<10:
		// a pipe of our own, made bigger: os/exec's is 64 KiB
		pr, pw, err := os.Pipe()
		if err != nil {
			res.err, res.exit = err, -1
			return
		}
		growPipe(pw)
		cmd.Stdin = pr
		fed := make(chan struct{})
		byRef := false
		feed = func() {
			pr.Close() // the job's now: a job that stops reading makes the write fail
			go func() {
				defer close(fed)
				byRef = writeBlock(pw, j.Data) // an error: the job did not read it all, as with os/exec's pipe
				pw.Close()
			}()
		}
		defer func() {
			pr.Close()
			if feed != nil { // never started
				pw.Close()
				return
			}
			// The job has ended, but what it left running may still be
			// reading the block (`exec 3<&0; (cksum <&3) &`): the writer
			// goes on until the block is all in the pipe or nothing can
			// read it any more (EPIPE), as os/exec's copy of stdin does.
			// Closing the pipe here instead cut the block short (or to
			// nothing, when the writer had not started yet).
			select {
			case <-fed:
			case <-ctx.Done():
			}
			pw.Close()
			<-fed
			if byRef && !proc.GroupGone(pid) {
				// what the job left running holds the pipe with the
				// block's pages in it: Data must stay as it is
				j.DataShared = true
			}
		}()
	case j.Data != nil:
		cmd.Stdin = bytes.NewReader(j.Data)
	case j.Part != nil:
		f, err := os.Open(j.Part.Path)
		if err != nil {
			res.err, res.exit = err, -1
			return
		}
		defer f.Close()
		cmd.Stdin = io.NewSectionReader(f, j.Part.Off, j.Part.Len)
	}
	if j.Stdin != "" {
		f, err := os.Open(j.Stdin)
		if err != nil {
			res.err, res.exit = err, -1
			return
		}
		defer f.Close()
		cmd.Stdin = f
	}
	res.start = time.Now()
	job, err := start(cmd)
	if err != nil {
		res.err, res.exit, res.took = err, -1, time.Since(res.start)
		fmt.Fprintf(&res.err2.buf, "mp: job %d: %v\n", j.Seq, err)
		return
	}
	if feed != nil {
		feed()
		feed = nil
	}
	if r.board != nil {
		r.board.started(slot, j, res.command, job.pid, res.tries)
		defer r.board.ended(slot)
	}
	timeout := r.timeout()
	var timer, recheck <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	if cfg.TimeoutPct > 0 {
		// --timeout N%: the median moves as jobs end, and applies to the
		// jobs already running, as in GNU parallel
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		recheck = tk.C
	}
	pid = job.pid
	r.wd.Add(pid)
	defer r.wd.Remove(pid)
	var memKill chan struct{}
	if cfg.MemFree > 0 {
		memKill = r.live.add(j.Seq)
		defer r.live.remove(j.Seq)
	}
	res.memKilled = false
	type ending struct {
		code int
		sig  syscall.Signal
		err  error
	}
	waited := make(chan ending, 1)
	exited := make(chan struct{})
	go func() {
		code, sig, err := job.wait()
		close(exited)
		waited <- ending{code, sig, err}
	}()
	termed := false
	terminate := func() {
		if !termed {
			// SIGTERM, then SIGKILL after the grace period (proc.Stop)
			termed = true
			go proc.Stop(job.process(), exited, nil, 0, max(cfg.Grace, time.Nanosecond))
		}
	}
	var end ending
wait:
	for {
		select {
		case end = <-waited:
			break wait
		case <-timer:
			res.killed, res.timedOut = true, true
			terminate()
		case <-recheck:
			if d := r.timeout(); d > 0 && time.Since(res.start) > d {
				res.killed, res.timedOut = true, true
				terminate()
			}
		case <-memKill:
			memKill = nil
			res.memKilled, res.killed = true, true
			terminate()
		case <-r.term:
			res.stopped, res.killed = true, true
			terminate()
		case <-r.kill:
			res.stopped, res.killed = true, true
			proc.Kill(job.process())
		case <-ctx.Done():
			proc.Kill(job.process())
		}
	}
	if line, ok := cmd.Stdout.(*lineWriter); ok {
		line.flush()
		cmd.Stderr.(*lineWriter).flush()
	}
	res.took = time.Since(res.start)
	if res.out.pool != nil && proc.GroupGone(pid) {
		// reaped, and nothing it started is left in its group: the
		// files it wrote into can serve another job once printed
		res.out.reuse, res.err2.reuse = true, true
	}
	res.out.settle()
	res.err2.settle()
	res.exit, res.signal = end.code, 0
	if end.err != nil {
		res.err, res.exit = end.err, -1
	} else if end.sig != 0 {
		// GNU parallel's job log: -1 when it killed the job, else 0
		res.exit, res.signal = 0, int(end.sig)
		if res.killed {
			res.exit = -1
		}
	}
}
