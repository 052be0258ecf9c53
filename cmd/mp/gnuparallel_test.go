//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The side-by-side conformance harness of docs/gnu-parallel.md: every case
// of testdata/gnu/cases.txt is a small bash script calling "parallel"; it
// runs once with GNU parallel as "parallel" and once with "mp run", and the
// two runs must print the same standard output, end with the same exit
// status and leave the same files behind.
//
// The test fails when a case that is not in testdata/gnu/known_differences.txt
// differs (a regression), when the share of matching cases falls below
// gnuMinMatchPct, or when the case files are malformed. A known difference
// that now matches is reported, to be removed from the list.
//
// MP_GNU_CASES=REGEXP runs only the cases whose id matches (no rate check
// then); MP_GNU_VERBOSE=1 logs both outputs of every differing case.

// gnuMinMatchPct is the share of cases, in percent, that must give the same
// results under mp run as under GNU parallel. Raise it as features land.
const gnuMinMatchPct = 97.5

const (
	gnuCaseTimeout = 60 * time.Second // one side of one case, on a loaded machine
	gnuCasesFile   = "testdata/gnu/cases.txt"
	gnuKnownFile   = "testdata/gnu/known_differences.txt"
)

// gnuCase is one line of cases.txt: "id | origin | flags | script".
type gnuCase struct {
	id, origin string
	sort       bool // standard output compared as a sorted list of lines
	script     string
	line       int
}

// gnuResult is what one run of a case's script left.
type gnuResult struct {
	stdout string
	stderr string
	code   int
	files  map[string]string // path relative to the work dir -> normalised content ("/" suffix: a directory)
	err    error             // the script could not run, or timed out
	took   time.Duration
}

func TestGNUParallel(t *testing.T) {
	gnu := gnuParallelPath(t)
	cases, err := loadGNUCases(gnuCasesFile)
	if err != nil {
		t.Fatal(err)
	}
	known, err := loadGNUKnown(gnuKnownFile)
	if err != nil {
		t.Fatal(err)
	}
	ids := make(map[string]bool, len(cases))
	for _, c := range cases {
		ids[c.id] = true
	}
	for id := range known {
		if !ids[id] {
			t.Errorf("%s names %q, which is no case of %s", gnuKnownFile, id, gnuCasesFile)
		}
	}
	filtered := false
	if pat := os.Getenv("MP_GNU_CASES"); pat != "" {
		re, err := regexp.Compile(pat)
		if err != nil {
			t.Fatalf("MP_GNU_CASES=%q: %v", pat, err)
		}
		cases = slices.DeleteFunc(cases, func(c gnuCase) bool { return !re.MatchString(c.id) })
		filtered = true
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	gnuBin := filepath.Join(root, "bin-gnu")
	mpBin := filepath.Join(root, "bin-mp")
	writeWrapper(t, gnuBin, fmt.Sprintf("exec %s --will-cite \"$@\"\n", shQuote(gnu)))
	writeWrapper(t, mpBin, selfEnvPrefix()+fmt.Sprintf("MP_TEST_CLI=1 exec %s run \"$@\"\n", shQuote(self)))
	// one home per side: GNU parallel caches the longest command line it
	// may run in ~/.parallel, which takes a second to find out; the first
	// run finds it before the cases start
	gnuHome, mpHome := filepath.Join(root, "home-gnu"), filepath.Join(root, "home-mp")
	if r := runGNUCase(gnuCase{script: "parallel echo ::: warm-up"}, gnuBin, gnuHome, filepath.Join(root, "warm-up")); r.err != nil || r.code != 0 {
		t.Fatalf("GNU parallel does not run: exit %d, %v, %s", r.code, r.err, r.stderr)
	}

	// run every case on both sides, a few at a time

	results := make([]outcome, len(cases))
	limit := min(max(runtime.NumCPU()*2, 2), 6)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dir := filepath.Join(root, fmt.Sprintf("case%03d", i))
			results[i].gnu = runGNUCase(c, gnuBin, gnuHome, filepath.Join(dir, "gnu"))
			results[i].mp = runGNUCase(c, mpBin, mpHome, filepath.Join(dir, "mp"))
		}()
	}
	wg.Wait()

	matched, regressions, fixed := tally(t, cases, results, known, gnuCasesFile, gnuKnownFile)
	if len(cases) == 0 {
		t.Fatal("no cases selected")
	}
	pct := 100 * float64(matched) / float64(len(cases))
	t.Logf("SUMMARY: %d of %d cases match GNU parallel (%.1f%%), %d differ (%d known, %d new), %d known differences now match; threshold %.1f%%",
		matched, len(cases), pct, len(cases)-matched, len(cases)-matched-regressions, regressions, fixed, gnuMinMatchPct)
	if !filtered && pct < gnuMinMatchPct {
		t.Errorf("only %.1f%% of the cases match GNU parallel, below the threshold of %.1f%%", pct, gnuMinMatchPct)
	}
	logSlowest(t, cases, results)
}

