package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/jobs"
	"github.com/spf13/pflag"
)

// The options of mp run and mp groupby are parsed as GNU parallel's are
// (Perl's Getopt::Long with bundling and require_order): -j4, -j 4,
// --jobs 4, --jobs=4, bundled short options (-kvj4), options only
// before the command. mp's own single-dash long options (-timeout 5s,
// -halt now,fail=1) keep working: see legacyLong.

// aliases are GNU parallel's other spellings of an option, each mapped to
// the name mp registers.
var aliases = map[string]string{
	"jl":            "joblog",
	"dryrun":        "dry-run",
	"lb":            "line-buffer",
	"linebuffer":    "line-buffer",
	"halt-on-error": "halt",
	"xapply":        "link",
	"keeporder":     "keep-order",
	"retry":         "retries",
	"wd":            "workdir",
	"res":           "results",
	"er":            "extensionreplace",
	"bnr":           "basenamereplace",
	"dnr":           "dirnamereplace",
	"bner":          "basenameextensionreplace",
	"slf":           "sshloginfile",
	"tf":            "transferfile",
	"ssh-delay":     "sshdelay",
	"bf":            "basefile",
	"roundrobin":    "round-robin",
	"round":         "round-robin",
}

func normalize(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	if a, ok := aliases[name]; ok {
		return pflag.NormalizedName(a)
	}
	return pflag.NormalizedName(name)
}

// common are the options of both subcommands.
type common struct {
	jobs       string
	keep       bool
	lineBuffer bool
	tag        bool
	timeout    string
	retries    string
	retryOn    string
	retryDelay time.Duration
	halt       string
	joblog     string
	resume     bool
	resumeFail bool
	json       string
	bar, eta   bool
	dryRun     bool
	grace      time.Duration
	cluster    string
	dashboard  string
	verbose    bool
	trace      bool
	ungroup    bool
	tagstring  string
	delay      string
	memfree    string
	load       string
}

func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetInterspersed(false) // options end at the command, as GNU parallel's
	fs.SetNormalizeFunc(normalize)
	fs.SortFlags = false
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	return fs
}

func (c *common) register(fs *pflag.FlagSet) {
	fs.StringVarP(&c.jobs, "jobs", "j", "", "run `N` jobs at once: N, N% of the CPUs, +N or -N CPUs, 0 for as many as possible, or a FILE holding one of those (default: the CPUs this process may use); also -P, --max-procs")
	fs.StringVarP(&c.jobs, "max-procs", "P", "", "the same as -j")
	fs.MarkHidden("max-procs")
	fs.BoolVarP(&c.keep, "keep-order", "k", false, "keep order: print each job's output once every earlier job's has been printed")
	fs.BoolVar(&c.lineBuffer, "line-buffer", false, "print output line by line as it comes instead of job by job (lines never mix; with -k the output is in job order, job by job); also --lb")
	fs.BoolVarP(&c.ungroup, "ungroup", "u", false, "pass output through as it comes, unbuffered: lines of jobs may mix")
	fs.BoolVar(&c.tag, "tag", false, "prefix each output line with the job's arguments and a tab")
	fs.StringVar(&c.tagstring, "tagstring", "", "prefix each output line with `STR` (replacement strings allowed) and a tab")
	fs.BoolVarP(&c.verbose, "v", "v", false, "print each job's command on standard output before its output")
	fs.BoolVarP(&c.trace, "verbose", "t", false, "print each job's command on standard error as it starts (GNU parallel's -t)")
	fs.StringVar(&c.timeout, "timeout", "", "kill a job after `D` (seconds, a duration such as 30s, or N% of the median time of the jobs done so far); SIGTERM, then SIGKILL after --grace")
	fs.StringVar(&c.retries, "retries", "", "run a failing job up to `N` times in all (GNU parallel's meaning), with exponential backoff and jitter; N may be a replacement string such as {2}, read for each job")
	fs.StringVar(&c.retryOn, "retry-on", "", "retry only jobs that exit with one of these `CODES` (comma-separated); default: any failure")
	fs.DurationVar(&c.retryDelay, "retry-delay", 100*time.Millisecond, "first backoff between tries; it doubles (up to 10s), with jitter")
	fs.StringVar(&c.halt, "halt", "", "stop early: `now|soon,fail|success|done=N|N%`, or 0, 1, 2, -1, -2 (now kills running jobs, soon lets them finish); also --halt-on-error")
	fs.StringVar(&c.joblog, "joblog", "", "write a job log to `FILE` (GNU parallel's tab-separated columns; +FILE appends, - is standard output), each line once its job has ended; also --jl")
	fs.BoolVar(&c.resume, "resume", false, "skip the jobs already in the --joblog file (matched by their command, not their number)")
	fs.BoolVar(&c.resumeFail, "resume-failed", false, "skip the jobs that succeeded in the --joblog file; run the others again")
	fs.StringVar(&c.delay, "delay", "", "wait `D` (seconds or a duration) between job starts")
	fs.StringVar(&c.memfree, "memfree", "", "start a job only when `SIZE` bytes of memory are available (MemAvailable, or the cgroup v2 room when smaller; suffixes k, M, G); under half of SIZE the youngest job is killed and run again later, as in GNU parallel (a job alone always runs)")
	fs.StringVar(&c.load, "load", "", "start a job only while the load average is under `N` (or N% of the CPUs)")
	fs.StringVar(&c.json, "json", "", "write start, retry and finish events as JSON lines to `FILE`")
	fs.BoolVar(&c.bar, "bar", false, "show a progress bar on standard error")
	fs.BoolVar(&c.eta, "eta", false, "show the estimated time left (on the progress bar)")
	fs.StringVar(&c.dashboard, "dashboard", "", "serve a live web page of the run at `ADDR` ([HOST]:PORT; :8080 is loopback only, 0.0.0.0:8080 every interface): progress, ETA, jobs/s, each job slot's job and memory, the failed jobs")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the commands instead of running them; also --dryrun")
	fs.DurationVar(&c.grace, "grace", 2*time.Second, "time between SIGTERM and SIGKILL for a job being stopped")
	fs.StringVar(&c.cluster, "cluster", "", "run the jobs on the workers of the NATS cluster at `URL` (`mp worker -connect URL` on each host; `mp server` is a server); -j jobs are in flight at once")
	// GNU parallel's options that change nothing here
	for _, name := range []string{"will-cite", "no-notice", "group", "progress", "silent"} {
		fs.Bool(name, false, "accepted for GNU parallel's sake; no effect")
		fs.MarkHidden(name)
	}
}

