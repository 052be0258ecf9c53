package mp

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"
)

// Imap runs f on the items of a sequence and yields the results in input
// order, as they become ready (Python's Pool.imap). It is lazy: nothing
// runs until the result is ranged over, and items are pulled from the
// input only as a bounded window of chunks in flight allows, so an
// endless or huge input runs in constant memory (Python's Executor.map
// reads all of it first).
//
// Chunks adapt to the work unless Chunksize is given: they start at one
// item and grow until a chunk takes about a millisecond, and a partial
// chunk is sent at once whenever the workers would otherwise sit idle.
//
// Without Partial a failure ends the sequence: the results before the
// failed item are yielded first (every one of them, as in Python), then
// its *TaskError, and the tasks still running are cancelled; items after
// it are not started. With Partial each failure is yielded in its place
// and the sequence goes on. If the input sequence panics, the results of
// the items read before are yielded, then an error carrying the panic
// (a *PanicError). If ctx ends, (zero, context.Cause(ctx)) is yielded and
// the sequence ends. Breaking out of
// the loop stops reading the input and cancels the tasks in flight; the
// loop returns after the input sequence has returned.
//
// Each range over the result runs the call again (if items can be ranged
// over again).
func Imap[A, R any](ctx context.Context, p *Pool, f Func[A, R], items iter.Seq[A], opts ...Option) iter.Seq2[R, error] {
	return streamCall(ctx, p, f, items, true, opts)
}

// ImapUnordered is Imap yielding results in the order they complete
// (Python's imap_unordered); the index of a failed item is in its
// *TaskError.
func ImapUnordered[A, R any](ctx context.Context, p *Pool, f Func[A, R], items iter.Seq[A], opts ...Option) iter.Seq2[R, error] {
	return streamCall(ctx, p, f, items, false, opts)
}

const (
	gateStop         = 1 << 62
	maxAdaptiveChunk = 1 << 14
	targetChunkTime  = time.Millisecond
)

type stream[A, R any] struct {
	cc      *chunkedCall[A, R]
	p       *Pool
	ordered bool

	order   chan *chunk[A, R] // ordered: chunks in input order; its capacity is the window
	results chan *chunk[A, R] // unordered: finished chunks
	slots   chan struct{}     // unordered: the window
	spare   chan *chunk[A, R] // yielded chunks, for the feeder to reuse
	fed     chan struct{}     // closed when the feeder has returned
	sent    int               // chunks sent; read after fed is closed
	feedErr error             // the input's panic; read after fed is closed (after every chunk, in both orders)

	_ cpu.CacheLinePad // the feeder reads gate for every item
	// gate is the number of chunks sent and not finished, plus gateStop
	// once the call has stopped: one load tells the feeder both whether to
	// stop and whether the workers are starving.
	gate    atomic.Int64
	_       cpu.CacheLinePad
	perItem atomic.Int64 // moving average of ns per item, 0 before the first chunk
}

func streamCall[A, R any](ctx context.Context, p *Pool, f Func[A, R], items iter.Seq[A], ordered bool, opts []Option) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		var zero R
		s, err := p.callSettings(opts)
		if err == nil {
			err = f.checkFor(p)
		}
		if err == nil && items == nil {
			err = errNilItems("Imap")
		}
		if err == nil {
			err = s.noCheckpoint("Imap and ImapUnordered")
		}
		if err == nil && ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		if err != nil {
			yield(zero, err)
			return
		}
		c := newCall(ctx, p, s, -1)
		st := &stream[A, R]{p: p, ordered: ordered, fed: make(chan struct{})}
		st.cc = &chunkedCall[A, R]{callCtl: c, runner: newRunner(p, f, s), finished: st.finished}
		window := max(4*p.n, 8)
		st.spare = make(chan *chunk[A, R], window+1)
		if ordered {
			st.order = make(chan *chunk[A, R], window)
		} else {
			st.results = make(chan *chunk[A, R], window)
			st.slots = make(chan struct{}, window)
		}
		unhook := context.AfterFunc(c.ctx, func() { st.gate.Add(gateStop) })
		defer unhook()
		go st.feed(items, s.chunksize)
		defer func() {
			c.cancel(errStopped) // no-op when already finished or cancelled
			<-st.fed
			c.end()
		}()
		if ordered {
			st.yieldOrdered(yield)
		} else {
			st.yieldUnordered(yield)
		}
	}
}

// errStopped is the cause a stream gives its call when the loop over it
// ends; nobody sees it but tasks still running.
var errStopped = errors.New("mp: iteration stopped")

