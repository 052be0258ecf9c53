package mp

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/procpool"
	"github.com/mp-go/mp/internal/registry"
	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/internal/wire"
)

// Cluster makes the pool run its tasks on the workers of a NATS JetStream
// cluster (Ray's multiprocessing.Pool, on a proven engine): the same Map,
// Imap, Submit and the rest, with workers on any number of hosts. url is
// the cluster's address, with NATS's own forms of credentials
// (nats://user:pass@host:4222, tls://, several URLs separated by commas);
// "" starts an embedded NATS server with JetStream in this process, on
// loopback, with its store in a temporary directory, and LocalWorkers
// worker processes (CPUCount() unless set) connected to it.
//
// The program must link the cluster package, which holds everything NATS
// (import _ "github.com/mp-go/mp/cluster"), and call Main first thing in
// main: a worker is this program started with the environment variable
// MP_CLUSTER_WORKER set to the cluster's URL (Pool.ClusterURL), on any
// host. Only functions made with Register run there.
//
// Tasks go to a work-queue stream and are acknowledged only after their
// results are stored: a worker that dies or stalls has its tasks run again
// elsewhere, and each task yields exactly one result to the caller even
// so. Tasks must therefore be idempotent: one may run more than once.
// The cluster package's documentation says what exactly is guaranteed.
//
// The pool's worker count (Threads) is the number of tasks in flight at
// once (default 512); the default chunk size divides a call's items among
// a quarter of it (128 by default), as if each worker of a cluster of that
// size kept four tasks in flight, which hides the round trips through the
// server.
func Cluster(url string) PoolOption {
	return poolOption(func(s *settings) error {
		s.cluster, s.clusterURL = true, url
		return nil
	})
}

// LocalWorkers sets how many worker processes of this program a Cluster
// pool starts, connected to the cluster: CPUCount() by default with the
// embedded server, 0 with a URL (workers are started on their hosts).
func LocalWorkers(n int) PoolOption {
	return poolOption(func(s *settings) error {
		if n < 0 {
			return fmt.Errorf("%w: LocalWorkers(%d)", ErrInvalidOption, n)
		}
		s.localWorkers = &n
		return nil
	})
}

// AckWait sets how long a Cluster task may run without a sign of life
// from its worker before it is given to another (workers send one every
// third of it while a task runs, so only a dead or stalled worker loses
// its tasks). Default 30 s.
func AckWait(d time.Duration) PoolOption {
	return poolOption(func(s *settings) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("%w: AckWait(%v) is below 100ms", ErrInvalidOption, d)
		}
		s.ackWait = d
		return nil
	})
}

// ClusterCredentials makes a Cluster pool authenticate with file: a NATS
// .creds file (JWT and nkey seed) or an nkey seed file. Its local workers
// get it too; workers started elsewhere take it from the environment
// variable MP_CLUSTER_CREDS (or mp worker -creds). Tokens and passwords go
// in the URL (nats://TOKEN@host, nats://user:password@host).
func ClusterCredentials(file string) PoolOption {
	return poolOption(func(s *settings) error {
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("%w: ClusterCredentials: %w", ErrInvalidOption, err)
		}
		s.clusterCreds = file
		return nil
	})
}

// ClusterCA makes a Cluster pool trust the certificate authority in file
// for a tls:// cluster (the system's authorities are trusted anyway).
// Workers take it from MP_CLUSTER_CA (or mp worker -ca).
func ClusterCA(file string) PoolOption {
	return poolOption(func(s *settings) error {
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("%w: ClusterCA: %w", ErrInvalidOption, err)
		}
		s.clusterCA = file
		return nil
	})
}