// parseJobs reads -j as GNU parallel does: N, N% of the CPUs, +N and -N
// CPUs, 0 for as many as possible.
func parseJobs(s string) (int, error) { return parseJobsFrom(s, true) }

// parseJobsFrom is parseJobs; file says whether s may name a file that
// holds the value (-j FILE, one level only).
func parseJobsFrom(s string, file bool) (int, error) {
	cpus := mp.CPUCount()
	if s == "" {
		return cpus, nil
	}
	bad := fmt.Errorf("-j %q: want N, N%%, +N, -N or 0", s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 {
			return 0, bad
		}
		return max(int(float64(cpus)*f/100), 1), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		if b, ferr := os.ReadFile(s); ferr == nil && file {
			// -j FILE: the number in the file (read once, at the start)
			return parseJobsFrom(strings.TrimSpace(string(b)), false)
		}
		return 0, bad // GNU parallel refuses -j 1.5 too
	}
	switch {
	case strings.HasPrefix(s, "+"), strings.HasPrefix(s, "-"):
		return max(cpus+n, 1), nil
	case n == 0:
		return maxJobs, nil
	}
	return n, nil
}

// maxJobs is -j 0: as many jobs at once as possible. GNU parallel stops
// at what the file descriptors allow; mp at 256, which a 2-core machine
// already cannot use.
const maxJobs = 256

// parseSeconds reads a time as GNU parallel gives it (seconds, such as
// 1.5, or with GNU's postfixes s, m, h, d: 1d2h) or as a Go duration
// (1m30s).
func parseSeconds(opt, s string) (time.Duration, error) {
	if days, rest, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		var d time.Duration
		if err == nil && rest != "" {
			d, err = parseSeconds(opt, rest)
		}
		if err != nil || n < 0 {
			return 0, fmt.Errorf("--%s %q: want seconds (1.5) or a duration (1m30s, 1d2h)", opt, s)
		}
		return time.Duration(n*float64(24*time.Hour)) + d, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	secs, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64)
	if err != nil || secs < 0 {
		return 0, fmt.Errorf("--%s %q: want seconds (1.5) or a duration (1m30s)", opt, s)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// parseSize reads --memfree's size: bytes, or with k, M, G, T.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	if s != "" {
		switch strings.ToLower(s[len(s)-1:]) {
		case "k":
			mult = 1 << 10
		case "m":
			mult = 1 << 20
		case "g":
			mult = 1 << 30
		case "t":
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("--memfree %q: want a size such as 500M or 2G", s)
	}
	return int64(f * float64(mult)), nil
}

