package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp/cluster"
	"github.com/nats-io/nats.go"
)

// TestServer starts `mp server` with a token, connects with and without
// it, and stops it with SIGINT.
func TestServer(t *testing.T) {
	cmd := mpCmd("server", "-listen", "127.0.0.1:0", "-token", "tok")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	guard := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer guard.Stop()
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	br := bufio.NewReader(out)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("no first line: %v", err)
	}
	f := strings.Fields(line)
	if len(f) < 5 || !strings.HasPrefix(f[4], "nats://127.0.0.1:") || strings.HasSuffix(f[4], ":4222") {
		t.Fatalf("first line %q (want a free port)", line)
	}
	url := f[4]
	if nc, err := nats.Connect(url, nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("connected without the token")
	}
	nc, err := nats.Connect(url, nats.Token("tok"), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("with the token: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := nc.RequestWithContext(ctx, "$JS.API.INFO", nil); err != nil {
		t.Fatalf("JetStream: %v", err)
	}
	nc.Close()
	cmd.Process.Signal(os.Interrupt)
	rest, _ := br.ReadString('\n')
	if err := cmd.Wait(); err != nil || !strings.Contains(rest, "stopped") {
		t.Fatalf("after SIGINT: %v, %q", err, rest)
	}
}

// TestRunOnCluster runs `mp run -cluster URL` with one `mp worker`: the
// jobs run in the worker (its environment shows), in order with -k, and
// a failing job counts.
func TestRunOnCluster(t *testing.T) {
	srv, err := cluster.StartServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	w := mpCmd("worker", "-connect", srv.URL())
	w.Env = append(w.Env, "MP_TEST_MARK=remote")
	w.Stderr = os.Stderr
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		w.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- w.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the worker after SIGINT: %v", err)
			}
		case <-time.After(30 * time.Second):
			w.Process.Kill()
			t.Error("the worker did not stop on SIGINT")
		}
	}()
	// The runs are bounded: a worker that never takes the jobs fails the
	// test instead of hanging it.
	guard := time.AfterFunc(2*time.Minute, func() { panic("mp run -cluster did not finish within 2 minutes") })
	defer guard.Stop()
	out, errOut, code := cli(t, "", "run", "-k", "-cluster", srv.URL(), "echo {} $MP_TEST_MARK", ":::", "a", "b", "c")
	if code != 0 || out != "a remote\nb remote\nc remote\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// output and input over the cluster's 1 MiB message limit travel
	// through its object store, whole
	want, _ := exec.Command("seq", "400000").Output()
	out, errOut, code = cli(t, "", "run", "-cluster", srv.URL(), "seq {}", ":::", "400000")
	if code != 0 || out != string(want) {
		t.Fatalf("a job writing %d bytes: exit %d, %d bytes back, stderr %q", len(want), code, len(out), errOut)
	}
	out, errOut, code = cli(t, string(want), "run", "-cluster", srv.URL(), "--pipe", "--block", "3M", "wc", "-l")
	if code != 0 || strings.TrimSpace(out) != "400000" {
		t.Fatalf("a 3 MB block on stdin: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, _, code = cli(t, "", "run", "-cluster", srv.URL(), "sh -c 'exit {}'", ":::", "0", "3", "4")
	if code != 2 {
		t.Fatalf("two failing remote jobs: exit %d", code)
	}
	if _, errOut, code := cli(t, "", "run", "-cluster", "nats://127.0.0.1:1", "true", ":::", "1"); code != 255 || !strings.Contains(errOut, "connecting") {
		t.Fatalf("an unreachable cluster: exit %d, %q", code, errOut)
	}
}

// TestRunOnClusterInterrupt: Ctrl-C of `mp run -cluster` kills the job
// running on the worker's host.
func TestRunOnClusterInterrupt(t *testing.T) {
	srv, err := cluster.StartServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	w := mpCmd("worker", "-connect", srv.URL())
	w.Stderr = os.Stderr
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		w.Process.Kill()
		w.Wait()
	}()
	pidFile := t.TempDir() + "/pid"
	run := mpCmd("run", "-cluster", srv.URL(), "sh -c 'echo $$ > "+pidFile+"; exec sleep 120' {}", ":::", "1")
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer run.Process.Kill()
	var pid int
	deadline := time.Now().Add(time.Minute)
	for pid == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the remote job did not start within a minute")
		}
		time.Sleep(20 * time.Millisecond)
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	run.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("mp run did not stop on Ctrl-C")
	}
	gone := time.Now().Add(15 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(gone) {
			t.Fatalf("the remote job %d still runs after Ctrl-C", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
