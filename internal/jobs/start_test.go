//go:build unix

package jobs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Each job gets its own $PARALLEL_SEQ even when mp run's environment has
// one (mp run inside a job of another): jobs are started without
// os/exec, which used to remove the duplicate.
func TestJobsGetTheirOwnSeqOverTheEnvironments(t *testing.T) {
	t.Setenv("PARALLEL_SEQ", "99")
	t.Setenv("PARALLEL_JOBSLOT", "98")
	out, _, _ := runT(t, Config{Jobs: 1, KeepOrder: true}, "printenv PARALLEL_SEQ PARALLEL_JOBSLOT", []string{""}, []string{""})
	if want := "1\n1\n2\n1\n"; out != want {
		t.Errorf("$PARALLEL_SEQ and $PARALLEL_JOBSLOT of two jobs: %q, want %q", out, want)
	}
}

func TestBaseEnv(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"A=1", "B=2"}, []string{"A=1", "B=2"}},
		{[]string{"A=1", "B=2", "A=3"}, []string{"B=2", "A=3"}}, // the last value wins, as in os/exec
		{[]string{"PARALLEL_SEQ=4", "A=1", "PARALLEL_JOBSLOT=2"}, []string{"A=1"}},
		{[]string{"odd", "", "A="}, []string{"odd", "A="}},
	} {
		if got := baseEnv(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("baseEnv(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Jobs' output files serve later jobs: each job's output is its own,
// whatever the outputs before it were (longer, shorter, on stdout or on
// stderr).
func TestReusedOutputFilesHoldOnlyTheirJobsOutput(t *testing.T) {
	var args [][]string
	var want strings.Builder
	for i := range 60 {
		n := (i * 7919) % 23 // lines of output, varying up and down
		args = append(args, []string{strconv.Itoa(n)})
		for k := 1; k <= n; k++ {
			fmt.Fprintf(&want, "%d\n", k)
		}
	}
	// the even lines to stdout, the odd ones to stderr too
	out, errOut, sum := runT(t, Config{Jobs: 2, KeepOrder: true}, "seq {} ; seq {} | sed -n 'p;n' >&2", args...)
	if sum.Failed != 0 {
		t.Fatalf("%d jobs failed: %s", sum.Failed, errOut)
	}
	if out != want.String() {
		t.Errorf("stdout of the jobs, in order:\n%q\nwant\n%q", out, want.String())
	}
	var wantErr strings.Builder
	for _, a := range args {
		n, _ := strconv.Atoi(a[0])
		for k := 1; k <= n; k += 2 {
			fmt.Fprintf(&wantErr, "%d\n", k)
		}
	}
	if errOut != wantErr.String() {
		t.Errorf("stderr of the jobs, in order:\n%q\nwant\n%q", errOut, wantErr.String())
	}
}

// A job's output file is not given to another job while a process the
// job left behind can still write to it: what that process writes late
// never appears in a later job's output.
func TestLateOutputOfAJobsBackgroundProcessStaysOutOfLaterJobs(t *testing.T) {
	args := [][]string{{"(sleep 0.3; echo LATE; echo LATE >&2) & echo first"}}
	for i := range 30 {
		args = append(args, []string{"sleep 0.02; echo job" + strconv.Itoa(i)})
	}
	out, errOut, _ := runT(t, Config{Jobs: 1, KeepOrder: true}, "{}", args...)
	if strings.Contains(out, "LATE") || strings.Contains(errOut, "LATE") {
		t.Errorf("the late output of job 1's background process is in a later job's output:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if !strings.HasPrefix(out, "first\njob0\n") || !strings.HasSuffix(out, "job29\n") {
		t.Errorf("stdout:\n%s", out)
	}
}

// A --pipe block goes to its job by reference (vmsplice): its memory is
// not given to another block while a process the job left running can
// still read it from the pipe (Job.DataShared), and the whole block
// reaches that process even though the job itself has ended: blocks of
// 200 KiB (in the pipe at once) and of 3 MiB (bigger than the pipe: the
// rest is written as the background process reads). Until the fix the
// runner closed the pipe when the job ended, and the background process
// read a cut block, or none when the writer had not started (flaky at
// load 12 for 200 KiB; every time for 3 MiB).
func TestBlockStaysWhileWhatItsJobLeftCanReadIt(t *testing.T) {
	dir := t.TempDir()
	tm, err := Parse([]string{"exec 3<&0; (sleep 0.3; cksum <&3 > " + dir + "/{#}.part && mv " + dir + "/{#}.part " + dir + "/{#}) &"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	want := make([]string, n)
	input := func(yield func(*Job, error) bool) {
		for i := range n {
			size := 200 << 10 // by reference, and fits the pipe
			if i%2 == 1 {
				size = 3 << 20 // more than the pipe holds (1 MiB)
			}
			b := bytes.Repeat([]byte(fmt.Sprintf("block %d\n", i)), size/8)
			want[i] = cksum(t, b)
			j := &Job{Seq: i + 1, Data: b}
			j.Release = func() {
				if !j.DataShared {
					for k := range b {
						b[k] = 'X' // another block read into its memory
					}
				}
			}
			if !yield(j, nil) {
				return
			}
		}
	}
	var out, errb syncBuffer
	if _, err := NewRunner(Config{Template: tm, Jobs: 1, Stdout: &out, Stderr: &errb}).Run(context.Background(), input); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := range n {
		path := filepath.Join(dir, strconv.Itoa(i+1))
		for {
			got, err := os.ReadFile(path)
			if err == nil {
				if string(got) != want[i] {
					t.Errorf("block %d as its job's background process read it: cksum %q, want %q", i+1, got, want[i])
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("block %d: no cksum after 30 s (%s)", i+1, errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func cksum(t *testing.T, b []byte) string {
	t.Helper()
	cmd := exec.Command("cksum")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("no cksum: %v", err)
	}
	return string(out)
}
