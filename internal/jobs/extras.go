package jobs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tagOf is the prefix of a job's lines for --tag (its arguments, or
// groupby's key) and --tagstring, with the tab.
func (r *Runner) tagOf(j *Job, slot int) string {
	if r.cfg.SSH != nil && r.cfg.SSH.OnAll && r.tagT == nil {
		// --onall and --nonall tag with the host, as GNU parallel
		if h := r.hostFor(slot); h != nil {
			return h.Login + "\t"
		}
	}
	if r.tagT != nil {
		return r.tagT.Text(j, slot) + "\t"
	}
	var b bytes.Buffer
	b.WriteString(strings.Join(j.Args, " "))
	if v, ok := j.Vars["key"]; ok && len(j.Args) == 0 {
		b.WriteString(v)
	}
	b.WriteByte('\t')
	return b.String()
}

// resultsPath is where --results DIR puts a job's files, as GNU parallel
// does: DIR/1/ARG1/2/ARG2.../stdout (a / in an argument as \_); a DIR
// with replacement strings names the files: DIR, DIR.err, DIR.seq.
func (r *Runner) resultsPath(j *Job, slot int) (dir string, named bool) {
	if r.resultsT != nil {
		return r.resultsT.Text(j, slot), true
	}
	dir = r.cfg.Results
	for i, a := range j.Args {
		esc := resultsEscape(a)
		k := i + 1 // a column
		if n := r.cfg.Sources; n > 0 {
			k = i%n + 1 // an input source
		}
		name := strconv.Itoa(k)
		if i < len(r.cfg.ResultNames) {
			name = resultsEscape(r.cfg.ResultNames[i])
		}
		dir = filepath.Join(dir, name, esc)
	}
	return dir, false
}

// resultsEscape makes a value one directory name, as GNU parallel's
// --results does: \ becomes \\ and / becomes \_.
func resultsEscape(a string) string {
	return strings.ReplaceAll(strings.ReplaceAll(a, `\`, `\\`), "/", `\_`)
}

// saveResults writes a finished job's output and number under --results.
func (r *Runner) saveResults(res *result, slot int) {
	if _, table := resultsTable(r.cfg.Results); r.cfg.Results == "" || res.skipped || table {
		return
	}
	dir, named := r.resultsPath(res.job, slot)
	out, errf, seq := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr"), filepath.Join(dir, "seq")
	if named {
		out, errf, seq = dir, dir+".err", dir+".seq"
		dir = filepath.Dir(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(r.cfg.Stderr, "mp: --results: %v\n", err)
		return
	}
	for _, f := range []struct {
		path string
		sp   *spill
	}{{out, res.out}, {errf, res.err2}} {
		w, err := os.Create(f.path)
		if err != nil {
			fmt.Fprintf(r.cfg.Stderr, "mp: --results: %v\n", err)
			return
		}
		f.sp.writeTo(w)
		w.Close()
	}
	// GNU parallel writes the number without a newline.
	os.WriteFile(seq, []byte(strconv.Itoa(res.job.Seq)), 0o644)
}

// throttle waits before a job starts, and counts it running: --delay
// between starts, --memfree and --load until the machine has room (at
// once when no job runs, so that the run always moves). The check and
// the count are one step under admitMu: two jobs that find none running
// must not both start.
func (r *Runner) throttle() {
	cfg := r.cfg
	if cfg.Delay > 0 {
		r.delayMu.Lock()
		if wait := time.Until(r.lastStart.Add(cfg.Delay)); !r.lastStart.IsZero() && wait > 0 {
			select {
			case <-time.After(wait):
			case <-r.term:
			}
		}
		r.lastStart = time.Now()
		r.delayMu.Unlock()
	}
	for {
		r.admitMu.Lock()
		if (cfg.MemFree <= 0 && cfg.Load <= 0) || r.running.Load() == 0 || r.stopping.Load() ||
			((cfg.MemFree <= 0 || r.mem().Available() >= cfg.MemFree) && (cfg.Load <= 0 || loadAverage() < cfg.Load)) {
			r.running.Add(1)
			r.admitMu.Unlock()
			return
		}
		r.admitMu.Unlock()
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.term:
		}
	}
}

// loadAverage is the one-minute load average; 0 where it cannot be read.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	l, _ := strconv.ParseFloat(f[0], 64)
	return l
}

// lookPath finds a program as exec.LookPath does, once per name: a PATH
// search costs several system calls, for every job.
func (r *Runner) lookPath(name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.paths[name]; ok {
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	if r.paths == nil {
		r.paths = map[string]string{}
	}
	r.paths[name] = p
	return p, nil
}

// timeout is the time limit of a job starting now.
func (r *Runner) timeout() time.Duration {
	if r.cfg.TimeoutPct <= 0 {
		return r.cfg.Timeout
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.durations) < 3 {
		return r.cfg.Timeout // too few jobs to know the median
	}
	ds := slices.Clone(r.durations)
	slices.Sort(ds)
	return time.Duration(float64(ds[len(ds)/2]) * r.cfg.TimeoutPct / 100)
}

func (r *Runner) event(ev map[string]any) {
	if r.events == nil {
		return
	}
	ev["time"] = time.Now().Format(time.RFC3339Nano)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events.Encode(ev)
}
