package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/dash"
	"github.com/mp-go/mp/internal/memavail"
	"github.com/mp-go/mp/internal/watchdog"
	"github.com/mp-go/mp/progress"
)

// Config says how to run the jobs.
type Config struct {
	Template   *Template
	Jobs       int           // -j: jobs at once
	KeepOrder  bool          // -k: outputs in input order
	LineBuffer bool          // --line-buffer: lines as they come
	Tag        bool          // --tag: lines prefixed with the arguments
	Timeout    time.Duration // --timeout as a duration
	TimeoutPct float64       // --timeout as a percentage of the median job time
	Tries      int           // --retries: tries in all (GNU parallel's meaning); <= 1: once
	// TriesText is --retries with replacement strings (--retries {//}),
	// read for each job as GNU parallel does; it overrides Tries. A value
	// that is not a number means once.
	TriesText  string
	RetryOn    []int         // --retry-on: exit statuses retried; empty: any failure
	RetryDelay time.Duration // first backoff; doubles, with jitter
	Halt       Halt
	JobLog     string // --joblog: a file; "+FILE" appends; "-" is standard output
	Resume     bool   // --resume: skip the jobs the job log has
	ResumeFail bool   // --resume-failed: skip the jobs the job log has as succeeded
	JSON       string // --json: events
	Bar        bool   // --bar / --eta
	Total      int    // the number of jobs if known before the input is read, for the bar
	HeaderOnce bool   // drop the first line of every output but the first
	DryRun     bool
	Grace      time.Duration // between SIGTERM and SIGKILL
	Shell      string        // for templates with shell syntax
	ClusterURL string        // --cluster: run the jobs on this cluster's workers
	Remote     *mp.Pool      // the pool for ClusterURL, made by the caller
	SSH        *SSH          // -S: the jobs run on these hosts through ssh (ssh.go)
	Stdout     io.Writer
	Stderr     io.Writer

	Verbose   bool          // -v: print each command before its output
	Trace     bool          // -t: print each command on Stderr as it starts
	Ungroup   bool          // -u: output passes straight through, unbuffered
	TagString string        // --tagstring: the --tag prefix, with replacement strings
	Delay     time.Duration // --delay: between job starts
	Results   string        // --results DIR: each job's output in GNU parallel's tree
	// ResultNames are --header's column names: the --results tree's
	// directories are named after them instead of the columns' numbers.
	ResultNames []string
	// MemFree is --memfree: start a job only with this many bytes
	// available; under half of it, kill the youngest job and run it
	// again later (not counted as a try).
	MemFree int64
	// Mem tells the memory available for MemFree; nil reads this
	// machine's: the smaller of MemAvailable and the cgroup's room
	// (memavail.System).
	Mem     memavail.Source
	Load    float64 // --load: start a job only under this load average
	Sources int     // input values per job's input, for --results' tree
	Nice    int     // --nice: the jobs' niceness
	Dir     string  // --workdir: the jobs' working directory
	// Watchdog starts a process that kills the jobs' process groups if
	// this one dies (SIGKILL included): see package internal/watchdog.
	Watchdog bool
	// Parse are the template's parse options, for --tagstring and
	// --results' replacement strings (--rpl, --plus...).
	Parse ParseOptions
	// Dashboard is where to serve the run's live dashboard page
	// ([HOST]:PORT, loopback without a host; see package internal/dash);
	// "" for none. Its address is printed on Stderr.
	Dashboard string
	// Name is the run's name on the dashboard ("mp run").
	Name string
}

