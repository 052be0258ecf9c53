package mp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/mp-go/mp/internal/pacer"
	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/procpool"
	"github.com/mp-go/mp/internal/registry"
	"github.com/mp-go/mp/internal/ring"
	"github.com/mp-go/mp/internal/shm"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// The environment variable that tells a re-executed program it is a
// worker process, and its value (a magic cookie, as go-plugin does, so
// that a stray variable of the same name does not turn a program into a
// worker). docs/protocol.md describes what follows.
const (
	workerEnv    = "MP_WORKER"
	workerCookie = "mp-worker-v1-7f3c"
)

// Main makes the program serve as a worker process when a process pool
// started it, and returns at once otherwise. Call it first thing in main,
// before flags are parsed or anything else runs, and in TestMain of tests
// that use process pools:
//
//	func main() {
//		mp.Main()
//		// the program
//	}
//
// It is Go's form of Python's `if __name__ == "__main__":` and
// freeze_support(): worker processes are this program, re-executed (the
// "spawn" start method; Go has no fork). In a worker, Main never returns:
// it serves tasks until the pool closes the connection, then exits.
func Main() {
	mainCalled = true
	serveCluster()
	if os.Getenv(workerEnv) != workerCookie {
		return
	}
	if mode := os.Getenv("MP_SHM_TRACKER"); mode != "" {
		exe, _ := os.Executable()
		os.Exit(shm.TrackerMain(mode, exe, os.Environ()))
	}
	// The tree this worker belongs to, for its shared memory, that it is a
	// worker, and its parent: not passed on to the processes its tasks
	// start (they are not mp's).
	treeState.id = os.Getenv(treeEnv)
	parentPID, _ = strconv.Atoi(os.Getenv(parentEnv))
	for _, v := range []string{treeEnv, workerEnv, parentEnv} {
		os.Unsetenv(v)
	}
	proc.NoInherit(3)
	link, err := poolLink()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mp worker %d: %v\n", os.Getpid(), err)
		os.Exit(exitNoLink)
	}
	code := wk.Serve(link, &host{})
	// The connection ended. If the parent is dying (its task ring ends
	// as it dies, a moment before the lifeline), what the tasks started
	// must die with this worker: no one else will kill the group. A pool
	// that closed the connection kills the group itself once this worker
	// has exited.
	if parentPID > 0 && proc.Exiting(parentPID) {
		proc.KillOwnGroup()
	}
	os.Exit(code)
}

func init() {
	if os.Getenv(workerEnv) == workerCookie && os.Getenv("MP_SHM_TRACKER") == "" {
		watchLifeline()
	}
}

// watchLifeline makes a worker process end when its parent has died,
// however it died, and with it what its tasks started, in its process
// group: the lifeline (fd 5), a pipe the parent never writes to, then
// reads EOF. It replaces the parent-death signal, which would kill this
// worker alone (and cannot be told from the end of one of the parent's
// threads). It runs in init, on the thread the signal was set on (package
// initialisation is locked to it), so that it can clear it, and before the
// program's own code: a program that does not call Main dies with its
// parent as well.
func watchLifeline() {
	lifeline := os.NewFile(5, "mp-lifeline")
	if st, err := lifeline.Stat(); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return // not started by a pool: keep the signal
	}
	proc.NoInherit(5)
	proc.ClearParentDeathSignal()
	go func() {
		var b [1]byte
		if _, err := lifeline.Read(b[:]); err != io.EOF {
			return // EOF is the only way it ends
		}
		// Die at once, with what this process started: no code of the
		// program runs after its parent's death (ParentProcess().Join
		// never returns here; the pipe to the parent's side closes).
		// Closing parentGone first let a task see the parent gone and
		// act on it, under load (conformance TestParentProcess).
		proc.KillOwnGroup()
	}()
}

// mainCalled says that the program calls Main: running it again as a
// worker (or tracker) then serves instead of running the program.
var mainCalled bool

// parentPID is the pid of the process that started this worker process.
var parentPID int

// stopIfNotServing ends this process at once if it is a worker process
// running the program instead of serving, because the program does not
// call Main (or calls it too late), and has come to call, which would
// start processes: they would run the program too, and start more, and
// so on. The parent learns why from a Hello saying so, and reports it.
func stopIfNotServing(call string) {
	if mainCalled {
		return
	}
	stopIfClusterWorker(call)
	if os.Getenv(workerEnv) != workerCookie {
		return
	}
	if link, err := poolLink(); err == nil {
		if b, err := wire.Marshal(wire.Hello{Version: wire.Version, PID: os.Getpid(), NoMain: call}); err == nil {
			w := wire.NewWriter(&ring.Writer{R: link.Results}, wire.DefaultMaxFrame)
			if w.Write(wire.KindHello, b) == nil {
				w.Flush()
			}
		}
	}
	fmt.Fprintf(os.Stderr, "mp: process %d was started as a worker process but runs the program instead of serving, up to %s: %s\n", os.Getpid(), call, procpool.MissingMain)
	os.Exit(exitNoMain)
}