// config turns the options into the runner's configuration.
func (c *common) config(t *jobs.Template, stdout, stderr io.Writer) (jobs.Config, error) {
	n, err := parseJobs(c.jobs)
	cfg := jobs.Config{
		Template: t, Jobs: n, KeepOrder: c.keep, LineBuffer: c.lineBuffer && !c.keep, Tag: c.tag,
		RetryDelay: c.retryDelay, JobLog: c.joblog, Resume: c.resume,
		ResumeFail: c.resumeFail, JSON: c.json, Bar: c.bar || c.eta, DryRun: c.dryRun,
		Grace: c.grace, Shell: shellOf(), Stdout: stdout, Stderr: stderr,
		ClusterURL: c.cluster, Dashboard: c.dashboard, Verbose: c.verbose, Trace: c.trace, Ungroup: c.ungroup, TagString: strings.ReplaceAll(c.tagstring, `\t`, "\t"),
	}
	if err != nil {
		return cfg, err
	}
	if s, ok := strings.CutSuffix(c.timeout, "%"); ok {
		pct, err := strconv.ParseFloat(s, 64)
		if err != nil || pct <= 0 {
			return cfg, fmt.Errorf("--timeout %q: want seconds, a duration such as 30s or a percentage such as 200%%", c.timeout)
		}
		cfg.TimeoutPct = pct
	} else if c.timeout != "" {
		d, err := parseSeconds("timeout", c.timeout)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("--timeout %q: want seconds, a duration such as 30s or a percentage such as 200%%", c.timeout)
		}
		cfg.Timeout = d
	}
	if c.retries != "" {
		if cfg.Tries, err = strconv.Atoi(c.retries); err != nil || cfg.Tries < 0 {
			if !strings.Contains(c.retries, "{") {
				return cfg, fmt.Errorf("--retries %q: want a number of tries such as 3, or a replacement string such as {2}", c.retries)
			}
			cfg.Tries, cfg.TriesText = 0, c.retries // GNU parallel reads it for each job
		}
	}
	if c.retryOn != "" {
		for _, f := range strings.Split(c.retryOn, ",") {
			code, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return cfg, fmt.Errorf("--retry-on %q: want exit statuses such as 1,75", c.retryOn)
			}
			cfg.RetryOn = append(cfg.RetryOn, code)
		}
	}
	if c.halt != "" {
		if cfg.Halt, err = parseHalt(c.halt); err != nil {
			return cfg, err
		}
	}
	if c.delay != "" {
		if cfg.Delay, err = parseSeconds("delay", c.delay); err != nil {
			return cfg, err
		}
	}
	if c.memfree != "" {
		if cfg.MemFree, err = parseSize(c.memfree); err != nil {
			return cfg, err
		}
	}
	if c.load != "" {
		s, pct := strings.CutSuffix(c.load, "%")
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 {
			return cfg, fmt.Errorf("--load %q: want a load average such as 4 or a percentage of the CPUs such as 80%%", c.load)
		}
		if pct {
			f = f * float64(mp.CPUCount()) / 100
		}
		cfg.Load = f
	}
	return cfg, nil
}

// parseHalt reads GNU parallel's --halt: when,why=N or N%, or the old
// numbers 0, 1, 2, -1, -2 and 1-99%.
func parseHalt(s string) (jobs.Halt, error) {
	bad := fmt.Errorf("--halt %q: want now|soon,fail|success|done=N or N%%, such as now,fail=1 or soon,fail=10%%, or 0, 1, 2, -1, -2", s)
	switch s {
	case "0", "never":
		return jobs.Halt{}, nil
	case "1":
		return jobs.Halt{N: 1}, nil
	case "2":
		return jobs.Halt{Now: true, N: 1}, nil
	case "-1":
		return jobs.Halt{Success: true, N: 1}, nil
	case "-2":
		return jobs.Halt{Now: true, Success: true, N: 1}, nil
	}
	if strings.HasSuffix(s, "%") && !strings.Contains(s, ",") {
		s = "soon,fail=" + s
	}
	when, rest, ok := strings.Cut(s, ",")
	if !ok || (when != "now" && when != "soon") {
		return jobs.Halt{}, bad
	}
	on, n, ok := strings.Cut(rest, "=")
	if !ok || (on != "fail" && on != "success" && on != "done") {
		return jobs.Halt{}, bad
	}
	h := jobs.Halt{Now: when == "now", Success: on == "success", Done: on == "done"}
	if p, ok := strings.CutSuffix(n, "%"); ok {
		pct, err := strconv.ParseFloat(p, 64)
		if err != nil || pct <= 0 || pct > 100 {
			return jobs.Halt{}, bad
		}
		h.Pct = pct
	} else {
		k, err := strconv.Atoi(n)
		if err != nil || k < 1 {
			return jobs.Halt{}, bad
		}
		h.N = k
	}
	return h, nil
}