func (st *stream[A, R]) feed(items iter.Seq[A], fixed int) {
	defer close(st.fed)
	if st.ordered {
		defer close(st.order)
	}
	cc := st.cc
	cs := max(fixed, 1)
	base := 0
	var k *chunk[A, R]
	var buf []A
	flush := func() bool {
		k.base, k.in = base, buf
		k.out = k.out[:len(buf)]
		base += len(buf)
		buf = nil
		if st.ordered {
			k.done = make(chan struct{})
			select {
			case st.order <- k:
			case <-cc.ctx.Done():
				return false
			}
		} else {
			select {
			case st.slots <- struct{}{}:
			case <-cc.ctx.Done():
				return false
			}
		}
		st.gate.Add(1)
		st.sent++
		if err := st.p.enqueue(k); err != nil {
			// the pool closed: the results before come first, then this
			k.err = err
			k.finish()
			return false
		}
		return true
	}
	stopped := false
	st.feedErr = pull(items, func(a A) bool {
		g := st.gate.Load()
		if g >= gateStop {
			stopped = true
			return false
		}
		if buf == nil {
			k = st.newChunk(cs)
			buf = k.in[:0]
		}
		buf = append(buf, a)
		if len(buf) >= cs || g == 0 {
			if cc.stopAt.Load() != noStop || !flush() {
				stopped = true
				return false
			}
			if fixed == 0 {
				cs = st.adapt(cs)
			}
		}
		return true
	})
	// The items read before the input ended, or panicked, still run.
	if !stopped && len(buf) > 0 && cc.stopAt.Load() == noStop {
		flush()
	}
}

// pull ranges over items, calling body until it returns false, and turns
// a panic of the sequence into an error.
func pull[A any](items iter.Seq[A], body func(A) bool) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("mp: the input sequence panicked: %w", newPanicError(v))
		}
	}()
	for a := range items {
		if !body(a) {
			break
		}
	}
	return nil
}

// newChunk returns a chunk for up to cs items, reusing a yielded one when
// it is big enough: the memory of the window stays warm in the cache and
// out of the garbage collector's way.
func (st *stream[A, R]) newChunk(cs int) *chunk[A, R] {
	select {
	case k := <-st.spare:
		if cap(k.in) >= cs {
			*k = chunk[A, R]{call: st.cc, in: k.in[:0], out: k.out[:0]}
			return k
		}
	default:
	}
	return &chunk[A, R]{call: st.cc, in: make([]A, 0, cs), out: make([]R, 0, cs)}
}

// adapt sizes the next chunk to take about targetChunkTime.
func (st *stream[A, R]) adapt(cs int) int {
	ns := st.perItem.Load()
	if ns == 0 {
		return cs
	}
	return int(min(max(int64(targetChunkTime)/ns, 1), maxAdaptiveChunk))
}

// finished runs on the worker once a chunk has reported all its items.
func (st *stream[A, R]) finished(k *chunk[A, R]) {
	if k.ran == len(k.in) && k.ran > 0 {
		ns := max(k.took.Nanoseconds()/int64(k.ran), 1)
		if old := st.perItem.Load(); old != 0 {
			ns = (3*old + ns) / 4
		}
		st.perItem.Store(ns)
	}
	st.gate.Add(-1)
	if !st.ordered {
		st.results <- k // never blocks: at most len(slots) chunks are in flight
	}
}

func (st *stream[A, R]) yieldOrdered(yield func(R, error) bool) {
	cc := st.cc
	var zero R
	for {
		var k *chunk[A, R]
		select {
		case next, ok := <-st.order:
			if !ok {
				st.yieldEnd(yield)
				return
			}
			k = next
		case <-cc.ctx.Done():
			yield(zero, context.Cause(cc.ctx))
			return
		}
		select {
		case <-k.done:
		case <-cc.ctx.Done():
			yield(zero, context.Cause(cc.ctx))
			return
		}
		if !st.yieldChunk(k, yield) {
			return
		}
		st.recycle(k)
	}
}

// recycle offers a yielded chunk to the feeder.
func (st *stream[A, R]) recycle(k *chunk[A, R]) {
	select {
	case st.spare <- k:
	default:
	}
}

func (st *stream[A, R]) yieldUnordered(yield func(R, error) bool) {
	cc := st.cc
	var zero R
	fed := st.fed
	got := 0
	for {
		select {
		case k := <-st.results:
			got++
			if !st.yieldChunk(k, yield) {
				return
			}
			st.recycle(k)
			<-st.slots
		case <-fed:
			fed = nil
		case <-cc.ctx.Done():
			yield(zero, context.Cause(cc.ctx))
			return
		}
		if fed == nil && got == st.sent {
			st.yieldEnd(yield)
			return
		}
	}
}

// yieldEnd ends a stream whose input is exhausted.
func (st *stream[A, R]) yieldEnd(yield func(R, error) bool) {
	if st.feedErr != nil {
		var zero R
		yield(zero, st.feedErr)
	}
}

// yieldChunk yields a finished chunk's items and reports whether to go on.
func (st *stream[A, R]) yieldChunk(k *chunk[A, R], yield func(R, error) bool) bool {
	var zero R
	if k.errs == nil { // the common case, kept tight
		for _, v := range k.out[:k.ran] {
			if !yield(v, nil) {
				return false
			}
		}
	}
	for i := range k.ran {
		if k.errs == nil {
			break
		}
		if k.errs[i] != nil {
			if !yield(zero, k.errs[i]) || !st.cc.partial {
				return false
			}
			continue
		}
		if !yield(k.out[i], nil) {
			return false
		}
	}
	if k.ran < len(k.in) {
		yield(zero, st.stopErr(k))
		return false
	}
	return true
}

// stopErr says why the items of k did not all run.
func (st *stream[A, R]) stopErr(k *chunk[A, R]) error {
	if k.err != nil {
		return k.err
	}
	if first := st.cc.failed(); first != nil {
		return first // a chunk after the failed item, reaching an unordered loop first
	}
	return context.Cause(st.cc.ctx)
}
