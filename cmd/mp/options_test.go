//go:build unix

package main

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/jobs"
)

// parse parses mp run's options as runCmd does.
func parse(t *testing.T, args ...string) (*runOpts, []string, string, int) {
	t.Helper()
	fs := newFlagSet("mp run")
	var o runOpts
	o.register(fs)
	var out, errb strings.Builder
	code, ok := parseFlags(fs, args, &out, &errb, "mp run", runHelp)
	if !ok {
		return nil, nil, errb.String(), code
	}
	return &o, fs.Args(), "", 0
}

// GNU parallel's option syntax (Getopt::Long with bundling and
// require_order) and its spellings, and mp's single-dash long options.
func TestOptionSyntax(t *testing.T) {
	cpus := mp.CPUCount()
	tests := []struct {
		args  []string
		check func(o *runOpts) bool
		rest  string // the command's words
	}{
		{[]string{"-j4", "echo"}, func(o *runOpts) bool { return o.jobs == "4" }, "echo"},
		{[]string{"-j", "4", "echo"}, func(o *runOpts) bool { return o.jobs == "4" }, "echo"},
		{[]string{"--jobs", "4", "echo"}, func(o *runOpts) bool { return o.jobs == "4" }, "echo"},
		{[]string{"--jobs=4", "echo"}, func(o *runOpts) bool { return o.jobs == "4" }, "echo"},
		{[]string{"-P4", "echo"}, func(o *runOpts) bool { return o.jobs == "4" }, "echo"},
		{[]string{"--max-procs", "3", "echo"}, func(o *runOpts) bool { return o.jobs == "3" }, "echo"},
		{[]string{"-j", "-1", "echo"}, func(o *runOpts) bool { return o.jobs == "-1" }, "echo"},
		{[]string{"-kj4", "echo"}, func(o *runOpts) bool { return o.keep && o.jobs == "4" }, "echo"},
		{[]string{"-kvj", "2", "echo"}, func(o *runOpts) bool { return o.keep && o.verbose && o.jobs == "2" }, "echo"},
		{[]string{"--keep-order", "echo"}, func(o *runOpts) bool { return o.keep }, "echo"},
		{[]string{"--dryrun", "echo"}, func(o *runOpts) bool { return o.dryRun }, "echo"},
		{[]string{"--dry-run", "echo"}, func(o *runOpts) bool { return o.dryRun }, "echo"},
		{[]string{"--jl", "f", "echo"}, func(o *runOpts) bool { return o.joblog == "f" }, "echo"},
		{[]string{"--joblog", "+f", "echo"}, func(o *runOpts) bool { return o.joblog == "+f" }, "echo"},
		{[]string{"--lb", "echo"}, func(o *runOpts) bool { return o.lineBuffer }, "echo"},
		{[]string{"--linebuffer", "echo"}, func(o *runOpts) bool { return o.lineBuffer }, "echo"},
		{[]string{"--line-buffer", "echo"}, func(o *runOpts) bool { return o.lineBuffer }, "echo"},
		{[]string{"--arg-file", "f", "-a", "g", "echo"}, func(o *runOpts) bool { return strings.Join(o.argFiles, ",") == "f,g" }, "echo"},
		{[]string{"--halt-on-error", "2", "echo"}, func(o *runOpts) bool { return o.halt == "2" }, "echo"},
		{[]string{"--colsep", ",", "--tag", "echo"}, func(o *runOpts) bool { return o.colsep == "," && o.tag }, "echo"},
		{[]string{"-C", "\t", "echo"}, func(o *runOpts) bool { return o.colsep == "\t" }, "echo"},
		{[]string{"--xapply", "echo"}, func(o *runOpts) bool { return o.link }, "echo"},
		{[]string{"-0qu", "echo"}, func(o *runOpts) bool { return o.null && o.quote && o.ungroup }, "echo"},
		{[]string{"-I", ",,", "-n2", "echo"}, func(o *runOpts) bool { return o.replace == ",," && o.maxArgs == 2 }, "echo"},
		{[]string{"-N", "3", "-X", "echo"}, func(o *runOpts) bool { return o.maxReplace == 3 && o.multi }, "echo"},
		{[]string{"--will-cite", "--pipe", "--block", "10k", "wc"}, func(o *runOpts) bool { return o.pipe && o.block == "10k" }, "wc"},
		// -l's number is optional, as Getopt::Long reads GNU parallel's
		{[]string{"-l", "4", "wc"}, func(o *runOpts) bool { return o.lines == 4 }, "wc"},
		{[]string{"-kl3", "wc"}, func(o *runOpts) bool { return o.lines == 3 && o.keep }, "wc"},
		{[]string{"-l", "wc"}, func(o *runOpts) bool { return o.lines == 1 }, "wc"},
		{[]string{"--pipe", "--roundrobin", "wc"}, func(o *runOpts) bool { return o.roundRobin }, "wc"},
		{[]string{"--pipe", "--round", "wc"}, func(o *runOpts) bool { return o.roundRobin }, "wc"},
		// unique prefixes, as Getopt::Long takes them
		{[]string{"--keep-o", "--dry", "--max-p=3", "echo"}, func(o *runOpts) bool { return o.keep && o.dryRun && o.jobs == "3" }, "echo"},
		// options end at the command
		{[]string{"-k", "echo", "-j", "4"}, func(o *runOpts) bool { return o.keep && o.jobs == "" }, "echo -j 4"},
		// mp's single-dash long options
		{[]string{"-timeout", "5s", "-halt", "now,fail=1", "-line-buffer", "echo"}, func(o *runOpts) bool {
			return o.timeout == "5s" && o.halt == "now,fail=1" && o.lineBuffer
		}, "echo"},
		{[]string{"-retry-delay=1s", "-j", "2", "echo"}, func(o *runOpts) bool { return o.retryDelay == time.Second && o.jobs == "2" }, "echo"},
	}
	for _, tt := range tests {
		o, rest, errOut, code := parse(t, tt.args...)
		if code != 0 {
			t.Errorf("%q: exit %d, %s", tt.args, code, errOut)
			continue
		}
		if !tt.check(o) || strings.Join(rest, " ") != tt.rest {
			t.Errorf("%q: parsed as %+v, command %q", tt.args, o, rest)
		}
	}
	for in, want := range map[string]int{"4": 4, "": cpus, "+2": cpus + 2, "-1": max(cpus-1, 1), "0": maxJobs, "100%": cpus, "50%": max(cpus/2, 1), "-100": 1} {
		if n, err := parseJobs(in); err != nil || n != want {
			t.Errorf("-j %q = %d, %v; want %d", in, n, err, want)
		}
	}
}

