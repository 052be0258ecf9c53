// Package worker is the child side of a process pool: a worker process
// (the program re-executed, in mp.Main) says Hello, takes its Setup, runs
// the Tasks the pool sends and sends back their Results, forwarding its
// log records on the same pipe. docs/protocol.md describes the frames.
//
// What needs the program's own types stays in package mp, behind Host
// (the worker's state, its initializer) and registry.Func (the typed loop
// that decodes arguments, calls the function and encodes results).
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"

	"github.com/mp-go/mp/internal/pacer"
	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/registry"
	"github.com/mp-go/mp/internal/ring"
	"github.com/mp-go/mp/internal/wire"
)

// Host is what package mp gives the serving loop: what this process is,
// and the state its initializer builds.
type Host interface {
	// Setup applies s to this process (its name, daemon flag, parent) and
	// runs the initializer s names, if any. It returns the context tasks
	// run in, which carries the worker's state, or the initializer's
	// failure.
	Setup(s *wire.Setup) (context.Context, *wire.Error)
	// Close releases the initializer's state once the pool is done.
	Close()
}

// EncodeErrorType is the RemoteError.Type of a result that a worker
// could not encode.
const EncodeErrorType = "*mp.EncodeError"

// TimeoutErrorType is the RemoteError.Type of an item that ran past the
// Task's Timeout.
const TimeoutErrorType = "mp.timeout"

// Exit statuses of a worker process that ends on its own.
const (
	exitPoolGone = 3 // the pool's end of a pipe is gone
	exitBadFrame = 4 // the pool sent something other than its frames
	exitNoReady  = 5 // the initializer failed, or Ready could not be sent
)

// Serve runs the worker side of the protocol on link's rings (Tasks in,
// Results out): Hello, Setup/Ready, then the Results of every Task, until
// the pool closes the task ring or this process's parent dies. It returns
// the exit status.
//
// Each item's results are in the result ring before the mark names the
// next item (see Link): a worker that dies loses no result it finished.
func Serve(link *Link, h Host) int {
	ppid := os.Getppid()
	gone := func() bool { return os.Getppid() != ppid }
	link.Tasks.PeerGone, link.Results.PeerGone = gone, gone
	Running.Link.Store(link)
	r := wire.NewReader(&ring.Reader{R: link.Tasks}, wire.DefaultMaxFrame)
	o := &workerOut{w: wire.NewWriter(&ring.Writer{R: link.Results}, wire.DefaultMaxFrame)}
	if o.send(wire.KindHello, wire.Hello{Version: wire.Version, PID: os.Getpid(), Names: registry.Names()}) != nil {
		return exitPoolGone
	}
	kind, p, err := r.Read()
	if errors.Is(err, io.EOF) {
		// closed before its Setup: a spare worker no longer wanted
		// (mp.Prestart), or a pool that gave up on it
		return 0
	}
	var s wire.Setup
	if err != nil || kind != wire.KindSetup || wire.Unmarshal(p, &s) != nil {
		fmt.Fprintf(os.Stderr, "mp worker %d: no setup from the pool: %v\n", os.Getpid(), err)
		return exitBadFrame
	}
	forwardLogs(o, slog.Level(s.LogLevel))
	ctx, werr := h.Setup(&s)
	if o.send(wire.KindReady, wire.Ready{Err: werr}) != nil || werr != nil {
		return exitNoReady
	}
	defer h.Close()
	// What each Task uses, made once: a Task of Apply in a loop
	// allocated 4 times here.
	var t wire.Task
	var failed *wire.Error
	send := func(res *wire.Results) error {
		if s.Process {
			res.Errs = processErrors(res.Errs) // its result is not used
		}
		if len(res.Errs) > 0 && failed == nil {
			failed = &res.Errs[0].Err
		}
		return o.send(wire.KindResult, res)
	}
	tick := func(tk *wire.Tick) error { return o.send(wire.KindTick, tk) }
	decode := wire.DecodeTaskShared // its arguments are decoded before the next Read
	if s.Process {
		decode = wire.DecodeTask // the watcher below reads on
	}
	for {
		kind, p, err := r.Read()
		if err == io.EOF {
			return 0 // the pool closed the connection: done
		}
		if err != nil || kind != wire.KindTask {
			fmt.Fprintf(os.Stderr, "mp worker %d: bad frame from the pool (kind %d): %v\n", os.Getpid(), kind, err)
			return exitBadFrame
		}
		failed = nil
		if err := decode(p, &t); err != nil { // every field of t anew, its Func reused if the same
			fmt.Fprintf(os.Stderr, "mp worker %d: bad task from the pool: %v\n", os.Getpid(), err)
			return exitBadFrame
		}
		if s.Process {
			// The parent holds the task pipe open while we run: EOF
			// means it died, and a Process dies with its parent, also
			// where there is no parent-death signal.
			go func() {
				r.Read()
				proc.KillOwnGroup() // and what it started
			}()
		}
		late, err := RunTaskTicks(ctx, &t, s.RSS, send, tick)
		if err != nil {
			return exitPoolGone
		}
		if late != nil {
			<-late
		}
		if s.Process {
			// an mp.Process runs one task; its status says how it went,
			// and its stderr shows the error, as Python's traceback
			if failed != nil {
				fmt.Fprintf(os.Stderr, "Process %s (pid %d): %s\n", s.Name, os.Getpid(), failed.Msg)
				if failed.Stack != "" {
					fmt.Fprintf(os.Stderr, "\n%s\n", failed.Stack)
				}
				return 1
			}
			return 0
		}
	}
}

