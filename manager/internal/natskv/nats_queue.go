package natskv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/nats-io/nats.go/jetstream"
)

// natsQueue is a Queue: a work-queue stream and its consumer.
type natsQueue struct {
	stream jetstream.Stream
	cons   jetstream.Consumer
	subj   string
}

func (c *Conn) queueName(id uint64) string {
	return "MPQ_" + c.bucket + "_" + strconv.FormatUint(id, 10)
}

// queue returns queue id's stream, making it if max >= 0.
func (c *Conn) queue(ctx context.Context, id uint64, max int64) (*natsQueue, error) {
	c.mu.Lock()
	q := c.queues[id]
	c.mu.Unlock()
	if q != nil {
		return q, nil
	}
	name := c.queueName(id)
	q = &natsQueue{subj: "mpq." + c.bucket + "." + strconv.FormatUint(id, 10)}
	var err error
	if max >= 0 {
		cfg := jetstream.StreamConfig{Name: name, Subjects: []string{q.subj}, Retention: jetstream.WorkQueuePolicy, Discard: jetstream.DiscardNew, MaxMsgs: -1}
		if max > 0 {
			cfg.MaxMsgs = max
		}
		q.stream, err = c.js.CreateOrUpdateStream(ctx, cfg)
	} else {
		q.stream, err = c.js.Stream(ctx, name)
	}
	if err != nil {
		return nil, err
	}
	q.cons, err = q.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "get", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.queues[id] = q
	c.mu.Unlock()
	return q, nil
}

// listQueues lists this bucket's queue streams.
func (c *Conn) listQueues(ctx context.Context) []string {
	var out []string
	names := c.js.StreamNames(ctx)
	for n := range names.Name() {
		if strings.HasPrefix(n, "MPQ_"+c.bucket+"_") {
			out = append(out, n)
		}
	}
	return out
}

// counter adds d to the integer entry k (compare-and-set); with min0, a
// result below 0 is refused as too many TaskDones.
func (c *Conn) counter(ctx context.Context, k string, d int64, min0 bool) error {
	_, err := changeEntry(ctx, c, k, func(n *int64) error {
		if min0 && *n+d < 0 {
			return ops.Errorf(ops.CodeBadArgs, "manager: task_done called more times than items were put")
		}
		*n += d
		return nil
	})
	return err
}

// bookkeepingTimeout bounds the steps of a queue operation that must
// finish once begun, whatever the caller's context does meanwhile.
const bookkeepingTimeout = 30 * time.Second

// bookkeeping returns a context for steps that must not be cut short by
// the caller's: an item counted as unfinished but not published (or
// published and not counted) would make Join wait for ever, or a
// TaskDone fail; a fetched message not acknowledged would come again.
// The caller's context is checked only between such steps.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
}

// putItem counts one item as unfinished and publishes it, or leaves the count
// as it was when the item could not be published (a full queue gives an
// error saying "maximum messages"). Both steps run to their end even when
// ctx ends meanwhile.
func (c *Conn) putItem(ctx context.Context, q *natsQueue, p string, item []byte) error {
	op, cancel := bookkeeping(ctx)
	defer cancel()
	if err := c.counter(op, p+"unfinished", 1, false); err != nil {
		return err
	}
	_, err := c.js.Publish(op, q.subj, item)
	if err != nil {
		if err := c.counter(op, p+"unfinished", -1, false); err != nil {
			return fmt.Errorf("manager: the queue's count of unfinished items is one too many (Join will wait for ever): %w", err)
		}
	}
	return err
}

// undelivered reports whether the queue holds items no Get has been given
// yet. A pull that asks not to wait can find none just after a Put was
// acknowledged: the server tells the consumer of new messages after it
// answers the publisher (seen under load: a closed queue's Get said
// "drained" with its last item stored). The stream's count is exact; the
// items given to a Get and not yet acknowledged are not undelivered.
func (c *Conn) undelivered(ctx context.Context, q *natsQueue) (bool, error) {
	si, err := q.stream.Info(ctx)
	if err != nil || si.State.Msgs == 0 {
		return false, err
	}
	ci, err := q.cons.Info(ctx)
	if err != nil {
		return false, err
	}
	return si.State.Msgs > uint64(max(ci.NumAckPending, 0)), nil
}

// fetchRound is how long one pull request of a waiting Get stays on the
// server; a waiting Get asks again after each.
const fetchRound = 250 * time.Millisecond

