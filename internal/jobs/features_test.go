//go:build unix

package jobs

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// GNU parallel's output options and the job's environment, against what
// GNU parallel 20221122 prints for the same jobs.
func TestOutputOptions(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		tmpl string
		args [][]string
		want string
	}{
		{"-v", Config{Verbose: true, KeepOrder: true}, "echo", each("a", "b"), "echo a\na\necho b\nb\n"},
		{"--tagstring", Config{TagString: "<{}>", KeepOrder: true}, "echo", each("a", "b"), "<a>\ta\n<b>\tb\n"},
		{"--tagstring {#}", Config{TagString: "{#}:{1}", KeepOrder: true}, "echo", [][]string{{"a", "x"}}, "1:a\ta x\n"},
		{"-u", Config{Ungroup: true, Jobs: 1}, "echo", each("a", "b"), "a\nb\n"},
		{"$PARALLEL_SEQ and $PARALLEL_JOBSLOT", Config{Jobs: 1, KeepOrder: true}, "echo $PARALLEL_SEQ $PARALLEL_JOBSLOT {}", each("a", "b"), "1 1 a\n2 1 b\n"},
		{"{%} is the lowest free slot", Config{Jobs: 3, KeepOrder: true}, "sleep 0.{}; echo {%}", each("3", "0"), ""},
	}
	for _, tt := range tests {
		out, errOut, sum := runT(t, tt.cfg, tt.tmpl, tt.args...)
		if tt.want == "" { // the slots: the lowest free, so 1 and 2 (or 1 twice if they did not overlap), never 3
			lines := strings.Fields(out)
			sort.Strings(lines)
			if s := strings.Join(lines, " "); s != "1 2" && s != "1 1" {
				t.Errorf("%s: slots %q", tt.name, out)
			}
			continue
		}
		if out != tt.want || sum.Failed != 0 {
			t.Errorf("%s: %q (stderr %q), want %q", tt.name, out, errOut, tt.want)
		}
	}
}

// --results DIR: GNU parallel's tree, DIR/1/ARG/2/ARG/stdout, stderr, seq;
// a DIR with replacement strings names the files.
func TestResults(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "r")
	if out, _, _ := runT(t, Config{Results: res, Sources: 2}, "echo out {1}; echo err >&2", [][]string{{"a/b", "1"}, {"c", "2"}}...); out != "" {
		t.Errorf("--results printed %q; GNU parallel prints nothing", out)
	}
	for path, want := range map[string]string{
		"1/a\\_b/2/1/stdout": "out a/b\n", "1/a\\_b/2/1/stderr": "err\n", "1/a\\_b/2/1/seq": "1", "1/c/2/2/stdout": "out c\n",
	} {
		if b, err := os.ReadFile(filepath.Join(res, path)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", path, b, err, want)
		}
	}
	// with --header's names the directories are named after the columns
	hdr := filepath.Join(dir, "h")
	runT(t, Config{Results: hdr, Sources: 2, ResultNames: []string{"x", "y/z"}}, "echo {1}", [][]string{{"a", "1"}}...)
	if b, err := os.ReadFile(filepath.Join(hdr, "x", "a", "y\\_z", "1", "stdout")); err != nil || string(b) != "a\n" {
		t.Errorf("--results with --header: %q, %v", b, err)
	}
	csvPath := filepath.Join(dir, "r.csv")
	out, _, _ := runT(t, Config{Results: csvPath, KeepOrder: true}, "echo {1}; echo e >&2", [][]string{{"a b", "1"}, {"x", "1"}}...)
	b, _ := os.ReadFile(csvPath)
	rows := strings.Split(string(b), "\n")
	if out != "" || len(rows) < 5 || rows[0] != "Seq,Host,Starttime,JobRuntime,Send,Receive,Exitval,Signal,Command,V1,V2,Stdout,Stderr" ||
		!strings.HasSuffix(rows[1], `,0,4,0,0,"echo 'a b'; echo e >&2","a b",1,"a b`) || !strings.HasSuffix(rows[4], `,0,2,0,0,"echo x; echo e >&2",x,1,"x`) {
		t.Errorf("--results r.csv: printed %q, table:\n%s", out, b)
	}
	named := filepath.Join(dir, "n", "{}.out")
	runT(t, Config{Results: named}, "echo {}", each("x")...)
	for path, want := range map[string]string{"n/x.out": "x\n", "n/x.out.err": "", "n/x.out.seq": "1"} {
		if b, err := os.ReadFile(filepath.Join(dir, path)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", path, b, err, want)
		}
	}
}

// --delay spaces the starts; the job log says 127 for a program that
// does not exist and 0 / 9 for a job that killed itself.
func TestDelayAndJobLogStatuses(t *testing.T) {
	start := time.Now()
	runT(t, Config{Delay: 150 * time.Millisecond, Jobs: 3}, "true", each("1", "2", "3")...)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("3 jobs with --delay 0.15 took %v", took)
	}
	log := filepath.Join(t.TempDir(), "log")
	runT(t, Config{JobLog: log, KeepOrder: true, Jobs: 1}, "{}", each("mp-no-such-program x", "kill -9 $$")...)
	b, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("job log:\n%s", b)
	}
	for i, want := range []string{"127\t0", "0\t9"} {
		cols := strings.Split(lines[i+1], "\t")
		if got := cols[6] + "\t" + cols[7]; got != want {
			t.Errorf("job %d: Exitval, Signal = %q, want %q (%s)", i+1, got, want, lines[i+1])
		}
		if len(cols[3]) != 10 {
			t.Errorf("JobRuntime %q is not GNU's %%10.3f", cols[3])
		}
	}
}

// -t (--verbose): the commands on standard error, the output unchanged.
func TestTrace(t *testing.T) {
	out, errOut, _ := runT(t, Config{Trace: true, Jobs: 3, KeepOrder: true}, "sleep 0.{}; echo {}", each("3", "1")...)
	if out != "3\n1\n" || errOut != "sleep 0.3; echo 3\nsleep 0.1; echo 1\n" {
		t.Errorf("stdout %q stderr %q: want the commands in job order", out, errOut)
	}
}

// --joblog -: each job's line after its output, as GNU parallel writes it.
func TestJobLogStdoutOrder(t *testing.T) {
	out, _, _ := runT(t, Config{JobLog: "-", Jobs: 1, KeepOrder: true}, "echo", each("a", "b")...)
	lines := strings.Split(out, "\n")
	if len(lines) < 5 || lines[1] != "a" || !strings.HasPrefix(lines[2], "1\t") || lines[3] != "b" || !strings.HasPrefix(lines[4], "2\t") {
		t.Errorf("got %q, want the header, a, job 1's line, b, job 2's line", out)
	}
}
