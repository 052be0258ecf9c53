package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
)

// noMainEnv names the counter file of noMainRole.
const noMainEnv = "MP_TEST_CLUSTER_NOMAIN"

// noMainRole is the test binary run as a program that forgets mp.Main: it
// makes a Cluster pool with 2 local workers, runs a task on it and prints
// what became of it. Every process running it adds a line to the counter
// file; past 30 lines a process stops at once, a fuse that bounds the
// cascade this test is about, should it come back.
func noMainRole() int {
	counter := os.Getenv(noMainEnv)
	f, err := os.OpenFile(counter, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 3
	}
	fmt.Fprintln(f, os.Getpid())
	f.Close()
	if b, _ := os.ReadFile(counter); strings.Count(string(b), "\n") > 30 {
		return 0
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(2))
	if err == nil {
		_, err = mp.Apply(ctx, p, square, 3)
		p.Terminate()
	}
	if err == nil {
		err = errors.New("no error")
	}
	json.NewEncoder(os.Stdout).Encode(struct {
		Ms  int64
		Err string
	}{time.Since(start).Milliseconds(), err.Error()})
	return 0
}

// Issue 12: a program without mp.Main that makes a Cluster pool with
// LocalWorkers re-ran itself as workers that each made such a pool again,
// a cascade. Its workers must stop at once, the program must hear why
// within seconds, and no more than its own workers may ever start.
func TestClusterMissingMainDoesNotCascade(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "started")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = proc.SelfEnv(noMainEnv + "=" + counter)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		out, err = cmd.Output()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatal("the program without mp.Main did not end within 3 minutes")
	}
	if err != nil {
		t.Fatalf("program: %v, output %s", err, out)
	}
	var r struct {
		Ms  int64
		Err string
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("no report in %q: %v", out, err)
	}
	if !strings.Contains(r.Err, "without calling mp.Main()") {
		t.Errorf("%q does not say that mp.Main was not called", r.Err)
	}
	if r.Ms > 8000 {
		t.Errorf("the error came after %d ms", r.Ms)
	}
	b, _ := os.ReadFile(counter)
	// itself and its 2 local workers at most (the pool may stop the
	// second before it ran anything, once the first has reported)
	if n := strings.Count(string(b), "\n"); n < 2 || n > 3 {
		t.Errorf("%d processes ran the program, want 2 or 3 (itself and up to its 2 local workers)", n)
	}
}
