package jobs

import (
	"encoding/json"
	"errors"
	"fmt"

	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Halt is --halt: when (now or soon) to stop after how many failures,
// successes or finished jobs (a count, or a percentage of all the jobs).
type Halt struct {
	Now     bool
	Success bool // halt on successes instead of failures
	Done    bool // halt on finished jobs, whatever their status
	N       int
	Pct     float64
}

// Summary counts what happened.
type Summary struct {
	Done, Failed, Skipped int
	Halted, Interrupted   bool
	// HaltExit is the exit status --halt gives (GNU parallel's: the
	// failing job's for fail=1, 0 for success=, the percentage of failed
	// jobs for N%); -1 when --halt sets none.
	HaltExit int
}

// ExitStatus is the mp command's exit status, as GNU parallel's: 0 when
// every job succeeded, else the number of failed jobs, at most 101, or
// what --halt says.
func (s Summary) ExitStatus() int {
	if s.HaltExit >= 0 && (s.Halted || s.HaltExit > 0 || s.Failed == 0) {
		return s.HaltExit
	}
	return min(s.Failed, 101)
}

// summarise completes the summary of a run: --halt, Ctrl-C.
func (r *Runner) summarise(sum Summary) Summary {
	r.mu.Lock()
	sum.Halted = r.halted
	sum.HaltExit = r.haltExit
	if sum.Halted && r.cfg.Halt.Success {
		sum.HaltExit = 0
	}
	if r.cfg.Halt.Pct > 0 && sum.HaltExit != 0 {
		sum.HaltExit = pctExit(sum.Failed, max(r.cfg.Total, sum.Done))
	}
	r.mu.Unlock()
	sum.Interrupted = r.interrupted() && !sum.Halted
	return sum
}

// pctExit is GNU parallel's exit status for --halt N%: the percentage
// of all the jobs that failed, rounded up.
func pctExit(failed, total int) int {
	if failed == 0 || total == 0 {
		return 0
	}
	return int(math.Ceil(float64(failed) * 100 / float64(total)))
}

// logRow writes the job's line of the job log; the caller holds r.mu.
func (r *Runner) logRow(res *result) {
	if r.log != nil && !(res.stopped && !res.ok()) {
		host := res.host
		if host == "" {
			host = ":"
		}
		fmt.Fprintf(r.log, "%d\t%s\t%.3f\t%10.3f\t0\t%d\t%d\t%d\t%s\n", res.job.Seq, host, float64(res.start.UnixMilli())/1000,
			res.took.Seconds(), res.out.size, res.exit, res.signal, res.command)
	}
}

// finished records a job that ran: the counters, the job log, the event
// stream, the bar, and --halt.
func (r *Runner) finished(res *result) {
	if r.board != nil {
		r.board.finished(res)
	}
	r.mu.Lock()
	r.done++
	if res.ok() {
		r.succeeded++
		r.durations = append(r.durations, res.took)
	} else {
		r.failed++
	}
	if r.cfg.JobLog != "-" {
		r.logRow(res)
	}
	h := r.cfg.Halt
	if (h.N > 0 || h.Pct > 0) && !r.halted {
		n := r.failed
		switch {
		case h.Success:
			n = r.succeeded
		case h.Done:
			n = r.done
		}
		total := max(r.cfg.Total, r.done)
		counted := (h.Success && res.ok()) || (!h.Success && !h.Done && !res.ok()) || h.Done
		if counted {
			// GNU parallel names every job that counts towards the halt
			what := "failed"
			switch {
			case h.Success:
				what = "succeeded"
			case h.Done:
				what = "finished"
			}
			res.haltMsg = fmt.Sprintf("mp: This job %s:\n%s\n", what, res.command)
		}
		if counted && ((h.N > 0 && n >= h.N) || (h.Pct > 0 && float64(n)*100/float64(total) >= h.Pct)) {
			r.halted = true
			r.stopping.Store(true)
			if h.Now {
				r.termOnce.Do(func() { close(r.term) })
			}
			if !h.Success && !h.Done && h.N == 1 {
				r.haltExit = res.exit // GNU parallel: the failing job's status
				if res.exit <= 0 {
					r.haltExit = 1
				}
			}
		}
	}
	r.mu.Unlock()
	r.event(map[string]any{"event": "finish", "seq": res.job.Seq, "exit": res.exit, "signal": res.signal, "runtime_s": res.took.Seconds(), "tries": res.tries, "command": res.command})
	if r.bar != nil {
		r.bar.Add(1)
	}
}

// openLogs opens --joblog and --json, and reads the job log for
// --resume: the commands to skip.
func (r *Runner) openLogs() (skip map[string]bool, err error) {
	cfg := r.cfg
	switch {
	case cfg.JobLog == "-":
		r.log = cfg.Stdout
		fmt.Fprintln(r.log, "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand")
	case cfg.JobLog != "":
		path, appendTo := strings.CutPrefix(cfg.JobLog, "+")
		if cfg.Resume || cfg.ResumeFail {
			skip, err = readJobLog(path, cfg.ResumeFail)
			if err != nil {
				return nil, err
			}
		}
		flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if skip != nil || appendTo {
			flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		r.logFile, err = os.OpenFile(path, flags, 0o644)
		if err != nil {
			return nil, fmt.Errorf("--joblog: %w", err)
		}
		r.log = r.logFile
		if st, _ := r.logFile.Stat(); st != nil && st.Size() == 0 {
			fmt.Fprintln(r.log, "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand")
		}
	}
	if (cfg.Resume || cfg.ResumeFail) && (cfg.JobLog == "" || cfg.JobLog == "-") {
		return nil, errors.New("--resume and --resume-failed need --joblog FILE")
	}
	if cfg.JSON != "" {
		r.eventsF, err = os.Create(cfg.JSON)
		if err != nil {
			return nil, fmt.Errorf("--json: %w", err)
		}
		r.events = json.NewEncoder(r.eventsF)
	}
	return skip, nil
}

func (r *Runner) closeLogs() {
	if r.logFile != nil {
		r.logFile.Close()
	}
	if r.eventsF != nil {
		r.eventsF.Close()
	}
}

// LoggedCommands returns the commands of a job log, once each, in the
// order of their job numbers (--retry-failed runs them again under the
// same numbers, as GNU parallel).
func LoggedCommands(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--joblog: %w", err)
	}
	type logged struct {
		seq int
		cmd string
	}
	var all []logged
	at := map[string]int{} // command -> its index in all
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		cols := strings.SplitN(line, "\t", 9)
		if i == 0 && cols[0] == "Seq" || line == "" {
			continue
		}
		seq, err := strconv.Atoi(cols[0])
		if len(cols) != 9 || err != nil {
			return nil, fmt.Errorf("--joblog %s: line %q is not a job log line (9 tab-separated columns)", path, line)
		}
		// Rows are in the order jobs ended: a command logged twice keeps
		// its lowest job number, whichever row comes first.
		if k, ok := at[cols[8]]; !ok {
			at[cols[8]] = len(all)
			all = append(all, logged{seq, cols[8]})
		} else if seq < all[k].seq {
			all[k].seq = seq
		}
	}
	slices.SortStableFunc(all, func(a, b logged) int { return a.seq - b.seq })
	cmds := make([]string, len(all))
	for i, l := range all {
		cmds[i] = l.cmd
	}
	return cmds, nil
}