// fetchOne waits for one item for at most a round, returning nil when
// none came. The pull request is not tied to ctx: a request the server
// still holds after its caller gave up would take the next item put for
// nobody, and the item would come back only after the consumer's AckWait
// (30s), after a Get of a closed queue had said it was drained. So when ctx
// ends first, what the request still brings is given back at once (Nak)
// by a goroutine that ends with the round; close waits for it.
func (c *Conn) fetchOne(ctx context.Context, q *natsQueue) (jetstream.Msg, error) {
	batch, err := q.cons.Fetch(1, jetstream.FetchMaxWait(fetchRound))
	if err != nil {
		return nil, err
	}
	select {
	case m, ok := <-batch.Messages():
		if ok {
			return m, nil
		}
		return nil, batch.Error()
	case <-ctx.Done():
		c.drains.Add(1)
		go func() {
			defer c.drains.Done()
			for m := range batch.Messages() {
				m.Nak()
			}
		}()
		return nil, ctx.Err()
	}
}

// ack acknowledges a fetched message, to its end even when ctx ends.
func (c *Conn) ack(ctx context.Context, m jetstream.Msg) {
	op, cancel := bookkeeping(ctx)
	defer cancel()
	m.DoubleAck(op)
}

func (c *Conn) queueCall(ctx context.Context, call *wire.Call, rep *wire.Reply) error {
	q, err := c.queue(ctx, call.Obj, -1)
	if err != nil {
		return err
	}
	p := prefix(call.Obj)
	closed := func() (bool, error) {
		v, _, err := c.get(ctx, p+"closed")
		return v != nil, err
	}
	switch ops.QueueOp(call.Op) {
	case ops.QueuePut:
		if cl, err := closed(); err != nil || cl {
			if cl {
				return ops.Errorf(ops.CodeClosed, "manager: queue closed")
			}
			return err
		}
		wait := 10 * time.Millisecond
		for i := 0; i < len(call.Args); {
			if err := ctx.Err(); err != nil { // between items only: see putItem
				if i > 0 {
					return nil
				}
				return err
			}
			err := c.putItem(ctx, q, p, call.Args[i])
			if err == nil {
				rep.N++
				i++
				wait = 10 * time.Millisecond
				continue
			}
			if !strings.Contains(err.Error(), "maximum messages") {
				return err
			}
			if !call.Flag {
				if i == 0 {
					return ops.Errorf(ops.CodeFull, "manager: queue full")
				}
				return nil
			}
			select { // full: wait for room
			case <-ctx.Done():
				if i > 0 {
					return nil
				}
				return ctx.Err()
			case <-time.After(wait):
				wait = min(2*wait, 200*time.Millisecond)
			}
		}
		return nil
	case ops.QueueGet:
		max := int(max(1, call.N))
		for {
			batch, err := q.cons.FetchNoWait(max)
			if err != nil {
				return err
			}
			for m := range batch.Messages() {
				rep.Vals = append(rep.Vals, m.Data())
				c.ack(ctx, m)
			}
			if len(rep.Vals) > 0 {
				return nil
			}
			more, err := c.undelivered(ctx, q)
			if err != nil {
				return err
			}
			if !more {
				if cl, err := closed(); err != nil || cl {
					if cl {
						return ops.Errorf(ops.CodeClosed, "manager: queue closed")
					}
					return err
				}
				if !call.Flag {
					return ops.Errorf(ops.CodeEmpty, "manager: queue empty")
				}
			}
			m, err := c.fetchOne(ctx, q)
			if err != nil {
				return err
			}
			if m != nil {
				rep.Vals = append(rep.Vals, m.Data())
				c.ack(ctx, m)
				return nil
			}
		}
	case ops.QueueQsize, ops.QueueFull:
		info, err := q.stream.Info(ctx)
		if err != nil {
			return err
		}
		rep.N = int64(info.State.Msgs)
		rep.OK = info.Config.MaxMsgs > 0 && rep.N >= info.Config.MaxMsgs
		return nil
	case ops.QueueTaskDone:
		op, cancel := bookkeeping(ctx)
		defer cancel()
		return c.counter(op, p+"unfinished", -max(1, call.N), true)
	case ops.QueueJoin:
		return c.watchUntil(ctx, p+"unfinished", func() (bool, error) {
			n, _, err := readEntry[int64](ctx, c, p+"unfinished")
			return err == nil && *n <= 0, err
		})
	case ops.QueueClose:
		_, err := c.kv.Put(ctx, p+"closed", []byte("1"))
		return err
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: a queue has no operation %q here", call.Op)
}