// logSlowest logs the cases that took longest, GNU's side and mp's, where
// the harness's time goes.
func logSlowest(t *testing.T, cases []gnuCase, results []outcome) {
	order := make([]int, len(cases))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return int((results[b].gnu.took + results[b].mp.took) - (results[a].gnu.took + results[a].mp.took))
	})
	var sum time.Duration
	for _, r := range results {
		sum += r.gnu.took + r.mp.took
	}
	var b strings.Builder
	for _, i := range order[:min(len(order), 15)] {
		fmt.Fprintf(&b, "\n  %-28s gnu %6.2fs  mp %6.2fs", cases[i].id, results[i].gnu.took.Seconds(), results[i].mp.took.Seconds())
	}
	t.Logf("cases took %.0fs in all; the slowest:%s", sum.Seconds(), b.String())
}

// outcome is a case's run through GNU parallel and through mp run.
type outcome struct{ gnu, mp gnuResult }

// tally compares each case's two runs and reports it: a difference not
// listed in knownFile is an error. It returns how many cases match, how
// many differ without being listed, and how many listed ones now match.
func tally(t *testing.T, cases []gnuCase, results []outcome, known map[string]string, casesFile, knownFile string) (matched, regressions, fixed int) {
	t.Helper()
	verbose := os.Getenv("MP_GNU_VERBOSE") == "1"
	for i, c := range cases {
		r := results[i]
		diff := compareGNU(c, r.gnu, r.mp)
		_, isKnown := known[c.id]
		switch {
		case diff == "" && isKnown:
			fixed++
			matched++
			t.Logf("PASS %s (%s): now matches GNU parallel; remove it from %s", c.id, c.origin, knownFile)
		case diff == "":
			matched++
			t.Logf("PASS %s", c.id)
		case isKnown:
			t.Logf("FAIL %s (known: %s): %s", c.id, known[c.id], diff)
		default:
			regressions++
			t.Errorf("FAIL %s (%s, %s:%d): %s\nscript: %s\nnot in %s: a regression, or a new difference to fix or list there",
				c.id, c.origin, casesFile, c.line, diff, c.script, knownFile)
		}
		if diff != "" && (verbose || !isKnown) {
			t.Logf("  %s gnu: exit %d stdout %q stderr %q", c.id, r.gnu.code, clip(r.gnu.stdout), clip(r.gnu.stderr))
			t.Logf("  %s mp:  exit %d stdout %q stderr %q", c.id, r.mp.code, clip(r.mp.stdout), clip(r.mp.stderr))
		}
	}
	return matched, regressions, fixed
}

// gnuParallelPath finds GNU parallel (not moreutils' parallel) or skips.
func gnuParallelPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("parallel")
	if err != nil {
		t.Skip("GNU parallel not found in $PATH (install it: apt-get install -y parallel); the side-by-side harness needs it")
	}
	out, err := exec.Command(path, "--will-cite", "--version").Output()
	if err != nil || !bytes.Contains(out, []byte("GNU parallel")) {
		t.Skipf("%s is not GNU parallel (install it: apt-get install -y parallel): %v", path, err)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found; the harness's cases are bash scripts")
	}
	return path
}

// writeWrapper writes dir/parallel, a bash script running body. It is bash
// and not sh: dash drops the BASH_FUNC_f%% variables of exported functions
// from the environment, and with them every case that runs one.
func writeWrapper(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "parallel"), []byte("#!/usr/bin/env bash\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

var gnuCaseID = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// loadGNUCases reads cases.txt: one case a line, "id | origin | flags |
// script", flags "-" or "sort"; # starts a comment line.
func loadGNUCases(path string) ([]gnuCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cases []gnuCase
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " | ", 4)
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: want \"id | origin | flags | script\"", path, n)
		}
		c := gnuCase{id: strings.TrimSpace(f[0]), origin: strings.TrimSpace(f[1]), script: strings.TrimSpace(f[3]), line: n}
		switch flags := strings.TrimSpace(f[2]); flags {
		case "-":
		case "sort":
			c.sort = true
		default:
			return nil, fmt.Errorf("%s:%d: flags %q: want - or sort", path, n, flags)
		}
		if !gnuCaseID.MatchString(c.id) || c.origin == "" || c.script == "" {
			return nil, fmt.Errorf("%s:%d: want an id of letters, digits and dashes, an origin and a script", path, n)
		}
		if prev, dup := seen[c.id]; dup {
			return nil, fmt.Errorf("%s:%d: id %q already used on line %d", path, n, c.id, prev)
		}
		seen[c.id] = n
		cases = append(cases, c)
	}
	return cases, sc.Err()
}

// loadGNUKnown reads known_differences.txt: "id reason..." a line.
func loadGNUKnown(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	known := map[string]string{}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, " ")
		if strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: %q has no reason", path, n+1, id)
		}
		if _, dup := known[id]; dup {
			return nil, fmt.Errorf("%s:%d: %q listed twice", path, n+1, id)
		}
		known[id] = strings.TrimSpace(reason)
	}
	return known, nil
}

