//go:build unix

package jobs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer safe for the runner's writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runT runs tmpl over the args with cfg and returns stdout, stderr and
// the summary, failing the test if the run does not end within a minute.
func runT(t *testing.T, cfg Config, tmpl string, args ...[]string) (string, string, Summary) {
	t.Helper()
	tm, err := Parse([]string{tmpl})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	cfg.Template, cfg.Stdout = tm, &out
	if cfg.Stderr == nil {
		cfg.Stderr = &errb
	}
	if cfg.Jobs == 0 {
		cfg.Jobs = 4
	}
	input := func(yield func(*Job, error) bool) {
		for i, a := range args {
			if !yield(&Job{Seq: i + 1, Args: a}, nil) {
				return
			}
		}
	}
	var sum Summary
	done := make(chan struct{})
	go func() {
		defer close(done)
		sum, err = NewRunner(cfg).Run(context.Background(), input)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the run did not end within a minute")
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), sum
}

func each(vals ...string) [][]string {
	var out [][]string
	for _, v := range vals {
		out = append(out, []string{v})
	}
	return out
}

func TestKeepOrderAndGrouping(t *testing.T) {
	// Each job prints three lines with pauses between them, and jobs take
	// random times: with -k the outputs come in input order; with or
	// without it, a job's lines are never split by another's.
	var args [][]string
	for i := range 24 {
		args = append(args, []string{strconv.Itoa(i), fmt.Sprintf("0.0%d", rand.N(5))})
	}
	for _, keep := range []bool{true, false} {
		out, _, sum := runT(t, Config{KeepOrder: keep, Jobs: 6}, "echo {1} a; sleep {2}; echo {1} b; sleep {2}; echo {1} c", args...)
		if sum.Done != 24 || sum.Failed != 0 {
			t.Fatalf("summary %+v", sum)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 72 {
			t.Fatalf("%d lines:\n%s", len(lines), out)
		}
		seen := map[string]bool{}
		for k := 0; k < len(lines); k += 3 {
			id := strings.Fields(lines[k])[0]
			if lines[k+1] != id+" b" || lines[k+2] != id+" c" || seen[id] {
				t.Fatalf("keep=%v: job %s's lines are split:\n%s", keep, id, out)
			}
			seen[id] = true
			if keep && id != strconv.Itoa(k/3) {
				t.Fatalf("-k: job %s in place %d:\n%s", id, k/3, out)
			}
		}
	}
}

func TestLineBufferAndTag(t *testing.T) {
	out, _, _ := runT(t, Config{LineBuffer: true, Tag: true}, "echo one; printf two", each("x", "y")...)
	for _, want := range []string{"x\tone\n", "x\ttwo\n", "y\tone\n", "y\ttwo\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestTimeout(t *testing.T) {
	start := time.Now()
	_, _, sum := runT(t, Config{Timeout: 200 * time.Millisecond, Grace: 100 * time.Millisecond}, "sleep {}", each("30", "0")...)
	if sum.Failed != 1 || sum.Done != 2 {
		t.Errorf("summary %+v, want the sleeper failed", sum)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v: the timed-out job was not killed", d)
	}
	// --timeout N% applies to a job already running when the median is
	// known: the sleeper starts first, before any job has ended
	start = time.Now()
	_, _, sum = runT(t, Config{Jobs: 4, TimeoutPct: 200, Grace: 100 * time.Millisecond}, "sleep {}", each("30", "0", "0", "0", "0")...)
	if sum.Failed != 1 || time.Since(start) > 20*time.Second {
		t.Errorf("--timeout 200%%: %+v after %v, want the sleeper killed", sum, time.Since(start))
	}
	// a job that ignores SIGTERM is killed after the grace period
	_, _, sum = runT(t, Config{Timeout: 200 * time.Millisecond, Grace: 200 * time.Millisecond}, "trap '' TERM; sleep {}", each("30")...)
	if sum.Failed != 1 {
		t.Errorf("summary %+v", sum)
	}
}

func TestRetries(t *testing.T) {
	dir := t.TempDir()
	// fails until its third try
	script := "n=$(cat {} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {}; echo try $n; [ $n -ge 3 ]"
	count := filepath.Join(dir, "a")
	out, _, sum := runT(t, Config{Tries: 3, RetryDelay: time.Millisecond}, script, each(count)...)
	if sum.Failed != 0 || !strings.Contains(out, "try 3") || strings.Contains(out, "try 2") {
		t.Errorf("3 tries: %+v, output %q (only the last try's output is printed)", sum, out)
	}
	_, _, sum = runT(t, Config{Tries: 2, RetryDelay: time.Millisecond}, script, each(filepath.Join(dir, "b"))...)
	if sum.Failed != 1 {
		t.Errorf("2 tries of a job needing 3: %+v", sum)
	}
	// --retry-on: exit 1 is not in the list, so no retry
	c := filepath.Join(dir, "c")
	_, _, sum = runT(t, Config{Tries: 5, RetryOn: []int{75}, RetryDelay: time.Millisecond}, script, each(c)...)
	if b, _ := os.ReadFile(c); sum.Failed != 1 || strings.TrimSpace(string(b)) != "1" {
		t.Errorf("retry-on 75 retried exit 1: %+v, %q tries", sum, b)
	}
}

// --retries {//}: the tries of each job come from its own value, as GNU
// parallel reads a replacement string given to --retries.
func TestRetriesReplacement(t *testing.T) {
	tests := []struct {
		text  string
		arg   string
		tries string // lines the job wrote, one per try
	}{
		{"{//}", "1/x", "1"},
		{"{//}", "3/x", "3"},
		{"{/}", "a/2", "2"},
		{"{}", "not-a-number", "1"}, // once, as GNU parallel's 0
	}
	for _, tt := range tests {
		log := filepath.Join(t.TempDir(), "log")
		_, _, sum := runT(t, Config{TriesText: tt.text, Tries: 5, RetryDelay: time.Millisecond}, "echo x >> "+log+"; exit 1 # {}", each(tt.arg)...)
		b, _ := os.ReadFile(log)
		if got := strconv.Itoa(strings.Count(string(b), "x")); got != tt.tries || sum.Failed != 1 {
			t.Errorf("--retries %s with %s: %s tries (%+v), want %s", tt.text, tt.arg, got, sum, tt.tries)
		}
	}
}

// onText is a writer that calls fn once when what it was written
// contains text: a test's condition to wait on.
type onText struct {
	syncBuffer
	text string
	once sync.Once
	fn   func()
}

func (o *onText) Write(p []byte) (int, error) {
	n, err := o.syncBuffer.Write(p)
	if strings.Contains(o.String(), o.text) {
		o.once.Do(o.fn)
	}
	return n, err
}

func TestHalt(t *testing.T) {
	start := time.Now()
	args := append(each("exit 3"), each("sleep 30", "sleep 30", "sleep 30", "sleep 30", "sleep 30")...)
	_, _, sum := runT(t, Config{Jobs: 2, Halt: Halt{Now: true, N: 1}, Grace: 100 * time.Millisecond}, "sh -c {}", args...)
	if !sum.Halted || time.Since(start) > 20*time.Second || sum.ExitStatus() != 3 {
		t.Errorf("halt now,fail=1: %+v (exit %d) after %v", sum, sum.ExitStatus(), time.Since(start))
	}
	// soon: running jobs finish, no new one starts. The second job runs
	// until the runner has said it halts (its message on stderr makes the
	// file the job waits for), so it is running when the halt comes.
	// The first job fails only once the second has started.
	dir := t.TempDir()
	flag, started := filepath.Join(dir, "halted"), filepath.Join(dir, "started")
	stderr := &onText{text: "This job failed", fn: func() { os.WriteFile(flag, nil, 0o600) }}
	waitFor := func(f string) string {
		return "i=0; while [ ! -e " + f + " ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done"
	}
	first := waitFor(started) + "; exit 3"
	second := "touch " + started + "; " + waitFor(flag) + "; echo second"
	args = append(each(first, second), each("echo late", "echo late", "echo late")...)
	out, _, sum := runT(t, Config{Jobs: 2, Halt: Halt{N: 1}, Stderr: stderr}, "sh -c {}", args...)
	if !sum.Halted || strings.Contains(out, "late") || !strings.Contains(out, "second") || sum.Done != 2 {
		t.Errorf("halt soon,fail=1: %+v, output %q", sum, out)
	}
	// GNU parallel 20221122's exit statuses, with -j1
	tests := []struct {
		halt Halt
		jobs []string
		done int
		exit int
	}{
		{Halt{Success: true, Pct: 50}, []string{"true", "true", "true", "true", "true", "true"}, 3, 0},
		{Halt{N: 2}, []string{"true", "exit 3", "exit 5", "exit 7"}, 3, 2},
		{Halt{Now: true, Pct: 20}, []string{"true", "exit 1", "exit 2", "true", "true", "true", "true", "true", "true", "true"}, 3, 20},
		{Halt{Pct: 50}, []string{"true", "exit 1", "exit 2", "true", "true", "true"}, 6, 34}, // never reached: still a percentage
		{Halt{Done: true, N: 2}, []string{"true", "exit 1", "exit 2", "true"}, 2, 1},
		{Halt{Now: true, Done: true, Pct: 50}, []string{"exit 1", "true", "true", "exit 4"}, 2, 25},
		{Halt{Now: true, Success: true, N: 1}, []string{"exit 1", "true", "exit 2"}, 2, 0},
	}
	for _, tt := range tests {
		_, _, sum := runT(t, Config{Jobs: 1, Halt: tt.halt}, "sh -c {}", each(tt.jobs...)...)
		if sum.Done != tt.done || sum.ExitStatus() != tt.exit {
			t.Errorf("--halt %+v over %q: %d jobs done, exit %d; want %d, %d", tt.halt, tt.jobs, sum.Done, sum.ExitStatus(), tt.done, tt.exit)
		}
	}
}

func TestJobLogAndResume(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	ran := filepath.Join(dir, "ran")
	tmpl := "echo {} >> " + ran + "; [ {} != bad ]"
	_, _, sum := runT(t, Config{JobLog: log}, tmpl, each("a", "bad", "c")...)
	if sum.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	b, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 || lines[0] != "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand" {
		t.Fatalf("job log:\n%s", b)
	}
	for _, l := range lines[1:] {
		cols := strings.Split(l, "\t")
		if len(cols) != 9 || (strings.HasPrefix(cols[8], "echo bad") != (cols[6] == "1")) {
			t.Errorf("job log line %q", l)
		}
	}
	// --resume-failed runs only "bad" again; --resume runs nothing
	os.Remove(ran)
	runT(t, Config{JobLog: log, ResumeFail: true}, tmpl, each("a", "bad", "c")...)
	if b, _ := os.ReadFile(ran); string(b) != "bad\n" {
		t.Errorf("--resume-failed ran %q", b)
	}
	os.Remove(ran)
	_, _, sum = runT(t, Config{JobLog: log, Resume: true}, tmpl, each("a", "bad", "c", "d")...)
	if b, _ := os.ReadFile(ran); string(b) != "d\n" || sum.Skipped != 3 {
		t.Errorf("--resume ran %q (summary %+v)", b, sum)
	}
}

func TestJSONEvents(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events")
	runT(t, Config{JSON: events, Tries: 2, RetryDelay: time.Millisecond}, "sh -c {}", each("true", "false")...)
	f, _ := os.Open(events)
	defer f.Close()
	kinds := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, k := range []string{"start", "retry", "finish"} {
			if strings.Contains(sc.Text(), `"event":"`+k+`"`) {
				kinds[k]++
			}
		}
	}
	if kinds["start"] != 3 || kinds["retry"] != 1 || kinds["finish"] != 2 {
		t.Errorf("events %v", kinds)
	}
}

func TestExitStatusAndErrors(t *testing.T) {
	var args [][]string
	for range 120 {
		args = append(args, []string{"x"})
	}
	_, _, sum := runT(t, Config{Jobs: 8}, "false", args...)
	if sum.Failed != 120 || sum.ExitStatus() != 101 {
		t.Errorf("120 failures: %+v, exit %d", sum, sum.ExitStatus())
	}
	_, errOut, sum := runT(t, Config{}, "/nonexistent/program", each("x")...)
	if sum.Failed != 1 || !strings.Contains(errOut, "/nonexistent/program") {
		t.Errorf("a program that cannot start: %+v, %q", sum, errOut)
	}
	out, _, _ := runT(t, Config{DryRun: true}, "rm {}", each("a b", "c")...)
	if out != "rm 'a b'\nrm c\n" {
		t.Errorf("dry run printed %q", out)
	}
}

func TestBigOutputSpills(t *testing.T) {
	out, _, sum := runT(t, Config{Jobs: 2}, "head -c {} /dev/zero", each("3000000", "10")...)
	if sum.Failed != 0 || len(out) != 3000010 {
		t.Errorf("%d bytes of output, want 3000010 (%+v)", len(out), sum)
	}
}

func TestInterruptStopsEverything(t *testing.T) {
	ran := filepath.Join(t.TempDir(), "ran")
	tm, _ := Parse([]string{"echo {#} >> " + ran + "; sleep 30"})
	var out syncBuffer
	r := NewRunner(Config{Template: tm, Jobs: 2, Grace: 200 * time.Millisecond, Stdout: &out, Stderr: &out})
	input := func(yield func(*Job, error) bool) {
		for i := range 100 {
			if !yield(&Job{Seq: i + 1}, nil) {
				return
			}
		}
	}
	done := make(chan Summary)
	go func() {
		sum, _ := r.Run(context.Background(), input)
		done <- sum
	}()
	// both jobs run their sleep before the Ctrl-C
	deadline := time.Now().Add(20 * time.Second)
	for b, _ := os.ReadFile(ran); len(strings.Fields(string(b))) < 2; b, _ = os.ReadFile(ran) {
		if time.Now().After(deadline) {
			r.Kill()
			<-done
			t.Fatalf("two jobs did not start within 20s (%s)", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Interrupt()
	select {
	case sum := <-done:
		if !sum.Interrupted || sum.Done > 4 {
			t.Errorf("summary %+v", sum)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Interrupt did not end the run")
	}
}

// An interrupted run leaves the stopped jobs out of the job log, so that
// --resume runs them, and only them, again.
func TestResumeAfterInterrupt(t *testing.T) {
	dir := t.TempDir()
	log, ran, stop := filepath.Join(dir, "log"), filepath.Join(dir, "ran"), filepath.Join(dir, "stop")
	tmpl := "echo {} >> " + ran + "; test {} = quick || test -e " + stop + " || sleep 30"
	tm, _ := Parse([]string{tmpl})
	var out syncBuffer
	r := NewRunner(Config{Template: tm, Jobs: 2, JobLog: log, Grace: 100 * time.Millisecond, Stdout: &out, Stderr: &out})
	input := func(yield func(*Job, error) bool) {
		for i, a := range []string{"quick", "slow1", "slow2", "later"} {
			if !yield(&Job{Seq: i + 1, Args: []string{a}}, nil) {
				return
			}
		}
	}
	done := make(chan Summary)
	go func() { sum, _ := r.Run(context.Background(), input); done <- sum }()
	deadline := time.Now().Add(20 * time.Second)
	for b, _ := os.ReadFile(ran); strings.Count(string(b), "slow") < 2; b, _ = os.ReadFile(ran) {
		if time.Now().After(deadline) {
			r.Kill()
			<-done
			t.Fatalf("the two slow jobs did not start within 20s: %q ran", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Interrupt()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the interrupted run did not end")
	}
	os.WriteFile(stop, nil, 0o600)
	os.Remove(ran)
	_, _, sum := runT(t, Config{JobLog: log, Resume: true}, tmpl, each("quick", "slow1", "slow2", "later")...)
	b, _ := os.ReadFile(ran)
	got := strings.Fields(string(b))
	slices.Sort(got)
	if strings.Join(got, " ") != "later slow1 slow2" || sum.Failed != 0 || sum.Skipped != 1 {
		t.Errorf("resumed run ran %q (%+v), want the two stopped jobs and the one never started", got, sum)
	}
}

// --halt now with --timeout, on jobs that ignore SIGTERM: the first
// timeout fails a job, the halt stops the rest, SIGKILL after the grace
// ends them; the run never hangs.
func TestHaltWithTimeoutNeverHangs(t *testing.T) {
	start := time.Now()
	_, _, sum := runT(t, Config{Jobs: 3, Timeout: 300 * time.Millisecond, Grace: 300 * time.Millisecond, Halt: Halt{Now: true, N: 1}},
		"trap '' TERM; sleep {}", each("30", "30", "30", "30", "30", "30")...)
	if !sum.Halted || sum.Done > 3 || time.Since(start) > 20*time.Second {
		t.Errorf("%+v after %v", sum, time.Since(start))
	}
}