// ClusterRun names the work of a Cluster pool so that the program, run
// again after a crash, resumes it: a task whose results the cluster
// stored before the crash is not run again (its results are read back),
// one still queued or running is waited for, not sent twice. The calls
// must be made again in the same order with the same inputs and options
// (a task is known by its call's number and its first item). Results
// are kept for an hour, and the cluster must keep its store (a server
// with a store directory, not the embedded default). A second program
// must not use the same name at the same time.
func ClusterRun(name string) PoolOption {
	return poolOption(func(s *settings) error {
		if name == "" || strings.ContainsAny(name, ".*> \t") {
			return fmt.Errorf("%w: ClusterRun(%q): a name without dots, spaces or wildcards", ErrInvalidOption, name)
		}
		s.clusterRun = name
		return nil
	})
}

// ClusterURL returns the address workers of a Cluster pool connect to
// (the embedded server's, when the pool started one), or "" for other
// pools.
func (p *Pool) ClusterURL() string {
	if b, ok := p.backend.(*clusterBackend); ok {
		return b.tr.URL()
	}
	return ""
}

// newClusterBackend connects the pool to its cluster.
func newClusterBackend(p *Pool, s *settings) (*clusterBackend, error) {
	stopIfNotServing("mp.NewPool")
	c := registry.LinkedCluster()
	if c == nil {
		return nil, fmt.Errorf("%w: mp.Cluster needs the cluster package linked in: import _ \"github.com/mp-go/mp/cluster\"", ErrInvalidOption)
	}
	if s.initFn != nil {
		return nil, fmt.Errorf("%w: a Cluster pool has no Initializer (workers on other hosts start on their own)", ErrInvalidOption)
	}
	cfg := registry.Config{URL: s.clusterURL, AckWait: s.ackWait, MaxDeliver: 5, Creds: s.clusterCreds, CA: s.clusterCA, Run: s.clusterRun}
	if cfg.AckWait == 0 {
		cfg.AckWait = 30 * time.Second
	}
	if s.localWorkers != nil {
		cfg.LocalWorkers = *s.localWorkers
	} else if s.clusterURL == "" {
		cfg.LocalWorkers = CPUCount()
	}
	tr, err := c.Dial(cfg)
	if err != nil {
		return nil, err
	}
	return &clusterBackend{pool: p, tr: tr}, nil
}

// clusterBackend runs each worker slot's jobs as Tasks on the cluster: a
// slot is one task in flight.
type clusterBackend struct {
	pool  *Pool
	tr    registry.Transport
	slots atomic.Int32
	once  sync.Once
}

var _ sched.Backend = (*clusterBackend)(nil)

// Start counts the slot: the connection closes with the last one.
func (b *clusterBackend) Start(ctx context.Context, s sched.Slot) error {
	b.slots.Add(1)
	return nil
}

// Stop closes the connection with the last slot.
func (b *clusterBackend) Stop(s sched.Slot) {
	if b.slots.Add(-1) == 0 {
		b.close()
	}
}

func (b *clusterBackend) close() {
	b.once.Do(func() {
		if err := b.tr.Close(); err != nil {
			b.pool.log.Warn("mp: closing the cluster connection", "err", err)
		}
	})
}

// clusterTransportAllowance is how much longer than its items' Timeouts
// the pool waits for a task to come back from the cluster: a task is timed
// by the worker that runs it, not by the round trip, which takes seconds
// on a loaded machine or network.
const clusterTransportAllowance = 30 * time.Second