// exitNoMain is the status of a worker process stopped by
// stopIfNotServing; exitNoLink of one started without its link to the
// pool (fd 3).
const (
	exitNoMain = 2
	exitNoLink = 6
)

// poolLink maps this worker's link to its pool, the segment passed as
// fd 3 (see wk.Link).
func poolLink() (*wk.Link, error) {
	seg, err := shm.MapFile(os.NewFile(3, "mp-link"), "mp-link")
	if err != nil {
		return nil, fmt.Errorf("no link to the pool on fd 3: %w", err)
	}
	link, err := wk.AttachLink(seg)
	if err != nil {
		seg.Close()
		return nil, err
	}
	return link, nil
}

// maxBatch bounds the items of one Results frame.
const maxBatch = 4096

// runBatch is the typed body of wk.RunTask, made by Register for
// each function.
func runBatch[A, R any](ctx context.Context, name string, fn func(context.Context, A) (R, error), t *wire.Task, due *pacer.Due, send func(*wire.Results) error) (<-chan struct{}, error) {
	args, buf := rawArgs[A](t)
	if buf != nil {
		defer argWords.Put(buf)
	}
	var err error
	if args == nil {
		var decoded []A // its own variable: &args would put args on the heap for every Task
		err = wire.UnmarshalSlice(t.Args, &decoded)
		args = decoded
	}
	if err != nil || len(args) != t.N {
		if err == nil {
			err = fmt.Errorf("%d arguments for %d items", len(args), t.N)
		}
		errs := make([]wire.ItemError, t.N)
		for i := range errs {
			errs[i] = wire.ItemError{Index: i, Err: wire.Error{Msg: fmt.Sprintf("mp: decoding the arguments of %s as %T: %v", name, args, err)}}
		}
		return nil, send(&wire.Results{ID: t.ID, N: t.N, Errs: errs})
	}
	// In a pool's worker process each item's results are in the pool's
	// shared memory before the next item is marked running (wk.Link): in
	// the stage until its batch is sent, then in the result ring. A
	// crash then loses nothing that finished.
	link := wk.Running.Link.Load()
	if ok, err := runRaw(ctx, fn, t, args, link, due, send); ok {
		return nil, err
	}
	var mark *wk.Mark
	if link != nil {
		mark = link.Mark
		link.Stage.Reset(t.ID, 0)
	}
	out := make([]R, 0, min(len(args), maxBatch))
	var scratch []byte // an item's results, on their way to the stage
	var errs []wire.ItemError
	from, retried := 0, 0
	flush := func() error {
		var err error
		for _, res := range encodeResults(name, t.ID, from, out, errs, maxResultBytes) {
			res.Retried, retried = retried, 0
			if err = send(res); err != nil {
				break
			}
		}
		from += len(out)
		out, errs = out[:0], nil
		if link != nil {
			link.Stage.Reset(t.ID, from)
		}
		return err
	}
	// after records item i's outcome and sends a batch when one is due.
	after := func(i int, r R, werr *wire.Error) error {
		if werr != nil {
			errs = append(errs, wire.ItemError{Index: i, Err: *werr})
		}
		out = append(out, r)
		if t.Careful || i == len(args)-1 || len(out) == maxBatch || due.Now() || (link != nil && !stage(link.Stage, out[len(out)-1:], werr, &scratch)) {
			due.Sent()
			return flush()
		}
		return nil
	}
	if t.Retries > 0 || t.Timeout > 0 {
		d := time.Duration(t.Timeout)
		for i, a := range args {
			wk.Running.Item.Store(int64(i))
			if mark != nil {
				mark.Item(t.ID, i)
			}
			var r R
			var werr *wire.Error
			var late <-chan struct{}
			for attempt := 0; ; attempt++ {
				if late != nil {
					<-late // the previous attempt, past its deadline
				}
				r, werr, late = callItem(ctx, fn, a, d)
				if werr == nil || attempt >= t.Retries {
					break
				}
				retried++
			}
			if late != nil {
				due.Set() // the pool hears of it at the deadline
			}
			err := after(i, r, werr)
			if late != nil && (err != nil || i == len(args)-1) {
				return late, err // the caller waits, once its Results are on their way
			}
			if late != nil {
				<-late // one item at a time, even one that ignores ctx
			}
			if err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	for i := 0; i < len(args); {
		var err error
		if i, err = runSpan(ctx, fn, args, i, mark, t.ID, after); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// stage keeps the results of one item, r[0], in the link's stage, and
// reports whether it did (else its batch is sent at once).
func stage[R any](s *wk.Stage, r []R, werr *wire.Error, scratch *[]byte) bool {
	v, ok := wire.AppendRaw((*scratch)[:0], r) // numbers: no allocation
	if ok {
		*scratch = v
	} else {
		var bad map[int]error
		if v, bad = wire.MarshalEach(r); bad != nil {
			return false // the batch reports it
		}
	}
	var e []byte
	if werr != nil {
		var err error
		if e, err = wire.Marshal(werr); err != nil {
			return false
		}
	}
	return s.Add(v, e)
}

// runSpan runs items from i on with one recover for them all (a defer per
// item costs more than a trivial task), and returns where to go on: after
// the item that panicked, or len(args).
func runSpan[A, R any](ctx context.Context, fn func(context.Context, A) (R, error), args []A, i int, mark *wk.Mark, id uint64, after func(int, R, *wire.Error) error) (next int, err error) {
	defer func() {
		if v := recover(); v != nil {
			var zero R
			next, err = i+1, after(i, zero, &wire.Error{Msg: fmt.Sprint(v), Type: fmt.Sprintf("%T", v), Stack: string(debug.Stack()), Panic: true})
		}
	}()
	small := len(args) <= 64 // else the item is kept only once the worker logs: see running
	wk.Running.Small.Store(small)
	for ; i < len(args); i++ {
		if small || wk.Running.Logging.Load() {
			wk.Running.Item.Store(int64(i))
		}
		if mark != nil {
			mark.Item(id, i)
		}
		r, ferr := fn(ctx, args[i])
		var werr *wire.Error
		if ferr != nil {
			var zero R
			r, werr = zero, &wire.Error{Msg: ferr.Error(), Type: wk.ErrorType(ferr)}
		}
		if err := after(i, r, werr); err != nil {
			return i + 1, err
		}
	}
	return i, nil
}

// callItem runs fn(a) once, within d when d > 0. An item still running at
// its deadline fails with a timeout error at once; late is then closed when
// fn returns at last.
func callItem[A, R any](ctx context.Context, fn func(context.Context, A) (R, error), a A, d time.Duration) (r R, werr *wire.Error, late <-chan struct{}) {
	if d <= 0 {
		r, werr = callOnce(ctx, fn, a)
		return r, werr, nil
	}
	tctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	done := make(chan struct{})
	var gr R
	var gerr *wire.Error
	go func() {
		gr, gerr = callOnce(tctx, fn, a)
		close(done)
	}()
	select {
	case <-done:
		if !errors.Is(tctx.Err(), context.DeadlineExceeded) || ctx.Err() != nil {
			return gr, gerr, nil
		}
	case <-tctx.Done(): // only the deadline or ctx: cancel is not called yet
		if ctx.Err() != nil {
			<-done
			return gr, gerr, nil
		}
	}
	var zero R
	return zero, &wire.Error{Msg: fmt.Sprintf("%v after %v", ErrTimeout, d), Type: wk.TimeoutErrorType}, done
}

func callOnce[A, R any](ctx context.Context, fn func(context.Context, A) (R, error), a A) (r R, werr *wire.Error) {
	defer func() {
		if v := recover(); v != nil {
			var zero R
			r, werr = zero, &wire.Error{Msg: fmt.Sprint(v), Type: fmt.Sprintf("%T", v), Stack: string(debug.Stack()), Panic: true}
		}
	}()
	r, err := fn(ctx, a)
	if err != nil {
		var zero R
		return zero, &wire.Error{Msg: err.Error(), Type: wk.ErrorType(err)}
	}
	return r, nil
}

// host is what a worker process of this program is, for wk.Serve:
// the worker slot its tasks see through WorkerState and WorkerID.
type host struct{ me *worker }

var _ wk.Host = (*host)(nil)

// Setup records what Setup says this process is and runs its initializer.
func (h *host) Setup(s *wire.Setup) (context.Context, *wire.Error) {
	setCurrent(s.Name, s.Daemon)
	parent.name = s.Parent
	h.me = &worker{id: s.Worker, init: s.Init != "", rss: s.RSS}
	if s.Init != "" {
		if werr := runInit(h.me, *s); werr != nil {
			return nil, werr
		}
	}
	return context.WithValue(context.Background(), workerKey{}, h.me), nil
}

// Close closes the initializer's state, if it is an io.Closer.
func (h *host) Close() {
	if c, ok := h.me.state.(io.Closer); ok {
		if err := c.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "mp worker %d: closing the worker state: %v\n", os.Getpid(), err)
		}
	}
}

func runInit(me *worker, s wire.Setup) (werr *wire.Error) {
	f, ok := registry.Lookup(s.Init)
	if !ok {
		return &wire.Error{Msg: fmt.Sprintf("mp: initializer %q is not registered in worker process %d", s.Init, os.Getpid())}
	}
	defer func() {
		if v := recover(); v != nil {
			werr = &wire.Error{Msg: fmt.Sprint(v), Type: fmt.Sprintf("%T", v), Stack: string(debug.Stack()), Panic: true}
		}
	}()
	ctx := context.WithValue(context.Background(), workerKey{}, me)
	state, err := f.Call(ctx, s.Arg)
	if err != nil {
		return &wire.Error{Msg: err.Error(), Type: wk.ErrorType(err)}
	}
	me.state = state
	return nil
}