// A usage error is one line naming the bad option, with the hint; exit 255.
func TestUsageErrorIsOneLine(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--foo", "echo"}, "--foo"},
		{[]string{"run", "-Y", "echo"}, "'Y'"},
		{[]string{"run", "-j"}, "'j'"},
		{[]string{"run", "--jobs"}, "--jobs"},
		{[]string{"run", "--re", "echo"}, "--re is ambiguous (--recend, --recstart, --regexp, --replace, --results, --resume"},
		{[]string{"run", "-j", "lots", "echo"}, `-j "lots"`},
		{[]string{"run", "-j", "1.5", "echo"}, `-j "1.5"`},
		{[]string{"run", "--halt", "later", "echo"}, "--halt"},
		{[]string{"run", "--block", "x", "--pipe", "cat"}, "--block"},
		{[]string{"groupby", "--frob", "--", "cat"}, "--frob"},
	} {
		out, errOut, code := cli(t, "", tt.args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != 255 || out != "" || len(lines) != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 255 and one line with %q", tt.args, code, errOut, tt.want)
		}
		if !strings.Contains(errOut, "--help") && strings.HasPrefix(lines[0], "mp run: unknown") {
			t.Errorf("%q: no hint: %q", tt.args, errOut)
		}
	}
}

func TestParseHalt(t *testing.T) {
	for in, want := range map[string]jobs.Halt{
		"now,fail=1": {Now: true, N: 1}, "soon,fail=3%": {Pct: 3}, "now,success=2": {Now: true, Success: true, N: 2},
		"soon,done=50%": {Done: true, Pct: 50}, "0": {}, "1": {N: 1}, "2": {Now: true, N: 1}, "-1": {Success: true, N: 1},
		"-2": {Now: true, Success: true, N: 1}, "20%": {Pct: 20},
	} {
		if h, err := parseHalt(in); err != nil || h != want {
			t.Errorf("--halt %s = %+v, %v; want %+v", in, h, err, want)
		}
	}
	for _, bad := range []string{"later", "now,fail", "now,fail=0", "soon,x=1", "now,fail=101%"} {
		if _, err := parseHalt(bad); err == nil {
			t.Errorf("--halt %s accepted", bad)
		}
	}
}

