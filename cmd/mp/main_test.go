//go:build unix

package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mp.Main()
	if os.Getenv("MP_TEST_CLI") == "1" {
		// this test binary is the mp command, for the tests that signal it
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// mpCmd is the mp command as a child process.
func mpCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = proc.SelfEnv("MP_TEST_CLI=1")
	return cmd
}

// cli runs the command in this process.
func cli(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestHelp(t *testing.T) {
	out, _, code := cli(t, "", "help")
	if code != 0 || !strings.Contains(out, "mp run [options] COMMAND") || !strings.Contains(out, "mp groupby --by") {
		t.Errorf("help: %d %q", code, out)
	}
	for _, sub := range []string{"run", "groupby"} {
		helpOut, _, code := cli(t, "", sub, "-h")
		if code != 0 {
			t.Errorf("%s -h: exit %d", sub, code)
		}
		for _, want := range []string{"--timeout", "--retries", "--halt", "--joblog", "--resume", "--bar", "--dry-run", "Exit status"} {
			if !strings.Contains(helpOut, want) {
				t.Errorf("%s -h lacks %q", sub, want)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"run", "-halt", "later", "echo"}, "-halt"},
		{[]string{"run", "-timeout", "soon", "echo"}, "-timeout"},
		{[]string{"run", "-retry-on", "x", "echo"}, "-retry-on"},
		{[]string{"run", "-j", "x", "echo"}, "-j \"x\""},
		{[]string{"run", "echo", ":::+", "a"}, "links to the input source before it"},
		{[]string{"run", "-resume", "echo", ":::", "a"}, "need --joblog"},
		{[]string{"run", "cat", "::::", "/nonexistent/file"}, "/nonexistent/file"},
		{[]string{"groupby", "-by", "a", "file"}, "after --"},
		{[]string{"groupby", "file", "--", "cat"}, "-by"},
	}
	for _, tt := range tests {
		_, errOut, code := cli(t, "", tt.args...)
		if code != 255 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, %q; want 255 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestRun(t *testing.T) {
	out, _, code := cli(t, "", "run", "-k", "echo", "{#}", "{}", ":::", "a", "b", ":::", "1", "2")
	if code != 0 || out != "1 a 1\n2 a 2\n3 b 1\n4 b 2\n" {
		t.Errorf("got %d %q", code, out)
	}
	out, _, code = cli(t, "x.c\ny.c\n", "run", "-k", "echo {.}.o")
	if code != 0 || out != "x.o\ny.o\n" {
		t.Errorf("stdin: %d %q", code, out)
	}
	dir := t.TempDir()
	list := filepath.Join(dir, "list")
	os.WriteFile(list, []byte("p\nq\n"), 0o600)
	out, _, code = cli(t, "", "run", "-k", "-a", list, "echo", ":::", "1")
	if code != 0 || out != "p 1\nq 1\n" {
		t.Errorf("-a: %d %q", code, out)
	}
	_, _, code = cli(t, "", "run", "sh -c 'exit {}'", ":::", "0", "1", "2")
	if code != 2 {
		t.Errorf("exit status %d, want 2 failed jobs", code)
	}
}

func TestGroupby(t *testing.T) {
	csvIn := "city,amount\nLyon,10\nOslo,5\nLyon,20\nQuito,1\nOslo,7\n"
	script := `awk -F, 'NR==1{print "city,rows"; next} {n++} END{print "{key.city}," n}'`
	for _, args := range [][]string{
		{"groupby", "-k", "-header-once", "-by", "city", "--", script},
		{"groupby", "-k", "-header-once", "-memory", "1", "-by", "city", "-", "--", script},
	} {
		out, errOut, code := cli(t, csvIn, args...)
		if code != 0 || out != "city,rows\nLyon,2\nOslo,2\nQuito,1\n" {
			t.Errorf("%q: %d %q %q", args, code, out, errOut)
		}
	}
	out, _, code := cli(t, "k,v\na,1\na,2\nb,3\n", "groupby", "-k", "-sorted", "-by", "k", "--", "echo {#} {key}; wc -l")
	if code != 0 || strings.Join(strings.Fields(out), " ") != "1 a 3 2 b 2" {
		t.Errorf("sorted: %d %q", code, out)
	}
}

// Ctrl-C: the first stops launching and terminates the running jobs; no
// job process outlives the command.
func TestInterrupt(t *testing.T) {
	for _, twice := range []bool{false, true} {
		// with twice, the jobs ignore SIGTERM and the grace is long: only
		// the second Ctrl-C can end them
		job := ": {}; echo $$; exec sleep 30"
		grace := "2s"
		if twice {
			job = ": {}; trap '' TERM; echo $$; while :; do sleep 0.05; done"
			grace = "60s"
		}
		cmd := mpCmd("run", "-j", "2", "-line-buffer", "-grace", grace, job, ":::", "1", "2", "3", "4")
		var errOut lockedBuffer
		cmd.Stderr = &errOut
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// the reads of the pids below end, whatever mp does
		guard := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
		br := bufio.NewReader(stdout)
		var pids []int
		for range 2 {
			line, err := br.ReadString('\n')
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("reading job pids: %v (stderr %q)", err, errOut.String())
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(line))
			pids = append(pids, pid)
		}
		guard.Stop()
		cmd.Process.Signal(os.Interrupt)
		if twice {
			// The second Ctrl-C once mp has taken the first (it says so):
			// two signals sent at once may reach it as one.
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(errOut.String(), "stopping:") {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("mp did not say it stops within 30s of Ctrl-C (stderr %q)", errOut.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			cmd.Process.Signal(os.Interrupt)
		}
		go io.Copy(io.Discard, br)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if code := cmd.ProcessState.ExitCode(); code == 0 {
				t.Errorf("exit status 0 after Ctrl-C (%v)", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("twice=%v: mp did not end after Ctrl-C", twice)
		}
		for _, pid := range pids {
			deadline := time.Now().Add(10 * time.Second)
			for alive(pid) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if alive(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("twice=%v: job process %d survived", twice, pid)
			}
		}
	}
}

// lockedBuffer is a bytes.Buffer that a command writes while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// alive reports whether pid runs (not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil && !strings.Contains(err.Error(), "no such")
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// The bar is drawn on the terminal (stderr) and never reaches stdout.
func TestBarOnATerminal(t *testing.T) {
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Skip("no pseudo-terminal:", err)
	}
	defer ptm.Close()
	cmd := mpCmd("run", "-k", "-bar", "sh -c 'sleep 0.02; echo {}'", ":::", "1", "2", "3", "4", "5", "6", "7", "8")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var term bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&term, ptm); close(copied) }()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	ptm.Close()
	<-copied
	if out.String() != "1\n2\n3\n4\n5\n6\n7\n8\n" {
		t.Errorf("stdout %q", out.String())
	}
	if !strings.Contains(term.String(), "8/8") {
		t.Errorf("no bar reaching 8/8 on the terminal: %q", term.String())
	}
}

// The README's main job: a regression per store of the bundled sales.csv,
// the same figures as the library's examples/groupby-regression.
func TestReadmeMainJob(t *testing.T) {
	out, errOut, code := cli(t, "", "groupby", "-k", "-bar", "-header-once", "-by", "store",
		"../../examples/groupby-regression/sales.csv", "--", "awk", "-v", "store={key}", "-f", "../../examples/mp-command/fit.awk")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 9 || lines[0] != "store,rows,intercept,slope,r2" || lines[4] != "oslo,600,-5.990,6.2519,0.9999" {
		t.Errorf("exit %d, output:\n%s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "8/8 100%") {
		t.Errorf("no final bar on stderr: %q", errOut)
	}
}

// selfEnvPrefix is what a shell wrapper that runs this test binary as mp
// puts before it: GORACE as proc.SelfEnv sets it for a copy of this
// program (no second of sleep at every exit of a race-built mp).
func selfEnvPrefix() string {
	prefix := ""
	for _, e := range proc.SelfEnv() {
		if v, ok := strings.CutPrefix(e, "GORACE="); ok {
			prefix = "GORACE=" + shQuote(v) + " "
		}
	}
	return prefix
}
