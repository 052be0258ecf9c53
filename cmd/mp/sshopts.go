package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mp-go/mp/internal/jobs"
	"github.com/spf13/pflag"
)

// sshOpts are mp run's options for running the jobs on other hosts
// through ssh, as GNU parallel's -S.
type sshOpts struct {
	logins     []string
	loginFiles []string
	ssh        string
	delay      string
	nonall     bool
	onall      bool
	transferTo []string
	transfer   bool
	returns    []string
	cleanup    bool
	trc        []string
	basefiles  []string
	master     bool
}

func (s *sshOpts) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&s.logins, "sshlogin", "S", nil, "run the jobs on these hosts through ssh: `[N/][sshcommand ][user@]host` (N jobs at once there; : is this machine), several separated by commas or repeated; .. reads ~/.parallel/sshloginfile, - standard input")
	fs.StringArrayVar(&s.loginFiles, "sshloginfile", nil, "read sshlogins from `FILE`, one a line (# comments); .. is ~/.parallel/sshloginfile, - standard input; also --slf")
	fs.StringVar(&s.ssh, "ssh", "", "the ssh `COMMAND` for -S hosts (options allowed, such as 'ssh -p 2222'; default $PARALLEL_SSH or ssh)")
	fs.StringVar(&s.delay, "sshdelay", "", "wait `D` seconds between ssh starts; also --ssh-delay")
	fs.BoolVar(&s.nonall, "nonall", false, "run the command, without arguments, once on every -S host")
	fs.BoolVar(&s.onall, "onall", false, "run every job on every -S host, one at a time on each; each host's output printed together")
	fs.StringArrayVar(&s.transferTo, "transferfile", nil, "send `FILE` (replacement strings allowed) to the -S host before the job, relative to --workdir (/./ cuts the path); also --tf")
	fs.BoolVar(&s.transfer, "transfer", false, "the same as --transferfile {}")
	fs.StringArrayVar(&s.returns, "return", nil, "fetch `FILE` (replacement strings allowed) from the -S host after the job")
	fs.BoolVar(&s.cleanup, "cleanup", false, "remove the sent and fetched files from the -S host after the job")
	fs.StringArrayVar(&s.trc, "trc", nil, "--transfer --return `FILE` --cleanup")
	fs.BoolVarP(&s.master, "controlmaster", "M", false, "one ssh connection per -S host for the whole run, shared by the jobs (ssh's ControlMaster; not for sshlogins with their own ssh command)")
	fs.StringArrayVar(&s.basefiles, "basefile", nil, "send `FILE` to each -S host before its first job (removed at the end with --cleanup); also --bf")
}

// plusHost gives --plus's {host} and {sshlogin} their GNU parallel
// meaning: the text ${PARALLEL_SSHHOST} and ${PARALLEL_SSHLOGIN}, which
// the job's shell expands (GNU defines them so, with --rpl). only says
// they were the only replacement strings: as with any replacement
// string, the arguments are not appended then.
func plusHost(words []string) (out []string, only bool) {
	r := strings.NewReplacer("{host}", "${PARALLEL_SSHHOST}", "{sshlogin}", "${PARALLEL_SSHLOGIN}")
	strip := strings.NewReplacer("{host}", "", "{sshlogin}", "")
	out = make([]string, len(words))
	found, other := false, false
	for i, w := range words {
		out[i] = r.Replace(w)
		found = found || out[i] != w
		other = other || strings.Contains(strip.Replace(w), "{")
	}
	return out, found && !other
}

// apply sets cfg.SSH from the options; workdir and env are --workdir's
// and --env's values. Without -S the file options do nothing, as in GNU
// parallel.
func (s *sshOpts) apply(cfg *jobs.Config, jobsSpec, workdir string, env []string, stdin io.Reader) error {
	if len(s.logins) == 0 && len(s.loginFiles) == 0 {
		if s.onall || s.nonall {
			return errors.New("--onall and --nonall need hosts: give them with -S or --sshloginfile")
		}
		return nil
	}
	if cfg.ClusterURL != "" {
		return errors.New("-S and --cluster both say where the jobs run: give one of them")
	}
	ssh := &jobs.SSH{Command: s.ssh, Workdir: workdir, Env: env, Cleanup: s.cleanup, OnAll: s.onall || s.nonall,
		Return: s.returns, Transfer: s.transferTo, Basefile: s.basefiles, ControlMaster: s.master}
	if ssh.Command == "" {
		ssh.Command = os.Getenv("PARALLEL_SSH")
	}
	for _, v := range s.logins {
		ls, err := jobs.ParseSSHLogins(v, stdin)
		if err != nil {
			return fmt.Errorf("-S: %w", err)
		}
		ssh.Logins = append(ssh.Logins, ls...)
	}
	for _, f := range s.loginFiles {
		ls, err := jobs.ReadSSHLoginFile(f, stdin)
		if err != nil {
			return err
		}
		ssh.Logins = append(ssh.Logins, ls...)
	}
	if len(ssh.Logins) == 0 {
		return errors.New("-S/--sshloginfile: no sshlogin given (want host, user@host, N/host or :)")
	}
	if s.transfer || len(s.trc) > 0 {
		ssh.Transfer = append(ssh.Transfer, "{}")
	}
	if len(s.trc) > 0 {
		ssh.Return = append(ssh.Return, s.trc...)
		ssh.Cleanup = true
	}
	for _, name := range env {
		if name == "_" {
			return errors.New("--env _ (every variable but ~/.parallel/ignored_vars) is not supported: name the variables, --env A --env B")
		}
	}
	if s.delay != "" {
		d, err := parseSeconds("sshdelay", s.delay)
		if err != nil {
			return err
		}
		ssh.Delay = d
	}
	// -j for each host: as given, or the number a -j FILE held
	ssh.Jobs = jobsSpec
	if _, err := jobs.SlotsFor(jobsSpec, 1); err != nil {
		ssh.Jobs = strconv.Itoa(cfg.Jobs)
	}
	cfg.SSH = ssh
	// --workdir's special values are for the remote hosts; jobs on :
	// run in the current directory then
	if workdir == "." || workdir == "..." || strings.Contains(workdir, "{") {
		cfg.Dir = ""
	}
	return nil
}