// Runner runs jobs. Interrupt and Kill may be called from a signal
// handler while Run runs.
type Runner struct {
	cfg Config

	stopping atomic.Bool   // no job starts any more
	term     chan struct{} // closed: SIGTERM every running job, SIGKILL after Grace
	kill     chan struct{} // closed: SIGKILL every running job now
	termOnce sync.Once
	killOnce sync.Once

	mu        sync.Mutex
	durations []time.Duration   // of jobs that succeeded, for --timeout N%
	paths     map[string]string // lookPath's
	devNull   *os.File          // the standard input of jobs without one
	done      int
	failed    int
	succeeded int
	halted    bool
	haltExit  int // the exit status --halt gives, -1 for none
	log       io.Writer
	logFile   *os.File
	baseEnv   []string  // the jobs' environment but $PARALLEL_SEQ and $PARALLEL_JOBSLOT
	lastStart time.Time // --delay
	events    *json.Encoder
	eventsF   *os.File
	outMu     sync.Mutex // one job's output at a time
	headerOut bool       // a job's output with its header line has been printed
	bar       *progress.Bar
	tagT      *Template // --tagstring
	triesT    *Template // --retries with replacement strings
	resultsT  *Template // --results with replacement strings
	delayMu   sync.Mutex
	admitMu   sync.Mutex // throttle's check and count of a starting job
	table     *os.File   // --results FILE.csv
	tableSep  byte
	tableHead bool
	running   atomic.Int32
	slotMu    sync.Mutex
	slotsUsed []bool // {%}: a job takes the lowest free slot, as in GNU parallel
	wd        *watchdog.Watchdog
	hosts     []*sshHost // -S: the hosts, each with its range of job slots
	master    *sshMaster // --controlmaster
	sshMu     sync.Mutex // --sshdelay
	sshLast   time.Time
	// sshTemplates are --transferfile's, --return's and --workdir's
	sshTemplates map[string]*Template
	setupErr     error           // a --tagstring or --results template that does not parse
	live         running         // the jobs running, for --memfree
	sysMem       memavail.System // the machine's memory, for --memfree without Config.Mem
	// outFiles keeps the files of jobs' output for later jobs (memfd.go);
	// nil where jobs run elsewhere (-S, --cluster).
	outFiles *memPool
	board    *board // the dashboard's view of the run; nil without one
}

