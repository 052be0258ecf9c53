package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/mp-go/mp/internal/jobs"
	"github.com/spf13/pflag"
)

// runOpts are mp run's options beyond the common ones.
type runOpts struct {
	common
	argFiles    []string
	colsep      string
	trim        string
	delim       string
	null        bool
	link        bool
	quote       bool
	plus        bool
	rpl         []string
	parens      string
	replace     string
	renames     [6]string
	header      string
	shuf        bool
	results     string
	retryFailed bool
	maxArgs     int
	maxReplace  int
	maxLines    int
	maxChars    int
	lines       int // -l [N]: -L N, N optional (1)
	xargs       bool
	multi       bool
	noEmpty     bool
	pipe        bool
	pipepart    bool
	roundRobin  bool
	block       string
	recstart    string
	recend      string
	recstartSet bool // --recstart given (GNU parallel's defaults depend on it)
	recendSet   bool
	blockSet    bool
	rrs         bool
	regexp      bool
	eof         string
	nice        int
	argSep      string
	argFileSep  string
	env         []string
	workdir     string
	ssh         sshOpts
}

func (o *runOpts) register(fs *pflag.FlagSet) {
	o.common.register(fs)
	fs.StringArrayVarP(&o.argFiles, "arg-file", "a", nil, "read inputs from the lines of `FILE` (repeatable: every combination, as :::: FILE)")
	fs.StringVarP(&o.colsep, "colsep", "C", "", "split each input line into columns {1} {2} ... at this `REGEXP` (the columns are trimmed, see --trim)")
	fs.StringVar(&o.trim, "trim", "", "trim white space of inputs: `n|l|r|lr` (with --colsep the default is lr, else n)")
	fs.StringVarP(&o.delim, "delimiter", "d", "", "inputs end with `DELIM` instead of a newline (\\n, \\t, \\0 and \\xHH understood)")
	fs.BoolVarP(&o.null, "null", "0", false, "inputs end with a NUL byte (find -print0)")
	fs.BoolVar(&o.link, "link", false, "pair the input sources instead of combining them (the shorter ones wrap); also --xapply")
	fs.StringVar(&o.header, "header", "", "`REGEXP` (: or any regexp; GNU parallel reads one line whatever it is): the first input line of each source names the columns: {name}, {name.}..., {=name perl =}; 0: the files' names name them ({f1} for :::: f1); with --pipe: what REGEXP matches at the start (: a line, N: N lines) starts every block")
	fs.BoolVarP(&o.quote, "quote", "q", false, "pass the command's words as they are, quoted, instead of reading them with a shell")
	fs.StringVarP(&o.replace, "replace", "I", "", "use `STR` for {} instead of {}")
	for i, r := range renameOpts {
		fs.StringVar(&o.renames[i], r.name, "", "use `STR` for "+r.to+" instead of "+r.to)
	}
	fs.BoolVar(&o.plus, "plus", false, "GNU parallel's --plus replacement strings: {+/} {+.} {..} {+..} {...} {/..} {##} {0#} {:N} {:N:M} {#pre} {%suf} {/old/new}")
	fs.StringArrayVar(&o.rpl, "rpl", nil, "define a replacement string: `'TAG perl-expression'` makes TAG mean {= perl-expression =}, as in GNU parallel (groups (...) in TAG are $$1, $$2...; a TAG starting with { also has a positional form {NTAG})")
	fs.StringVar(&o.parens, "parens", "", "use `STR` (its two halves) instead of {= and =} around perl expressions")
	fs.IntVarP(&o.maxArgs, "max-args", "n", 0, "give each job up to `N` inputs")
	fs.IntVarP(&o.maxReplace, "max-replace-args", "N", 0, "give each job `N` inputs, {1} to {N} (the last job may have fewer)")
	fs.IntVarP(&o.maxLines, "max-lines", "L", 0, "give each job `N` input lines (a line ending in a blank goes on with the next), as xargs -L; with --pipe: records of N lines; also -l N")
	fs.IntVarP(&o.lines, "l", "l", 0, "the same as -L N; N is optional (-l is -L 1)")
	fs.Lookup("l").NoOptDefVal = "1"
	fs.MarkHidden("l")
	fs.IntVarP(&o.maxChars, "max-chars", "s", 0, "-m and -X: a command line is at most `N` characters (default 63664, GNU parallel's; at most 130048, the kernel's limit for one argument)")
	fs.BoolVarP(&o.multi, "m", "m", false, "give each job as many inputs as fit on a command line, spread over the job slots")
	fs.BoolVar(&o.xargs, "xargs", false, "the same as -m")
	fs.BoolVarP(&o.multi, "X", "X", false, "as -m, repeating the word around {} for each input (context replace)")
	fs.BoolVarP(&o.noEmpty, "no-run-if-empty", "r", false, "skip inputs that are only white space")
	fs.StringVarP(&o.eof, "eof", "E", "", "stop reading inputs at a value equal to `STR`")
	fs.StringVar(&o.argSep, "arg-sep", ":::", "use `SEP` instead of ::: (and SEP+ instead of :::+)")
	fs.StringVar(&o.argFileSep, "arg-file-sep", "::::", "use `SEP` instead of :::: (and SEP+ instead of ::::+)")
	fs.StringArrayVar(&o.env, "env", nil, "with -S: set the variable (or bash function exported with export -f) `NAME` on the hosts as here; jobs run here inherit the whole environment")
	fs.StringVar(&o.workdir, "workdir", "", "run the jobs in `DIR`; with -S on the hosts (. is the current directory, relative to $HOME; ... a new one under ~/.parallel/tmp); also --wd")
	o.ssh.register(fs)
	fs.IntVar(&o.nice, "nice", 0, "run the jobs with this `niceness` (nice -n N)")
	fs.BoolVar(&o.shuf, "shuf", false, "run the jobs in a random order (the whole input is read first)")
	fs.StringVar(&o.results, "results", "", "save each job's output in `DIR`/1/ARG/stdout, stderr and seq instead of printing it, as GNU parallel does (a name ending .csv or .tsv: a table of all jobs)")
	fs.BoolVar(&o.retryFailed, "retry-failed", false, "run again the jobs that failed in the --joblog file, with their logged commands (the command line's are ignored)")
	fs.BoolVar(&o.pipe, "pipe", false, "split standard input into blocks fed to the jobs' standard input")
	fs.BoolVar(&o.pipepart, "pipepart", false, "split the -a FILE into blocks fed to the jobs' standard input (each job reads its part of the file)")
	fs.BoolVar(&o.roundRobin, "round-robin", false, "--pipe: start at most -j jobs, each reading many blocks: each block goes to a job ready for it (with -k, to the jobs in turn); also --roundrobin, --round")
	fs.StringVar(&o.block, "block", "1M", "--pipe's block `SIZE` (k, M, G suffixes); blocks end at a record end")
	fs.StringVar(&o.recstart, "recstart", "", "--pipe: records start with `STR`")
	fs.StringVar(&o.recend, "recend", "\n", "--pipe: records end with `STR`")
	fs.BoolVar(&o.regexp, "regexp", false, "--pipe: --recstart and --recend are regular expressions")
	fs.BoolVar(&o.rrs, "rrs", false, "--pipe: remove the record separators (--recend, --recstart) from the blocks")
}

