package jobs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
)

// SSH is -S/--sshlogin: the jobs run on these hosts through ssh, one ssh
// per job, as GNU parallel runs them. The command runs in the remote
// login shell; its output and exit status come back through ssh.
type SSH struct {
	Logins []SSHLogin
	// Command is --ssh (or $PARALLEL_SSH): the ssh command of the logins
	// that name none, read by /bin/sh (so it may hold options and
	// quotes); "" is "ssh".
	Command string
	// Jobs is -j as given ("", N, N%, +N, -N, 0): the job slots of each
	// host without N/, counted from that host's CPUs.
	Jobs  string
	Delay time.Duration // --sshdelay: between ssh starts
	// Workdir is --workdir on the remote hosts: "" for the login
	// directory, "." for the local working directory (relative to
	// $HOME when under it), "..." for a new directory under
	// ~/.parallel/tmp, else a path (replacement strings allowed).
	Workdir string
	// Env is --env: the local variables (or bash functions exported with
	// export -f) set in the remote command's environment.
	Env      []string
	Transfer []string // --transferfile: files (templates) sent before a job
	Return   []string // --return: files (templates) fetched after a job
	Basefile []string // --basefile: files sent to each host before its first job
	Cleanup  bool     // --cleanup: remove the sent and fetched files remotely
	// OnAll is --onall/--nonall: every job runs on every host, one at a
	// time per host; each host's output is printed together.
	OnAll bool
	// ControlMaster is --controlmaster (-M): one connection per host,
	// shared by the jobs' ssh (not for sshlogins with their own command).
	ControlMaster bool
}

// SSHLogin is one host of -S: [@groups/][N/][sshcommand ]login.
type SSHLogin struct {
	Login   string // as given, without @groups/ and N/: the job log's Host column
	Command string // the ssh command given with it; "" for SSH.Command
	Host    string // [user@]host: ssh's last argument
	Slots   int    // N/: jobs at once on it; 0 to count them from -j and its CPUs
	Local   bool   // ":": this machine, without ssh
}

// sshLoginRE splits [@groups/][N/]rest; GNU parallel reads a leading /
// as an empty N/, so "//usr/bin/ssh host" is "/usr/bin/ssh host".
var sshLoginRE = regexp.MustCompile(`^(?:@[^/]*/)?(?:(\d*)/)?(.*)$`)

// ParseSSHLogin reads one sshlogin as GNU parallel's -S does.
func ParseSSHLogin(s string) (SSHLogin, error) {
	s = strings.TrimSpace(s)
	m := sshLoginRE.FindStringSubmatch(s)
	l := SSHLogin{Login: strings.TrimSpace(m[2])}
	if m[1] != "" {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return l, fmt.Errorf("sshlogin %q: the N/ before the host must be a number of jobs above 0", s)
		}
		l.Slots = n
	}
	if strings.HasPrefix(l.Login, "@") || l.Login == "" {
		return l, fmt.Errorf("sshlogin %q: want [N/][sshcommand ][user@]host or :, such as 4/user@server (host groups are not supported)", s)
	}
	if l.Login == ":" {
		l.Local = true
		return l, nil
	}
	f := strings.Fields(l.Login)
	l.Host = f[len(f)-1]
	if len(f) > 1 {
		l.Command = strings.Join(f[:len(f)-1], " ")
	}
	if at := strings.LastIndexByte(l.Host, '@'); at > 0 && strings.Contains(l.Host[:at], ":") {
		return l, fmt.Errorf("sshlogin %q: passwords (user:password@host) are not supported; use a key (ssh-copy-id) or ssh-agent", s)
	}
	return l, nil
}

