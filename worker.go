package mp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime/debug"
	"slices"

	"github.com/mp-go/mp/internal/wire"
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
	if os.Getenv(workerEnv) != workerCookie {
		return
	}
	os.Exit(serveWorker(os.NewFile(3, "mp-tasks"), os.NewFile(4, "mp-results")))
}

// serveWorker runs the worker side of the protocol: Hello, then one Result
// per item of every Task, until the task stream ends.
func serveWorker(in io.Reader, out io.Writer) int {
	r := wire.NewReader(in, wire.DefaultMaxFrame)
	w := wire.NewWriter(out, wire.DefaultMaxFrame)
	var names []string
	registry.Range(func(k, _ any) bool {
		names = append(names, k.(string))
		return true
	})
	slices.Sort(names)
	if err := send(w, wire.KindHello, wire.Hello{Version: wire.Version, PID: os.Getpid(), Names: names}); err != nil || w.Flush() != nil {
		return 3
	}
	me, code := setupWorker(r, w)
	if me == nil {
		return code
	}
	defer closeState(me)
	ctx := context.WithValue(context.Background(), workerKey{}, me)
	for {
		kind, p, err := r.Read()
		if err == io.EOF {
			return 0 // the pool closed the connection: done
		}
		if err != nil || kind != wire.KindTask {
			fmt.Fprintf(os.Stderr, "mp worker %d: bad frame from the pool (kind %d): %v\n", os.Getpid(), kind, err)
			return 4
		}
		var t wire.Task
		if err := wire.Unmarshal(p, &t); err != nil {
			fmt.Fprintf(os.Stderr, "mp worker %d: bad task from the pool: %v\n", os.Getpid(), err)
			return 4
		}
		if err := runTask(ctx, w, &t); err != nil {
			return 3 // the pool is gone
		}
	}
}

// runTask runs every item of t and sends its Result at once: the pool
// sees progress per item, and when a worker dies the pool knows exactly
// which item it was running (a result still in a buffer would be lost
// with it, and blamed on the wrong item).
func runTask(ctx context.Context, w *wire.Writer, t *wire.Task) error {
	v, ok := registry.Load(t.Func)
	for i, arg := range t.Args {
		res := wire.Result{ID: t.ID, Index: i}
		if !ok {
			res.Err = &wire.Error{Msg: fmt.Sprintf("mp: function %q is not registered in worker process %d", t.Func, os.Getpid()), Type: "mp.notRegistered"}
		} else {
			e := v.(*entry)
			for attempt := 0; ; attempt++ {
				res.Data, res.Err = runEntry(ctx, e, arg)
				if res.Err == nil || attempt >= t.Retries {
					break
				}
			}
		}
		if err := send(w, wire.KindResult, res); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// runEntry runs one item, turning an error or a panic into a wire.Error.
func runEntry(ctx context.Context, e *entry, arg []byte) (data []byte, werr *wire.Error) {
	defer func() {
		if v := recover(); v != nil {
			data = nil
			werr = &wire.Error{Msg: fmt.Sprint(v), Type: fmt.Sprintf("%T", v), Stack: string(debug.Stack()), Panic: true}
		}
	}()
	data, err := e.run(ctx, arg)
	if err != nil {
		return nil, &wire.Error{Msg: err.Error(), Type: errorType(err)}
	}
	return data, nil
}

// setupWorker reads Setup, runs the initializer it names and answers
// Ready. It returns the worker, or nil and an exit code.
func setupWorker(r *wire.Reader, w *wire.Writer) (*worker, int) {
	kind, p, err := r.Read()
	var s wire.Setup
	if err != nil || kind != wire.KindSetup || wire.Unmarshal(p, &s) != nil {
		fmt.Fprintf(os.Stderr, "mp worker %d: no setup from the pool: %v\n", os.Getpid(), err)
		return nil, 4
	}
	me := &worker{id: s.Worker, init: s.Init != ""}
	var ready wire.Ready
	if s.Init != "" {
		ready.Err = runInit(me, s)
	}
	if err := send(w, wire.KindReady, ready); err != nil || w.Flush() != nil || ready.Err != nil {
		return nil, 5
	}
	return me, 0
}

func runInit(me *worker, s wire.Setup) (werr *wire.Error) {
	v, ok := registry.Load(s.Init)
	if !ok {
		return &wire.Error{Msg: fmt.Sprintf("mp: initializer %q is not registered in worker process %d", s.Init, os.Getpid())}
	}
	defer func() {
		if v := recover(); v != nil {
			werr = &wire.Error{Msg: fmt.Sprint(v), Type: fmt.Sprintf("%T", v), Stack: string(debug.Stack()), Panic: true}
		}
	}()
	ctx := context.WithValue(context.Background(), workerKey{}, me)
	state, err := v.(*entry).value(ctx, s.Arg)
	if err != nil {
		return &wire.Error{Msg: err.Error(), Type: errorType(err)}
	}
	me.state = state
	return nil
}

func closeState(me *worker) {
	if c, ok := me.state.(io.Closer); ok {
		if err := c.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "mp worker %d: closing the worker state: %v\n", os.Getpid(), err)
		}
	}
}

func errorType(err error) string {
	t := reflect.TypeOf(err).String()
	if u := errors.Unwrap(err); u != nil && t == "*fmt.wrapError" {
		return errorType(u)
	}
	return t
}

func send(w *wire.Writer, kind wire.Kind, msg any) error {
	b, err := wire.Marshal(msg)
	if err != nil {
		return err
	}
	return w.Write(kind, b)
}