// runGNUCase runs the case's script with bin/parallel first in $PATH and
// $HOME home, in a fresh work dir under dir, and collects what it left.
func runGNUCase(c gnuCase, bin, home, dir string) gnuResult {
	work, tmp := filepath.Join(dir, "work"), filepath.Join(dir, "tmp")
	for _, d := range []string{work, home, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return gnuResult{err: err}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), gnuCaseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", c.script)
	cmd.Dir = work
	cmd.Env = []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home, "TMPDIR=" + tmp, "SHELL=/bin/bash", "LC_ALL=C", "LANG=C", "TERM=dumb",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	// nothing the script started outlives it
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	r := gnuResult{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode(), took: took}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("timed out after %v", gnuCaseTimeout)
	} else if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			r.err = err
		}
	}
	r.files = map[string]string{}
	filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == work {
			return nil
		}
		rel, _ := filepath.Rel(work, p)
		switch {
		case d.IsDir():
			r.files[rel+"/"] = ""
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				r.files[rel] = "unreadable: " + err.Error()
				return nil
			}
			r.files[rel] = normaliseJobLog(string(b), true)
		default:
			r.files[rel] = "special file " + d.Type().String()
		}
		return nil
	})
	return r
}

// compareGNU describes how mp's run differs from GNU's, or returns "".
func compareGNU(c gnuCase, gnu, mp gnuResult) string {
	if gnu.err != nil {
		return "GNU parallel's side failed: " + gnu.err.Error()
	}
	if mp.err != nil {
		return "mp's side failed: " + mp.err.Error()
	}
	var diffs []string
	if gnu.code != mp.code {
		diffs = append(diffs, fmt.Sprintf("exit status %d, GNU %d", mp.code, gnu.code))
	}
	gOut, mOut := normaliseJobLog(gnu.stdout, false), normaliseJobLog(mp.stdout, false)
	if c.sort {
		gOut, mOut = sortLines(gOut), sortLines(mOut)
	}
	if gOut != mOut {
		diffs = append(diffs, "stdout differs: "+firstDiff(gOut, mOut))
	}
	for _, name := range slices.Sorted(maps.Keys(gnu.files)) {
		m, ok := mp.files[name]
		switch {
		case !ok:
			diffs = append(diffs, "file "+name+" missing")
		case m != gnu.files[name]:
			diffs = append(diffs, "file "+name+" differs: "+firstDiff(gnu.files[name], m))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(mp.files)) {
		if _, ok := gnu.files[name]; !ok {
			diffs = append(diffs, "extra file "+name)
		}
	}
	if len(diffs) > 4 {
		diffs = append(diffs[:4], fmt.Sprintf("and %d more", len(diffs)-4))
	}
	return strings.Join(diffs, "; ")
}

// jobLogRow matches a row of a job log up to its Command column: Seq, Host,
// Starttime, JobRuntime (GNU pads it with spaces), Send, Receive, Exitval,
// Signal.
var jobLogRow = regexp.MustCompile(`^\d+\t[^\t]*\t-?[\d.]+\t *-?[\d.]+\t\d+\t\d+\t-?\d+\t\d+\t`)

// normaliseJobLog keeps the deterministic columns of a job log (Seq,
// Exitval, Signal, Command) in text holding one; in a file (sortRows), the
// rows are sorted, as they are written in the order jobs end.
func normaliseJobLog(s string, sortRows bool) string {
	if !strings.Contains(s, "Seq\tHost\tStarttime\tJobRuntime") {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	var rows []string
	first := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "Seq\tHost\tStarttime\tJobRuntime") {
			lines[i] = "Seq\tExitval\tSignal\tCommand\n"
			continue
		}
		if !jobLogRow.MatchString(l) {
			continue
		}
		f := strings.SplitN(l, "\t", 9)
		lines[i] = strings.Join([]string{f[0], f[6], f[7], f[8]}, "\t")
		if sortRows {
			if first < 0 {
				first = i
			}
			rows = append(rows, lines[i])
			lines[i] = ""
		}
	}
	if sortRows && first >= 0 {
		slices.Sort(rows)
		lines[first] = strings.Join(rows, "")
	}
	return strings.Join(lines, "")
}

func sortLines(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// firstDiff shows where two texts part: the first differing line of each.
func firstDiff(gnu, mp string) string {
	g, m := strings.Split(gnu, "\n"), strings.Split(mp, "\n")
	for i := 0; i < max(len(g), len(m)); i++ {
		var gl, ml string
		if i < len(g) {
			gl = g[i]
		} else {
			gl = "<end>"
		}
		if i < len(m) {
			ml = m[i]
		} else {
			ml = "<end>"
		}
		if gl != ml {
			return fmt.Sprintf("line %d: GNU %q, mp %q", i+1, clip(gl), clip(ml))
		}
	}
	return "?"
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
