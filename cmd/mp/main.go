// Command mp runs a command over many inputs in parallel, as GNU parallel
// does, and over the groups of a CSV file:
//
//	mp run [options] COMMAND [::: ARGS...] [:::: FILES...]
//	mp groupby --by COL[,COL] [options] [FILE|-] -- COMMAND
//	mp server [options]
//
// mp server runs a NATS server with JetStream for mp.Cluster pools and
// their workers on several hosts. Run "mp help", "mp run -h", "mp groupby
// -h" or "mp server -h" for the options.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/jobs"
)

const usage = `mp runs commands in parallel.

Usage:
  mp run [options] COMMAND [::: ARGS...] [:::+ ARGS...] [:::: FILES...] [::::+ FILES...]
  mp groupby --by COL[,COL] [options] [FILE|-] -- COMMAND
  mp server [options]
  mp worker -connect URL
  mp help

mp run runs COMMAND once per input, like GNU parallel. Inputs are the ARGS
after ::: (several ::: give every combination; :::+ pairs with the source
before), the lines of FILES after :::: or -a, or the lines of standard input.

mp groupby reads a CSV file (header row, RFC 4180 quoting), groups its rows
by the key columns (groups need not be adjacent) and runs COMMAND once per
group with the group's rows, as CSV with the header, on standard input.

mp server runs a NATS server with JetStream for mp.Cluster pools and their
workers on several hosts; mp worker -connect URL runs the jobs of
mp run -cluster URL (and mp groupby -cluster URL) on this host.

Run "mp run -h", "mp groupby -h" or "mp server -h" for the options.
`

func main() {
	mp.Main()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the command, apart from the process: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 255
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stdin, stdout, stderr)
	case "groupby":
		return groupbyCmd(args[1:], stdin, stdout, stderr)
	case "server":
		return serverCmd(args[1:], stdout, stderr)
	case "worker":
		return workerCmd(args[1:], stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "mp: unknown command %q\n\n%s", args[0], usage)
	return 255
}

// common are the options of both subcommands.
type common struct {
	jobs       int
	keep       bool
	lineBuffer bool
	tag        bool
	timeout    string
	retries    int
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
}

func (c *common) register(fs *flag.FlagSet) {
	fs.IntVar(&c.jobs, "j", mp.CPUCount(), "run `N` jobs at once (default: the CPUs this process may use)")
	fs.BoolVar(&c.keep, "k", false, "keep order: print each job's output once every earlier job's has been printed")
	fs.BoolVar(&c.lineBuffer, "line-buffer", false, "print output line by line as it comes instead of job by job (lines never mix; -k then orders nothing)")
	fs.BoolVar(&c.tag, "tag", false, "prefix each output line with the job's arguments and a tab")
	fs.StringVar(&c.timeout, "timeout", "", "kill a job after `D` (a duration such as 30s, or N% of the median time of the jobs done so far); SIGTERM, then SIGKILL after -grace")
	fs.IntVar(&c.retries, "retries", 0, "run a failing job up to `N` times in all (GNU parallel's meaning), with exponential backoff and jitter")
	fs.StringVar(&c.retryOn, "retry-on", "", "retry only jobs that exit with one of these `CODES` (comma-separated); default: any failure")
	fs.DurationVar(&c.retryDelay, "retry-delay", 100*time.Millisecond, "first backoff between tries; it doubles (up to 10s), with jitter")
	fs.StringVar(&c.halt, "halt", "", "stop early: `now|soon,fail|success=N|N%` (now kills running jobs, soon lets them finish)")
	fs.StringVar(&c.joblog, "joblog", "", "write a job log to `FILE` (GNU parallel's tab-separated columns), each line once its job has ended (jobs stopped by Ctrl-C or -halt now are not logged: -resume runs them again)")
	fs.BoolVar(&c.resume, "resume", false, "skip the jobs already in the -joblog file (matched by their command, not their number)")
	fs.BoolVar(&c.resumeFail, "resume-failed", false, "skip the jobs that succeeded in the -joblog file; run the others again")
	fs.StringVar(&c.json, "json", "", "write start, retry and finish events as JSON lines to `FILE`")
	fs.BoolVar(&c.bar, "bar", false, "show a progress bar on standard error")
	fs.BoolVar(&c.eta, "eta", false, "show the estimated time left (on the progress bar)")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the commands instead of running them")
	fs.DurationVar(&c.grace, "grace", 2*time.Second, "time between SIGTERM and SIGKILL for a job being stopped")
	fs.StringVar(&c.cluster, "cluster", "", "run the jobs on the workers of the NATS cluster at `URL` (`mp worker -connect URL` on each host; `mp server` is a server); -j jobs are in flight at once")
}

