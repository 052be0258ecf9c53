package jobs

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/dash"
)

// board shows a run on the dashboard (Config.Dashboard): its counters,
// each job slot with the job it runs and that job's memory, and the
// recent failed jobs. The runner tells it about jobs only when there is
// a dashboard (r.board != nil).
type board struct {
	r     *Runner
	name  string
	start time.Time
	total atomic.Int64 // jobs read so far
	final atomic.Bool  // the input has ended

	mu      sync.Mutex
	slots   []slotNow // by slot - 1
	errs    [16]dash.Error
	nerr    int
	retried int64
	timeout int64
}

// slotNow is what a job slot runs now.
type slotNow struct {
	seq   int
	cmd   string
	pid   int
	since time.Time
	jobs  int64
}

var _ dash.Source = (*board)(nil)

// started records that job j's try started in slot as process pid.
func (b *board) started(slot int, j *Job, cmd string, pid int, try int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.slots) < slot {
		b.slots = append(b.slots, slotNow{})
	}
	s := &b.slots[slot-1]
	s.seq, s.cmd, s.pid, s.since = j.Seq, cmd, pid, time.Now()
	if try > 1 {
		b.retried++
	}
}

// ended records that the job in slot has ended.
func (b *board) ended(slot int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if slot <= len(b.slots) {
		s := &b.slots[slot-1]
		s.seq, s.cmd, s.pid, s.since = 0, "", 0, time.Now()
		s.jobs++
	}
}

// finished records how a job went, once it will not run again.
func (b *board) finished(res *result) {
	if res.ok() && !res.timedOut {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if res.timedOut {
		b.timeout++
	}
	if res.ok() {
		return
	}
	var why string
	switch {
	case res.err != nil:
		why = res.err.Error()
	case res.timedOut:
		why = "timed out"
	case res.signal != 0:
		why = fmt.Sprintf("killed by signal %d", res.signal)
	default:
		why = fmt.Sprintf("exit status %d", res.exit)
	}
	if res.tries > 1 {
		why += fmt.Sprintf(" (after %d tries)", res.tries)
	}
	b.errs[b.nerr%len(b.errs)] = dash.Error{At: time.Since(b.start).Seconds(), Index: res.job.Seq, Item: res.command, Err: why}
	b.nerr++
}

// View shows the run now.
func (b *board) View() dash.View {
	r := b.r
	r.mu.Lock()
	done, failed := r.succeeded, r.failed
	r.mu.Unlock()
	running := int64(r.running.Load())
	total := b.total.Load()
	v := dash.View{
		Name: b.name, Backend: "jobs", Unit: "jobs",
		Total: total, Final: b.final.Load(),
		Done: int64(done), Failed: int64(failed), Running: running,
		Queued: max(total-int64(done+failed)-running, 0),
		Uptime: time.Since(b.start).Seconds(),
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	v.Retried, v.TimedOut = b.retried, b.timeout
	now := time.Now()
	v.Workers = make([]dash.Worker, r.cfg.Jobs)
	for i := range v.Workers {
		w := dash.Worker{ID: i + 1, State: "idle"}
		if i < len(b.slots) {
			s := b.slots[i]
			w.Tasks = s.jobs
			if !s.since.IsZero() {
				w.Since = now.Sub(s.since).Seconds()
			}
			if s.seq != 0 {
				w.State, w.PID, w.Group = "busy", s.pid, true
				w.Doing = fmt.Sprintf("#%d %s", s.seq, s.cmd)
			}
		}
		v.Workers[i] = w
	}
	k := min(b.nerr, len(b.errs))
	for i := b.nerr - k; i < b.nerr; i++ {
		v.Errors = append(v.Errors, b.errs[i%len(b.errs)])
	}
	return v
}