// processErrors drops from the errors of an mp.Process's function those
// of a result that could not be encoded: as in Python, a Process's
// return value is not used, so it need not be encodable.
func processErrors(errs []wire.ItemError) []wire.ItemError {
	return slices.DeleteFunc(errs, func(e wire.ItemError) bool { return e.Err.Type == EncodeErrorType })
}

// RunTask runs the items of t with the registered function it names and
// sends their Results: in batches, after each item that ends a
// millisecond or more after the last batch (internal/pacer), or after
// every item when t is Careful. With rss, the last
// Results carry this process's resident memory. It returns the first
// error of sendResults, and late as registry.Func.RunBatch does: the
// caller runs nothing else until it is closed. A cluster worker runs its
// Tasks with it too.
func RunTask(ctx context.Context, t *wire.Task, rss bool, sendResults func(*wire.Results) error) (late <-chan struct{}, err error) {
	return RunTaskTicks(ctx, t, rss, sendResults, nil)
}

// RunTaskTicks is RunTask that also sends the ticks of the task's items
// (mp.Tick) with sendTick, when t asks for them: at most every TickEvery,
// and before the task's last Results.
func RunTaskTicks(ctx context.Context, t *wire.Task, rss bool, sendResults func(*wire.Results) error, sendTick func(*wire.Tick) error) (late <-chan struct{}, err error) {
	var ticks *TickSink
	if t.Ticks && sendTick != nil {
		ctx, ticks = StartTicks(ctx, t.ID, sendTick)
		defer ticks.Close()
	}
	send := sendResults
	if rss || ticks != nil {
		send = func(r *wire.Results) error {
			last := r.From+r.N == t.N
			if rss && last {
				r.RSS = proc.RSS()
			}
			if ticks != nil && last {
				if err := ticks.flush(); err != nil {
					return err
				}
			}
			return sendResults(r)
		}
	}
	Running.Task.Store(t.ID)
	defer Running.Task.Store(0)
	if l := Running.Link.Load(); l != nil {
		l.Mark.Start(t.ID)
	}
	f, ok := registry.Lookup(t.Func)
	if !ok {
		errs := make([]wire.ItemError, t.N)
		for i := range errs {
			errs[i] = wire.ItemError{Index: i, Err: wire.Error{Msg: fmt.Sprintf("mp: function %q is not registered in worker process %d", t.Func, os.Getpid()), Type: "mp.notRegistered"}}
		}
		return nil, send(&wire.Results{ID: t.ID, N: t.N, Errs: errs})
	}
	// A single item or a careful Task flushes each result anyway: no
	// clock, and without a deadline (which Sets it) no Due at all.
	var due *pacer.Due
	switch {
	case t.N > 1 && !t.Careful:
		due = new(pacer.Due)
		due.Start()
		defer due.Stop()
	case t.Timeout > 0:
		due = new(pacer.Due)
	}
	return f.RunBatch(ctx, t, due, send)
}

// ErrorType names the type of err for a RemoteError: the type of the
// error wrapped by fmt.Errorf, which says more than *fmt.wrapError.
func ErrorType(err error) string {
	t := reflect.TypeOf(err).String()
	if u := errors.Unwrap(err); u != nil && t == "*fmt.wrapError" {
		return ErrorType(u)
	}
	return t
}