// NewRunner prepares a run.
func NewRunner(cfg Config) *Runner {
	if cfg.Jobs < 1 {
		cfg.Jobs = mp.CPUCount()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Second
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 100 * time.Millisecond
	}
	if cfg.Shell == "" {
		cfg.Shell = "/bin/sh"
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	r := &Runner{cfg: cfg, term: make(chan struct{}), kill: make(chan struct{}), haltExit: -1}
	if cfg.TagString != "" {
		r.cfg.Tag = true
		t, err := Parse([]string{cfg.TagString}, cfg.Parse)
		if err != nil {
			r.setupErr = fmt.Errorf("--tagstring: %w", err)
		}
		r.tagT = t
	}
	if cfg.TriesText != "" {
		r.triesT, _ = Parse([]string{cfg.TriesText})
	}
	if _, table := resultsTable(cfg.Results); cfg.Results != "" && strings.Contains(cfg.Results, "{") && !table {
		t, err := Parse([]string{cfg.Results}, cfg.Parse)
		switch {
		case err != nil:
			r.setupErr = fmt.Errorf("--results: %w", err)
		case !t.appendArgs:
			r.resultsT = t
		}
	}
	return r
}

// Interrupt is the first Ctrl-C: no job starts any more, and every running
// job's process group gets SIGTERM, then SIGKILL after the grace period.
func (r *Runner) Interrupt() {
	r.stopping.Store(true)
	r.termOnce.Do(func() { close(r.term) })
}

// Kill is the second Ctrl-C: every running job is killed at once.
func (r *Runner) Kill() {
	r.Interrupt()
	r.killOnce.Do(func() { close(r.kill) })
}

func (r *Runner) interrupted() bool {
	select {
	case <-r.term:
		return true
	default:
		return false
	}
}

// result is how one job went, with its output.
type result struct {
	job       *Job
	command   string
	skipped   bool
	start     time.Time
	took      time.Duration
	slot      int
	host      string // the job log's Host: ":" here, else the sshlogin
	exit      int    // -1 if it could not start or was killed by mp
	signal    int
	killed    bool   // mp sent the signal (timeout, --halt now, Ctrl-C)
	memKilled bool   // --memfree killed it: it runs again
	haltMsg   string // --halt's message, printed after the job's output
	timedOut  bool
	tries     int
	stopped   bool  // killed by Interrupt, Kill or --halt now: not logged, so --resume runs it again
	err       error // could not start
	out, err2 *spill
}

func (res *result) ok() bool {
	return !res.skipped && res.err == nil && res.exit == 0 && res.signal == 0
}

// Run runs the template over jobs and returns what happened; the error
// is about the run itself (input, job log), not about failing jobs.
func (r *Runner) Run(ctx context.Context, jobs iter.Seq2[*Job, error]) (Summary, error) {
	cfg := r.cfg
	var sum Summary
	defer r.tagT.Close()
	defer r.resultsT.Close()
	if r.setupErr != nil {
		return sum, r.setupErr
	}
	if cfg.Halt.Pct > 0 && cfg.Total == 0 && !cfg.DryRun {
		// a percentage of all the jobs, as GNU parallel counts it: read
		// the input first
		var all []*Job
		for j, err := range jobs {
			if err != nil {
				return sum, err
			}
			all = append(all, j)
		}
		cfg.Total, r.cfg.Total = len(all), len(all)
		jobs = func(yield func(*Job, error) bool) {
			for _, j := range all {
				if !yield(j, nil) {
					return
				}
			}
		}
	}
	if cfg.DryRun {
		slot := 0
		for j, err := range jobs {
			if err != nil {
				return sum, err
			}
			slot = slot%cfg.Jobs + 1
			line := cfg.Template.Display(j, slot)
			if err := j.EvalErr(); err != nil {
				return sum, fmt.Errorf("job %d: %w", j.Seq, err)
			}
			if !j.Skipped() {
				fmt.Fprintln(cfg.Stdout, line)
			}
		}
		return sum, nil
	}
	r.baseEnv = baseEnv(os.Environ())
	skip, err := r.openLogs()
	if err != nil {
		return sum, err
	}
	defer r.closeLogs()
	if err := r.openTable(); err != nil {
		return sum, err
	}
	if r.table != nil {
		defer r.table.Close()
	}
	if r.devNull, err = os.Open(os.DevNull); err != nil {
		return sum, err
	}
	defer r.devNull.Close()
	if cfg.SSH == nil && cfg.Remote == nil {
		r.outFiles = newMemPool(2*cfg.Jobs + 2)
		defer r.outFiles.close() // after the jobs: pool.Close below waits for them
	}
	if cfg.SSH != nil {
		n, err := r.setupHosts(ctx)
		if err != nil {
			return sum, err
		}
		cfg.Jobs, r.cfg.Jobs = n, n
		defer r.sshDone(ctx)
	}
	if cfg.Watchdog && cfg.Remote == nil {
		if r.wd, err = watchdog.Start(); err != nil {
			return sum, err
		}
		defer r.wd.Close()
	}
	if cfg.MemFree > 0 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.watchMem(stop)
		}()
		defer wg.Wait()
		defer close(stop)
	}
	if cfg.Bar {
		r.bar = progress.New(int64(cfg.Total), progress.Writer(cfg.Stderr), progress.Unit("job"))
		defer r.bar.Close()
	}
	if cfg.Dashboard != "" {
		r.board = &board{r: r, name: cmp.Or(cfg.Name, "mp run"), start: time.Now()}
		r.board.total.Store(int64(cfg.Total))
		r.board.final.Store(cfg.Total > 0)
		h, err := dash.Join(cfg.Dashboard, r.board)
		if err != nil {
			return sum, err
		}
		defer h.Leave()
		fmt.Fprintf(cfg.Stderr, "%s: dashboard at %s\n", cmp.Or(cfg.Name, "mp run"), h.URL())
	}

	// The input, read lazily: it stops when the run stops; the job log's
	// finished jobs are skipped (--resume), keyed by their command.
	var inputErr error
	count := 0
	input := func(yield func(*Job) bool) {
		for j, err := range jobs {
			if err != nil {
				inputErr = err
				return
			}
			if r.stopping.Load() {
				return
			}
			cfg.Template.PrepareJob(j) // its perl expressions in job order
			if skip != nil && skip[cfg.Template.Display(j, 0)] {
				sum.Skipped++
				continue
			}
			count++
			if r.board != nil && cfg.Total == 0 {
				r.board.total.Store(int64(count))
			}
			if !yield(j) {
				return
			}
		}
		if r.bar != nil {
			r.bar.SetTotal(int64(count))
		}
		if r.board != nil {
			r.board.total.Store(int64(count))
			r.board.final.Store(true)
		}
	}

	// Workers are goroutines: each job is a process of its own. The
	// initializer only gives each worker its slot number ({%}).
	pool, err := mp.NewPool(mp.Threads(cfg.Jobs), mp.Initializer(mp.Fn(func(context.Context, struct{}) (struct{}, error) {
		return struct{}{}, nil
	}), struct{}{}))
	if err != nil {
		return sum, err
	}
	defer pool.Close()
	run := mp.Fn(func(ctx context.Context, j *Job) (*result, error) {
		slot := r.takeSlot()
		defer r.freeSlot(slot)
		return r.runJob(ctx, j, slot), nil
	})
	if cfg.SSH != nil && cfg.SSH.OnAll {
		err := r.onAll(ctx, pool, input, &sum)
		if err == nil {
			err = inputErr
		}
		return r.summarise(sum), err
	}
	results := mp.ImapUnordered(ctx, pool, run, input, mp.Chunksize(1))
	if cfg.KeepOrder {
		results = mp.Imap(ctx, pool, run, input, mp.Chunksize(1))
	}
	for res, err := range results {
		if err != nil {
			return sum, err
		}
		if res.skipped {
			continue
		}
		sum.Done++
		if !res.ok() {
			sum.Failed++
		}
		r.print(res)
	}
	return r.summarise(sum), inputErr
}

