package procpool

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// roundTrip reports whether the head's Task, of n items, is a round
// trip: a lone Task of one item (Apply in a loop). Its result is waited
// for as long as a wake-up costs (ring.Ring.Patient), so that the worker
// need not wake us. Results of chunks and of Tasks queued behind each
// other come while the worker computes: spinning that long for them
// would take a core from it (measured: the chunked Map 20–40% slower).
func (c *chain) roundTrip(n int) bool { return n == 1 && len(c.jobs) == 1 }

// receive delivers the Results of f's Task. It reports whether the worker
// died, and why it was killed if we killed it.
func (c *chain) receive(pw *Proc, f *flight) (dead bool, reason error) {
	b := c.b
	rj, id, from, n, timeout := f.rj, f.id, f.from, f.n, f.timeout
	c.receiving.Store(c.hookGen)
	defer c.receiving.Store(0)
	if ctx := rj.Context(); ctx.Err() != nil {
		// cancelled while its Task was queued (the hook fired while
		// another task ran): stop it now. The kill may land after this
		// Task's results, while the worker runs the next call's: the
		// reason says the pool stopped it, for Stats (Cancel, not Crash).
		pw.killFor(&stoppedFor{context.Cause(ctx)})
	}
	var dl *deadline // only with a Timeout: most calls allocate nothing
	if timeout > 0 {
		dl = &deadline{c: c, pw: pw, d: timeout}
	}
	timer := dl.arm(0)
	pw.link.Results.Patient = c.roundTrip(n)
	for got := 0; got < n; {
		kind, p, err := pw.r.Read()
		if kind == wire.KindLog && err == nil {
			var at struct {
				Task uint64 `cbor:"5,keyasint,omitempty"`
				Item int    `cbor:"6,keyasint,omitempty"`
			}
			where := []any{"worker", pw.id, "pid", pw.pid}
			if wire.Unmarshal(p, &at) == nil && at.Task == id && at.Item >= 0 && at.Item < n {
				where = append(where, "func", rj.FuncName(), "task", rj.Index(from+at.Item))
			}
			wk.EmitLog(b.pool.Logger(), p, where...)
			continue
		}
		if kind == wire.KindTick && err == nil {
			var tk wire.Tick
			if t, ok := rj.(sched.JobTicker); ok && wire.Unmarshal(p, &tk) == nil && tk.Task == id {
				t.TickOn(c.w, tk.N)
			}
			continue
		}
		if timer != nil {
			timer.Stop()
			timer = nil
		}
		if err != nil {
			if FramingError(err) {
				pw.killFor(pw.protocolError(err)) // at once: it cannot be trusted
			}
			return true, pw.reason()
		}
		var res wire.Results
		if kind != wire.KindResult || wire.DecodeResultsShared(p, &res) != nil || res.ID != id || res.From != got || res.N < 1 || res.From+res.N > n {
			// out of step: this worker cannot be trusted
			pw.killFor(pw.protocolError(fmt.Errorf("a malformed or unexpected frame (kind %d, %d bytes) where the results of task %d were due", kind, len(p), id)))
			return true, pw.reason()
		}
		var errs map[int]error
		for _, e := range res.Errs {
			if errs == nil {
				errs = map[int]error{}
			}
			errs[from+e.Index] = b.errs.Remote(pw.pid, &e.Err)
		}
		if res.Retried > 0 {
			b.st.Retried.Add(int64(res.Retried))
		}
		if res.RSS != 0 {
			pw.rss = res.RSS
		}
		got += res.N
		if dl != nil {
			dl.current.Store(int64(got))
			if got < n {
				timer = dl.arm(got)
			}
		}
		if got == n {
			// The last results may end the call, which cancels its
			// context: that must not kill the worker, now done with it.
			c.receiving.Store(0)
			if len(c.jobs) == 1 {
				b.pool.Finishing(c.w) // it takes the caller's next task
			}
		}
		rj.Deliver(from+res.From, res.Values, res.N, errs)
	}
	f.doneAt = sched.Now()
	pw.timeTask(f.sentAt, f.doneAt, rj.FuncName())
	return false, nil
}

// deadline kills a worker whose item runs past the call's Timeout: the
// item it runs is the one current numbers.
type deadline struct {
	c       *chain
	pw      *Proc
	d       time.Duration
	current atomic.Int64
}

// arm starts the clock of item i (nil: no Timeout, no clock).
func (dl *deadline) arm(i int) *time.Timer {
	if dl == nil {
		return nil
	}
	return time.AfterFunc(dl.d, func() {
		if dl.current.Load() == int64(i) {
			dl.c.timedOut.Store(true)
			dl.pw.killFor(dl.c.b.errs.Timeout(dl.d))
		}
	})
}