// renameOpts are GNU parallel's options that rename a replacement string.
var renameOpts = []struct{ name, to string }{
	{"extensionreplace", "{.}"}, {"basenamereplace", "{/}"}, {"dirnamereplace", "{//}"},
	{"basenameextensionreplace", "{/.}"}, {"seqreplace", "{#}"}, {"slotreplace", "{%}"},
}

const runHelp = `Usage: mp run [options] [COMMAND [ARGS]] [::: ARGS...] [:::+ ARGS...] [:::: FILES...] [::::+ FILES...]

mp run runs COMMAND once per input, like GNU parallel, with GNU parallel's
options (-j4, -kj4, --jobs=4, -P4...). Inputs are the ARGS after ::: (several
::: give every combination; :::+ pairs with the source before, up to the
shorter; --link pairs all, the shorter wrapping), the lines of FILES after
:::: (::::+ pairs them) or -a, or the lines of standard input. Without a
COMMAND each input is a command line.

COMMAND's words are joined by spaces, as GNU parallel does. Replacement
strings, as in GNU parallel:
  {}    the input                      {.}   without its extension
  {/}   its base name                  {//}  its directory
  {/.}  base name without extension    {#}   the job number (1, 2, ...)
  {%}   the job slot (1 to -j)         {N}   the Nth input source or column,
  {-N}  the Nth from the end                 also {N.} {N/} {N//} {N/.}
  {name} a column named by --header :  (--plus and -I: see below)
  {= perl expression =}  the value of $_ after the perl expression ran with
        $_ set to the input ({=N perl =}: to the Nth); GNU parallel's Q(),
        uq(), seq(), slot(), total_jobs(), skip(), @arg and time functions
        work; --rpl 'TAG perl' names one. They run in one perl process.
Without a replacement string the input is added at the end. Anything else
in braces is text. Jobs see $PARALLEL_SEQ ({#}) and $PARALLEL_JOBSLOT ({%}).

A COMMAND without shell syntax (quotes, pipes, redirections, $, globs...)
whose program exists is executed directly; otherwise (a builtin such as cd
or exit, a function exported with export -f, a replacement string in the
command's name) it runs with $PARALLEL_SHELL, $SHELL or /bin/sh -c, each
replaced value quoted for the shell. A shell costs about half a millisecond
per job.

Exit status: 0 when every job succeeded, else the number of jobs that failed
(at most 101); with --halt: the failing job's status for fail=1, 0 for
success=, the percentage of jobs failed for N%; 255 for a usage or input
error. Ctrl-C stops launching jobs and sends SIGTERM to the running ones
(SIGKILL after --grace); a second Ctrl-C kills them at once. No job's
process outlives mp run, even a SIGKILLed one.

-S host1,4/user@host2,: runs the jobs on those hosts through ssh (4/: four
jobs at once there; ":" is this machine), as GNU parallel does: one ssh per
job, the command in the host's login shell, its output and exit status back
here; without N/ a host runs what -j says for its CPUs (one job a CPU by
default). --sshloginfile reads the hosts from a file; --nonall and --onall
run on every host; --transfer, --return, --cleanup (--trc) move files,
--workdir and --env set the job's directory and variables there.

Options in $PARALLEL (such as PARALLEL='-j4 --tag') are read before the
command line's, as GNU parallel reads them.

Options:
`

func runCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("mp run")
	var o runOpts
	o.register(fs)
	if env := strings.Fields(os.Getenv("PARALLEL")); len(env) > 0 {
		// GNU parallel's $PARALLEL: options read before the command line's
		args = append(env, args...)
	}
	if code, ok := parseFlags(fs, args, stdout, stderr, "mp run", runHelp); !ok {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "mp run:", err)
		return 255
	}
	cmdWords, sources, err := splitSources(fs.Args(), stdin, o.argSep, o.argFileSep)
	if err != nil {
		return fail(err)
	}
	var fromA []jobs.Source // -a FILE, like :::: FILE before the sources after the command
	for _, f := range o.argFiles {
		fromA = append(fromA, jobs.File(f, stdin, false))
	}
	if fs.Changed("l") {
		o.maxLines = max(o.lines, 1) // GNU parallel's -l 0 is -l 1
	}
	if !o.pipe && !o.pipepart && os.Getenv("GOMAXPROCS") == "" {
		// mp run's own work is starting and reaping processes: on one
		// processor the runtime does not wake a second thread on another
		// CPU for each job that starts or ends (1.2x -> 1.0x xargs for
		// `mp run -j2 true`, docs/decisions.md). --pipe keeps them all:
		// it moves the data.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	if o.pipe || o.pipepart {
		o.recstartSet, o.recendSet, o.blockSet = fs.Changed("recstart"), fs.Changed("recend"), fs.Changed("block")
		if rest := fs.Args()[len(cmdWords):]; o.pipepart && len(o.argFiles) == 0 && len(rest) == 2 && rest[0] == o.argFileSep {
			o.argFiles = rest[1:] // --pipepart ... :::: FILE, as -a FILE
		}
		return pipeCmd(&o, cmdWords, stdin, stdout, stderr)
	}
	sources = append(fromA, sources...)
	if o.ssh.nonall {
		sources = []jobs.Source{jobs.Args([]string{""}, false)} // one job, no argument
	}
	if len(sources) == 0 {
		sources = []jobs.Source{jobs.Stdin(stdin)}
	}
	in := jobs.InputOptions{Trim: o.trim, Null: o.null, Link: o.link, EOF: o.eof}
	if o.header != "" && o.colsep == "" {
		o.colsep = "\t" // GNU parallel's default column separator with --header
	}
	if o.colsep != "" {
		if in.Colsep, err = regexp.Compile(o.colsep); err != nil {
			return fail(fmt.Errorf("--colsep: %w", err))
		}
	}
	if o.delim != "" {
		d, err := unescape(o.delim)
		if err != nil || d == "" {
			return fail(fmt.Errorf("-d %q: want a delimiter such as , or \\t or \\0 or \\r\\n", o.delim))
		}
		in.Delim = d
		in.Null = d == "\x00"
	}
	var headerNames []string
	if o.header == "0" {
		// --header 0: the files' names name their columns, as GNU
		// parallel's {foo/bar} for :::: foo/bar; nothing is read
		headerNames = make([]string, len(sources))
		for i, src := range sources {
			headerNames[i] = src.Path()
		}
		for k := range cmdWords {
			cmdWords[k] = jobs.NameColumns(cmdWords[k], headerNames)
		}
		headerNames = nil
	} else if o.header != "" {
		names, srcs, err := jobs.Headers(sources, in)
		if err != nil {
			return fail(err)
		}
		sources, headerNames = srcs, names
		for k := range cmdWords {
			cmdWords[k] = jobs.NameColumns(cmdWords[k], names)
		}
	}
	if o.retryFailed {
		if o.joblog == "" || o.joblog == "-" {
			return fail(fmt.Errorf("--retry-failed needs --joblog FILE"))
		}
		cmds, err := jobs.LoggedCommands(strings.TrimPrefix(o.joblog, "+"))
		if err != nil {
			return fail(err)
		}
		cmdWords, sources, o.resumeFail = nil, []jobs.Source{jobs.Args(cmds, false)}, true
		in = jobs.InputOptions{}
	}
	popt := jobs.ParseOptions{Replace: o.replace, Plus: o.plus, Quote: o.quote, Rpl: o.rpl, Parens: o.parens}
	for i, r := range o.renames {
		if r != "" {
			if popt.Rename == nil {
				popt.Rename = map[string]string{}
			}
			popt.Rename[r] = renameOpts[i].to
		}
	}
	hostOnly := false // {host} or {sshlogin} is the only replacement string
	if o.plus {
		cmdWords, hostOnly = plusHost(cmdWords)
	}
	t, err := jobs.Parse(cmdWords, popt)
	if err != nil {
		return fail(err)
	}
	defer t.Close() // its perl process, if it has one
	cfg, err := o.config(t, stdout, stderr)
	if err != nil {
		return fail(err)
	}
	cfg.Parse = popt
	cfg.Results, cfg.Nice, cfg.Dir = o.results, o.nice, o.workdir
	if err := o.ssh.apply(&cfg, o.jobs, o.workdir, o.env, stdin); err != nil {
		return fail(err)
	}
	cfg.ResultNames = headerNames
	if in.Colsep == nil {
		cfg.Sources = len(sources)
	}
	if o.xargs {
		o.multi = true
	}
	group := jobs.Grouping{MaxArgs: o.maxArgs, Exact: o.maxReplace > 0, Multi: o.multi || fs.Changed("X")}
	if o.maxReplace > 0 {
		group.MaxArgs = o.maxReplace
	}
	group.Context = fs.Changed("X")
	group.None = (fs.Changed("max-args") && o.maxArgs == 0) || (fs.Changed("max-replace-args") && o.maxReplace == 0) || hostOnly
	if group.Multi {
		switch {
		case o.maxChars < 0 || fs.Changed("max-chars") && o.maxChars == 0:
			return fail(fmt.Errorf("-s %d: want the maximum length of a command line, such as -s 1000", o.maxChars))
		case o.maxChars > jobs.MaxMaxChars:
			fmt.Fprintf(stderr, "mp run: warning: -s %d is over the kernel's limit for a command line; using -s %d\n", o.maxChars, jobs.MaxMaxChars)
			o.maxChars = jobs.MaxMaxChars
		}
		t.SetContext(fs.Changed("X"))
		group.Fill, group.MaxChars, group.Slots = t, o.maxChars, cfg.Jobs
	}
	total, known := jobs.Count(sources, in)
	all := jobs.Inputs(sources, in)
	if o.eof != "" {
		known = false // each source ends at -E's value (InputOptions.EOF)
	}
	if o.maxLines > 0 {
		all, known = byLines(all, o.maxLines), false
	}
	if o.shuf || (t.NeedsTotal() && (!known || group.Multi)) {
		var vals [][]string
		for a, err := range all {
			if err != nil {
				return fail(err)
			}
			vals = append(vals, a)
		}
		if o.shuf {
			rand.Shuffle(len(vals), func(i, k int) { vals[i], vals[k] = vals[k], vals[i] })
		}
		total, known = len(vals), true
		all = func(yield func([]string, error) bool) {
			for _, v := range vals {
				if !yield(v, nil) {
					return
				}
			}
		}
	}
	switch {
	case group.Multi && t.NeedsTotal():
		// the inputs are in memory: count the lines -m/-X make of them
		for _, err := range group.Apply(all) {
			if err != nil {
				return fail(err)
			}
			cfg.Total++
		}
	case group.Multi:
		// unknown until the lines are filled
	case known:
		cfg.Total = group.Jobs(total)
	}
	input := func(yield func(*jobs.Job, error) bool) {
		seq := 0
		for a, err := range group.Apply(all) {
			if err != nil {
				yield(nil, err)
				return
			}
			if o.noEmpty && strings.TrimSpace(strings.Join(a, "")) == "" {
				continue
			}
			seq++
			if o.ssh.nonall {
				a = nil
			}
			if !yield(&jobs.Job{Seq: seq, Args: a, Total: cfg.Total}, nil) {
				return
			}
		}
	}
	cfg.Template.SetContext(group.Context)
	return execute(cfg, input, stderr, "mp run")
}

