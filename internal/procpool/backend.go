package procpool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// Config configures a pool's worker processes.
type Config struct {
	Handshake time.Duration // how long a new worker may take to say Hello
	Init      string        // the registered Initializer, if any
	InitArg   []byte        // its argument, encoded
	MaxRSS    uint64        // MaxMemoryPerChild: replace a worker above it after a task (0: never)
	Env       []string      // added to the workers' environment (the worker cookie, ...)
	Parent    string        // this process's name, for the workers' ParentProcess
	// MemFree says that the pool may Shed a slot's job (mp.MemFree):
	// each Run registers its chain so that Shed finds the slot's worker.
	MemFree bool
	// Spares, if not nil, are workers started ahead (mp.Prestart): a
	// new worker is one of them when one is ready.
	Spares *Spares
}

// Backend runs each worker slot of a pool as a child process.
type Backend struct {
	cfg  Config
	pool sched.Pool
	errs sched.Errors
	st   *sched.Counters

	chainMu sync.Mutex
	chains  map[sched.Slot]*chain // the slots running a job, with MemFree
}

var (
	_ sched.Backend = (*Backend)(nil)
	_ sched.Shedder = (*Backend)(nil)
)

// New returns the process backend of pool.
func New(pool sched.Pool, cfg Config) *Backend {
	if cfg.Handshake == 0 {
		cfg.Handshake = DefaultHandshake
	}
	return &Backend{cfg: cfg, pool: pool, errs: pool.Errors(), st: pool.Counters()}
}

// Spawn starts a worker process for a slot numbered id outside the
// pool's slots (for benchmarks of the raw exchange).
func (b *Backend) Spawn(id int) (*Proc, error) { return b.spawn(id) }

// Start starts the slot's worker process.
func (b *Backend) Start(ctx context.Context, w sched.Slot) error {
	pw, err := b.spawn(w.ID())
	if err != nil {
		return err
	}
	w.SetWorker(pw)
	return nil
}

// Stop stops the slot's worker process.
func (b *Backend) Stop(w sched.Slot) {
	if pw, ok := w.Worker().(*Proc); ok {
		pw.Close()
		w.SetWorker(nil)
	}
}

// maxStarts bounds the attempts to start a worker process that is
// killed before it serves; between them the pool waits, from startBackoff
// doubling up to a second.
const (
	maxStarts    = 6
	startBackoff = 25 * time.Millisecond
)

// spawn starts worker id's process. One killed while it starts (someone
// kills the pool's processes, the OOM killer) is started again, with
// backoff; the pool breaks only when workers cannot start at all: after
// maxStarts attempts, or at once when the program cannot serve (no
// mp.Main, a failing initializer).
func (b *Backend) spawn(id int) (*Proc, error) {
	delay, began := startBackoff, time.Now()
	for attempt := 1; ; attempt++ {
		pw, err := b.spawnOnce(id)
		if err == nil {
			return pw, nil
		}
		var se *StartError
		if !errors.As(err, &se) {
			return nil, err // the initializer failed
		}
		if !se.Retry {
			return nil, b.errs.Broken(err)
		}
		if attempt == maxStarts {
			return nil, b.errs.Broken(fmt.Errorf("worker %d cannot start: %d attempts in %v failed, the last because %w", id, attempt, time.Since(began).Round(time.Millisecond), err))
		}
		b.pool.Logger().Warn("mp: a worker process failed to start; starting another", "worker", id, "attempt", attempt, "err", err, "after", delay)
		select {
		case <-time.After(delay):
		case <-b.pool.Context().Done():
			return nil, context.Cause(b.pool.Context())
		}
		delay = min(2*delay, time.Second)
	}
}

// WorkerSpec is how a pool's worker process is started, with env added
// to its environment.
func WorkerSpec(env []string) Spec {
	return Spec{Noun: "worker process", Handshake: DefaultHandshake, Tagged: true, Env: env}
}

// DefaultHandshake is how long a worker may take to say Hello unless
// the pool says otherwise.
const DefaultHandshake = 10 * time.Second