// The run command's GNU behaviours end to end (outputs checked against
// GNU parallel 20221122).
func TestRunLikeGNU(t *testing.T) {
	dir := t.TempDir()
	jl := filepath.Join(dir, "jl")
	jf := filepath.Join(t.TempDir(), "jobs")
	pf := filepath.Join(t.TempDir(), "part")
	os.WriteFile(pf, []byte("1\n2\n3\n4\n"), 0o644)
	os.WriteFile(jf, []byte("1\n"), 0o644)
	tests := []struct {
		stdin string
		args  []string
		out   string
		code  int
	}{
		{"", []string{"-kj4", "echo", ":::", "a", "b"}, "a\nb\n", 0},
		{"", []string{"-k", ":::", "echo a; echo b", `echo "c d"`}, "a\nb\nc d\n", 0},
		{"echo 1\necho 2\n", []string{"-k"}, "1\n2\n", 0},
		{"ls /bin/ls\n", []string{"{}"}, "/bin/ls\n", 0},
		{"", []string{"cd / && pwd", ":::", "1"}, "/\n", 0},
		{"", []string{"exit", ":::", "3"}, "", 1},
		{"", []string{"--halt", "now,fail=1", "-j1", "exit {}", ":::", "0", "3", "5"}, "", 3},
		{"", []string{"-k", "echo", ":::", "A", "B", "C", ":::+", "1", "2"}, "A 1\nB 2\n", 0},
		{"", []string{"-k", "--link", "echo", ":::", "A", "B", "C", ":::", "1", "2"}, "A 1\nB 2\nC 1\n", 0},
		{"", []string{"-k", "--colsep", ",", "printf", `"[%s]"`, "{1}", "{2}", "{3}", ";", "echo", ":::", "a , b", "c"}, "[a][b]\n[c]\n", 0},
		{"", []string{"--header", ":", "-k", "echo", "{b}", "{a}", ":::", "a", "1", "2", ":::", "b", "x"}, "x 1\nx 2\n", 0},
		{"h1,h2\n1,2\n3,4\n", []string{"--header", ":", "--colsep", ",", "-k", "echo", "{h2}", "{h1}"}, "2 1\n4 3\n", 0},
		{"", []string{"-k", "--tagstring", "<{}>", "echo", ":::", "a", "b"}, "<a>\ta\n<b>\tb\n", 0},
		{"", []string{"-v", "-k", "echo", ":::", "a", "b"}, "echo a\na\necho b\nb\n", 0},
		{"", []string{"-n", "2", "-k", "echo", ":::", "a", "b", "c"}, "a b\nc\n", 0},
		{"", []string{"-k", "-N", "2", "echo", "{1}-{2}", ":::", "a", "b", "c"}, "a-b\nc-\n", 0},
		{"", []string{"-j1", "-X", "echo", "pre{}post", ":::", "a", "b", "c"}, "preapost prebpost precpost\n", 0},
		{"", []string{"-j1", "-m", "echo", ":::", "a", "b", "c"}, "a b c\n", 0},
		{"", []string{"-k", "-I", ",,", "echo", ",,", "{}", ":::", "a"}, "a {}\n", 0},
		{"", []string{"-q", "--dry-run", "echo", "a b", ":::", "c d"}, "echo 'a b' 'c d'\n", 0},
		{"a\x00b c\x00", []string{"-0", "-k", "echo"}, "a\nb c\n", 0},
		{"a,b", []string{"-d", ",", "-k", "echo"}, "a\nb\n", 0},
		{"", []string{"-k", "echo", "{-1}", "{-2}", "{3}", ":::", "a", ":::", "b", ":::", "c"}, "c b c\n", 0},
		{"", []string{"-j1", "-k", "echo", "$PARALLEL_SEQ", "$PARALLEL_JOBSLOT", ":::", "a", "b"}, "1 1 a\n2 1 b\n", 0},
		{"", []string{"--joblog", "-", "true", ":::", "1"}, "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n", 0},
		{"", []string{"--joblog", jl, "echo", ":::", "1"}, "1\n", 0},
		{"", []string{"--joblog", "+" + jl, "echo", ":::", "2"}, "2\n", 0},
		{"", []string{"--dry-run", "echo", ":::", "a b", "c'd"}, "echo 'a b'\necho 'c'\"'\"'d'\n", 0},
		{"", []string{"--plus", "echo", "{+/}", "{+.}", "{/..}", ":::", "dir/ab.tar.gz"}, "dir gz ab\n", 0},
		{"", []string{"-j0", "echo", ":::", "x"}, "x\n", 0},
		{"", []string{"-k", "-n0", "echo", "foo", ":::", "1", "2"}, "foo\nfoo\n", 0},
		{"", []string{"-k", "--arg-sep", ",,", "echo", ",,", "a", "b", ",,+", "1", "2"}, "a 1\nb 2\n", 0},
		{"", []string{"--wd", "/usr", "pwd", ":::", "1"}, "/usr\n", 0},
		{"", []string{"-j", jf, "-k", "echo", ":::", "a", "b"}, "a\nb\n", 0},
		{"a_b \nc\nd\ne\nf\n", []string{"-k", "-L2", "echo"}, "a_b c d\ne f\n", 0},
		{"", []string{"--lb", "-k", "-j2", "sleep 0.{}; echo {}", ":::", "3", "1"}, "3\n1\n", 0},
		{"a\tb\t", []string{"--pipe", "-k", "-N1", "--recend", `\t`, "cat; echo"}, "a\t\nb\t\n", 0},
		{"h\n1\n2\n", []string{"--pipe", "-k", "-N1", "--header", ":", "cat"}, "h\n1\nh\n2\n", 0},
		{"a+b", []string{"--pipe", "-k", "-N1", "--rrs", "--recend", "+", "cat; echo ."}, "a.\nb.\n", 0},
		{"", []string{"-j2", "-k", "--block", "-1", "--pipepart", "wc", "-l", "::::", pf}, "3\n1\n", 0}, // as GNU parallel splits it
		{"a1b22c", []string{"--pipe", "-k", "-N1", "--regexp", "--recend", "[0-9]+", "cat; echo"}, "a1\nb22\nc\n", 0},
		{"h\ni\n1\n2\n", []string{"--pipe", "-k", "-N1", "--header", `.*\n.*\n`, "cat"}, "h\ni\n1\nh\ni\n2\n", 0},
		{"A\tB\n1\tone\n", []string{"--header", ":", "echo", "{B}", "{A}"}, "one 1\n", 0},
		{"", []string{"-k", "--halt", "soon,fail=20%", "-j1", "exit {}", ":::", "0", "1", "0", "0", "0", "0", "0", "0", "0", "0"}, "", 10},
	}
	for _, tt := range tests {
		out, errOut, code := cli(t, tt.stdin, append([]string{"run"}, tt.args...)...)
		if tt.args[0] == "--joblog" && tt.args[1] == "-" {
			out = strings.SplitAfter(out, "\n")[0]
		}
		if out != tt.out || code != tt.code {
			t.Errorf("%q: exit %d, output %q (stderr %q); want %d, %q", tt.args, code, out, errOut, tt.code, tt.out)
		}
	}
	b, _ := os.ReadFile(jl)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 3 || !strings.HasSuffix(lines[2], "\techo 2") {
		t.Errorf("--joblog +FILE did not append: %q", b)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Errorf("--joblog - made a file named -")
	}
	// $PARALLEL: options before the command line's
	t.Setenv("PARALLEL", "--tag -k")
	if out, errOut, code := cli(t, "", "run", "echo", ":::", "a", "b"); out != "a\ta\nb\tb\n" || code != 0 {
		t.Errorf("PARALLEL=--tag: exit %d, %q %q", code, out, errOut)
	}
	t.Setenv("PARALLEL", "")
	// a function exported with export -f runs in bash
	if _, err := os.Stat("/bin/bash"); err == nil {
		t.Setenv("BASH_FUNC_mpfn%%", "() {  echo fn \"$1\"\n}")
		if out, errOut, code := cli(t, "", "run", "mpfn", ":::", "1"); out != "fn 1\n" || code != 0 {
			t.Errorf("export -f: exit %d, %q %q", code, out, errOut)
		}
	}
}