// ParseSSHLogins reads the value of one -S option: sshlogins separated by
// commas or newlines (\, and ,, are a comma); ".." reads
// ~/.parallel/sshloginfile and "-" the lines of stdin, as GNU parallel.
func ParseSSHLogins(value string, stdin io.Reader) ([]SSHLogin, error) {
	value = strings.ReplaceAll(strings.ReplaceAll(value, `\,`, "\x00"), ",,", "\x00")
	var out []SSHLogin
	for _, part := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == '\n' }) {
		part = strings.TrimSpace(strings.ReplaceAll(part, "\x00", ","))
		switch part {
		case "":
			continue
		case "..", "-":
			ls, err := ReadSSHLoginFile(part, stdin)
			if err != nil {
				return nil, err
			}
			out = append(out, ls...)
			continue
		}
		l, err := ParseSSHLogin(part)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// ReadSSHLoginFile is --sshloginfile: one sshlogin a line, # comments and
// empty lines ignored. ".." is ~/.parallel/sshloginfile (or
// $XDG_CONFIG_HOME/parallel/sshloginfile), "." /etc/parallel/sshloginfile
// and "-" standard input, as GNU parallel reads them.
func ReadSSHLoginFile(path string, stdin io.Reader) ([]SSHLogin, error) {
	var data []byte
	var err error
	switch path {
	case "-":
		if stdin == nil {
			return nil, errors.New("--sshloginfile -: no standard input")
		}
		data, err = io.ReadAll(stdin)
	case "..":
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".parallel", "sshloginfile")
		if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
			if _, serr := os.Stat(filepath.Join(x, "parallel", "sshloginfile")); serr == nil {
				path = filepath.Join(x, "parallel", "sshloginfile")
			}
		}
		data, err = os.ReadFile(path)
	case ".":
		path = "/etc/parallel/sshloginfile"
		data, err = os.ReadFile(path)
	default:
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--sshloginfile %s: %w", path, err)
	}
	var out []SSHLogin
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		l, err := ParseSSHLogin(line)
		if err != nil {
			return nil, fmt.Errorf("--sshloginfile %s:%d: %w", path, n, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// SlotsFor is -j for a host with cpus CPUs: N, N%, +N, -N, 0 (as many as
// possible: 256) or "" (one a CPU).
func SlotsFor(spec string, cpus int) (int, error) {
	bad := fmt.Errorf("-j %q: want N, N%%, +N, -N or 0", spec)
	if spec == "" {
		return max(cpus, 1), nil
	}
	if p, ok := strings.CutSuffix(spec, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 {
			return 0, bad
		}
		return max(int(float64(cpus)*f/100), 1), nil
	}
	n, err := strconv.Atoi(spec)
	switch {
	case err != nil:
		return 0, bad
	case strings.HasPrefix(spec, "+"), strings.HasPrefix(spec, "-"):
		return max(cpus+n, 1), nil
	case n == 0:
		return 256, nil
	}
	return n, nil
}

// sshHost is a resolved sshlogin: its job slots are first..first+slots-1.
type sshHost struct {
	SSHLogin
	first, slots int
	based        sync.Once   // --basefile sent, once
	sent         atomic.Bool // --basefile sent: --cleanup removes it at the end
}

// resolveHosts counts each host's job slots (asking the host for its
// CPUs where -j is relative to them, as GNU parallel does) and gives
// each host a range of slots; it returns the number of slots in all.
func (r *Runner) resolveHosts(ctx context.Context) (int, error) {
	s := r.cfg.SSH
	if len(s.Logins) == 0 {
		return 0, errors.New("-S: no sshlogin given (want host, user@host, N/host or :)")
	}
	fixed, err := strconv.Atoi(s.Jobs)
	relative := err != nil || strings.HasPrefix(s.Jobs, "+") || strings.HasPrefix(s.Jobs, "-") || fixed == 0
	hosts := make([]*sshHost, len(s.Logins))
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, l := range s.Logins {
		h := &sshHost{SSHLogin: l, slots: l.Slots}
		hosts[i] = h
		if h.slots > 0 {
			continue
		}
		if !relative {
			h.slots = fixed
			continue
		}
		if h.Local {
			h.slots, errs[i] = SlotsFor(s.Jobs, mp.CPUCount())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cpus := r.remoteCPUs(ctx, h)
			h.slots, errs[i] = SlotsFor(s.Jobs, cpus)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	total := 0
	for _, h := range hosts {
		h.first = total + 1
		total += h.slots
	}
	r.hosts = hosts
	return total, nil
}

// remoteCPUs asks a host for its number of CPUs; 1, with a warning, when
// it cannot be told (GNU parallel does the same).
func (r *Runner) remoteCPUs(ctx context.Context, h *sshHost) int {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	err := r.sshRun(ctx, h, "getconf _NPROCESSORS_ONLN 2>/dev/null || nproc", nil, &out, &errb)
	n, perr := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil || perr != nil || n < 1 {
		fmt.Fprintf(r.cfg.Stderr, "mp: Warning: Could not figure out the number of CPUs on %s (%s): using 1 job slot there.\n",
			h.Login, strings.TrimSpace(errb.String()+" "+errString(err)))
		return 1
	}
	return n
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// hostFor is the host of a job slot; nil without -S.
func (r *Runner) hostFor(slot int) *sshHost {
	for _, h := range r.hosts {
		if slot >= h.first && slot < h.first+h.slots {
			return h
		}
	}
	return nil
}

// sshCommand is the ssh command of h, for /bin/sh.
func (r *Runner) sshCommand(h *sshHost) string {
	switch {
	case h.Command != "":
		return h.Command
	case r.cfg.SSH.Command != "":
		return r.cfg.SSH.Command
	}
	return "ssh"
}

// sshArgv is the local command that runs script on h: ssh, through
// /bin/sh so that the ssh command may hold options and quotes.
func (r *Runner) sshArgv(h *sshHost, script string) []string {
	argv := []string{"/bin/sh", "-c", "exec " + r.sshCommand(h) + ` "$@"`, "sh"}
	if cp := r.controlPath(h); cp != "" {
		argv = append(argv, "-o", "ControlPath="+cp, "-o", "ControlMaster=no")
	}
	return append(argv, h.Host, "--", script)
}

// sshRun runs script on h and waits for it.
func (r *Runner) sshRun(ctx context.Context, h *sshHost, script string, stdin io.Reader, stdout, stderr io.Writer) error {
	r.sshThrottle()
	argv := r.sshArgv(h, script)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	proc.Configure(cmd)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if stdin == nil {
		cmd.Stdin = r.devNull
	}
	return cmd.Run()
}

// sshThrottle is --sshdelay: it waits until Delay has passed since the
// last ssh started.
func (r *Runner) sshThrottle() {
	d := r.cfg.SSH.Delay
	if d <= 0 {
		return
	}
	r.sshMu.Lock()
	defer r.sshMu.Unlock()
	if wait := time.Until(r.sshLast.Add(d)); !r.sshLast.IsZero() && wait > 0 {
		select {
		case <-time.After(wait):
		case <-r.term:
		}
	}
	r.sshLast = time.Now()
}

// remoteScript is the shell script a job runs on h: GNU parallel's
// variables, --env's, the working directory, then the command line.
func (r *Runner) remoteScript(h *sshHost, j *Job, slot int, line, wd string) string {
	var b strings.Builder
	set := func(name, value string) {
		fmt.Fprintf(&b, "%s=%s;export %s;", name, shellQuote(value), name)
	}
	set("PARALLEL_SEQ", strconv.Itoa(j.Seq))
	set("PARALLEL_JOBSLOT", strconv.Itoa(slot))
	set("PARALLEL_SSHLOGIN", h.Login)
	set("PARALLEL_SSHHOST", h.Host)
	for _, name := range r.cfg.SSH.Env {
		if fn, ok := os.LookupEnv("BASH_FUNC_" + name + "%%"); ok {
			// a bash function exported with export -f
			fmt.Fprintf(&b, "%s %s\nexport -f %s >/dev/null 2>&1;", name, fn, name)
			continue
		}
		if v, ok := os.LookupEnv(name); ok {
			set(name, v)
		}
	}
	if wd != "" {
		q := remotePath(wd)
		fmt.Fprintf(&b, "mkdir -p %s && cd %s || exit 255;", q, q)
	}
	// The command runs in a subshell (its wait and exit are its own);
	// a watcher kills the session's process group when ssh's connection
	// is gone (mp killed the ssh: --timeout, --halt now, Ctrl-C), as GNU
	// parallel's remote wrapper does: nothing is left running there.
	b.WriteString("\n" + remoteWatcher + "\n_mp_w=$!\n(\n")
	b.WriteString(line)
	b.WriteString("\n)\n_mp_s=$?;kill $_mp_w 2>/dev/null;exit $_mp_s")
	return b.String()
}

// remoteWatcher polls the remote shell's parent (sshd's session): once it
// has gone, it sends SIGTERM to the shell's process group (sshd made it a
// group leader), then SIGKILL.
const remoteWatcher = `(trap '' TERM;while kill -0 $PPID 2>/dev/null;do sleep 1;done;kill -TERM -$$;sleep 2;kill -KILL -$$) </dev/null >/dev/null 2>&1 &`

// remotePath quotes a remote path for the shell, leaving a leading ~/
// for the shell to expand.
func remotePath(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return `~/` + shellQuote(rest)
	}
	return shellQuote(p)
}
