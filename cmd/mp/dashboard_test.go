//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dashSnap is the part of the dashboard's /snapshot the tests read.
type dashSnap struct {
	Runs []struct {
		Name                          string
		Backend                       string
		Total                         int64
		Done, Failed, Running, Queued int64
		Workers                       []struct {
			ID, PID      int
			State, Doing string
			RSS          int64
		}
		Errors []struct {
			Index     int
			Item, Err string
		}
		Final, Ended bool
	}
}

// mp run --dashboard: the page's numbers follow the jobs while they run:
// each slot's job, its process and memory, the failed job's command and
// exit status.
func TestRunDashboard(t *testing.T) {
	dir := t.TempDir()
	cmd := mpCmd("run", "--dashboard", "127.0.0.1:0", "-j2",
		"while [ ! -e "+dir+"/{} ]; do sleep 0.01; done; [ {} != 2 ] || exit 5", ":::", "1", "2", "3", "4")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	if !lines.Scan() {
		t.Fatal("mp run printed nothing on stderr")
	}
	url, ok := strings.CutPrefix(lines.Text(), "mp run: dashboard at ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line on stderr: %q, want mp run: dashboard at http://127.0.0.1:PORT/", lines.Text())
	}
	go func() {
		for lines.Scan() {
		}
	}()
	deadline := time.Now().Add(time.Minute)
	// until waits until the run on the page satisfies ok.
	until := func(what string, ok func(s dashSnap) bool) dashSnap {
		t.Helper()
		var s dashSnap
		for {
			resp, err := http.Get(url + "snapshot")
			if err == nil {
				s = dashSnap{}
				json.NewDecoder(resp.Body).Decode(&s)
				resp.Body.Close()
				if len(s.Runs) == 1 && ok(s) {
					return s
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the dashboard shows %+v (%v)", what, s, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	s := until("two jobs running", func(s dashSnap) bool {
		r := s.Runs[0]
		return r.Running == 2 && len(r.Workers) == 2 && r.Workers[0].RSS > 0 && r.Workers[1].RSS > 0
	})
	r := s.Runs[0]
	if r.Name != "mp run" || r.Backend != "jobs" || r.Total != 4 || !r.Final || r.Queued != 2 {
		t.Errorf("the run: %+v", r)
	}
	doing := r.Workers[0].Doing + " | " + r.Workers[1].Doing
	if !strings.Contains(doing, "#1 while") || !strings.Contains(doing, "#2 while") || r.Workers[0].PID <= 0 || r.Workers[0].State != "busy" {
		t.Errorf("the slots: %+v", r.Workers)
	}
	for _, f := range []string{"1", "2"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o600)
	}
	s = until("job 2 failed", func(s dashSnap) bool { return s.Runs[0].Done == 1 && s.Runs[0].Failed == 1 })
	if e := s.Runs[0].Errors; len(e) != 1 || e[0].Index != 2 || !strings.Contains(e[0].Item, "[ 2 != 2 ]") || e[0].Err != "exit status 5" {
		t.Errorf("the failed jobs: %+v", e)
	}
	for _, f := range []string{"3", "4"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o600)
	}
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("mp run: %v, want exit status 1 (one job failed)", err)
	}
}

// mp groupby --dashboard serves the page too, named after the command.
func TestGroupbyDashboard(t *testing.T) {
	in := "store,x\na,1\nb,2\n"
	out, errOut, code := cli(t, in, "groupby", "--dashboard", "127.0.0.1:0", "-by", "store", "-", "--", "wc", "-l")
	if code != 0 || !strings.Contains(errOut, "mp groupby: dashboard at http://127.0.0.1:") || out != "2\n2\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
