//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/mp-go/mp/internal/sshtest"
)

// TestGNUParallelSSH is the side-by-side harness of TestGNUParallel for
// -S: the cases of testdata/gnu/ssh_cases.txt run against an sshd of the
// loopback that the test starts (installing OpenSSH and rsync, which GNU
// parallel's --transferfile needs, when missing). In every script $SSHCMD
// is the ssh command that logs into 127.0.0.1 and $PARALLEL_SSH is set to
// it, so "-S 127.0.0.1" works on both sides. The remote commands run as
// the test's user in its login directory: cases that leave files there
// use --workdir with a directory of the case instead.
//
// MP_GNU_CASES=REGEXP and MP_GNU_VERBOSE=1 work as for TestGNUParallel.
func TestGNUParallelSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an sshd")
	}
	gnu := gnuParallelPath(t)
	cases, err := loadGNUCases(gnuSSHCasesFile)
	if err != nil {
		t.Fatal(err)
	}
	known, err := loadGNUKnown(gnuSSHKnownFile)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range cases {
		ids[c.id] = true
	}
	for id := range known {
		if !ids[id] {
			t.Errorf("%s names %q, which is no case of %s", gnuSSHKnownFile, id, gnuSSHCasesFile)
		}
	}
	if pat := os.Getenv("MP_GNU_CASES"); pat != "" {
		re, err := regexp.Compile(pat)
		if err != nil {
			t.Fatalf("MP_GNU_CASES=%q: %v", pat, err)
		}
		cases = slices.DeleteFunc(cases, func(c gnuCase) bool { return !re.MatchString(c.id) })
	}
	if len(cases) == 0 {
		t.Fatal("no cases selected")
	}
	sshtest.Install(t, []string{"rsync"}, "rsync")
	srv := sshtest.Start(t)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	gnuBin, mpBin := filepath.Join(root, "bin-gnu"), filepath.Join(root, "bin-mp")
	env := fmt.Sprintf("export SSHCMD=%s PARALLEL_SSH=%s\n", shQuote(srv.SSH), shQuote(srv.SSH))
	writeWrapper(t, gnuBin, env+fmt.Sprintf("exec %s --will-cite \"$@\"\n", shQuote(gnu)))
	writeWrapper(t, mpBin, env+selfEnvPrefix()+fmt.Sprintf("MP_TEST_CLI=1 exec %s run \"$@\"\n", shQuote(self)))
	gnuHome, mpHome := filepath.Join(root, "home-gnu"), filepath.Join(root, "home-mp")
	if r := runGNUCase(gnuCase{script: "parallel echo ::: warm-up"}, gnuBin, gnuHome, filepath.Join(root, "warm-up")); r.err != nil || r.code != 0 {
		t.Fatalf("GNU parallel does not run: exit %d, %v, %s", r.code, r.err, r.stderr)
	}

	results := make([]outcome, len(cases))
	sem := make(chan struct{}, 3) // each ssh login costs 1-2 s of a loaded machine
	var wg sync.WaitGroup
	for i, c := range cases {
		// the scripts see $SSHCMD and $PARALLEL_SSH (runGNUCase sets a
		// fixed environment): the wrappers export them, and so does the
		// script itself for its own ssh commands
		c.script = env + c.script
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

	matched, _, _ := tally(t, cases, results, known, gnuSSHCasesFile, gnuSSHKnownFile)
	t.Logf("SUMMARY: %d of %d -S cases match GNU parallel", matched, len(cases))
}

const (
	gnuSSHCasesFile = "testdata/gnu/ssh_cases.txt"
	gnuSSHKnownFile = "testdata/gnu/ssh_known_differences.txt"
)
