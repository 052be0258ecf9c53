package jobs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/mp-go/mp/internal/proc"
)

// The files of --transferfile, --return, --basefile and --cleanup travel
// as tar streams through ssh (GNU parallel uses rsync, which the hosts
// would need). A path is placed as GNU parallel's man page says:
//
//	/tmp/foo/bar   => /tmp/foo/bar
//	tmp/foo/bar    => WORKDIR/tmp/foo/bar
//	/tmp/./foo/bar => WORKDIR/foo/bar
//	tmp/./foo/bar  => WORKDIR/foo/bar

// sshFiles is a job's remote files: its working directory and the paths
// sent and to fetch, each made of the job's values.
type sshFiles struct {
	wd       string // "" for the login directory
	tmpWd    bool   // --workdir ...: a directory of its own, removed by --cleanup
	transfer []string
	ret      []string
}

// sshFilesOf makes the job's remote working directory and file names.
func (r *Runner) sshFilesOf(j *Job, slot int) sshFiles {
	s := r.cfg.SSH
	var f sshFiles
	switch s.Workdir {
	case "":
	case ".":
		// the local working directory, relative to $HOME when under it
		wd, _ := os.Getwd()
		home, _ := os.UserHomeDir()
		if rel, err := filepath.Rel(home, wd); home != "" && err == nil && !strings.HasPrefix(rel, "..") {
			if rel != "." {
				f.wd = rel
			}
		} else {
			f.wd = wd
		}
	case "...":
		f.wd, f.tmpWd = fmt.Sprintf(".parallel/tmp/mp-%d-%d", os.Getpid(), j.Seq), true
	default:
		f.wd = r.textOf(s.Workdir, j, slot)
	}
	for _, t := range s.Transfer {
		f.transfer = append(f.transfer, r.textOf(t, j, slot))
	}
	for _, t := range s.Return {
		f.ret = append(f.ret, r.textOf(t, j, slot))
	}
	return f
}

// textOf is a --transferfile, --return or --workdir template's text for
// the job, its values as they are.
func (r *Runner) textOf(s string, j *Job, slot int) string {
	r.mu.Lock()
	t, ok := r.sshTemplates[s]
	if !ok {
		t, _ = Parse([]string{s})
		if r.sshTemplates == nil {
			r.sshTemplates = map[string]*Template{}
		}
		r.sshTemplates[s] = t
	}
	r.mu.Unlock()
	if t == nil || t.appendArgs {
		return s
	}
	return t.Text(j, slot)
}

// placeOf splits a path into its local directory, its remote directory
// (for a job in wd) and the path relative to both.
func placeOf(p, wd string) (local, remote, rel string) {
	if wd == "" {
		wd = "."
	}
	if before, after, ok := strings.Cut(p, "/./"); ok {
		if before == "" {
			before = "/"
		}
		return before, wd, after
	}
	if strings.HasPrefix(p, "/") {
		return "/", "/", strings.TrimLeft(p, "/")
	}
	return ".", wd, strings.TrimPrefix(p, "./")
}

// sshSend sends local files to h (tar through ssh); a file that cannot
// be sent is reported on w and the job runs anyway, as GNU parallel's.
func (r *Runner) sshSend(ctx context.Context, h *sshHost, files []string, wd string, w io.Writer) {
	for _, p := range files {
		local, remote, rel := placeOf(p, wd)
		if _, err := os.Stat(filepath.Join(local, rel)); err != nil {
			fmt.Fprintf(w, "mp: Warning: cannot transfer %s to %s: %v\n", p, h.Login, err)
			continue
		}
		tar := exec.CommandContext(ctx, "tar", "cf", "-", "-C", local, "--", rel)
		proc.Configure(tar)
		var errb, tarErr bytes.Buffer // apart: tar and ssh write at once
		tar.Stderr = &tarErr
		pr, pw, err := os.Pipe()
		if err != nil {
			fmt.Fprintf(w, "mp: Warning: cannot transfer %s: %v\n", p, err)
			return
		}
		tar.Stdout = pw
		if err := tar.Start(); err != nil {
			pr.Close()
			pw.Close()
			fmt.Fprintf(w, "mp: Warning: cannot transfer %s: %v\n", p, err)
			return
		}
		pw.Close()
		q := remotePath(remote)
		err = r.sshRun(ctx, h, fmt.Sprintf("mkdir -p %s && tar xf - -C %s", q, q), pr, io.Discard, &errb)
		pr.Close()
		if terr := tar.Wait(); err == nil {
			err = terr
		}
		if err != nil {
			fmt.Fprintf(w, "mp: Warning: cannot transfer %s to %s: %v %s\n", p, h.Login, err, strings.TrimSpace(errb.String()+" "+tarErr.String()))
		}
	}
}