func (b *Backend) spawnOnce(id int) (*Proc, error) {
	sp := WorkerSpec(b.cfg.Env)
	sp.ID, sp.Handshake = id, b.cfg.Handshake
	pw := b.cfg.Spares.Take(b.pool.Context(), sp)
	if pw != nil {
		pw.setID(id)
	} else {
		var err error
		if pw, err = Spawn(sp); err != nil {
			return nil, err
		}
	}
	if err := b.setup(pw, id); err != nil {
		pw.Kill()
		pw.Close()
		return nil, err
	}
	pw.unhook = context.AfterFunc(b.pool.Context(), func() { pw.killFor(context.Cause(b.pool.Context())) })
	return pw, nil
}

// setup sends Setup and waits for Ready: the initializer has run.
func (b *Backend) setup(pw *Proc, id int) error {
	if b.cfg.Init != "" && !pw.Has(b.cfg.Init) {
		return &StartError{msg: fmt.Sprintf("initializer %q is not registered in worker process %d: register it at package level", b.cfg.Init, pw.pid)}
	}
	setup := wire.Setup{
		Worker: id, Init: b.cfg.Init, Arg: b.cfg.InitArg, RSS: b.cfg.MaxRSS > 0,
		Name: fmt.Sprintf("PoolWorker-%d", id), Daemon: true, LogLevel: int(wk.LowestLevel(b.pool.Logger())),
		Parent: b.cfg.Parent,
	}
	// the initializer may take long: no deadline but the worker's life
	err := pw.Send(wire.KindSetup, setup)
	var kind wire.Kind
	var p []byte
	if err == nil {
		kind, p, err = pw.Read(b.pool.Logger(), "worker", id)
	}
	var ready wire.Ready
	if err != nil || kind != wire.KindReady || wire.Unmarshal(p, &ready) != nil {
		if err == nil {
			pw.killFor(pw.protocolError(fmt.Errorf("a frame of kind %d where Ready was due", kind)))
		} else if FramingError(err) {
			pw.killFor(pw.protocolError(err))
		}
		if why := pw.reason(); why != nil {
			return &StartError{msg: fmt.Sprintf("worker %d (pid %d) during setup: %v", id, pw.pid, why), err: why}
		}
		if _, sig := pw.ExitStatus(); sig != 0 {
			return &StartError{msg: fmt.Sprintf("worker %d (pid %d) was killed by signal %s during setup", id, pw.pid, sig), Retry: true}
		}
		return &StartError{msg: fmt.Sprintf("worker %d (pid %d) %s during setup", id, pw.pid, pw.ExitText())}
	}
	if ready.Err != nil {
		re := b.errs.Remote(pw.pid, ready.Err)
		return fmt.Errorf("mp: initializer of worker %d (pid %d): %w", id, pw.pid, re)
	}
	return nil
}

// worker returns w's worker process, starting one if it has none; a
// failure to start breaks the pool.
func (b *Backend) worker(w sched.Slot) (*Proc, error) {
	if pw, _ := w.Worker().(*Proc); pw != nil {
		return pw, nil
	}
	pw, err := b.spawn(w.ID())
	if err != nil {
		b.pool.Break(err)
		return nil, err
	}
	w.SetWorker(pw)
	return pw, nil
}

// Shed kills the worker process of slot w, if it runs a job, so that the
// items it had not finished run again (MemFree, memory critically low):
// see shedFor in Run. It reports whether it killed a worker.
func (b *Backend) Shed(w sched.Slot) bool {
	b.chainMu.Lock()
	c := b.chains[w]
	b.chainMu.Unlock()
	if c == nil {
		return false
	}
	pw := c.cur.Load()
	if pw == nil {
		return false
	}
	select {
	case <-pw.exited:
		return false // dying already, or replaced
	default:
	}
	var why error = errShed
	if !pw.why.CompareAndSwap(nil, &why) {
		return false // being killed for another reason
	}
	pw.Kill()
	return true
}

// errShed is the reason a worker was killed by Shed: memory is
// critically low (MemFree). The items it had not finished run again,
// not as a failure and not as a retry.
var errShed = errors.New("mp: worker process killed to free memory (MemFree): its task runs again")

// register makes Shed find c while it runs on w; unregister forgets it.
func (b *Backend) register(w sched.Slot, c *chain) {
	b.chainMu.Lock()
	if b.chains == nil {
		b.chains = map[sched.Slot]*chain{}
	}
	b.chains[w] = c
	b.chainMu.Unlock()
}

func (b *Backend) unregister(w sched.Slot) {
	b.chainMu.Lock()
	delete(b.chains, w)
	b.chainMu.Unlock()
}
