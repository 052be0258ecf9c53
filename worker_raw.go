package mp

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"unsafe"

	"github.com/mp-go/mp/internal/pacer"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// rawRun runs the items of a Task whose results are numbers
// (wire.RawKind) in a pool's worker process: each result goes straight
// into the link's raw stage, where the Results frame takes them from, and
// marking the next item running commits it (wk.Stage). Per item that is a
// plain store and the mark's, where the general path encodes each result
// twice and stores three words.
type rawRun[A, R any] struct {
	ctx   context.Context
	fn    func(context.Context, A) (R, error)
	t     *wire.Task
	args  []A
	stage *wk.Stage
	mark  *wk.Mark
	slots []R
	kind  byte
	due   *pacer.Due
	send  func(*wire.Results) error
	from  int // the first item in the stage
	errs  []wire.ItemError
	res   wire.Results // the batch being sent: one for the Task's batches
}

// runRaw runs t's items with the raw stage, if their results are numbers
// and nothing asks for the general path (per-item timeouts or retries,
// careful tasks); ok is false when it did not run them.
func runRaw[A, R any](ctx context.Context, fn func(context.Context, A) (R, error), t *wire.Task, args []A, link *wk.Link, due *pacer.Due, send func(*wire.Results) error) (ok bool, err error) {
	kind, raw := wire.RawKind[R]()
	if !raw || link == nil || t.Careful || t.Retries > 0 || t.Timeout > 0 {
		return false, nil
	}
	r := &rawRun[A, R]{ctx: ctx, fn: fn, t: t, args: args, stage: link.Stage, mark: link.Mark, kind: kind, due: due, send: send}
	r.slots = wk.RawSlots[R](link.Stage)
	r.slots = r.slots[:min(len(r.slots), maxBatch)]
	r.stage.ResetRaw(t.ID, 0, kind)
	small := len(args) <= 64 // else the item is kept only once the worker logs: see running
	wk.Running.Small.Store(small)
	for i := 0; i < len(args); {
		if i, err = r.span(i, small); err != nil {
			return true, err
		}
	}
	return true, nil
}

// span runs items from i on with one recover for them all, as runSpan.
func (r *rawRun[A, R]) span(i int, small bool) (next int, err error) {
	defer func() {
		if v := recover(); v != nil {
			next, err = i+1, r.failed(i, &wire.Error{Msg: fmt.Sprint(v), Type: fmt.Sprintf("%T", v), Stack: string(debug.Stack()), Panic: true})
		}
	}()
	id, last := r.t.ID, len(r.args)-1
	for ; i <= last; i++ {
		if small || wk.Running.Logging.Load() {
			wk.Running.Item.Store(int64(i))
		}
		r.mark.Item(id, i)
		v, ferr := r.fn(r.ctx, r.args[i])
		if ferr != nil {
			if err := r.failed(i, &wire.Error{Msg: ferr.Error(), Type: wk.ErrorType(ferr)}); err != nil {
				return i + 1, err
			}
			continue
		}
		k := i - r.from
		r.slots[k] = v
		if i == last || k+1 == len(r.slots) || r.due.Now() {
			r.due.Sent()
			if err := r.flush(i + 1); err != nil {
				return i + 1, err
			}
		}
	}
	return i, nil
}

// failed records item i's error and sends its batch at once: the raw
// stage keeps values only.
func (r *rawRun[A, R]) failed(i int, werr *wire.Error) error {
	var zero R
	r.slots[i-r.from] = zero
	r.errs = append(r.errs, wire.ItemError{Index: i, Err: *werr})
	return r.flush(i + 1)
}

// flush sends the results of the items in the stage, up to end, and
// empties it.
func (r *rawRun[A, R]) flush(end int) error {
	r.res = wire.Results{ID: r.t.ID, From: r.from, N: end - r.from, Values: r.stage.RawValues(end - r.from), Errs: r.errs}
	err := r.send(&r.res)
	r.from, r.errs = end, nil
	r.stage.ResetRaw(r.t.ID, end, r.kind)
	return err
}

// argWords are the buffers rawArgs decodes arguments into, words that
// hold any wire.RawKind type, reused from Task to Task: a chunk of 1000
// numbers is otherwise 8 KB to allocate, clear and collect each time.
var argWords = sync.Pool{New: func() any { return new([]uint64) }}

// rawArgs decodes t's arguments into a reused buffer when they are
// numbers of a wire.RawKind type; the caller gives buf back to argWords
// once the Task is done (the function took each argument by value). args
// and buf are nil when they are not: decode them with wire.UnmarshalSlice.
func rawArgs[A any](t *wire.Task) (args []A, buf *[]uint64) {
	if _, raw := wire.RawKind[A](); !raw || t.N <= 0 || len(t.Args) != 2+8*t.N {
		return nil, nil
	}
	buf = argWords.Get().(*[]uint64)
	if cap(*buf) < t.N {
		*buf = make([]uint64, t.N)
	}
	args = unsafe.Slice((*A)(unsafe.Pointer(unsafe.SliceData(*buf))), t.N)
	if ok, _ := wire.DecodeRawInto(t.Args, args); !ok {
		argWords.Put(buf)
		return nil, nil // malformed: UnmarshalSlice says how
	}
	return args, buf
}