// runJob runs one job, with its tries, and records it.
func (r *Runner) runJob(ctx context.Context, j *Job, slot int) *result {
	cfg := r.cfg
	if j.Release != nil {
		defer j.Release()
	}
	if j.Input != nil {
		defer j.Input.Close()
	}
	if r.stopping.Load() {
		return &result{job: j, skipped: true}
	}
	res := &result{job: j, command: cfg.Template.Display(j, slot), slot: slot}
	if j.Skipped() {
		// skip() in a perl expression: the job does not run and is
		// not counted (GNU parallel logs it as failed with -2)
		res.skipped = true
		return res
	}
	if err := j.EvalErr(); err != nil {
		res.err, res.exit, res.out, res.err2 = err, -1, &spill{}, &spill{}
		fmt.Fprintf(&res.err2.buf, "mp: job %d: %v\n", j.Seq, err)
		r.finished(res)
		return res
	}
	r.throttle() // counts it running
	defer r.running.Add(-1)
	if cfg.Verbose && (cfg.Ungroup || cfg.LineBuffer) {
		r.outMu.Lock()
		fmt.Fprintln(cfg.Stdout, res.command)
		r.outMu.Unlock()
	}
	if cfg.Trace && !cfg.KeepOrder { // with -k: in job order, when printed
		r.outMu.Lock()
		fmt.Fprintln(cfg.Stderr, res.command)
		r.outMu.Unlock()
	}
	delay := cfg.RetryDelay
	tries := cfg.Tries
	if r.triesT != nil {
		tries, _ = strconv.Atoi(strings.TrimSpace(r.triesT.Text(j, slot))) // not a number: once, as GNU parallel's 0
	}
	for try := 1; ; try++ {
		res.tries = try
		r.event(map[string]any{"event": "start", "seq": j.Seq, "slot": slot, "try": try, "command": res.command})
		res.stopped = false
		r.attempt(ctx, j, slot, res)
		if res.memKilled && !r.stopping.Load() {
			// --memfree killed it: back in the queue, as in GNU
			// parallel; it starts again once there is memory (or
			// once it would run alone), and that is not a try
			try--
			res.out.discard()
			res.err2.discard()
			r.running.Add(-1)
			r.throttle()
			continue
		}
		if res.ok() || try >= tries || r.stopping.Load() || !r.retryable(res) {
			break
		}
		wait := delay/2 + rand.N(delay/2+1) // backoff with jitter
		r.event(map[string]any{"event": "retry", "seq": j.Seq, "try": try, "exit": res.exit, "signal": res.signal, "delay_s": wait.Seconds()})
		delay = min(delay*2, 10*time.Second)
		select {
		case <-time.After(wait):
		case <-r.term:
		}
		if r.stopping.Load() {
			break
		}
		res.out.discard()
		res.err2.discard()
	}
	if j.RemoveStdin && j.Stdin != "" {
		os.Remove(j.Stdin)
	}
	r.saveResults(res, slot)
	r.finished(res)
	j.Data = nil // a --pipe block is not kept until the output is printed
	return res
}

func (r *Runner) retryable(res *result) bool {
	if len(r.cfg.RetryOn) == 0 {
		return true
	}
	return res.err == nil && res.signal == 0 && slices.Contains(r.cfg.RetryOn, res.exit)
}
