package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/cluster"
	"github.com/mp-go/mp/internal/proc"
)

// logged sleeps a little and appends a line to $MP_TEST_LOG for each run,
// so that the test counts executions.
var logged = mp.Register("cluster-test.logged", func(_ context.Context, x int) (int, error) {
	time.Sleep(100 * time.Millisecond)
	f, err := os.OpenFile(os.Getenv("MP_TEST_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fmt.Fprintln(f, x)
	return x * 10, nil
})

const resumeItems = 30

// coordinator is the program of TestCoordinatorRestart: a map on the
// cluster at url, named so that it resumes.
func coordinator(url string) int {
	pool, err := mp.NewPool(mp.Cluster(url), mp.ClusterRun("resume-test"), mp.Threads(4))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pool.Close()
	in := make([]int, resumeItems)
	for i := range in {
		in[i] = i
	}
	i := 0
	for v, err := range mp.Imap(context.Background(), pool, logged, func(yield func(int) bool) {
		for _, x := range in {
			if !yield(x) {
				return
			}
		}
	}, mp.Chunksize(1)) {
		if err != nil || v != i*10 {
			fmt.Println("bad", i, v, err)
			return 1
		}
		fmt.Println("item", i)
		i++
	}
	fmt.Println("done")
	return 0
}

// TestCoordinatorRestart kills the program that runs a map (SIGKILL,
// tasks in flight), starts it again, and checks that the second run
// finishes the map without running again what the first finished.
func TestCoordinatorRestart(t *testing.T) {
	srv, err := cluster.StartServer(cluster.StoreDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	log := t.TempDir() + "/runs"
	os.Setenv("MP_TEST_LOG", log)
	defer os.Unsetenv("MP_TEST_LOG")
	startWorker(t, srv.URL())
	startWorker(t, srv.URL())
	run := func(killAfter int) (lines []string) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = proc.SelfEnv("MP_TEST_COORDINATOR=" + srv.URL())
		cmd.Stderr = os.Stderr
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		guard := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
		defer guard.Stop()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if killAfter > 0 && len(lines) == killAfter {
				cmd.Process.Kill() // the coordinator crashes with tasks in flight
				break
			}
		}
		cmd.Wait()
		return lines
	}
	first := run(8)
	if len(first) != 8 {
		t.Fatalf("the first run printed %q", first)
	}
	second := run(0)
	if len(second) != resumeItems+1 || second[resumeItems] != "done" {
		t.Fatalf("the resumed run printed %q", second)
	}
	for i := range resumeItems {
		if second[i] != fmt.Sprint("item ", i) {
			t.Fatalf("line %d of the resumed run: %q", i, second[i])
		}
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if runs := strings.Count(string(b), "\n"); runs != resumeItems {
		t.Errorf("%d executions for %d items: the resumed run ran again what was done", runs, resumeItems)
	}
}