// config turns the options into the runner's configuration.
func (c *common) config(t *jobs.Template, stdout, stderr io.Writer) (jobs.Config, error) {
	cfg := jobs.Config{
		Template: t, Jobs: c.jobs, KeepOrder: c.keep, LineBuffer: c.lineBuffer, Tag: c.tag,
		Tries: c.retries, RetryDelay: c.retryDelay, JobLog: c.joblog, Resume: c.resume,
		ResumeFail: c.resumeFail, JSON: c.json, Bar: c.bar || c.eta, DryRun: c.dryRun,
		Grace: c.grace, Shell: os.Getenv("SHELL"), Stdout: stdout, Stderr: stderr,
		ClusterURL: c.cluster,
	}
	if c.jobs < 1 {
		return cfg, fmt.Errorf("-j %d: need at least one job at a time", c.jobs)
	}
	if s, ok := strings.CutSuffix(c.timeout, "%"); ok {
		pct, err := strconv.ParseFloat(s, 64)
		if err != nil || pct <= 0 {
			return cfg, fmt.Errorf("-timeout %q: want a duration such as 30s or a percentage such as 200%%", c.timeout)
		}
		cfg.TimeoutPct = pct
	} else if c.timeout != "" {
		d, err := time.ParseDuration(c.timeout)
		if err != nil {
			// GNU parallel takes seconds
			secs, err2 := strconv.ParseFloat(c.timeout, 64)
			if err2 != nil || secs <= 0 {
				return cfg, fmt.Errorf("-timeout %q: want a duration such as 30s or a percentage such as 200%%", c.timeout)
			}
			d = time.Duration(secs * float64(time.Second))
		}
		if d <= 0 {
			return cfg, fmt.Errorf("-timeout %q must be positive", c.timeout)
		}
		cfg.Timeout = d
	}
	if c.retryOn != "" {
		for _, f := range strings.Split(c.retryOn, ",") {
			code, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return cfg, fmt.Errorf("-retry-on %q: want exit statuses such as 1,75", c.retryOn)
			}
			cfg.RetryOn = append(cfg.RetryOn, code)
		}
	}
	if c.halt != "" {
		h, err := parseHalt(c.halt)
		if err != nil {
			return cfg, err
		}
		cfg.Halt = h
	}
	return cfg, nil
}

