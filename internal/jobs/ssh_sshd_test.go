//go:build unix

package jobs

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp/internal/sshtest"
)

// TestSSH runs jobs on an sshd of the loopback started for the test: -S
// as GNU parallel runs it, one ssh per job.
func TestSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an sshd")
	}
	srv := sshtest.Start(t)
	remote := func(slots int) SSHLogin { return SSHLogin{Login: "127.0.0.1", Host: "127.0.0.1", Slots: slots} }
	local := SSHLogin{Login: ":", Local: true, Slots: 1}

	t.Run("remote command, variables, exit statuses, job log Host", func(t *testing.T) {
		dir := t.TempDir()
		log := filepath.Join(dir, "log")
		cfg := Config{SSH: &SSH{Command: srv.SSH, Logins: []SSHLogin{remote(1), local}}, JobLog: log, KeepOrder: true}
		out, _, sum := runT(t, cfg, "echo {} seq=$PARALLEL_SEQ; test {} != c", each("a", "b", "c", "d")...)
		if out != "a seq=1\nb seq=2\nc seq=3\nd seq=4\n" || sum.Done != 4 || sum.Failed != 1 || sum.ExitStatus() != 1 {
			t.Fatalf("out %q, summary %+v; want a..d with their numbers, one failure", out, sum)
		}
		b, _ := os.ReadFile(log)
		hosts := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
			f := strings.Split(line, "\t")
			hosts[f[1]]++
			if f[8] == "echo c seq=$PARALLEL_SEQ; test c != c" && f[6] != "1" {
				t.Errorf("job c's Exitval is %s, want 1: %q", f[6], line)
			}
		}
		if hosts["127.0.0.1"] == 0 || hosts[":"] == 0 || hosts["127.0.0.1"]+hosts[":"] != 4 {
			t.Errorf("job log Host columns %v, want both 127.0.0.1 and : over 4 jobs:\n%s", hosts, b)
		}
	})

	t.Run("runs in the login directory of the host", func(t *testing.T) {
		u, err := user.Current()
		if err != nil {
			t.Skip(err)
		}
		out, _, _ := runT(t, Config{SSH: &SSH{Command: srv.SSH, Logins: []SSHLogin{remote(1)}}}, "pwd", each("")...)
		if strings.TrimSpace(out) != u.HomeDir {
			t.Errorf("pwd on the host printed %q, want the login directory %q", out, u.HomeDir)
		}
	})

	t.Run("the sshlogin's own ssh command", func(t *testing.T) {
		l := SSHLogin{Login: srv.SSH + " 127.0.0.1", Command: srv.SSH, Host: "127.0.0.1", Slots: 2}
		out, errs, sum := runT(t, Config{SSH: &SSH{Command: "false", Logins: []SSHLogin{l}}, KeepOrder: true}, "echo", each("x", "y")...)
		if out != "x\ny\n" || sum.Failed != 0 {
			t.Errorf("out %q, stderr %q, summary %+v", out, errs, sum)
		}
	})

	t.Run("--env", func(t *testing.T) {
		t.Setenv("MP_SSH_TEST_VALUE", "a 'quoted' $value")
		out, _, _ := runT(t, Config{SSH: &SSH{Command: srv.SSH, Logins: []SSHLogin{remote(1)}, Env: []string{"MP_SSH_TEST_VALUE"}}},
			`echo "[$MP_SSH_TEST_VALUE]"{}`, each("")...)
		if out != "[a 'quoted' $value]\n" {
			t.Errorf("out %q, want the variable's value as it is here", out)
		}
	})

	t.Run("--transferfile, --return, --cleanup, --workdir", func(t *testing.T) {
		here, there := t.TempDir(), t.TempDir()
		os.MkdirAll(filepath.Join(here, "in"), 0o755)
		os.WriteFile(filepath.Join(here, "in", "a.txt"), []byte("hello\n"), 0o644)
		cfg := Config{SSH: &SSH{Command: srv.SSH, Logins: []SSHLogin{remote(1)}, Workdir: there,
			Transfer: []string{"{}"}, Return: []string{here + "/out/./in/{/.}.out"}, Cleanup: true}}
		out, errs, sum := runT(t, cfg, "pwd; tr a-z A-Z < in/{/} > in/{/.}.out", each(here+"/./in/a.txt")...)
		if strings.TrimSpace(out) != there || sum.Failed != 0 {
			t.Fatalf("out %q (want the --workdir %s), stderr %q, summary %+v", out, there, errs, sum)
		}
		if b, err := os.ReadFile(filepath.Join(here, "out", "in", "a.out")); string(b) != "HELLO\n" {
			t.Errorf("the returned file: %q, %v; want HELLO", b, err)
		}
		if ents, _ := os.ReadDir(there); len(ents) != 0 {
			t.Errorf("--cleanup left %v in the remote work dir", ents)
		}
	})

	t.Run("--workdir ... is a new directory, removed by --cleanup", func(t *testing.T) {
		cfg := Config{SSH: &SSH{Command: srv.SSH, Logins: []SSHLogin{remote(2)}, Workdir: "...", Cleanup: true}, KeepOrder: true}
		out, _, _ := runT(t, cfg, "pwd", each("", "")...)
		dirs := strings.Fields(out)
		if len(dirs) != 2 || dirs[0] == dirs[1] || !strings.Contains(dirs[0], "/.parallel/tmp/") {
			t.Fatalf("pwd printed %q, want two directories under ~/.parallel/tmp", out)
		}
		for _, d := range dirs {
			if _, err := os.Stat(d); !os.IsNotExist(err) {
				t.Errorf("%s is still there (%v)", d, err)
			}
		}
	})

	t.Run("--onall groups each host's output", func(t *testing.T) {
		cfg := Config{SSH: &SSH{Command: srv.SSH, Logins: []SSHLogin{remote(0), local}, OnAll: true, Jobs: "2"}}
		out, _, sum := runT(t, cfg, "echo {}; exit {}", each("0", "2", "0")...)
		if out != "0\n2\n0\n0\n2\n0\n" || sum.Done != 6 || sum.Failed != 2 {
			t.Errorf("out %q, summary %+v; want 0 2 0 from each host, together, and 2 failures", out, sum)
		}
	})

	t.Run("--retries and --halt with remote jobs", func(t *testing.T) {
		dir := t.TempDir()
		cfg := Config{SSH: &SSH{Command: srv.SSH, Logins: []SSHLogin{remote(1)}}, Tries: 2, RetryDelay: 1}
		out, _, sum := runT(t, cfg, "test -e "+dir+"/once || { touch "+dir+"/once; exit 3; }; echo ok{}", each("")...)
		if out != "ok\n" || sum.Failed != 0 {
			t.Errorf("with --retries 2 the job failing once: out %q, summary %+v", out, sum)
		}
		cfg = Config{SSH: &SSH{Command: srv.SSH, Logins: []SSHLogin{remote(1)}}, Halt: Halt{Now: true, N: 1}, Jobs: 1}
		_, _, sum = runT(t, cfg, "exit {}", each("0", "7", "0", "0")...)
		if !sum.Halted || sum.ExitStatus() != 7 || sum.Done != 2 {
			t.Errorf("--halt now,fail=1: summary %+v (exit %d), want halted after job 2 with its status 7", sum, sum.ExitStatus())
		}
	})

	t.Run("a job killed here dies there", func(t *testing.T) {
		// Ctrl-C (as --timeout and --halt now) kills the local ssh; the
		// remote job must not live on. The host is this machine: the
		// remote sleep's pid is visible.
		pidFile := filepath.Join(t.TempDir(), "pid")
		tm, _ := Parse([]string{"sleep 120 & echo $! > " + pidFile + "; wait; echo never{}"})
		var out syncBuffer
		r := NewRunner(Config{Template: tm, Stdout: &out, Stderr: &out, Grace: 100 * time.Millisecond,
			SSH: &SSH{Command: srv.SSH, Logins: []SSHLogin{remote(1)}}})
		done := make(chan Summary, 1)
		go func() {
			sum, _ := r.Run(context.Background(), func(yield func(*Job, error) bool) { yield(&Job{Seq: 1, Args: []string{""}}, nil) })
			done <- sum
		}()
		var pid int
		deadline := time.Now().Add(time.Minute)
		for pid == 0 {
			b, _ := os.ReadFile(pidFile)
			if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 {
				pid = p
				break
			}
			if time.Now().After(deadline) {
				r.Kill()
				<-done
				t.Fatalf("the remote job did not start within a minute: %s", out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		r.Interrupt()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("the run did not end within a minute of Ctrl-C")
		}
		deadline = time.Now().Add(30 * time.Second)
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("the remote job (pid %d) still runs 30s after its ssh was killed", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("--controlmaster: one connection for all the jobs", func(t *testing.T) {
		tm, _ := Parse([]string{`echo "$SSH_CONNECTION"{}`})
		var out, errb syncBuffer
		r := NewRunner(Config{Template: tm, Stdout: &out, Stderr: &errb,
			SSH: &SSH{Command: srv.SSH, Logins: []SSHLogin{remote(2)}, ControlMaster: true}})
		sum, err := r.Run(context.Background(), func(yield func(*Job, error) bool) {
			for i := range 3 {
				if !yield(&Job{Seq: i + 1, Args: []string{""}}, nil) {
					return
				}
			}
		})
		conns := strings.Split(strings.TrimSpace(out.String()), "\n")
		if err != nil || sum.Failed != 0 || len(conns) != 3 || conns[0] != conns[1] || conns[1] != conns[2] {
			t.Fatalf("jobs' $SSH_CONNECTION %q (one TCP connection wanted), %v, %+v, stderr %q", conns, err, sum, errb.String())
		}
		if _, err := os.Stat(r.master.dir); !os.IsNotExist(err) {
			t.Errorf("the control sockets' directory %s is still there (%v)", r.master.dir, err)
		}
		for _, c := range r.master.procs {
			if c.ProcessState == nil {
				t.Errorf("the master ssh %d was not waited for", c.Process.Pid)
			}
		}
	})

	t.Run("a host that cannot be reached", func(t *testing.T) {
		closed := strings.Replace(srv.SSH, fmt.Sprintf(" -p %d ", srv.Port), " -p 1 ", 1)
		cfg := Config{SSH: &SSH{Command: closed, Logins: []SSHLogin{remote(0)}}}
		_, errs, sum := runT(t, cfg, "echo", each("x")...)
		if sum.Failed != 1 || !strings.Contains(errs, "Could not figure out the number of CPUs on 127.0.0.1") {
			t.Errorf("stderr %q, summary %+v; want a warning about the CPUs and the job failed", errs, sum)
		}
	})
}