// sshFetch brings --return's files back from h.
func (r *Runner) sshFetch(ctx context.Context, h *sshHost, files []string, wd string, w io.Writer) {
	for _, p := range files {
		local, remote, rel := placeOf(p, wd)
		if err := os.MkdirAll(local, 0o755); err != nil {
			fmt.Fprintf(w, "mp: Warning: cannot return %s: %v\n", p, err)
			continue
		}
		tar := exec.CommandContext(ctx, "tar", "xf", "-", "-C", local)
		proc.Configure(tar)
		var errb, tarErr bytes.Buffer // apart: tar and ssh write at once
		tar.Stderr = &tarErr
		pr, pw, err := os.Pipe()
		if err != nil {
			fmt.Fprintf(w, "mp: Warning: cannot return %s: %v\n", p, err)
			return
		}
		tar.Stdin = pr
		if err := tar.Start(); err != nil {
			pr.Close()
			pw.Close()
			fmt.Fprintf(w, "mp: Warning: cannot return %s: %v\n", p, err)
			return
		}
		pr.Close()
		err = r.sshRun(ctx, h, fmt.Sprintf("cd %s && tar cf - -- %s", remotePath(remote), shellQuote(rel)), nil, pw, &errb)
		pw.Close()
		if terr := tar.Wait(); err == nil {
			err = terr
		}
		if err != nil {
			fmt.Fprintf(w, "mp: Warning: cannot return %s from %s: %v %s\n", p, h.Login, err, strings.TrimSpace(errb.String()+" "+tarErr.String()))
		}
	}
}

// sshCleanup is --cleanup: it removes the job's sent and fetched files on
// h, the directories that held them (up to the work dir and beyond) if
// empty, and a --workdir ...
func (r *Runner) sshCleanup(ctx context.Context, h *sshHost, f sshFiles, w io.Writer) {
	var b strings.Builder
	for _, p := range append(append([]string{}, f.transfer...), f.ret...) {
		_, remote, rel := placeOf(p, f.wd)
		full := path.Join(remote, rel) // "/" + rel when remote is "/"
		fmt.Fprintf(&b, "rm -f -- %s;", remotePath(full))
		// the directories that held it, the work dir included, if empty
		// (GNU parallel removes them too)
		if dir := path.Dir(full); dir != "." && dir != "/" {
			fmt.Fprintf(&b, "rmdir -p -- %s 2>/dev/null;", remotePath(dir))
		}
	}
	if f.tmpWd {
		fmt.Fprintf(&b, "rm -rf -- %s;", remotePath(f.wd))
	}
	if b.Len() == 0 {
		return
	}
	b.WriteString("true")
	var errb bytes.Buffer
	if err := r.sshRun(ctx, h, b.String(), nil, io.Discard, &errb); err != nil {
		fmt.Fprintf(w, "mp: Warning: --cleanup on %s: %v %s\n", h.Login, err, strings.TrimSpace(errb.String()))
	}
}

// sshBasefiles is --basefile: the files, sent once to each host before
// its first job (and removed by --cleanup at the end of the run).
func (r *Runner) sshBasefiles(ctx context.Context, h *sshHost, w io.Writer) {
	if len(r.cfg.SSH.Basefile) == 0 {
		return
	}
	h.based.Do(func() {
		h.sent.Store(true)
		wd := ""
		if r.cfg.SSH.Workdir != "..." {
			wd = r.sshFilesOf(&Job{}, 0).wd
		}
		r.sshSend(ctx, h, r.cfg.SSH.Basefile, wd, w)
	})
}

// sshCleanBasefiles removes the --basefile files from every host the run
// sent them to.
func (r *Runner) sshCleanBasefiles(ctx context.Context) {
	if len(r.cfg.SSH.Basefile) == 0 || !r.cfg.SSH.Cleanup {
		return
	}
	wd := ""
	if r.cfg.SSH.Workdir != "..." {
		wd = r.sshFilesOf(&Job{}, 0).wd
	}
	for _, h := range r.hosts {
		if h.Local {
			continue
		}
		if h.sent.Load() {
			r.sshCleanup(ctx, h, sshFiles{wd: wd, transfer: r.cfg.SSH.Basefile}, r.cfg.Stderr)
		}
	}
}

// sshJobLabel is a job's host for the job log: its sshlogin, ":" here.
func sshJobLabel(h *sshHost) string {
	if h == nil || h.Local {
		return ":"
	}
	return h.Login
}