// byLines is -L N: N lines a job, each line's value trimmed of trailing
// blanks; a line that ended in a blank goes on with the next (xargs -L).
func byLines(in func(func([]string, error) bool), n int) func(func([]string, error) bool) {
	return func(yield func([]string, error) bool) {
		var cur []string
		lines := 0
		for a, err := range in {
			if err != nil {
				yield(nil, err)
				return
			}
			if len(a) == 0 {
				continue
			}
			last := a[len(a)-1]
			trimmed := strings.TrimRight(last, " \t")
			cur = append(cur, a[:len(a)-1]...)
			cur = append(cur, trimmed)
			if trimmed != last {
				continue // the line goes on
			}
			if lines++; lines == n {
				if !yield(cur, nil) {
					return
				}
				cur, lines = nil, 0
			}
		}
		if len(cur) > 0 {
			yield(cur, nil)
		}
	}
}

// unescape reads -d's delimiter: characters, and \n, \r, \t, \0, \\, \xHH.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) || len(s) == 1 {
		return s, nil
	}
	return strconv.Unquote(`"` + strings.ReplaceAll(s, `\0`, `\x00`) + `"`)
}

// splitSources separates the command's words from the input sources that
// follow it (:::, :::+, ::::, ::::+).
func splitSources(args []string, stdin io.Reader, argSep, fileSep string) ([]string, []jobs.Source, error) {
	if argSep == "" || fileSep == "" || argSep == fileSep {
		return nil, nil, fmt.Errorf("--arg-sep %q and --arg-file-sep %q must differ and not be empty", argSep, fileSep)
	}
	isMarker := func(s string) bool { return s == argSep || s == argSep+"+" || s == fileSep || s == fileSep+"+" }
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
		if strings.TrimSuffix(marker, "+") == fileSep {
			if len(vals) == 0 {
				return nil, nil, fmt.Errorf("%s needs at least one file", marker)
			}
			for _, f := range vals {
				// ::::+ links every file after it (the first of all to nothing)
				sources = append(sources, jobs.File(f, stdin, linked && len(sources) > 0))
			}
			continue
		}
		if linked && len(sources) == 0 {
			return nil, nil, fmt.Errorf("%s links to the input source before it, and there is none", marker)
		}
		sources = append(sources, jobs.Args(vals, linked))
	}
	if len(sources) == 1 && len(args) == len(words)+1 && args[len(words)] == argSep {
		sources = nil // a ::: with nothing after it: standard input, as GNU parallel reads it
	}
	return words, sources, nil
}