// parseHalt reads GNU parallel's --halt: now|soon,fail|success=N|N%.
func parseHalt(s string) (jobs.Halt, error) {
	bad := fmt.Errorf("-halt %q: want now|soon,fail|success=N or N%%, such as now,fail=1 or soon,fail=10%%", s)
	when, rest, ok := strings.Cut(s, ",")
	if !ok || (when != "now" && when != "soon") {
		return jobs.Halt{}, bad
	}
	on, n, ok := strings.Cut(rest, "=")
	if !ok || (on != "fail" && on != "success") {
		return jobs.Halt{}, bad
	}
	h := jobs.Halt{Now: when == "now", Success: on == "success"}
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

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func runCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mp run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	var argFiles multiFlag
	fs.Var(&argFiles, "a", "read inputs from the lines of `FILE` (repeatable: every combination)")
	colsep := fs.String("colsep", "", "split each input line into columns {1} {2} ... at this `REGEXP`")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: mp run [options] COMMAND [::: ARGS...] [:::+ ARGS...] [:::: FILES...] [::::+ FILES...]

COMMAND runs once per input. Its words are joined by spaces, as GNU parallel
does. Replacement strings, as in GNU parallel:
  {}    the input                      {.}   without its extension
  {/}   its base name                  {//}  its directory
  {/.}  base name without extension    {#}   the job number (1, 2, ...)
  {%}   the job slot (1 to -j)         {N}   the Nth input source or column,
                                             also {N.} {N/} {N//} {N/.}
Without a replacement string the input is added at the end.

A COMMAND without shell syntax (quotes, pipes, redirections, $, globs...) is
executed directly; otherwise it runs with $SHELL -c (or /bin/sh), each
replaced value quoted for the shell. A shell costs about half a millisecond
per job.

Exit status: 0 when every job succeeded, else the number of jobs that failed
(at most 101); 255 for a usage or input error. Ctrl-C stops launching jobs
and sends SIGTERM to the running ones (SIGKILL after -grace); a second
Ctrl-C kills them at once.

Options:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 255
	}
	cmdWords, sources, err := splitSources(fs.Args(), stdin)
	if err != nil {
		fmt.Fprintln(stderr, "mp run:", err)
		return 255
	}
	var fromA []jobs.Source // -a FILE, like :::: FILE before the sources after the command
	for _, f := range argFiles {
		fromA = append(fromA, jobs.File(f, stdin, false))
	}
	sources = append(fromA, sources...)
	if len(sources) == 0 {
		sources = []jobs.Source{jobs.Stdin(stdin)}
	}
	var sep *regexp.Regexp
	if *colsep != "" {
		if sep, err = regexp.Compile(*colsep); err != nil {
			fmt.Fprintf(stderr, "mp run: -colsep: %v\n", err)
			return 255
		}
	}
	t, err := jobs.Parse(cmdWords)
	if err != nil {
		fmt.Fprintln(stderr, "mp run:", err)
		return 255
	}
	cfg, err := c.config(t, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "mp run:", err)
		return 255
	}
	cfg.Total, _ = jobs.Count(sources) // the bar's total from the start, when known
	input := func(yield func(*jobs.Job, error) bool) {
		seq := 0
		for a, err := range jobs.Inputs(sources, sep) {
			if err != nil {
				yield(nil, err)
				return
			}
			seq++
			if !yield(&jobs.Job{Seq: seq, Args: a}, nil) {
				return
			}
		}
	}
	return execute(cfg, input, stderr, "mp run")
}

// splitSources separates the command's words from the input sources that
// follow it (:::, :::+, ::::, ::::+).
func splitSources(args []string, stdin io.Reader) ([]string, []jobs.Source, error) {
	var words []string
	i := 0
	for ; i < len(args) && !isMarker(args[i]); i++ {
		words = append(words, args[i])
	}
	var sources []jobs.Source
	for i < len(args) {
		marker := args[i]
		i++
		var vals []string
		for ; i < len(args) && !isMarker(args[i]); i++ {
			vals = append(vals, args[i])
		}
		linked := strings.HasSuffix(marker, "+")
		if linked && len(sources) == 0 {
			return nil, nil, fmt.Errorf("%s links to the input source before it, and there is none", marker)
		}
		if strings.HasPrefix(marker, "::::") {
			if len(vals) == 0 {
				return nil, nil, fmt.Errorf("%s needs at least one file", marker)
			}
			for k, f := range vals {
				sources = append(sources, jobs.File(f, stdin, linked && k == 0))
			}
			continue
		}
		sources = append(sources, jobs.Args(vals, linked))
	}
	return words, sources, nil
}

func isMarker(s string) bool { return s == ":::" || s == ":::+" || s == "::::" || s == "::::+" }

// execute runs the jobs with Ctrl-C handling and returns the exit status.
func execute(cfg jobs.Config, input func(func(*jobs.Job, error) bool), stderr io.Writer, name string) int {
	if cfg.ClusterURL != "" && !cfg.DryRun {
		pool, err := mp.NewPool(mp.Cluster(cfg.ClusterURL), mp.Threads(cfg.Jobs))
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 255
		}
		defer pool.Close()
		cfg.Remote = pool
	}
	r := jobs.NewRunner(cfg)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		n := 0
		for {
			select {
			case <-sigs:
				n++
				if n == 1 {
					fmt.Fprintf(stderr, "%s: stopping: no new jobs, SIGTERM to the running ones (again to kill them now)\n", name)
					r.Interrupt()
				} else {
					r.Kill()
				}
			case <-stop:
				return
			}
		}
	}()
	sum, err := r.Run(context.Background(), input)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 255
	}
	if sum.Halted {
		fmt.Fprintf(stderr, "%s: halted (--halt) after %d jobs, %d failed\n", name, sum.Done, sum.Failed)
	}
	if sum.Interrupted && sum.Failed == 0 {
		return 130
	}
	return sum.ExitStatus()
}
