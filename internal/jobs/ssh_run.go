package jobs

import (
	"context"
	"io"
	"iter"
	"slices"

	"github.com/mp-go/mp"
)

// setupHosts makes the run's hosts and returns its job slots in all:
// each host's slots, or for --onall one slot a host, -j hosts at once.
func (r *Runner) setupHosts(ctx context.Context) (int, error) {
	s := r.cfg.SSH
	if !s.OnAll {
		n, err := r.resolveHosts(ctx)
		if err == nil && s.ControlMaster {
			err = r.startMasters()
		}
		return n, err
	}
	r.hosts = nil
	for i, l := range s.Logins {
		r.hosts = append(r.hosts, &sshHost{SSHLogin: l, first: i + 1, slots: 1})
	}
	n, err := SlotsFor(s.Jobs, mp.CPUCount())
	if err != nil {
		return 0, err
	}
	if s.ControlMaster {
		if err := r.startMasters(); err != nil {
			return 0, err
		}
	}
	return max(min(n, len(r.hosts)), 1), nil
}

// sshDone ends a run with hosts: --basefile's files removed (--cleanup),
// then the --controlmaster connections closed.
func (r *Runner) sshDone(ctx context.Context) {
	r.sshCleanBasefiles(ctx)
	r.stopMasters()
}

// sshAfter is what follows a job on h: --return's files fetched, then
// --cleanup.
func (r *Runner) sshAfter(ctx context.Context, h *sshHost, f sshFiles, w io.Writer) {
	r.sshFetch(ctx, h, f.ret, f.wd, w)
	if r.cfg.SSH.Cleanup {
		r.sshCleanup(ctx, h, f, w)
	}
}

// onAll is --onall (and --nonall): every job runs on every host, one at a
// time on each, in order; each host's outputs are printed together once
// its jobs are done, as GNU parallel groups them.
func (r *Runner) onAll(ctx context.Context, pool *mp.Pool, input iter.Seq[*Job], sum *Summary) error {
	var all []*Job
	for j := range input {
		// every host runs a copy: the input is held whole, so a --pipe
		// block is let go of at once (its bound would block the input)
		if j.Release != nil {
			j.Release()
			j.Release = nil
		}
		all = append(all, j)
	}
	run := mp.Fn(func(ctx context.Context, h *sshHost) ([]*result, error) {
		var out []*result
		for _, j := range all {
			c := *j // each host runs its own copy of the job
			res := r.runJob(ctx, &c, h.first)
			out = append(out, res)
		}
		return out, nil
	})
	hosts := slices.Values(r.hosts)
	results := mp.ImapUnordered(ctx, pool, run, hosts, mp.Chunksize(1))
	if r.cfg.KeepOrder {
		results = mp.Imap(ctx, pool, run, hosts, mp.Chunksize(1))
	}
	for batch, err := range results {
		if err != nil {
			return err
		}
		for _, res := range batch {
			if res.skipped {
				continue
			}
			sum.Done++
			if !res.ok() {
				sum.Failed++
			}
			r.print(res)
		}
	}
	return nil
}

// sshJob makes a job's command for its slot's host: argv as it is for
// this machine (":"), else ssh running the job's line there, its files
// sent first; after, when not nil, fetches and cleans up once the job
// has ended. It sets the job log's Host.
func (r *Runner) sshJob(ctx context.Context, j *Job, slot int, res *result, argv []string) (_ []string, after func()) {
	cfg := r.cfg
	h := r.hostFor(slot)
	res.host = sshJobLabel(h)
	if h == nil || h.Local {
		return argv, nil
	}
	// the files' warnings go with the job's errors
	warn := io.Writer(&res.err2.buf)
	if cfg.Ungroup || cfg.LineBuffer {
		warn = &lockedWriter{w: cfg.Stderr, mu: &r.outMu}
	}
	files := r.sshFilesOf(j, slot)
	r.sshBasefiles(ctx, h, warn)
	r.sshSend(ctx, h, files.transfer, files.wd, warn)
	argv = r.sshArgv(h, r.remoteScript(h, j, slot, cfg.Template.Display(j, slot), files.wd))
	r.sshThrottle()
	return argv, func() { r.sshAfter(ctx, h, files, warn) }
}
