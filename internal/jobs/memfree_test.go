//go:build unix

package jobs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp/internal/memavail"
)

// fakeMem is a memavail.Source the test sets.
type fakeMem struct{ n atomic.Int64 }

func (f *fakeMem) Available() int64 { return f.n.Load() }

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func lines(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Fields(string(b))
}

// Under half of --memfree the youngest job is killed and runs again once
// there is memory; the oldest runs on. Nothing is lost or counted twice.
func TestMemFreeKillsYoungest(t *testing.T) {
	dir := t.TempDir()
	starts, stop := filepath.Join(dir, "starts"), filepath.Join(dir, "stop")
	mem := &fakeMem{}
	mem.n.Store(10000)
	tmpl := "echo {}:$$ >> " + starts + "; while [ ! -e " + stop + " ]; do sleep 0.02; done; echo done {}"
	var out, errb syncBuffer
	tm, err := Parse([]string{tmpl})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Template: tm, Jobs: 2, KeepOrder: true, MemFree: 1000, Mem: mem, Stdout: &out, Stderr: &errb}
	input := func(yield func(*Job, error) bool) {
		for i, a := range []string{"1", "2"} {
			if !yield(&Job{Seq: i + 1, Args: []string{a}}, nil) {
				return
			}
		}
	}
	done := make(chan Summary, 1)
	go func() {
		sum, err := NewRunner(cfg).Run(t.Context(), input)
		if err != nil {
			t.Error(err)
		}
		done <- sum
	}()
	waitFor(t, "both jobs to start", func() bool { return len(lines(starts)) == 2 })
	pids := map[string]int{}
	for _, l := range lines(starts) {
		job, pid, _ := strings.Cut(l, ":")
		pids[job], _ = strconv.Atoi(pid)
	}
	mem.n.Store(400) // under half of 1000: job 2, the youngest, is killed
	waitFor(t, "job 2 to be killed", func() bool { return syscall.Kill(pids["2"], 0) != nil })
	if syscall.Kill(pids["1"], 0) != nil {
		t.Error("job 1, the oldest, was killed")
	}
	if n := len(lines(starts)); n != 2 {
		t.Errorf("%d starts while memory is short, want 2 (job 2 waits for memory)", n)
	}
	mem.n.Store(10000) // memory again: job 2 starts again
	waitFor(t, "job 2 to start again", func() bool { return len(lines(starts)) == 3 })
	if last := lines(starts)[2]; !strings.HasPrefix(last, "2:") {
		t.Errorf("third start %q, want job 2 again", last)
	}
	os.WriteFile(stop, nil, 0o644)
	var sum Summary
	select {
	case sum = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the run did not end")
	}
	if out.String() != "done 1\ndone 2\n" || sum.Done != 2 || sum.Failed != 0 {
		t.Errorf("out %q, summary %+v; want each job done once, none failed (stderr %q)", out.String(), sum, errb.String())
	}
}

// The real memory: a --memfree more than the machine has holds every job
// back but one at a time (mp starts a job when none runs), and the job
// alone is never killed.
func TestMemFreeRealMemory(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("no /proc/meminfo")
	}
	if (&memavail.System{}).Available() >= memavail.Unknown {
		t.Fatal("MemAvailable of /proc/meminfo not read")
	}
	dir := t.TempDir()
	tmpl := "mkdir " + dir + "/lock || echo overlap; sleep 0.2; rmdir " + dir + "/lock; echo ok"
	out, errs, sum := runT(t, Config{Jobs: 3, KeepOrder: true, MemFree: 1 << 50}, tmpl, each("a", "b", "c")...)
	if out != "ok a\nok b\nok c\n" || sum.Failed != 0 {
		t.Errorf("out %q, stderr %q, summary %+v; want three jobs one at a time", out, errs, sum)
	}
}