// Run runs rj's items as Tasks on the cluster, one Task in flight.
func (b *clusterBackend) Run(s sched.Slot, rj sched.Job) {
	if !rj.Begin() {
		return
	}
	start := time.Now()
	timeout, retries := rj.Settings()
	ctx := rj.Context()
	// The call's bar, if any, moves with the Ticks of its tasks, which the
	// workers send while they run (none without a bar).
	var onTick func(int64)
	if jt, ok := rj.(sched.JobTicker); ok && sched.TickerFrom(ctx) != nil {
		onTick = func(n int64) { jt.TickOn(s, n) }
	}
	for rj.Cursor() < rj.Size() {
		from := rj.Cursor()
		args, view, n, encErr := rj.EncodeFrom(nil, from)
		args = append(args, view...) // the Task keeps its arguments
		if n == 0 {
			rj.Fail(from, encErr)
			continue
		}
		// The ID names the task by its call and its first item: the same
		// in a program run again, for ClusterRun.
		t := &wire.Task{ID: rj.CallSeq()<<32 | uint64(rj.Index(from)), Func: rj.FuncName(), Args: args, N: n, Retries: retries, Ticks: onTick != nil}
		tctx, cancel := ctx, context.CancelFunc(func() {})
		if timeout > 0 {
			// The worker times each item from its start and reports a late
			// one at its deadline. The pool's own limit only bounds a task
			// that does not come back (a worker lost, a cluster too busy to
			// take it): the items' timeouts, one after another on one
			// worker, plus the transport's allowance.
			t.Timeout = int64(timeout)
			tctx, cancel = context.WithTimeoutCause(ctx, timeout*time.Duration(n)+clusterTransportAllowance,
				fmt.Errorf("%w after %v an item: the task did not come back from the cluster within %v", ErrTimeout, timeout, timeout*time.Duration(n)+clusterTransportAllowance))
		}
		got := 0
		b.pool.st.Sent.Add(1)
		err := b.tr.Run(tctx, t, onTick, func(r *wire.Results) {
			if r.Retried > 0 {
				b.pool.st.Retried.Add(int64(r.Retried))
			}
			var errs map[int]error
			for _, e := range r.Errs {
				if errs == nil {
					errs = map[int]error{}
				}
				errs[from+e.Index] = &RemoteError{Msg: e.Err.Msg, Type: e.Err.Type, Stack: e.Err.Stack, Panic: e.Err.Panic}
			}
			got += r.N
			rj.Deliver(from+r.From, r.Values, r.N, errs)
		})
		if err != nil && context.Cause(tctx) != nil && ctx.Err() == nil {
			err = context.Cause(tctx)
		}
		cancel()
		if err != nil {
			for rj.Cursor() < from+n {
				rj.Fail(rj.Cursor(), err)
			}
		}
		if encErr != nil {
			rj.Fail(rj.Cursor(), encErr)
		}
	}
	rj.Complete(s, time.Since(start))
}

// serveCluster runs this process as a cluster worker, if the environment
// says so; it does not return then.
func serveCluster() {
	url := os.Getenv(registry.WorkerEnv)
	if url == "" {
		return
	}
	os.Unsetenv(registry.WorkerEnv) // not for the processes its tasks start
	if f := reportPipe(); f != nil {
		f.Close() // serving: nothing to report
	}
	os.Unsetenv(registry.ReportEnv)
	c := registry.LinkedCluster()
	if c == nil {
		fmt.Fprintf(os.Stderr, "mp: %s is set but this program does not link the cluster package (import _ \"github.com/mp-go/mp/cluster\")\n", registry.WorkerEnv)
		os.Exit(2)
	}
	os.Exit(c.Serve(url))
}

// stopIfClusterWorker is stopIfNotServing for a local cluster worker (a
// process started by a pool with LocalWorkers) that runs the program
// instead of serving: it tells the pool over the report pipe and exits,
// before it starts a cluster, processes or workers of its own.
func stopIfClusterWorker(call string) {
	if os.Getenv(registry.WorkerEnv) == "" {
		return
	}
	if f := reportPipe(); f != nil {
		fmt.Fprintln(f, call)
		f.Close()
	}
	fmt.Fprintf(os.Stderr, "mp: process %d was started as a cluster worker but runs the program instead of serving, up to %s: %s\n", os.Getpid(), call, procpool.MissingMain)
	os.Exit(registry.ExitNoMain)
}

// reportPipe returns the pipe to the pool that started this local
// cluster worker, or nil.
func reportPipe() *os.File {
	fd, err := strconv.Atoi(os.Getenv(registry.ReportEnv))
	if err != nil || fd < 3 {
		return nil
	}
	f := os.NewFile(uintptr(fd), "mp-cluster-report")
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return nil
	}
	return f
}