// legacyLong rewrites mp's single-dash long options (-timeout 5s) as
// double-dash ones, so that GNU's bundling of short options (-kj4) and
// mp's old spelling both work. Only the options before the command are
// looked at; a word whose name is not a long option is left as it is.
func legacyLong(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return append(out, args[i:]...)
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		long := strings.HasPrefix(a, "--")
		if long {
			if full := abbrev(fs, name); full != name {
				name, a = full, "--"+full
				if hasValue {
					a += "=" + value
				}
			}
		}
		if !long && len(name) > 1 {
			if f := fs.Lookup(string(normalize(fs, name))); f != nil {
				a, long = "-"+a, true
			}
		}
		out = append(out, a)
		if long {
			if f := fs.Lookup(string(normalize(fs, name))); f != nil && f.NoOptDefVal == "" && !hasValue && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		// a bundle of short options: the first that takes a value ends it
		for k := 1; k < len(a); k++ {
			f := fs.ShorthandLookup(a[k : k+1])
			if f == nil {
				break
			}
			if f.NoOptDefVal != "" && f.Value.Type() != "bool" {
				// an optional number (-l, -l4, -l 4), as Getopt::Long reads it
				if rest := a[k+1:]; rest != "" && isDigits(rest) {
					out[len(out)-1] = a[:k+1] + "=" + rest
				} else if k == len(a)-1 && i+1 < len(args) && isDigits(args[i+1]) {
					i++
					out[len(out)-1] = a + "=" + args[i]
				}
				break
			}
			if f.NoOptDefVal == "" {
				if k == len(a)-1 && i+1 < len(args) {
					i++
					out = append(out, args[i])
				}
				break
			}
		}
	}
	return out
}

// isDigits says whether s is a number without a sign.
func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// abbrev expands a unique prefix of a long option's name, as
// Getopt::Long does for GNU parallel (--keep-o is --keep-order); other
// names are returned as they are.
func abbrev(fs *pflag.FlagSet, name string) string {
	if name == "" || fs.Lookup(string(normalize(fs, name))) != nil {
		return name
	}
	if found := prefixed(fs, name); len(found) == 1 {
		return found[0]
	}
	return name
}

// prefixed returns the options (by their registered names) that a long
// name starting with prefix may mean, sorted.
func prefixed(fs *pflag.FlagSet, prefix string) []string {
	found := map[string]bool{}
	match := func(n string) {
		if strings.HasPrefix(n, prefix) {
			found[string(normalize(fs, n))] = true
		}
	}
	fs.VisitAll(func(f *pflag.Flag) { match(f.Name) })
	for alias := range aliases {
		match(alias)
	}
	return slices.Sorted(maps.Keys(found))
}

// parseFlags parses args into fs; on a usage error it prints one line
// naming the bad option and the hint, and returns the exit status (255;
// 0 for --help, after help printed it).
func parseFlags(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer, name, help string) (int, bool) {
	err := fs.Parse(legacyLong(fs, args))
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(stdout, help)
		printOptions(fs, stdout)
		return 0, false
	}
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), "flag", "option")
		if name, ok := strings.CutPrefix(msg, "unknown option: --"); ok {
			if many := prefixed(fs, name); len(many) > 1 {
				msg = fmt.Sprintf("option --%s is ambiguous (--%s)", name, strings.Join(many, ", --"))
			}
		}
		fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", name, msg, name)
		return 255, false
	}
	return 0, true
}

// printOptions lists the visible options, GNU style.
func printOptions(fs *pflag.FlagSet, w io.Writer) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name, usage := pflag.UnquoteUsage(f)
		head := "      --" + f.Name
		switch {
		case f.Shorthand != "" && f.Name == f.Shorthand:
			head = "  -" + f.Shorthand
		case f.Shorthand != "":
			head = "  -" + f.Shorthand + ", --" + f.Name
		}
		if name != "" && f.NoOptDefVal == "" {
			head += " " + name
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "%s\n      \t%s\n", head, usage)
	})
}
