package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
)

// A job of `mp run --cluster URL` runs on a cluster worker (`mp worker
// --connect URL`): the command, its standard input and its time limit
// travel; its output, exit status and signal come back.

// remoteSpec is a job as a cluster worker runs it.
type remoteSpec struct {
	Argv    []string      `cbor:"1,keyasint"`
	Stdin   []byte        `cbor:"2,keyasint,omitempty"`
	Timeout time.Duration `cbor:"3,keyasint,omitempty"`
	Grace   time.Duration `cbor:"4,keyasint,omitempty"`
}

// remoteOut is how it went.
type remoteOut struct {
	Stdout []byte        `cbor:"1,keyasint,omitempty"`
	Stderr []byte        `cbor:"2,keyasint,omitempty"`
	Exit   int           `cbor:"3,keyasint"`
	Signal int           `cbor:"4,keyasint,omitempty"`
	Err    string        `cbor:"5,keyasint,omitempty"`
	Took   time.Duration `cbor:"6,keyasint"`
	Host   string        `cbor:"7,keyasint,omitempty"`
}

// maxRemoteOutput bounds the output a remote job sends back, each stream
// (results over the cluster's message limit go through its object store;
// both streams together stay under a value's 64 MiB).
const maxRemoteOutput = 24 << 20

// capped is a buffer that keeps the first max bytes.
type capped struct {
	bytes.Buffer
	max  int
	lost int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room < len(p) {
		c.lost += len(p) - max(room, 0)
		p = p[:max(room, 0)]
		c.Buffer.Write(p)
		return len(p) + c.lost, nil
	}
	return c.Buffer.Write(p)
}

func (c *capped) bytes(what string) []byte {
	if c.lost > 0 {
		fmt.Fprintf(&c.Buffer, "\nmp: %d more bytes of %s were cut (a remote job returns at most %d)\n", c.lost, what, c.max)
	}
	return c.Bytes()
}

// ExecRemote runs a job on a cluster worker.
var ExecRemote = mp.Register("mp.run.exec", func(ctx context.Context, s remoteSpec) (remoteOut, error) {
	host, _ := os.Hostname()
	out := remoteOut{Host: host}
	if len(s.Argv) == 0 {
		return out, errors.New("mp run: a remote job without a command")
	}
	path, err := exec.LookPath(s.Argv[0])
	if err != nil {
		out.Exit, out.Err = -1, err.Error()
		return out, nil
	}
	stdout, stderr := &capped{max: maxRemoteOutput}, &capped{max: maxRemoteOutput}
	cmd := &exec.Cmd{Path: path, Args: s.Argv, Stdout: stdout, Stderr: stderr, Stdin: bytes.NewReader(s.Stdin)}
	proc.Configure(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		out.Exit, out.Err = -1, err.Error()
		return out, nil
	}
	waited := make(chan error, 1)
	exited := make(chan struct{})
	go func() { err := cmd.Wait(); close(exited); waited <- err }()
	var timer <-chan time.Time
	if s.Timeout > 0 {
		t := time.NewTimer(s.Timeout)
		defer t.Stop()
		timer = t.C
	}
wait:
	for {
		select {
		case err = <-waited:
			break wait
		case <-timer:
			// SIGTERM, then SIGKILL after the grace period (proc.Stop)
			go proc.Stop(cmd.Process, exited, nil, 0, max(s.Grace, time.Second))
		case <-ctx.Done():
			proc.Kill(cmd.Process)
		}
	}
	out.Took = time.Since(start)
	out.Stdout, out.Stderr = stdout.bytes("standard output"), stderr.bytes("standard error")
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code, sig := proc.ExitStatus(ee.ProcessState)
		out.Exit, out.Signal = code, int(sig)
	} else if err != nil {
		out.Exit, out.Err = -1, err.Error()
	}
	return out, nil
})

// remoteAttempt runs the job once on the cluster pool.
func (r *Runner) remoteAttempt(ctx context.Context, j *Job, argv []string, res *result) {
	cfg := r.cfg
	spec := remoteSpec{Argv: argv, Timeout: r.timeout(), Grace: cfg.Grace}
	switch {
	case j.Data != nil: // a --pipe block
		spec.Stdin = j.Data
	case j.Part != nil: // a --pipepart block
		f, err := os.Open(j.Part.Path)
		if err == nil {
			spec.Stdin = make([]byte, j.Part.Len)
			_, err = f.ReadAt(spec.Stdin, j.Part.Off)
			f.Close()
		}
		if err != nil {
			res.err, res.exit = err, -1
			return
		}
	}
	if j.Stdin != "" {
		b, err := os.ReadFile(j.Stdin)
		if err != nil {
			res.err, res.exit = err, -1
			return
		}
		spec.Stdin = b
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-r.term:
		case <-r.kill:
		case <-actx.Done():
			return
		}
		cancel() // a queued job is taken off the queue; a running one finishes there
	}()
	res.start = time.Now()
	out, err := mp.Apply(actx, cfg.Remote, ExecRemote, spec)
	res.took = time.Since(res.start)
	if err != nil {
		if r.stopping.Load() || actx.Err() != nil {
			res.stopped = true
		}
		res.err, res.exit = err, -1
		fmt.Fprintf(&res.err2.buf, "mp: job %d on the cluster: %v\n", j.Seq, err)
		return
	}
	if cfg.LineBuffer {
		lw, le := r.lines(cfg.Stdout, j, 0, res.out), r.lines(cfg.Stderr, j, 0, res.err2)
		lw.Write(out.Stdout)
		le.Write(out.Stderr)
		lw.flush()
		le.flush()
	} else {
		res.out.Write(out.Stdout)
		res.err2.Write(out.Stderr)
	}
	res.out.settle()
	res.err2.settle()
	res.exit, res.signal = out.Exit, out.Signal
	if out.Err != "" {
		res.err = errors.New(out.Err)
		fmt.Fprintf(&res.err2.buf, "mp: job %d on %s: %s\n", j.Seq, out.Host, out.Err)
	}
}
