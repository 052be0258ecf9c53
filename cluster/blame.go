package cluster

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// A task that kills every worker that runs it (a "poison" task) must fail,
// not loop; a task a dying worker held without running it must not fail
// with it. The pool counts runs, not deliveries: a worker asks before it
// runs a task delivered before (mayRun), and the server's own count of
// deliveries is only a backstop, set higher.

// deliveryLimit is the consumer's limit of deliveries of a task, for a
// pool's limit of runs maxRuns: a task held by a worker that died of
// another one is delivered again without having run, and should not fail
// for it; the pool fails a task that ran maxRuns times itself
// (onAttempt).
func deliveryLimit(maxRuns int) int {
	if maxRuns <= 0 {
		return maxRuns // no limit
	}
	return 4 * maxRuns
}

// onAttempt answers a worker about to run again a task of this pool that
// was delivered before (mayRun): run it, or, once it ran MaxDeliver times
// (the first delivery and the runs asked for since), stop: the task fails
// with ErrUndeliverable and leaves the queue.
func (t *transport) onAttempt(m *nats.Msg) {
	if len(m.Data) != 8 {
		return
	}
	id := binary.BigEndian.Uint64(m.Data)
	t.mu.Lock()
	f := t.pending[id]
	stop := false
	if f != nil {
		f.tries++
		if stop = 1+f.tries > t.cfg.MaxDeliver; stop {
			delete(t.pending, id)
		}
	}
	t.mu.Unlock()
	if !stop {
		m.Respond(nil)
		return
	}
	m.Respond([]byte(attemptStop))
	t.fail(f, fmt.Errorf("%w: it ran %d times, and each worker that ran it died or stalled", ErrUndeliverable, f.tries))
}

// fail ends task f, taken off pending, with err, and takes it off the
// queue.
func (t *transport) fail(f *inflight, err error) {
	t.mu.Lock()
	seq := f.seq
	t.mu.Unlock()
	if seq != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.tasks.DeleteMsg(ctx, seq)
		cancel()
	}
	f.err = err
	close(f.done)
}

// onMaxDeliveries fails a task of this pool that the server delivered
// more times than the consumer allows, a limit above MaxDeliver kept for
// tasks whose workers could not ask this pool (onAttempt).
func (t *transport) onMaxDeliveries(m *nats.Msg) {
	var adv struct {
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries int    `json:"deliveries"`
	}
	if json.Unmarshal(m.Data, &adv) != nil {
		return
	}
	t.mu.Lock()
	var f *inflight
	if id, ok := t.bySeq[adv.StreamSeq]; ok {
		if f = t.pending[id]; f != nil {
			delete(t.pending, id)
		}
	}
	t.mu.Unlock()
	if f == nil {
		return
	}
	t.fail(f, fmt.Errorf("%w: delivered %d times, each worker that took it died or stalled", ErrUndeliverable, adv.Deliveries))
}

// mayRun asks the pool whose results go to reply whether task id, which
// was delivered before, may run again: the pool counts the runs of its
// tasks that were delivered before and fails one that reached its limit
// (a poison task that kills every worker that runs it). Blame is exact:
// a task that a dying worker held without running it is not counted. The
// request also settles what this worker sent before it: the server passes
// it on only after the acks sent before it on this connection, so a task
// acknowledged before a crash here stays acknowledged. With no answer
// (the pool gone, or one that does not count) the task runs: the
// consumer's own limit of deliveries still ends a poison task.
func (w *worker) mayRun(reply string, id uint64) bool {
	subject := poolSubject(attemptsPrefix, reply)
	if subject == "" {
		return true
	}
	m, err := w.nc.Request(subject, binary.BigEndian.AppendUint64(nil, id), 5*time.Second)
	if err != nil {
		w.nc.FlushTimeout(5 * time.Second) // the acks, at least
		return true
	}
	return string(m.Data) != attemptStop
}

// attemptStop is a pool's answer to mayRun: do not run the task.
const attemptStop = "stop"