// Issue 12, defect 2.13: what a job starts does not outlive a SIGKILLed
// mp run (the watchdog kills the jobs' process groups).
func TestJobChildrenDieWithMp(t *testing.T) {
	cmd := mpCmd("run", "-j", "2", "--line-buffer", "sleep 41 & echo $!; wait; true", ":::", "1", "2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	guard := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer guard.Stop()
	br := bufio.NewReader(stdout)
	var pids []int
	for range 2 {
		line, err := br.ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("reading the sleeps' pids: %v", err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(line))
		pids = append(pids, pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	for _, pid := range pids {
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("the job's child %d outlived mp run's SIGKILL by 10s", pid)
		}
	}
}

// --pipe and --pipepart against GNU parallel's output for the same input.
func TestPipe(t *testing.T) {
	var nums strings.Builder
	for i := 1; i <= 10; i++ {
		nums.WriteString(strconv.Itoa(i) + "\n")
	}
	file := filepath.Join(t.TempDir(), "nums")
	os.WriteFile(file, []byte(nums.String()), 0o600)
	tests := []struct {
		stdin string
		args  []string
		out   string
	}{
		{nums.String(), []string{"-k", "--pipe", "-N3", "echo start; cat"}, "start\n1\n2\n3\nstart\n4\n5\n6\nstart\n7\n8\n9\nstart\n10\n"},
		{"a\nb\n>x\nc\n>y\nd\n", []string{"-k", "--pipe", "--recstart", ">", "-N1", "echo ==; cat"}, "==\na\nb\n==\n>x\nc\n==\n>y\nd\n"},
		{nums.String(), []string{"-k", "--pipe", "--block", "6", "wc", "-l"}, "3\n3\n3\n1\n"},
		{"", []string{"-k", "--pipepart", "-a", file, "--block", "6", "wc", "-l"}, "4\n4\n2\n"}, // cut at the first line end past each 6 bytes, as GNU's
		{nums.String(), []string{"-k", "--pipe", "-L", "3", "wc", "-l"}, "9\n1\n"},
		{nums.String(), []string{"-k", "--pipe", "-l3", "wc", "-l"}, "9\n1\n"},
		{"ab", []string{"-k", "--pipe", "--recend", "", "-n", "1", "cat; echo"}, "a\nb\n"},
		{nums.String(), []string{"-k", "-j2", "--pipe", "--round-robin", "-N2", "echo job {#}; cat"}, "job 1\n1\n2\n5\n6\n9\n10\njob 2\n3\n4\n7\n8\n"},
	}
	for _, tt := range tests {
		out, errOut, code := cli(t, tt.stdin, append([]string{"run"}, tt.args...)...)
		if out != tt.out || code != 0 {
			t.Errorf("%q: exit %d, %q (stderr %q); want %q", tt.args, code, out, errOut, tt.out)
		}
	}
	// --dry-run: a line a block, however many blocks (it stopped after -j+1)
	done := make(chan string, 1)
	go func() {
		out, _, _ := cli(t, strings.Repeat(nums.String(), 100), "run", "--dry-run", "-j1", "--pipe", "--block", "100", "wc")
		done <- out
	}()
	select {
	case out := <-done:
		if n := strings.Count(out, "wc\n"); n < 10 {
			t.Errorf("--dry-run --pipe: %d lines, want one a block", n)
		}
	case <-time.After(time.Minute):
		t.Fatal("--dry-run --pipe did not end within a minute")
	}
	// no command: GNU parallel's usage error, one line
	for _, args := range [][]string{{"--pipe"}, {"-k", "--pipe", "--block", "1k"}, {"--pipepart", "-a", file}} {
		out, errOut, code := cli(t, nums.String(), append([]string{"run"}, args...)...)
		if code != 255 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "must have a command") {
			t.Errorf("%q: exit %d, %q, stderr %q; want exit 255 and one line naming the missing command", args, code, out, errOut)
		}
	}
	// 64 blocks of 64 KiB, each to its job whole
	var big strings.Builder
	for range 64 * 1024 {
		big.WriteString(strings.Repeat("x", 63) + "\n")
	}
	dir := t.TempDir()
	out, errOut, code := cli(t, big.String(), "run", "-j2", "--pipe", "--block", "64K", "wc -c > "+dir+"/{#}")
	if code != 0 {
		t.Fatalf("exit %d %q %q", code, out, errOut)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 64 {
		t.Errorf("%d blocks, want 64", len(entries))
	}
	for _, e := range entries {
		if b, _ := os.ReadFile(filepath.Join(dir, e.Name())); strings.TrimSpace(string(b)) != "65536" {
			t.Errorf("block %s: %q bytes", e.Name(), b)
		}
	}
}

// --retry-failed runs the job log's failed commands again, under their
// numbers; --shuf runs every job once; -E stops at its value.
func TestRetryFailedShufEOF(t *testing.T) {
	dir := t.TempDir()
	jl, mark := filepath.Join(dir, "jl"), filepath.Join(dir, "mark")
	if _, _, code := cli(t, "", "run", "--joblog", jl, "test -e "+mark+" && echo ok {}", ":::", "1", "2"); code != 2 {
		t.Fatalf("first run: exit %d, want 2", code)
	}
	os.WriteFile(mark, nil, 0o600)
	out, errOut, code := cli(t, "", "run", "-k", "--retry-failed", "--joblog", jl)
	if out != "ok 1\nok 2\n" || code != 0 {
		t.Errorf("--retry-failed: exit %d, %q %q", code, out, errOut)
	}
	b, _ := os.ReadFile(jl)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[3], "1\t") && !strings.HasPrefix(lines[4], "1\t") {
		t.Errorf("job log after --retry-failed:\n%s", b)
	}
	out, _, _ = cli(t, "", "run", "--shuf", "echo", ":::", "a", "b", "c", "d")
	got := strings.Fields(out)
	slices.Sort(got)
	if strings.Join(got, " ") != "a b c d" {
		t.Errorf("--shuf: %q", out)
	}
	if out, _, _ = cli(t, "", "run", "-k", "-E", "stop", "echo", ":::", "a", "stop", "b"); out != "a\n" {
		t.Errorf("-E: %q", out)
	}
}

// --pipe's --header: a line for :, N lines for N, else what the regexp
// matches at the start, as GNU parallel's "(.*\n)" x N.
func TestPipeHeader(t *testing.T) {
	for _, tt := range []struct{ spec, want string }{
		{":", "h1\n"}, {"2", "h1\nh2\n"}, {"0", ""}, {`.*\n.*\n.*\n`, "h1\nh2\n1\n"}, {"h.", "h1"}, {"x", ""},
	} {
		h, rest, err := pipeHeader(strings.NewReader("h1\nh2\n1\n"), tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		all, _ := io.ReadAll(rest)
		if string(h) != tt.want || string(h)+string(all) != "h1\nh2\n1\n" {
			t.Errorf("--header %q: header %q, rest %q; want header %q", tt.spec, h, all, tt.want)
		}
	}
}

// GNU parallel's time postfixes (TIME POSTFIXES in man parallel), and Go's.
func TestParseSecondsPostfixes(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1.5": 1500 * time.Millisecond, "2s": 2 * time.Second, "1m30s": 90 * time.Second, "1h2m": 62 * time.Minute,
		"1d": 24 * time.Hour, "1d2h3m4s": 26*time.Hour + 3*time.Minute + 4*time.Second, "0.5d": 12 * time.Hour,
	} {
		if got, err := parseSeconds("timeout", in); err != nil || got != want {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"xd", "1dx", "-1", "d"} {
		if _, err := parseSeconds("timeout", bad); err == nil {
			t.Errorf("parseSeconds(%q) accepted", bad)
		}
	}
}
